"""The engine: conservation, reproducibility, common random numbers, plausible volumes."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.core.errors import ConservationError
from simulator.engine.results import Results
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE

SHORT = {"run.end": "2023-12-31"}


def short_run(seed: int = 11, scale: float = 0.002, **overrides):
    sc = load_scenario(BASELINE, overrides={**SHORT, **overrides})
    return simulator.run(sc, seed=seed, scale=scale)


@functools.lru_cache(maxsize=1)
def shared_short_run():
    """``short_run()`` once for the tests that only read it (or change a copy of a table)."""
    return short_run()


@pytest.mark.parametrize("scale", [0.001, 0.004])
def test_conservation_every_sector_month_channel(scale):
    res = short_run(scale=scale)
    docs = res.to_df("documents")
    produced = pd.Series(res.manifest["produced"])
    got = docs.groupby(["month", "sector", "channel"])["count"].sum()
    got.index = ["|".join(map(str, k)) for k in got.index]
    assert produced.sum() > 0
    pd.testing.assert_series_equal(got.sort_index(), produced.sort_index().astype("int64"), check_names=False)
    # every DMP document has exactly one final outcome among the allowed ones
    dmp = docs[docs["channel"] == "dmp"]
    assert set(dmp["outcome"]) <= {"accepted", "rejected", "dropped", "queued", "not_sent"}
    assert (dmp.loc[dmp["outcome"] == "rejected", "reason"] != "").all()


def test_conservation_check_catches_a_lost_document():
    shared = shared_short_run()
    res = Results({**shared.tables, "documents": shared.tables["documents"].copy()}, shared.manifest)
    res.check_conservation()  # as the run left it
    docs = res.tables["documents"]
    i = docs.index[docs["channel"] == "dmp"][0]
    docs.loc[i, "count"] -= 1
    with pytest.raises(ConservationError, match="conservation broken"):
        res.check_conservation()


@pytest.mark.slow
def test_same_seed_same_tables_other_seed_other_draws():
    a, b, c = shared_short_run(), short_run(seed=11), short_run(seed=12)
    for name in ("documents", "adoption", "profiles", "gp_activity", "dmp_daily"):
        pd.testing.assert_frame_equal(a.to_df(name), b.to_df(name))
    assert not a.to_df("documents")["count"].equals(c.to_df("documents")["count"])


@pytest.mark.slow
def test_changing_gp_parameters_leaves_biology_unchanged():
    base = short_run(seed=9)
    other = short_run(seed=9, **{"sectors.gp.uptake_q": 0.02, "sectors.gp.intensity_mean": 0.3})
    def bio(res, name):
        df = res.to_df(name)
        return df[df["sector"] == "biology"].reset_index(drop=True)
    # biology's own draws and adoption are the same; only the patients the GPs qualified move its
    # verdicts (identity is per patient, shared by every sector), and by little
    pd.testing.assert_frame_equal(bio(base, "adoption"), bio(other, "adoption"))
    sent_a, sent_b = (bio(r, "documents").groupby("month")["count"].sum() for r in (base, other))
    pd.testing.assert_series_equal(sent_a, sent_b)  # the same documents sent, month by month
    acc_a, acc_b = (r.monthly("dmp")["biology"].sum() for r in (base, other))
    assert acc_b == pytest.approx(acc_a, rel=0.02)
    gp_a = base.monthly("dmp")["gp"].sum()
    gp_b = other.monthly("dmp")["gp"].sum()
    assert gp_b > gp_a * 1.05  # and GP itself did change (intensity_mean is the start level now)


def test_volumes_are_plausible_in_2023(small_results):
    acc = small_results.monthly("dmp")
    year = acc.loc["2023"].sum()
    total = year.sum()
    assert 50e6 < total < 400e6, total  # tens of millions to a few hundred millions a year
    assert year.idxmax() in ("biology", "hospital")
    early = acc.loc["2021"].sum().sum()
    assert early < total / 5  # the programme multiplied volumes


def test_august_dip_visible(small_results):
    """The summer rhythm shows in the sectors already feeding in mid-2023 (labs, hospitals). The
    sectors still in their install rush before the Sept 2023 deadline (GPs, radiology,
    pharmacies) may grow through August at this scale; the dip of the national total is checked
    at scale 0.01 over five seeds (tests/test_baseline_calibration.py)."""
    total = small_results.monthly("dmp")[["biology", "hospital"]].sum(axis=1)
    assert total["2023-08"] < total["2023-07"]
    assert total["2023-08"] < 0.95 * (total["2023-07"] + total["2023-09"]) / 2


def test_qualified_identity_rule_starts_in_october_2023(small_results):
    docs = small_results.to_df("documents")
    nq = docs[docs["reason"] == "identity_not_qualified"].groupby("month")["count"].sum()
    nq.index = nq.index.astype(str)
    assert nq.reindex(["2023-08", "2023-09"], fill_value=0).sum() == 0
    assert nq.reindex(["2023-11", "2023-12"], fill_value=0).sum() > 0


def test_profiles_states_partition_the_population(small_results):
    prof = small_results.to_df("profiles")
    totals = prof.groupby("month")["persons"].sum()
    assert np.allclose(totals, totals.iloc[0])
    wide = prof.pivot(index="month", columns="state", values="persons")
    created = wide["open"] + wide["activated"]
    assert created["2021-01"] < 0.3 * totals.iloc[0]  # before opt-out creation, only legacy DMPs
    assert created["2022-10"] > 0.9 * totals.iloc[0]
    assert (wide["activated"].diff().dropna() >= -0.01 * totals.iloc[0]).all()


def test_adoption_invariants(small_results):
    ad = small_results.to_df("adoption")
    assert (ad["installed"] <= ad["facilities"] + 1e-9).all()
    assert (ad["feeding"] <= ad["facilities"] + 1e-9).all()
    assert (ad["legacy_feeding"] <= ad["feeding"] + 1e-9).all()
    inst = ad.pivot(index="month", columns="sector", values="installed")
    assert (inst.diff().dropna() >= 0).all().all()  # installs never undone


def test_gp_activity_only_equipped_gps(small_results):
    gp = small_results.to_df("gp_activity")
    ad = small_results.to_df("adoption")
    per_month = gp.groupby("month")["facility"].nunique() / small_results.scale
    installed = ad[ad["sector"] == "gp"].set_index("month")["installed"]
    assert np.allclose(per_month, installed.reindex(per_month.index))
    # equipped GPs' documents are the GP accepted DMP documents, less the legacy feeders' ones
    # (pre-Ségur software), which the DMP no longer accepts after October 2023
    acc = small_results.monthly("dmp")["gp"].reindex(gp["month"].unique())
    by_month = gp.groupby("month")["documents"].sum() / small_results.scale
    assert (by_month <= acc + 1e-6).all()
    late = [m for m in by_month.index if str(m) >= "2023-11"]
    assert np.allclose(by_month[late], acc[late], rtol=1e-9)


def test_territory_table_adds_up_to_the_national_volumes(small_results):
    terr = small_results.to_df("territory")
    docs = small_results.to_df("documents")
    sent = docs[((docs["channel"] == "dmp") & (docs["outcome"] == "accepted"))
                | ((docs["channel"] != "dmp") & (docs["outcome"] == "delivered"))]
    a = sent.groupby(["sector", "channel"])["national"].sum()
    b = terr.groupby(["sector", "channel"])["national"].sum().reindex(a.index)
    assert np.allclose(a, b, rtol=1e-9)
    assert terr["departement"].nunique() > 50



@pytest.mark.parametrize("scenario", ["baseline.toml", "wave2.toml"])
def test_each_sector_draws_only_the_document_types_it_is_given(scenario):
    """The type lookup table never falls through to a type the sector has no weight for."""
    from simulator.core.streams import Streams
    from simulator.engine.world import build_world

    sc = load_scenario(BASELINE.parent / scenario, overrides={"run.end": "2021-02-28", "run.scale": 0.0005})
    world = build_world(sc, Streams(1))
    for sector in world.sectors:
        drawn = set(np.unique(sector.type_lut).tolist())
        allowed = set(np.flatnonzero(sector.type_weights > 0).tolist())
        assert drawn == allowed, (sector.name, drawn ^ allowed)


def test_a_campaign_ends_exactly_where_it_started():
    from simulator.engine.interventions import Params

    params = Params(load_scenario(BASELINE))
    before = params.values("sectors.*.intensity_mean")
    params.multiply("sectors.*.intensity_mean", 1.37)
    assert params.values("sectors.*.intensity_mean") != before
    params.end_campaign("sectors.*.intensity_mean", 1.37, before)
    assert params.values("sectors.*.intensity_mean") == before  # exactly: no float drift
    # a value set during the campaign keeps that change, without the campaign's factor
    params.multiply("sectors.gp.intensity_mean", 2.0)
    params.set("sectors.gp.intensity_mean", 0.5)
    params.end_campaign("sectors.gp.intensity_mean", 2.0, before[1:2])
    assert params.values("sectors.gp.intensity_mean") == [0.25]


def test_merging_a_sectors_batches_changes_no_document_drawn_and_keeps_every_verdict(monkeypatch):
    """A small run hands each sector's documents of the day to the identity module and the DMP
    as one batch (simulator/engine/producers.py, MERGE_BELOW_SCALE): the documents drawn are
    exactly those of a run that hands them over batch by batch, and each still gets one outcome
    (conservation is checked by the run); only the identity module's order of reading differs,
    so the verdicts agree within sampling noise."""
    from simulator.engine import producers

    merged = short_run(seed=5, **{"run.end": "2024-06-30"})
    monkeypatch.setattr(producers, "MERGE_BELOW_SCALE", 0.0)
    apart = short_run(seed=5, **{"run.end": "2024-06-30"})
    assert merged.manifest["produced"] == apart.manifest["produced"]
    dmp = [r.to_df("documents").query("channel == 'dmp'").groupby("outcome")["count"].sum() for r in (merged, apart)]
    assert dmp[0].sum() == dmp[1].sum() > 10_000
    assert abs(dmp[0]["accepted"] / dmp[1]["accepted"] - 1) < 0.02
