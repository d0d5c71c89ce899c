"""Ensemble benchmark: wall time of N replications on W workers, and the parallel efficiency.

The reference is one worker process running a few replications (``--reference``): its mean
run time per replication r1 gives the serial cost of N replications, N × r1. The parallel run
is timed end to end (pool start, pickling, waiting on the slowest worker all included), so

    efficiency = N × r1 / (W × wall_W)        speed-up = N × r1 / wall_W

Replications other than those measured are extrapolated linearly from the measured runs:
``wall(M) ≈ overhead + M × (wall_W − overhead) / N`` with ``overhead`` the measured pool
start-up — an estimate, printed as such.

    python benchmarks/ensemble.py                                    # 20 replications, this machine's cores
    python benchmarks/ensemble.py --replications 100 --workers 16    # on a 16-core machine
    python benchmarks/ensemble.py --executor dask                    # through a local Dask cluster
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _noop(attempt: int = 1) -> int:
    import simulator.engine  # noqa: F401  (what a worker imports before its first replication)

    return attempt


def startup_s(executor: str, workers: int) -> float:
    """Seconds to start a pool and get an answer from a worker that imported the engine."""
    from simulator.engine.executors import open_executor

    t0 = time.perf_counter()
    with open_executor(executor, workers=workers) as pool:
        pool.submit(_noop).result()
    return time.perf_counter() - t0


def main() -> None:
    from simulator.engine.executors import available_cores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20, help="replications of the parallel run (default 20)")
    ap.add_argument("--workers", type=int, default=available_cores(), help="workers of the parallel run (default: cores)")
    ap.add_argument("--reference", type=int, default=2, help="replications of the one-worker reference (default 2)")
    ap.add_argument("--extrapolate", type=int, default=100, help="replications to extrapolate the wall time to (default 100)")
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--executor", choices=("local", "dask"), default="local")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    args = ap.parse_args()

    from simulator.engine.ensemble import replicate
    from simulator.engine.scenario import load_scenario

    sc = load_scenario(args.scenario)
    n, w = args.replications, args.workers
    print(f"scenario {sc.name} · scale {args.scale} · {sc.run.start} → {sc.run.end} · executor {args.executor} · "
          f"{available_cores()} cores here")

    overhead = startup_s(args.executor, w)
    print(f"pool start-up ({w} workers, engine imported): {overhead:.1f} s")

    t0 = time.perf_counter()
    ref = replicate(sc, args.reference, seed=args.seed, scale=args.scale, executor=args.executor, workers=1,
                    representative=False)
    t_ref = time.perf_counter() - t0
    r1 = float(ref.aggregator.seconds[ref.aggregator.filled].mean())
    print(f"reference: {args.reference} replications on 1 worker: {t_ref:.1f} s wall, "
          f"{r1:.2f} s per replication (worker-measured run time)")

    t0 = time.perf_counter()
    ens = replicate(sc, n, seed=args.seed, scale=args.scale, executor=args.executor, workers=w, representative=False)
    wall = time.perf_counter() - t0
    agg = ens.aggregator
    if agg.completed < n:
        print(f"warning: {n - agg.completed} replications failed: {[f.error for f in ens.failures]}")
    docs = int(agg.arrays["documents"].sum())  # simulated documents, every channel and outcome
    serial = n * r1
    per_rep = max(wall - overhead, 0.0) / n
    m = args.extrapolate
    print(f"measured: {n} replications on {ens.executor}: {wall:.1f} s wall "
          f"({n / wall * 60:.1f} replications/min, {docs / wall:,.0f} simulated documents/s)")
    print(f"speed-up against one worker: {serial / wall:.2f} × on {w} workers; "
          f"parallel efficiency {serial / (w * wall):.0%}  (serial cost N × r1 = {serial:.1f} s)")
    print(f"mean run time in the workers: {agg.seconds[agg.filled].mean():.2f} s per replication "
          f"(vs {r1:.2f} s alone: {agg.seconds[agg.filled].mean() / r1 - 1:+.0%} from sharing the machine)")
    print(f"extrapolated, not measured: {m} replications ≈ {overhead + m * per_rep:.0f} s on {w} workers, "
          f"≈ {overhead + m * r1:.0f} s on 1 worker (linear in replications from the runs above; "
          f"{math.ceil(m / w)} rounds of {w})")
    print(f"aggregator memory: {agg.nbytes / 1e6:.1f} MB for {n} replications "
          f"({agg.nbytes / max(agg.completed, 1) / 1e3:.0f} kB each)")
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {parent:.0f} MiB in this process, {child:.0f} MiB in the largest worker")


if __name__ == "__main__":
    main()
