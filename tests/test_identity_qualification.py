"""Identity per patient (simulator/engine/identity.py, agents/identity/qualification.py): lookups
qualify a person for good, 01 / 02 answers are retried, persons without an INS never qualify,
an INSi outage raises identity rejections only while it lasts, and a schema error names the
field."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from agents.identity.qualification import (
    NO_INS,
    NOT_LOOKED_UP,
    PENDING_01,
    PENDING_02,
    QUALIFIED,
    STATE_NAMES,
    Qualification,
    QualificationRules,
)
from agents.patients import HAS_INS, ID_QUALIFIED, INSI_OK
from scenarios.loader import ScenarioError
from simulator.core.parallel import Workers
from simulator.engine import Simulation
from simulator.engine.identity import IdentityModule
from simulator.engine.scenario import load_scenario
from tests.conftest import REPO

RULES = QualificationRules(id_check_share=0.8, retry_days=10, resolve_01=0.5, resolve_02=0.6, backlog_days=5,
                           new_to_facility_share=0.3)


def _people(n: int, seed: int = 0):
    """A population's identity columns: 2% without INS; first answers 00 / 01 / 02."""
    rng = np.random.default_rng(seed)
    has_ins = rng.random(n) >= 0.02
    insi = rng.choice(3, size=n, p=[0.9, 0.08, 0.02]).astype(np.int8)
    insi[~has_ins] = 1
    status = has_ins.astype(np.uint8) * HAS_INS
    return SimpleNamespace(n=n, status=status, insi=insi)


def _visits(q: Qualification, n: int, days: range, rows: int, rng: np.random.Generator, practice=0.9):
    """Batches of documents on ``days``, each row a random patient at a facility that qualifies
    with chance ``practice``; yields (day, patients, qualified) after each batch."""
    for day in days:
        patient = rng.integers(0, n, rows).astype(np.int32)
        prac = rng.random(rows) < practice
        yield day, patient, prac, q.qualify_rows(patient, prac, day)


def test_once_qualified_stays_qualified_and_the_counts_add_up():
    n = 5_000
    people = _people(n)
    q = Qualification(people, RULES, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    before = q.state.copy()
    for _day, patient, prac, qualified in _visits(q, n, range(400), 300, rng):
        # a state never goes back; a qualified person stays qualified
        assert (q.state >= before).all() and (q.state[before == QUALIFIED] == QUALIFIED).all()
        before = q.state.copy()
        # a row goes out qualified only from a facility that qualifies, for a qualified person with INSi 00
        assert not qualified[~prac].any()
        assert (q.state[patient[qualified]] == QUALIFIED).all()
        assert ((people.status[patient[qualified]] & INSI_OK) != 0).all()
        np.testing.assert_array_equal(q.counts, np.bincount(q.state, minlength=len(STATE_NAMES)))
    bits = (people.status & ID_QUALIFIED) != 0
    np.testing.assert_array_equal(bits, q.state == QUALIFIED)  # the status bit the scans read says the same
    no_ins = (people.status & HAS_INS) == 0
    assert (q.state[no_ins] == NO_INS).all()  # AME, tourists: never qualified
    assert ((people.status[no_ins] & INSI_OK) == 0).all()
    # 400 days of about 24 visits a person: nearly everyone with an INS is qualified, 01 / 02 included
    with_ins = ~no_ins
    assert (q.state[with_ins] == QUALIFIED).mean() > 0.97
    assert (q.state[with_ins & (people.insi != 0)] == QUALIFIED).mean() > 0.9


def test_retries_wait_their_delay_and_resolve_with_their_probability():
    n = 20_000
    people = _people(n, seed=3)
    q = Qualification(people, RULES, np.random.default_rng(4))
    everyone = np.arange(n, dtype=np.int32)
    q.qualify_rows(everyone, True, day=0)
    pending = np.isin(q.state, (PENDING_01, PENDING_02))
    first_01 = (people.insi == 1) & ((people.status & HAS_INS) != 0)
    assert (q.state[first_01] == PENDING_01).all() and (q.state[people.insi == 2] == PENDING_02).all()
    lookups, _ = q.take_counters()
    assert lookups[:3].sum() == np.count_nonzero(people.status & HAS_INS)  # one lookup per person with an INS
    # before the retry delay nothing is looked up again
    q.qualify_rows(everyone, True, day=RULES.retry_days - 1)
    assert q.take_counters()[0][:3].sum() == 0
    q.qualify_rows(everyone, True, day=RULES.retry_days)
    resolved = (q.state[pending] == QUALIFIED).mean()
    expected = (np.count_nonzero(first_01) * RULES.resolve_01 + np.count_nonzero(people.insi == 2) * RULES.resolve_02) \
        / np.count_nonzero(pending)
    assert resolved == pytest.approx(expected, abs=0.03)


def test_repeated_patients_in_a_batch_are_one_lookup_each():
    n = 100
    people = _people(n, seed=5)
    q = Qualification(people, RULES, np.random.default_rng(6))
    patient = np.repeat(np.arange(n, dtype=np.int32), 7)
    qualified = q.qualify_rows(patient, True, day=0)
    lookups, _ = q.take_counters()
    assert lookups[:3].sum() == np.count_nonzero(people.status & HAS_INS)
    # every document of one person says the same
    assert (qualified.reshape(n, 7) == qualified.reshape(n, 7)[:, :1]).all()
    assert q.counts.sum() == n


def test_an_outage_fails_lookups_and_its_backlog_is_looked_up_afterwards():
    n = 10_000
    people = _people(n, seed=7)
    q = Qualification(people, RULES, np.random.default_rng(8))
    half = np.arange(n // 2, dtype=np.int32)
    for day in range(60):  # the first half is known to the facilities before the outage
        q.qualify_rows(half, True, day)
    q.take_counters()
    q.set_up(False)
    known = q.qualify_rows(half, True, day=60)
    # a qualified person stays qualified, but a facility new to them cannot retrieve the INS
    lost = 1 - known[q.state[half] == QUALIFIED].mean()
    assert lost == pytest.approx(RULES.new_to_facility_share, abs=0.05)
    others = np.arange(n // 2, n, dtype=np.int32)
    state = q.state.copy()
    assert not q.qualify_rows(others, True, day=61).any()  # nobody new can be qualified
    np.testing.assert_array_equal(q.state, state)
    assert q.take_counters()[0][3] > 0  # failed lookups are counted
    q.set_up(True)
    for day in range(62, 62 + RULES.backlog_days):  # no visit needed: the backlog is looked up
        q.catch_up(day)
    newcomers = others[(people.status[others] & HAS_INS) != 0]
    assert (q.state[newcomers] != NOT_LOOKED_UP).all()
    assert (q.state[newcomers[people.insi[newcomers] == 0]] == QUALIFIED).all()  # ID checked at the visit


# -- in a run ---------------------------------------------------------------------------

def _demo(weeks: int, outage: bool):
    """The teaching territory for ``weeks`` weeks, with an INSi outage in the second week."""
    start = dt.date(2025, 1, 6)
    sc = load_scenario(REPO / "scenarios" / "demo.toml", {"run.end": start + dt.timedelta(weeks=weeks, days=-1)})
    if outage:
        iv = {"date": start + dt.timedelta(weeks=1), "kind": "outage", "service": "insi", "days": 7}
        sc = sc.model_validate({**sc.model_dump(), "interventions": [*sc.model_dump()["interventions"], iv]})
    sim = Simulation(sc)
    snapshots = []
    sim.observers.append(SimpleNamespace(attach=lambda ctx: ctx.bus.subscribe(
        "day", lambda day: snapshots.append(next(m for m in sim.modules if isinstance(m, IdentityModule)).qual.state.copy()))))
    return sim.run(), snapshots  # run() checks conservation


def test_insi_outage_in_a_run_raises_rejections_only_while_it_lasts():
    central, snaps = _demo(4, outage=False)
    down, _ = _demo(4, outage=True)
    for a, b in zip(snaps, snaps[1:], strict=False):  # day after day, nobody loses a qualification
        assert (b[a == QUALIFIED] == QUALIFIED).all()
    table = down.to_df("identity")
    assert table["lookups_failed"].sum() > 0 and (central.to_df("identity")["lookups_failed"] == 0).all()
    # the demo's tables are monthly: compare the DMP's refusals by day (same draws before the outage)
    def refused(res):
        rows = res.to_df("dmp_daily").set_index("date")
        return rows["rejected"] / rows["received"].clip(lower=1)
    a, b = refused(central), refused(down)
    outage = slice("2025-01-13", "2025-01-19")
    assert (b.loc[:"2025-01-12"] == a.loc[:"2025-01-12"]).all()
    assert b.loc[outage].mean() > a.loc[outage].mean() + 0.1
    assert b.loc["2025-01-27":].mean() == pytest.approx(a.loc["2025-01-27":].mean(), abs=0.03)


def test_the_identity_table_counts_every_person():
    res, _ = _demo(1, outage=False)
    t = res.to_df("identity")
    persons = t[[c for c in t.columns if c.startswith("persons_")]].sum(axis=1)
    assert persons.iloc[-1] == pytest.approx(res.manifest["simulated"]["patients"] / res.manifest["scale"], rel=1e-9)
    assert 0 < t["qualified_share"].iloc[-1] <= 1


@pytest.mark.slow
def test_wave2_identity_rejections_stay_under_ten_percent_in_2025():
    from tests.support_wave2 import readme_wave2_runs

    res = readme_wave2_runs()[0].results  # the wave 2 scenario as it ships, scale 0.01 (the README's run)
    d = res.to_df("documents")
    d = d[(d["channel"] == "dmp") & ~d["outcome"].isin(["queued", "dropped"]) & (d["month"].dt.year == 2025)]
    identity = d["reason"].isin(["identity_not_qualified", "ins_missing"])
    assert d.loc[identity, "national"].sum() < 0.10 * d["national"].sum()


@pytest.mark.parametrize("key, value, field", [
    ("identity.resolve_01", 1.5, "identity.resolve_01"),
    ("identity.retry_days", 0, "identity.retry_days"),
    ("identity.bogus", 1, "identity"),
])
def test_bad_identity_parameters_name_the_field(key, value, field):
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        load_scenario(REPO / "scenarios" / "baseline.toml", {key: value})


def test_an_insi_outage_needs_its_days():
    sc = load_scenario(REPO / "scenarios" / "insi_outage.toml")
    iv = next(i for i in sc.interventions if i.kind == "outage" and i.service == "insi")
    bad = {k: v for k, v in iv.model_dump().items() if k != "days"}
    with pytest.raises(ValueError, match="needs days"):
        type(iv).model_validate(bad)


def test_the_compiled_scan_gives_the_same_rows_and_states():
    pytest.importorskip("numba")
    n, n_fac = 3_000, 40
    out = {}
    for compiled in (False, True):
        people = _people(n, seed=9)
        q = Qualification(people, RULES, np.random.default_rng(10))
        q.kernels = compiled
        rng = np.random.default_rng(11)
        rows, snaps = [], []
        workers = Workers(2)  # the compiled scan runs in pieces, on two threads
        for day in range(120):
            size = 60_000 if day % 40 == 5 else 500  # some batches large enough to be cut in pieces
            patient = rng.integers(0, n, size).astype(np.int32)
            facility = np.sort(rng.integers(0, n_fac, size)).astype(np.int32)
            practice = rng.random(n_fac) < 0.8 if day % 3 else (False if day % 7 == 0 else True)
            qualified, snap = q.read_rows(patient, practice, day, facility, workers)
            rows.append(qualified)
            snaps.append(snap)
            # each row's status byte is its patient's, but for the identity bits other rows' lookups
            # set meanwhile; a row sent qualified carries INSi's 00
            identity = INSI_OK | ID_QUALIFIED
            np.testing.assert_array_equal(snap & ~identity, people.status[patient] & ~identity)
            assert ((snap[qualified] & INSI_OK) != 0).all()
        workers.close()
        out[compiled] = (np.concatenate(rows), np.concatenate(snaps), q.state.copy(), q.day.copy(),
                         people.status.copy())
    for a, b in zip(out[False], out[True], strict=True):
        np.testing.assert_array_equal(a, b)
