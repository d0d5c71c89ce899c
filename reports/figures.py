"""Figures of the report: draw functions that plot the frames of ``reports.plotdata`` as they are.

Headless: each figure is drawn on an Agg canvas of its own (no pyplot, no global backend
state), at a modest dpi, to PNG and SVG bytes. Each draw function takes plot data and a
language and returns a Figure; ``report_figures`` ties one run's tables to its figures,
titles, captions and alt text.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FixedFormatter,
    FixedLocator,
    Formatter,
    FuncFormatter,
    PercentFormatter,
)

from reports import i18n
from reports import plotdata as pdata
from reports.forked import run_split
from reports.style import style
from simulator.run_output import Results

PNG_DPI = 110
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "segur-testbed",
}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
OBS_COLOR = "black"


@dataclass
class RenderedFigure:
    """One figure of the report, rendered: file stem, title, caption, alt text, PNG and SVG bytes."""

    key: str
    title: str
    caption: str
    alt: str
    png: bytes
    svg: bytes


# -- helpers ---------------------------------------------------------------------------------

def _dates(months: pd.Series | list[str] | pd.Index) -> np.ndarray:
    """Months ``YYYY-MM`` as decimal years (Jan 2023 → 2023.0): plain numbers keep tick work cheap."""
    m = pd.Series(list(months), dtype=str)
    if m.empty:
        return np.zeros(0)
    return m.str[:4].astype(int).to_numpy() + (m.str[5:7].astype(int).to_numpy() - 1) / 12


def _new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _panel_grid(n: int) -> tuple[Figure, np.ndarray, int]:
    """A grid of small panels (3 a row) with fixed margins in inches, legend space at the bottom.

    Fixed margins instead of the constrained layout: the panels' labels are short and alike,
    and the layout engine would double the drawing time of the report's largest figure.
    """
    ncols = 3 if n > 4 else max(n, 1)
    nrows = max(math.ceil(n / ncols), 1)
    width, height = 11.0, 2.6 * nrows + 0.75
    fig = _new_figure(width, height, layout=None)
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False, gridspec_kw=dict(
        left=0.8 / width, right=1 - 0.15 / width, top=1 - 0.3 / height, bottom=0.75 / height,
        hspace=0.3, wspace=0.2))
    return fig, axes.ravel(), ncols


class CountFormatter(Formatter):
    """Axis counts in the unit of the axis' largest value (``2,5 M`` / ``2.5M``), exact to 2 decimals."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, x: float, pos: int | None = None) -> str:
        vmax = max(abs(v) for v in self.axis.get_view_interval()) if self.axis is not None else abs(x)
        if x == 0:
            return "0"
        div, unit = (1e6, "M") if vmax >= 1e6 else (1e3, "k") if vmax >= 1e3 else (1.0, "")
        s = f"{x / div:,.2f}".rstrip("0").rstrip(".")
        if self.lang == "fr":
            s = s.replace(",", "\u202f").replace(".", ",")
            return f"{s}\u00a0{unit}" if unit else s
        return f"{s}{unit}"


def _date_axis(ax, months: list[str], lang: str) -> None:
    """Years as ticks for long runs, months (in the report's language) for short ones."""
    if not months:
        return
    x = _dates([months[0], months[-1]])
    if len(months) > 36:
        years = np.arange(math.ceil(x[0]), math.floor(x[1] + 1 / 12) + 1)
        ax.xaxis.set_major_locator(FixedLocator(years))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}"))
    else:
        step = 3 if len(months) > 12 else 2
        shown = months[::step]
        ticks = _dates(shown)
        # the month's short name, with the year under it on the first tick and on each January
        labels = [i18n.month_label(m, lang).replace(" ", "\n") if i == 0 or m.endswith("-01")
                  else i18n.month_label(m, lang).split(" ")[0] for i, m in enumerate(shown)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter(labels))
    ax.set_xlim(x[0] - 0.5 / 12, x[1] + 1.5 / 12)


def _day_x(day: str) -> float:
    """``2023-10-15`` on the decimal-year axis of ``_dates`` (months start at y + (m-1)/12)."""
    ts = pd.Timestamp(str(day)[:10])
    return ts.year + (ts.month - 1) / 12 + (ts.day - 1) / (12 * ts.days_in_month)


def mark_interventions(ax, ivs: pd.DataFrame | None, numbered: bool = True) -> None:
    """The scenario's interventions as dotted vertical lines, numbered at the top as in the report's list."""
    if ivs is None or not len(ivs):
        return
    trans = ax.get_xaxis_transform()
    for _, iv in ivs.iterrows():
        x = _day_x(iv["date"])
        ax.axvline(x, color="0.35", linestyle=":", linewidth=0.9, zorder=1)
        if numbered:
            ax.text(x, 0.99, str(int(iv["number"])), transform=trans, fontsize=6.5, color="0.25",
                    ha="left", va="top", clip_on=True)


def _empty(ax, lang: str) -> None:
    ax.text(0.5, 0.5, i18n.text("no_data", lang), ha="center", va="center", transform=ax.transAxes, color="0.4")


def sector_colors(sectors: list[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sectors)}


def _target_name(row: pd.Series, lang: str) -> str:
    name = i18n.text("target_label", lang) + " " + i18n.number(row["value"], lang, digits=0)
    return name + (f" ({i18n.text('assumption', lang)})" if row["assumption"] else "")


def render(fig: Figure) -> tuple[bytes, bytes]:
    """PNG and SVG bytes of a figure (no timestamp in the SVG, so files are reproducible)."""
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI)
    fig.set_layout_engine("none")  # keep the layout just computed: the SVG is drawn without redoing it
    fig.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def _stacked_bars(ax, x: np.ndarray, bottom: np.ndarray, height: np.ndarray, width: float, color: str,
                  label: str) -> PolyCollection:
    """One series of stacked bars as a single collection (what ``ax.bar`` draws, without one
    patch per bar: a seven-year monthly chart draws several times faster)."""
    x0, x1, y0, y1 = x, x + width, bottom, bottom + height
    verts = np.stack([np.column_stack(c) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))], axis=1)
    bars = PolyCollection(verts, facecolors=color, edgecolors="none", linewidths=0, label=label)
    ax.add_collection(bars)
    if len(x):
        ax.update_datalim([(float(x0.min()), 0.0), (float(x1.max()), float(y1.max()))])
        ax.autoscale_view()
    return bars


# -- draw functions --------------------------------------------------------------------------

def draw_monthly(monthly: pd.DataFrame, targets: pd.DataFrame, labels: dict[str, str], lang: str, interventions: pd.DataFrame | None = None) -> Figure:
    """Stacked monthly DMP documents by sector, the all-sector targets ÷ 12, annualised right axis."""
    months = list(dict.fromkeys(monthly["month"]))
    sectors = list(dict.fromkeys(monthly["sector"]))
    colors = sector_colors(sectors)
    wide = monthly.pivot(index="month", columns="sector", values="documents").reindex(index=months, columns=sectors)
    fig = _new_figure(10, 4.6)
    ax = fig.add_subplot()
    x = _dates(months)
    bottom = pd.Series(0.0, index=wide.index)
    for s in sectors:
        _stacked_bars(ax, x, bottom.to_numpy(), wide[s].fillna(0.0).to_numpy(), 0.8 / 12, colors[s], labels.get(s, s))
        bottom = bottom + wide[s].fillna(0.0)
    for _, t in targets[targets["panel"] == pdata.ALL].iterrows():
        ax.axhline(t["value"] / 12, color="0.15", linestyle="--", linewidth=1.2,
                   label=i18n.text("target_monthly", lang, name=i18n.number(t["value"], lang, digits=0))
                   + (f" ({i18n.text('assumption', lang)})" if t["assumption"] else ""))
    ax.set_ylabel(i18n.text("documents_per_month", lang))
    ax.yaxis.set_major_formatter(CountFormatter(lang))
    sec = ax.secondary_yaxis("right", functions=(lambda v: v * 12, lambda v: v / 12))
    sec.set_ylabel(i18n.text("annualised_axis", lang))
    sec.yaxis.set_major_formatter(CountFormatter(lang))
    _date_axis(ax, months, lang)
    mark_interventions(ax, interventions)
    if not len(monthly) or float(monthly["documents"].sum()) == 0:
        _empty(ax, lang)
    top = max([float(bottom.max()) if len(bottom) else 0.0]
              + [t / 12 for t in targets.loc[targets["panel"] == pdata.ALL, "value"]])
    if top > 0:
        ax.set_ylim(0, top * 1.08)
    fig.legend(loc="outside lower center", ncols=min(len(sectors) + 1, 6), frameon=False)
    return fig


def _draw_band(ax: Any, band: pd.DataFrame, months: pd.Series, color: Any) -> bool:
    """A panel's p5–p95 band and median over its months (whether there was one to draw)."""
    b = band.set_index("month").reindex(months).dropna(subset=["p5", "p95"])
    if not len(b):
        return False
    bx = _dates(b.index)
    ax.fill_between(bx, b["p5"], b["p95"], color=color, alpha=0.22, linewidth=0)
    ax.plot(bx, b["p50"], color=color, linestyle=":", linewidth=1)
    return True


def _draw_observed(ax: Any, o: pd.DataFrame) -> tuple[bool, bool]:
    """A panel's observed points and lower bounds (whether each was drawn)."""
    lower = o["lower_bound"].astype(bool)
    pts, low = o[~lower], o[lower]
    if len(pts):
        ax.plot(_dates(pts["month"]), pts["value"], "o", color=OBS_COLOR, markersize=4.5, zorder=5)
    if len(low):
        ax.plot(_dates(low["month"]), low["value"], "^", markerfacecolor="white", markeredgecolor=OBS_COLOR,
                markersize=5, zorder=5)
    return bool(len(pts)), bool(len(low))


def draw_annualised(data: pd.DataFrame, targets: pd.DataFrame, observed: pd.DataFrame,
                    band: pd.DataFrame | None, labels: dict[str, str], lang: str, interventions: pd.DataFrame | None = None) -> Figure:
    """One panel per sector (and group): annualised rate, target line, observed points, p5–p95 band.

    ``band`` has columns month, panel (or sector), p5, p50, p95 in documents/year; drawn when not empty.
    """
    keys = list(dict.fromkeys(data["panel"]))
    months = list(dict.fromkeys(data["month"]))
    fig, axes, ncols = _panel_grid(len(keys))
    colors = sector_colors(keys)
    colors[pdata.ALL] = "0.25"
    if band is not None and "sector" in band.columns and "panel" not in band.columns:
        band = band.rename(columns={"sector": "panel"})
    has_band = has_obs = has_lower = has_target = has_trailing = False
    for ax, key in zip(axes, keys, strict=False):
        d = data[data["panel"] == key]
        x = _dates(d["month"])
        if band is not None and len(band):
            has_band = _draw_band(ax, band[band["panel"] == key], d["month"], colors[key]) or has_band
        ax.plot(x, d["annualised"], color=colors[key], linewidth=1.6)
        if "trailing_12" in d.columns:
            ax.plot(x, d["trailing_12"], color=colors[key], linewidth=1.3, linestyle=(0, (6, 2)))
            has_trailing = True
        mark_interventions(ax, interventions, numbered=key == keys[0])
        for _, t in targets[targets["panel"] == key].iterrows():
            ax.axhline(t["value"], color="0.15", linestyle="--", linewidth=1.1)
            ax.annotate(_target_name(t, lang), xy=(0.01, t["value"]), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize=7.5, color="0.15")
            has_target = True
        if len(observed):
            points, lower = _draw_observed(ax, observed[observed["panel"] == key])
            has_obs, has_lower = has_obs or points, has_lower or lower
        ax.set_title(labels.get(key, key))
        ax.yaxis.set_major_formatter(CountFormatter(lang))
        ax.set_ylim(bottom=0)
        ax.margins(y=0.12)
        _date_axis(ax, months, lang)
        if not len(d) or float(d["annualised"].abs().sum()) == 0:
            _empty(ax, lang)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(i18n.text("documents_per_year", lang))
    shown = {"band": has_band, "trailing": has_trailing, "target": has_target, "observed": has_obs,
             "lower": has_lower, "interventions": interventions is not None and len(interventions) > 0}
    _bottom_legend(fig, _annualised_handles(shown, lang))
    return fig


def _annualised_handles(shown: dict[str, bool], lang: str) -> list:
    """The legend entries of what the annualised panels show."""
    simulated = i18n.text("simulated_representative" if shown["band"] else "simulated", lang)
    handles: list = [Line2D([], [], color="0.3", linewidth=1.6, label=simulated)]
    if shown["trailing"]:
        handles.append(Line2D([], [], color="0.3", linewidth=1.3, linestyle=(0, (6, 2)), label=i18n.text("trailing_12", lang)))
    if shown["interventions"]:
        handles.append(Line2D([], [], color="0.35", linestyle=":", linewidth=0.9, label=i18n.text("intervention", lang)))
    if shown["target"]:
        handles.append(Line2D([], [], color="0.15", linestyle="--", label=i18n.text("target_label", lang)))
    if shown["observed"]:
        handles.append(Line2D([], [], marker="o", linestyle="", color=OBS_COLOR, label=i18n.text("observed", lang)))
    if shown["lower"]:
        handles.append(Line2D([], [], marker="^", linestyle="", markerfacecolor="white", markeredgecolor=OBS_COLOR,
                              label=i18n.text("observed_lower", lang)))
    if shown["band"]:
        handles.append(Patch(color="0.3", alpha=0.22, label=i18n.text("band", lang)))
        handles.append(Line2D([], [], color="0.3", linestyle=":", label=i18n.text("median", lang)))
    return handles


def _bottom_legend(fig: Figure, handles: list) -> None:
    """The legend under a panel grid on as few rows as fit the figure's width, the figure grown
    when those rows need more room than its bottom margin (a one-row legend of 8 entries was cut)."""
    renderer = fig.canvas.get_renderer()
    for ncols in range(len(handles), 0, -1):
        leg = fig.legend(handles=handles, loc="lower center", ncols=ncols, frameon=False)
        box = leg.get_window_extent(renderer)
        if box.width <= fig.bbox.width * 0.98 or ncols == 1:
            break
        leg.remove()
    grid = fig.axes[0].get_gridspec() if fig.axes else None
    if grid is None:
        return
    w, h = fig.get_size_inches()
    need = box.height / fig.dpi + 0.5  # the legend, and the panels' date labels above it (inches)
    bottom, top = grid.bottom if grid.bottom is not None else fig.subplotpars.bottom, grid.top or fig.subplotpars.top
    if need > bottom * h:
        extra = need - bottom * h
        top_in = (1 - top) * h
        fig.set_size_inches(w, h + extra)
        grid.update(bottom=need / (h + extra), top=1 - top_in / (h + extra))
        for ax in fig.axes:  # the panels follow their grid (update() alone leaves them in place)
            spec = ax.get_subplotspec()
            if spec is not None:
                ax.set_position(spec.get_position(fig))


def draw_gp_activity(shares: pd.DataFrame, lang: str, interventions: pd.DataFrame | None = None) -> Figure:
    """Share of equipped GPs above N documents in the month, one line per N."""
    fig = _new_figure(10, 4.2)
    ax = fig.add_subplot()
    months = sorted(set(shares["month"])) if len(shares) else []
    for i, (n, d) in enumerate(shares.groupby("threshold", sort=True)):
        ax.plot(_dates(d["month"]), d["share"], color=PALETTE[i % len(PALETTE)], linewidth=1.6,
                label=i18n.text("fig_gp_legend", lang, n=n))
    ax.set_ylabel(i18n.text("share_of_gps", lang))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(0, 1)
    if months:
        _date_axis(ax, months, lang)
        mark_interventions(ax, interventions)
        leg = fig.legend(loc="outside lower center", ncols=len(shares["threshold"].unique()), frameon=False,
                         title=i18n.text("fig_gp_legend_title", lang), alignment="center")
        leg.get_title().set_fontsize(8)
    else:
        _empty(ax, lang)
    return fig


def draw_failures(failures: pd.DataFrame, lang: str, interventions: pd.DataFrame | None = None) -> Figure:
    """DMP rejections (by reason) and drops per month, as stacked areas, largest first."""
    fig = _new_figure(10, 4.2)
    ax = fig.add_subplot()
    if len(failures) and float(failures["documents"].sum()) > 0:
        failures = failures.assign(key=failures["outcome"] + ":" + failures["reason"])
        wide = failures.pivot_table(index="month", columns="key", values="documents", aggfunc="sum", fill_value=0.0)
        order = wide.sum().sort_values(ascending=False).index
        wide = wide[order]
        labels = [i18n.reason_label(k.split(":", 1)[1] or k.split(":", 1)[0], lang) for k in order]
        ax.stackplot(_dates(wide.index), *[wide[c].to_numpy() for c in order], labels=labels,
                     colors=[PALETTE[i % len(PALETTE)] for i in range(len(order))], linewidth=0)
        _date_axis(ax, list(wide.index), lang)
        mark_interventions(ax, interventions)
        fig.legend(loc="outside lower center", frameon=False, ncols=min(len(order), 4))
    else:
        _empty(ax, lang)
    ax.set_ylabel(i18n.text("documents_per_month", lang))
    ax.yaxis.set_major_formatter(CountFormatter(lang))
    return fig


def draw_profiles(states: pd.DataFrame, observed: pd.DataFrame, lang: str, interventions: pd.DataFrame | None = None) -> Figure:
    """Mon espace santé profiles by state over time, with published counts as points."""
    fig = _new_figure(10, 4.2)
    ax = fig.add_subplot()
    colors = {s: PALETTE[i] for i, s in enumerate(pdata.PROFILE_STATES)}
    months = list(dict.fromkeys(states["month"]))
    for s in pdata.PROFILE_STATES:
        d = states[states["state"] == s]
        if len(d):
            ax.plot(_dates(d["month"]), d["persons"], color=colors[s], linewidth=1.6, label=i18n.profile_label(s, lang))
    if len(observed):
        for s, d in observed.groupby("state"):
            ax.plot(_dates(d["month"]), d["persons"], "o", color=colors.get(s, OBS_COLOR), markeredgecolor=OBS_COLOR,
                    markersize=5, zorder=5)
        ax.plot([], [], "o", color="white", markeredgecolor=OBS_COLOR, label=i18n.text("observed", lang))
    ax.set_ylabel(i18n.text("persons", lang))
    ax.yaxis.set_major_formatter(CountFormatter(lang))
    ax.set_ylim(bottom=0)
    if months:
        _date_axis(ax, months, lang)
        mark_interventions(ax, interventions)
        fig.legend(loc="outside lower center", frameon=False, ncols=5)
    else:
        _empty(ax, lang)
    return fig


def draw_mssante(routes: pd.DataFrame, observed: pd.DataFrame, lang: str, interventions: pd.DataFrame | None = None) -> Figure:
    """MSSanté messages sent per month by route (stacked), with the published total as a point."""
    fig = _new_figure(10, 4.2)
    ax = fig.add_subplot()
    months = list(dict.fromkeys(routes["month"]))
    wide = routes.pivot(index="month", columns="route", values="sent").reindex(index=months)
    present = [r for r in pdata.ROUTES if r in wide.columns]
    if present and float(wide[present].to_numpy().sum()) > 0:
        ax.stackplot(_dates(wide.index), *[wide[r].to_numpy() for r in present],
                     labels=[i18n.route_label(r, lang) for r in present], colors=[PALETTE[0], PALETTE[1], PALETTE[2]][: len(present)],
                     linewidth=0, alpha=0.85)
        if len(observed):
            low = observed["lower_bound"].astype(bool)
            ax.plot(_dates(observed["month"]), observed["messages"], color=OBS_COLOR, linestyle="",
                    markerfacecolor="white" if low.all() else OBS_COLOR, marker="^" if low.all() else "o",
                    label=i18n.text("observed_lower" if low.all() else "observed", lang), zorder=5)
        _date_axis(ax, months, lang)
        mark_interventions(ax, interventions)
        fig.legend(loc="outside lower center", frameon=False, ncols=3)
    else:
        _empty(ax, lang)
    ax.set_ylabel(i18n.text("messages_per_month", lang))
    ax.yaxis.set_major_formatter(CountFormatter(lang))
    return fig


def draw_comparison(data: pd.DataFrame, targets: pd.DataFrame, labels: dict[str, str], lang: str) -> Figure:
    """One panel per sector (and group): one annualised line per scenario, target lines."""
    keys = list(dict.fromkeys(data["panel"]))
    scenarios = list(dict.fromkeys(data["scenario"]))
    fig, axes, ncols = _panel_grid(len(keys))
    months = sorted(set(data["month"]))
    for ax, key in zip(axes, keys, strict=False):
        for sc in scenarios:
            d = data[(data["panel"] == key) & (data["scenario"] == sc)]
            if len(d):
                st = _scenario_style(scenarios.index(sc))
                ax.plot(_dates(d["month"]), d["annualised"], linewidth=1.5, markevery=(scenarios.index(sc) % 6, 6),
                        markersize=3.5, **st)
        for _, t in targets[targets["panel"] == key].drop_duplicates(["value", "assumption"]).iterrows():
            ax.axhline(t["value"], color="0.15", linestyle="--", linewidth=1.1)
            ax.annotate(_target_name(t, lang), xy=(0.01, t["value"]), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize=7.5, color="0.15")
        ax.set_title(labels.get(key, key))
        ax.yaxis.set_major_formatter(CountFormatter(lang))
        ax.set_ylim(bottom=0)
        ax.margins(y=0.12)
        _date_axis(ax, months, lang)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(i18n.text("documents_per_year", lang))
    handles = [Line2D([], [], linewidth=1.5, markersize=3.5, label=s, **_scenario_style(i)) for i, s in enumerate(scenarios)]
    handles.append(Line2D([], [], color="0.15", linestyle="--", label=i18n.text("target_label", lang)))
    fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), 6), frameon=False)
    return fig


def _scenario_style(i: int) -> dict:
    """The i-th scenario's colour, line style and marker (shared with ``segur compare``'s figure)."""
    return style(i)


# -- one run's figures -----------------------------------------------------------------------

def panel_labels(res: Results, lang: str) -> dict[str, str]:
    """Titles of the panels: sector labels, 'all sectors', or the sectors of a group joined."""
    scen = res.manifest["scenario"]
    out = {s: i18n.sector_label(s, lang, scen) for s in res.manifest["sectors"]}
    out[pdata.ALL] = i18n.text("all_sectors", lang)
    for p in pdata.panels(res):
        if p.key not in out:
            out[p.key] = " + ".join(i18n.sector_label(s, lang, scen) for s in p.sectors)
    return out


def report_figures(res: Results, lang: str, observed: pd.DataFrame, at: str) -> list[RenderedFigure]:
    """Every figure of one run's report, rendered, with title, caption and alt text from the data."""
    labels = panel_labels(res, lang)
    months = res.manifest["months"]
    span = dict(start=i18n.month_label(months[0], lang), end=i18n.month_label(months[-1], lang),
                at=i18n.month_label(at, lang))
    tg = pdata.targets(res)
    ivs = pdata.interventions(res)

    def monthly() -> tuple[Figure, str]:
        m = pdata.monthly_documents(res)
        total = float(m.loc[m["month"] == at, "documents"].sum())
        all_t = tg[tg["panel"] == pdata.ALL]
        alt = i18n.text("alt_monthly", lang, sectors=", ".join(labels[s] for s in res.manifest["sectors"]),
                        total=i18n.number(total, lang), rate=i18n.number(total * 12, lang),
                        target=i18n.number(float(all_t["value"].iloc[0]), lang) if len(all_t) else "—", **span)
        return draw_monthly(m, tg, labels, lang, interventions=ivs), alt

    def annual() -> tuple[Figure, str]:
        a = pdata.annualised(res)
        at_rows = a[a["month"] == at]
        items = []
        for _, r in at_rows.iterrows():
            t = tg[tg["panel"] == r["panel"]]
            tgt = f" / {i18n.number(float(t['value'].iloc[0]), lang)}" if len(t) else ""
            items.append(f"{labels[r['panel']]} {i18n.number(r['annualised'], lang)}{tgt}")
        alt = i18n.text("alt_annualised", lang, items="; ".join(items), **span)
        return draw_annualised(a, tg, pdata.observed_points(res, observed), pdata.quantile_band(res), labels, lang, interventions=ivs), alt

    def gp() -> tuple[Figure, str]:
        g = pdata.gp_activity_shares(res)
        at_g = g[g["month"] == at]
        items = "; ".join(f"≥ {int(r['threshold'])}: {i18n.percent(r['share'], lang)}" for _, r in at_g.iterrows())
        alt = i18n.text("alt_gp", lang, items=items or i18n.text("no_data", lang), **span) if len(g) else i18n.text("alt_empty", lang)
        return draw_gp_activity(g, lang, interventions=ivs), alt

    def failures() -> tuple[Figure, str]:
        f = pdata.dmp_failures(res)
        tot = f.groupby("reason")["documents"].sum().sort_values(ascending=False).head(3) if len(f) else pd.Series(dtype=float)
        items = "; ".join(f"{i18n.reason_label(k or 'dropped', lang)} {i18n.number(v, lang)}" for k, v in tot.items())
        alt = i18n.text("alt_rejections", lang, items=items, **span) if items else i18n.text("alt_empty", lang)
        return draw_failures(f, lang, interventions=ivs), alt

    def counts_at(frame: pd.DataFrame, key: str, label: Callable[[str, str], str], value: str, alt_key: str) -> str:
        """The alt text listing ``frame``'s rows of the month ``at``: each ``key``'s label and ``value``."""
        rows = frame[frame["month"] == at]
        items = "; ".join(f"{label(r[key], lang)} {i18n.number(r[value], lang)}" for _, r in rows.iterrows())
        return i18n.text(alt_key, lang, items=items, **span)

    def profiles() -> tuple[Figure, str]:
        p = pdata.profile_states(res)
        alt = counts_at(p, "state", i18n.profile_label, "persons", "alt_profiles")
        return draw_profiles(p, pdata.profile_observed(res, observed), lang, interventions=ivs), alt

    def mss() -> tuple[Figure, str]:
        r = pdata.mssante_routes(res)
        alt = counts_at(r, "route", i18n.route_label, "sent", "alt_mssante")
        return draw_mssante(r, pdata.mssante_observed(res, observed), lang, interventions=ivs), alt

    specs: list[tuple[str, str, Callable[[], tuple[Figure, str]]]] = [
        ("monthly_documents", "monthly", monthly),
        ("annualised_vs_target", "annualised", annual),
        ("gp_activity", "gp", gp),
        ("dmp_rejections", "rejections", failures),
        ("mes_profiles", "profiles", profiles),
        ("mssante_routes", "mssante", mss),
    ]

    def job(key: str, short: str, make: Callable[[], tuple[Figure, str]]) -> Callable[[], RenderedFigure]:
        def draw() -> RenderedFigure:
            with matplotlib.rc_context(STYLE):
                fig, alt = make()
                png, svg = render(fig)
                fig.clear()
            return RenderedFigure(key, i18n.text(f"fig_{short}_title", lang),
                                  i18n.text(f"fig_{short}_caption", lang), alt, png, svg)
        return draw

    return run_split([job(*spec) for spec in specs])


def comparison_figures(results_by_name: dict[str, Results], lang: str) -> list[RenderedFigure]:
    """The figure of a scenario comparison: annualised rate per panel, one line per scenario."""
    first = next(iter(results_by_name.values()))
    labels: dict[str, str] = {}
    tgs = []
    for res in results_by_name.values():
        labels = {**panel_labels(res, lang), **labels}
        tgs.append(pdata.targets(res))
    data = pdata.comparison_annualised(results_by_name)
    tg = pd.concat(tgs, ignore_index=True) if tgs else pdata.targets(first)
    with matplotlib.rc_context(STYLE):
        fig = draw_comparison(data, tg, labels, lang)
        png, svg = render(fig)
        fig.clear()
    alt = i18n.text("alt_compare", lang, scenarios=", ".join(results_by_name))
    return [RenderedFigure("comparison_annualised", i18n.text("fig_compare_title", lang),
                           i18n.text("fig_compare_caption", lang), alt, png, svg)]
