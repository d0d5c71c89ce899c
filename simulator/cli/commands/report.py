"""`segur report RESULTS_DIR`: rebuild the HTML report and figures of a results folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from simulator.atomic import adopt_files, check_output_file
from simulator.core.errors import UsageError


def _ours(page: Path) -> bool:
    """True when an existing HTML file is a segur-testbed report (its footer names the tool)."""
    try:
        with open(page, "rb") as f:
            f.seek(max(0, page.stat().st_size - 2**20))
            return b"segur-testbed" in f.read()
    except OSError:
        return False


def _check_not_foreign(out: Path, results_dir: Path) -> None:
    """--out FILE replaces only a report segur wrote, and its figures/ only figures."""
    if out.exists() and not _ours(out):
        raise UsageError(f"--out {out}: exists and is not a segur-testbed report; choose another file, "
                         "or add --overwrite to replace it")
    figures = out.parent / "figures"
    if out.parent.resolve() != results_dir.resolve() and figures.is_dir():
        foreign = [p.name for p in figures.iterdir() if p.suffix not in (".png", ".svg")]
        if foreign:
            raise UsageError(f"--out {out}: {figures} holds {foreign[0]}, which a report does not write; "
                             "choose another folder, or add --overwrite")


def _snapshot(folder: Path) -> dict[Path, tuple[int, int]]:
    """Every file below ``folder`` with its modification time and size."""
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            p = Path(root) / name
            try:
                st = p.stat()
            except OSError:
                continue
            out[p] = (st.st_mtime_ns, st.st_size)
    return out


HELP = "rebuild report.html and figures/ from a results folder"
DESCRIPTION = "Rebuild the self-contained HTML report (and its PNG/SVG figures) of a results folder."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur report`."""
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="a folder written by `segur run`")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of labels and text (default: fr)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="HTML file to write (default: RESULTS_DIR/report.html in French, RESULTS_DIR/report.en.html in English); figures/ goes beside it")
    p.add_argument("--at", default=None, metavar="YYYY-MM",
                   help="month of the 'achieved' column (default: 2023-09 if in the run, else the last month)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out FILE (and figures/ beside it) even if segur did not write them")


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from reports import build_report
    from simulator.core.errors import UsageError
    from simulator.engine.results import Results

    res = Results.load(args.results_dir)
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out: {args.out} is a folder; give the HTML file to write (e.g. {args.out / 'report.html'})")
    target = args.out if args.out is not None else args.results_dir / "report.html"
    check_output_file(target)  # before drawing: a read-only, system or full target fails at once
    if args.out is not None and not args.overwrite:
        _check_not_foreign(args.out, args.results_dir)
    before = _snapshot(args.results_dir)
    path = build_report(res, args.results_dir, lang=args.lang, at=args.at, out_file=args.out)
    # what the report wrote into the results folder is the run's now: a later `segur run` may replace it
    adopt_files(args.results_dir, [p for p, stamp in _snapshot(args.results_dir).items() if before.get(p) != stamp])
    if not args.quiet:
        print(f"Report written to {path}")
    return 0
