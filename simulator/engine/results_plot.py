"""``Results.plot()``: a quick look at a run from Python, as ``sim.plot()`` in Starsim / Covasim —
monthly national documents by sector (stacked) with each all-sector target ÷ 12, interventions
as dotted vertical lines. The full report is ``reports.build_report``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.engine.results import Results


def plot_monthly(res: Results, channel: str = "dmp", outcome: str | None = None, ax: Any = None) -> Any:
    """Draw on ``ax`` (or a new pyplot figure) and return the Figure."""
    import matplotlib.pyplot as plt  # imported here: `import simulator` stays free of matplotlib
    import pandas as pd

    from simulator.engine.monthly import SENT_OUTCOME

    wide = res.monthly(channel, outcome)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    else:
        fig = ax.figure
    x = wide.index.to_timestamp()
    ax.stackplot(x, *[wide[c].to_numpy() for c in wide.columns], labels=[str(c) for c in wide.columns], linewidth=0)
    outcome = outcome or SENT_OUTCOME[channel]
    if channel == "dmp" and outcome == "accepted":
        sectors = set(res.manifest["sectors"])
        for key, t in res.manifest["scenario"].get("targets", {}).items():
            if set(t["sectors"]) == sectors:
                ax.axhline(t["value"] / 12, color="0.15", linestyle="--", linewidth=1.1,
                           label=f"target {key}: {t['value'] / 1e6:,.0f}M/yr ÷ 12")
    for iv in res.manifest["scenario"].get("interventions", []):
        date = iv.get("date") if isinstance(iv, dict) else None
        if date:
            ax.axvline(pd.Timestamp(date), color="0.4", linestyle=":", linewidth=0.9)
    ax.set_ylabel(f"{channel} {outcome}, national documents / month")
    ax.set_title(f"{res.manifest['scenario_name']} · seed {res.manifest['seed']} · scale {res.manifest['scale']}")
    ax.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)
    ax.set_ylim(bottom=0)
    return fig
