"""Mon espace santé profiles: the existence check before sending, opposition from a date,
activation toward the 2027 target, deaths and births, and bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulator
from agents.patients import ACTIVATED, CLOSED, CREATED, OPPOSED
from scenarios.schema import Intervention
from simulator.cli import main
from simulator.core.arrays import sorted_unique, stable_order
from simulator.core.errors import ScenarioError
from simulator.engine import Simulation
from simulator.engine.scenario import load_scenario
from simulator.studies.observed_match import observed_vs_simulated
from tests.conftest import BASELINE, REPO, write_scenario

END_2021 = {"run.end": "2021-12-31"}


def _dmp_2021(res) -> pd.Series:
    docs = res.tables["documents"]
    d = docs[(docs["channel"] == "dmp") & docs["month"].str.startswith("2021")]
    return d.groupby(["outcome", "reason"])["documents"].sum()  # national figures, as dmp_daily


def test_existence_check_turns_2021_no_profile_rejections_into_not_sent():
    checked = simulator.run(load_scenario(BASELINE, overrides=END_2021), scale=0.002, seed=4)
    unchecked = simulator.run(load_scenario(BASELINE, overrides={**END_2021, "profiles.existence_check": False}),
                              scale=0.002, seed=4)
    for res in (checked, unchecked):
        res.check_conservation()
    on, off = _dmp_2021(checked), _dmp_2021(unchecked)
    # without the check most of 2021 is rejected for want of a profile; with it, none is
    assert off.get(("rejected", "no_profile"), 0) > 0.5 * off.sum()
    assert on.get(("rejected", "no_profile"), 0) == 0
    assert on.get(("not_sent", "no_profile"), 0) == pytest.approx(off[("rejected", "no_profile")], rel=0.05)
    # what is sent in 2021 is mostly accepted, and every document keeps one outcome
    sent = on.drop(("not_sent", "no_profile"))
    assert on[("accepted", "")] / sent.sum() > 0.8
    assert on.sum() == pytest.approx(off.sum(), rel=0.02)
    # the DMP never sees what was not sent: its daily log receives only the rest
    daily = checked.tables["dmp_daily"]
    assert daily["received"].sum() == pytest.approx(sent.sum())
    assert daily["not_sent"].sum() == pytest.approx(on[("not_sent", "no_profile")])


def test_activated_profiles_grow_and_are_read_against_the_2027_target(small_results):
    prof = small_results.tables["profiles"]
    act = prof[prof["state"] == "activated"].set_index("month")["persons"]
    assert act["2023-12"] < act["2025-12"] < act["2027-12"]
    fit = observed_vs_simulated(small_results)
    row = fit[fit["metric"] == "target_mes_profiles_activated"].iloc[0]
    assert row["matched"] and row["date"] == "2027-12" and row["observed"] == 40e6
    assert row["simulated"] == pytest.approx(act["2027-12"])
    assert 15e6 < row["simulated"] < 60e6  # a readable figure, of the right order
    # the published counts the campaigns were fitted to, within a broad band at this scale
    for date, observed in (("2022-10", 7.2e6), ("2024-10", 15e6)):
        assert act[date] == pytest.approx(observed, rel=0.25)


def test_campaign_multiplies_activations_only_while_it_lasts():
    over = {"run.end": "2023-08-31"}
    base = load_scenario(BASELINE, overrides=over)
    ev = [{"date": "2023-03-01", "kind": "campaign", "path": "profiles.activation_rate", "factor": 5.0, "days": 92}]
    camp = base.model_copy(update={"interventions": [*base.interventions, *map(Intervention.model_validate, ev)]})
    a = simulator.run(base, scale=0.002, seed=5).tables["profile_events"]
    b = simulator.run(camp, scale=0.002, seed=5).tables["profile_events"]

    def activations(df, months):
        sel = df[(df["event"] == "activated") & df["month"].isin(months)]
        return sel["persons"].sum()

    during = ["2023-03", "2023-04", "2023-05"]
    assert activations(b, during) > 3 * activations(a, during)
    assert activations(b, ["2023-01", "2023-02"]) == activations(a, ["2023-01", "2023-02"])
    after = ["2023-07", "2023-08"]
    assert activations(b, after) == pytest.approx(activations(a, after), rel=0.3)


def test_raising_opposition_from_a_date_lowers_creations_after_it_not_before():
    over = {"run.end": "2022-12-31"}
    base = load_scenario(BASELINE, overrides=over)
    iv = Intervention.model_validate(
        {"date": "2022-04-01", "kind": "parameter", "path": "profiles.opposition_rate", "value": 0.3})
    raised = base.model_copy(update={"interventions": [*base.interventions, iv]})
    a = simulator.run(base, scale=0.002, seed=6).tables["profile_events"]
    b = simulator.run(raised, scale=0.002, seed=6).tables["profile_events"]

    def total(df, event, before: bool):
        sel = df[(df["event"] == event) & ((df["month"] < "2022-04") == before)]
        return sel["persons"].sum()

    assert total(b, "created", before=True) == total(a, "created", before=True)
    assert total(b, "opposed", before=True) == total(a, "opposed", before=True)
    assert total(b, "created", before=False) < 0.85 * total(a, "created", before=False)
    assert total(b, "opposed", before=False) > 5 * total(a, "opposed", before=False)


def test_deaths_and_births_keep_the_population_consistent():
    sc = load_scenario(BASELINE, overrides={"run.end": "2023-06-30", "profiles.death_rate": 0.05})
    sim = Simulation(sc, scale=0.002, seed=7)
    res = sim.run()
    prof, st = sim.world.profiles, sim.world.patients.status
    # the running counters are the status bits, and the states add up to the population
    created = (st & CREATED) != 0
    assert prof.counts() == {
        "not_created": int(np.count_nonzero((st & (CREATED | OPPOSED | CLOSED)) == 0)),
        "open": int(np.count_nonzero(created & ((st & ACTIVATED) == 0))),
        "activated": int(np.count_nonzero(created & ((st & ACTIVATED) != 0))),
        "opposed": int(np.count_nonzero(st & OPPOSED)),
        "closed": int(np.count_nonzero(st & CLOSED)),
    }
    assert not np.any(created & ((st & (OPPOSED | CLOSED)) != 0))  # one state per person
    table = res.tables["profiles"].groupby("month")["persons"].sum()
    assert np.allclose(table.to_numpy(), sim.world.patients.n / res.scale)
    ev = res.tables["profile_events"].groupby("event")["persons"].sum()
    assert ev["deaths"] == ev["births"] > 0
    assert 0 < ev["closed_at_death"] <= ev["deaths"]
    # newborns from 2022 get a profile at birth unless their parents oppose (2%)
    ev22 = res.tables["profile_events"]
    ev22 = ev22[ev22["month"] >= "2022-02"].groupby("event")["persons"].sum()
    assert ev22["created_at_birth"] == pytest.approx(0.98 * ev22["births"], rel=0.05)


def test_reopenings_pick_among_the_closed_profiles_as_a_full_scan_would():
    """The closed persons the profile service keeps (closures since the start, filtered) are
    exactly those a scan of the population finds, through closures, reopenings and deaths."""
    sc = load_scenario(BASELINE, overrides={"run.end": "2022-09-30", "profiles.closure_rate": 0.01,
                                            "profiles.reactivation_rate": 0.05, "profiles.death_rate": 0.05})
    sim = Simulation(sc, scale=0.002, seed=3)
    res = sim.run()
    prof, st = sim.world.profiles, sim.world.patients.status
    np.testing.assert_array_equal(prof._closed_members(), np.flatnonzero(st & CLOSED))
    ev = res.tables["profile_events"].groupby("event")["persons"].sum()
    assert ev["closed"] > 0 and ev["reactivated"] > 0 and ev["deaths"] > 0


def test_documents_move_their_patients_to_activate_only_where_the_profile_is_open():
    """profiles.activation_per_document: the day after an accepted document its patient may
    activate an open profile; none is moved at 0 (the shipped value), and a moved person is
    counted once in ``activated`` and once in ``activated_after_document``."""
    over = {"run.end": "2024-03-31"}
    base = simulator.run(load_scenario(BASELINE, overrides=over), scale=0.002, seed=8)
    a = base.tables["profile_events"]
    on = Simulation(load_scenario(BASELINE, overrides={**over, "profiles.activation_per_document": 0.02}),
                    scale=0.002, seed=8)
    res = on.run()
    b = res.tables["profile_events"]
    moved_by = b[b["event"] == "activated_after_document"].set_index("month")["persons"]
    assert a.loc[a["event"] == "activated_after_document", "persons"].sum() == 0
    assert moved_by.sum() > 0
    # at most the accepted documents × the chance (a person moved twice counts once)
    docs = res.tables["documents"]  # national figures, as profile_events
    accepted = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted")].groupby("month")["documents"].sum()
    assert (moved_by <= 0.02 * accepted.reindex(moved_by.index, fill_value=0) * 1.5 + 1e-9).all()
    # the activations counted include them: more activated profiles at the end than without
    activated = [r.tables["profiles"].query("month == '2024-03' and state == 'activated'")["persons"].sum()
                 for r in (base, res)]
    assert activated[1] - activated[0] == pytest.approx(moved_by.sum(), rel=0.5)
    # the state counters still are the status bits
    st, counts = on.world.patients.status, on.world.profiles.counts()
    assert counts["activated"] == int(np.count_nonzero(((st & CREATED) != 0) & ((st & ACTIVATED) != 0)))


def test_a_moved_person_activates_once_and_only_from_an_open_profile():
    sim = Simulation(load_scenario(BASELINE, overrides={"run.end": "2022-06-30"}), scale=0.001, seed=2)
    sim.run()
    prof, st = sim.world.profiles, sim.world.patients.status
    open_ = np.flatnonzero((st & (CREATED | ACTIVATED)) == CREATED)[:5]
    others = np.flatnonzero((st & CREATED) == 0)[:5]  # not created, opposed or closed
    before = dict(prof.counts())
    persons = np.concatenate([open_, open_, others])  # repeats: one activation each
    assert prof.activate_after_documents(persons) == open_.size > 0
    assert np.all(st[open_] & ACTIVATED) and not np.any(st[others] & ACTIVATED)
    after = prof.counts()
    assert after["activated"] - before["activated"] == open_.size == before["open"] - after["open"]
    assert prof.activate_after_documents(open_) == 0  # already activated


def test_sorted_unique_is_numpys_unique():
    rng = np.random.default_rng(4)
    for a in (rng.integers(0, 50, 200), rng.integers(0, 10**9, 5000), np.empty(0, np.int64), np.array([7])):
        got = sorted_unique(a)
        np.testing.assert_array_equal(got, np.unique(a))
        assert got.dtype == a.dtype


def test_the_compiled_stable_order_is_numpys():
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    for keys in (rng.integers(-1, 900, 100_000).astype(np.int16), np.full(50, 7, np.int16), np.empty(0, np.int16)):
        np.testing.assert_array_equal(stable_order(keys, compiled=True), np.argsort(keys, kind="stable"))


BAD = [
    ("campaign factor", "[[profiles.campaigns]]\nstart = 2026-01-01\nend = 2026-12-31\nactivation_factor = -1.0\n",
     "activation_factor"),
    ("campaign dates", "[[profiles.campaigns]]\nstart = 2026-01-01\nend = 2025-12-31\nactivation_factor = 2.0\n",
     "end (2025-12-31) is before start"),
    ("opposition above 1", '[[interventions]]\ndate = 2024-01-01\nkind = "parameter"\npath = "profiles.opposition_rate"\nvalue = 1.5\n',
     "'profiles.opposition_rate' is a probability"),
    ("death rate", "[profiles]\ndeath_rate = 2.0\n", "profiles.death_rate"),
    ("existence check", '[profiles]\nexistence_check = "yes"\n', "profiles.existence_check"),
]


@pytest.mark.parametrize("what,body,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_profile_inputs_give_one_line_and_exit_2(tmp_path, capsys, what, body, expected):
    p = write_scenario(tmp_path, body)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    assert str(p) in str(exc.value) and expected in str(exc.value), str(exc.value)
    code = main(["run", str(p), "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["mes_opposition", "mes_campaign"])
def test_lever_scenarios_load_and_ask_their_question(name):
    path = REPO / "scenarios" / f"{name}.toml"
    assert path.read_text(encoding="utf-8").splitlines()[1].startswith("# Question:")
    sc = load_scenario(path)
    assert any(iv.path and iv.path.startswith("profiles.") for iv in sc.interventions)
