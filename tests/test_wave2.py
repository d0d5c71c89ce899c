"""Wave 2 in the model: dormant sectors and their launch, the e-prescription base, the wave 2
flows, conservation with every sector, and clear errors for the new scenario sections."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import simulator
from agents.patients import NEVER
from agents.producers import SECTOR_CLASSES, Wave2Sector
from agents.services.eprescription import ACCEPTED, CONSUMED, EXPIRED, UNKNOWN, PrescriptionBase
from scenarios.schema import SECTORS_WAVE2
from simulator.core.errors import ScenarioError
from simulator.engine import Simulation
from simulator.engine.calendar import Calendar
from simulator.engine.scenario import load_scenario
from tests.conftest import write_scenario
from tests.support_wave2 import SCALE, SCENARIOS, SEED, wave2_run

WAVE2 = SCENARIOS / "wave2.toml"


def launch_months(path=WAVE2) -> dict[str, str]:
    """Each wave 2 sector's launch month in a scenario (its own dispositif's date, wave2_base.toml)."""
    return {iv.sector: iv.date.strftime("%Y-%m") for iv in load_scenario(path).interventions if iv.kind == "launch"}


def test_each_wave2_sector_launches_on_its_own_dispositif_date():
    launches = launch_months()
    assert set(launches) == set(SECTORS_WAVE2)
    sc = load_scenario(WAVE2)
    for sector, month in launches.items():  # the planned campaign is written for that launch
        assert sc.sectors[sector].install.start.strftime("%Y-%m") == month
    assert launches["medico_social"] < launches["nurse"]  # its SONS came first (12th COSUI, 2025-04-02)
    assert min(launches.values()) > "2025-05"  # no wave 2 dispositif of these sectors was out by May 2025


# -- the sectors ---------------------------------------------------------------------------
def test_every_wave2_sector_has_its_module_and_docstring():
    for name in SECTORS_WAVE2:
        cls = SECTOR_CLASSES[name]
        assert issubclass(cls, Wave2Sector) and cls.name == name
        doc = sys.modules[cls.__module__].__doc__ or ""
        assert "Key documents" in doc, f"{cls.__module__}: the docstring says what the sector is and its key documents"


def test_launch_moves_the_campaign_by_the_launch_delay():
    sc = load_scenario(WAVE2)
    cfg = sc.sectors["nurse"]
    cal = Calendar(sc.run.start, sc.run.end)
    rng = np.random.default_rng(1)
    s = SECTOR_CLASSES["nurse"](0, cfg, 400, np.zeros(400, dtype=np.int16), rng, cal.day, cal.n_days)
    install, mailbox, qual_mid = s.install_day.copy(), s.mailbox_day.copy(), s.qual_mid
    s.launch_day = NEVER  # dormant: nothing moves
    assert (s.install_day == install).all() and s.qual_mid == qual_mid
    planned = cal.day(cfg.install.start)
    s.launch_day = planned + 365  # a year late
    moved = install != NEVER
    assert moved.any()
    assert (s.install_day[moved] == install[moved] + 365).all()
    assert (s.install_day[~moved] == NEVER).all()
    assert s.qual_mid == qual_mid + 365
    with_update = (mailbox > 0) & (mailbox != NEVER)
    assert (s.mailbox_day[with_update] == s.install_day[with_update]).all()
    assert (s.mailbox_day[mailbox == 0] == 0).all()
    s.launch_day = planned - 100  # moved again: relative to the plan, not cumulative
    assert (s.install_day[moved] == np.maximum(install[moved] - 100, 0)).all()


@pytest.mark.slow  # runs the whole scenario library (tests/support_wave2.py)
def test_wave2_sectors_dormant_until_launch_then_feed(repo_root):
    res = wave2_run()
    res.check_conservation()  # every document of every sector, wave 2 included, has one outcome
    docs = res.to_df("documents")
    w2 = docs[docs["sector"].isin(SECTORS_WAVE2)]
    launches = launch_months()
    early = w2[w2["month"] < w2["sector"].map(launches)]
    # before its own launch a sector sends no document; its open mailboxes write letters only
    assert set(early["channel"]) <= {"mssante_pro"} and set(early["doc_type"]) <= {"11488-4"}, \
        "a wave 2 sector sent documents before its launch"
    assert early["count"].sum() > 0, "the mailboxes open before the launch wrote nothing"
    dmp = w2[w2["channel"] == "dmp"]
    first = dmp[dmp["count"] > 0].groupby("sector")["month"].min().astype(str)
    assert all(first[s] >= launches[s] for s in SECTORS_WAVE2), first  # each from its own date
    accepted = w2[(w2["channel"] == "dmp") & (w2["outcome"] == "accepted") & (w2["month"] >= "2027-01")]
    assert set(accepted["sector"]) == set(SECTORS_WAVE2)
    ad = res.to_df("adoption")
    before = ad[ad["sector"].isin(SECTORS_WAVE2) & (ad["month"] < ad["sector"].map(launches))]
    assert (before["feeding"] == 0).all()
    # only the médico-social wave 1 DUI is installed before a launch (tests/test_medico_social_wave1.py)
    assert (before.loc[before["sector"] != "medico_social", "installed"] == 0).all()
    assert before.loc[before["sector"] == "medico_social", "installed"].max() > 0
    # wave 2 document types reach the DMP (their catalogue rows are in J66)
    assert {"11506-3", "47420-5", "83836-7", "74207-2"} <= set(accepted["doc_type"])


@pytest.mark.slow
def test_wave1_sectors_unchanged_by_wave2_sectors_until_wave2_interventions():
    """Common random numbers: adding the wave 2 sectors leaves the wave 1 draws alone."""
    base = simulator.run(load_scenario(SCENARIOS / "baseline.toml", overrides={"run.end": "2024-12-31"}),
                         seed=SEED, scale=SCALE)
    wave2 = wave2_run()
    a = base.monthly("dmp")
    b = wave2.monthly("dmp").loc[a.index, a.columns]
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy())


# -- the e-prescription base ---------------------------------------------------------------
class Model:
    """An independent, slow model of the base's rules, for checking it."""

    def __init__(self, validity: int):
        self.validity = validity
        self.written: dict[int, int] = {}
        self.consumed: set[int] = set()

    def dispense(self, ids, day):
        out = []
        for i in ids:
            i = int(i)
            if i not in self.written:
                out.append(UNKNOWN)
            elif day - self.written[i] >= self.validity:
                out.append(EXPIRED)
            elif i in self.consumed:
                out.append(CONSUMED)
            else:
                self.consumed.add(i)
                out.append(ACCEPTED)
        return out


def test_dispensation_never_references_a_missing_or_consumed_prescription():
    rng = np.random.default_rng(7)
    validity = 20
    base = PrescriptionBase(validity, capacity=16)  # tiny: growth and compaction are exercised
    model = Model(validity)
    peak = 0
    for day in range(200):
        ids = base.register(rng.integers(0, 1000, size=rng.integers(0, 30)), day)
        for i in ids:
            model.written[int(i)] = day
        # references: recent, old (expired), consumed, repeated, never issued, negative
        hi = max(base.next_id, 1)
        refs = np.concatenate([rng.integers(max(hi - 300, 0), hi, size=25), rng.integers(0, hi, size=5),
                               rng.integers(hi, hi + 50, size=2), [-1]])
        refs = np.concatenate([refs, refs[:3]])  # the same code scanned twice in one call
        before_consumed = set(model.consumed)
        got = base.dispense(refs, day)
        want = model.dispense(refs, day)
        assert list(got) == want
        for i in refs[got == ACCEPTED]:  # accepted ⇒ existed, unexpired, not consumed before
            assert int(i) in model.written and int(i) not in before_consumed
            assert day - model.written[int(i)] < validity
        base.expire(day)
        peak = max(peak, base.size)
        assert base.open == sum(1 for i, d in model.written.items() if i not in model.consumed and day - d < validity)
    assert peak <= 30 * (validity + 1)  # memory bounded by the validity period


def test_registration_out_of_day_order_is_refused():
    base = PrescriptionBase(10)
    base.register(np.array([1, 2]), 5)
    with pytest.raises(ValueError, match="day order"):
        base.register(np.array([3]), 4)


@pytest.fixture(scope="module")
def eprescription_sims(monkeypatch_module):
    """wave2 to mid-2025 with the base's audit on, with and without the mandate."""
    monkeypatch_module.setattr(PrescriptionBase, "audit", True)
    out = {}
    for key, keep_rule in (("rule", True), ("no_rule", False)):
        sc = load_scenario(WAVE2, overrides={"run.end": "2025-03-31"})
        ivs = [iv for iv in sc.interventions if keep_rule or iv.rule != "eprescription_mandatory"]
        ep = sc.eprescription if keep_rule else sc.eprescription.model_copy(update={"mandate_date": None})
        sc = sc.model_copy(update={"interventions": ivs, "eprescription": ep})
        sim = Simulation(sc, seed=SEED, scale=SCALE)
        res = sim.run()
        flow = next(m for m in sim.modules if m.name == "eprescription")
        out[key] = (res, flow)
    return out


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.slow
def test_eprescription_run_dispenses_only_registered_unconsumed_prescriptions(eprescription_sims):
    res, flow = eprescription_sims["rule"]
    base = flow.base
    written = {}
    for ids, days in base.audit_registered:
        for i, d in zip(ids.tolist(), days.tolist(), strict=True):
            assert i not in written
            written[i] = d
    dispensed = np.concatenate([ids for ids, _ in base.audit_dispensed])
    assert dispensed.size > 0
    assert np.unique(dispensed).size == dispensed.size, "a prescription was dispensed twice"
    for ids, day in base.audit_dispensed:
        for i in ids.tolist():
            assert i in written and 0 <= day - written[i] < base.validity
    ep = res.to_df("eprescription")
    total = ep.assign(reason=ep["reason"].astype(object).fillna("")).groupby(["event", "reason"])["count"].sum()
    assert total[("dispensed", "")] == dispensed.size
    assert total[("registered", "")] == len(written)
    assert total[("registered", "")] <= total[("issued", "")]
    assert total[("rejected", "already_dispensed")] > 0  # second scans happen and are refused
    np.testing.assert_allclose(ep["national"], ep["count"] / SCALE)


@pytest.mark.slow
def test_mandatory_rule_raises_registration(eprescription_sims):
    def share(key, month):
        ep = eprescription_sims[key][0].to_df("eprescription")
        m = ep[ep["month"] == month].groupby("event")["count"].sum()
        return m["registered"] / m["issued"]

    assert share("rule", "2024-12") == pytest.approx(share("no_rule", "2024-12"))  # same until the rule
    assert share("rule", "2025-02") > share("no_rule", "2025-02") + 0.1


# -- the wave 2 flows ----------------------------------------------------------------------
@pytest.mark.slow  # runs the whole scenario library (tests/support_wave2.py)
def test_wave2_flows_start_with_their_software_and_are_counted():
    res = wave2_run()
    f = res.to_df("flows")
    assert list(f.columns) == ["month", "sector", "sector_label", "flow", "outcome", "count", "national"]
    np.testing.assert_allclose(f["national"], f["count"] / SCALE)
    cons = f[f["flow"] == "mes_consultation"]
    assert cons.loc[cons["month"] < "2025-01", "count"].sum() == 0  # no wave 2 software before 2025
    assert cons.loc[(cons["sector"] == "gp") & (cons["month"] >= "2026-01"), "count"].sum() > 0
    assert cons.loc[cons["sector"].isin(SECTORS_WAVE2) & (cons["month"] < cons["sector"].map(launch_months())),
                    "count"].sum() == 0
    drim = f[(f["flow"] == "drimbox_image_share") & (f["count"] > 0)]
    assert set(drim["sector"]) <= {"radiology", "hospital"} and len(drim)
    integ = f[f["flow"] == "mssante_integration"].pivot_table(index=["month", "sector"], columns="outcome",
                                                                values="count", aggfunc="sum")
    assert (integ["integrated"] <= integ["received"]).all()
    assert integ["integrated"].sum() > 0
    # received by professionals = MSSanté messages delivered to the sectors that route to them
    docs = res.to_df("documents")
    delivered = docs[(docs["channel"] == "mssante_pro") & (docs["outcome"] == "delivered")]["count"].sum()
    assert integ["received"].sum() <= delivered


# -- scenario errors -----------------------------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ("[wave2_flows.consultation]\ndentists = 0.1\n", "wave2_flows.consultation.dentists: not a sector of this scenario; allowed:"),
    ("[eprescription]\nvalidity = 90\n", "eprescription.validity: unknown key; allowed keys here:"),
    ("[eprescription]\npresented_share = 1.5\n", "eprescription.presented_share: must be at most 1.0"),
    ("[wave2_flows.software.gp]\nmiddle = 2026-01-01\n", "wave2_flows.software.gp.middle: unknown key; allowed keys here: final_share, mid"),
])
def test_bad_wave2_sections_give_one_clear_line(tmp_path, body, expected):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write_scenario(tmp_path, body, WAVE2))
    assert expected in str(exc.value) and "\n" not in str(exc.value)


def test_wave1_sector_in_a_flow_needs_its_wave2_update(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(f'extends = "{(SCENARIOS / "baseline.toml").as_posix()}"\nname = "t"\n'
                 "[wave2_flows.drimbox]\nradiology = 0.3\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"wave2_flows.drimbox.radiology: a wave 1 sector takes part once its wave 2 "
                                            r"update is installed: add its campaign \[wave2_flows.software.radiology\]"):
        load_scenario(p)
