"""One planner run, inside a worker process: simulate, then the page's summary, then the files.

Uses only the engine's public API (``simulator.Simulation`` / ``simulator.engine.ensemble.replicate``
→ ``Results``) and the report's figure code. The summary (figures as SVG in both languages,
the target table) is written first so the page shows the figures as soon as possible; the
results folder (tables, manifest, payloads, French report) follows.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

from reports import i18n as rep
from reports import plotdata as pdata
from reports import write_report
from reports.ensemble import ensemble_view
from reports.figures import (
    STYLE,
    draw_annualised,
    draw_failures,
    draw_monthly,
    draw_profiles,
    panel_labels,
)
from reports.observed import observed_figures
from reports.tables import report_month, target_table
from scenarios.schema import Scenario
from simulator.app.observed_gap import observed_gap
from simulator.app.uncertainty import discrepancy_for, in_sample, number_or_none
from simulator.engine.ensemble import discrepancy_summary, replicate
from simulator.engine.outputs import target_monthly, trailing_12
from simulator.engine.results import Results

SUMMARY = "summary.json"
RESULTS = "results"

# The report's palette (matplotlib's tab10) mapped onto Okabe & Ito's colour-blind-safe
# palette, then Paul Tol's for the colours beyond its seven hues.
OKABE_ITO = {
    "#1f77b4": "#0072b2", "#ff7f0e": "#e69f00", "#2ca02c": "#009e73", "#d62728": "#d55e00",
    "#9467bd": "#cc79a7", "#8c564b": "#56b4e9", "#e377c2": "#882255", "#7f7f7f": "#999933",
    "#bcbd22": "#332288", "#17becf": "#44aa99",
}


def recolour(svg: str) -> str:
    """The figure's SVG with the report's palette swapped for a colour-blind-safe one."""
    for old, new in OKABE_ITO.items():
        svg = svg.replace(old, new)
    return svg


def _svg(fig) -> str:
    buf = io.BytesIO()  # SVG only (the report's ``render`` also draws a PNG the page does not need)
    fig.savefig(buf, format="svg", metadata={"Date": None})
    fig.clear()
    svg = buf.getvalue()
    text = svg.decode("utf-8")
    return recolour(text[text.find("<svg"):])  # inline: no XML prologue or doctype


def figures(res: Results, lang: str) -> list[dict[str, str]]:
    """The page's four figures in one language: monthly vs targets, annualised (bands when
    replications exist), Mon espace santé profiles, DMP rejections by reason."""
    labels = panel_labels(res, lang)
    tg = pdata.targets(res)
    observed = observed_figures()
    out = []
    with matplotlib.rc_context(STYLE):
        specs = [
            ("monthly", lambda: draw_monthly(pdata.monthly_documents(res), tg, labels, lang)),
            ("annualised", lambda: draw_annualised(pdata.annualised(res), tg, pdata.observed_points(res, observed),
                                                   pdata.quantile_band(res), labels, lang)),
            ("profiles", lambda: draw_profiles(pdata.profile_states(res), pdata.profile_observed(res, observed), lang)),
            ("rejections", lambda: draw_failures(pdata.dmp_failures(res), lang)),
        ]
        for key, make in specs:
            out.append({"key": key, "title": rep.text(f"fig_{key}_title", lang), "svg": _svg(make())})
    return out


def table_rows(res: Results) -> list[dict[str, Any]]:
    """The target table's rows: labels in both languages, numbers as numbers; with replications,
    each target's month reached as p5, p50, p95 (``YYYY-MM``, None = not by the run's end) and the
    share of replications that reach it (``reports.ensemble``, as the report and the CLI)."""
    table = target_table(res, report_month(res, res.manifest["months"][-1]))
    scen = res.manifest["scenario"]
    ens = ensemble_view(res)
    rows = []
    for _, r in table.iterrows():
        label = {lang: (rep.sector_label(r["row"], lang, scen) if r["kind"] == "sector"
                        else " + ".join(rep.sector_label(s, lang, scen) for s in r["sectors"])) for lang in rep.LANGS}
        b = ens.targets.get(str(r["target_key"])) if ens is not None and r["target_key"] else None
        band = None
        if b is not None:  # the band shown: with the structural discrepancy when the run carries it
            months, share_reached = b.shown
            band = {"reached": list(months), "share_reached": share_reached, "n": b.n, "share": b.share,
                    "with_discrepancy": b.reached_with is not None,
                    "model_alone": {"reached": list(b.reached), "share_reached": b.share_reached}}
        rows.append({"row": r["row"], "label": label, "target": number_or_none(r["target"]), "achieved": number_or_none(r["achieved"]),
                     "share": number_or_none(r["share"]), "reached": r["reached"] or None, "at": r["at"],
                     "assumption": bool(r["assumption"]), "band": band})
    return rows


def series(res: Results) -> dict[str, Any]:
    """Each target row's DMP documents accepted over the 12 months to each month (the curve a
    target is reached on), and the total of every sector: what the compare view overlays."""
    months = list(res.manifest["months"])
    wide = (pdata.monthly_documents(res).pivot(index="month", columns="sector", values="documents")
            .reindex(index=months).fillna(0.0))
    out: dict[str, list[float]] = {"all": [round(float(x)) for x in trailing_12(wide.sum(axis=1).to_numpy())[0]]}
    table = target_table(res, months[-1])
    for _, r in table.iterrows():
        if r["target_key"]:
            monthly = target_monthly(res, str(r["target_key"]))[0]
        else:
            monthly = wide[[s for s in r["sectors"] if s in wide.columns]].sum(axis=1).to_numpy()
        out[str(r["row"])] = [round(float(x)) for x in trailing_12(monthly)[0]]
    return {"months": months, "rows": out}


def rejections(res: Results) -> list[dict[str, Any]]:
    """DMP rejections and drops by reason over the run (national documents)."""
    f = pdata.dmp_failures(res)
    if f.empty:
        return []
    tot = f.groupby("reason")["documents"].sum().sort_values(ascending=False)
    return [{"reason": k or "dropped", "label": {lang: rep.reason_label(k or "outage_wait_exceeded", lang)
                                                 for lang in rep.LANGS}, "documents": float(v)} for k, v in tot.items()]


def summarize(res: Results, meta: dict[str, Any], langs: tuple[str, ...] = rep.LANGS) -> dict[str, Any]:
    """Everything the page shows of one run (figures in ``langs``; none: the tables alone, first)."""
    has_bands = "documents_quantiles" in res.tables
    ens = res.manifest.get("ensemble") or {}
    return {**meta, "months": [res.manifest["months"][0], res.manifest["months"][-1]], "bands": has_bands,
            "figures": {lang: figures(res, lang) for lang in langs}, "table": table_rows(res),
            "series": series(res), "observed_gap": observed_gap(res),
            "discrepancy": ens.get("discrepancy") if isinstance(ens, dict) else None,
            "in_sample": in_sample(str(meta.get("scenario", ""))) if meta.get("scenario") else None,
            "rejections": rejections(res),
            "accepted_total": float(res.monthly("dmp").to_numpy().sum())}


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    tmp = out / f".{SUMMARY}.{os.getpid()}"
    tmp.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out / SUMMARY)


def _throttled(send: Callable[[float], None]) -> Callable[[int, int], None]:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 0.2 or done >= total:
            last[0] = now
            send(done / max(total, 1))
    return progress


def execute(scenario: Scenario, replications: int, out: Path, meta: dict[str, Any],
            send: Callable[[str, Any], None]) -> None:
    """Run, write ``summary.json`` with the tables (then say 'table'), with the page's figures
    (then 'done'), then the results folder (then 'files')."""
    progress = _throttled(lambda f: send("progress", f))
    shown: list[dict[str, Any]] = []

    def show_table(res: Results) -> None:
        """The tables first (the page shows them at once), then the figures."""
        send("progress", 1.0)
        out.mkdir(parents=True, exist_ok=True)
        shown.append(summarize(res, meta, ()))
        _write_summary(out, shown[0])
        send("table", None)

    if replications > 1:
        ens = replicate(scenario, replications, executor="local", progress=progress)  # every core
        disc = discrepancy_for(str(meta["scenario"])) if meta.get("scenario") else None
        if disc is not None:  # the calibration's structural discrepancy, carried into the bands (seeds only here)
            ens.extra["discrepancy"] = disc
            ens.extra["discrepancy_summary"] = discrepancy_summary(ens)
        res = ens.to_results()
    else:
        # the engine loads when a run starts, in the worker, not with the page's server (start-up time)
        from simulator import Simulation

        # the table as soon as the tables exist, before the payload tier renders its sample
        res = Simulation(scenario, progress=progress, on_tables=show_table).run()
    if not shown:
        show_table(res)
    summary = shown[0]
    first = meta.get("lang", "fr")
    for lang in (first, *(x for x in rep.LANGS if x != first)):  # the asking page's language first
        summary["figures"][lang] = figures(res, lang)
        _write_summary(out, summary)
        if lang == first:
            send("done", None)
    send("langs", None)
    res.save(out / RESULTS, writers=[write_report])
    send("files", None)


def child(spec: dict[str, Any], out: str, conn) -> None:
    """Entry point of a worker process: its own process group (so a cancel stops its helpers)."""
    os.setpgrp()

    def send(kind: str, value: Any) -> None:
        conn.send((kind, value))

    try:
        sc = Scenario.model_validate(spec["scenario"])
        execute(sc, int(spec["replications"]), Path(out), spec["meta"], send)
    except BaseException as exc:  # reported to the page as one line; the process ends here
        send("failed", f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def results_table_names(folder: Path) -> list[str]:
    """The CSV tables of a results folder."""
    return sorted(p.stem for p in folder.glob("*.csv"))


__all__ = ["child", "execute", "figures", "recolour", "results_table_names", "summarize"]
