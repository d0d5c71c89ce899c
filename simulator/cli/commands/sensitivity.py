"""`segur sensitivity SCENARIO --params SENS.toml`: which parameter matters most (SALib).

The parameters file's keys and the tables: ``simulator.studies.sensitivity``; the command runs
its ``prepare`` and ``run`` (as ``simulator.sensitivity`` does from Python), then saves and prints.
"""

from __future__ import annotations

import argparse

from simulator.cli.commands.study import add_study_arguments, run_study

HELP = "rank parameters by their effect on an output (Morris, Sobol')"
DESCRIPTION = ("Morris screening or Sobol' indices (SALib) of named scenario parameters "
               "on one named output; write a ranking table and a figure.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur sensitivity`."""
    add_study_arguments(p, "--params", "SENS.toml", "the parameters file")


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.sensitivity import prepare

    return run_study(args, "sensitivity", prepare, args.params, lambda study: study.runs, "design point",
                     "no ranking was computed (samples.csv and replications.csv mark what is missing)")
