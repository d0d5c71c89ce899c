"""`segur compare`: the side-by-side tables against direct runs, target months with censoring,
replication bands, assumption labels, the atomic folder, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import re
import textwrap

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.engine.scenario import load_scenario
from simulator.studies.compare import (
    ASSUMPTION_NOTE,
    annual_volumes,
    first_month_reached,
    format_comparison,
    run_scenarios,
    runs_from_results,
    target_dates,
    write_comparison,
)
from tests.conftest import BASELINE

SEED, SCALE = 4, 0.001
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two short scenarios (to the end of 2023): ``a``, and ``b`` with GP uptake tripled."""
    d = tmp_path_factory.mktemp("scen")
    a = d / "a.toml"
    a.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "a"\n' + textwrap.dedent("""
        [run]
        end = 2023-12-31
        [targets.pharmacy_assumed]
        value = 1_000_000
        sectors = ["pharmacy"]
        assumption = true
        source = "test assumption"
    """), encoding="utf-8")
    b = d / "b.toml"
    b.write_text(textwrap.dedent("""
        extends = "a.toml"
        name = "b"
        [[interventions]]
        date = 2022-03-01
        kind = "campaign"
        path = "sectors.gp.uptake_q"
        factor = 3.0
        days = 600
    """), encoding="utf-8")
    return a, b


@pytest.fixture(scope="module")
def compared(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "ab"
    code = main(["compare", str(files[0]), str(files[1]), "--scale", str(SCALE), "--seed", str(SEED),
                 "--out", str(out), "--quiet"])
    return code, out


@pytest.mark.slow
def test_compare_writes_the_folder(compared):
    code, out = compared
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"volumes.csv", "target_dates.csv", "compare_targets.csv", "compare_volumes.csv", "comparison.png",
            "manifest.json"} <= names
    assert (out / "comparison.png").read_bytes()[:8] == PNG
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["kind"] == "segur-testbed comparison"
    assert [s["name"] for s in man["scenarios"]] == ["a", "b"]
    assert [s["seeds"] for s in man["scenarios"]] == [[SEED], [SEED]]  # common random numbers
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.fixture(scope="module")
def direct(files):
    """Scenario ``a`` run directly, with the seed and scale of the comparison."""
    return simulator.run(files[0], seed=SEED, scale=SCALE)


def test_tables_match_a_direct_run(compared, files, direct):
    _, out = compared
    res = direct
    monthly = res.monthly("dmp")
    vol = pd.read_csv(out / "volumes.csv", dtype={"year": str})
    row = vol[(vol["scenario"] == "a") & (vol["sector"] == "gp") & (vol["year"] == "2023") & (vol["channel"] == "dmp")]
    assert row["documents"].iloc[0] == pytest.approx(monthly.loc["2023-01":"2023-12", "gp"].sum())
    every = vol[(vol["scenario"] == "a") & (vol["channel"] == "dmp") & (vol["year"] == "2023")]
    assert every.loc[every["sector"] == "all", "documents"].iloc[0] == pytest.approx(every.loc[every["sector"] != "all", "documents"].sum())
    td = pd.read_csv(out / "target_dates.csv", keep_default_na=False)
    sc = load_scenario(files[0])
    for key, t in sc.targets.items():
        total = monthly[[s for s in t.sectors if s in monthly.columns]].sum(axis=1).rolling(12, min_periods=1).sum()
        hit = total[total >= t.value]  # the first month whose trailing 12-month total reaches the target
        expected = str(hit.index[0]) if len(hit) else "not by 2023"
        got = td[(td["scenario"] == "a") & (td["target"] == key)].iloc[0]
        assert got["reached"] == expected, key
        assert bool(got["assumption"]) == t.assumption
    wide = pd.read_csv(out / "compare_targets.csv", keep_default_na=False)
    assert {"a", "b"} <= set(wide.columns)
    assert "(assumption)" in wide.loc[wide["target"] == "pharmacy_assumed", "label"].iloc[0]
    assert "(assumption)" not in wide.loc[wide["target"] == "gp", "label"].iloc[0]


def test_scenario_difference_shows_in_the_direction_expected(compared):
    _, out = compared
    vol = pd.read_csv(out / "compare_volumes.csv", dtype={"year": str}).set_index(["sector", "year", "channel"])
    assert vol.loc[("gp", "2022", "dmp"), "b"] > vol.loc[("gp", "2022", "dmp"), "a"]
    # biology's own draws are the same; only the patients the GPs qualified (identity is per
    # patient, shared by every sector) move its accepted documents, and by little
    assert vol.loc[("biology", "2023", "dmp"), "b"] == pytest.approx(vol.loc[("biology", "2023", "dmp"), "a"], rel=0.01)


@pytest.mark.slow
def test_printed_table_labels_assumptions(files, tmp_path, capsys):
    code = main(["compare", str(files[0]), "--scale", str(SCALE), "--seed", str(SEED), "--out", str(tmp_path / "c")])
    text = capsys.readouterr().out
    assert code == 0
    assert "first month whose trailing 12-month total of accepted DMP documents is at least N" in text
    assert "pharmacy_assumed 1.0M/yr (assumption)" in text and ASSUMPTION_NOTE in text
    assert "DMP documents accepted per year" in text and "Comparison written to" in text


@pytest.mark.slow
def test_replications_give_medians_and_bands(files, tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["compare", str(files[0]), "--scale", str(SCALE), "--seed", str(SEED), "--replications", "2",
                 "--workers", "2", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "median [p5–p95] of 2 replications" in text
    vol = pd.read_csv(out / "volumes.csv")
    assert (vol["n"] == 2).all() and (vol["p5"] <= vol["documents"]).all() and (vol["documents"] <= vol["p95"]).all()
    wide = pd.read_csv(out / "compare_targets.csv", keep_default_na=False)
    assert {"a p5", "a p95", "a reached_share"} <= set(wide.columns)
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["scenarios"][0]["replications"] == 2 and len(set(man["scenarios"][0]["seeds"])) == 2


def test_first_month_and_censored_quantiles():
    rate = np.array([[0, 5, 10, 12], [0, 0, 0, 9], [11, 0, 0, 0]], dtype=float)
    assert first_month_reached(rate, 10).tolist() == [2, 4, 0]  # 4 = never (the number of months)


def test_target_quantiles_treat_not_reached_as_later(files):
    sc = load_scenario(files[0])
    res = simulator.run(sc, seed=SEED, scale=SCALE)
    one = target_dates([runs_from_results(sc, [res])]).set_index("target")
    reached = one.index[one["reached"] != "not by 2023"]
    assert len(reached)
    runs = runs_from_results(sc, [res, res, res])
    runs.documents[1:] = 0  # two replications that reach nothing
    three = target_dates([runs]).set_index("target")
    for key in reached:
        assert three.loc[key, "reached"] == "not by 2023"  # the median replication never reaches it
        assert three.loc[key, "reached_p95"] == "not by 2023"
        assert three.loc[key, "reached_p5"] == one.loc[key, "reached"]
        assert three.loc[key, "reached_share"] == pytest.approx(1 / 3)


def test_an_interrupted_write_leaves_nothing(files, tmp_path, monkeypatch):
    runs = run_scenarios([load_scenario(files[0])], seed=SEED, scale=SCALE)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("simulator.studies.compare_figure.draw_comparison", boom)
    with pytest.raises(RuntimeError):
        write_comparison(tmp_path / "x", runs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["nope.toml"], "nope.toml: scenario file not found"),
    (["{a}", "--replications", "0"], "--replications: must be at least 1"),
    (["{a}", "{a}"], "two scenarios are named 'a'"),
    (["{a}", "--scale", "2"], "--scale: must be greater than 0 and at most 1"),
])
def test_bad_input_is_one_line_exit_2(files, tmp_path, capsys, args, message):
    argv = ["compare", *[x.format(a=files[0]) for x in args], "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_out_must_not_be_a_foreign_folder(files, tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["compare", str(files[0]), "--out", str(foreign), "--scale", str(SCALE)]) == 2
    assert "is not a comparison folder" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_every_year_of_the_run_is_printed_or_the_years_asked(files, direct, tmp_path, capsys):
    sc = load_scenario(files[0])
    runs = [runs_from_results(sc, [direct])]
    vols, tds = annual_volumes(runs), target_dates(runs)

    def dmp_years(text):
        dmp = text[text.index("DMP documents accepted per year"):text.index("MSSanté messages delivered to professionals")]
        return {y for y in ("2021", "2022", "2023") if re.search(rf"^  gp\s+{y}\s", dmp, re.M)}

    assert dmp_years(format_comparison(runs, vols, tds)) == {"2021", "2022", "2023"}  # the run's every year
    assert dmp_years(format_comparison(runs, vols, tds, years=[2022, 2023])) == {"2022", "2023"}
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["compare", str(files[0]), "--out", str(tmp_path / "e"), "--years", "2030"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--years" in err[0] and "2030" in err[0] and "2021, 2022, 2023" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # refused before running


def test_comparison_figure_gives_each_scenario_its_own_style(files, direct):
    from simulator.studies.compare_figure import COLORS, LINESTYLES, MARKERS, style

    styles = [style(i) for i in range(6)]
    assert len({s["color"] for s in styles}) == 6
    assert len({str(s["linestyle"]) for s in styles}) == 6 and len({s["marker"] for s in styles}) == 6
    assert COLORS[0] == "#0072B2" and len(LINESTYLES) >= 4 and len(MARKERS) >= 6  # Okabe–Ito, colour-blind safe
    sc = load_scenario(files[0])
    same = [runs_from_results(sc, [direct]), runs_from_results(sc, [direct])]
    same[1].name = "copy"  # two identical lines: both must stay visible
    from matplotlib.figure import Figure

    captured = {}
    orig = Figure.savefig

    def grab(self, *a, **k):
        captured["fig"] = self
        return orig(self, *a, **k)

    import simulator.studies.compare_figure as cf

    Figure.savefig = grab
    try:
        png = cf.draw_comparison(same)
    finally:
        Figure.savefig = orig
    assert png[:8] == PNG
    ax = captured["fig"].axes[0]
    lines = [ln for ln in ax.lines if ln.get_label() in ("a", "copy")]
    assert len(lines) == 2
    a, b = lines
    assert (a.get_color(), a.get_linestyle(), a.get_marker()) != (b.get_color(), b.get_linestyle(), b.get_marker())
    assert a.get_linestyle() != b.get_linestyle() and a.get_marker() != b.get_marker()
    assert a.get_markevery() != b.get_markevery()  # markers offset so they do not sit on each other


def test_the_structural_discrepancy_moves_target_months_and_volumes_and_the_table_says_so(files):
    sc = load_scenario(files[0])
    res = simulator.run(sc, seed=SEED, scale=SCALE)
    model = runs_from_results(sc, [res, res, res])
    months0 = target_dates([model]).set_index("target")
    reached = months0.index[months0["reached"] != "not by 2023"]
    assert len(reached)
    runs = runs_from_results(sc, [res, res, res])
    runs.discrepancy = np.ones((3, len(runs.months), len(runs.sectors)))
    runs.discrepancy[1], runs.discrepancy[2] = 1e-6, 1e3  # replication 2 sends almost nothing, 3 a thousandfold
    runs.discrepancy_file = "a.discrepancy.csv"
    got = target_dates([runs]).set_index("target")
    for key in reached:
        assert got.loc[key, "reached"] == months0.loc[key, "reached"]  # the median replication keeps factor 1
        assert got.loc[key, "reached_p95"] == "not by 2023" and got.loc[key, "reached_share"] == pytest.approx(2 / 3)
        assert got.loc[key, "reached_p5"] <= months0.loc[key, "reached"]
    vol, vol0 = annual_volumes([runs]), annual_volumes([model])
    dmp = (vol["channel"] == "dmp") & (vol["sector"] == "all")
    assert np.allclose(vol.loc[dmp, "documents"], vol0.loc[dmp, "documents"])  # the median keeps its volume
    assert (vol.loc[dmp, "p5"] < vol0.loc[dmp, "p5"]).all() and (vol.loc[dmp, "p95"] > vol0.loc[dmp, "p95"]).all()
    text = format_comparison([runs], vol, target_dates([runs]))
    assert "With the structural discrepancy (a.discrepancy.csv" in text and "share of replications reaching it" in text
    assert "· 67%" in text  # each target's cell: band, then the share of replications reaching it


def test_compare_finds_the_discrepancy_beside_the_posterior(files, tmp_path):
    from simulator.engine.discrepancy import for_posterior
    from simulator.studies.comparison import prepare

    scen = tmp_path / "c.toml"
    scen.write_text(f'extends = "{files[0].as_posix()}"\nname = "c"\n', encoding="utf-8")
    (tmp_path / "c.posterior.csv").write_text("# data_cutoff: 2023-06-30\nsectors.gp.uptake_q\n0.004\n0.008\n",
                                              encoding="utf-8")
    assert prepare([scen], 2).discrepancy is None  # a posterior alone: the model's bands
    (tmp_path / "c.discrepancy.csv").write_text("group,rows,level_sd,drift_sd\npooled,5,0.2,0.02\n", encoding="utf-8")
    disc = prepare([scen], 2).discrepancy
    assert disc["file"] == "c.discrepancy.csv" and str(disc["cutoff"]) == "2023-06-30"  # the posterior's cut-off
    assert prepare([scen], 1).discrepancy is None and prepare([scen], 2, posterior="none").discrepancy is None
    assert for_posterior(tmp_path / "c.posterior.csv")["file"] == "c.discrepancy.csv"
    (tmp_path / "c.discrepancy.csv").write_text("group,level_sd,drift_sd\npooled,-1,0\n", encoding="utf-8")
    with pytest.raises(UsageError, match="c.discrepancy.csv"):
        prepare([scen], 2)
