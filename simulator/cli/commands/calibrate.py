"""`segur calibrate CALIBRATION.toml`: a posterior (ABC-SMC, default) or a least-squares fit (--method lsq)."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from scenarios.schema import size_problem
from simulator.atomic import atomic_folder, claim_output
from simulator.cli.commands.run import add_overwrite_option
from simulator.core.errors import UsageError
from simulator.scenario import validate
from simulator.studies.executors import ExecutorSpec


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="calibrate scenario parameters on the observed figures (posterior or least squares)",
        description="Calibrate the parameters named in a calibration file on the observed figures. Default "
                    "(--method abc): ABC-SMC (pyabc) → posterior draws with provenance (posterior.csv), "
                    "diagnostics per generation, the posterior predictive fit; --method lsq: the fast "
                    "least-squares point fit (calibrated.toml, fit.csv, fit.png).")
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
    p.set_defaults(func=handle)


def _fmt(v: float, unit: str) -> str:
    if v != v:  # NaN
        return "—"
    if unit.startswith("share"):
        return f"{v:.3f}"
    return f"{v / 1e6:.2f}M" if abs(v) >= 1e5 else f"{v:,.0f}"


def format_fit(tab) -> str:
    """The fit table as plain text: observed, simulated, relative error, weight (or why not matched)."""
    lines = [f"  {'date':<8}{'metric':<32}{'sector':<18}{'observed':>11}{'simulated':>11}{'error':>8}  bound  weight"]
    for _, r in tab.iterrows():
        head = f"  {r['date']:<8}{r['metric'][:31]:<32}{r['sector'][:17]:<18}{_fmt(r['observed'], r['unit']):>11}"
        if r["matched"]:
            lines.append(f"{head}{_fmt(r['simulated'], r['unit']):>11}{r['rel_error']:>+8.1%}  {r['bound']:<6} {r['weight']:g}")
        else:
            lines.append(f"{head}{'':>11}{'':>8}  not matched: {r['why']}")
    return "\n".join(lines)


def _check_fit_scale(spec) -> None:
    """A fit.scale at which a sector would have no simulated agent (or beyond memory) is refused."""
    import copy

    problem = size_problem(validate(copy.deepcopy(spec.base_data), spec.scenario), spec.scale)
    if problem:
        raise UsageError(f"{spec.path}: fit.scale: {problem}")


def format_predictive(pred) -> str:
    """The posterior predictive fit: observed beside the simulated p50 [p5–p95]."""
    lines = [f"  {'date':<8}{'metric':<32}{'sector':<12}{'observed':>10}  {'simulated p50 [p5–p95]':<30}{'error':>8}  bound"]
    for _, r in pred.iterrows():
        band = f"{_fmt(r['p50'], r['unit'])} [{_fmt(r['p5'], r['unit'])}–{_fmt(r['p95'], r['unit'])}]"
        lines.append(f"  {r['date']:<8}{r['metric'][:31]:<32}{r['sector'][:11]:<12}{_fmt(r['observed'], r['unit']):>10}  "
                     f"{band:<30}{r['rel_error_p50']:>+8.1%}  {r['bound']}")
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.calibration import load_spec

    if args.workers < 1:
        raise UsageError(f"--workers: must be at least 1 (got {args.workers})")
    spec = load_spec(args.calibration)
    _check_fit_scale(spec)
    if args.cutoff is not None:  # the same rule as the file's fit.end, for either method
        run = spec.base_data.get("run", {})
        if not run["start"] < args.cutoff <= run["end"]:
            raise UsageError(f"--cutoff {args.cutoff}: must be after the run start {run['start']} and not after "
                             f"its end {run['end']} (as fit.end in {spec.path})")
    out = args.out or Path("results") / f"calibration-{args.calibration.stem}"

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.method == "lsq":
        return _lsq(args, spec, out, report)
    return _abc(args, spec, out, report)


def _lsq(args: argparse.Namespace, spec, out: Path, report) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.calibration import calibrate
    from simulator.studies.calibration_output import write_calibration

    if args.cutoff is not None:
        spec.end = args.cutoff
    if args.observed is not None:
        spec.observed = args.observed
    if not args.quiet:
        report(f"segur calibrate: {len(spec.parameters)} parameters, {spec.method}, scale {spec.scale}, "
               f"{spec.replications} replications, at most {spec.max_evaluations} evaluations")
    with claim_output(out, "calibrate", args.overwrite):  # checked and locked before the fit
        result = calibrate(spec, report=None if args.quiet else report)
        write_calibration(result, out)
    if not args.quiet:
        best = result["best"]
        print(f"Objective {result['start'].objective:.5f} (start) → {best.objective:.5f} (fitted) "
              f"in {len(result['history'])} evaluations")
        print(format_fit(best.table))
        print(f"Calibration written to {out}/ (calibrated.toml, fit.csv, fit.png, parameters.csv, history.csv)")
    return 0


def _abc(args: argparse.Namespace, spec, out: Path, report) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from scenarios.observed import load_observed
    from simulator.studies.posterior import (
        PosteriorSettings,
        format_posterior,
        restrict,
        run_abc,
        write_outputs,
    )
    from simulator.studies.posterior_file import git_commit

    settings = PosteriorSettings.from_raw(spec.posterior, str(spec.path))
    observed = load_observed(args.observed or spec.observed)
    cutoff = args.cutoff or spec.end or spec.base_data["run"]["end"]
    full_spec = spec
    spec, rows = restrict(spec, observed, cutoff)
    with claim_output(out, "calibrate", args.overwrite):  # checked and locked before the fit
        with tempfile.TemporaryDirectory(prefix="segur-abc-") as work_dir:  # the ABC database and design while running
            work = Path(work_dir)
            design = get_design(args, full_spec, observed, settings, cutoff, work, report)
            post = run_abc(spec, rows, settings, scheduler=args.scheduler, workers=args.workers, seed=spec.seed,
                           db_path=work / "abc.db", report=None if args.quiet else report, design=design)
            post.provenance = {"calibration": str(args.calibration), "observed": _shown(args.observed or spec.observed),
                               "data_cutoff": cutoff.isoformat(), **post.provenance,
                               "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit()}
            with atomic_folder(out, "calibrate", args.overwrite) as tmp:  # all or nothing
                files = write_outputs(post, tmp)
                for name in ("abc.db", "design.csv"):
                    if (work / name).exists():
                        shutil.move(work / name, tmp / name)
    if not args.quiet:
        prov = post.provenance
        print(f"ABC-SMC posterior: {prov['simulations']} simulations in {prov['generations']} generations, "
              f"final ε {prov['final_epsilon']:.4f}, {prov['wall_s']:.0f} s on {prov['executor']}")
        print(format_posterior(post))
        print("Posterior predictive fit (last population):")
        print(format_predictive(post.predictive))
        print(f"Posterior written to {out}/ ({', '.join(files)}, abc.db)")
    return 0


def _shown(path: Path) -> str:
    """A path relative to the working folder when under it (provenance lines carry no home folders)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _checked_design(design, path: Path, spec, observed):
    """A --design file that is a design of this calibration: its parameters' columns, numbers,
    at least one run and one observed row's column — else one line naming the file."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    import pandas as pd

    from simulator.studies.surrogate import row_keys

    if design.empty:
        raise UsageError(f"{path}: malformed design file: no run in it (a design.csv of segur calibrate)")
    missing = [p.key for p in spec.parameters if p.key not in design.columns]
    if missing:
        raise UsageError(f"{path}: malformed design file: no column {missing[0]!r} of the calibration's parameters "
                         f"(columns: {', '.join(map(str, design.columns[:5]))}…)")
    columns = [p.key for p in spec.parameters] + [k for k in row_keys(observed) if k in design.columns]
    if len(columns) == len(spec.parameters):
        raise UsageError(f"{path}: malformed design file: no column for any observed row (a design of another "
                         "observed file?)")
    numbers = design[columns].apply(pd.to_numeric, errors="coerce")
    bad = [c for c in columns if numbers[c].isna().any() and design[c].notna().all()]
    if bad:
        raise UsageError(f"{path}: malformed design file: column {bad[0]!r} holds values that are not numbers")
    return design


def get_design(args: argparse.Namespace, spec, observed, settings, end: dt.date, out: Path, report):
    """The surrogate's design: --design FILE, or ``design_runs`` runs now (written to out/design.csv);
    None when the calibration file asks for no surrogate."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.studies.surrogate import read_design, run_design

    if args.design is not None:
        return _checked_design(read_design(args.design), args.design, spec, observed)
    if settings.design_runs <= 0:
        return None
    ex = ExecutorSpec("dask", None, args.scheduler) if args.scheduler else ExecutorSpec("local", args.workers, None)
    report(f"design: {settings.design_runs} runs (Latin hypercube over the priors) to {end} at scale {spec.scale}")
    design = run_design(spec, observed, settings.design_runs, end, seed=spec.seed, executor=ex, report=report)
    out.mkdir(parents=True, exist_ok=True)
    design.to_csv(out / "design.csv", index=False)
    return design
