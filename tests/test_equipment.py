"""Equipment with the right denominators: facilities order the Ségur update, then install it
(agents/producers/equipment.py); the deck's install rates are installed / ordered, the counts of
facilities equipped match the deck's; and the levers that move orders and installs (funding,
a deadline extension, a regional roll-out) do what they say and nothing before their date."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from agents.patients import NEVER
from agents.producers.base import relative_sizes
from agents.producers.equipment import Equipment
from scenarios.schema import InstallConfig
from simulator.api import with_overrides
from simulator.core.errors import ScenarioError
from simulator.engine import Simulation
from simulator.engine.scenario import load_scenario
from simulator.studies.observed_match import observed_vs_simulated
from tests.conftest import REPO

SCEN = REPO / "scenarios"
D0 = dt.date(2021, 1, 1)


def day_of(d: dt.date) -> int:
    return (d - D0).days


def install_cfg(**kw) -> InstallConfig:
    base = dict(start=dt.date(2022, 3, 1), order_share=0.7, order_start=dt.date(2021, 7, 1),
                order_mid=dt.date(2022, 6, 1), order_width_days=90.0, install_delay_days=150.0,
                installed_of_ordered=0.99, deadline=dt.date(2023, 9, 20), deadline_compliance=0.9,
                deadline_rush_days=90, order_per_keuro=0.05, order_size_correlation=0.6)
    base.update(kw)
    return InstallConfig(**base)


def equipment(n: int = 20_000, seed: int = 7, **kw) -> Equipment:
    rng = np.random.default_rng(seed)
    return Equipment(install_cfg(**kw), relative_sizes(rng, n, 1.0), rng, day_of)


# -- the mechanism, on its own ------------------------------------------------------------
def test_orders_then_installs_invariants():
    e = equipment()
    inst = e.install_days().astype(np.int64)
    has = inst != NEVER
    assert (e.order_day[has] != NEVER).all() and (inst[has] >= e.order_day[has]).all()
    assert (inst[has] >= day_of(dt.date(2022, 3, 1))).all()  # never before the first installations
    ordered = np.count_nonzero(e.order_day != NEVER) / e.n
    assert ordered == pytest.approx(0.7, abs=0.02)  # a share never orders
    assert np.count_nonzero(has) / np.count_nonzero(e.order_day != NEVER) == pytest.approx(0.99, abs=0.01)


def test_deadline_rush_and_large_facilities_first():
    deadline = day_of(dt.date(2023, 9, 20))
    with_rush, without = equipment(), equipment(deadline_compliance=0.0)
    a, b = with_rush.install_days(), without.install_days()
    ordered = with_rush.order_day <= deadline
    rate = lambda inst: np.count_nonzero(inst <= deadline) / np.count_nonzero(ordered)  # noqa: E731
    assert rate(a) > rate(b) + 0.05  # the deadline brings late installs forward
    assert (a <= b).all()  # never later
    rng = np.random.default_rng(7)
    size = relative_sizes(rng, 20_000, 1.0)
    eq = Equipment(install_cfg(), size, rng, day_of).install_days() <= deadline
    assert size[eq].sum() / size.sum() > np.count_nonzero(eq) / eq.size + 0.05  # the equipped carry more activity


def test_funding_and_extension_move_only_the_future():
    e = equipment(order_per_keuro=0.05)
    before = e.order_day.copy()
    day = day_of(dt.date(2024, 1, 1))
    moved = e.fund(day, 20_000.0, 182)
    assert moved > 0.1 * np.count_nonzero(before > day)
    assert (e.order_day <= before).all()  # sooner or at all, never later
    assert (e.order_day[before <= day] == before[before <= day]).all()
    assert ((e.order_day[e.order_day != before] >= day) & (e.order_day[e.order_day != before] < day + 182)).all()
    f = equipment()
    old = f.install_days()
    f.extend_deadline(120)
    new = f.install_days()
    d = day_of(dt.date(2023, 9, 20))
    due = old <= d  # installed by the old deadline: the rushed ones move to the new rush, none earlier
    assert (new[due] >= old[due]).all() and np.count_nonzero(new <= d) < np.count_nonzero(due)


# -- bad inputs: one line naming the field -------------------------------------------------
def scenario_with(tmp_path, body: str, extends: str = "wave2.toml"):
    p = tmp_path / "s.toml"
    p.write_text(f'extends = "{SCEN / extends}"\nname = "s"\n{body}', encoding="utf-8")
    return load_scenario(p)


@pytest.mark.parametrize("body, fragment", [
    ('[[interventions]]\ndate = 2024-01-01\nkind = "funding"\nsector = "biology"\ndays = 30\n',
     "needs exactly one of euros_per_facility, envelope_euros"),
    ('[[interventions]]\ndate = 2024-01-01\nkind = "funding"\nsector = "biology"\ndays = 30\neuros_per_facility = 1\nenvelope_euros = 2\n',
     "needs exactly one of euros_per_facility, envelope_euros"),
    ('[[interventions]]\ndate = 2024-01-01\nkind = "funding"\nsector = "dentistry"\ndays = 30\neuros_per_facility = 1\n',
     "interventions[N].sector: 'dentistry' is not a sector"),
    ('[[interventions]]\ndate = 2024-01-01\nkind = "funding"\nsector = "nurse"\ndays = 30\neuros_per_facility = 1\n',
     "interventions[N].date: the wave 2 sector 'nurse' is not launched by 2024-01-01"),
    ('[[interventions]]\ndate = 2024-01-01\nkind = "deadline"\nsector = "nurse"\ndays = 30\n',
     "interventions[N].kind: sectors.nurse.install has no deadline to extend"),
    ('[[interventions]]\ndate = 2024-01-01\nkind = "rollout"\nsector = "nurse"\ndepartements = ["35", "20"]\n',
     "interventions[N].departements: '20' is not a département INSEE code"),
    ('[[interventions]]\ndate = 2024-01-01\nkind = "rollout"\nsector = "nurse"\ndepartements = []\n',
     "needs departements: a non-empty list"),
    ("[sectors.biology.install]\nfinal_share = 0.9\n", "sectors.biology.install: final_share belong to a direct install curve"),
    ("[sectors.biology.install]\norder_share = 1.5\n", "sectors.biology.install.order_share: must be at most 1"),
])
def test_bad_equipment_inputs_are_one_line(tmp_path, body, fragment):
    with pytest.raises(ScenarioError) as exc:
        scenario_with(tmp_path, body)
    msg = str(exc.value)
    pattern = re.escape(fragment).replace(r"\[N\]", r"\[\d+\]")
    assert re.search(pattern, msg) and "\n" not in msg, msg


def test_a_direct_curve_needs_its_fields(tmp_path):
    p = tmp_path / "s.toml"
    text = (SCEN / "baseline.toml").read_text(encoding="utf-8")
    text = text.replace("order_share = 0.70 ", "final_share = 0.70 ", 1)
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"sectors\.hospital\.install: .*belong to a direct install curve|"
                                            r"sectors\.hospital\.install: give mid, width_days"):
        load_scenario(p)


# -- whole runs ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wave2_2023():
    """The wave 2 scenario as it ships, at scale 0.01, to October 2023 (before any wave 2 launch)."""
    sc = with_overrides(SCEN / "wave2.toml", {"run.end": "2023-10-31"})
    return Simulation(sc, seed=11, scale=0.01).run()


def test_september_2023_equipment_matches_the_deck(wave2_2023):
    ad = wave2_2023.tables["adoption"].set_index(["month", "sector"])
    sept = ad.xs("2023-09", level="month")
    assert 1600 <= sept.loc["hospital", "installed"] <= 2400  # "nearly 2,000 establishments" ±20%
    assert 0.60 <= sept.loc["biology", "installed"] / sept.loc["biology", "facilities"] <= 0.85  # "> 70% of city labs"
    assert (ad["installed"] <= ad["ordered"] + 1e-9).all() and (ad["ordered"] <= ad["facilities"] + 1e-9).all()
    fit = observed_vs_simulated(wave2_2023)
    rates = fit[(fit["metric"] == "install_rate") & fit["matched"]]
    assert len(rates) == 5
    assert (rates["simulated"] - rates["observed"]).abs().max() < 0.03  # installed / ordered, the deck's rates
    row = rates[rates["sector"] == "hospital_dpi"].iloc[0]
    assert row["simulated"] == pytest.approx(sept.loc["hospital", "installed"] / sept.loc["hospital", "ordered"])
    eq = fit[fit["metric"].isin(["facilities_equipped", "facilities_equipped_share"])]
    assert eq["matched"].all() and (eq["error"].abs() < 0.2).all()


def run_pair(name: str, end: str, scale: float = 0.002):
    """The central projection and a lever's scenario, same seed (common random numbers)."""
    out = []
    for n in ("wave2", name):
        sim = Simulation(with_overrides(SCEN / f"{n}.toml", {"run.end": end}), seed=5, scale=scale)
        out.append((sim.run(), sim))
    return out


def adoption(res, sector):
    return res.tables["adoption"].set_index(["month", "sector"]).xs(sector, level="sector")


@pytest.mark.slow
def test_funding_raises_orders_and_installs_and_leaves_the_past():
    (base, _), (funded, _) = run_pair("wave2_funding", "2024-12-31")
    funded.check_conservation()  # every document sent has exactly one outcome, through the lever
    a, b = adoption(base, "biology"), adoption(funded, "biology")
    before = [m for m in a.index if m < "2024-01"]
    assert a.loc[before].equals(b.loc[before])
    assert b.loc["2024-12", "ordered"] > a.loc["2024-12", "ordered"] * 1.05
    assert b.loc["2024-12", "installed"] > a.loc["2024-12", "installed"] * 1.05
    assert (b["installed"] >= a["installed"] - 1e-9).all()
    da, db = base.monthly("dmp", "accepted")["biology"], funded.monthly("dmp", "accepted")["biology"]
    assert (da.loc[:"2023-12"] == db.loc[:"2023-12"]).all()
    assert db.loc["2024-07":"2024-12"].sum() > da.loc["2024-07":"2024-12"].sum()


@pytest.mark.slow
def test_deadline_extension_delays_installs():
    (base, _), (late, _) = run_pair("wave2_deadline", "2024-06-30")
    late.check_conservation()
    for sector in ("hospital", "radiology"):
        a, b = adoption(base, sector), adoption(late, sector)
        before = [m for m in a.index if m < "2023-06"]
        assert a.loc[before].equals(b.loc[before])
        assert (b["installed"] <= a["installed"] + 1e-9).all()
        assert b.loc["2023-09", "installed"] < a.loc["2023-09", "installed"]
        assert (b["ordered"] == a["ordered"]).all()  # orders do not move, installs do


@pytest.mark.slow
def test_regional_rollout_launches_only_the_named_departements_first():
    (base, _), (reg, sim) = run_pair("wave2_regional", "2026-08-31")
    reg.check_conservation()
    s = sim.world.sector("nurse")
    codes = np.array(sim.world.territory.codes)[s.dept]
    launch = sim.world.calendar.day(dt.date(2026, 5, 1))  # the nurses' national launch (wave2.toml)
    early = s.install_day < launch
    brittany = np.isin(codes, ["22", "29", "35", "56"])
    assert early.any() and not (early & ~brittany).any()
    assert (s.install_day[~brittany] >= launch).all()
    assert ((s.install_day < NEVER) & ~brittany).any()  # the national launch brings the others in
    a, b = adoption(base, "nurse"), adoption(reg, "nurse")
    assert (a.loc["2024-09":"2026-04", "installed"] == 0).all() and b.loc["2026-04", "installed"] > 0
    assert b.loc["2026-08", "installed"] >= a.loc["2026-08", "installed"] * 0.95


def test_bad_lever_on_the_command_line_is_exit_2_and_one_line(tmp_path, capsys):
    from simulator.cli import main

    p = tmp_path / "bad.toml"
    p.write_text(f'extends = "{SCEN / "wave2.toml"}"\nname = "bad"\n[[interventions]]\ndate = 2024-01-01\n'
                 'kind = "deadline"\nsector = "biology"\n', encoding="utf-8")
    code = main(["run", str(p), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "an intervention of kind 'deadline' needs days" in err and len(err.splitlines()) == 1
    assert "Traceback" not in err and not (tmp_path / "out").exists()
