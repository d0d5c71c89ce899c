"""E-prescription as its own flow (issue 14, item 5): registrations from every GP's prescriptions
(not from its DMP feeding), the mandate lever, dispensation once, conservation, and clear
errors for bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents.patients import NEVER
from agents.producers.prescribers import Prescribers
from agents.services.eprescription import PrescriptionBase
from simulator.cli import main
from simulator.core.errors import ConservationError, ScenarioError
from simulator.engine import Simulation
from simulator.engine.scenario import load_scenario
from tests.conftest import REPO, write_scenario

BASELINE = REPO / "scenarios" / "baseline.toml"
SCALE = 0.004
SEED = 11
# a short window around the mandate (1 Jan 2025): the e-prescription campaigns are dated, not
# tied to the run's start, so a run from mid-2024 has the 2024 e-prescribers already
WINDOW = {"run.start": "2024-07-01", "run.end": "2025-04-30"}


def _run(overrides: dict | None = None, audit: bool = False, drop_gp_feeding: bool = False):
    sc = load_scenario(BASELINE, overrides={**WINDOW, **(overrides or {})})
    if drop_gp_feeding:  # GPs never feed the DMP: no legacy feeders, no uptake, no intensity step
        gp = sc.sectors["gp"].model_copy(update={"legacy_feeding_share": 0.0, "uptake_p": 0.0, "uptake_q": 0.0})
        sc = sc.model_copy(update={"sectors": {**sc.sectors, "gp": gp},
                                   "interventions": [iv for iv in sc.interventions if "gp" not in (iv.path or "")]})
    old = PrescriptionBase.audit
    PrescriptionBase.audit = audit
    try:
        sim = Simulation(sc, seed=SEED, scale=SCALE)
        res = sim.run()
    finally:
        PrescriptionBase.audit = old
    return res, next(m for m in sim.modules if m.name == "eprescription")


def _monthly(res, event: str) -> pd.Series:
    ep = res.to_df("eprescription")
    out = ep[ep["event"] == event].groupby("month")["count"].sum()
    out.index = out.index.astype(str)
    return out


@pytest.fixture(scope="module")
def runs():
    """The baseline window with its mandate, without one, and with GPs never feeding the DMP."""
    return {
        "mandate": _run(audit=True),
        "none": _run({"eprescription.mandate_date": "2099-01-01"}),
        "no_dmp": _run(drop_gp_feeding=True),
    }


# -- the prescribers' arrays ------------------------------------------------------------------
def test_gps_start_only_once_their_software_is_authorised_and_the_mandate_moves_only_compliers():
    rng = np.random.default_rng(0)
    n = 20_000
    software = np.where(rng.random(n) < 0.9, rng.integers(0, 400, n), NEVER).astype(np.int32)
    own = np.where(rng.random(n) < 0.5, rng.integers(0, 400, n), NEVER).astype(np.int32)
    p = Prescribers(software, own, rng.random(n), use_share=0.3)
    assert (p.start_day >= p.software_day).all()
    before = p.start_day.copy()
    complied = p.apply_mandate(200, compliance=0.6, use_share=0.8)
    assert complied / n == pytest.approx(0.6, abs=0.02)
    assert (p.start_day <= before).all(), "a mandate never delays anyone"
    assert (p.start_day >= p.software_day).all(), "nobody e-prescribes without authorised software"
    moved = p.start_day < before
    assert (p.start_day[moved] >= 200).all(), "the mandate acts from its date, not before"
    assert np.isin(p.use, [0.3, 0.8]).all() and (p.use == 0.8).mean() == pytest.approx(0.6, abs=0.02)
    assert p.apply_mandate(300, 1.0, 1.0) == 0, "a second mandate changes nothing"
    # the active set is the GPs whose start day has come
    for day in (0, 150, 250, 399):
        assert set(p.active(day).tolist()) == set(np.flatnonzero(p.start_day <= day).tolist())


# -- runs ------------------------------------------------------------------------------------
def test_mandate_raises_registrations_after_its_date_and_not_before(runs):
    with_m, without = _monthly(runs["mandate"][0], "registered"), _monthly(runs["none"][0], "registered")
    before = [m for m in with_m.index if m < "2025-01"]
    after = [m for m in with_m.index if m >= "2025-02"]
    # nothing differs before the date: the mandate is the only change, and the flow's draws are its own
    pd.testing.assert_series_equal(with_m[before], without[before])
    assert (with_m[after] > 1.25 * without[after]).all()
    issued_w, issued_n = _monthly(runs["mandate"][0], "issued"), _monthly(runs["none"][0], "issued")
    # all prescriptions written are the same either way (±5%): the mandate moves only the registered share
    np.testing.assert_allclose(issued_w[after], issued_n[after], rtol=0.05)
    ad_w, ad_n = (runs[k][0].tables["eprescription_adoption"].set_index("month") for k in ("mandate", "none"))
    assert (ad_w.loc["2024-12", "gp_eprescribing"] == ad_n.loc["2024-12", "gp_eprescribing"])
    assert ad_w.loc["2025-03", "gp_eprescribing"] > 1.1 * ad_n.loc["2025-03", "gp_eprescribing"]


def test_registrations_do_not_depend_on_dmp_feeding(runs):
    res, flow = runs["no_dmp"]
    docs = res.to_df("documents")
    gp_dmp = docs[(docs["sector"] == "gp") & (docs["channel"] == "dmp")]
    # in this run GPs feed nothing of their own: their DMP documents are their e-prescriptions'
    # copies (issue 24, dmp_copy_is_document), one per registration, all prescriptions
    assert set(gp_dmp["doc_type"].astype(str)) == {"57833-6"}
    assert gp_dmp["count"].sum() == flow.copies_booked > 0
    reg_no, reg = _monthly(res, "registered"), _monthly(runs["mandate"][0], "registered")
    assert reg_no.sum() > 0
    assert reg_no.sum() == pytest.approx(reg.sum(), rel=0.05)
    copies = res.to_df("eprescription")
    copies = copies[copies["event"] == "dmp_copy"].groupby("reason")["count"].sum()
    assert copies.get("prescriber_feeds_dmp", 0) == 0 and copies["prescriber_not_feeding"] == reg_no.sum()


def test_each_prescription_has_one_outcome_and_is_dispensed_at_most_once(runs):
    res, flow = runs["mandate"]
    base = flow.base
    registered = np.concatenate([ids for ids, _ in base.audit_registered])
    assert np.unique(registered).size == registered.size
    dispensed = np.concatenate([ids for ids, _ in base.audit_dispensed])
    assert dispensed.size > 0 and np.unique(dispensed).size == dispensed.size, "a prescription was dispensed twice"
    assert np.isin(dispensed, registered).all()
    ep = res.to_df("eprescription")
    total = ep.groupby("event")["count"].sum()
    assert total["registered"] == total["dispensed"] + total["expired_unconsumed"] + base.open
    assert total["registered"] == registered.size and total["dispensed"] == dispensed.size
    assert total["registered"] <= total["issued"]
    assert total["dmp_copy"] == total["registered"], "every registered e-prescription has its DMP copy"
    # patients are drawn (audit on) and are persons of the population
    window = base.patients(np.arange(base.lo, base.next_id))
    assert window.size and (window >= 0).all() and (window < flow.ctx.world.patients.n).all()
    # a broken tally is caught
    flow.counts[0, flow._col["dispensed"]] += 1
    with pytest.raises(ConservationError, match="e-prescription conservation broken"):
        flow.check_conservation()
    flow.counts[0, flow._col["dispensed"]] -= 1


def test_registered_share_rises_with_the_mandate_and_every_gp_prescription_is_counted(runs):
    res, _ = runs["mandate"]
    reg, issued = _monthly(res, "registered"), _monthly(res, "issued")
    share = reg / issued
    assert share["2024-12"] < share["2025-03"] - 0.1
    # issued: all GP prescriptions, ≈ consultations × 0.75: 190M consultations a year
    # (scenarios/data/activity.csv) × 0.75 ≈ 143M nationally
    per_year = issued[[m for m in issued.index if m >= "2024-07"]].sum() / SCALE * 12 / 10
    assert 1.1e8 < per_year < 1.8e8


# -- bad inputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ("[eprescription]\nmandate_date = \"soon\"\n", "eprescription.mandate_date:"),
    ("[eprescription]\nuse_share = 1.5\n", "eprescription.use_share: must be at most 1.0"),
    ("[eprescription]\nper_consultation = 0\n", "eprescription.per_consultation: must be greater than 0"),
    ("[eprescription]\nmandate_use_share = -0.1\n", "eprescription.mandate_use_share: must be at least 0.0"),
    ("[eprescription.software]\nmiddle = 2024-01-01\n", "eprescription.software.middle: unknown key; allowed keys here:"),
])
def test_bad_eprescription_inputs_give_one_clear_line(tmp_path, body, expected):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write_scenario(tmp_path, body))
    msg = str(exc.value)
    assert expected in msg and "\n" not in msg


def test_bad_mandate_on_the_command_line_exits_2_with_one_line(tmp_path, capsys):
    p = write_scenario(tmp_path, "[eprescription]\nmandatory_prescriber_compliance = 2\n")
    code = main(["run", str(p), "--scale", "0.001", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "eprescription.mandatory_prescriber_compliance: must be at most 1.0" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists(), "nothing half written"


def test_a_feeding_gps_dmp_prescriptions_are_copies_of_its_e_prescriptions():
    """When patients are drawn (the demo's recorder), the k-th e-prescription of a GP on a day
    takes the patient of its k-th DMP prescription of that day: the DMP copy is the same
    prescription. How many are registered does not depend on it."""
    from collections import Counter

    import simulator
    from agents.catalogue import by_code
    from simulator.demo.world import DemoSimulation

    sim = DemoSimulation("scenarios/demo.toml", seed=4)
    sim.run()
    rec = sim.recorder
    rows = rec.dmp_rows()
    gp_index = sim.world.sector("gp").index
    rx = (rows["sector"] == gp_index) & (rows["doc_type"] == by_code("57833-6").index)
    dmp = Counter(zip(rows["day"][rx].tolist(), rows["facility"][rx].tolist(), rows["patient"][rx].tolist(), strict=True))
    reg = Counter((r["day"], r["gp"], r["patient"]) for r in rec.registered)
    per_gp_day_dmp = Counter((d, f) for d, f, _ in dmp.elements())
    per_gp_day_reg = Counter((r["day"], r["gp"]) for r in rec.registered)
    expected = sum(min(n, per_gp_day_reg[k]) for k, n in per_gp_day_dmp.items())
    matched = sum((dmp & reg).values())
    assert expected > 0
    assert matched >= expected
    # the same registrations as a run without the recorder (patients are drawn on their own stream)
    plain = simulator.run("scenarios/demo.toml", seed=4).to_df("eprescription")
    assert plain.loc[plain["event"] == "registered", "count"].sum() == len(rec.registered)


@pytest.mark.parametrize("lo, hi, day", [(0, 40, 5), (10, 30, 12), (25, 60, 30), (0, 60, 95), (35, 60, 20)])
def test_a_block_of_ids_is_judged_as_dispense_judges_each_id(lo, hi, day):
    """``dispense_block`` (the flow's fast path) gives the verdicts ``dispense`` gives id by id:
    accepted once, already dispensed, expired (in or out of the window)."""
    def base():
        b = PrescriptionBase(validity_days=20)
        b.register(np.arange(30), 0)  # ids 0-29, written on day 0
        b.register(np.arange(30), 15)  # ids 30-59, written on day 15
        b.dispense(np.array([12, 33, 34]), 16)  # some already consumed
        return b

    a, b = base(), base()
    if day >= 20:
        a.expire(day - 1), b.expire(day - 1)  # the window moves as in a run
    want = a.dispense(np.arange(lo, hi), day)
    counts, codes = b.dispense_block(lo, hi, day, want_codes=True)
    np.testing.assert_array_equal(codes, want)
    np.testing.assert_array_equal(counts, np.bincount(want, minlength=counts.size))
    assert a.open == b.open
    again, _ = b.dispense_block(lo, hi, day)
    assert again[0] == 0, "a second scan of the same block accepts nothing"
    with pytest.raises(ValueError, match="not all registered"):
        b.dispense_block(50, 70, day)
