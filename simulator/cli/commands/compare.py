"""`segur compare SCENARIO [SCENARIO…]`: run scenarios with the same seeds, print them side by
side (annual volumes, month each target is reached) and write a comparison folder."""

from __future__ import annotations

import argparse
import sys

from simulator.atomic import claim_output
from simulator.cli.commands.run import add_run_options, check_run_options
from simulator.engine.executors import ExecutorSpec, add_executor_options, check_executor_options

HELP = "run several scenarios with the same seeds and compare them side by side"
DESCRIPTION = ("Run each scenario with the same seed(s) and scale (common random numbers), print "
               "the annual volumes by sector and channel for every year of the run (or --years) and the "
               "month each target is reached (the first month whose trailing 12-month total of accepted "
               "DMP documents reaches it), and write a comparison folder (tables, figure, report). "
               "Wave 2 targets are assumptions and are labelled as such.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur compare`."""
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
    from simulator.progress import progress_bar
    from simulator.studies.compare import default_out
    from simulator.studies.comparison import prepare

    check_run_options(args)
    check_executor_options(args)
    study = prepare(args.scenarios, args.replications, seed=args.seed, scale=args.scale,
                    years=[y for ys in args.years or [] for y in ys])  # checked before the runs
    out = args.out or default_out([sc.name for sc in study.scenarios])
    with claim_output(out, "compare", args.overwrite):  # before the runs: a bad or busy --out fails at once
        with progress_bar(study.label, quiet=args.quiet) as bar:
            comparison = study.run(ExecutorSpec.from_args(args), bar)
        comparison.save(out)
    if not args.quiet:
        print(comparison.summary())
        print(f"Comparison written to {out}/")
    for line in comparison.failures:
        print(f"segur: {line}", file=sys.stderr)
    return 1 if comparison.failures else 0
