"""How far a run is from the published figures it covers (in sample), said beside the figures.

The rows of ``scenarios/data/observed.csv`` matched to the simulated quantity they measure by
``simulator.engine.observed_match`` (the definition calibration and the backtest use), grouped
by the figure that draws them: DMP documents (the monthly and annualised figures) and Mon espace
santé profiles. The gap is (simulated − observed) ÷ observed, one-sided for a published bound
(only a shortfall counts against "more than N").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulator.engine.observed_match import observed_vs_simulated
from simulator.engine.results import Results

FIGURE_METRICS = {
    "documents": ("documents_per_year", "documents_per_month", "documents_annual_rate", "documents_last_12_months"),
    "profiles": ("mes_profiles_open", "mes_profiles_activated"),
}
RECENT_FROM = "2024"  # the figures the page singles out: the latest published years


def _median(values: np.ndarray) -> float | None:
    v = values[np.isfinite(values)]
    return float(np.median(v)) if len(v) else None


def observed_gap(res: Results) -> dict[str, Any]:
    """Per figure group: the matched published rows (date, metric, sector, bound, observed,
    simulated, gap), their count, the median gap, and the same over the rows from 2024 on."""
    table = observed_vs_simulated(res)
    table = table[table["matched"].astype(bool)]
    out: dict[str, Any] = {}
    for group, metrics in FIGURE_METRICS.items():
        t = table[table["metric"].isin(metrics)].sort_values("date")
        if not len(t):
            continue
        gap = t["error"].to_numpy(dtype=float)
        recent = t["date"].astype(str).str[:4] >= RECENT_FROM
        rows = [{"date": str(r["date"]), "metric": str(r["metric"]), "sector": str(r["sector"]),
                 "bound": "" if not isinstance(r["bound"], str) else r["bound"],
                 "observed": float(r["observed"]), "simulated": float(r["simulated"]),
                 "gap": None if math.isnan(float(r["error"])) else float(r["error"])} for _, r in t.iterrows()]
        out[group] = {"n": len(t), "median": _median(gap), "first": str(t["date"].iloc[0]),
                      "last": str(t["date"].iloc[-1]), "recent_n": int(recent.sum()),
                      "recent_median": _median(gap[recent.to_numpy()]), "recent_from": RECENT_FROM, "rows": rows}
    return out


__all__ = ["FIGURE_METRICS", "observed_gap"]
