"""A calibration as one object for Python: ``simulator.calibrate`` and `segur calibrate` both run
``prepare(...).run()`` here and read a ``Calibration`` (``to_df()``, ``summary()``, ``plot()``,
``save(out)``), a thin layer over ``calibration`` (least squares) and ``posterior`` (ABC-SMC).

ABC-SMC needs pyabc, an optional dependency (``pip install -e '.[calibrate]'``): without it,
``prepare(method="abc")`` stops with the one line to type.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.core.errors import UsageError
from simulator.engine.study_result import StudyResult, new_figure

METHODS = ("abc", "lsq")
EXTRA_LINE = "pip install -e '.[calibrate]'"


def has_pyabc() -> bool:
    """Whether pyabc (the ``calibrate`` extra) can be imported, without importing it."""
    import importlib.util
    import sys

    if "pyabc" in sys.modules:
        return sys.modules["pyabc"] is not None
    try:
        return importlib.util.find_spec("pyabc") is not None
    except (ImportError, ValueError):
        return False


def require_pyabc(what: str) -> None:
    """Stop with the one line to type when the ``calibrate`` extra is not installed."""
    if not has_pyabc():
        raise UsageError(f"{what} needs pyabc, an optional dependency; install it with: {EXTRA_LINE}")


def _fmt(v: float, unit: str) -> str:
    if v != v:  # NaN
        return "—"
    if unit.startswith("share"):
        return f"{v:.3f}"
    return f"{v / 1e6:.2f}M" if abs(v) >= 1e5 else f"{v:,.0f}"


def format_fit(tab: pd.DataFrame) -> str:
    """The fit table as plain text: observed, simulated, relative error, weight (or why not matched)."""
    lines = [f"  {'date':<8}{'metric':<32}{'sector':<18}{'observed':>11}{'simulated':>11}{'error':>8}  bound  weight"]
    for _, r in tab.iterrows():
        head = f"  {r['date']:<8}{r['metric'][:31]:<32}{r['sector'][:17]:<18}{_fmt(r['observed'], r['unit']):>11}"
        if r["matched"]:
            lines.append(f"{head}{_fmt(r['simulated'], r['unit']):>11}{r['rel_error']:>+8.1%}  {r['bound']:<6} {r['weight']:g}")
        else:
            lines.append(f"{head}{'':>11}{'':>8}  not matched: {r['why']}")
    return "\n".join(lines)


def format_predictive(pred: pd.DataFrame) -> str:
    """The posterior predictive fit: observed beside the simulated p50 [p5–p95]."""
    lines = [f"  {'date':<8}{'metric':<32}{'sector':<12}{'observed':>10}  {'simulated p50 [p5–p95]':<30}{'error':>8}  bound"]
    for _, r in pred.iterrows():
        band = f"{_fmt(r['p50'], r['unit'])} [{_fmt(r['p5'], r['unit'])}–{_fmt(r['p95'], r['unit'])}]"
        lines.append(f"  {r['date']:<8}{r['metric'][:31]:<32}{r['sector'][:11]:<12}{_fmt(r['observed'], r['unit']):>10}  "
                     f"{band:<30}{r['rel_error_p50']:>+8.1%}  {r['bound']}")
    return "\n".join(lines)


def shown_path(path: str | Path) -> str:
    """A path relative to the working folder when under it (provenance lines carry no home folders)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def design_runs(spec: Any, observed: pd.DataFrame, settings: Any, end: dt.date, out: Path,
                design_file: str | Path | None, workers: int, scheduler: str | None,
                report: Callable[[str], None]) -> pd.DataFrame | None:
    """The surrogate's design: ``design_file``, or ``design_runs`` runs now (written to
    out/design.csv); None when the calibration file asks for no surrogate."""
    # loaded when a calibration runs (start-up time)
    from simulator.engine.executors import ExecutorSpec
    from simulator.studies.surrogate import read_design, run_design

    if design_file is not None:
        return checked_design(read_design(Path(design_file)), Path(design_file), spec, observed)
    if settings.design_runs <= 0:
        return None
    ex = ExecutorSpec("dask", None, scheduler) if scheduler else ExecutorSpec("local", workers, None)
    report(f"design: {settings.design_runs} runs (Latin hypercube over the priors) to {end} at scale {spec.scale}")
    design = run_design(spec, observed, settings.design_runs, end, seed=spec.seed, executor=ex, report=report)
    out.mkdir(parents=True, exist_ok=True)
    design.to_csv(out / "design.csv", index=False)
    return design


def checked_design(design: pd.DataFrame, path: Path, spec: Any, observed: pd.DataFrame) -> pd.DataFrame:
    """A --design file that is a design of this calibration: its parameters' columns, numbers,
    at least one run and one observed row's column — else one line naming the file."""
    # loaded when a calibration is checked (start-up time)
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


@dataclass(repr=False)
class Calibration(StudyResult):
    """A finished calibration. Least squares (``method == "lsq"``): ``to_df()`` is the fit table
    (also parameters, history); ABC-SMC (``"abc"``): the posterior draws (also parameters,
    diagnostics, predictive). ``summary()`` prints as `segur calibrate`; ``plot()``; ``save(out)``."""

    method: str
    spec: Any
    result: dict[str, Any] | None = None  # least squares: start, best, history, seeds
    posterior: Any = None  # ABC-SMC: a simulator.studies.posterior.Posterior
    work: Any = field(default=None)  # ABC-SMC: the temporary folder holding abc.db and design.csv

    @property
    def default_table(self) -> str:  # type: ignore[override]
        return "fit" if self.method == "lsq" else "posterior"

    def tables(self) -> dict[str, pd.DataFrame]:
        if self.method == "lsq":
            # loaded when a calibration is read (start-up time)
            from simulator.studies.calibration import parameters_table

            best = self.result["best"]
            return {"fit": best.table, "parameters": parameters_table(self.spec, best.x), "history": self.result["history"]}
        post = self.posterior
        return {"posterior": post.draws, "parameters": post.summary(), "diagnostics": post.diagnostics,
                "predictive": post.predictive}

    def summary(self) -> str:
        if self.method == "lsq":
            best = self.result["best"]
            return (f"Objective {self.result['start'].objective:.5f} (start) → {best.objective:.5f} (fitted) "
                    f"in {len(self.result['history'])} evaluations\n" + format_fit(best.table))
        # loaded when a calibration is read (start-up time)
        from simulator.studies.posterior import format_posterior

        prov = self.posterior.provenance
        return "\n".join([
            f"ABC-SMC posterior: {prov['simulations']} simulations in {prov['generations']} generations, "
            f"final ε {prov['final_epsilon']:.4f}, {prov['wall_s']:.0f} s on {prov['executor']}",
            format_posterior(self.posterior), "Posterior predictive fit (last population):",
            format_predictive(self.posterior.predictive)])

    def plot(self) -> Any:
        """Least squares: observed points over the fitted runs' curves. ABC-SMC: each observed
        row against the posterior predictive median and p5–p95 (simulated / observed)."""
        if self.method == "lsq":
            # loaded when a figure is asked for (start-up time)
            from simulator.studies.fit_figure import draw_fit

            best = self.result["best"]
            return draw_fit(best.results, best.table, f"{self.spec.path.name}: observed vs simulated")
        pred = self.posterior.predictive
        fig = new_figure(8, 1.2 + 0.28 * len(pred))
        ax = fig.add_subplot()
        y = list(range(len(pred)))[::-1]
        obs = pred["observed"].astype(float)
        mid = pred["p50"] / obs
        ax.errorbar(mid, y, xerr=[mid - pred["p5"] / obs, pred["p95"] / obs - mid], fmt="o", capsize=2)
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_yticks(y, [f"{r.date} {r.metric} {r.sector}" for r in pred.itertuples()], fontsize=7)
        ax.set_xlabel("simulated / observed (posterior predictive p50, p5–p95)")
        return fig

    def save(self, out: str | Path, overwrite: bool = False) -> list[str]:
        """Write the folder `segur calibrate` writes (atomically); the names of its files."""
        # loaded when a calibration is saved (start-up time)
        from simulator.atomic import atomic_folder

        if self.method == "lsq":
            # loaded when a calibration is saved (start-up time)
            from simulator.studies.calibration_output import write_calibration

            write_calibration(self.result, out)
            return ["calibrated.toml", "fit.csv", "fit.png", "parameters.csv", "history.csv"]
        # loaded when a calibration is saved (start-up time)
        from simulator.studies.posterior import write_outputs

        with atomic_folder(Path(out), "calibrate", overwrite) as tmp:  # all or nothing
            files = write_outputs(self.posterior, tmp)
            for name in ("abc.db", "design.csv"):
                if self.work is not None and (Path(self.work.name) / name).exists():
                    shutil.copy2(Path(self.work.name) / name, tmp / name)
                    files.append(name)
        return files


@dataclass
class CalibrationStudy:
    """A checked calibration file, ready to fit: its spec, method, cut-off and observed file."""

    path: Path
    spec: Any
    method: str
    cutoff: dt.date | None
    observed: Path | None

    def run(self, workers: int = 1, scheduler: str | None = None, design: str | Path | None = None,
            report: Callable[[str], None] | None = None) -> Calibration:
        """Fit: least squares in this process, or ABC-SMC on ``workers`` processes / a Dask ``scheduler``."""
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise UsageError(f"--workers: must be at least 1 (got {workers!r})")
        if self.method == "lsq":
            # loaded when a calibration runs (start-up time)
            from simulator.studies.calibration import calibrate

            spec = self.spec
            if self.cutoff is not None:
                spec.end = self.cutoff
            if self.observed is not None:
                spec.observed = self.observed
            return Calibration("lsq", spec, result=calibrate(spec, report=report))
        return self._abc(workers, scheduler, design, report)

    def _abc(self, workers: int, scheduler: str | None, design: str | Path | None,
             report: Callable[[str], None] | None) -> Calibration:
        # loaded when a calibration runs (start-up time)
        from scenarios.observed import load_observed
        from simulator.studies.posterior import PosteriorSettings, restrict, run_abc
        from simulator.studies.posterior_file import git_commit

        full = self.spec
        settings = PosteriorSettings.from_raw(full.posterior, str(full.path))
        observed_path = self.observed or full.observed
        observed = load_observed(observed_path)
        cutoff = self.cutoff or full.end or full.base_data["run"]["end"]
        spec, rows = restrict(full, observed, cutoff)
        work = tempfile.TemporaryDirectory(prefix="segur-abc-")  # the ABC database and design while running
        folder = Path(work.name)
        first = design_runs(full, observed, settings, cutoff, folder, design, workers, scheduler, report or (lambda _l: None))
        post = run_abc(spec, rows, settings, scheduler=scheduler, workers=workers, seed=spec.seed,
                       db_path=folder / "abc.db", report=report, design=first)
        post.provenance = {"calibration": str(self.path), "observed": shown_path(observed_path),
                           "data_cutoff": cutoff.isoformat(), **post.provenance,
                           "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit()}
        return Calibration("abc", spec, posterior=post, work=work)


def prepare(calibration: str | Path, method: str = "abc", cutoff: dt.date | str | None = None,
            observed: str | Path | None = None) -> CalibrationStudy:
    """Check a calibration before it runs: the file, its fit scale, the method (ABC-SMC needs the
    ``calibrate`` extra), the cut-off (a date or ``"YYYY-MM-DD"``) and the observed file."""
    # loaded when a calibration is prepared (start-up time)
    import copy

    from scenarios.schema import size_problem
    from simulator.engine.scenario import validate
    from simulator.studies.calibration import load_spec

    if method not in METHODS:
        raise UsageError(f"--method: one of {', '.join(METHODS)} (got {method!r})")
    if method == "abc":
        require_pyabc("ABC-SMC calibration (--method abc; --method lsq does without)")
    if isinstance(cutoff, str):
        try:
            cutoff = dt.date.fromisoformat(cutoff)
        except ValueError:
            raise UsageError(f"--cutoff: a date YYYY-MM-DD (got {cutoff!r})") from None
    spec = load_spec(calibration)
    problem = size_problem(validate(copy.deepcopy(spec.base_data), spec.scenario), spec.scale)
    if problem:
        raise UsageError(f"{spec.path}: fit.scale: {problem}")
    if cutoff is not None:  # the same rule as the file's fit.end, for either method
        run = spec.base_data.get("run", {})
        if not run["start"] < cutoff <= run["end"]:
            raise UsageError(f"--cutoff {cutoff}: must be after the run start {run['start']} and not after "
                             f"its end {run['end']} (as fit.end in {spec.path})")
    return CalibrationStudy(Path(calibration), spec, method, cutoff, Path(observed) if observed else None)
