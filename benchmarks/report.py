"""Time the HTML report of a run: figures (PNG + SVG), target table and report.html.

    python benchmarks/report.py                       # baseline at scale 0.01, seed 1 (runs it first)
    python benchmarks/report.py --results results/baseline --lang en

Prints the simulation time (when it runs one), then the report's wall time per step, its peak
memory (tracemalloc, Python allocations) and the sizes written. Goal: under 10 s at scale 0.01.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=None, help="a results folder (default: run the baseline)")
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "baseline.toml"))
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lang", choices=("fr", "en"), default="fr")
    args = ap.parse_args()

    import simulator
    from simulator.engine.results import Results

    if args.results is not None:
        res = Results.load(args.results)
        print(f"results {args.results} (scale {res.scale})")
    else:
        t = time.perf_counter()
        res = simulator.run(args.scenario, seed=args.seed, scale=args.scale)
        print(f"simulation {Path(args.scenario).name} scale {args.scale} seed {args.seed}: {time.perf_counter() - t:.1f} s")

    t0 = time.perf_counter()
    import reports
    import reports.html  # noqa: F401  (matplotlib… imported once, timed apart)
    from reports.figures import report_figures
    from reports.observed import observed_figures
    from reports.tables import report_month, target_table
    t_import = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        tracemalloc.start()
        t1 = time.perf_counter()
        at = report_month(res)
        obs = observed_figures()
        figs = report_figures(res, args.lang, obs, at)
        t_fig = time.perf_counter() - t1
        t2 = time.perf_counter()
        target_table(res, at, obs)
        t_tab = time.perf_counter() - t2
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()  # tracemalloc slows matplotlib down: the full build is timed without it
        t3, c3 = time.perf_counter(), time.process_time()
        path = reports.build_report(res, tmp, lang=args.lang)
        t_full, c_full = time.perf_counter() - t3, time.process_time() - c3
        html_kb = path.stat().st_size / 1024
        fig_kb = sum(p.stat().st_size for p in (Path(tmp) / "figures").iterdir()) / 1024

    print(f"imports (matplotlib, reports): {t_import:.2f} s")
    print(f"figures ({len(figs)}, PNG + SVG, under tracemalloc): {t_fig:.2f} s")
    print(f"target table: {t_tab:.3f} s")
    print(f"build_report (figures + table + HTML + files): {t_full:.2f} s wall, {c_full:.2f} s CPU  (goal < 10 s)")
    print(f"peak Python memory while drawing the figures: {peak / 2**20:.0f} MiB (tracemalloc)")
    print(f"report.html {html_kb:.0f} KiB, figures/ {fig_kb:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
