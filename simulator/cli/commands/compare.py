"""`segur compare SCENARIO [SCENARIO…]`: run scenarios with the same seeds, print them side by
side (annual volumes, month each target is reached) and write a comparison folder."""

from __future__ import annotations

import argparse
import sys

from scenarios.loader import resolve_path
from simulator.atomic import claim_output
from simulator.cli.commands.run import add_run_options, check_run_options, check_scale
from simulator.core.errors import UsageError
from simulator.studies.executors import ExecutorSpec, add_executor_options, check_executor_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="run several scenarios with the same seeds and compare them side by side",
                       description="Run each scenario with the same seed(s) and scale (common random numbers), print "
                                   "the annual volumes by sector and channel for every year of the run (or --years) and the "
                                   "month each target is reached (the first month whose trailing 12-month total of accepted "
                                   "DMP documents reaches it), and write a comparison folder (tables, figure, report). "
                                   "Wave 2 targets are assumptions and are labelled as such.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="scenario files (TOML) or names of shipped scenarios (e.g. wave2 wave2_late)")
    add_run_options(p)
    for action in p._actions:  # same options as `run`; only the default folder differs
        if action.dest == "out":
            action.help = "comparison folder (default: results/compare-<name>-<name>…)"
    p.add_argument("--replications", type=int, default=1, metavar="N",
                   help="run N replications of each scenario (same seeds for all) and show medians with p5–p95")
    p.add_argument("--years", nargs="+", type=_year, default=None, metavar="YEAR",
                   help="calendar years of the printed volume tables, e.g. --years 2024 2027 or --years 2024-2027 "
                        "(default: every year of the run)")
    add_executor_options(p)
    p.set_defaults(func=handle)


def _year(text: str) -> list[int]:
    """'2025' or '2024-2027' → the years (argparse type)."""
    try:
        lo, _, hi = text.partition("-")
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a year (2025) or a range (2024-2027), got {text!r}") from None
    if last < first:
        raise argparse.ArgumentTypeError(f"range {text!r} ends before it starts")
    return list(range(first, last + 1))


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.outputs import run_months
    from simulator.progress import progress_bar
    from simulator.scenario import load_scenario
    from simulator.studies.compare import (
        annual_volumes,
        check_names,
        check_years,
        default_out,
        format_comparison,
        run_scenarios,
        target_dates,
        write_comparison,
    )

    check_run_options(args)
    check_executor_options(args)
    if args.replications < 1:
        raise UsageError(f"--replications: must be at least 1 (got {args.replications})")
    scenarios = [load_scenario(s) for s in args.scenarios]
    check_names(scenarios)
    if args.scale is not None:
        for sc in scenarios:
            check_scale(sc, args.scale)
    years = sorted({y for ys in args.years or [] for y in ys})
    check_years(years, run_months(scenarios[0]))  # before the runs
    names = [sc.name for sc in scenarios]
    out = args.out or default_out(names)
    label = f"segur compare {' '.join(names)}" + (f" × {args.replications}" if args.replications > 1 else "")
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.posterior_file import beside, draw_scenarios

    # with replications, the first posterior file found beside a scenario gives replication i of
    # EVERY scenario its draw i (same draws and seeds: differences come from the scenarios)
    found = next((beside(resolve_path(s)) for s in args.scenarios if beside(resolve_path(s)).exists()), None)
    draws = [draw_scenarios(s, args.replications, found) if args.replications > 1 and found else (None, "")
             for s in args.scenarios]
    with claim_output(out, "compare", args.overwrite):  # before the runs: a bad or busy --out fails at once
        with progress_bar(label, quiet=args.quiet) as bar:
            runs = run_scenarios(scenarios, args.replications, seed=args.seed, scale=args.scale,
                                 executor=ExecutorSpec.from_args(args), progress=bar, draws=draws)
        write_comparison(out, runs)
    if not args.quiet:
        print(format_comparison(runs, annual_volumes(runs), target_dates(runs), years))
        for name, (d, source) in zip(names, draws, strict=True):
            if d is not None:
                print(f"{name}: parameters from {source} (replication i: draw i, seed i)")
        print(f"Comparison written to {out}/")
    failed = [f"{r.name}: {f}" for r in runs for f in r.failures]
    for line in failed:
        print(f"segur: {line}", file=sys.stderr)
    return 1 if failed else 0

