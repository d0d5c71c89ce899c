"""Crash test: documents posted under load, the server killed with SIGKILL mid-stream, restarted
on the same store — every acknowledged submission is there, and nothing is half-stored (each
document has its content and its SubmissionSet, no orphan content, no orphan SubmissionSet).
With ``--workers 2`` every process of the server is killed at once (its process group)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from simulator.server import schema as S
from simulator.server.auth import Principal, load_keys
from simulator.server.config import database_url
from simulator.server.pg_throwaway import free_port, pg_bindir, throwaway_postgres
from simulator.server.testing import wait_until_serving
from tests.support_server import DEMO, bundle_for, location

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _serve(db: str, key: Path, port: int, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--db", db, "--key", str(key),
                             "--port", str(port), "--scenario", DEMO, "--workers", str(workers)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    problem = wait_until_serving(proc, port, 180)
    if problem:
        raise AssertionError(problem)
    return proc


@pytest.mark.parametrize(("backend", "workers"), [("sqlite", 1), ("sqlite", 2), ("postgresql", 1)])
def test_acknowledged_submissions_survive_a_kill_9(backend, workers, tmp_path):
    if backend == "postgresql" and pg_bindir() is None:
        pytest.skip("PostgreSQL binaries not found (Debian package postgresql)")
    ctx = throwaway_postgres() if backend == "postgresql" else nullcontext(str(tmp_path / "dmp.sqlite"))
    with ctx as db:
        key, port = tmp_path / "dmp.key", free_port()
        base = f"http://127.0.0.1:{port}/fhir"
        proc = _serve(db, key, port, workers)
        engine = create_engine(database_url(db))
        try:
            with engine.connect() as conn:
                patients = list(conn.execute(select(S.patients).where(
                    S.patients.c.profile_state.in_(("open", "activated"))).limit(200)))
                author = conn.execute(select(S.professionals).where(
                    S.professionals.c.segur_software_since <= "2025-01-01")).first()
            token = load_keys(key).issue(Principal("professional", author.id_nat_ps, "10"))
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
            bundles = [bundle_for(patients[i % len(patients)], author) for i in range(2000)]
            acked: list[str] = []
            lock = threading.Lock()
            stop = threading.Event()

            def post(bundle: dict) -> None:
                if stop.is_set():
                    return
                try:
                    r = httpx.post(base, json=bundle, headers=headers, timeout=20)
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    with lock:
                        acked.append(location(r))

            with ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(post, b) for b in bundles]
                deadline = time.monotonic() + 60
                while len(acked) < 60 and time.monotonic() < deadline:
                    time.sleep(0.05)
                os.killpg(proc.pid, signal.SIGKILL)  # in the middle of the stream, every worker
                proc.wait(timeout=30)
                stop.set()
                for f in futures:
                    f.result()
            assert len(acked) >= 60, "too few acknowledgements before the kill"
            proc = _serve(db, key, port, workers)  # restart on the same store
            with engine.connect() as conn:
                d, b, s = S.documents, S.binaries, S.submissions
                stored = {r.id for r in conn.execute(select(d.c.id))}
                assert set(acked) <= stored
                orphans = [
                    select(func.count()).select_from(d.outerjoin(b, b.c.id == d.c.binary_id)).where(b.c.id.is_(None)),
                    select(func.count()).select_from(d.outerjoin(s, s.c.id == d.c.submission_id)).where(s.c.id.is_(None)),
                    select(func.count()).select_from(b).where(~b.c.id.in_(select(d.c.binary_id))),
                    select(func.count()).select_from(s).where(~s.c.id.in_(select(d.c.submission_id))),
                ]
                assert [conn.execute(q).scalar() for q in orphans] == [0, 0, 0, 0]
                if backend == "sqlite":
                    assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            for doc_id in acked[:: max(1, len(acked) // 20)]:  # and the restarted server serves them
                r = httpx.get(f"{base}/DocumentReference/{doc_id}", headers=headers, timeout=20)
                assert r.status_code == 200 and r.json()["id"] == doc_id
        finally:
            engine.dispose()
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
