"""The simulated DMP under load: ITI-65 bundles accepted and stored per second, with 16 concurrent
clients, and their latency (p50 / p95 / p99), on SQLite and on PostgreSQL.

    python benchmarks/server.py --workers 2 --backends sqlite          # the figures of the README
    python benchmarks/server.py --documents 2000 --runs 3              # 1 worker, both backends

The server runs as `segur serve --workers N` in its own processes, seeded from the demo
territory. Every bundle is a distinct document for a seeded patient by a professional on Ségur
software, so every one is judged by all the rules, accepted and committed (one transaction
each) before its answer; an answer counts when it is 200 with ``X-DMP-Verdict: accepted``.

The client is this process, and made cheap so that the server gets the cores: every bundle is
rendered and serialised — as the whole HTTP request — before the clock starts, then 16
keep-alive connections (asyncio on uvloop, answers parsed by httptools) send them as fast as
the answers come (no rate limit). Each run times ``--documents`` bundles after a warm-up; the
CPU each bundle costs the server (its processes, from /proc) and the client is printed too.
PostgreSQL runs in a throwaway cluster (Debian's binaries) with fsync on. Targets (2 cores):
at least 300 bundles a second on SQLite, p99 under 200 ms.

``--server-tree PATH`` runs the server from another checkout (e.g. ``git worktree`` of an
older commit), to compare versions with the same client.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from simulator.server.testing import wait_until_serving  # noqa: E402

TARGET_PER_SECOND = 300
TARGET_P99_MS = 200
WARM_UP = 200


def start(db: str, key: Path, port: int, workers: int, tree: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--db", db, "--key", str(key),
                             "--port", str(port), "--workers", str(workers),
                             "--scenario", str(REPO / "scenarios" / "demo.toml")],
                            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    problem = wait_until_serving(proc, port, 300)
    if problem:
        sys.exit(problem)
    return proc


def bundles(db_url: str, n: int, tag: str) -> tuple[list[bytes], str]:
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
        spec = {"doc_id": f"bench-{tag}-{i}", "type_code": "11488-4",
                "created": f"2025-01-{8 + i % 4:02d}T10:00:00+01:00", "ins": p.ins, "ins_oid": p.ins_oid,
                "family": p.family, "given": (p.given,), "birth_date": p.birth_date, "sex": p.sex,
                "birth_place": p.birth_place, "identity_status": "QUAL", "author_id_nat_ps": author.id_nat_ps,
                "author_family": author.family, "author_given": author.given,
                "org_id_nat_struct": author.id_nat_struct, "org_name": author.organisation}
        out.append(json.dumps(render_bundle(spec), separators=(",", ":")).encode())
    return out, author.id_nat_ps


def http_request(port: int, token: str, body: bytes) -> bytes:
    """The whole ITI-65 POST, ready to write on a keep-alive connection."""
    head = (f"POST /fhir HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/fhir+json\r\nAccept: application/fhir+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: writes a prepared request, parses the answer with
    httptools (the parser uvicorn itself uses) and gives its status and X-DMP-Verdict."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.verdict = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"x-dmp-verdict":
            self.verdict = value

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), self.verdict))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection closed ({exc})"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.verdict = b""
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def post_all(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float], int, int]:
    """Send every request over ``concurrency`` connections: (seconds, latencies in ms, accepted,
    failed — an answer other than 200 accepted, or a lost connection)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    counts = [0, 0]
    it = iter(requests)

    async def worker() -> None:
        conn: Connection | None = None
        for request in it:
            if conn is None or conn.transport is None:
                _, conn = await loop.create_connection(Connection, "127.0.0.1", port)
            t = time.perf_counter()
            try:
                status, verdict = await conn.send(request)
            except ConnectionError:
                counts[1] += 1
                conn = None
                continue
            latencies.append((time.perf_counter() - t) * 1000)
            counts[0 if status == 200 and verdict == b"accepted" else 1] += 1
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, latencies, counts[0], counts[1]


def run_loop(coro: object) -> object:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


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


def event_stack(pid: int) -> str:
    """Whether the server's processes run uvloop and httptools (their libraries are mapped)."""
    found = set()
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        try:
            maps = Path(f"/proc/{p}/maps").read_text()
        except OSError:
            continue
        found |= {name for name in ("uvloop", "httptools") if f"/{name}/" in maps}
    return " + ".join(sorted(found)) or "asyncio + h11"


def bench(backend: str, n: int, workers: int, concurrency: int, runs: int, tree: Path) -> list[dict]:
    from simulator.server.auth import Principal, load_keys
    from simulator.server.config import database_url

    tmp = Path(tempfile.mkdtemp(prefix="segur-bench-"))
    ctx = throwaway_postgres(fsync=True) if backend == "postgresql" else nullcontext(str(tmp / "dmp.sqlite"))
    results = []
    with ctx as db:
        port, key = free_port(), tmp / "dmp.key"
        proc = start(db, key, port, workers, tree)
        try:
            bodies, author = bundles(database_url(db), WARM_UP + n * runs, f"{os.getpid()}-{port}")
            token = load_keys(key).issue(Principal("professional", author, "10"))
            requests = [http_request(port, token, b) for b in bodies]
            del bodies
            print(f"{backend:<11} server: {workers} worker(s), {event_stack(proc.pid)}; {concurrency} clients",
                  flush=True)
            run_loop(post_all(port, requests[:WARM_UP], concurrency))
            gc.collect()
            gc.freeze()
            for r in range(runs):
                batch = requests[WARM_UP + r * n: WARM_UP + (r + 1) * n]
                load = os.getloadavg()[0]
                cpu0, client0 = cpu_seconds(proc.pid), time.process_time()
                wall, lat, accepted, failed = run_loop(post_all(port, batch, concurrency))  # type: ignore[misc]
                server_cpu, client_cpu = cpu_seconds(proc.pid) - cpu0, time.process_time() - client0
                results.append(report(backend, r + 1, n, wall, lat, accepted, failed, server_cpu, client_cpu, load))
            gc.unfreeze()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return results


def report(backend: str, run: int, n: int, wall: float, lat: list[float], accepted: int, failed: int,
           server_cpu: float, client_cpu: float, load: float) -> dict:
    a = np.array(lat) if lat else np.array([float("nan")])
    res = {"rate": accepted / wall, "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
           "p99": float(np.percentile(a, 99)), "server_ms": server_cpu / max(accepted, 1) * 1000,
           "client_ms": client_cpu / max(accepted, 1) * 1000, "load": load}
    target = f"  [target ≥ {TARGET_PER_SECOND}/s, p99 < {TARGET_P99_MS} ms]" if backend == "sqlite" else ""
    print(f"{'':<11} run {run}: {accepted}/{n} accepted and stored in {wall:.2f} s = {res['rate']:,.0f} bundles/s; "
          f"latency p50 {res['p50']:.1f} ms, p95 {res['p95']:.1f} ms, p99 {res['p99']:.1f} ms{target}", flush=True)
    print(f"{'':<11}        CPU per bundle: server {res['server_ms']:.2f} ms, client {res['client_ms']:.2f} ms; "
          f"load average {load:.1f} at the start" + (f"; {failed} failed" if failed else ""), flush=True)
    return res


def summary(backend: str, results: list[dict]) -> None:
    if len(results) < 2:
        return

    def span(key: str, fmt: str) -> str:
        vals = sorted(r[key] for r in results)
        return f"{format(vals[0], fmt)}–{format(vals[-1], fmt)}"

    print(f"{backend:<11} {len(results)} runs: {span('rate', ',.0f')} bundles/s, p50 {span('p50', '.0f')} ms, "
          f"p99 {span('p99', '.0f')} ms; CPU per bundle: server {span('server_ms', '.2f')} ms, "
          f"client {span('client_ms', '.2f')} ms (load average {span('load', '.1f')})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=2000, help="bundles timed per run")
    ap.add_argument("--runs", type=int, default=1, help="timed runs against the same server")
    ap.add_argument("--workers", type=int, default=1, help="server processes (segur serve --workers)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--server-tree", type=Path, default=REPO, help="checkout whose server to run")
    args = ap.parse_args()
    if args.documents < 1 or args.runs < 1 or args.concurrency < 1:
        sys.exit("--documents, --runs and --concurrency: at least 1")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    for backend in args.backends.split(","):
        if backend == "postgresql" and pg_bindir() is None:
            print("postgresql: skipped (PostgreSQL binaries not found)")
            continue
        summary(backend, bench(backend, args.documents, args.workers, args.concurrency, args.runs,
                               args.server_tree.resolve()))


if __name__ == "__main__":
    main()
