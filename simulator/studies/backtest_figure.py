"""The backtest figure: observed points over the projection's p5–p95 band and median, cut-off marked.

Top: national documents accepted by the DMP a month (volume rows turned into a monthly level:
a year / 12 at mid-year, an annualised rate / 12, a 12-month total / 12 at mid-window). Bottom:
Mon espace santé profiles activated. Rows up to the cut-off (fitted) are grey, later rows
(scored) black; triangles are lower bounds. Matplotlib, Agg backend.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.studies.backtest import VOLUME, Projection

_MARKER = {"point": "o", "lower": "^", "upper": "v"}


def _x(date: str, metric: str) -> pd.Timestamp:
    if len(date) == 4:
        return pd.Timestamp(f"{date}-07-01")
    t = pd.Timestamp(f"{date}-15")
    return t - pd.DateOffset(months=6) if metric == "documents_last_12_months" else t


def write_backtest_figure(path: Path, proj: Projection, observed: pd.DataFrame, cutoff: dt.date, title: str) -> Path:
    """Two panels (documents a month, profiles activated) with bands, points and the cut-off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = pd.to_datetime([f"{m}-15" for m in proj.months])
    fig, axes = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True)
    panels = [(axes[0], proj.dmp_all, "Documents accepted by the DMP (M/month)",
               lambda r: r["metric"] in VOLUME and r["sector"] == "all", lambda r: r["value"] * VOLUME[r["metric"]]),
              (axes[1], proj.activated, "Mon espace santé profiles activated (M)",
               lambda r: r["metric"] == "mes_profiles_activated", lambda r: r["value"])]
    cut = pd.Timestamp(cutoff)
    for ax, curves, label, pick, val in panels:
        q = np.quantile(curves, [0.05, 0.5, 0.95], axis=0) / 1e6
        ax.fill_between(x, q[0], q[2], color="tab:blue", alpha=0.25, label="projection p5–p95")
        ax.plot(x, q[1], color="tab:blue", label="projection median")
        for _, r in observed.iterrows():
            if not pick(r):
                continue
            after = pd.Timestamp(str(r["date"]) + ("-12-31" if len(r["date"]) == 4 else "-28")) > cut
            ax.plot(_x(r["date"], r["metric"]), val(r) / 1e6, _MARKER.get(r["bound"], "o"),
                    color="black" if after else "grey", ms=6)
        ax.axvline(cut, color="tab:red", ls="--", lw=1)
        ax.text(cut, ax.get_ylim()[1] * 0.95, f" cut-off {cutoff}", color="tab:red", va="top", fontsize=8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].plot([], [], "o", color="grey", label="observed, fitted")
    axes[0].plot([], [], "o", color="black", label="observed, scored")
    axes[0].plot([], [], "^", color="black", label="lower bound")
    axes[0].legend(fontsize=8, loc="upper left")
    axes[0].set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
