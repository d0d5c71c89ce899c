"""`segur calibrate CALIBRATION.toml`: a posterior (ABC-SMC, default) or a least-squares fit (--method lsq).

The command runs ``simulator.studies.calibration_run.prepare(...).run()`` (as ``simulator.calibrate``
does from Python), then saves and prints. ABC-SMC needs the ``calibrate`` extra (pyabc)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from simulator.atomic import claim_output
from simulator.cli.commands.run import add_overwrite_option
from simulator.core.errors import UsageError
from simulator.studies.calibration_run import format_fit, format_predictive  # noqa: F401  (importable here as before)

HELP = "calibrate scenario parameters on the observed figures (posterior or least squares)"
DESCRIPTION = ("Calibrate the parameters named in a calibration file on the observed figures. Default "
               "(--method abc): ABC-SMC (pyabc) → posterior draws with provenance (posterior.csv), "
               "diagnostics per generation, the posterior predictive fit; --method lsq: the fast "
               "least-squares point fit (calibrated.toml, fit.csv, fit.png).")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur calibrate`."""
    p.add_argument("calibration", type=Path, help="calibration file (TOML), e.g. scenarios/calibration.toml")
    p.add_argument("--method", choices=("abc", "lsq"), default="abc",
                   help="abc: ABC-SMC posterior (default); lsq: least-squares point estimate (fast)")
    p.add_argument("--cutoff", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                   help="use only the observed rows dated up to this day, runs ending there (default: the file's fit.end)")
    p.add_argument("--observed", type=Path, default=None, help="observed figures (CSV, same columns as scenarios/data/observed.csv)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run the simulations on this Dask scheduler (abc)")
    p.add_argument("--workers", type=int, default=1, help="local processes for the simulations (abc; default 1)")
    p.add_argument("--design", type=Path, default=None, metavar="FILE",
                   help="reuse the design runs of an earlier calibration (its design.csv) for the surrogate (abc with posterior.design_runs > 0)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/calibration-<name of the file>)")
    p.add_argument("--quiet", action="store_true", help="no progress and no fit table")
    add_overwrite_option(p)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.calibration_run import prepare

    if args.workers < 1:
        raise UsageError(f"--workers: must be at least 1 (got {args.workers})")
    study = prepare(args.calibration, method=args.method, cutoff=args.cutoff, observed=args.observed)
    out = args.out or Path("results") / f"calibration-{args.calibration.stem}"

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    spec = study.spec
    if args.method == "lsq" and not args.quiet:
        report(f"segur calibrate: {len(spec.parameters)} parameters, {spec.method}, scale {spec.scale}, "
               f"{spec.replications} replications, at most {spec.max_evaluations} evaluations")
    with claim_output(out, "calibrate", args.overwrite):  # checked and locked before the fit
        result = study.run(workers=args.workers, scheduler=args.scheduler, design=args.design,
                           report=None if args.quiet else report)
        files = result.save(out, overwrite=args.overwrite)
    if not args.quiet:
        print(result.summary())
        if args.method == "lsq":
            print(f"Calibration written to {out}/ (calibrated.toml, fit.csv, fit.png, parameters.csv, history.csv)")
        else:
            print(f"Posterior written to {out}/ ({', '.join(f for f in files if f != 'abc.db')}, abc.db)")
    return 0


def get_design(args: argparse.Namespace, spec, observed, settings, end: dt.date, out: Path, report):
    """The surrogate's design from the command's options (--design, --workers, --scheduler)."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.calibration_run import design_runs

    return design_runs(spec, observed, settings, end, out, args.design, args.workers, args.scheduler, report)
