"""The médico-social wave 1 DUI before wave 2 (``sectors.medico_social.wave1_install``): an installed
base that matches "two ESMS in three" (April 2025) within a stated tolerance, that no launch,
roll-out or lever moves, that sends no DMP document before the wave 2 launch, and that switching
off removes exactly (docs/mechanisms.md "Médico-social wave 1 DUI")."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

import simulator
from agents.patients import NEVER
from agents.producers import SECTOR_CLASSES
from simulator.core.errors import ScenarioError
from simulator.engine.calendar import Calendar
from simulator.engine.scenario import load_scenario
from simulator.studies.observed_match import observed_vs_simulated
from tests.conftest import REPO, write_scenario

WAVE2 = REPO / "scenarios" / "wave2.toml"
OBSERVED_SHARE = 2 / 3  # "deux ESMS sur trois disposent désormais d'un DUI référencé Ségur" (12e COSUI, 2025-04-02)
TOLERANCE = 0.05  # the installed share in April 2025 is within 5 percentage points of 2/3


def _sector(sc, n: int = 4000, seed: int = 1, off: bool | str = False):
    cfg = sc.sectors["medico_social"]
    if off == "no orders":  # the switch a scenario file can set
        cfg = cfg.model_copy(update={"wave1_install": cfg.wave1_install.model_copy(update={"order_share": 0.0})})
    elif off:
        cfg = cfg.model_copy(update={"wave1_install": None})
    cal = Calendar(sc.run.start, sc.run.end)
    s = SECTOR_CLASSES["medico_social"](0, cfg, n, np.zeros(n, dtype=np.int16), np.random.default_rng(seed),
                                        cal.day, cal.n_days)
    s.launch_day = NEVER  # dormant until its launch, as the engine sets it
    return s, cal


@pytest.fixture(scope="module")
def wave2():
    return load_scenario(WAVE2)


def test_installed_base_before_wave2_matches_two_esms_in_three(wave2):
    s, cal = _sector(wave2)
    april = cal.day(dt.date(2025, 4, 30))
    share = float(np.mean(s.counted_installed(april)))
    assert abs(share - OBSERVED_SHARE) <= TOLERANCE, share
    assert not s.launched(april)  # all of it before the wave 2 launch
    # no wave 1 order after the funding window closed (28 Feb 2024), none installed before 2022
    orders = s.wave1_equipment.order_day
    assert (orders[orders != NEVER] <= cal.day(dt.date(2024, 2, 28))).all()
    assert (s.install_day[s.wave1] >= cal.day(dt.date(2022, 6, 1))).all()
    assert s.counted_installed(cal.day(dt.date(2022, 5, 31))).sum() == 0


def test_switched_off_the_sector_is_drawn_as_before(wave2):
    on, _ = _sector(wave2)
    off, _ = _sector(wave2, off=True)
    assert not off.wave1.any() and on.wave1.any()
    # the wave 1 campaign has its own stream: every other draw of the sector is unchanged
    for name in ("size", "vendor", "intensity_u", "legacy_feeder"):
        np.testing.assert_array_equal(getattr(on, name), getattr(off, name))
    np.testing.assert_array_equal(on.install_day[~on.wave1], off.install_day[~on.wave1])
    np.testing.assert_array_equal(on.mailbox_day[~on.wave1], off.mailbox_day[~on.wave1])
    assert (on.install_day[on.wave1] <= off.install_day[on.wave1]).all()
    zero, _ = _sector(wave2, off="no orders")  # order_share = 0 is the same as no wave 1 campaign
    np.testing.assert_array_equal(zero.install_day, off.install_day)
    np.testing.assert_array_equal(zero.mailbox_day, off.mailbox_day)


def test_no_launch_rollout_or_lever_moves_the_wave1_base(wave2):
    s, cal = _sector(wave2)
    base = s.install_day[s.wave1].copy()
    s.launch_day = s.planned_launch + 365  # a year late: the wave 2 campaign moves, the wave 1 base does not
    np.testing.assert_array_equal(s.install_day[s.wave1], base)
    s.launch_day = s.planned_launch - 200
    np.testing.assert_array_equal(s.install_day[s.wave1], base)
    s.fund(cal.day(dt.date(2024, 6, 1)), 20_000, 90)  # a funding lever rewrites only the wave 2 campaign
    np.testing.assert_array_equal(s.install_day[s.wave1], base)
    r, _ = _sector(wave2)
    r.roll_out(np.arange(r.n) < r.n // 2, cal.day(dt.date(2025, 9, 1)))  # a regional launch holds the others back
    np.testing.assert_array_equal(r.install_day[r.wave1], base)
    assert (r.install_day[~r.wave1 & ~r.rolled_out] == NEVER).all()


def test_wave1_install_belongs_to_a_wave2_sector(tmp_path):
    body = """
    [sectors.gp.wave1_install]
    start = 2022-06-01
    order_share = 0.5
    order_start = 2022-06-01
    order_mid = 2023-01-01
    order_width_days = 90
    install_delay_days = 30
    installed_of_ordered = 0.9
    """
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write_scenario(tmp_path, body))
    msg = str(exc.value)
    assert re.search(r"sectors\.gp.*wave1_install: only a wave 2 sector", msg) and "\n" not in msg, msg


def test_order_end_before_order_start_is_one_line(tmp_path):
    body = """
    [sectors.medico_social.wave1_install]
    order_end = 2022-01-01
    """
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write_scenario(tmp_path, body, extends=WAVE2))
    msg = str(exc.value)
    assert "order_end (2022-01-01) is before order_start" in msg and "\n" not in msg, msg


@pytest.fixture(scope="module")
def on_off(wave2):
    """wave2 to March 2026 (the médico-social launch is 2026-01-01), with and without the wave 1 DUI."""
    sc = load_scenario(WAVE2, overrides={"run.end": "2026-03-31"})
    off = sc.model_copy(deep=True)
    off.sectors["medico_social"].wave1_install = None
    return [simulator.run(x, seed=1, scale=0.01) for x in (sc, off)]


@pytest.mark.slow
def test_wave1_dui_is_equipment_before_the_launch_and_switching_it_off_removes_exactly_it(on_off):
    on, off = on_off
    for r in on_off:
        r.check_conservation()
    launch = "2026-01"
    dmp_on, dmp_off = on.monthly("dmp"), off.monthly("dmp")
    others = [c for c in dmp_on.columns if c != "medico_social"]
    pre = dmp_on.index < launch
    np.testing.assert_array_equal(dmp_on.loc[pre, others].to_numpy(), dmp_off.loc[pre, others].to_numpy())  # no other sector moves
    # after the launch the ESMS' documents share patients and services with the others: a trace at most
    np.testing.assert_allclose(dmp_on.loc[~pre, others].to_numpy(), dmp_off.loc[~pre, others].to_numpy(), rtol=1e-3)
    for d in (dmp_on, dmp_off):  # no DMP document before the wave 2 launch, with or without it
        assert d.loc[d.index < launch, "medico_social"].sum() == 0
    # at the launch the installed base starts feeding at once
    assert dmp_on.loc[launch:, "medico_social"].sum() > dmp_off.loc[launch:, "medico_social"].sum() > 0
    ad_on, ad_off = (r.to_df("adoption").query("sector == 'medico_social'").set_index("month") for r in on_off)
    before = ad_on.index < launch
    assert (ad_off.loc[before, "installed"] == 0).all() and (ad_on.loc[before, "feeding"] == 0).all()
    assert ad_on.loc["2025-04", "installed"] > 0
    # the observed row is matched: the installed share in April 2025 against 2/3 (percent)
    fit = observed_vs_simulated(on).set_index(["date", "metric", "sector"])
    row = fit.loc[("2025-04", "share_esms_with_segur_dui", "medico_social")]
    assert row["matched"] and abs(row["simulated"] - 100 * OBSERVED_SHARE) <= 100 * TOLERANCE + 2.5, row  # + 1 sd at 400 ESMS
    fit_off = observed_vs_simulated(off).set_index(["date", "metric", "sector"])
    assert fit_off.loc[("2025-04", "share_esms_with_segur_dui", "medico_social"), "simulated"] == 0
