"""`segur calibrate CALIBRATION.toml`: fit scenario parameters to the observed figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="fit scenario parameters to the observed 2021–2023 figures",
        description="Fit the parameters named in a calibration file (bounds, weights, scale, replications, "
                    "optimiser) to the observed figures; write the calibrated scenario, the fit table "
                    "(fit.csv) and a figure (fit.png).")
    p.add_argument("calibration", type=Path, help="calibration file (TOML), e.g. scenarios/calibration.toml")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/calibration-<name of the file>)")
    p.add_argument("--quiet", action="store_true", help="no progress and no fit table")
    p.set_defaults(func=handle)


def _fmt(v: float, unit: str) -> str:
    if v != v:  # NaN
        return "—"
    if unit.startswith("share"):
        return f"{v:.3f}"
    return f"{v / 1e6:.2f}M" if abs(v) >= 1e5 else f"{v:,.0f}"


def format_fit(tab) -> str:
    """The fit table as plain text: observed, simulated, relative error, weight (or why not matched)."""
    lines = [f"  {'date':<8}{'metric':<32}{'sector':<18}{'observed':>11}{'simulated':>11}{'error':>8}  bound  weight"]
    for _, r in tab.iterrows():
        head = f"  {r['date']:<8}{r['metric'][:31]:<32}{r['sector'][:17]:<18}{_fmt(r['observed'], r['unit']):>11}"
        if r["matched"]:
            lines.append(f"{head}{_fmt(r['simulated'], r['unit']):>11}{r['rel_error']:>+8.1%}  {r['bound']:<6} {r['weight']:g}")
        else:
            lines.append(f"{head}{'':>11}{'':>8}  not matched: {r['why']}")
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.calibration import calibrate, load_spec
    from simulator.calibration_output import write_calibration

    spec = load_spec(args.calibration)
    out = args.out or Path("results") / f"calibration-{args.calibration.stem}"

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if not args.quiet:
        report(f"segur calibrate: {len(spec.parameters)} parameters, {spec.method}, scale {spec.scale}, "
               f"{spec.replications} replications, at most {spec.max_evaluations} evaluations")
    result = calibrate(spec, report=None if args.quiet else report)
    write_calibration(result, out)
    if not args.quiet:
        best = result["best"]
        print(f"Objective {result['start'].objective:.5f} (start) → {best.objective:.5f} (fitted) "
              f"in {len(result['history'])} evaluations")
        print(format_fit(best.table))
        print(f"Calibration written to {out}/ (calibrated.toml, fit.csv, fit.png, parameters.csv, history.csv)")
    return 0
