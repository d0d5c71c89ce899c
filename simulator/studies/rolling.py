"""Rolling-origin scoring: the weighted interval score by horizon, against two naive forecasts.

Every row dated after an origin is scored from the projection's replications (with the
structural discrepancy applied, ``simulator.engine.discrepancy``): the error of the median,
whether p5–p95 contains it, and the weighted interval score (WIS) as the forecast hubs compute
it (Bracher, Ray, Gneiting & Reich 2021; CDC FluSight): the median and the 11 central
intervals of the 23 quantile levels 0.01 … 0.99, WIS = (½|y − m| + Σₖ αₖ/2 · ISₐₖ(y)) / (K + ½),
ISₐ = (u − l) + 2/α·(l − y)·1[y < l] + 2/α·(y − u)·1[y > u]. A naive forecast is a point: all
its quantiles are the point, and its WIS is its absolute error. Scores are divided by the
observed value (rows of different units are averaged), and relative WIS = mean WIS of the model
/ mean WIS of the naive forecast over the rows that forecast covers (< 1: better than naive).
Lower/upper bounds ("more than") have no WIS: they count for coverage and the median's error.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.engine.discrepancy import VOLUME_METRICS, month_index, paths
from simulator.studies.posterior import row_end

QUANTILE_LEVELS = (0.01, 0.025, *[round(0.05 * k, 2) for k in range(1, 20)], 0.975, 0.99)
ALPHAS = (0.02, 0.05, *[round(0.1 * k, 1) for k in range(1, 10)])  # central intervals (1 − α)
HORIZONS = ((0, 3, "≤ 3"), (4, 6, "4–6"), (7, 12, "7–12"), (13, 18, "13–18"), (19, 10_000, "> 18"))
NAIVE = ("level", "trend")
GOALS = {"coverage": 0.80, "relative_wis": 1.0, "volume_error_6m": 0.15}


def wis(samples: np.ndarray, y: float) -> float:
    """The weighted interval score of replications ``samples`` for the observed ``y``."""
    x = np.asarray(samples, dtype=float)
    x = x[~np.isnan(x)]
    if not len(x) or y != y:
        return math.nan
    m = float(np.quantile(x, 0.5))
    total = 0.5 * abs(y - m)
    for a in ALPHAS:
        lo, hi = np.quantile(x, [a / 2, 1 - a / 2])
        total += a / 2 * interval_score(float(lo), float(hi), y, a)
    return total / (len(ALPHAS) + 0.5)


def interval_score(lo: float, hi: float, y: float, alpha: float) -> float:
    """The interval score of the central (1 − α) interval [lo, hi]."""
    return (hi - lo) + 2 / alpha * max(0.0, lo - y) + 2 / alpha * max(0.0, y - hi)


def horizon(origin: dt.date, date: str) -> int:
    """Months from the origin to the last month a row covers (≥ 1 for a later row)."""
    end = row_end(date)
    return (end.year * 12 + end.month) - (origin.year * 12 + origin.month)


def bucket(h: int) -> str:
    """The horizon class of ``h`` months (3, 6, 12, 18, beyond)."""
    return next(name for lo, hi, name in HORIZONS if lo <= h <= hi)


def with_discrepancy(values: np.ndarray, rows: pd.DataFrame, table: pd.DataFrame | None, cutoff: dt.date,
                     seed: int) -> np.ndarray:
    """Projection values [replication, row] with each volume row multiplied by exp(δ) of its
    sector's discrepancy path (``discrepancy.paths``: replication i draws path i) at the row's
    month (a year's middle, a 12-month window's middle)."""
    if table is None:
        return values
    out = np.array(values, dtype=float, copy=True)
    vol = [j for j, m in enumerate(rows["metric"]) if m in VOLUME_METRICS]
    if not vol:
        return out
    idx = [month_index(d, m) for d, m in zip(rows["date"], rows["metric"], strict=True)]
    cut = cutoff.year * 12 + cutoff.month - 1
    last = max(max(idx[j] for j in vol), cut)
    months = [f"{k // 12}-{k % 12 + 1:02d}" for k in range(cut, last + 1)]
    groups = sorted({rows["sector"].iloc[j] for j in vol})
    delta = paths(table, groups, months, cutoff, out.shape[0], seed)  # [rep, month, group]
    for j in vol:
        k = max(0, idx[j] - cut)
        out[:, j] *= np.exp(delta[:, k, groups.index(rows["sector"].iloc[j])])
    return out


def score_origin(table: pd.DataFrame, values: np.ndarray, origin: dt.date) -> pd.DataFrame:
    """A backtest table (``backtest.score``) with horizon, WIS of the model and of each naive
    forecast (each divided by the observed value) added."""
    tab = table.copy()
    tab.insert(0, "origin", origin.isoformat())
    tab["horizon"] = [horizon(origin, d) for d in tab["date"]]
    tab["horizon_class"] = [bucket(h) for h in tab["horizon"]]
    point = (tab["bound"] == "point") & tab["scored"].astype(bool)
    w_model, w_naive = [], {k: [] for k in NAIVE}
    for j, r in tab.iterrows():
        y = float(r["observed"])
        ok = bool(point.loc[j]) and y > 0
        w_model.append(wis(values[:, j], y) / y if ok else math.nan)
        for k in NAIVE:
            f = r.get(f"naive_{k}", math.nan)
            w_naive[k].append(abs(f - y) / y if ok and f == f else math.nan)
    tab["wis"] = w_model
    for k in NAIVE:
        tab[f"wis_{k}"] = w_naive[k]
    return tab


def by_horizon(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per horizon class (and "all"): rows, coverage, mean |error| of the median, mean
    WIS of the model and of each naive forecast, relative WIS against each, the worst naive."""
    s = scored[scored["scored"].astype(bool)]
    out = []
    for name in [*(h[2] for h in HORIZONS), "all"]:
        g = s if name == "all" else s[s["horizon_class"] == name]
        if g.empty:
            continue
        rec: dict[str, Any] = {"horizon": name, "origins": g["origin"].nunique(), "rows": len(g),
                               "coverage": float(g["in_band"].astype(float).mean()),
                               "mean_abs_error": float(g["error"].abs().mean()),
                               "wis_rows": int(g["wis"].notna().sum()), "wis": float(g["wis"].mean())}
        for k in NAIVE:
            both = g.dropna(subset=["wis", f"wis_{k}"])
            rec[f"wis_{k}"] = float(both[f"wis_{k}"].mean()) if len(both) else math.nan
            rec[f"relative_wis_{k}"] = (float(both["wis"].mean() / both[f"wis_{k}"].mean())
                                        if len(both) and both[f"wis_{k}"].mean() > 0 else math.nan)
            rec[f"rows_{k}"] = len(both)
            rec[f"worst_{k}"] = float(g[f"error_{k}"].abs().max()) if g[f"error_{k}"].notna().any() else math.nan
        vol = g[g["metric"].isin(("documents_per_month", "documents_per_year"))]
        rec["volume_rows"] = len(vol)
        rec["volume_within_15"] = int((vol["error"].abs() <= GOALS["volume_error_6m"]).sum())
        out.append(rec)
    return pd.DataFrame(out)


def verdict(table: pd.DataFrame, origins: list[dt.date]) -> dict[str, Any]:
    """The goals, reported as measured: coverage ≥ 80% over all origins; relative WIS < 1 against
    both naive forecasts at every horizon; document-volume rows within 15% at 4–6 months."""
    allrow = table[table["horizon"] == "all"]
    hz = table[table["horizon"] != "all"]
    cov = float(allrow["coverage"].iloc[0]) if len(allrow) else math.nan
    rel = hz[[f"relative_wis_{k}" for k in NAIVE]]
    six = table[table["horizon"] == "4–6"]
    vol_ok = bool(len(six) and six["volume_rows"].iloc[0] and six["volume_within_15"].iloc[0] == six["volume_rows"].iloc[0])
    met = {"coverage": cov == cov and cov >= GOALS["coverage"],
           "relative_wis": bool(len(rel)) and bool((rel.fillna(math.inf) < GOALS["relative_wis"]).all().all()),
           "volume_6m": vol_ok}
    head = allrow.iloc[0] if len(allrow) else None
    line = (f"rolling backtest, origins {', '.join(o.isoformat() for o in origins)}: "
            + (f"{int(head['rows'])} scored rows; relative WIS {head['relative_wis_level']:.2f} vs last level, "
               f"{head['relative_wis_trend']:.2f} vs 12-month linear trend; p5–p95 coverage {cov:.0%}"
               if head is not None else "no scored row")
            + " → " + ("all goals met" if all(met.values()) else
                       "goals not met: " + ", ".join(k for k, ok in met.items() if not ok)))
    return {"met": met, "coverage": cov, "line": line}


def format_horizons(table: pd.DataFrame) -> str:
    """The horizon table as plain text (the headline: relative WIS)."""
    lines = [f"  {'horizon':<8}{'origins':>8}{'rows':>6}{'coverage':>10}{'|error|':>9}{'WIS':>8}"
             f"{'rel. WIS level':>16}{'rel. WIS trend':>16}{'worst naive':>13}"]
    for _, r in table.iterrows():
        worst = max(r["worst_level"] if r["worst_level"] == r["worst_level"] else 0,
                    r["worst_trend"] if r["worst_trend"] == r["worst_trend"] else 0)
        lines.append(f"  {r['horizon']:<8}{int(r['origins']):>8}{int(r['rows']):>6}{r['coverage']:>10.0%}"
                     f"{r['mean_abs_error']:>9.0%}{r['wis']:>8.3f}{r['relative_wis_level']:>16.2f}"
                     f"{r['relative_wis_trend']:>16.2f}{worst:>+13.0%}")
    return "\n".join(lines)


def write_rolling_figure(path: Path, table: pd.DataFrame, title: str) -> Path:
    """Relative WIS against each naive forecast, and coverage, by horizon (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hz = table[table["horizon"] != "all"]
    x = np.arange(len(hz))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.bar(x - 0.2, hz["relative_wis_level"], 0.4, label="vs last level")
    a.bar(x + 0.2, hz["relative_wis_trend"], 0.4, label="vs 12-month linear trend")
    a.axhline(1.0, color="k", lw=1, ls="--")
    a.set_yscale("log")  # a ratio: 0.5 and 2 are as far from 1
    a.set_xticks(x, hz["horizon"])
    a.set_xlabel("horizon (months after the origin)")
    a.set_ylabel("relative WIS (< 1: better than naive)")
    a.legend(fontsize=8)
    b.bar(x, hz["coverage"], 0.5, color="tab:green")
    b.axhline(0.9, color="k", lw=1, ls=":", label="nominal 90%")
    b.axhline(GOALS["coverage"], color="tab:red", lw=1, ls="--", label="goal 80%")
    b.set_ylim(0, 1)
    b.set_xticks(x, hz["horizon"])
    b.set_xlabel("horizon (months after the origin)")
    b.set_ylabel("p5–p95 coverage")
    b.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["wis", "interval_score", "horizon", "bucket", "with_discrepancy", "score_origin", "by_horizon", "verdict",
           "format_horizons", "write_rolling_figure", "QUANTILE_LEVELS", "HORIZONS"]
