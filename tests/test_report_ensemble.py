"""The report of an ensemble (`segur run --replications N`): each target's attainment month as a
band over the replications, the share that reach it, and where the parameter draws came from."""

from __future__ import annotations

import copy
import html
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from reports import i18n
from reports.html import render_report
from reports.observed import observed_figures
from reports.tables import target_table
from simulator.cli import main
from simulator.engine.results import Results
from tests.conftest import BASELINE
from tests.support_reports import english_fragments, visible_text

SCALE = 0.001
LAST_YEAR = "2023"
POSTERIOR = (
    "# data_cutoff: 2023-06-30\n# method: two test draws, one feeding little and one a lot\n"
    "# date: 2026-11-30 06:00 UTC\n# commit: abc1234\n"
    # the hospitals' habit level too: their outpatient flows (issue 24) learn toward it
    "sectors.biology.intensity_mean,sectors.hospital.intensity_mean,sectors.hospital.learning.final_mean\n"
    "0.05,0.05,0.05\n0.99,0.99,0.99\n"
)


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory):
    """`segur run --replications 3` over 2023 at scale 0.001 (about 8 s with its report), drawing
    from a two-row posterior file beside the scenario: replications 1 and 3 feed the DMP little,
    replication 2 a lot. Two targets added: one every replication reaches in its first month,
    one none ever reaches."""
    folder = tmp_path_factory.mktemp("ensemble")
    path = folder / "short.toml"
    path.write_text(
        f'extends = "{BASELINE.as_posix()}"\nname = "short"\n\n[run]\nstart = 2023-01-01\nend = 2023-12-31\n\n'
        '[targets.easy]\nvalue = 1000\nsectors = ["hospital"]\n\n'
        '[targets.never]\nvalue = 1_000_000_000_000\nsectors = ["gp", "biology"]\nassumption = true\n',
        encoding="utf-8")
    (folder / "short.posterior.csv").write_text(POSTERIOR, encoding="utf-8")
    out = folder / "out"
    assert main(["run", str(path), "--replications", "3", "--scale", str(SCALE), "--workers", "1",
                 "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def ensemble(ensemble_dir) -> Results:
    return Results.load(ensemble_dir)


def _page(res: Results, lang: str) -> str:
    """The page with its text unescaped (l'atteignent, not l&#x27;atteignent); tags kept."""
    return html.unescape(render_report(res, [], target_table(res), lang, observed_figures()))


def _row(section: str, key: str) -> str:
    return re.search(rf"<tr class='[a-z]+' data-row='{key}'>(.*?)</tr>", section, flags=re.S).group(1)


def _cells(row: str) -> list[str]:
    """A table row's cells as text (tags stripped)."""
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]


REACHED = {"answer": 4, "targets": 5}  # column of "target reached in"; the share reaching it is the next


def _answer(page: str) -> str:
    return page[page.index("id='answer'"):page.index("id='targets'")]


def _targets(page: str) -> str:
    return page[page.index("id='targets'"):page.index("id='figures'")]


def _row_key(res: Results, key: str) -> str:
    """The target table's row of target ``key`` (a sector's own target sits on the sector's row)."""
    t = target_table(res)
    return str(t.loc[t["target_key"] == key, "row"].iloc[0])


def _expected_band(reached: np.ndarray, lang: str) -> tuple[str, str]:
    """p50 (p5 – p95) of the month reached, worked out here from the sorted values: the
    'inverted_cdf' quantile p of n values is the ceil(p·n)-th smallest; a value past the run's
    end (censored) reads "not by"."""
    v = np.sort(reached)
    end = 2023 + 11 / 12 + 1e-9

    def label(x: float) -> str:
        if x > end:
            return i18n.text("not_by", lang, year=LAST_YEAR)
        k = int(round(x * 12))
        return i18n.month_label(f"{k // 12}-{k % 12 + 1:02d}", lang)

    lo, mid, hi = (label(v[math.ceil(p * len(v)) - 1]) for p in (0.05, 0.5, 0.95))
    text = mid if lo == mid == hi else i18n.text("pband", lang, p50=mid, p5=lo, p95=hi)
    return text, i18n.percent(float(np.mean(v <= end)), lang)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_each_target_shows_its_attainment_band_and_share(ensemble, lang):
    page = _page(ensemble, lang)
    reps = ensemble.tables["replications"]
    assert (reps["status"] == "ok").all() and len(reps) == 3
    assert i18n.text("reached_share_col", lang) in page
    for key in ensemble.manifest["scenario"]["targets"]:
        band, share = _expected_band(reps[f"target_reached_{key}"].to_numpy(dtype=float), lang)
        row_key = _row_key(ensemble, key)
        for where, section in (("answer", _answer(page)), ("targets", _targets(page))):
            cells = _cells(_row(section, row_key))
            assert cells[REACHED[where]:REACHED[where] + 2] == [band, share], (key, where, cells)
    # the answer gives the volume at the end as median (p5 – p95) over the replications
    gp = reps["dmp_last12_gp"].to_numpy(dtype=float)
    volume = i18n.text("pband", lang, p50=i18n.number(np.median(gp), lang), p5=i18n.number(np.quantile(gp, 0.05), lang),
                       p95=i18n.number(np.quantile(gp, 0.95), lang))
    assert volume in _row(_answer(page), "gp")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_targets_reached_by_all_some_and_none(ensemble, lang):
    answer = _answer(_page(ensemble, lang))
    col = REACHED["answer"]
    not_by = i18n.text("not_by", lang, year=LAST_YEAR)
    easy = _cells(_row(answer, _row_key(ensemble, "easy")))  # every replication, in the first month
    assert easy[col:col + 2] == [i18n.month_label("2023-01", lang), i18n.percent(1.0, lang)]
    never = _cells(_row(answer, "never"))  # no replication reaches it: said once, no band, 0 %
    assert never[col:col + 2] == [not_by, i18n.percent(0.0, lang)]
    # the hospitals' 20M a year: reached when the draw feeds a lot (replication 2), not otherwise
    hospital = _cells(_row(answer, "hospital"))
    band = re.fullmatch(r"(.*) \(p5 (.*) – p95 (.*)\)", hospital[col])
    assert band and band.group(1) == band.group(3) == not_by and band.group(2).endswith(LAST_YEAR)
    assert hospital[col + 1] == i18n.percent(1 / 3, lang)


def test_the_posterior_provenance_is_in_the_manifest_and_the_report(ensemble_dir, ensemble):
    post = json.loads((ensemble_dir / "manifest.json").read_text(encoding="utf-8"))["ensemble"]["posterior"]
    assert post["file"] == "short.posterior.csv" and post["draws"] == 2
    assert post["data_cutoff"] == "2023-06-30" and post["commit"] == "abc1234" and post["method"].startswith("two test")
    for lang, cutoff in (("fr", "30 juin 2023"), ("en", "30 Jun 2023")):
        page = _page(ensemble, lang)
        part = page[page.index("id='ensemble'"):page.index("id='targets'")]
        said = i18n.text("params_posterior", lang, file="short.posterior.csv", draws=2, cutoff=cutoff)
        assert said in part
        assert f"<q>{post['method']}</q>" in part and "abc1234" in part and "2026-11-30 06:00 UTC" in part
        assert page.index("id='answer'") < page.index("id='ensemble'") < page.index("id='targets'")


def test_french_ensemble_page_has_no_english_line(ensemble):
    text = visible_text(_page(ensemble, "fr"))
    assert "réplications" in text
    assert english_fragments(text) == []


def _with_manifest(res: Results, change) -> Results:
    man = copy.deepcopy(res.manifest)
    change(man["ensemble"])
    return Results(dict(res.tables), man)


def test_folders_written_before_the_provenance_block_still_say_where_draws_came_from(ensemble):
    older = _with_manifest(ensemble, lambda e: e.pop("posterior"))  # only the `parameters` line
    part = _page(older, "en")
    assert i18n.text("params_posterior", "en", file="short.posterior.csv", draws=2,
                     cutoff="30 Jun 2023") in part
    seeds = _with_manifest(ensemble, lambda e: (e.pop("posterior"), e.update(
        parameters="the scenario's values in every replication (seeds only)")))
    assert i18n.text("params_seeds", "fr") in _page(seeds, "fr")
    bare = _with_manifest(ensemble, lambda e: (e.pop("posterior"), e.pop("parameters")))
    assert i18n.text("params_unknown", "fr") in _page(bare, "fr")


def test_failed_replications_are_left_out_and_old_tables_fall_back(ensemble):
    reps = ensemble.tables["replications"].copy()
    outputs = [c for c in reps.columns if c.startswith(("dmp_last12", "share_of", "target_reached"))]
    reps[outputs] = reps[outputs].astype(object)
    reps.loc[1, "status"] = "failed"  # as a folder reads back: a failed row's outputs are empty
    reps.loc[1, outputs] = ""
    failed = Results({**ensemble.tables, "replications": reps}, copy.deepcopy(ensemble.manifest))
    page = _page(failed, "en")
    assert i18n.text("ensemble_intro", "en", n=3, completed=2) in page
    hospital = _cells(_row(_answer(page), "hospital"))  # replication 2, the only one to reach it, failed
    assert hospital[REACHED["answer"]:REACHED["answer"] + 2] == [i18n.text("not_by", "en", year=LAST_YEAR), "0%"]
    # a folder whose replications lack the attainment outputs: the representative run's month, no crash
    old = reps.drop(columns=[c for c in reps.columns if c.startswith("target_reached")])
    page = _page(Results({**ensemble.tables, "replications": old}, copy.deepcopy(ensemble.manifest)), "fr")
    rep_month = target_table(ensemble).set_index("row").loc["hospital", "reached"]
    expected = i18n.month_label(rep_month, "fr") if rep_month else i18n.text("not_reached_by", "fr", year=LAST_YEAR)
    assert _cells(_row(_answer(page), "hospital"))[REACHED["answer"]:] == [expected, "—"]


def test_a_single_run_report_is_unchanged(small_results):
    page = _page(small_results, "fr")
    assert "id='ensemble'" not in page and i18n.text("reached_share_col", "fr") not in page
    assert "(p5" not in page and i18n.text("replications", "fr") not in page


def test_the_run_writes_and_segur_report_rebuilds_the_bands_in_both_languages(ensemble_dir, ensemble):
    for lang, name in (("fr", "report.html"), ("en", "report.en.html")):
        if lang != "fr":  # the French report is the one `segur run` wrote
            assert main(["report", str(ensemble_dir), "--lang", lang, "--quiet"]) == 0
        page = html.unescape((ensemble_dir / name).read_text(encoding="utf-8"))
        band, _ = _expected_band(ensemble.tables["replications"]["target_reached_hospital"].to_numpy(dtype=float), lang)
        assert _cells(_row(_answer(page), "hospital"))[REACHED["answer"]] == band and "short.posterior.csv" in page
    assert pd.read_csv(ensemble_dir / "replications.csv")["status"].eq("ok").all()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_report_says_which_part_of_the_band_is_structural_discrepancy(ensemble, lang):
    res = copy.deepcopy(ensemble)
    assert "id='discrepancy'" not in _page(res, lang)  # a run without a discrepancy file says nothing of it
    res.manifest["ensemble"]["discrepancy"] = {
        "file": "short.discrepancy.csv", "data_cutoff": "2023-06-30",
        "dmp_last_12_months": {"p5": 150e6, "p50": 200e6, "p95": 260e6}, "share_model": 0.3, "share_discrepancy": 0.7}
    page = _page(res, lang)
    note = re.search(r"<p id='discrepancy'>(.*?)</p>", page, flags=re.S).group(1)
    assert "short.discrepancy.csv" in note and i18n.number(200e6, lang) in note and i18n.number(260e6, lang) in note
    assert ("200,0" in note) == (lang == "fr")  # numbers written as the language writes them
    assert "30%" in note and "70%" in note


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_target_tables_show_the_month_with_the_discrepancy_and_the_model_alone_below(ensemble, lang):
    res = copy.deepcopy(ensemble)
    reps = res.tables["replications"].copy()
    model = reps["target_reached_hospital"].to_numpy(dtype=float)
    # with the discrepancy: replication 1 reaches it 3 months earlier, the others never (past the run's end)
    with_disc = np.array([model.min() - 0.25, 2030.0, 2030.0])
    reps["target_reached_with_discrepancy_hospital"] = with_disc
    res.tables["replications"] = reps
    res.manifest["ensemble"]["discrepancy"] = {
        "file": "short.discrepancy.csv", "data_cutoff": "2023-06-30", "share_model": 0.3, "share_discrepancy": 0.7,
        "dmp_last_12_months": {"p5": 150e6, "p50": 200e6, "p95": 260e6},
        "parts": {"parameter": 0.2, "seed": 0.1, "parameters_and_seeds": 0.3, "discrepancy": 0.7, "split": "draws repeat"}}
    page = _page(res, lang)
    band, share = _expected_band(with_disc, lang)
    alone, _ = _expected_band(model, lang)
    for where, section in (("answer", _answer(page)), ("targets", _targets(page))):
        cells = _cells(_row(section, _row_key(res, "hospital")))
        assert cells[REACHED[where]:REACHED[where] + 2] == [band + i18n.text("model_alone", lang, band=alone), share]
    assert share == i18n.percent(1 / 3, lang)  # the share reaching it is the discrepancy's too
    parts = re.search(r"<p id='band-parts'>(.*?)</p>", page, flags=re.S).group(1)
    assert all(i18n.percent(x, lang) in parts for x in (0.2, 0.1, 0.7))
    note = re.search(r"<p id='discrepancy'>(.*?)</p>", page, flags=re.S).group(1)
    assert i18n.text("discrepancy_targets", lang) in note
    # another target without the column keeps the model's band, with no "model alone" line
    assert i18n.text("model_alone", lang, band="") not in _row(_answer(page), "never")


def test_a_run_with_a_discrepancy_file_carries_it_in_summary_manifest_and_report(tmp_path, capsys):
    """The short scenario with a posterior and a discrepancy file beside it (cut-off mid-2023)."""
    path = tmp_path / "short.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "short"\n\n[run]\nstart = 2023-01-01\nend = 2023-12-31\n',
                    encoding="utf-8")
    (tmp_path / "short.posterior.csv").write_text(POSTERIOR, encoding="utf-8")
    (tmp_path / "short.discrepancy.csv").write_text(
        "# data_cutoff: 2023-06-30\ngroup,rows,level_sd,drift_sd\npooled,5,0.2,0.05\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--replications", "3", "--scale", str(SCALE), "--workers", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "national estimates with the structural discrepancy" in text
    assert "variance of its log" in text and "structural discrepancy" in text
    assert "with the structural discrepancy: " in text  # each target's month, with it
    assert re.search(r"parameters \d+%, seeds \d+%, structural discrepancy \d+%|parameters and seeds \d+%", text)
    reps = pd.read_csv(out / "replications.csv")
    for key in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["scenario"]["targets"]:
        col = reps[f"target_reached_with_discrepancy_{key}"]
        assert col.notna().all() and (col >= 2023).all()
    block = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["ensemble"]["discrepancy"]
    assert block["file"] == "short.discrepancy.csv" and block["data_cutoff"] == "2023-06-30"
    q = block["dmp_last_12_months"]
    assert q["p5"] <= q["p50"] <= q["p95"] and 0 <= block["share_discrepancy"] <= 1
    assert block["parts"]["split"] in ("draws repeat", "together")  # 3 replications over 2 draws
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "id='discrepancy'" in page and "id='band-parts'" in page and "model-alone" in page
