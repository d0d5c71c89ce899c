"""`segur sweep SCENARIO --grid GRID.toml`: a grid or Latin hypercube of parameters × seeds.

The grid file's keys and the tables: ``simulator.studies.sweep``; the command runs
``simulator.studies.sweep.prepare`` and its ``run`` (as ``simulator.sweep`` does from Python), then saves and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.atomic import claim_output
from simulator.cli.commands.run import check_run_options
from simulator.studies.executors import ExecutorSpec, add_executor_options, check_executor_options


def register(sub: argparse._SubParsersAction) -> None:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.cli.commands.run import add_run_options

    p = sub.add_parser("sweep", help="run a grid or Latin hypercube of parameters × seeds",
                       description="Run a scenario at every point of a parameter grid (or a Latin hypercube), "
                                   "with the same replication seeds at each point; write tidy tables.")
    p.add_argument("scenario", help="scenario file (TOML), or the name of a shipped scenario (e.g. baseline)")
    p.add_argument("--grid", required=True, type=Path, metavar="GRID.toml", help="the grid file (see `segur sweep --help`)")
    add_run_options(p)
    add_executor_options(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    with ExitStack() as claim:  # the output folder is checked and locked before the runs
        return _handle(args, claim)


def _handle(args: argparse.Namespace, claim: Any) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.progress import progress_bar
    from simulator.studies.sweep import prepare

    check_run_options(args)
    check_executor_options(args)
    study = prepare(args.scenario, args.grid, seed=args.seed, scale=args.scale)
    out = args.out or Path("results") / f"{study.space.base.name}-sweep"
    claim.enter_context(claim_output(out, "sweep", args.overwrite))
    total = len(study.grid.points) * study.grid.replications
    with progress_bar(f"segur sweep {study.space.base.name} ({total} runs)", quiet=args.quiet) as bar:
        run = study.run(ExecutorSpec.from_args(args), bar)
    run.save(out)
    if not args.quiet:
        print(run.summary())
        print(f"Results written to {out}/")
    for p, f in run.failures:
        print(f"segur: point {p + 1}, replication {f.index + 1} (seed {f.seed}) failed after {f.attempts} attempts: {f.error}",
              file=sys.stderr)
    if run.failures:
        print(f"segur: {len(run.failures)} of {total} runs failed; the tables hold those that completed (column n)",
              file=sys.stderr)
        return 1
    return 0
