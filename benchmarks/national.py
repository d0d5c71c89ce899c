"""National benchmark: the baseline at full scale (all of France), 2021-01-01 → 2027-12-31.

Prints wall time (set-up, simulation, tables), documents simulated per second, nanoseconds per
DMP document, peak memory and the load average; with ``--kernel YEARS``, the reference kernel
(benchmarks/refkernel.py) right after, in the same sitting, and the ratio per document.

    python benchmarks/national.py                         # scale 1.0
    python benchmarks/national.py --scale 1 --kernel 7    # and the kernel's 7 years after it
    python benchmarks/national.py --scale 0.1             # quicker look
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
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
    ap.add_argument("--kernel", type=float, default=None, metavar="YEARS",
                    help="run the reference kernel for YEARS simulated years after the run (7 for 2021-2027)")
    args = ap.parse_args()
    print(f"load average at the start: {_load()}")

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
    sim_ns, wall_ns = t["simulate_s"] / max(dmp_rows, 1) * 1e9, wall / max(dmp_rows, 1) * 1e9
    print(f"per DMP document: {sim_ns:.1f} ns of simulation, {wall_ns:.1f} ns of wall time (load average {_load()})")
    if args.kernel:
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "refkernel.py"), str(args.kernel)],
                             check=True, capture_output=True, text=True)
        k = float(out.stdout.strip().splitlines()[-1])
        k_ns = k / (250e6 * args.kernel) * 1e9  # refkernel.py draws 250M documents a year
        print(f"reference kernel, {args.kernel:g} years: {k:.2f} s, {k_ns:.1f} ns a row: simulation "
              f"{sim_ns / k_ns:.2f}×, wall {wall_ns / k_ns:.2f}× the kernel per document (load average {_load()})")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
