"""The comparison figure: one panel per target, the annualised rate (month × 12, DMP documents
accepted) of each scenario against the target; p5–p95 bands with replications. Targets that
are modelling assumptions are drawn dashed and labelled "(assumption)"."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

if TYPE_CHECKING:
    from simulator.compare import ScenarioRuns

COLORS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#00798c", "#8d6a4f", "#444444")


def _targets(all_runs: Sequence[ScenarioRuns]) -> list[tuple[str, float, bool, list[str]]]:
    seen: dict[tuple[str, float], tuple[str, float, bool, list[str]]] = {}
    for runs in all_runs:
        for key, t in runs.scenario.targets.items():
            seen.setdefault((key, float(t.value)), (key, float(t.value), bool(t.assumption), list(t.sectors)))
    return list(seen.values())


def draw_comparison(all_runs: Sequence[ScenarioRuns], annualised: Callable[[ScenarioRuns, list[str]], np.ndarray],
                    target_label: Callable[[str, float, bool], str], dpi: int = 110) -> bytes:
    """PNG bytes of the comparison figure; ``annualised`` and ``target_label`` are the
    comparison's own (simulator.compare passes them: this module imports nothing of it)."""

    targets = _targets(all_runs)
    n = max(len(targets), 1)
    ncols = 3 if n > 4 else min(n, 2)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.2 * ncols, 2.8 * nrows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    millions = FuncFormatter(lambda v, _pos: f"{v / 1e6:,.0f}M")
    for ax, (key, value, assumption, sectors) in zip(axes, targets, strict=False):
        for i, runs in enumerate(all_runs):
            if key not in runs.scenario.targets:
                continue
            dates = pd.to_datetime(runs.months)
            rate = annualised(runs, sectors)
            color = COLORS[i % len(COLORS)]
            if runs.n > 1:
                lo, mid, hi = np.quantile(rate, (0.05, 0.5, 0.95), axis=0)
                ax.fill_between(dates, lo, hi, color=color, alpha=0.18, linewidth=0)
            else:
                mid = rate[0]
            ax.plot(dates, mid, color=color, linewidth=max(2.6 - 0.5 * i, 1.0))  # earlier scenarios wider, so none hides another
        ax.axhline(value, color="#b35900" if assumption else "0.15", linestyle="--" if assumption else "-", linewidth=1.1)
        ax.annotate("assumed target" if assumption else "target", xy=(0.01, value), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize=7.5, color="#b35900" if assumption else "0.15")
        ax.set_title(target_label(key, value, assumption), fontsize=9.5)
        ax.yaxis.set_major_formatter(millions)
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
        ax.tick_params(labelsize=8)
    for ax in axes[len(targets):]:
        ax.set_visible(False)
    bands = " (median and p5–p95 band)" if any(r.n > 1 for r in all_runs) else ""
    handles = [Line2D([], [], color=COLORS[i % len(COLORS)], linewidth=1.5, label=r.name) for i, r in enumerate(all_runs)]
    handles.append(Line2D([], [], color="0.15", label="published target"))
    handles.append(Line2D([], [], color="#b35900", linestyle="--", label="assumed target (no public wave 2 target)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False, fontsize=8)
    fig.suptitle(f"Annualised DMP documents accepted (month × 12), national{bands}", fontsize=10.5)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
