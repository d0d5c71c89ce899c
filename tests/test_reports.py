"""Reports: plot data come from the results tables, the target table, the HTML page, `segur report`."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest

from reports import build_comparison_report, build_report, figures, i18n, plotdata
from reports.html import render_report
from reports.observed import observed_figures
from reports.tables import report_month, target_table, year_columns
from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.engine.outputs import reached_month
from simulator.engine.results import Results
from tests.support_reports import english_fragments, visible_text


def with_table(res: Results, name: str, df: pd.DataFrame) -> Results:
    """A copy of ``res`` with one table replaced (the manifest deep-copied)."""
    return Results({**res.tables, name: df}, copy.deepcopy(res.manifest))


def dmp_accepted(res: Results) -> pd.DataFrame:
    d = res.tables["documents"]
    return d[(d["channel"] == "dmp") & (d["outcome"] == "accepted")]


# -- plot data: from the tables, and following them ------------------------------------------

def test_monthly_documents_are_the_accepted_dmp_documents(small_results):
    m = plotdata.monthly_documents(small_results)
    assert len(m) == len(small_results.manifest["months"]) * len(small_results.manifest["sectors"])
    expected = dmp_accepted(small_results).groupby("sector")["documents"].sum()
    got = m.groupby("sector")["documents"].sum()
    pd.testing.assert_series_equal(got[expected.index], expected, check_names=False)


def test_changing_the_documents_table_changes_the_figure_data(small_results):
    docs = small_results.tables["documents"].copy()
    docs.loc[docs["sector"] == "gp", "documents"] *= 2
    changed = with_table(small_results, "documents", docs)
    before = plotdata.annualised(small_results).set_index(["month", "panel"])["annualised"]
    after = plotdata.annualised(changed).set_index(["month", "panel"])["annualised"]
    gp = before.xs("gp", level="panel")
    assert gp.sum() > 0
    np.testing.assert_allclose(after.xs("gp", level="panel"), 2 * gp)
    np.testing.assert_allclose(after.xs("biology", level="panel"), before.xs("biology", level="panel"))
    np.testing.assert_allclose(after.xs(plotdata.ALL, level="panel") - before.xs(plotdata.ALL, level="panel"), gp)


def test_annualised_is_twelve_months_and_all_is_the_sum(small_results):
    a = plotdata.annualised(small_results)
    np.testing.assert_allclose(a["annualised"], 12 * a["documents"])
    wide = a.pivot(index="month", columns="panel", values="documents")
    np.testing.assert_allclose(wide[plotdata.ALL], wide[small_results.manifest["sectors"]].sum(axis=1))


def test_draw_annualised_plots_the_plot_data(small_results):
    a = plotdata.annualised(small_results)
    labels = figures.panel_labels(small_results, "fr")
    fig = figures.draw_annualised(a, plotdata.targets(small_results), plotdata.observed_points(small_results, None),
                                  None, labels, "fr")
    gp_ax = next(ax for ax in fig.axes if ax.get_title() == labels["gp"])
    line = max(gp_ax.get_lines(), key=lambda ln: len(ln.get_ydata()))
    np.testing.assert_allclose(line.get_ydata(), a.loc[a["panel"] == "gp", "annualised"])
    assert any(abs(ln.get_ydata()[0] - 120e6) < 1 for ln in gp_ax.get_lines() if len(ln.get_ydata()) == 2)


def test_quantile_band_is_read_annualised_and_drawn():
    months = ["2023-01", "2023-02", "2023-03"]
    q = pd.DataFrame([
        {"month": m, "sector": s, "channel": ch, "outcome": "accepted", "p5": base * 0.9, "p50": base, "p95": base * 1.1}
        for m in months for s, base in (("gp", 1e6), ("all", 3e6)) for ch in ("dmp", "mssante_pro")])
    res = Results({"documents_quantiles": q}, {"months": months, "sectors": ["gp"], "scenario": {}})
    band = plotdata.quantile_band(res)
    assert set(band["panel"]) == {"gp", "all"} and len(band) == 6
    np.testing.assert_allclose(band.loc[band["panel"] == "gp", "p50"], 12e6)
    data = pd.DataFrame({"month": months * 2, "panel": ["gp"] * 3 + ["all"] * 3, "annualised": [11e6] * 3 + [35e6] * 3})
    empty_targets = pd.DataFrame(columns=["key", "panel", "value", "assumption"])
    empty_obs = pd.DataFrame(columns=["month", "panel", "value", "lower_bound"])
    fig = figures.draw_annualised(data, empty_targets, empty_obs, band, {"gp": "GP", "all": "All"}, "en")
    fills = [c for ax in fig.axes for c in ax.collections]
    assert len(fills) == 2  # one p5–p95 band per panel
    top = fills[0].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(12e6 * 1.1)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert i18n.text("band", "en") in legend


def test_band_needs_one_row_per_month_and_sector():
    q = pd.DataFrame({"month": ["2023-01"] * 2, "sector": ["gp"] * 2, "doc_type": ["a", "b"],
                      "p5": [1.0, 2.0], "p50": [1.0, 2.0], "p95": [1.0, 2.0]})
    res = Results({"documents_quantiles": q}, {"months": ["2023-01"], "sectors": ["gp"], "scenario": {}})
    assert plotdata.quantile_band(res).empty  # quantiles cannot be summed over doc types


def test_observed_points_land_on_their_panels(small_results):
    obs = pd.DataFrame([
        {"date": "2023-09", "metric": "documents_annual_rate", "sector": "gp", "value": 25e6, "bound": "point"},
        {"date": "2023-08", "metric": "documents_per_month", "sector": "biology", "value": 6e6, "bound": "lower"},
        {"date": "2021", "metric": "documents_per_year", "sector": "all", "value": 6e6, "bound": "point"},
        {"date": "2035-01", "metric": "documents_annual_rate", "sector": "gp", "value": 1.0, "bound": "point"},
        {"date": "2023-09", "metric": "mes_profiles_open", "sector": "all", "value": 66e6, "bound": "point"},
    ])
    pts = plotdata.observed_points(small_results, obs).set_index("panel")
    assert sorted(pts.index) == ["all", "biology", "gp"]
    assert pts.loc["biology", "value"] == 72e6 and bool(pts.loc["biology", "lower_bound"])
    assert pts.loc["gp", "value"] == 25e6 and not bool(pts.loc["gp", "lower_bound"])
    assert pts.loc["all", "month"] == "2021-07"


def test_gp_activity_shares_follow_the_gp_activity_table(small_results):
    shares = plotdata.gp_activity_shares(small_results)
    assert set(shares["threshold"]) == set(plotdata.GP_THRESHOLDS)
    assert shares["share"].between(0, 1).all()
    wide = shares.pivot(index="month", columns="threshold", values="share")
    assert (wide.diff(axis=1).iloc[:, 1:] <= 1e-12).all().all()  # more documents, fewer GPs
    g = small_results.tables["gp_activity"]
    month = wide.index[wide[1].to_numpy().argmax()]
    assert wide.loc[month, 1] == pytest.approx((g.loc[g["month"] == month, "documents"] >= 1).mean())
    zeroed = g.copy()
    zeroed.loc[zeroed["month"] == month, "documents"] = 0
    after = plotdata.gp_activity_shares(with_table(small_results, "gp_activity", zeroed))
    assert (after.loc[after["month"] == month, "share"] == 0).all()


def test_dmp_failures_account_for_every_rejection_and_drop(small_results):
    f = plotdata.dmp_failures(small_results)
    d = small_results.tables["documents"]
    expected = d[(d["channel"] == "dmp") & d["outcome"].isin(["rejected", "dropped"])]["documents"].sum()
    assert f["documents"].sum() == pytest.approx(expected)
    assert expected > 0 and set(f["outcome"]) <= {"rejected", "dropped"}


def test_profile_states_open_includes_activated(small_results):
    p = plotdata.profile_states(small_results).pivot(index="month", columns="state", values="persons")
    t = small_results.tables["profiles"].pivot(index="month", columns="state", values="persons")
    np.testing.assert_allclose(p["open_all"], (t["open"] + t["activated"]).reindex(p.index))
    np.testing.assert_allclose(p["activated"], t["activated"].reindex(p.index))


def test_mssante_routes_count_every_message(small_results):
    r = plotdata.mssante_routes(small_results)
    d = small_results.tables["documents"]
    for route in plotdata.ROUTES:
        assert r.loc[r["route"] == route, "sent"].sum() == pytest.approx(d.loc[d["channel"] == route, "documents"].sum())
    assert (r["delivered"] + r["bounced"] <= r["sent"] + 1e-6).all()


# -- target table ----------------------------------------------------------------------------

def test_target_table_rows_and_values(small_results):
    t = target_table(small_results)
    sectors = small_results.manifest["sectors"]
    assert list(t.loc[t["kind"] == "sector", "row"]) == sectors
    assert "wave1" in set(t.loc[t["kind"] == "group", "row"])
    assert (t["at"] == "2023-09").all()
    mon = plotdata.monthly_documents(small_results)
    gp_mon = mon[mon["sector"] == "gp"].set_index("month")["documents"]
    gp = t.set_index("row").loc["gp"]
    assert gp["achieved"] == pytest.approx(gp_mon.loc["2022-10":"2023-09"].sum())  # the 12 months up to Sept 2023
    assert gp["end"] == "2027-12" and gp["achieved_end"] == pytest.approx(gp_mon.loc["2027-01":"2027-12"].sum())
    assert gp["target"] == 120e6 and gp["share"] == pytest.approx(gp["achieved"] / 120e6)
    assert np.isnan(t.set_index("row").loc["pharmacy", "target"])  # no target of its own
    years = year_columns(t)
    assert years and years[0] == "2023" and years[-1] == small_results.manifest["months"][-1][:4]
    assert gp["2024"] == pytest.approx(mon.loc[mon["month"].str.startswith("2024") & (mon["sector"] == "gp"), "documents"].sum())
    total = t.set_index("row").loc["wave1"]
    assert total["achieved"] == pytest.approx(t.loc[t["kind"] == "sector", "achieved"].sum())


def test_target_reached_is_the_first_month_whose_trailing_12_months_reach_the_target(small_results):
    docs = small_results.tables["documents"].copy()
    hosp = (docs["sector"] == "hospital") & (docs["channel"] == "dmp") & (docs["outcome"] == "accepted")
    docs.loc[hosp, "documents"] = 0.0

    def reached(volumes: dict[str, float]) -> str:
        d = docs.copy()
        for month, v in volumes.items():
            d.loc[d[hosp & (d["month"] == month)].index[0], "documents"] = v
        res = with_table(small_results, "documents", d)
        row = target_table(res).set_index("row").loc["hospital", "reached"]
        assert (row or None) == reached_month(res, "hospital")  # the report and the outputs agree
        return row

    year_2024 = {f"2024-{m:02d}": 1.7e6 for m in range(1, 13)}  # 20.4M over 2024; 18.7M up to November
    assert reached(year_2024) == "2024-12"
    # a seasonal peak (2.0M × 12 = 24M "annualised") does not reach a 20M-a-year target: 11 × 1.5M + 2M = 18.5M
    peak = {f"2025-{m:02d}": 1.5e6 for m in range(1, 13)} | {"2025-06": 2e6}
    assert reached(peak) == ""
    assert reached({"2022-05": 21e6}) == "2022-05"  # a month that alone makes the year's target


def test_report_month_defaults_and_errors(small_results):
    assert report_month(small_results) == "2023-09"
    short = Results(small_results.tables, {**small_results.manifest, "months": ["2021-01", "2021-02"]})
    assert report_month(short) == "2021-02"
    assert report_month(small_results, "2025-06") == "2025-06"
    with pytest.raises(UsageError, match="not in the run"):
        report_month(small_results, "2035-01")
    with pytest.raises(UsageError, match="YYYY-MM"):
        report_month(small_results, "sept 2023")


def test_assumption_targets_are_labelled(small_results):
    man = copy.deepcopy(small_results.manifest)
    man["scenario"]["targets"]["radiology"]["assumption"] = True
    res = Results(small_results.tables, man)
    for lang, word in (("fr", "hypothèse"), ("en", "assumption")):
        page = render_report(res, [], target_table(res), lang, observed_figures())
        row = re.search(r"<tr class='sector' data-row='radiology'>.*?</tr>", page).group(0)
        assert f"({word})" in row
        other = re.search(r"<tr class='sector' data-row='gp'>.*?</tr>", page).group(0)
        assert f"({word})" not in other
    fig = figures.draw_annualised(plotdata.annualised(res), plotdata.targets(res), plotdata.observed_points(res, None),
                                  None, figures.panel_labels(res, "en"), "en")
    marked = [t.get_text() for ax in fig.axes for t in ax.texts if "(assumption)" in t.get_text()]
    assert marked == ["target 35M (assumption)"]


# -- the HTML report -------------------------------------------------------------------------

def test_run_writer_puts_report_and_figures_in_the_results_folder(small_report, small_results):
    page = (small_report / "report.html").read_text(encoding="utf-8")
    pngs = sorted((small_report / "figures").glob("*.png"))
    svgs = sorted((small_report / "figures").glob("*.svg"))
    assert len(pngs) == 6 and [p.stem for p in pngs] == [s.stem for s in svgs]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert all(b"<svg" in s.read_bytes()[:2000] for s in svgs)
    imgs = re.findall(r"<img [^>]*>", page)
    assert len(imgs) == len(pngs)
    assert all(re.search(r"src='data:image/png;base64,[A-Za-z0-9+/=]{100,}'", i) for i in imgs)
    alts = [re.search(r"alt='([^']*)'", i).group(1) for i in imgs]
    assert all(len(a) > 40 for a in alts)
    man = small_results.manifest
    assert "<html lang='fr'>" in page
    for shown in (man["scenario_name"], f"<b>{man['seed']}</b>", f"<b>{man['scale']}</b>", f"<b>{man['version']}</b>"):
        assert shown in page


def test_report_is_self_contained(small_report):
    page = (small_report / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)\b", page, re.I)
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page, re.I)
    assert "@import" not in page and "url(" not in page


@pytest.mark.slow
def test_french_labels_by_default_and_english_on_request(small_results, small_report, tmp_path):
    fr = (small_report / "report.html").read_text(encoding="utf-8")
    for label in ("Médecins de ville", "Biologie médicale", "Radiologie", "Hôpital", "Officines", "Objectif"):
        assert label in fr
    path = build_report(small_results, tmp_path, lang="en")
    en = path.read_text(encoding="utf-8")
    assert "<html lang='en'>" in en
    for label in ("GPs", "Medical biology", "Hospitals", "Target (docs/year)", "Where each sector stands"):
        assert label in en
    assert "Médecins de ville" not in en
    with pytest.raises(UsageError, match="--lang"):
        build_report(small_results, tmp_path, lang="de")


def test_comparison_report_puts_scenarios_side_by_side(small_results, tmp_path):
    docs = small_results.tables["documents"].copy()
    docs.loc[docs["sector"] == "gp", "documents"] *= 3
    faster = with_table(small_results, "documents", docs)
    faster.manifest["scenario_name"] = "gp_x3"
    path = build_comparison_report({"baseline": small_results, "gp_x3": faster}, tmp_path, lang="en")
    page = path.read_text(encoding="utf-8")
    assert path.name == "comparison.html" and (tmp_path / "figures" / "comparison_annualised.png").exists()
    rows = re.findall(r"<tr class='sector[^']*' data-row='gp' data-scenario='([^']*)'>(.*?)</tr>", page)
    assert [name for name, _ in rows] == ["baseline", "gp_x3"]
    assert "Médecins de ville" not in page and "GPs" in rows[0][1]
    for (_, cells), res in zip(rows, (small_results, faster), strict=True):
        achieved = target_table(res).set_index("row").loc["gp", "achieved"]
        assert f"<td>{i18n.number(achieved, 'en')}</td>" in cells
    assert "<td>120M</td>" in rows[0][1] and "<td>120M</td>" not in rows[1][1]  # the target said once
    assert len(re.findall(r"<img [^>]*alt='[^']+'", page)) == 1


# -- the command line ------------------------------------------------------------------------

@pytest.mark.slow
def test_segur_report_rebuilds_from_a_results_folder(small_results, tmp_path, capsys):
    out = small_results.save(tmp_path / "run")
    assert not (out / "report.html").exists()
    assert main(["report", str(out), "--quiet"]) == 0
    french = (out / "report.html").read_bytes()
    fr_figures = {p.name: p.read_bytes() for p in (out / "figures").iterdir()}
    assert main(["report", str(out), "--lang", "en", "--quiet"]) == 0
    # the English report is written beside the French one, whose page and figures are untouched
    assert "<html lang='en'>" in (out / "report.en.html").read_text(encoding="utf-8")
    assert (out / "report.html").read_bytes() == french
    assert all((out / "figures" / name).read_bytes() == data for name, data in fr_figures.items())
    assert len(list((out / "figures").glob("*.en.svg"))) == 6
    assert "figures/gp_activity.en.svg" in (out / "report.en.html").read_text(encoding="utf-8")
    elsewhere = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(out), "--out", str(elsewhere), "--at", "2024-12"]) == 0
    assert "Report written to" in capsys.readouterr().out
    assert elsewhere.exists() and (elsewhere.parent / "figures" / "gp_activity.png").exists()
    assert "déc. 2024" in elsewhere.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["{tmp}/nowhere"], "no such results folder"),
    (["{tmp}"], "not a results folder"),
    (["{run}", "--at", "2040-01"], "--at"),
    (["{run}", "--out", "{tmp}"], "is a folder"),
])
def test_segur_report_errors_are_one_line(small_results, tmp_path, capsys, args, message):
    run = tmp_path / "run"
    if any("{run}" in a for a in args):
        small_results.save(run)
    argv = ["report", *(a.format(tmp=tmp_path, run=run) for a in args)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("segur: error:")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_segur_report_rejects_an_unknown_language(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path), "--lang", "de"])
    assert exc.value.code == 2
    assert "--lang" in capsys.readouterr().err


@pytest.mark.slow
def test_segur_run_writes_the_report(tmp_path, repo_root):
    out = tmp_path / "run"
    code = main(["run", str(repo_root / "scenarios" / "baseline.toml"), "--scale", "0.001", "--seed", "5",
                 "--quiet", "--out", str(out)])
    assert code == 0
    assert (out / "report.html").exists() and (out / "manifest.json").exists()
    assert len(list((out / "figures").glob("*.png"))) == 6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_target_over_a_group_of_sectors_gets_its_own_panel_and_row(small_results):
    man = copy.deepcopy(small_results.manifest)
    man["scenario"]["targets"]["city"] = {"value": 150e6, "sectors": ["gp", "biology"], "assumption": True,
                                          "key_document": "", "source": "test"}
    res = Results(small_results.tables, man)
    a = plotdata.annualised(res).pivot(index="month", columns="panel", values="annualised")
    np.testing.assert_allclose(a["city"], a["gp"] + a["biology"])
    assert plotdata.targets(res).set_index("key").loc["city", "panel"] == "city"
    page = render_report(res, [], target_table(res), "fr", observed_figures())
    row = re.search(r"<tr class='group' data-row='city'>.*?</tr>", page).group(0)
    assert "Médecins de ville + Biologie médicale" in row and "(hypothèse)" in row


def test_report_of_a_short_run_without_targets(small_results, tmp_path):
    months = [f"2023-0{m}" for m in range(1, 7)]
    tables = {name: (df[df["month"].isin(months)] if "month" in df.columns else df)
              for name, df in small_results.tables.items()}
    man = copy.deepcopy(small_results.manifest)
    man["months"] = months
    man["scenario"]["targets"] = {}
    res = Results(tables, man)
    t = target_table(res)
    assert (t["at"] == "2023-06").all() and year_columns(t) == [] and t["target"].isna().all()
    page = build_report(res, tmp_path, lang="en").read_text(encoding="utf-8")
    assert page.count("<img ") == 6 and "no target of its own" in page


def test_a_failing_report_does_not_cost_the_run_its_tables(small_results, tmp_path, monkeypatch, capsys):
    import reports.html

    def broken(*args, **kwargs):
        raise RuntimeError("figure exploded")

    monkeypatch.setattr(reports.html, "report_figures", broken)
    out = small_results.save(tmp_path / "run", writers=[reports.html.write_report])
    assert (out / "manifest.json").exists() and (out / "documents.csv").exists()
    assert not (out / "report.html").exists() and not (out / "figures").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "figure exploded" in err[0] and "segur report" in err[0]


# -- the page opens with the answer, marks interventions, speaks one language ------------------

def test_french_page_has_no_english_line(small_report):
    text = visible_text((small_report / "report.html").read_text(encoding="utf-8"))
    assert english_fragments(text) == []


def test_report_opens_with_the_answer_at_the_end_of_the_projection(small_report, small_results):
    page = (small_report / "report.html").read_text(encoding="utf-8")
    assert page.index("id='answer'") < page.index("id='targets'") < page.index("id='figures'")
    answer = page[page.index("id='answer'"):page.index("id='targets'")]
    end = i18n.month_label(small_results.manifest["months"][-1], "fr")
    assert end in answer
    table = target_table(small_results).set_index("row")
    for key in small_results.manifest["scenario"]["targets"]:
        row = re.search(rf"<tr class='[a-z]+' data-row='{key}'>(.*?)</tr>", answer).group(1)
        assert i18n.number(table.loc[key, "achieved_end"], "fr") in row
        assert i18n.percent(table.loc[key, "share_end"], "fr") in row
        when = table.loc[key, "reached"]
        assert (i18n.month_label(when, "fr") if when else "non atteint") in row
    assert "data-row='wave1-mssante'" in answer and "MSSanté" in answer  # the DMP + MSSanté reading beside


def test_interventions_are_listed_and_marked_on_the_time_series(small_results):
    ivs = plotdata.interventions(small_results)
    assert len(ivs) == len(small_results.manifest["scenario"]["interventions"]) and list(ivs["number"]) == list(range(1, len(ivs) + 1))
    page = render_report(small_results, [], target_table(small_results), "fr", observed_figures())
    items = re.findall(r"<li value='(\d+)'>(.*?)</li>", page)
    assert [int(n) for n, _ in items] == list(range(1, len(items) + 1)) and len(items) == len(ivs) and "1 oct. 2023" in items[0][1]
    m = plotdata.monthly_documents(small_results)
    fig = figures.draw_monthly(m, plotdata.targets(small_results), {}, "fr", interventions=ivs)
    ax = fig.axes[0]
    dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert len(dotted) == len(ivs)
    x = dotted[0].get_xdata()[0]
    assert 2023 + 9 / 12 <= x < 2023 + 10 / 12  # 1 October 2023 on the decimal-year axis
    assert [t.get_text() for t in ax.texts][:len(ivs)] == [str(i) for i in range(1, len(ivs) + 1)]
