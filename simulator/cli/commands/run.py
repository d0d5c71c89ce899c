"""`segur run SCENARIO`: simulate, print the summary, write the results folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from scenarios.schema import size_problem
from simulator.atomic import claim_output
from simulator.core.errors import DisagreementError, UsageError
from simulator.engine.executors import add_executor_options, check_executor_options

if TYPE_CHECKING:
    from scenarios.schema import Scenario


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by run-like commands (run, compare, sweep…)."""
    p.add_argument("--scale", type=float, default=None, help="simulated share of France (0 < scale ≤ 1; default: the scenario's)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: results/<scenario name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    add_overwrite_option(p)


def add_overwrite_option(p: argparse.ArgumentParser) -> None:
    """--overwrite: replace an existing --out folder even if it holds what this command did not write."""
    p.add_argument("--overwrite", action="store_true",
                   help="replace the output folder even if it holds files this command did not write "
                        "(without it, only an earlier output of the same command is replaced)")


def check_scale(sc: Scenario, scale: float, option: str = "--scale") -> None:
    """Refuse a scale the scenario cannot run at (no simulated agent in a sector, or beyond memory)."""
    problem = size_problem(sc, scale)
    if problem:
        raise UsageError(f"{option} {scale:g}: {problem}")


#: the largest seed: as a scenario's ``[run] seed`` (scenarios/schema.py), a signed 64-bit integer
MAX_SEED = 2**63 - 1


def check_seed(seed: int | None, option: str = "--seed") -> None:
    """One clear line for a seed outside 0 … 2**63 - 1 (what the scenario file allows too)."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        shown = str(seed) if len(str(seed)) <= 40 else f"an integer of {len(str(seed))} digits"
        raise UsageError(f"{option}: an integer from 0 to {MAX_SEED} (2**63 - 1), as the scenario's [run] seed "
                         f"(got {shown})")


def check_run_options(args: argparse.Namespace) -> None:
    """Reject option values outside what is allowed, with one clear line."""
    if args.scale is not None and not (0 < args.scale <= 1):
        raise UsageError(f"--scale: must be greater than 0 and at most 1 (got {args.scale})")
    check_seed(args.seed)


def seed_and_scale(args: argparse.Namespace, sc: Scenario) -> tuple[int, float]:
    """The run's seed and scale: the options' where given, else the scenario's ``[run]``."""
    seed = args.seed if args.seed is not None else sc.run.seed
    scale = args.scale if args.scale is not None else sc.run.scale
    return seed, scale


HELP = "run a scenario and write its results folder"
DESCRIPTION = "Simulate a scenario from its start to its end date; print a summary and write a results folder."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur run`."""
    p.add_argument("scenario", help="scenario file (TOML), or the name of a shipped scenario (e.g. baseline)")
    add_run_options(p)
    p.add_argument("--posterior", default=None, metavar="FILE",
                   help="parameter draws for --replications (default: <scenario>.posterior.csv beside the scenario if present; \"none\": seeds only)")
    p.add_argument("--replications", type=int, default=1, metavar="N",
                   help="run N replications (seeds derived from --seed) and write quantile tables; 1 = a single run")
    p.add_argument("--profile", action="store_true",
                   help="print the day plan with each module's seconds (also in the manifest, as profile)")
    add_executor_options(p)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from reports import write_report
    from reports.helper import ReportHelper
    from simulator.engine import Simulation
    from simulator.engine.plan_clock import format_profile
    from simulator.engine.scenario import load_scenario
    from simulator.engine.summary import format_summary
    from simulator.progress import progress_bar

    check_run_options(args)
    check_executor_options(args)
    if args.replications < 1:
        raise UsageError(f"--replications: must be at least 1 (got {args.replications})")
    if args.profile and args.replications > 1:
        raise UsageError("--profile: times the modules of one run; give it without --replications")
    sc = load_scenario(args.scenario)
    if args.scale is not None:
        check_scale(sc, args.scale)
    out = args.out or Path("results") / sc.name  # the name is a checked slug (scenarios.schema.check_name)
    with claim_output(out, "run", args.overwrite):  # checked and locked before the simulation
        if args.replications > 1:  # an ensemble: quantile tables + the median run's tables
            return run_replications(args, sc, out, writers=[write_report])
        helper = ReportHelper()  # imports the plotting stack on another core during the run
        try:
            with progress_bar(f"segur run {sc.name}", quiet=args.quiet) as bar:
                res = Simulation(sc, seed=args.seed, scale=args.scale, progress=bar, on_tables=helper.start,
                                 profile=args.profile).run()
            res.save(out, writers=[helper.writer])  # report.html + figures/ inside the atomic folder
        finally:
            helper.close()
    if args.profile:
        print(format_profile(res.manifest["profile"]))
    if not args.quiet:
        print(format_summary(res))
        # loaded when the command runs: `segur --help` and the other commands start without it
        from simulator.studies.representative import single_run_note

        note = single_run_note(args.scenario)
        if note:
            print(note)
        print(f"Results written to {out}/")
    if res.manifest.get("failure"):  # e.g. FHIR and vectorised verdicts disagree: a bug, named in the manifest
        raise DisagreementError(f"{out}: {res.manifest['failure']}")
    return 0


def run_replications(args: argparse.Namespace, sc: Scenario, out: Path, writers: list | None = None) -> int:
    """`segur run SCENARIO --replications N` (N ≥ 2): ``simulator.replicate``, then write and summarise.

    The folder holds the representative (median) replication's full tables, its manifest with
    an ``ensemble`` block, and the ensemble tables. Exit 1 when any replication failed (after
    its retry), 0 otherwise.
    """
    import sys

    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.api import replicate
    from simulator.engine.ensemble import failure_lines
    from simulator.engine.executors import ExecutorSpec
    from simulator.progress import progress_bar

    with progress_bar(f"segur run {sc.name} × {args.replications}", quiet=args.quiet) as bar:
        ens = replicate(args.scenario, args.replications, seed=args.seed, scale=args.scale,
                        posterior=getattr(args, "posterior", None), executor=ExecutorSpec.from_args(args), progress=bar)
    failed = failure_lines(ens.failures, ens.aggregator.n)
    if ens.representative is None:
        for line in failed:
            print(f"segur: {line}", file=sys.stderr)
        print("segur: no replication completed; nothing was written", file=sys.stderr)
        return 1
    ens.save(out, writers=writers)
    if not args.quiet:
        print(ens.summary())
        print(f"Results written to {out}/")
    for line in failed:
        print(f"segur: {line}", file=sys.stderr)
    return 1 if failed else 0
