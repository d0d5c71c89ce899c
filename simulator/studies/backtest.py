"""Backtest: calibrate on the rows up to a cut-off, project with the posterior, score later rows.

Each later row is scored by the relative error of the projection's median (one-sided for a
lower/upper bound: a floor is missed only from below), whether the p5–p95 band contains it
(a lower bound is contained when p95 reaches it, an upper bound when p5 is under it), and
the same error for two naive forecasts built from the rows up to the cut-off: the last level
carried forward, and the last year's growth carried forward (``naive_forecast``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.core.streams import replication_seeds
from simulator.engine.executors import open_executor, run_tasks
from simulator.engine.observed_match import (
    AVERAGED_ROWS,
    EXCLUDED_ROWS,
    METRIC_WHY,
    QUANTITY,
    TARGET_METRICS,
    UNMATCHED_WHY,
    YEAR_MEAN,
    observed_vs_simulated,
    one_sided,
    why_unmatched,
)
from simulator.engine.scenario import validate
from simulator.studies.calibration import scenario_data
from simulator.studies.posterior import row_end
from simulator.studies.posterior_file import apply_draw

# Volume metrics and the factor that turns a value into documents a month (levels of one curve).
VOLUME = {"documents_per_month": 1.0, "documents_annual_rate": 1 / 12, "documents_per_year": 1 / 12,
          "documents_last_12_months": 1 / 12}
GOALS = {"volume_error": 0.15, "naive_ratio": 0.5, "coverage": 0.80}
VOLUME_GOAL_METRICS = ("documents_per_year", "documents_per_month")


def known_metrics() -> set[str]:
    """Every metric the project knows (matched, or listed as unmatched with a reason)."""
    return (set(QUANTITY) | set(METRIC_WHY) | {m for m, _ in UNMATCHED_WHY}
            | {m for _, m, _ in EXCLUDED_ROWS})


def check_observed(observed: pd.DataFrame, path: Path) -> None:
    """An unknown metric is a UsageError naming the file, the line and the allowed metrics."""
    known = known_metrics()
    for i, metric in enumerate(observed["metric"], start=2):
        if metric not in known:
            raise UsageError(f"{path}: line {i}: metric '{metric}' is unknown; known metrics: {', '.join(sorted(known))}")


def split(observed: pd.DataFrame, cutoff: dt.date, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows dated up to the cut-off, later rows); a cut-off with nothing after it is a UsageError.
    Programme targets (``TARGET_METRICS``) are neither: they are not observations."""
    observed = observed[~observed["metric"].isin(TARGET_METRICS)]
    ends = [row_end(d) for d in observed["date"]]
    before = observed[[e <= cutoff for e in ends]].reset_index(drop=True)
    after = observed[[e > cutoff for e in ends]].reset_index(drop=True)
    last = max(observed["date"], key=row_end)
    if after.empty:
        raise UsageError(f"--cutoff {cutoff}: no row of {path} is dated after it (last row {last}); nothing to score")
    if before.empty:
        raise UsageError(f"--cutoff {cutoff}: no row of {path} is dated on or before it; nothing to calibrate on")
    return before, after


# -- naive forecasts --------------------------------------------------------------------------
def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _centre(date: str, metric: str) -> int:
    """Month index a row's level belongs to (a year's middle, a 12-month window's middle)."""
    if len(date) == 4:
        return int(date) * 12 + 6
    m = _month_index(date)
    return m - 6 if metric == "documents_last_12_months" else m


def _history(before: pd.DataFrame, metric: str, sector: str) -> list[tuple[int, float]]:
    """(month index, level) points of one curve from the rows up to the cut-off; points before bounds."""
    if metric in VOLUME or metric == "documents_growth_last_12_months":
        rows = before[before["metric"].isin(list(VOLUME)) & (before["sector"] == sector)]
        pts = [(_centre(r["date"], r["metric"]), r["value"] * VOLUME[r["metric"]], r["bound"]) for _, r in rows.iterrows()]
    else:
        rows = before[(before["metric"] == metric) & (before["sector"] == sector) & (before["date"].str.len() == 7)]
        pts = [(_month_index(r["date"]), r["value"], r["bound"]) for _, r in rows.iterrows()]
    points = [p for p in pts if p[2] == "point"] or pts
    return sorted((m, v) for m, v, _ in points)


def naive_forecast(before: pd.DataFrame, row: pd.Series, kind: str) -> float:
    """The naive forecast of a later row: ``level`` (last level carried forward), ``growth``
    (last level × the growth over the year to it, compounded monthly; the growth is taken from
    the earliest level 3–12 months before the last) or ``trend`` (the least-squares line through
    the levels of the last 12 months, extended). NaN when the rows up to the cut-off do not
    define it."""
    metric, sector = row["metric"], row["sector"]
    usable = [why_unmatched(d, m, s) is None for d, m, s in zip(before["date"], before["metric"], before["sector"], strict=True)]
    pts = _history(before[usable], metric, sector)  # rows set aside (contradictions) are not levels
    model = _naive_model(pts, kind) if pts else None
    if model is None:
        return math.nan
    level, g = model
    return _forecast_row(row, level, g, kind)


def _naive_model(pts: list[tuple[int, float]], kind: str) -> tuple[Callable[[int], float], float] | None:
    """The naive forecast's monthly level (month index → value) and monthly growth factor, from
    the levels up to the cut-off (None when they do not define it)."""
    last_m, last_v = pts[-1]
    g = 1.0
    slope = 0.0
    if kind == "growth":
        window = [(m, v) for m, v in pts if 3 <= last_m - m <= 12 and v > 0]
        if not window:
            return None
        m0, v0 = window[0]
        g = (last_v / v0) ** (1.0 / (last_m - m0))
    elif kind == "trend":  # least-squares line through the levels of the last 12 months
        window = [(m, v) for m, v in pts if last_m - m <= 12]
        ms = np.array([m for m, _ in window], dtype=float)
        if len(window) < 2 or np.ptp(ms) == 0:
            return None
        slope, icpt = np.polyfit(ms, np.array([v for _, v in window], dtype=float), 1)
        last_v = float(icpt + slope * last_m)

    def level(m: int) -> float:
        if kind == "trend":
            return last_v + slope * (m - last_m)
        return last_v * g ** (m - last_m)

    return level, g


def _forecast_row(row: pd.Series, level: Callable[[int], float], g: float, kind: str) -> float:
    """The forecast of an observed row (its metric over its date: a year, a month, an average)."""
    metric, sector, date = row["metric"], row["sector"], row["date"]
    if metric == "documents_per_year" and len(date) == 4:
        return sum(level(int(date) * 12 + k) for k in range(12))
    if metric in YEAR_MEAN and len(date) == 4:  # a year's monthly average
        return sum(level(int(date) * 12 + k) for k in range(12)) / 12
    if len(date) != 7:
        return math.nan
    m = _month_index(date)
    k = AVERAGED_ROWS.get((date, metric, sector))
    if k:  # an average over the k months to the date
        return sum(level(m - j) for j in range(k)) / k
    if metric == "documents_last_12_months":
        return sum(level(m - k) for k in range(12))
    if metric == "documents_annual_rate":
        return 12 * level(m)
    if metric == "documents_growth_last_12_months":
        if kind == "trend":
            prev = sum(level(m - 12 - k) for k in range(12))
            return (sum(level(m - k) for k in range(12)) / prev - 1.0) * 100.0 if prev > 0 else math.nan
        return (g ** 12 - 1.0) * 100.0
    return level(m)


# -- projecting -------------------------------------------------------------------------------
@dataclass
class Projection:
    """Per replication: the simulated value of every later row, and the national monthly curves."""

    values: np.ndarray  # [replication, row] (NaN: unmatched)
    why: list[str]  # per row: why it is not matched ("" when matched)
    months: list[str]
    dmp_all: np.ndarray  # [replication, month] national DMP documents accepted
    activated: np.ndarray  # [replication, month] profiles activated
    replications: list[int] = field(default_factory=list)  # index of each completed replication


def project_one(scenario: Any, seed: int, rows: pd.DataFrame, attempt: int = 1) -> dict[str, Any]:
    """Worker task: one projection run, its values of ``rows`` and its monthly curves."""
    # the engine loads when the runs start, not when this module is imported (start-up time)
    from simulator.engine import Simulation

    res = Simulation(scenario, seed=seed).run()
    tab = observed_vs_simulated(res, rows)
    dmp = res.monthly("dmp", "accepted").sum(axis=1)
    prof = res.tables["profiles"]
    act = prof[prof["state"] == "activated"].groupby("month")["persons"].sum().reindex(res.manifest["months"], fill_value=0.0)
    return {"values": tab["simulated"].to_numpy(dtype=float), "why": list(tab["why"]),
            "months": list(res.manifest["months"]), "dmp": dmp.to_numpy(dtype=float), "activated": act.to_numpy(dtype=float)}


def projection_end(after: pd.DataFrame, horizon: dt.date) -> dt.date:
    """The day the projection runs stop: the end of the last row they are scored on (``after``,
    programme targets already left out by ``split``), never beyond the scenario's ``horizon``.
    Running on to the horizon (2027) would cost time and score nothing."""
    return min(max(row_end(d) for d in after["date"]), horizon)


def projection_scenarios(spec: Any, draws: Any, end: dt.date, n: int, seeds_per_draw: int = 1) -> list[Any]:
    """The ``n`` projection runs' scenarios: posterior draw i // ``seeds_per_draw``, no payload
    sample, ending on ``end`` (interventions dated after it left out)."""
    base = scenario_data(spec, np.array([p.start for p in spec.parameters]), for_fit=False)
    base["payload_sample"] = 0
    base["run"]["end"] = end
    base["run"]["scale"] = spec.scale
    base["interventions"] = [iv for iv in base.get("interventions", [])
                             if not isinstance(iv.get("date"), dt.date) or iv["date"] <= end]
    return [validate(apply_draw(base, draws.draw(i // seeds_per_draw), draws.path), spec.scenario) for i in range(n)]


def project(spec: Any, draws: Any, rows: pd.DataFrame, end: dt.date, n: int, seed: int,
            executor: Any = "local", progress: Any = None, seeds_per_draw: int = 1) -> Projection:
    """``n`` runs to ``end``, replication i with posterior draw i // ``seeds_per_draw`` and seed i
    (common to every cut-off); two seeds a draw let the seed variance be told from the
    parameters' (``discrepancy.decompose``)."""
    seeds = replication_seeds(seed, n)
    scenarios = projection_scenarios(spec, draws, end, n, seeds_per_draw)
    out: dict[int, dict[str, Any]] = {}
    errors = []
    with open_executor(executor, max_tasks=n) as pool:
        tasks = ((i, (scenarios[i], seeds[i], rows)) for i in range(n))
        for k, oc in enumerate(run_tasks(pool, project_one, tasks), 1):
            if oc.ok:
                out[oc.key] = oc.value
            else:
                errors.append(oc.error)
            if progress:
                progress(k, n)
    if not out:
        raise UsageError(f"every projection run failed; first error: {errors[0] if errors else 'none'}")
    done = [out[i] for i in sorted(out)]
    return Projection(np.vstack([d["values"] for d in done]), done[0]["why"], done[0]["months"],
                      np.vstack([d["dmp"] for d in done]), np.vstack([d["activated"] for d in done]), sorted(out))


def projection_frame(after: pd.DataFrame, proj: Projection) -> pd.DataFrame:
    """Every later row beside its simulated value in each projection run (to rescore without rerunning)."""
    df = after[["date", "metric", "sector", "value", "bound"]].reset_index(drop=True).copy()
    for i in range(proj.values.shape[0]):
        df[f"run{i + 1}"] = proj.values[i]
    return df


# -- scoring ----------------------------------------------------------------------------------
def inside(p5: float, p95: float, obs: float, bound: str) -> bool:
    """Does the p5–p95 band contain the observed figure (one-sided for bounds)?"""
    if bound == "lower":
        return p95 >= obs
    if bound == "upper":
        return p5 <= obs
    return p5 <= obs <= p95


def score(before: pd.DataFrame, after: pd.DataFrame, values: np.ndarray, why: list[str]) -> pd.DataFrame:
    """One row per later observed row: observed, p5/p50/p95, error of the median, in band,
    the two naive forecasts and their errors (errors one-sided for bounds); unmatched rows
    carry their reason and are not scored."""
    out = []
    for j, (_, r) in enumerate(after.iterrows()):
        rec: dict[str, Any] = {k: r[k] for k in ("date", "metric", "sector", "unit", "bound")}
        obs = float(r["value"])
        rec["observed"] = obs
        col = values[:, j]
        col = col[~np.isnan(col)]
        if not len(col) or why[j]:
            rec.update(scored=False, why=why[j] or "no simulated value", p5=np.nan, p50=np.nan, p95=np.nan,
                       error=np.nan, in_band=np.nan, naive_level=np.nan, error_level=np.nan,
                       naive_growth=np.nan, error_growth=np.nan, naive_trend=np.nan, error_trend=np.nan)
            out.append(rec)
            continue
        p5, p50, p95 = np.quantile(col, [0.05, 0.5, 0.95])
        rec.update(scored=True, why="", p5=p5, p50=p50, p95=p95,
                   error=one_sided((p50 - obs) / obs, r["bound"]), in_band=inside(p5, p95, obs, r["bound"]))
        for kind in ("level", "growth", "trend"):
            f = naive_forecast(before, r, kind)
            rec[f"naive_{kind}"] = f
            rec[f"error_{kind}"] = one_sided((f - obs) / obs, r["bound"]) if f == f else np.nan
        rec["n"] = len(col)
        out.append(rec)
    return pd.DataFrame(out)


def verdict(table: pd.DataFrame, cutoff: dt.date) -> dict[str, Any]:
    """The figures the goals are judged on, and the one-line verdict."""
    s = table[table["scored"].astype(bool)]
    both = s.dropna(subset=["error_level", "error_growth"])
    model_all = float(s["error"].abs().mean()) if len(s) else math.nan
    model = float(both["error"].abs().mean()) if len(both) else math.nan
    level = float(both["error_level"].abs().mean()) if len(both) else math.nan
    growth = float(both["error_growth"].abs().mean()) if len(both) else math.nan
    better = "level" if (level <= growth or growth != growth) else "growth"
    naive = min(level, growth) if growth == growth else level
    vol = s[s["metric"].isin(VOLUME_GOAL_METRICS)]
    vol_ok = int((vol["error"].abs() <= GOALS["volume_error"]).sum())
    coverage = float(s["in_band"].astype(float).mean()) if len(s) else math.nan
    met = {
        "volume": len(vol) > 0 and vol_ok == len(vol),
        "naive": model == model and naive == naive and model < GOALS["naive_ratio"] * naive,
        "coverage": coverage == coverage and coverage >= GOALS["coverage"],
    }
    line = (f"backtest cut-off {cutoff}: {len(s)} later rows scored; median within 15% on {vol_ok}/{len(vol)} "
            f"documents per year/month rows; mean error {model:.0%} vs {naive:.0%} for the better naive forecast "
            f"({better}, on the {len(both)} rows both naive forecasts cover; {model_all:.0%} on all scored rows); "
            f"p5–p95 contains {int(s['in_band'].astype(float).sum())}/{len(s)} ({coverage:.0%}) → "
            + ("all three goals met" if all(met.values()) else
               "goals not met: " + ", ".join(k for k, ok in met.items() if not ok)))
    return {"rows": len(s), "volume_rows": len(vol), "volume_within": vol_ok, "mean_error": model,
            "mean_error_all": model_all, "naive_level": level, "naive_growth": growth, "better_naive": better,
            "coverage": coverage, "met": met, "line": line}


__all__ = ["check_observed", "split", "naive_forecast", "project", "score", "verdict", "inside", "Projection"]
