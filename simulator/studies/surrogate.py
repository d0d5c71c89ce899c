"""A design of simulations and the surrogate ABC-SMC samples instead of the simulator.

Why: one run to May 2025 costs 10–20 s of a shared core, and ABC-SMC needs hundreds of
particles. The design (a Latin hypercube over the priors, ``scipy.stats.qmc``, one run per
point with its own seed, every observed row recorded) is run once and serves every cut-off:
a run to May 2025 holds the rows of any earlier cut-off. Per observed row, the surrogate is a
log-linear regression on the normalised parameters; its residual spread (seed noise and
misfit together) is drawn as noise, so the surrogate is a stochastic model like the simulator.
``r2`` and ``resid_sd`` per row are reported with the posterior.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.core.streams import replication_seeds
from simulator.engine.executors import open_executor, run_tasks
from simulator.studies.calibration import CalibrationSpec, build_scenario, fit_table

ROW_KEY = "{date}|{metric}|{sector}"


def row_keys(observed: pd.DataFrame) -> list[str]:
    """One key per observed row (date|metric|sector, numbered when repeated)."""
    seen: dict[str, int] = {}
    out = []
    for d, m, s in zip(observed["date"], observed["metric"], observed["sector"], strict=True):
        k = ROW_KEY.format(date=d, metric=m, sector=s)
        seen[k] = seen.get(k, 0) + 1
        out.append(k if seen[k] == 1 else f"{k}#{seen[k]}")
    return out


def design_one(scenario: Any, seed: int, observed: pd.DataFrame, weights_spec: CalibrationSpec,
               attempt: int = 1) -> np.ndarray:
    """Worker task: one design run; the simulated value of every observed row (NaN: unmatched)."""
    # the engine loads when the runs start, not when this module is imported (start-up time)
    from simulator.engine import Simulation

    res = Simulation(scenario, seed=seed, scale=weights_spec.scale).run()
    return fit_table(weights_spec, [res], observed)["simulated"].to_numpy(dtype=float)


def run_design(spec: CalibrationSpec, observed: pd.DataFrame, n: int, end: dt.date, seed: int = 1,
               executor: Any = "local", report: Callable[[str], None] | None = None) -> pd.DataFrame:
    """``n`` Latin-hypercube points over the parameter bounds, one run each to ``end``.

    Returns one row per completed run: the parameters (scenario units, dates as ordinals),
    ``seed``, and one column per observed row (``row_keys``).
    """
    import copy

    from scipy.stats import qmc

    lo = np.array([p.low for p in spec.parameters])
    hi = np.array([p.high for p in spec.parameters])
    u = qmc.LatinHypercube(d=len(lo), seed=seed).random(n)
    xs = lo + u * (hi - lo)
    run_spec = copy.copy(spec)
    run_spec.end = end
    seeds = replication_seeds(seed + 7919, n)
    scenarios = [build_scenario(run_spec, x) for x in xs]
    keys = row_keys(observed)
    values: dict[int, np.ndarray] = {}
    with open_executor(executor, max_tasks=n) as pool:
        tasks = ((i, (scenarios[i], seeds[i], observed, spec)) for i in range(n))
        for k, oc in enumerate(run_tasks(pool, design_one, tasks), 1):
            if oc.ok:
                values[oc.key] = oc.value
            elif report:
                report(f"design run {oc.key + 1} failed: {oc.error}")
            if report:
                report(f"design run {k}/{n} done")
    if len(values) < max(4, len(lo) + 2):
        raise UsageError(f"only {len(values)} of {n} design runs completed; a surrogate of {len(lo)} parameters "
                         f"needs at least {max(4, len(lo) + 2)} (raise design_runs)")
    rows = []
    for i in sorted(values):
        rec = {p.key: float(v) for p, v in zip(spec.parameters, xs[i], strict=True)}
        rec["seed"] = int(seeds[i])
        rec.update(dict(zip(keys, values[i], strict=True)))
        rows.append(rec)
    return pd.DataFrame(rows)


@dataclass
class Surrogate:
    """Per observed row: log(value) ≈ β·[1, u] with residual sd σ (u = parameters scaled to [0, 1])."""

    keys: list[str]
    lo: np.ndarray
    span: np.ndarray
    coef: np.ndarray  # [features, rows]
    sd: np.ndarray  # [rows]
    r2: np.ndarray  # [rows]
    names: list[str]  # pyabc parameter names, in order

    def predict(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        u = (np.asarray(x, dtype=float) - self.lo) / self.span
        z = np.concatenate([[1.0], u]) @ self.coef
        if rng is not None:
            z = z + rng.standard_normal(z.shape) * self.sd
        return np.exp(z)

    def __call__(self, par: dict[str, float]) -> dict[str, float]:
        y = self.predict(np.array([par[n] for n in self.names]), np.random.default_rng(np.random.randint(0, 2**31 - 1)))
        return dict(zip(self.keys, y.tolist(), strict=True))

    def quality(self) -> pd.DataFrame:
        return pd.DataFrame({"row": self.keys, "r2": self.r2, "resid_sd_log": self.sd})


def fit_surrogate(design: pd.DataFrame, spec: CalibrationSpec, keys: list[str], names: list[str]) -> Surrogate:
    """Least squares of log(value) on [1, u] per row of ``keys`` (rows with a non-positive value in
    any design run are not emulated: a UsageError names them)."""
    missing = [p.key for p in spec.parameters if p.key not in design.columns]
    if missing:
        raise UsageError(f"design: no column for the parameter {missing[0]} (a design of another calibration file?)")
    absent = [k for k in keys if k not in design.columns]
    if absent:
        raise UsageError(f"design: no column for the observed row {absent[0]} (a design of another observed file?)")
    lo = np.array([p.low for p in spec.parameters])
    span = np.array([p.high - p.low for p in spec.parameters])
    u = (design[[p.key for p in spec.parameters]].to_numpy(dtype=float) - lo) / span
    X = np.column_stack([np.ones(len(u)), u])
    Y = design[keys].to_numpy(dtype=float)
    bad = [k for j, k in enumerate(keys) if not (np.isfinite(Y[:, j]).all() and (Y[:, j] > 0).all())]
    if bad:
        raise UsageError(f"design: the row {bad[0]} is not positive in every run; it cannot be emulated on a log scale")
    Z = np.log(Y)
    coef, *_ = np.linalg.lstsq(X, Z, rcond=None)
    resid = Z - X @ coef
    dof = max(1, len(u) - X.shape[1])
    sd = np.sqrt((resid ** 2).sum(axis=0) / dof)
    tot = ((Z - Z.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(tot > 0, 1 - (resid ** 2).sum(axis=0) / np.where(tot > 0, tot, 1), math.nan)
    return Surrogate(list(keys), lo, span, coef, sd, r2, names)


def read_design(path: str | Path) -> pd.DataFrame:
    """A design written by ``segur calibrate --design-runs N`` (design.csv)."""
    path = Path(path)
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: design file not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UsageError(f"{path}: not a design CSV ({exc})") from None


__all__ = ["run_design", "fit_surrogate", "read_design", "Surrogate", "row_keys"]
