"""`segur report RESULTS_DIR`: rebuild the HTML report and figures of a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild report.html and figures/ from a results folder",
                       description="Rebuild the self-contained HTML report (and its PNG/SVG figures) of a results folder.")
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="a folder written by `segur run`")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of labels and text (default: fr)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="HTML file to write (default: RESULTS_DIR/report.html); figures/ goes beside it")
    p.add_argument("--at", default=None, metavar="YYYY-MM",
                   help="month of the 'achieved' column (default: 2023-09 if in the run, else the last month)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from reports import build_report
    from simulator.core.errors import UsageError
    from simulator.results import Results

    res = Results.load(args.results_dir)
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out: {args.out} is a folder; give the HTML file to write (e.g. {args.out / 'report.html'})")
    path = build_report(res, args.results_dir, lang=args.lang, at=args.at, out_file=args.out)
    if not args.quiet:
        print(f"Report written to {path}")
    return 0
