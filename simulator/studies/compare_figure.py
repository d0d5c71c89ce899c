"""The comparison figure: one panel per target, the trailing 12-month total of accepted DMP
documents of each scenario against the target (the quantity a target is reached by);
p5–p95 bands with replications. Each scenario has its own colour (Okabe–Ito, colour-blind
safe), line style and marker, so no line hides another even where they coincide. Targets that
are modelling assumptions are drawn dashed and labelled "(assumption)"."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from reports.style import COLORS, LINESTYLES, MARKERS, style
from simulator.engine.outputs import target_scope, trailing_12
from simulator.studies.compare_series import target_label, target_series

if TYPE_CHECKING:
    from simulator.studies.compare import ScenarioRuns

__all__ = ["COLORS", "LINESTYLES", "MARKERS", "comparison_figure", "draw_comparison", "style"]

def _targets(all_runs: Sequence[ScenarioRuns]) -> list[tuple[str, float, bool, list[str]]]:
    seen: dict[tuple[str, float], tuple[str, float, bool, list[str]]] = {}
    for runs in all_runs:
        for key, t in runs.scenario.targets.items():
            seen.setdefault((key, float(t.value)), (key, float(t.value), bool(t.assumption), list(t.sectors)))
    return list(seen.values())


def _changes(runs: ScenarioRuns) -> bool:
    """Whether a scenario changes one of its targets on a date (a `target` intervention)."""
    return any(iv.kind == "target" for iv in runs.scenario.interventions)


def draw_comparison(all_runs: Sequence[ScenarioRuns], dpi: int = 110) -> bytes:
    """PNG bytes of the comparison figure."""
    buf = io.BytesIO()
    comparison_figure(all_runs).savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def comparison_figure(all_runs: Sequence[ScenarioRuns]) -> Figure:
    """The comparison figure: one panel per target, each scenario's trailing 12 months against it."""
    targets = _targets(all_runs)
    n = max(len(targets), 1)
    ncols = 3 if n > 4 else min(n, 2)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.2 * ncols, 2.8 * nrows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    millions = FuncFormatter(lambda v, _pos: f"{v / 1e6:,.0f}M")
    for ax, (key, value, assumption, _sectors) in zip(axes, targets, strict=False):
        for i, runs in enumerate(all_runs):
            if key not in runs.scenario.targets:
                continue
            dates = pd.to_datetime(runs.months)
            total = trailing_12(target_series(runs, key)[0])
            st = style(i)
            if runs.n > 1:
                lo, mid, hi = np.quantile(total, (0.05, 0.5, 0.95), axis=0)
                ax.fill_between(dates, lo, hi, color=st["color"], alpha=0.15, linewidth=0)
            else:
                mid = total[0]
            # markers every 6 months, shifted per scenario so that coinciding lines stay visible
            every = (i % 6, 6)
            ax.plot(dates, mid, color=st["color"], linestyle=st["linestyle"], marker=st["marker"], markevery=every,
                    markersize=4, linewidth=1.6, label=runs.name)
            own = target_series(runs, key)[1]
            if np.ptp(own[np.isfinite(own)]) > 0:  # this scenario changes the target on a date: its own step
                ax.step(dates, np.where(np.isfinite(own), own, np.nan), where="post", color=st["color"],
                        linestyle=":", linewidth=1.1)
        tcolor, tstyle = ("#b35900", "--") if assumption else ("0.15", "-")
        ax.axhline(value, color=tcolor, linestyle=tstyle, linewidth=1.1)
        ax.annotate("assumed target" if assumption else "target", xy=(0.01, value), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize=7.5, color="#b35900" if assumption else "0.15")
        owner = next(r for r in all_runs if key in r.scenario.targets)
        scope = target_scope(owner.scenario.targets[key].model_dump(mode="json"))  # types, channel, start
        ax.set_title(target_label(key, value, assumption) + (f"\n{scope}" if scope else ""), fontsize=9.5)
        ax.yaxis.set_major_formatter(millions)
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
        ax.tick_params(labelsize=8)
    for ax in axes[len(targets):]:
        ax.set_visible(False)
    bands = " (median and p5–p95 band)" if any(r.n > 1 for r in all_runs) else ""
    handles = [Line2D([], [], linewidth=1.6, markersize=4, label=r.name, **style(i)) for i, r in enumerate(all_runs)]
    handles.append(Line2D([], [], color="0.15", label="published target"))
    handles.append(Line2D([], [], color="#b35900", linestyle="--", label="assumed target (no public wave 2 target)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5 if len(all_runs) > 6 else 4),
               frameon=False, fontsize=8)
    fig.suptitle(f"Accepted DMP documents over the last 12 months, national{bands} (a panel titled with document "
                 "types or a channel counts those only); a target is reached when the line crosses it"
                 + ("; dotted steps: a target changed by a scenario" if any(_changes(r) for r in all_runs) else ""),
                 fontsize=10.5, wrap=True)
    return fig
