"""Structural discrepancy (Kennedy & O'Hagan 2001): what the model cannot explain, carried forward.

The model's national document volumes are multiplied, per sector, by exp(δ(t)), δ a log-normal
random walk that starts at the data cut-off: δ(t) = 0 for the months at or before it (they are
observed: the calibration fitted them), then δ(t) = level_sd·z₀ + drift_sd·(z₁ + … + z_h) in the
h-th month after it (z independent standard normals, one path per replication). ``level_sd`` and ``drift_sd`` are
estimated from the posterior-predictive residuals r = log(observed / predictive median) of the
point volume rows the calibration fitted: level_sd = √mean(r²); drift_sd from the pairs of
residuals of the same group (sector, or "all"), (rᵢ − rⱼ)² ≈ 2·a + drift_sd²·|tᵢ − tⱼ|
(non-negative least squares). Pairs never cross groups: they are differences of sector-demeaned
residuals, so a sector's constant offset (biology above the observed figures, hospital below) goes
to the level term and not to the NNLS constant, where it would hide the drift. A sector with fewer
than ``MIN_ROWS`` rows takes the pooled estimate. The median is kept
(exp(δ) has median 1); the band widens with the horizon.

It is a post-processing of the reported national volumes (every channel and outcome of a sector
in a month scaled alike, so shares and the sum over sectors stay consistent), never inside the
per-document engine: the simulated documents stay conserved.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenarios.loader import resolve_path
from simulator.core.errors import UsageError
from simulator.engine.commented_csv import read_commented_csv

VOLUME_METRICS = ("documents_per_month", "documents_annual_rate", "documents_per_year", "documents_last_12_months")
MIN_ROWS = 3
SUFFIX = ".discrepancy.csv"
COLUMNS = ["group", "rows", "level_sd", "drift_sd", "mean_log_residual", "median_abs_error", "estimated_from"]


def month_index(date: str, metric: str = "") -> int:
    """Month index of a row's level (a year's middle; a 12-month window's middle)."""
    if len(date) == 4:
        return int(date) * 12 + 6
    m = int(date[:4]) * 12 + int(date[5:7]) - 1
    return m - 6 if metric == "documents_last_12_months" else m


def _drift(t: np.ndarray, r: np.ndarray, group: np.ndarray | None = None) -> float:
    """drift_sd from the pairs of residuals of the same ``group`` (one group when None):
    (rᵢ − rⱼ)² ≈ c + drift²·|Δt| (c, drift² ≥ 0). Within a group the pair's difference is that of
    the group-demeaned residuals: the groups' offsets are left out of the drift."""
    from scipy.optimize import nnls

    i, j = np.triu_indices(len(r), 1)
    dt_ = np.abs(t[i] - t[j]).astype(float)
    ok = dt_ > 0
    if group is not None:
        ok &= group[i] == group[j]
    if ok.sum() < 2:
        return math.nan
    a = np.column_stack([np.ones(ok.sum()), dt_[ok]])
    coef, _ = nnls(a, (r[i] - r[j])[ok] ** 2)
    return float(math.sqrt(coef[1]))


def _median_abs_error(r: np.ndarray) -> float:
    """Median of |model median ÷ observed − 1| over rows of log residuals r = log(observed ÷ model median)."""
    return float(np.median(np.abs(np.exp(-r) - 1))) if len(r) else math.nan


def estimate(predictive: pd.DataFrame, groups: list[str] | None = None) -> pd.DataFrame:
    """One row per group (sector, and "all"): level_sd, drift_sd (per month), the residuals'
    mean and the median absolute error of the model's median (how far it was from the observed
    figures in sample), from the point volume rows of a posterior-predictive table (observed, p50)."""
    df = predictive[predictive["metric"].isin(VOLUME_METRICS) & (predictive["bound"] == "point")]
    df = df[(df["observed"] > 0) & (df["p50"] > 0)]
    r_all = np.log(df["observed"].to_numpy(float) / df["p50"].to_numpy(float))
    t_all = np.array([month_index(d, m) for d, m in zip(df["date"], df["metric"], strict=True)])
    if len(r_all) < 2:
        raise UsageError("the posterior predictive has fewer than 2 point volume rows: no discrepancy can be estimated")
    g_all = df["sector"].astype(str).to_numpy()
    pooled = {"level_sd": float(np.sqrt(np.mean(r_all ** 2))), "drift_sd": _drift(t_all, r_all, g_all)}
    if pooled["drift_sd"] != pooled["drift_sd"]:
        pooled["drift_sd"] = 0.0
    sectors = sorted(set(df["sector"])) if groups is None else groups
    rows = [{"group": "pooled", "rows": len(r_all), **pooled, "mean_log_residual": float(np.mean(r_all)),
             "median_abs_error": _median_abs_error(r_all), "estimated_from": "all point volume rows (drift: pairs within a sector)"}]
    for g in sectors:
        sel = (df["sector"] == g).to_numpy()
        r, t = r_all[sel], t_all[sel]
        if len(r) >= MIN_ROWS:
            d = _drift(t, r)
            rec = {"level_sd": float(np.sqrt(np.mean(r ** 2))), "drift_sd": d if d == d else pooled["drift_sd"],
                   "mean_log_residual": float(np.mean(r)), "estimated_from": f"{len(r)} rows of the group"}
        else:
            rec = {**pooled, "mean_log_residual": float(np.mean(r)) if len(r) else math.nan,
                   "estimated_from": f"pooled ({len(r)} rows of the group < {MIN_ROWS})"}
        rows.append({"group": g, "rows": int(len(r)), **rec, "median_abs_error": _median_abs_error(r)})
    return pd.DataFrame(rows, columns=COLUMNS)


def sd_for(table: pd.DataFrame, group: str) -> tuple[float, float]:
    """(level_sd, drift_sd) of a group, the pooled one when the group is not in the table."""
    hit = table[table["group"] == group]
    if hit.empty:
        hit = table[table["group"] == "pooled"]
    return float(hit["level_sd"].iloc[0]), float(hit["drift_sd"].iloc[0])


def paths(table: pd.DataFrame, groups: list[str], months: list[str], cutoff: dt.date, n: int,
          seed: int) -> np.ndarray:
    """log-discrepancy δ [replication, month, group]: zero at and before the cut-off (those months
    are observed), then level_sd·z₀ plus a random walk with drift_sd a month from the first month
    after it (seeded: replication i draws the same path whatever n)."""
    cut = cutoff.year * 12 + cutoff.month - 1
    h = np.array([max(0, int(m[:4]) * 12 + int(m[5:7]) - 1 - cut) for m in months])
    out = np.zeros((n, len(months), len(groups)))
    after = h > 0
    sds = [sd_for(table, name) for name in groups]  # once per group, not per path (a table look-up each)
    for i in range(n):
        rng = np.random.default_rng([seed, 7717, i])
        for g, (level, drift) in enumerate(sds):
            z0 = rng.standard_normal()
            steps = rng.standard_normal(int(h.max()) if len(h) else 0)
            walk = np.concatenate([[0.0], np.cumsum(steps)]) * drift
            out[i, :, g] = np.where(after, level * z0 + walk[h], 0.0)
    return out


def variance_at(table: pd.DataFrame, group: str, horizon_months: int) -> float:
    """Var(δ) at a horizon (months after the cut-off): 0 at or before it, else level_sd² + horizon·drift_sd²."""
    if horizon_months <= 0:
        return 0.0
    level, drift = sd_for(table, group)
    return level ** 2 + horizon_months * drift ** 2


def decompose(log_values: np.ndarray, draw_of: np.ndarray, discrepancy_var: float) -> dict[str, float]:
    """Shares of the variance of log(value) that are parameter, seed and discrepancy. Seed: the
    mean within-draw variance (replications that share a draw); parameter: the rest of the
    model's variance; discrepancy: Var(δ) (independent of both)."""
    x = np.asarray(log_values, dtype=float)
    d = np.asarray(draw_of)
    total_model = float(np.var(x, ddof=1)) if len(x) > 1 else 0.0
    within = [np.var(x[d == k], ddof=1) for k in np.unique(d) if (d == k).sum() > 1]
    seed = float(np.mean(within)) if within else math.nan
    param = max(0.0, total_model - seed) if seed == seed else math.nan
    total = total_model + discrepancy_var
    if total <= 0:
        return {"parameter": math.nan, "seed": math.nan, "discrepancy": math.nan}
    return {"parameter": param / total if param == param else math.nan,
            "seed": min(seed, total_model) / total if seed == seed else math.nan,
            "discrepancy": discrepancy_var / total}


def target_monthly_with(counts: np.ndarray, dmp: np.ndarray, factors: np.ndarray, sector_index: list[int]) -> np.ndarray:
    """A target's monthly counts [rep, month] with the discrepancy: each month multiplied by the
    mean of its sectors' factors, weighted by their accepted DMP documents that month (``dmp``
    [rep, month, sector], ``factors`` [rep, month, sector])."""
    if not sector_index:
        return counts
    w = dmp[:, :, sector_index].astype(float)
    f = factors[:, :, sector_index]
    tot = w.sum(axis=2)
    mixed = np.where(tot > 0, (w * f).sum(axis=2) / np.where(tot > 0, tot, 1.0), f.mean(axis=2))
    return counts * mixed


def model_and_discrepancy(model: np.ndarray, with_discrepancy: np.ndarray) -> dict[str, float]:
    """Shares of the variance of log(value) that the model (parameters and seeds) and the
    discrepancy hold, from the same replications without and with it."""
    vm = float(np.var(np.log(model), ddof=1)) if len(model) > 1 else 0.0
    vt = float(np.var(np.log(with_discrepancy), ddof=1)) if len(model) > 1 else 0.0
    if vt <= 0:
        return {"model": math.nan, "discrepancy": math.nan}
    share = min(1.0, vm / vt)
    return {"model": share, "discrepancy": 1.0 - share}


def find_discrepancy(scenario: str | Path, provenance: dict[str, Any] | None) -> dict[str, Any] | None:
    """The discrepancy a run with posterior draws carries: ``<scenario>.discrepancy.csv`` beside
    the scenario, from the data cut-off of the posterior; None when there is none."""
    file = beside(resolve_path(scenario))
    if not file.exists() or provenance is None:
        return None
    return load(file, provenance.get("data_cutoff", ""))


def for_posterior(posterior: str | Path) -> dict[str, Any] | None:
    """The discrepancy that goes with a posterior file: ``<name>.discrepancy.csv`` beside
    ``<name>.posterior.csv`` (``discrepancy.csv`` beside a calibration's ``posterior.csv``),
    from the posterior's data cut-off when its own file names none; None when there is none."""
    posterior = Path(posterior)
    name = posterior.name
    stem = name[: -len(".posterior.csv")] if name.endswith(".posterior.csv") else ""
    file = posterior.with_name(stem + SUFFIX if stem else "discrepancy.csv")
    if not file.exists():
        return None
    cut = read_commented_csv(posterior, "posterior")[1].get("data_cutoff", "") if posterior.exists() else ""
    return load(file, cut)


def inherited(scenario: str | Path, depth: int = 0) -> Path | None:
    """The discrepancy file beside a scenario, or beside the nearest scenario its ``extends`` chain
    reaches (the page's what-if scenarios all extend a calibrated one); None when none has one."""
    import tomllib

    path = resolve_path(scenario)
    if beside(path).exists():
        return beside(path)
    try:
        parent = tomllib.loads(path.read_text(encoding="utf-8")).get("extends")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(parent, str) or depth >= 10:
        return None
    return inherited(path.parent / parent, depth + 1)


def load(file: Path, cutoff: str = "") -> dict[str, Any]:
    """{table, cutoff, file} of a discrepancy file; its own ``# data_cutoff:`` line wins over ``cutoff``."""
    table, prov = read_discrepancy(file)
    cut = prov.get("data_cutoff") or cutoff
    try:
        date = dt.date.fromisoformat(cut)
    except ValueError:
        raise UsageError(f"{file}: no valid '# data_cutoff:' line (got {cut!r})") from None
    return {"table": table, "cutoff": date, "file": file.name}


def factors_for(discrepancy: dict[str, Any], sectors: list[str], months: list[str], n: int, seed: int) -> np.ndarray:
    """exp(δ) [replication, month, sector] of ``n`` replications of base seed ``seed`` (as
    ``segur run --replications`` draws them: replication i the same path whatever n)."""
    return np.exp(paths(discrepancy["table"], sectors, months, discrepancy["cutoff"], n, seed))


def write_discrepancy(path: str | Path, table: pd.DataFrame, provenance: dict[str, Any]) -> Path:
    """The table with ``# key: value`` provenance lines (as the posterior file), written atomically."""
    path = Path(path)
    head = "".join(f"# {k}: {v}\n" for k, v in provenance.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(head + table.to_csv(index=False, float_format="%.6g"), encoding="utf-8")
    tmp.replace(path)
    return path


def read_discrepancy(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """(table, provenance); a missing or malformed file is one UsageError naming it."""
    path = Path(path)
    df, prov = read_commented_csv(path, "discrepancy")
    missing = [c for c in ("group", "level_sd", "drift_sd") if c not in df.columns]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    if (df[["level_sd", "drift_sd"]] < 0).any().any() or df[["level_sd", "drift_sd"]].isna().any().any():
        raise UsageError(f"{path}: level_sd and drift_sd must be numbers ≥ 0")
    return df, prov


def beside(scenario_path: str | Path) -> Path:
    """``baseline.toml`` → ``baseline.discrepancy.csv``."""
    p = Path(scenario_path)
    return p.with_name(p.stem + SUFFIX)


__all__ = ["estimate", "paths", "for_posterior", "load", "factors_for", "inherited", "target_monthly_with", "model_and_discrepancy", "find_discrepancy", "variance_at", "decompose", "write_discrepancy", "read_discrepancy", "beside",
           "sd_for", "month_index", "VOLUME_METRICS"]
