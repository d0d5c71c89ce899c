"""The Results API a researcher meets, and reading results folders back (checked, never silently wrong)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.core.errors import SegurError, UsageError
from simulator.engine.outputs import (
    first_month_reached,
    reached_month,
    share_of_target,
    trailing_12,
)
from simulator.engine.results import Results
from simulator.engine.summary import format_summary, target_status


@pytest.fixture(scope="module")
def saved(small_results, tmp_path_factory):
    """The small run saved without its report (a clean results folder to damage copies of)."""
    return small_results.save(tmp_path_factory.mktemp("saved") / "run")


def _copy(saved, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(saved, out)
    return out


def _cut_mid_line(p):
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 3])


def _drop_last_lines(p, n=40):
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    p.write_text("".join(lines[:-n]), encoding="utf-8")


def _set_manifest(value):
    def damage(p):
        p.write_text(json.dumps(value), encoding="utf-8")
    return damage


def _without_key(key):
    def damage(p):
        m = json.loads(p.read_text(encoding="utf-8"))
        del m[key]
        p.write_text(json.dumps(m), encoding="utf-8")
    return damage


def _bad_cell(col, value):
    def damage(p):
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        df.loc[len(df) // 2, col] = value
        df.to_csv(p, index=False)
    return damage


DAMAGES = [
    ("manifest.json", _set_manifest([1, 2, 3]), "must be a JSON object"),
    ("manifest.json", _set_manifest("text"), "must be a JSON object"),
    ("manifest.json", _without_key("months"), "missing key(s) months"),
    ("manifest.json", _without_key("scenario"), "missing key(s) scenario"),
    ("manifest.json", lambda p: p.write_text("{", encoding="utf-8"), "not valid JSON"),
    ("documents.csv", _cut_mid_line, "truncated"),
    ("documents.csv", _drop_last_lines, "does not add up"),
    ("documents.csv", lambda p: p.unlink(), "is missing"),
    ("documents.csv", lambda p: p.write_bytes(b""), "empty file"),
    ("documents.csv", _bad_cell("count", "many"), "count must be a whole number"),
    ("documents.csv", _bad_cell("channel", "fax"), "channel 'fax'"),
    ("adoption.csv", _drop_last_lines, "truncated"),
    ("adoption.csv", _cut_mid_line, "truncated"),
    ("profiles.csv", _drop_last_lines, "truncated"),
    ("territory.csv", _bad_cell("documents", "nan"), "must be a finite number"),
    ("territory.csv", lambda p: p.unlink(), "is missing"),
    ("dmp_daily.csv", _drop_last_lines, "truncated"),
    ("gp_activity.csv", _bad_cell("month", "2099-13"), "month '2099-13'"),
]


@pytest.mark.parametrize("command", ["report", "network"])
@pytest.mark.parametrize("name, damage, message", DAMAGES, ids=[f"{n}-{m}" for n, _, m in DAMAGES])
def test_a_damaged_results_folder_is_one_line_naming_the_file(saved, tmp_path, capsys, command, name, damage, message):
    folder = _copy(saved, tmp_path)
    damage(folder / name)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    argv = [command, str(folder), "--quiet"] + (["--out", str(tmp_path / "net")] if command == "network" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("segur: error:"), err
    assert name in err[0] and message in err[0], err[0]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_an_intact_folder_loads_as_saved(saved, small_results):
    res = Results.load(saved)
    for name, df in small_results.tables.items():
        pd.testing.assert_frame_equal(res.tables[name].reset_index(drop=True), df.reset_index(drop=True),
                                      check_dtype=False, obj=name)
    assert res.tables["territory"]["departement"].str.len().min() == 2  # "01" stays "01"


@pytest.mark.slow
def test_a_folder_written_by_an_earlier_version_still_reports(saved, tmp_path):
    """Earlier manifests had no 'tables' key and no 'produced' block: still readable."""
    folder = _copy(saved, tmp_path)
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for key in ("tables", "produced", "payloads", "timings"):
        m.pop(key, None)
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert main(["report", str(folder), "--quiet"]) == 0
    assert (folder / "report.html").exists()


# -- the API ------------------------------------------------------------------------------------

def test_monthly_counts_each_channel_with_its_own_outcome(small_results):
    docs = small_results.tables["documents"]
    for channel, outcome in (("dmp", "accepted"), ("mssante_pro", "delivered"), ("mssante_patient", "delivered")):
        wide = small_results.monthly(channel)
        expected = docs[(docs["channel"] == channel) & (docs["outcome"] == outcome)]["documents"].sum()
        assert expected > 0 and wide.to_numpy().sum() == pytest.approx(expected)
        assert isinstance(wide.index, pd.PeriodIndex) and wide.index.freqstr.startswith("M")
        assert len(wide) == len(small_results.manifest["months"])
    bounced = small_results.monthly("mssante_pro", "bounced").to_numpy().sum()
    assert bounced == pytest.approx(docs[(docs["channel"] == "mssante_pro") & (docs["outcome"] == "bounced")]["documents"].sum())


@pytest.mark.parametrize("args, allowed", [
    (("mss",), "dmp, mssante_pro, mssante_patient"),
    (("dmp", "delivered"), "accepted, rejected, dropped, queued"),
    (("mssante_pro", "accepted"), "delivered, bounced, in_transit"),
    (("dmp", "acepted"), "accepted"),
])
def test_an_unknown_channel_or_outcome_names_the_allowed_ones(small_results, args, allowed):
    with pytest.raises(UsageError) as exc:
        small_results.monthly(*args)
    assert allowed in str(exc.value) and repr(args[-1]).strip("'") in str(exc.value)


def test_to_df_is_typed_for_analysis(small_results):
    docs = small_results.to_df("documents")
    assert isinstance(docs["month"].dtype, pd.PeriodDtype)
    for col in ("sector", "doc_type", "channel", "outcome", "reason", "sector_label", "doc_type_label"):
        assert isinstance(docs[col].dtype, pd.CategoricalDtype), col
    accepted = docs[docs["outcome"] == "accepted"]
    assert accepted["reason"].isna().all()  # "no reason" is missing, not ""
    assert docs.loc[docs["outcome"] == "rejected", "reason"].notna().all()
    raw = small_results.tables["documents"]
    assert docs["national"].sum() == pytest.approx(raw["documents"].sum())
    assert "documents" not in docs.columns
    gp = docs[docs["sector"] == "gp"]
    assert set(gp["sector_label"]) == {small_results.manifest["scenario"]["sectors"]["gp"]["label"]}
    assert (docs["doc_type_label"].astype(str) != docs["doc_type"].astype(str)).all()
    daily = small_results.to_df("dmp_daily")
    assert pd.api.types.is_datetime64_any_dtype(daily["date"])
    for name in small_results.tables:  # one name for the national value in every table that has one
        cols = set(small_results.to_df(name).columns)
        assert not ({"documents", "national"} <= cols), name
    assert "national" in small_results.to_df("territory").columns


def test_a_typed_frame_put_back_saves_as_before(small_results, tmp_path):
    docs = small_results.to_df("documents")
    res = Results({**small_results.tables, "documents": docs}, small_results.manifest)
    pd.testing.assert_frame_equal(res.tables["documents"].reset_index(drop=True),
                                  small_results.tables["documents"].reset_index(drop=True), check_dtype=False)
    res.check_conservation()
    back = Results.load(res.save(tmp_path / "r"))
    assert back.tables["documents"]["reason"].eq("").sum() == small_results.tables["documents"]["reason"].eq("").sum()


def test_summary_and_plot(small_results):
    text = small_results.summary()
    assert text == format_summary(small_results) and "trailing 12-month total" in text
    import matplotlib

    matplotlib.use("Agg")
    fig = small_results.plot()
    ax = fig.axes[0]
    assert len(ax.collections) >= len(small_results.manifest["sectors"])  # one stacked area per sector
    n_iv = len(small_results.manifest["scenario"]["interventions"])
    assert len([ln for ln in ax.lines if ln.get_linestyle() == ":"]) == n_iv
    fig2 = small_results.plot("mssante_pro")
    assert fig2 is not fig


def test_run_takes_validated_overrides():
    import simulator

    base = simulator.run("scenarios/baseline.toml", seed=3, scale=0.001,
                         overrides={"run.end": "2022-06-30"})
    assert base.manifest["months"][-1] == "2022-06"
    capped = simulator.run("scenarios/baseline.toml", seed=3, scale=0.001,
                           overrides={"run.end": "2022-06-30", "dmp.capacity_per_day": 20_000, "sectors.gp.uptake_q": 0.9})
    assert capped.manifest["scenario"]["sectors"]["gp"]["uptake_q"] == 0.9
    assert base.tables["dmp_daily"]["accepted"].max() > 20_000
    assert capped.tables["dmp_daily"]["accepted"].max() <= 20_000 * 1.0001  # the override is in force
    with pytest.raises(SegurError, match="sectors.gp.uptake_nope"):
        simulator.run("scenarios/baseline.toml", overrides={"sectors.gp.uptake_nope": 1})
    with pytest.raises(SegurError, match="sectors.gp.uptake_q"):
        simulator.run("scenarios/baseline.toml", overrides={"sectors.gp.uptake_q": "fast"})


# -- one definition of "target reached" ----------------------------------------------------------

def test_reached_is_the_first_trailing_12_month_total_at_target():
    monthly = np.array([[1.0] * 12 + [2.0] * 12, [3.0] * 3 + [0.0] * 21])
    total = trailing_12(monthly)
    assert total[0, 11] == 12 and total[0, 12] == 13 and total[0, 23] == 24
    assert first_month_reached(monthly, 13).tolist() == [12, 24]  # 24: never (the number of months)
    assert first_month_reached(monthly, 9).tolist() == [8, 2]
    peak = np.array([[1.0] * 11 + [5.0] + [1.0] * 12])  # one month × 12 = 60, the year 16
    assert first_month_reached(peak, 20).tolist() == [24]


def test_summary_report_and_outputs_say_the_same(small_results):
    from reports.tables import target_table

    ts = target_status(small_results).set_index("target")
    table = target_table(small_results, at=small_results.manifest["months"][-1])
    by_target = {r["row"] if r["kind"] == "group" else r["row"]: r for _, r in table.iterrows()}
    for key in small_results.manifest["scenario"]["targets"]:
        row = by_target[key]
        assert ts.loc[key, "reached"] == (reached_month(small_results, key) or "") == row["reached"]
        assert ts.loc[key, "share_of_target"] == pytest.approx(share_of_target(small_results, key))
        assert row["share"] == pytest.approx(share_of_target(small_results, key))
    text = format_summary(small_results)
    assert "reached in the first month whose trailing 12-month total" in text
    wave1 = ts.loc["wave1"]
    assert wave1["with_mssante"] > wave1["last_12_months"]  # the "DMP + MSSanté" reading shown beside
    assert "counting MSSanté messages delivered too" in text
