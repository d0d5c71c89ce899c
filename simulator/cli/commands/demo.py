"""`segur demo`: a small territory narrated day by day, every document rendered as FHIR.

Runs the shipped teaching scenario (scenarios/demo.toml: Ille-et-Vilaine, January 2025, a few
thousand patients), writes every document into ``--out`` and tells what happened, following a
few patients. Rich text on a terminal, plain text when piped; ``--step`` waits for Enter
between days (in class), ``--pace`` sets the pause between days otherwise; ``--lang fr|en``
(French by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulator.atomic import claim_output
from simulator.cli.commands.run import add_overwrite_option, check_seed
from simulator.core.errors import UsageError

DEFAULT_PACE = 0.4


HELP = "a small territory narrated day by day, every document as FHIR"
DESCRIPTION = ("Simulate a small territory (default: scenarios/demo.toml, Ille-et-Vilaine, January "
               "2025), render every DMP document as a FHIR ITI-65 bundle and every MSSanté message, "
               "and tell day by day what happened to a few patients, naming the file to open.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur demo`."""
    p.add_argument("--scenario", default="demo", help="a small-territory scenario (run.departements set); default: demo")
    p.add_argument("--patients", type=int, default=None, metavar="N",
                   help="simulated patients (default: the scenario's, 3,000 for demo)")
    p.add_argument("--days", type=int, default=None, metavar="N", help="days simulated from the scenario's start (default: its own end)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="folder for the files (default: demo-output/)")
    p.add_argument("--pace", type=float, default=None, metavar="SECONDS",
                   help=f"pause between narrated days (default {DEFAULT_PACE} on a terminal, 0 when piped)")
    p.add_argument("--step", action="store_true", help="wait for Enter before each day")
    p.add_argument("--lang", default="fr", metavar="fr|en", help="language of the narration: fr (default) or en")
    add_overwrite_option(p)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.demo.teaching import Narrator, build_demo, narrate

    check_seed(args.seed)
    if args.lang not in ("fr", "en"):
        raise UsageError(f"--lang: must be fr or en (got {args.lang})")
    if args.pace is not None and not 0 <= args.pace <= 60:
        raise UsageError(f"--pace: must be between 0 and 60 seconds (got {args.pace})")
    tty = sys.stdout.isatty()
    pace = args.pace if args.pace is not None else (DEFAULT_PACE if tty else 0.0)
    with claim_output(args.out, "demo", args.overwrite):  # checked and locked before the run
        demo = build_demo(args.scenario, args.out, patients=args.patients, days=args.days, seed=args.seed)
    narrate(demo, Narrator(rich=tty), root=str(args.out), pace=pace, step=args.step, lang=args.lang)
    return 0
