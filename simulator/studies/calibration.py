"""Calibration: fit chosen scenario parameters so that runs reproduce the observed figures.

A calibration file (TOML) names the base scenario, the parameters to fit with their bounds,
weights per observed metric and the fit settings (scale, replications, seed, optimiser). The
objective is the weighted mean of squared relative errors over the matched observed rows
(one-sided for lower/upper bounds), each evaluation averaging a few replications run with the
same seeds (common random numbers: the objective is a deterministic function of the
parameters). See ``docs``: scenarios/calibration.toml is the annotated example.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios.loader import load_raw, read_input_file, resolve_path
from scenarios.observed import OBSERVED_CSV, load_observed
from scenarios.schema import Scenario
from simulator.core.errors import ScenarioError, UsageError
from simulator.core.streams import replication_seeds
from simulator.engine.observed_match import TARGET_METRICS, combine, observed_vs_simulated
from simulator.engine.results import Results
from simulator.engine.scenario import validate

METHODS = ("least_squares", "nelder_mead", "differential_evolution")
FIT_KEYS = {"scale", "replications", "seed", "end", "method", "max_evaluations", "step"}
TOP_KEYS = {"scenario", "observed", "description", "fit", "weights", "parameters", "posterior"}
_IV_KEY = re.compile(r"^interventions\[(?P<sel>[^\]]+)\]\.(?P<field>value|factor|days|date)$")


@dataclass
class FitParameter:
    """One fitted parameter: a dotted key into the scenario, its bounds and starting value.

    Dates are fitted as day numbers (bounds are dates); integers are rounded.
    """

    key: str
    low: float
    high: float
    start: float
    kind: str  # "float" | "int" | "date"

    def value(self, x: float) -> Any:
        """The scenario value for the number ``x`` (a date for date parameters)."""
        if self.kind == "date":
            return dt.date.fromordinal(int(round(x)))
        if self.kind == "int":
            return int(round(x))
        return float(x)

    def show(self, x: float) -> str:
        v = self.value(x)
        return v.isoformat() if isinstance(v, dt.date) else f"{v:.6g}"


@dataclass
class CalibrationSpec:
    """A calibration file, read and checked."""

    path: Path
    scenario: Path
    observed: Path
    parameters: list[FitParameter]
    weights: dict[str, float]
    scale: float = 0.01
    replications: int = 3
    seed: int = 1
    end: dt.date | None = None
    method: str = "least_squares"
    max_evaluations: int = 200
    step: float = 0.05
    description: str = ""
    base_data: dict[str, Any] = field(default_factory=dict, repr=False)
    posterior: dict[str, Any] = field(default_factory=dict)  # the [posterior] table (simulator.studies.posterior)

    def weight(self, metric: str, sector: str, date: str | None = None) -> float:
        """Weight of an observed row: ``metric.sector@date`` if given, else ``metric.sector``,
        else ``metric``, else 1; a programme target (``TARGET_METRICS``) is read against the run,
        never fitted: 0."""
        if metric in TARGET_METRICS:
            return 0.0
        if date is not None and f"{metric}.{sector}@{date}" in self.weights:
            return self.weights[f"{metric}.{sector}@{date}"]
        return self.weights.get(f"{metric}.{sector}", self.weights.get(metric, 1.0))


# -- reading the calibration file ----------------------------------------------------------
def _num(where: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UsageError(f"{where}: must be a number (got {v!r})")
    return float(v)


def locate(data: dict[str, Any], key: str) -> tuple[Any, Any]:
    """(container, index) of a dotted key in raw scenario data; KeyError with why if absent."""
    m = _IV_KEY.match(key)
    if m:
        ivs = data.get("interventions", [])
        sel = m["sel"].strip()
        if sel.isdigit():
            hits = [int(sel)] if int(sel) < len(ivs) else []
        else:
            hits = [i for i, iv in enumerate(ivs) if str(iv.get("label", "")).startswith(sel)]
        if len(hits) != 1:
            found = "no" if not hits else f"{len(hits)}"
            raise KeyError(f"{found} intervention matches '{sel}' (index, or the start of one label)")
        iv = ivs[hits[0]]
        if m["field"] not in iv:
            raise KeyError(f"intervention '{sel}' has no '{m['field']}'")
        return iv, m["field"]
    node: Any = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if isinstance(node, list):
        idx = int(last)
        node[idx]  # IndexError if out of range
        return node, idx
    if last not in node:
        raise KeyError(last)
    return node, last


def _get(data: dict[str, Any], key: str) -> Any:
    container, idx = locate(data, key)
    return container[idx]


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    container, idx = locate(data, key)
    container[idx] = value


def _parameter(where: str, key: str, bounds: Any, base: dict[str, Any]) -> FitParameter:
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise UsageError(f"{where}: must be [low, high] (got {bounds!r})")
    try:
        current = _get(base, key)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        why = exc.args[0] if exc.args and isinstance(exc, KeyError) and " " in str(exc.args[0]) else "no such value"
        raise UsageError(f"{where}: not a value of the base scenario ({why}); use a dotted key such as "
                         f"sectors.gp.uptake_q, sectors.gp.seasonal.7 or interventions[<label start>].value") from None
    lo, hi = bounds
    if isinstance(current, dt.date):
        if not (isinstance(lo, dt.date) and isinstance(hi, dt.date)):
            raise UsageError(f"{where}: a date parameter needs date bounds [YYYY-MM-DD, YYYY-MM-DD]")
        kind, low, high, start = "date", lo.toordinal(), hi.toordinal(), current.toordinal()
    elif isinstance(current, bool) or not isinstance(current, (int, float)):
        raise UsageError(f"{where}: only numbers and dates can be fitted (the base value is {current!r})")
    else:
        kind = "int" if isinstance(current, int) else "float"
        low, high, start = _num(f"{where}[0]", lo), _num(f"{where}[1]", hi), float(current)
    if not low < high:
        raise UsageError(f"{where}: low must be below high (got {lo} and {hi})")
    if not low <= start <= high:
        shown = current.isoformat() if isinstance(current, dt.date) else current
        raise UsageError(f"{where}: the base scenario's value {shown} is outside the bounds [{lo}, {hi}]; "
                         f"widen the bounds or change the base")
    return FitParameter(key, low, high, start, kind)


def load_spec(path: str | Path) -> CalibrationSpec:
    """Read and check a calibration file; any problem is one UsageError naming file and key."""
    path = Path(path)
    raw = _read_toml(path)
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise UsageError(f"{path}: {unknown[0]}: unknown key; allowed: {', '.join(sorted(TOP_KEYS))}")
    scen = _base_scenario(path, raw)
    base = load_raw(scen)
    validate(copy.deepcopy(base), Path(scen))  # the base itself must be a valid scenario
    observed = path.parent / raw["observed"] if "observed" in raw else OBSERVED_CSV
    obs = load_observed(observed)

    fit = raw.get("fit", {})
    if not isinstance(fit, dict):
        raise UsageError(f"{path}: fit: must be a table")
    bad = sorted(set(fit) - FIT_KEYS)
    if bad:
        raise UsageError(f"{path}: fit.{bad[0]}: unknown key; allowed: {', '.join(sorted(FIT_KEYS))}")
    spec = CalibrationSpec(path=path, scenario=Path(scen), observed=Path(observed), parameters=[], weights={},
                           description=str(raw.get("description", "")), base_data=base,
                           posterior=raw.get("posterior", {}))
    _read_fit(path, fit, spec)
    _read_weights(path, raw, set(obs["metric"]), spec)
    params = raw.get("parameters", {})
    if not isinstance(params, dict) or not params:
        raise UsageError(f"{path}: parameters: name at least one parameter, e.g. \"sectors.gp.uptake_q\" = [0.001, 0.03]")
    for key, bounds in params.items():
        spec.parameters.append(_parameter(f"{path}: parameters.\"{key}\"", key, bounds, base))
    _check_end(spec)
    _check_bounds(spec)
    return spec


def _read_toml(path: Path) -> dict[str, Any]:
    """The calibration file's TOML (bounded, no FIFO), or one UsageError line."""
    try:
        return tomllib.loads(read_input_file(path, "calibration", UsageError).decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: calibration file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a calibration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def _base_scenario(path: Path, raw: dict[str, Any]) -> Path:
    """The base scenario file the calibration names (relative to it, or shipped)."""
    if "scenario" not in raw or not isinstance(raw["scenario"], str):
        raise UsageError(f"{path}: scenario: is required (the base scenario file, relative to this file)")
    scen = (path.parent / raw["scenario"]) if not Path(raw["scenario"]).is_absolute() else Path(raw["scenario"])
    scen = resolve_path(scen) if scen.exists() else resolve_path(raw["scenario"])
    if not Path(scen).exists():
        raise UsageError(f"{path}: scenario: '{raw['scenario']}' not found next to this file")
    return Path(scen)


def _read_fit(path: Path, fit: dict[str, Any], spec: CalibrationSpec) -> None:
    """The [fit] table's settings into ``spec``, each checked."""
    if "scale" in fit:
        spec.scale = _num(f"{path}: fit.scale", fit["scale"])
        if not 0 < spec.scale <= 1:
            raise UsageError(f"{path}: fit.scale: must be greater than 0 and at most 1 (got {fit['scale']})")
    for key in ("replications", "seed", "max_evaluations"):
        if key in fit:
            v = fit[key]
            least = 0 if key == "seed" else 1
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise UsageError(f"{path}: fit.{key}: must be an integer ≥ {least} (got {v!r})")
            setattr(spec, key, v)
    if "end" in fit:
        if not isinstance(fit["end"], dt.date):
            raise UsageError(f"{path}: fit.end: must be a date YYYY-MM-DD (got {fit['end']!r})")
        spec.end = fit["end"]
    if "method" in fit:
        if fit["method"] not in METHODS:
            raise UsageError(f"{path}: fit.method: must be one of {', '.join(METHODS)} (got {fit['method']!r})")
        spec.method = fit["method"]
    if "step" in fit:
        spec.step = _num(f"{path}: fit.step", fit["step"])
        if not 0 < spec.step < 0.5:
            raise UsageError(f"{path}: fit.step: must be between 0 and 0.5 (share of each range; got {fit['step']})")


def _read_weights(path: Path, raw: dict[str, Any], known: set[str], spec: CalibrationSpec) -> None:
    """The [weights] table (metric of the observed figures = weight ≥ 0) into ``spec``."""
    weights = raw.get("weights", {})
    if not isinstance(weights, dict):
        raise UsageError(f"{path}: weights: must be a table of metric = weight")
    for key, w in weights.items():
        metric = key.split(".")[0]
        if metric not in known:
            raise UsageError(f"{path}: weights.{key}: unknown metric; allowed: {', '.join(sorted(known))}")
        w = _num(f"{path}: weights.{key}", w)
        if w < 0:
            raise UsageError(f"{path}: weights.{key}: must not be negative (got {w})")
        spec.weights[key] = w


# -- evaluating ------------------------------------------------------------------------------
def scenario_data(spec: CalibrationSpec, x: np.ndarray, for_fit: bool = True) -> dict[str, Any]:
    """Raw scenario data with the parameters set to ``x`` (and the fit's end date if any)."""
    data = copy.deepcopy(spec.base_data)
    for p, v in zip(spec.parameters, x, strict=True):
        _set(data, p.key, p.value(v))
    if for_fit:
        data["payload_sample"] = 0  # a fit compares counts: no FHIR payload sample (≈ 10% of a run's time)
    if for_fit and spec.end is not None:
        data["run"]["end"] = spec.end
        data["interventions"] = [iv for iv in data.get("interventions", [])
                                 if not isinstance(iv.get("date"), dt.date) or iv["date"] <= spec.end]
    return data


def build_scenario(spec: CalibrationSpec, x: np.ndarray, for_fit: bool = True) -> Scenario:
    """The validated scenario at parameters ``x``; an invalid combination is a ScenarioError."""
    return validate(scenario_data(spec, x, for_fit), spec.scenario)


@dataclass
class Evaluation:
    """One evaluation of the objective: parameters, fit table, objective, replications."""

    x: np.ndarray
    objective: float
    table: pd.DataFrame
    results: list[Results]
    seconds: float


def fit_table(spec: CalibrationSpec, results: list[Results], observed: pd.DataFrame) -> pd.DataFrame:
    """Observed vs simulated (mean over replications) with each row's weight."""
    tab = combine([observed_vs_simulated(r, observed) for r in results], how="mean")
    tab.insert(tab.columns.get_loc("matched") + 1, "weight",
               [spec.weight(m, s, str(d)) if ok else 0.0
                for m, s, d, ok in zip(tab["metric"], tab["sector"], tab["date"], tab["matched"], strict=True)])
    return tab


def residuals(tab: pd.DataFrame) -> np.ndarray:
    """Weighted residuals r with objective = Σ r² (weighted mean of squared errors)."""
    w = tab["weight"].to_numpy(dtype=float)
    e = np.nan_to_num(tab["error"].to_numpy(dtype=float), nan=0.0)
    total = w.sum()
    return np.sqrt(w / total) * e if total > 0 else np.zeros_like(e)


class Objective:
    """The objective as a function of normalised parameters u ∈ [0, 1]^k, with a cache and a
    history of every evaluation (the optimisers call it many times with the same seeds)."""

    def __init__(self, spec: CalibrationSpec, report: Callable[[str], None] | None = None):
        self.spec = spec
        self.report = report
        self.observed = load_observed(spec.observed)
        self.seeds = replication_seeds(spec.seed, spec.replications)
        self.lo = np.array([p.low for p in spec.parameters])
        self.span = np.array([p.high - p.low for p in spec.parameters])
        self.history: list[dict[str, Any]] = []
        self.best: Evaluation | None = None
        self._cache: dict[tuple, Evaluation] = {}

    def x_of(self, u: np.ndarray) -> np.ndarray:
        return self.lo + np.clip(u, 0.0, 1.0) * self.span

    def u_of(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.lo) / self.span

    def evaluate(self, x: np.ndarray, keep: bool = False) -> Evaluation:
        """Run the replications at parameters ``x`` and compare with the observed rows."""
        # the engine loads when the fit runs, not when a spec is checked (start-up time)
        from simulator.engine import Simulation

        key = tuple(np.round(x, 12))
        if key in self._cache and not keep:
            return self._cache[key]
        repeat = key in self._cache  # a re-run only to keep the results (for figures): not recorded
        t0 = time.perf_counter()
        sc = build_scenario(self.spec, x)
        runs = [Simulation(sc, seed=s, scale=self.spec.scale).run() for s in self.seeds]
        tab = fit_table(self.spec, runs, self.observed)
        obj = float(np.sum(residuals(tab) ** 2))
        ev = Evaluation(np.array(x, dtype=float), obj, tab, runs if keep else [], time.perf_counter() - t0)
        if repeat:
            return ev
        self._cache[key] = Evaluation(ev.x, obj, tab, [], ev.seconds)
        self.history.append({"evaluation": len(self.history) + 1, "objective": obj, "seconds": ev.seconds,
                             **{p.key: p.show(v) for p, v in zip(self.spec.parameters, x, strict=True)}})
        if self.best is None or obj < self.best.objective:
            self.best = ev
        if self.report:
            self.report(f"evaluation {len(self.history):>4}  objective {obj:.5f}  best {self.best.objective:.5f}  ({ev.seconds:.1f} s)")
        return ev

    def residuals_u(self, u: np.ndarray) -> np.ndarray:
        return residuals(self.evaluate(self.x_of(u)).table)

    def value_u(self, u: np.ndarray) -> float:
        return self.evaluate(self.x_of(u)).objective


class _Budget(Exception):
    """Raised inside the optimiser when the evaluation budget is spent."""


def calibrate(spec: CalibrationSpec, report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Minimise the objective from the base scenario's values; returns start, best, history.

    ``least_squares`` (scipy's trust-region reflective, bounded) uses the residual structure:
    a finite-difference Jacobian per iteration, steps of ``step`` × each range so that the
    discreteness of a stochastic run (common random numbers) does not stall it.
    ``nelder_mead`` (bounded simplex) and ``differential_evolution`` (seeded, global, costly)
    minimise the objective value directly. Every method stops at ``max_evaluations``.
    """
    from scipy import optimize

    obj = Objective(spec, report)
    x0 = np.array([p.start for p in spec.parameters])
    u0 = obj.u_of(x0)
    start = obj.evaluate(x0)
    budget = spec.max_evaluations

    def guarded(fn):
        def inner(u):
            if len(obj.history) >= budget:
                raise _Budget
            return fn(np.asarray(u, dtype=float))
        return inner

    k = len(spec.parameters)
    try:
        if spec.method == "least_squares":
            optimize.least_squares(guarded(obj.residuals_u), u0, bounds=(np.zeros(k), np.ones(k)),
                                   method="trf", diff_step=spec.step, x_scale=1.0,
                                   max_nfev=max(1, budget), xtol=1e-3, ftol=1e-4)
        elif spec.method == "nelder_mead":
            optimize.minimize(guarded(obj.value_u), u0, method="Nelder-Mead", bounds=[(0, 1)] * k,
                              options={"maxfev": budget, "xatol": 1e-3, "fatol": 1e-5,
                                       "initial_simplex": _simplex(u0, 0.1)})
        else:
            optimize.differential_evolution(guarded(obj.value_u), [(0, 1)] * k, x0=u0, seed=spec.seed,
                                            maxiter=max(1, budget // (15 * k)), polish=False, tol=1e-4)
    except _Budget:
        pass
    best = obj.best
    assert best is not None
    final = obj.evaluate(best.x, keep=True)
    return {"spec": spec, "start": start, "best": final, "history": pd.DataFrame(obj.history),
            "seeds": obj.seeds}


def _simplex(u0: np.ndarray, size: float) -> np.ndarray:
    """A starting simplex around u0 inside the unit box (each vertex moves one coordinate)."""
    pts = [u0]
    for i in range(u0.size):
        v = u0.copy()
        v[i] = v[i] + size if v[i] + size <= 1 else v[i] - size
        pts.append(v)
    return np.array(pts)


def parameters_table(spec: CalibrationSpec, best_x: np.ndarray) -> pd.DataFrame:
    """Each fitted parameter: key, bounds, start and fitted values (as in the scenario)."""
    rows = []
    for p, x in zip(spec.parameters, best_x, strict=True):
        at_bound = math.isclose(x, p.low, abs_tol=1e-9 * max(1, abs(p.low))) or math.isclose(x, p.high, abs_tol=1e-9 * max(1, abs(p.high)))
        rows.append({"key": p.key, "low": p.show(p.low), "high": p.show(p.high), "start": p.show(p.start),
                     "fitted": p.show(x), "at_bound": at_bound})
    return pd.DataFrame(rows)


def _check_bounds(spec: CalibrationSpec) -> None:
    """Each parameter at its low and at its high bound (others at start) must give a valid
    scenario, so that the optimiser never steps into a value the schema refuses."""
    x0 = np.array([p.start for p in spec.parameters])
    for i, p in enumerate(spec.parameters):
        for b in (p.low, p.high):
            x = x0.copy()
            x[i] = b
            try:
                build_scenario(spec, x)
            except ScenarioError as exc:
                msg = str(exc).split(": ", 1)[-1]
                raise UsageError(f"{spec.path}: parameters.\"{p.key}\": the bound {p.show(b)} is not allowed ({msg})") from None


def _check_end(spec: CalibrationSpec) -> None:
    """The fit's end must be inside the base run."""
    run = spec.base_data.get("run", {})
    if spec.end is not None and not (run["start"] < spec.end <= run["end"]):
        raise UsageError(f"{spec.path}: fit.end: {spec.end} must be after the run start {run['start']} "
                         f"and not after its end {run['end']}")


__all__ = ["CalibrationSpec", "FitParameter", "Objective", "calibrate", "load_spec", "build_scenario",
           "scenario_data", "fit_table", "residuals", "parameters_table", "locate"]
