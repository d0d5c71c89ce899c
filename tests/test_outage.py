"""DMP outages: submissions wait in the outbox and are retried, or dropped after the wait."""

from __future__ import annotations

import datetime as dt

import pytest

import simulator
from scenarios.schema import Intervention
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE


def run_with_outage(max_wait, seed=4):
    sc = load_scenario(BASELINE, overrides={"run.end": "2023-06-30", "dmp.max_wait_days": max_wait})
    outage = Intervention(date=dt.date(2023, 3, 6), kind="outage", service="dmp", days=3)
    sc = sc.model_copy(update={"interventions": [*sc.interventions, outage]})
    return simulator.run(sc, seed=seed, scale=0.002)


def test_outage_with_retry_keeps_documents_and_delays_them():
    no_drop = run_with_outage(None)
    daily = no_drop.to_df("dmp_daily").set_index("date")
    down = daily.loc["2023-03-06":"2023-03-08"]
    assert not down["up"].any()
    assert (down["accepted"] == 0).all() and (down["backlog"] > 0).all()
    assert daily.loc["2023-03-09", "accepted"] > 2 * daily.loc["2023-03-02", "accepted"]  # the backlog is worked off
    docs = no_drop.to_df("documents")
    assert (docs["outcome"] != "dropped").all()


@pytest.mark.slow
def test_outage_with_drop_after_a_day_counts_the_drops():
    drop = run_with_outage(1)
    keep = run_with_outage(None)
    dropped = drop.to_df("documents").query("outcome == 'dropped'")
    assert dropped["count"].sum() > 0
    assert set(dropped["month"].astype(str)) == {"2023-03"}
    acc_drop = drop.monthly("dmp").loc["2023-03"].sum()
    acc_keep = keep.monthly("dmp").loc["2023-03"].sum()
    assert acc_drop < acc_keep


def test_saturated_dmp_queues_then_drops_and_conserves():
    sc = load_scenario(BASELINE, overrides={"run.end": "2022-12-31", "dmp.capacity_per_day": 100_000, "dmp.max_wait_days": 20})
    res = simulator.run(sc, seed=2, scale=0.002)
    daily = res.to_df("dmp_daily")
    assert daily["accepted"].add(daily["rejected"]).max() <= 100_000 * 1.0001  # never above capacity
    docs = res.to_df("documents")
    out = docs[docs["channel"] == "dmp"].groupby("outcome")["count"].sum()
    assert out.get("dropped", 0) > 0  # waited more than 20 days
    res.check_conservation()


def test_rejection_reasons_of_the_baseline(small_results):
    docs = small_results.to_df("documents")
    rej = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "rejected")]
    by_reason = rej.groupby("reason")["count"].sum()
    for reason in ("ins_missing", "identity_not_qualified"):
        assert by_reason.get(reason, 0) > 0, reason
    # no rule rejects pre-Ségur software in the baseline (no source states one; the what-if is
    # scenarios/legacy_software_rejected.toml, whose rejections test_payload_tier checks)
    assert by_reason.get("software_not_installed", 0) == 0
    # the senders' existence check keeps documents of patients without a profile from the DMP
    dmp = docs[docs["channel"] == "dmp"]
    assert by_reason.get("no_profile", 0) == 0
    assert dmp[dmp["outcome"] == "not_sent"]["count"].sum() > 0
