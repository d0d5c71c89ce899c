"""The fit figure: observed points over the simulated curves (mean of the replications).

One panel per family of figures (documents annualised by sector, GPs feeding, profiles,
install rates, shares of documents, MSSanté). Filled markers are point observations,
triangles lower (▲) or upper (▼) bounds. Matplotlib with the Agg backend (no display).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from simulator.engine.observed_match import Unmatched, simulated_series
from simulator.engine.results import Results

PANELS = [
    ("Documents accepted by the DMP, annualised (M/yr)", ["documents_annual_rate", "documents_per_month", "documents_per_year"], 1e-6),
    ("GPs with ≥ 1 accepted document in the month", ["professionals_feeding_in_month"], 1.0),
    ("Mon espace santé profiles (M)", ["mes_profiles_open", "mes_profiles_activated"], 1e-6),
    ("Ségur update installed (share of facilities)", ["install_rate"], 1.0),
    ("Share of DMP documents by sector", ["share_of_documents"], 1.0),
    ("MSSanté: mailbox share; messages (M/month)", ["mssante_equipped_share", "mssante_messages_per_month"], 1.0),
]
_ANNUALISE = {"documents_per_month": 12.0, "documents_per_year": 1.0}
_MARKER = {"point": "o", "lower": "^", "upper": "v"}


def _mean_series(results: list[Results], metric: str, sector: str) -> pd.Series | None:
    try:
        curves = [simulated_series(r, metric, sector) for r in results]
    except Unmatched:
        return None
    return pd.concat(curves, axis=1).mean(axis=1)


def _x(date: str) -> pd.Timestamp:
    return pd.Timestamp(f"{date}-07-01") if len(date) == 4 else pd.Timestamp(f"{date}-15")


def fit_figure(results: list[Results], table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Draw the figure of ``table`` (a fit table) over the curves of ``results``; save PNG."""
    path = Path(path)
    draw_fit(results, table, title).savefig(path, dpi=110)
    return path


def draw_fit(results: list[Results], table: pd.DataFrame, title: str = "") -> Any:
    """The fit figure as a matplotlib Figure (not tied to a display)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 12))
    axes = fig.subplots(3, 2)
    matched = table[table["matched"]]
    for ax, (label, metrics, factor) in zip(axes.flat, PANELS, strict=True):
        rows = matched[matched["metric"].isin(metrics)]
        groups = rows[["metric", "sector"]].drop_duplicates().itertuples(index=False)
        colour_of: dict[str, str] = {}
        for metric, sector in groups:
            # documents: one curve per sector, annualised, whatever the observed unit
            curve_metric = "documents_annual_rate" if metric in _ANNUALISE else metric
            name = f"{sector}" if curve_metric != "mssante_messages_per_month" else "messages"
            if len(metrics) > 1 and metric.startswith("mes_"):
                name = metric.replace("mes_profiles_", "")
            key = f"{curve_metric}|{sector}"
            if key not in colour_of:
                s = _mean_series(results, curve_metric, sector)
                if s is None:
                    continue
                sf = s * (1e-6 if curve_metric == "mssante_messages_per_month" else factor)
                line, = ax.plot(pd.to_datetime(sf.index + "-15"), sf.to_numpy(), lw=1.4, label=name)
                colour_of[key] = line.get_color()
            sub = rows[(rows["metric"] == metric) & (rows["sector"] == sector)]
            scale = _ANNUALISE.get(metric, 1.0) * (1e-6 if metric == "mssante_messages_per_month" else factor)
            for _, r in sub.iterrows():
                ax.plot(_x(r["date"]), r["observed"] * scale, _MARKER[r["bound"]], color=colour_of[key],
                        mec="black", mew=0.6, ms=7)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
        ax.tick_params(labelsize=8)
    fig.suptitle(title or "Observed (markers: ● point, ▲ lower bound, ▼ upper bound) vs simulated (lines)", fontsize=11)
    fig.tight_layout()
    return fig
