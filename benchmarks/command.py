"""The whole `segur run` command a user runs (start-up, set-up, simulation, payloads, tables,
report), timed from outside, with the load average and, in the same sitting, the reference
kernel: its cost per DMP document against the kernel's per row.

    python benchmarks/command.py --scale 0.01 --repeat 3          # the scale-0.01 run
    python benchmarks/command.py --scale 1 --kernel 7             # the national run, then the kernel

Prints, for each run: wall and CPU seconds (the command and its helpers), peak memory of the
largest process, DMP documents drawn, nanoseconds per document; then the kernel's seconds and
nanoseconds per row, and the ratio. The machine is shared: read the load averages printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNEL = Path(__file__).resolve().parent / "refkernel.py"
KERNEL_ROWS_PER_YEAR = 250e6  # refkernel.py's documents a year


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_command(scenario: str, scale: float, seed: int | None) -> dict[str, float]:
    """One `segur run … --quiet` in a fresh process: wall, CPU, peak memory, DMP documents."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "simulator.cli", "run", scenario, "--scale", str(scale), "--quiet",
               "--out", str(out)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        cpu = _children_cpu() - cpu0
        docs = pd.read_csv(out / "documents.csv", usecols=["channel", "count"])
        dmp = int(docs.loc[docs["channel"] == "dmp", "count"].sum())
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # the largest so far
    return {"wall": wall, "cpu": cpu, "peak_gib": peak_gib, "dmp": dmp}


def run_kernel(years: float) -> float:
    """The reference kernel's seconds (its loop, as it prints them) for ``years``."""
    out = subprocess.run([sys.executable, str(KERNEL), str(years)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=1, help="runs of the command (each followed by the kernel if asked)")
    ap.add_argument("--kernel", type=float, default=None, metavar="YEARS",
                    help="run the reference kernel for YEARS simulated years after each run (7 for the national run)")
    args = ap.parse_args()

    print(f"segur run {Path(args.scenario).name} --scale {args.scale} --quiet  (load average {_load()})")
    for i in range(args.repeat):
        r = run_command(args.scenario, args.scale, args.seed)
        ns = r["wall"] / max(r["dmp"], 1) * 1e9
        print(f"run {i + 1}: wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s (command and helpers), "
              f"peak {r['peak_gib']:.2f} GiB, {r['dmp']:,} DMP documents, {ns:.1f} ns a document "
              f"(load average {_load()})")
        if args.kernel:
            k = run_kernel(args.kernel)
            k_ns = k / (KERNEL_ROWS_PER_YEAR * args.kernel) * 1e9
            print(f"  kernel {args.kernel:g} years: {k:.2f} s, {k_ns:.1f} ns a row; "
                  f"the command costs {ns / k_ns:.2f}× the kernel per document (load average {_load()})")


if __name__ == "__main__":
    main()
