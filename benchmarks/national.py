"""National benchmark: the baseline at full scale (all of France), 2021-01-01 → 2027-12-31.

Prints wall time (set-up, simulation, tables), documents simulated per second and peak memory.

    python benchmarks/national.py              # scale 1.0
    python benchmarks/national.py --scale 0.1  # quicker look
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    args = ap.parse_args()

    import simulator

    t0 = time.perf_counter()
    res = simulator.run(args.scenario, seed=args.seed, scale=args.scale)
    wall = time.perf_counter() - t0
    docs = res.to_df("documents")
    dmp_rows = int(docs.loc[docs["channel"] == "dmp", "count"].sum())
    mss = int(docs.loc[docs["channel"] != "dmp", "count"].sum())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = res.manifest["timings"]
    print(f"scenario: {res.manifest['scenario_name']}  scale: {args.scale}  {res.manifest['start']} → {res.manifest['end']}")
    print(f"patients simulated: {res.manifest['simulated']['patients']:,}")
    print(f"wall time: {wall:.1f} s (set-up {t['setup_s']:.1f} s, simulation {t['simulate_s']:.1f} s)")
    print(f"DMP documents simulated one row each: {dmp_rows:,} ({dmp_rows / t['simulate_s']:,.0f} per second of simulation)")
    print(f"MSSanté messages simulated as counts: {mss:,}")
    print(f"peak memory: {peak_kib / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
