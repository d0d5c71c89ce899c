"""DMP outages: submissions wait in the outbox and are retried, or dropped after the wait."""

from __future__ import annotations

import datetime as dt

import simulator
from scenarios.loader import load_scenario
from scenarios.schema import Intervention
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


def test_outage_with_drop_after_a_day_counts_the_drops():
    drop = run_with_outage(1)
    keep = run_with_outage(None)
    dropped = drop.to_df("documents").query("outcome == 'dropped'")
    assert dropped["count"].sum() > 0
    assert set(dropped["month"]) == {"2023-03"}
    acc_drop = drop.monthly("dmp").loc["2023-03"].sum()
    acc_keep = keep.monthly("dmp").loc["2023-03"].sum()
    assert acc_drop < acc_keep
