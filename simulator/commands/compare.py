"""`segur compare SCENARIO [SCENARIO…]`: run scenarios with the same seeds, print them side by
side (annual volumes, month each target is reached) and write a comparison folder."""

from __future__ import annotations

import argparse
import sys

from simulator.commands.run import add_run_options, check_run_options
from simulator.core.errors import UsageError
from simulator.executors import ExecutorSpec, add_executor_options, check_executor_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="run several scenarios with the same seeds and compare them side by side",
                       description="Run each scenario with the same seed(s) and scale (common random numbers), print "
                                   "the annual volumes by sector and channel and the first month each target's annualised "
                                   "rate (month × 12, DMP documents accepted) reaches it, and write a comparison folder "
                                   "(tables, figure, report). Wave 2 targets are assumptions and are labelled as such.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="scenario files (TOML) or names of shipped scenarios (e.g. wave2 wave2_late)")
    add_run_options(p)
    for action in p._actions:  # same options as `run`; only the default folder differs
        if action.dest == "out":
            action.help = "comparison folder (default: results/compare-<name>-<name>…)"
    p.add_argument("--replications", type=int, default=1, metavar="N",
                   help="run N replications of each scenario (same seeds for all) and show medians with p5–p95")
    add_executor_options(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.compare import (
        annual_volumes,
        check_names,
        check_out,
        default_out,
        format_comparison,
        run_scenarios,
        target_dates,
        write_comparison,
    )
    from simulator.progress import progress_bar
    from simulator.scenario import load_scenario

    check_run_options(args)
    check_executor_options(args)
    if args.replications < 1:
        raise UsageError(f"--replications: must be at least 1 (got {args.replications})")
    scenarios = [load_scenario(s) for s in args.scenarios]
    check_names(scenarios)
    names = [sc.name for sc in scenarios]
    out = args.out or default_out(names)
    check_out(out)  # before the runs: a bad --out fails at once
    label = f"segur compare {' '.join(names)}" + (f" × {args.replications}" if args.replications > 1 else "")
    with progress_bar(label, quiet=args.quiet) as bar:
        runs = run_scenarios(scenarios, args.replications, seed=args.seed, scale=args.scale,
                             executor=ExecutorSpec.from_args(args), progress=bar)
    write_comparison(out, runs)
    if not args.quiet:
        print(format_comparison(runs, annual_volumes(runs), target_dates(runs)))
        print(f"Comparison written to {out}/")
    failed = [f"{r.name}: {f}" for r in runs for f in r.failures]
    for line in failed:
        print(f"segur: {line}", file=sys.stderr)
    return 1 if failed else 0

