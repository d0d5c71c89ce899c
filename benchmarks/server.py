"""The simulated DMP under load: ITI-65 bundles accepted and stored per second, with 16 concurrent
clients, and their latency (p50 / p95 / p99), on SQLite and on PostgreSQL.

    python benchmarks/server.py                              # 2,000 bundles per backend, 1 worker
    python benchmarks/server.py --documents 5000 --workers 2 --backends sqlite

The server runs as `segur serve` in its own process(es), seeded from the demo territory; the
client is this process (httpx, asyncio, 16 requests in flight, no rate limit). Every bundle is a
distinct document for a seeded patient by a professional on Ségur software, so every one is
judged by all the rules, accepted and committed (one transaction each) before its answer.
PostgreSQL runs in a throwaway cluster (Debian's binaries) with fsync on. Targets (2 cores):
at least 300 bundles a second on SQLite, p99 under 200 ms. The client shares the machine's
cores with the server: figures are for the pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator.server.pg_throwaway import free_port, pg_bindir, throwaway_postgres  # noqa: E402

TARGET_PER_SECOND = 300
TARGET_P99_MS = 200


def start(db: str, key: Path, port: int, workers: int) -> subprocess.Popen:
    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--db", db, "--key", str(key),
                             "--port", str(port), "--workers", str(workers),
                             "--scenario", str(REPO / "scenarios" / "demo.toml")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"segur serve exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("segur serve did not start")


def bundles(db_url: str, n: int) -> tuple[list[bytes], str]:
    """``n`` distinct ITI-65 bundles (JSON bytes) for seeded patients, and their author."""
    from sqlalchemy import create_engine, select

    from agents.fhir import render_bundle
    from simulator.server import schema as S

    engine = create_engine(db_url)
    with engine.connect() as conn:
        patients = list(conn.execute(select(S.patients).where(S.patients.c.profile_state.in_(("open", "activated")))))
        author = conn.execute(select(S.professionals).where(S.professionals.c.segur_software_since <= "2025-01-01")
                              .order_by(S.professionals.c.id_nat_ps)).first()
    engine.dispose()
    out = []
    for i in range(n):
        p = patients[i % len(patients)]
        spec = {"doc_id": f"bench-{os.getpid()}-{i}", "type_code": "11488-4",
                "created": f"2025-01-{8 + i % 4:02d}T10:00:00+01:00", "ins": p.ins, "ins_oid": p.ins_oid,
                "family": p.family, "given": (p.given,), "birth_date": p.birth_date, "sex": p.sex,
                "birth_place": p.birth_place, "identity_status": "QUAL", "author_id_nat_ps": author.id_nat_ps,
                "author_family": author.family, "author_given": author.given,
                "org_id_nat_struct": author.id_nat_struct, "org_name": author.organisation}
        out.append(json.dumps(render_bundle(spec), separators=(",", ":")).encode())
    return out, author.id_nat_ps


async def post_all(url: str, bodies: list[bytes], token: str, concurrency: int) -> tuple[float, list[float], int]:
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    latencies: list[float] = []
    accepted = 0
    it = iter(bodies)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        for body in it:
            t = time.perf_counter()
            r = await client.post(url, content=body, headers=headers)
            latencies.append((time.perf_counter() - t) * 1000)
            accepted += r.status_code == 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, accepted


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
        return total
    except (OSError, IndexError, ValueError):
        return 0.0


def bench(backend: str, n: int, workers: int, concurrency: int) -> None:
    from simulator.server.auth import Principal, load_keys
    from simulator.server.config import database_url

    tmp = Path(tempfile.mkdtemp(prefix="segur-bench-"))
    ctx = throwaway_postgres(fsync=True) if backend == "postgresql" else nullcontext(str(tmp / "dmp.sqlite"))
    with ctx as db:
        port, key = free_port(), tmp / "dmp.key"
        proc = start(db, key, port, workers)
        try:
            bodies, author = bundles(database_url(db), n + 200)
            token = load_keys(key).issue(Principal("professional", author, "10"))
            url = f"http://127.0.0.1:{port}/fhir"
            asyncio.run(post_all(url, bodies[:200], token, concurrency))  # warm-up
            cpu0, client0 = cpu_seconds(proc.pid), time.process_time()
            wall, lat, accepted = asyncio.run(post_all(url, bodies[200:], token, concurrency))
            server_cpu, client_cpu = cpu_seconds(proc.pid) - cpu0, time.process_time() - client0
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    a = np.array(lat)
    rate = accepted / wall
    print(f"{backend:<11} {workers} worker(s), {concurrency} clients: {accepted}/{n} accepted and stored in "
          f"{wall:.2f} s = {rate:,.0f} bundles/s; latency p50 {np.percentile(a, 50):.1f} ms, "
          f"p95 {np.percentile(a, 95):.1f} ms, p99 {np.percentile(a, 99):.1f} ms"
          + (f"  [target ≥ {TARGET_PER_SECOND}/s, p99 < {TARGET_P99_MS} ms]" if backend == "sqlite" else ""),
          flush=True)
    if server_cpu > 0 and accepted:
        per = server_cpu / accepted * 1000
        print(f"{'':<11} CPU per bundle: server {per:.2f} ms (≈ {1000 / per:,.0f} bundles/s per free core), "
              f"client {client_cpu / accepted * 1000:.2f} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1, help="server processes (segur serve --workers)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    for backend in args.backends.split(","):
        if backend == "postgresql" and pg_bindir() is None:
            print("postgresql: skipped (PostgreSQL binaries not found)")
            continue
        bench(backend, args.documents, args.workers, args.concurrency)


if __name__ == "__main__":
    main()
