"""`segur sensitivity SCENARIO --params SENS.toml`: which parameter matters most (SALib).

The parameters file's keys and the tables: ``simulator.studies.sensitivity``; the command runs
its ``prepare`` and ``run`` (as ``simulator.sensitivity`` does from Python), then saves and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.cli.commands.run import check_run_options
from simulator.studies.executors import add_executor_options, check_executor_options


def register(sub: argparse._SubParsersAction) -> None:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.cli.commands.run import add_run_options

    p = sub.add_parser("sensitivity", help="rank parameters by their effect on an output (Morris, Sobol')",
                       description="Morris screening or Sobol' indices (SALib) of named scenario parameters "
                                   "on one named output; write a ranking table and a figure.")
    p.add_argument("scenario", help="scenario file (TOML), or the name of a shipped scenario (e.g. baseline)")
    p.add_argument("--params", required=True, type=Path, metavar="SENS.toml", help="the parameters file")
    add_run_options(p)
    add_executor_options(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    with ExitStack() as claim:  # the output folder is checked and locked before the runs
        return _handle(args, claim)


def _handle(args: argparse.Namespace, claim: Any) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.atomic import claim_output
    from simulator.progress import progress_bar
    from simulator.studies.executors import ExecutorSpec
    from simulator.studies.sensitivity import prepare

    check_run_options(args)
    check_executor_options(args)
    study = prepare(args.scenario, args.params, seed=args.seed, scale=args.scale)
    name = study.space.base.name
    out = args.out or Path("results") / f"{name}-sensitivity"
    claim.enter_context(claim_output(out, "sensitivity", args.overwrite))
    with progress_bar(f"segur sensitivity {name} ({study.runs} runs)", quiet=args.quiet) as bar:
        result = study.run(ExecutorSpec.from_args(args), bar)
    result.save(out)
    if not args.quiet:
        print(result.summary())
        print(f"Results written to {out}/")
    for i, f in result.failures:
        print(f"segur: design point {i + 1}, replication {f.index + 1} (seed {f.seed}) failed after "
              f"{f.attempts} attempts: {f.error}", file=sys.stderr)
    if result.failures:
        print(f"segur: {len(result.failures)} of {study.runs} runs failed; no ranking was computed "
              "(samples.csv and replications.csv mark what is missing)", file=sys.stderr)
        return 1
    return 0
