"""The self-contained HTML report (figures embedded as base64 PNG, inline CSS, no external file).

``build_report`` writes ``report.html`` and a ``figures/`` folder (PNG + SVG) for one run;
``write_report`` is the same as a ``Results.save`` writer; ``build_comparison_report`` puts
several runs (one per scenario) side by side in ``comparison.html``.
"""

from __future__ import annotations

import base64
import html
import math
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from reports import i18n
from reports.ensemble import EnsembleView, TargetBands, ensemble_view
from reports.figures import RenderedFigure, comparison_figures, report_figures
from reports.observed import observed_figures
from reports.plotdata import interventions
from reports.tables import report_month, target_table, year_columns
from simulator.run_output import Results

REPORT_FILE = "report.html"
COMPARISON_FILE = "comparison.html"
FIGURES_DIR = "figures"
NB_HYPHEN = "\u2011"  # LOINC codes (11490-0) never break across lines

CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#d9dde5; --ok:#2e7d32; --short:#e08a00; --bg:#fafbfc; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif;
       color: var(--ink); background: #fff; margin: 0 auto; max-width: 1240px; padding: 1.5rem 1.25rem 3rem;
       line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 2px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; }
.meta { color: var(--muted); margin: .2rem 0; }
.meta b { color: var(--ink); font-weight: 600; }
.note { color: var(--muted); font-size: .9rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; background: #fff; }
th, td { padding: .35rem .45rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--bg); font-weight: 600; vertical-align: bottom; white-space: normal; }
td.txt, th.txt { text-align: left; white-space: normal; }
td.txt { min-width: 8.5rem; }
.row-label { display: block; }
.keydoc { display: block; color: var(--muted); font-size: .8rem; font-weight: 400; }
tr.group td { font-weight: 600; }
tr.group.first td, tr.group:not(.more) td { border-top: 2px solid var(--line); }
tr.more td { border-top: 0; }
.assumption { font-style: italic; color: #8a4b00; }
.bar { display: inline-block; width: 44px; height: .7rem; background: #eceff3; border-radius: 3px;
       vertical-align: middle; margin-right: .35rem; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--short); }
.bar span.ok { background: var(--ok); }
figure { margin: 1.4rem 0 2rem; padding: 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
figcaption a { color: inherit; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line); padding-top: .6rem; }
@media print { figure { break-inside: avoid; } body { max-width: none; } }
"""


# -- public API ------------------------------------------------------------------------------

def build_report(results: Results, out_dir: str | Path, lang: str = "fr", at: str | None = None,
                 out_file: str | Path | None = None) -> Path:
    """Write one run's report (``out_dir/report.html`` or ``out_file``) and its figures folder beside it."""
    lang = i18n.check_lang(lang)
    at = report_month(results, at)
    observed = observed_figures()
    figures = report_figures(results, lang, observed, at)
    table = target_table(results, at, observed)
    page = render_report(results, figures, table, lang, observed)
    target = Path(out_file) if out_file is not None else Path(out_dir) / report_file(lang)
    _write(target, page, figures, lang)
    return target


def report_file(lang: str) -> str:
    """``report.html`` for the French report (the default), ``report.<lang>.html`` beside it otherwise."""
    return REPORT_FILE if lang == "fr" else f"report.{lang}.html"


def write_report(results: Results, tmp_dir: Path) -> None:
    """``Results.save`` writer: the French report and figures inside the results folder.

    A report that fails must not cost the run its tables: the error is reported on one line
    (stderr), whatever the report had written is removed, and the folder is saved without it
    (``segur report`` rebuilds it later).
    """
    try:
        build_report(results, tmp_dir, lang="fr")
    except Exception as exc:  # any failure of the report, never of the run
        shutil.rmtree(Path(tmp_dir) / FIGURES_DIR, ignore_errors=True)
        (Path(tmp_dir) / REPORT_FILE).unlink(missing_ok=True)
        print(f"segur: warning: report not written ({type(exc).__name__}: {exc}); "
              "rebuild it with `segur report RESULTS_DIR`", file=sys.stderr)


def build_comparison_report(results_by_name: dict[str, Results], out_dir: str | Path, lang: str = "fr",
                            at: str | None = None) -> Path:
    """Write ``out_dir/comparison.html`` (and its figure) comparing several runs, one per scenario name."""
    lang = i18n.check_lang(lang)
    if not results_by_name:
        raise ValueError("build_comparison_report needs at least one Results")
    observed = observed_figures()
    tables = {name: target_table(res, at, observed) for name, res in results_by_name.items()}
    figures = comparison_figures(results_by_name, lang)
    page = render_comparison(results_by_name, tables, figures, lang)
    target = Path(out_dir) / COMPARISON_FILE  # a comparison folder holds one language
    _write(target, page, figures)
    return target


# -- pages -----------------------------------------------------------------------------------

def render_report(res: Results, figures: list[RenderedFigure], table: pd.DataFrame, lang: str,
                  observed: pd.DataFrame) -> str:
    """The report's HTML text (one page, everything inline)."""
    man = res.manifest
    title = i18n.text("report_title", lang)
    at = str(table["at"].iloc[0]) if len(table) else man["months"][-1]
    ens = ensemble_view(res)  # None for a single run: the page stays as it was
    body = [
        f"<h1>{_e(title)}</h1>",
        _run_meta(res, lang, with_name=True, ens=ens),
        f"<p class='note'>{_e(_scale_note(res, lang))}</p>",
        _answer_html(table, res, lang, ens),
        _ensemble_html(ens, lang),
        _interventions_html(res, lang),
        f"<h2 id='targets'>{_e(i18n.text('targets_heading', lang))}</h2>",
        f"<p class='note'>{_e(i18n.text('targets_intro', lang, at=i18n.month_label(at, lang)))}</p>",
        *([f"<p class='note'>{_e(i18n.text('targets_ensemble_note', lang))}</p>"] if ens is not None else []),
        _target_table_html(table, res, lang, ens),
        f"<h2 id='figures'>{_e(i18n.text('figures_heading', lang))}</h2>",
        *(_figure_html(f, lang) for f in figures),
        _footer(res, lang, observed),
    ]
    return _page(title + " · " + man["scenario_name"], body, lang)


def render_comparison(results_by_name: dict[str, Results], tables: dict[str, pd.DataFrame],
                      figures: list[RenderedFigure], lang: str) -> str:
    """The comparison's HTML text: each run's identity, one target table, the comparison figure."""
    title = i18n.text("comparison_title", lang)
    first = next(iter(results_by_name.values()))
    body = [f"<h1>{_e(title)}</h1>", f"<h2>{_e(i18n.text('scenarios', lang))}</h2>", "<ul>"]
    for name, res in results_by_name.items():
        body.append(f"<li><b>{_e(name)}</b> — {_run_meta(res, lang, with_name=False, tag='span')}</li>")
    body.append("</ul>")
    body.append(f"<h2 id='targets'>{_e(i18n.text('targets_heading', lang))}</h2>")
    ats = {str(t['at'].iloc[0]) for t in tables.values() if len(t)}
    if len(ats) == 1:
        body.append(f"<p class='note'>{_e(i18n.text('targets_intro', lang, at=i18n.month_label(ats.pop(), lang)))}</p>")
    body.append(_comparison_table_html(tables, results_by_name, lang))
    body.append(f"<h2 id='figures'>{_e(i18n.text('figures_heading', lang))}</h2>")
    body.extend(_figure_html(f) for f in figures)
    body.append(_footer(first, lang, None))
    return _page(title, body, lang)


def _page(title: str, body: list[str], lang: str) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        f"<html lang='{lang}'>",
        "<head>",
        "<meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def _run_meta(res: Results, lang: str, with_name: bool, tag: str = "p", ens: EnsembleView | None = None) -> str:
    man = res.manifest
    months = man["months"]
    parts = []
    if with_name:
        parts.append(f"{_e(i18n.text('scenario', lang))} <b>{_e(man['scenario_name'])}</b>")
    if ens is not None:  # the seed the replications' seeds derive from, as given to `segur run`
        parts.append(f"{_e(i18n.text('replications', lang))} <b>{ens.replications}</b>")
    seed = man["ensemble"].get("seed", man["seed"]) if ens is not None else man["seed"]
    parts += [
        f"{_e(i18n.text('seed', lang))} <b>{_e(seed)}</b>",
        f"{_e(i18n.text('scale', lang))} <b>{_e(man['scale'])}</b>",
        f"{_e(i18n.text('version', lang))} <b>{_e(man.get('version', '?'))}</b>",
        f"{_e(i18n.text('period', lang))} <b>{_e(i18n.month_label(months[0], lang))} → "
        f"{_e(i18n.month_label(months[-1], lang))}</b>",
    ]
    desc = man["scenario"].get("description", "")
    out = f"<{tag} class='meta'>{' · '.join(parts)}</{tag}>"
    if with_name and desc:  # the scenario file's own words (in the file's language)
        out += f"\n<p class='meta'>{_e(i18n.text('question', lang))} <q>{_e(desc)}</q></p>"
    return out


def _scale_note(res: Results, lang: str) -> str:
    scale = res.scale
    n = 1 / scale if scale > 0 else math.nan
    n_txt = f"{n:,.0f}".replace(",", "\u202f") if lang == "fr" else f"{n:,.0f}"
    return i18n.text("scale_note", lang, n=n_txt, scale=scale) + " " + i18n.text("dmp_note", lang)


def _row_label(r: pd.Series, res: Results, lang: str) -> str:
    scen = res.manifest["scenario"]
    if r["kind"] == "sector":
        return i18n.sector_label(r["row"], lang, scen)
    if set(r["sectors"]) == set(res.manifest["sectors"]):
        return i18n.text("all_sectors", lang)
    return " + ".join(i18n.sector_label(s, lang, scen) for s in r["sectors"])


def _label_cell(r: pd.Series, res: Results, lang: str) -> str:
    """The row's name, and under it the programme's key document (as the programme's table shows it)."""
    out = f"<span class='row-label'>{_e(_row_label(r, res, lang))}</span>"
    if r["key_document"]:
        out += f"<span class='keydoc' title='{_e(i18n.text('key_document', lang))}'>{_e(r['key_document']).replace('-', NB_HYPHEN)}</span>"
    return out


def _target_cells(r: pd.Series, lang: str, bands: TargetBands | None = None, last_year: str = "") -> list[str]:
    """Target, published, simulated, share, reached: the numeric cells of a row. With an
    ensemble's ``bands``, "reached" is the month's p50 (p5 – p95) over the replications."""
    has_target = not pd.isna(r["target"])
    if has_target:
        tgt = _e(i18n.number(r["target"], lang, digits=0))
        if r["assumption"]:
            tgt += f" <span class='assumption'>({_e(i18n.text('assumption', lang))})</span>"
        share_html = _share_html(float(r["share"]), lang)
        if bands is not None:
            reached = _reached_html(bands, lang, last_year)
        else:
            reached = _e(i18n.month_label(r["reached"], lang) if r["reached"] else i18n.text("not_reached", lang))
    else:
        tgt = f"<span class='note'>{_e(i18n.text('no_target', lang))}</span>"
        share_html = "—"
        reached = "—"
    return [tgt, _e(i18n.number(r["observed"], lang)), _e(i18n.number(r["achieved"], lang)), share_html, reached]


def _bands_of(r: pd.Series, ens: EnsembleView | None) -> TargetBands | None:
    if ens is None or pd.isna(r["target"]):
        return None
    return ens.targets.get(str(r.get("target_key", "")))


def _reached_band(months: list[str | None], lang: str, last_year: str) -> str:
    """'mars 2026 (p5 oct. 2025 – p95 non atteint fin 2027)'; one month, or "not by", when all three agree."""
    lo, mid, hi = (i18n.month_label(m, lang) if m else i18n.text("not_by", lang, year=last_year) for m in months)
    if lo == mid == hi:
        return mid
    return i18n.text("pband", lang, p50=mid, p5=lo, p95=hi)


def _reached_html(b: TargetBands, lang: str, last_year: str) -> str:
    """The band of the month reached (with the structural discrepancy when the run carries it,
    then the model alone below it in small type), escaped."""
    months, _ = b.shown
    out = _e(_reached_band(months, lang, last_year))
    if b.reached_with is not None:
        alone = i18n.text("model_alone", lang, band=_reached_band(b.reached, lang, last_year))
        out += f"<br><span class='note model-alone'>{_e(alone)}</span>"
    return out


def _number_band(q: dict[str, float], lang: str) -> str:
    lo, mid, hi = (i18n.number(q[k], lang) for k in ("p5", "p50", "p95"))
    return i18n.text("pband", lang, p50=mid, p5=lo, p95=hi)


def _share_band_html(q: dict[str, float], lang: str) -> str:
    """The median share with its bar, then (p5 … – p95 …)."""
    return (_share_html(q["p50"], lang) + " " + _e(i18n.text("pband", lang, p50="", p5=i18n.percent(q["p5"], lang),
                                                             p95=i18n.percent(q["p95"], lang)).strip()))


def _answer_html(table: pd.DataFrame, res: Results, lang: str, ens: EnsembleView | None = None) -> str:
    """The report's opening: where the projection ends against each target, and when each is reached
    (for an ensemble: medians with p5 – p95 over the replications, and the share that reach it)."""
    rows_t = table[table["target"].notna()]
    if not len(rows_t):
        return ""
    end = i18n.month_label(str(rows_t["end"].iloc[0]), lang)
    head = [i18n.text("target_col", lang), i18n.text("target", lang), i18n.text("total_12_at", lang, at=end),
            i18n.text("share_of_target", lang), i18n.text("reached", lang)]
    if ens is not None:
        head.append(i18n.text("reached_share_col", lang))
    rows = []
    last_year = str(rows_t["end"].iloc[0])[:4]
    for _, r in rows_t.iterrows():
        tgt = _e(i18n.number(r["target"], lang, digits=0))
        if r["assumption"]:
            tgt += f" <span class='assumption'>({_e(i18n.text('assumption', lang))})</span>"
        b = _bands_of(r, ens)
        if b is not None:
            cells = [f"<td>{_e(_number_band(b.volume, lang))}</td>", f"<td>{_share_band_html(b.share, lang)}</td>",
                     f"<td>{_reached_html(b, lang, last_year)}</td>",
                     f"<td>{_share_html(b.shown[1], lang)}</td>"]
        else:
            reached = (i18n.month_label(r["reached"], lang) if r["reached"]
                       else i18n.text("not_reached_by", lang, year=last_year))
            cells = [f"<td>{_e(i18n.number(r['achieved_end'], lang))}</td>",
                     f"<td>{_share_html(float(r['share_end']), lang)}</td>", f"<td>{_e(reached)}</td>",
                     *(["<td>—</td>"] if ens is not None else [])]
        cells = [f"<td class='txt'>{_label_cell(r, res, lang)}</td>", f"<td>{tgt}</td>", *cells]
        rows.append(f"<tr class='{r['kind']}' data-row='{_e(r['row'])}'>{''.join(cells)}</tr>")
        if not pd.isna(r["with_mssante_end"]):
            both = float(r["with_mssante_end"])
            label = i18n.text("with_mssante", lang)
            if ens is not None:  # the MSSanté reading is not among the replications' outputs
                label += f" — {i18n.text('representative_only', lang)}"
            rows.append(f"<tr class='more' data-row='{_e(r['row'])}-mssante'><td class='txt'>"
                        f"<span class='keydoc'>{_e(label)}</span></td><td></td>"
                        f"<td>{_e(i18n.number(both, lang))}</td><td>{_share_html(both / float(r['target']), lang)}</td>"
                        "<td>—</td>" + ("<td>—</td>" if ens is not None else "") + "</tr>")
    intro = i18n.text("answer_intro", lang, end=end)
    out = [f"<h2 id='answer'>{_e(i18n.text('answer_heading', lang))}</h2>", f"<p class='note'>{_e(intro)}</p>"]
    if ens is not None:
        out.append(f"<p class='note'>{_e(i18n.text('ensemble_intro', lang, n=ens.replications, completed=ens.completed))}</p>")
    out.append(_table(head, rows, "answer-table", with_assumption_note=bool(rows_t["assumption"].any()), lang=lang))
    return "\n".join(out)


def _ensemble_html(ens: EnsembleView | None, lang: str) -> str:
    """Where the replications' parameters came from: the posterior file, its data cut-off, method, date."""
    if ens is None:
        return ""
    prov = ens.provenance
    f = prov.fields
    unknown = i18n.text("unknown", lang)
    if prov.kind == "posterior":
        cutoff = str(f.get("data_cutoff", "") or "")
        try:
            cutoff = i18n.day_label(cutoff, lang)
        except (ValueError, IndexError):
            cutoff = cutoff or unknown
        lines = [f"<p id='provenance'>{_e(i18n.text('params_posterior', lang, file=f.get('file', unknown), draws=f.get('draws', '?'), cutoff=cutoff))}</p>"]
        if f.get("method"):  # the file's own words (written in English by `segur calibrate`), quoted as such
            lines.append(f"<p class='meta'>{_e(i18n.text('params_method', lang))} <q>{_e(f['method'])}</q></p>")
        if f.get("date") or f.get("commit"):
            lines.append(f"<p class='meta'>{_e(i18n.text('params_made', lang, date=f.get('date') or unknown, commit=f.get('commit') or unknown))}</p>")
    elif prov.kind == "seeds":
        lines = [f"<p id='provenance'>{_e(i18n.text('params_seeds', lang))}</p>"]
    else:
        lines = [f"<p id='provenance'>{_e(i18n.text('params_unknown', lang))}</p>"]
    d = ens.discrepancy
    if d and d.get("share_discrepancy") is not None:
        q = d.get("dmp_last_12_months", {})
        with_targets = any(b.reached_with is not None for b in ens.targets.values())
        targets = i18n.text("discrepancy_targets", lang) if with_targets else ""
        lines.append(f"<p id='discrepancy'>{_e(i18n.text('discrepancy_note', lang, file=d.get('file', unknown), p50=i18n.number(q.get('p50', 0), lang), p5=i18n.number(q.get('p5', 0), lang), p95=i18n.number(q.get('p95', 0), lang), model=d.get('share_model', 0), disc=d['share_discrepancy'], targets=targets))}</p>")
        parts = _parts_text(d.get("parts"), lang)
        if parts:
            lines.append(f"<p id='band-parts'>{_e(parts)}</p>")
    return "\n".join([f"<h2 id='ensemble'>{_e(i18n.text('ensemble_heading', lang))}</h2>", *lines])


def _parts_text(parts: Any, lang: str) -> str:
    """Which part of the band is parameters, seeds and discrepancy (the manifest's ``ensemble.discrepancy.parts``)."""
    if not isinstance(parts, dict) or parts.get("discrepancy") is None:
        return ""  # a folder written before the parts were recorded
    pct = {k: i18n.percent(float(v), lang) for k, v in parts.items() if isinstance(v, int | float)}
    kind = {"draws repeat": "parts_split", "seeds only": "parts_seeds"}.get(str(parts.get("split")), "parts_together")
    return i18n.text(kind, lang, p=pct.get("parameter", ""), s=pct.get("seed", ""), d=pct["discrepancy"],
                     ps=pct.get("parameters_and_seeds", ""))


def _interventions_html(res: Results, lang: str) -> str:
    """The scenario's interventions, numbered as on the figures (dotted vertical lines)."""
    ivs = interventions(res)
    if not len(ivs):
        return ""
    items = []
    for _, iv in ivs.iterrows():
        what = i18n.intervention_label(iv, lang)
        items.append(f"<li value='{int(iv['number'])}'>{_e(i18n.day_label(iv['date'], lang))} — {_e(what)}</li>")
    return "\n".join([f"<h2 id='interventions'>{_e(i18n.text('interventions_heading', lang))}</h2>",
                      f"<p class='note'>{_e(i18n.text('interventions_intro', lang))}</p>", "<ol>", *items, "</ol>"])


def _share_html(share: float, lang: str) -> str:
    width = max(0.0, min(share, 1.0)) * 100
    return (f"<span class='bar' aria-hidden='true'><span class='{'ok' if share >= 1 else ''}' "
            f"style='width:{width:.0f}%'></span></span>{_e(i18n.percent(share, lang))}")


def _target_table_html(table: pd.DataFrame, res: Results, lang: str, ens: EnsembleView | None = None) -> str:
    at = i18n.month_label(str(table["at"].iloc[0]), lang) if len(table) else ""
    years = year_columns(table)
    head = [i18n.text("sector", lang), i18n.text("target", lang), i18n.text("observed_at", lang, at=at),
            i18n.text("achieved_at", lang, at=at), i18n.text("share_of_target", lang), i18n.text("reached", lang),
            *([i18n.text("reached_share_col", lang)] if ens is not None else []),
            *(i18n.text("year_col", lang, year=y) for y in years)]
    last_year = res.manifest["months"][-1][:4]
    rows = []
    for _, r in table.iterrows():
        b = _bands_of(r, ens)
        cells = _target_cells(r, lang, b, last_year)
        if ens is not None:
            cells.append(_share_html(b.shown[1], lang) if b is not None else "—")
        cells = [f"<td class='txt'>{_label_cell(r, res, lang)}</td>", *(f"<td>{c}</td>" for c in cells),
                 *(f"<td>{_e(i18n.number(r[y], lang))}</td>" for y in years)]
        rows.append(f"<tr class='{r['kind']}' data-row='{_e(r['row'])}'>{''.join(cells)}</tr>")
    return _table(head, rows, "target-table", with_assumption_note=bool(table["assumption"].any()), lang=lang)


def _comparison_table_html(tables: dict[str, pd.DataFrame], results_by_name: dict[str, Results], lang: str) -> str:
    first = next(iter(tables.values()))
    at = i18n.month_label(str(first["at"].iloc[0]), lang) if len(first) else ""
    years = sorted({y for t in tables.values() for y in year_columns(t)})
    head = [i18n.text("sector", lang), i18n.text("scenario", lang), i18n.text("target", lang),
            i18n.text("observed_at", lang, at=at), i18n.text("achieved_at", lang, at=at),
            i18n.text("share_of_target", lang), i18n.text("reached", lang),
            *(i18n.text("year_col", lang, year=y) for y in years)]
    keys = list(dict.fromkeys(k for t in tables.values() for k in t["row"]))
    rows = []
    any_assumption = False
    for key in keys:
        shown = 0
        for name, t in tables.items():
            hit = t[t["row"] == key]
            if not len(hit):
                continue
            r = hit.iloc[0]
            any_assumption |= bool(r["assumption"])
            cells = _target_cells(r, lang)
            if shown:  # the sector, its target and the published figure are said once per group
                label, cells[0], cells[1] = "", "", ""
            else:
                label = _label_cell(r, results_by_name[name], lang)
            cells = [f"<td class='txt'>{label}</td>", f"<td class='txt'>{_e(name)}</td>",
                     *(f"<td>{c}</td>" for c in cells),
                     *(f"<td>{_e(i18n.number(r[y], lang)) if y in r.index else '—'}</td>" for y in years)]
            css = f"{r['kind']}{' first' if not shown else ' more'}"
            rows.append(f"<tr class='{css}' data-row='{_e(key)}' data-scenario='{_e(name)}'>{''.join(cells)}</tr>")
            shown += 1
    return _table(head, rows, "target-table", with_assumption_note=any_assumption, lang=lang, text_columns=2)


def _table(head: list[str], rows: list[str], css_id: str, with_assumption_note: bool, lang: str,
           text_columns: int = 1) -> str:
    ths = "".join(f"<th class='{'txt' if i < text_columns else ''}' scope='col'>{_e(h)}</th>" for i, h in enumerate(head))
    out = [f"<div class='table-wrap'><table id='{css_id}'>", f"<thead><tr>{ths}</tr></thead>",
           "<tbody>", *rows, "</tbody></table></div>"]
    if with_assumption_note:
        out.append(f"<p class='note assumption'>{_e(i18n.text('assumption_note', lang))}</p>")
    return "\n".join(out)


def _figure_html(f: RenderedFigure, lang: str = "fr") -> str:
    w, h = _png_size(f.png)
    data = base64.b64encode(f.png).decode("ascii")
    stem = f.key if lang == "fr" else f"{f.key}.{lang}"
    return (f"<figure id='fig-{f.key}'>\n<h3>{_e(f.title)}</h3>\n"
            f"<img src='data:image/png;base64,{data}' alt='{_e(f.alt)}' width='{w}' height='{h}'>\n"
            f"<figcaption>{_e(f.caption)} <a href='{FIGURES_DIR}/{stem}.svg'>SVG</a> · "
            f"<a href='{FIGURES_DIR}/{stem}.png'>PNG</a></figcaption>\n</figure>")


def _footer(res: Results, lang: str, observed: pd.DataFrame | None) -> str:
    parts = []
    if observed is not None and len(observed):
        srcs = sorted({part.strip() for s in observed["source"] for part in str(s).split(";") if part.strip()})
        parts.append(_e(i18n.text("sources", lang, sources="; ".join(srcs))))
    parts.append(_e(i18n.text("downloads", lang)))
    parts.append(_e(i18n.text("generated", lang, version=res.manifest.get("version", "?"))))
    return "<footer>" + "<br>".join(parts) + "</footer>"


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


# -- files -----------------------------------------------------------------------------------

def _write(target: Path, page: str, figures: list[RenderedFigure], lang: str = "fr") -> None:
    """Write the figures (PNG + SVG) into ``figures/`` beside ``target``, then the page; each file
    atomically. French figures are ``figures/<key>.png``, other languages ``figures/<key>.<lang>.png``,
    so an English report never replaces the French one's files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fig_dir = target.parent / FIGURES_DIR
    fig_dir.mkdir(exist_ok=True)
    suffix = "" if lang == "fr" else f".{lang}"
    for f in figures:
        _atomic_write(fig_dir / f"{f.key}{suffix}.png", f.png)
        _atomic_write(fig_dir / f"{f.key}{suffix}.svg", f.svg)
    _atomic_write(target, page.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
