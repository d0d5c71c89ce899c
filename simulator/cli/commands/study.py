"""What `segur sweep` and `segur sensitivity` share: a scenario, a study file, the run and
executor options; then prepare, claim the output folder, run with a progress bar, save, print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.cli.commands.run import check_run_options
from simulator.engine.executors import add_executor_options, check_executor_options

SCENARIO_HELP = "scenario file (TOML), or the name of a shipped scenario (e.g. baseline)"


def add_study_arguments(p: argparse.ArgumentParser, option: str, metavar: str, option_help: str) -> None:
    """A study command's arguments: a scenario, its study file (``option``), run and executor options."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.cli.commands.run import add_run_options

    p.add_argument("scenario", help=SCENARIO_HELP)
    p.add_argument(option, required=True, type=Path, metavar=metavar, help=option_help)
    add_run_options(p)
    add_executor_options(p)


def run_study(args: argparse.Namespace, kind: str, prepare: Callable[..., Any], study_file: Path,
              runs: Callable[[Any], int], unit: str, when_failed: str) -> int:
    """Prepare the study, claim its folder (before the runs), run, save and print; exit 1 when
    runs failed (each named: its ``unit`` — point, design point — and replication)."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from contextlib import ExitStack

    from simulator.atomic import claim_output
    from simulator.engine.executors import ExecutorSpec
    from simulator.progress import progress_bar

    with ExitStack() as claim:  # the output folder is checked and locked before the runs
        check_run_options(args)
        check_executor_options(args)
        study = prepare(args.scenario, study_file, seed=args.seed, scale=args.scale)
        name = study.space.base.name
        out = args.out or Path("results") / f"{name}-{kind}"
        claim.enter_context(claim_output(out, kind, args.overwrite))
        total = runs(study)
        with progress_bar(f"segur {kind} {name} ({total} runs)", quiet=args.quiet) as bar:
            result = study.run(ExecutorSpec.from_args(args), bar)
        result.save(out)
        if not args.quiet:
            print(result.summary())
            print(f"Results written to {out}/")
        for i, f in result.failures:
            print(f"segur: {unit} {i + 1}, replication {f.index + 1} (seed {f.seed}) failed after "
                  f"{f.attempts} attempts: {f.error}", file=sys.stderr)
        if result.failures:
            print(f"segur: {len(result.failures)} of {total} runs failed; {when_failed}", file=sys.stderr)
            return 1
        return 0
