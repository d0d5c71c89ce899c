"""`segur sweep SCENARIO --grid GRID.toml`: a grid or Latin hypercube of parameters × seeds.

The grid file's keys and the tables: ``simulator.studies.sweep``; the command runs
``simulator.studies.sweep.prepare`` and its ``run`` (as ``simulator.sweep`` does from Python), then saves and prints.
"""

from __future__ import annotations

import argparse

from simulator.cli.commands.study import add_study_arguments, run_study

HELP = "run a grid or Latin hypercube of parameters × seeds"
DESCRIPTION = ("Run a scenario at every point of a parameter grid (or a Latin hypercube), "
               "with the same replication seeds at each point; write tidy tables.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur sweep`."""
    add_study_arguments(p, "--grid", "GRID.toml", "the grid file (see `segur sweep --help`)")


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.sweep import prepare

    return run_study(args, "sweep", prepare, args.grid, lambda study: len(study.grid.points) * study.grid.replications,
                     "point", "the tables hold those that completed (column n)")
