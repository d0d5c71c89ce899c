"""Observed figures: the reader, and the matching of each row to a simulated quantity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenarios.observed import bound_of, load_observed
from simulator.core.errors import UsageError
from simulator.studies.observed_match import (
    MORE_THAN_MARGIN,
    TARGET_METRICS,
    Unmatched,
    combine,
    observed_vs_simulated,
    one_sided,
    simulated_series,
    why_unmatched,
)


def test_shipped_observed_file_has_provenance_and_documents_its_own_rows(repo_root):
    """The project ships its observed figures (scenarios/data/observed.csv): every row has a source,
    the rows this project derived say so and are listed in the data README, and all lie in the
    calibration window 2021–2023. Nothing outside the repository is needed."""
    ours = load_observed()
    assert set(ours.columns) >= {"date", "metric", "sector", "value", "unit", "source", "note", "bound"}
    assert (ours["source"].str.len() > 0).all() and (ours["unit"].str.len() > 0).all()
    # programme targets (a date to come) are read against a run, never fitted
    targets = ours["metric"].str.startswith("target_")
    assert set(ours.loc[targets, "metric"]) <= TARGET_METRICS
    obs = ours[~targets]
    assert obs["date"].str[:4].astype(int).between(2021, 2025).all()
    assert (obs["date"].str[:7] <= "2025-05").all()  # later figures are kept to score the projection blind
    key = ["date", "metric", "sector", "value"]
    assert not ours.duplicated(key).any()
    derived = ours[ours["note"].str.contains("derived in this project")]
    readme = (repo_root / "scenarios" / "data" / "README.md").read_text(encoding="utf-8")
    assert len(derived) >= 1
    for _, r in derived.iterrows():  # each derived row is described where the data's provenance is
        assert f"{int(r['value']):,}" in readme and "derived in this project" in readme


@pytest.mark.parametrize("note, bound", [
    ("lower bound (more than)", "lower"),
    ("more than 90% of the population", "lower"),
    ("share of informed people who opposed creation (upper bound)", "upper"),
    ("monthly volume x 12", "point"),
    ("", "point"),
])
def test_bound_from_note(note, bound):
    assert bound_of(note) == bound


def test_one_sided_errors():
    # "more than N" reads as N to N × 1.1 (issue 24): nothing counts inside, a shortfall below
    # N and an excess beyond 1.1 N do
    assert one_sided(0.05, "lower") == 0.0 and one_sided(-0.3, "lower") == -0.3
    assert one_sided(0.3, "lower") == pytest.approx(0.3 - MORE_THAN_MARGIN) and MORE_THAN_MARGIN == pytest.approx(0.1)
    assert one_sided(-0.3, "upper") == 0.0 and one_sided(0.3, "upper") == 0.3
    assert one_sided(-0.3, "point") == -0.3


@pytest.mark.parametrize("text, fragment", [
    ("date,metric,sector,value\n", "missing column(s) unit, source, note"),
    ("date,metric,sector,value,unit,source,note\n2023-13,x,all,1,u,s,\n", "line 2: date must be YYYY or YYYY-MM"),
    ("date,metric,sector,value,unit,source,note\n2023-01,x,all,ten,u,s,\n", "line 2: value must be a number"),
    ("date,metric,sector,value,unit,source,note\n", "no observed rows"),
])
def test_bad_observed_file_is_one_clear_error(tmp_path, text, fragment):
    p = tmp_path / "obs.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_observed(p)
    assert str(p) in str(exc.value) and fragment in str(exc.value)


def test_missing_observed_file(tmp_path):
    with pytest.raises(UsageError, match="observed figures file not found"):
        load_observed(tmp_path / "nope.csv")


@pytest.fixture(scope="module")
def fit(small_results):
    return observed_vs_simulated(small_results)


def test_every_row_is_matched_or_says_why(fit):
    assert len(fit) == len(load_observed())
    assert (fit.loc[~fit["matched"], "why"].str.len() > 10).all()
    assert fit.loc[fit["matched"], "simulated"].notna().all()
    unmatched = set(zip(fit.loc[~fit["matched"], "date"], fit.loc[~fit["matched"], "metric"],
                        fit.loc[~fit["matched"], "sector"], strict=True))
    listed = {(d, m, s) for d, m, s in zip(fit["date"], fit["metric"], fit["sector"], strict=True)
              if why_unmatched(d, m, s)}
    not_in_baseline = {("2021-06", "mssante_equipped_share", "medico_social"),  # not a sector of the baseline
                       ("2025-04", "share_esms_with_segur_dui", "medico_social")}
    assert unmatched == listed | not_in_baseline
    # relative errors are (simulated - observed) / observed; bounds are one-sided
    m = fit[fit["matched"]]
    assert np.allclose(m["rel_error"], (m["simulated"] - m["observed"]) / m["observed"])
    low = m[m["bound"] == "lower"]
    assert np.allclose(low["error"], np.minimum(low["rel_error"], 0) + np.maximum(low["rel_error"] - MORE_THAN_MARGIN, 0))


def test_rows_averaged_over_months_and_trailing_totals(small_results, fit):
    dmp = small_results.monthly("dmp", "accepted").sum(axis=1)
    prof = small_results.tables["profiles"].pivot_table(index="month", columns="state", values="persons", aggfunc="sum")
    act = prof["activated"].diff()

    def sim(date, metric):
        return fit[(fit["metric"] == metric) & (fit["date"] == date) & (fit["sector"] == "all")].iloc[0]["simulated"]

    assert sim("2024-09", "documents_last_12_months") == pytest.approx(dmp.loc["2023-10":"2024-09"].sum())
    assert sim("2024", "mes_activations_per_month") == pytest.approx(act.loc["2024-01":"2024-12"].mean())
    assert sim("2024-12", "mes_activations_per_month") == pytest.approx(act.loc["2024-07":"2024-12"].mean())
    growth = dmp.loc["2024-05":"2025-04"].sum() / dmp.loc["2023-05":"2024-04"].sum() - 1
    assert sim("2025-04", "documents_growth_last_12_months") == pytest.approx(100 * growth)


def test_matched_quantities_are_the_documented_ones(small_results, fit):
    res = small_results
    dmp = res.monthly("dmp", "accepted")  # a monthly PeriodIndex
    # sector rows count by couloir: the hospitals' lab reports are biology's (COULOIR_DOCUMENTS)
    docs = res.tables["documents"]  # the files' form: month text, national counts in "documents"
    lab = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted") & (docs["month"].astype(str) == "2023-09")
               & (docs["sector"].astype(str) == "hospital") & docs["doc_type"].astype(str).isin(["11502-2", "60568-3", "51969-4"])]
    hospital_labs = lab["documents"].sum()
    assert hospital_labs > 0
    row = fit[(fit["metric"] == "documents_annual_rate") & (fit["sector"] == "biology") & (fit["date"] == "2023-09")].iloc[0]
    assert row["simulated"] == pytest.approx((dmp.loc["2023-09", "biology"] + hospital_labs) * 12)
    row = fit[(fit["metric"] == "documents_annual_rate") & (fit["sector"] == "hospital") & (fit["date"] == "2023-09")].iloc[0]
    assert row["simulated"] == pytest.approx((dmp.loc["2023-09", "hospital"] - hospital_labs) * 12)
    row = fit[(fit["metric"] == "documents_per_year") & (fit["date"] == "2021")].iloc[0]
    assert row["simulated"] == pytest.approx(dmp.loc["2021"].to_numpy().sum())
    prof = res.to_df("profiles").pivot(index="month", columns="state", values="persons")
    row = fit[(fit["metric"] == "mes_profiles_open") & (fit["date"] == "2023-02")].iloc[0]
    assert row["simulated"] == pytest.approx(prof.loc["2023-02", "open"] + prof.loc["2023-02", "activated"])
    row = fit[(fit["metric"] == "install_rate") & (fit["sector"] == "hospital_dpi")].iloc[0]
    ad = res.tables["adoption"].set_index(["month", "sector"])  # the files' form: month text
    # the deck's install rates are shares of ORDERED updates; the counts equipped are national counts
    assert row["simulated"] == pytest.approx(ad.loc[("2023-09", "hospital"), "installed"] / ad.loc[("2023-09", "hospital"), "ordered"])
    row = fit[(fit["metric"] == "facilities_equipped") & (fit["sector"] == "hospital")].iloc[0]
    assert row["simulated"] == pytest.approx(ad.loc[("2023-09", "hospital"), "installed"])
    row = fit[(fit["metric"] == "facilities_equipped_share") & (fit["sector"] == "biology")].iloc[0]
    assert row["simulated"] == pytest.approx(ad.loc[("2023-09", "biology"), "installed"] / ad.loc[("2023-09", "biology"), "facilities"])
    gpa = res.to_df("gp_activity")
    aug = gpa[(gpa["month"] == "2023-08") & (gpa["documents"] >= 1)]
    row = fit[(fit["metric"] == "professionals_feeding_in_month") & (fit["date"] == "2023-08")].iloc[0]
    assert row["simulated"] == pytest.approx(len(aug) / res.scale)
    shares = fit[fit["metric"] == "share_of_documents"]
    assert shares["simulated"].sum() == pytest.approx(1.0)  # the five wave 1 sectors are all sectors


def test_series_for_figures(small_results):
    s = simulated_series(small_results, "documents_annual_rate", "all")
    assert list(s.index) == small_results.manifest["months"]
    assert (s >= 0).all()
    cum = simulated_series(small_results, "patient_to_professional_messages_cumulative", "all")
    assert (cum.diff().dropna() >= 0).all()  # a cumulative count never falls
    with pytest.raises(Unmatched, match="all sectors together"):
        simulated_series(small_results, "mssante_mailboxes", "gp")
    with pytest.raises(Unmatched, match="no sector 'nurse'"):
        simulated_series(small_results, "install_rate", "nurse")


def test_rows_outside_the_run_are_unmatched(small_results):
    obs = pd.DataFrame([{"date": "2031-01", "metric": "documents_per_month", "sector": "all", "value": 1.0,
                         "unit": "documents/month", "source": "test", "note": "", "bound": "point"}])
    tab = observed_vs_simulated(small_results, obs)
    assert not tab["matched"].iloc[0] and "outside the run" in tab["why"].iloc[0]


def test_combine_replications(fit):
    a = fit.copy()
    b = fit.copy()
    b["simulated"] = b["simulated"] * 3
    c = combine([a, b], how="mean")
    m = c["matched"]
    assert np.allclose(c.loc[m, "simulated"], 2 * fit.loc[m, "simulated"])
    assert (c.loc[m & (fit["simulated"] > 0), "sim_cv"] > 0.5).all()
    med = combine([a, a, b], how="median")
    assert np.allclose(med.loc[m, "simulated"], fit.loc[m, "simulated"])
