"""Intensity that grows, eligible volumes from activity, and the obligation lever (issue 14, items 1–2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from agents.catalogue import by_code, j66_codes
from agents.producers.base import Sector
from agents.producers.learning import Obligation, beta_levels, ceilings_on, level
from scenarios.activity import compare, load_activity
from simulator.core.errors import ScenarioError
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE, write_scenario

START = dt.date(2021, 1, 1)


def gp_sector(n: int = 4000, seed: int = 5) -> Sector:
    """The baseline's GP sector as arrays, every GP installed and feeding from day 0."""
    cfg = load_scenario(BASELINE).sectors["gp"]
    s = Sector(0, cfg, n, np.zeros(n), np.random.default_rng(seed), lambda d: (d - START).days, 2556)
    s.install_day[:] = 0
    s.feeding[:] = True
    s.feeding_since[:] = 0
    return s


def test_level_rises_with_experience_and_saturates_at_the_habit_level():
    u = (np.arange(200) + 0.5) / 200
    start, final = beta_levels(u, 0.2, 3.0), beta_levels(u, 0.8, 3.0)
    means = [level(start, final, np.full(200, d), 365.0).mean() for d in (0, 180, 365, 730, 3650, 36500)]
    assert np.all(np.diff(means) > 0)
    assert means[0] == pytest.approx(start.mean())
    assert means[2] == pytest.approx((start.mean() + final.mean()) / 2)  # half of the gap in a half-life
    assert means[-1] == pytest.approx(final.mean(), rel=1e-6)
    assert final.mean() == pytest.approx(0.8, abs=0.01)


def test_sector_intensity_grows_monthly_toward_its_ceiling_and_keeps_its_spread():
    s = gp_sector()
    ceiling = s.type_ceiling[by_code("57833-6").index]
    means, levels = [], []
    for month, day in enumerate(range(0, 6 * 365, 30)):
        s.learn(day, month, 0.25)
        levels.append(s.levels(0.25).copy())
        means.append(levels[-1].mean())
    assert np.all(np.diff(means) > 0)
    assert means[0] == pytest.approx(0.25, abs=0.02)
    assert means[-1] < s.cfg.learning.final_mean + 0.01 and means[-1] > 0.9 * s.cfg.learning.final_mean
    last = levels[-1]
    assert 0.0 <= last.min() and last.max() <= 1.0
    # the share of prescriptions sent tends to the ceiling × the habit level, and never above the ceiling
    sent_share = ceiling * last
    assert sent_share.max() <= ceiling
    assert sent_share.mean() == pytest.approx(ceiling * s.cfg.learning.final_mean, rel=0.1)
    # heterogeneity: a wide spread across GPs, each keeping its rank
    assert last.std() / last.mean() > 0.2
    assert np.array_equal(np.argsort(levels[3]), np.argsort(last))
    # the documents expected of each GP rise with its level (the rates are refreshed by learn)
    _, lam_late = s.feeders_and_rates(12.0, 0.25)
    s2 = gp_sector()
    s2.learn(0, 0, 0.25)
    _, lam_early = s2.feeders_and_rates(12.0, 0.25)
    assert lam_late.sum() > 1.5 * lam_early.sum()


def test_peer_effect_speeds_learning():
    fast, slow = gp_sector(), gp_sector()
    slow.feeding[: slow.n // 2] = False  # half the sector feeds
    for month, day in enumerate((0, 30, 60, 90, 120)):
        fast.learn(day, month, 0.25)
        slow.learn(day, month, 0.25)
    both = slow.feeding
    assert fast.experience[both].mean() > slow.experience[both].mean() * 1.2


def test_ceilings_move_toward_an_obligation_after_its_date_only_and_never_down():
    base = np.array([0.3, 0.9, 0.5])
    obs = [Obligation((0, 1), day=100, ceiling=0.8, half_life_days=30.0)]
    assert np.array_equal(ceilings_on(base, obs, 99), base)
    mid, late = ceilings_on(base, obs, 130), ceilings_on(base, obs, 1000)
    assert mid[0] == pytest.approx(0.55)  # half of the way in a half-life
    assert late[0] == pytest.approx(0.8, abs=1e-6)
    assert late[1] == 0.9  # an obligation never lowers a ceiling
    assert late[2] == 0.5  # other types untouched


def test_an_obligation_raises_the_share_of_its_type_in_the_sector_lookup():
    s = gp_sector()
    code = by_code("57833-6").index
    s.learn(0, 0, 0.25)
    before = np.mean(s.type_lut == code)
    sent_before = s.sent_per_episode
    s.add_obligation(["57833-6"], 30, 1.0, 10.0)
    s.learn(20, 1, 0.25)
    assert np.mean(s.type_lut == code) == before  # not before its date
    s.learn(400, 13, 0.25)
    assert np.mean(s.type_lut == code) > before
    assert s.sent_per_episode > sent_before


def _obligation(**fields: str) -> str:
    """A scenario's GP obligation from 2024-04-01 as TOML, with ``fields`` (values as TOML text)."""
    lines = ["[[interventions]]", "date = 2024-04-01", 'kind = "obligation"', 'sector = "gp"']
    return "\n" + "\n".join(lines + [f"{k} = {v}" for k, v in fields.items()]) + "\n"


def test_obligation_raises_its_type_after_its_date_and_not_before(tmp_path):
    # a world that starts a year before the obligation: its GPs have learnt about as much as in
    # a run from 2021 (the type's volume after the date within ~10% of it), in 40% less time
    end = {"run.start": "2023-04-01", "run.end": "2024-09-30"}
    base = load_scenario(BASELINE, overrides=end)
    ob = load_scenario(write_scenario(tmp_path, _obligation(doc_type='"57833-6"', ceiling="1.0", half_life_days="15")),
                       overrides=end)
    runs = [simulator.run(sc, scale=0.002, seed=7) for sc in (base, ob)]  # run() checks conservation
    gp = []
    for r in runs:
        d = r.to_df("documents")
        d = d[(d["sector"] == "gp") & (d["channel"] == "dmp") & (d["doc_type"] == "57833-6")]
        gp.append(d.groupby(d["month"].astype(str))["count"].sum())
    before = [g[[m for m in g.index if m < "2024-04"]].sum() for g in gp]
    after = [g[[m for m in g.index if m >= "2024-06"]].sum() for g in gp]
    assert before[0] == before[1]  # same draws until the date
    assert after[1] > 1.08 * after[0]


@pytest.mark.parametrize("fields, message", [
    ({"doc_type": '"11502-2"'}, r"interventions\[\d+\]\.doc_type: '11502-2' is not a document type of sector gp"),
    ({}, "needs doc_type"),
    ({"doc_type": '"*"', "ceiling": "1.5"}, "ceiling"),
], ids=["type of another sector", "no type", "ceiling above 1"])
def test_obligation_is_validated_with_one_line_errors(tmp_path, fields, message):
    with pytest.raises(ScenarioError, match=message) as e:
        load_scenario(write_scenario(tmp_path, _obligation(**fields)))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("scenario", ["baseline.toml", "wave2_base.toml"])
def test_scenario_eligible_volumes_match_the_activity_file(repo_root, scenario):
    sc = load_scenario(repo_root / "scenarios" / scenario)
    rows = compare(sc, load_activity())
    assert {r["sector"] for r in rows} == set(sc.sectors)
    for r in rows:
        assert r["scenario"] == pytest.approx(r["activity"], rel=0.05), (r["sector"], r["what"])


def test_run_eligible_volume_per_year_matches_the_activity_file(small_results):
    act = load_activity()
    a = small_results.to_df("adoption")
    a = a[a["month"].astype(str).str.startswith("2023")]
    got = a.groupby("sector")["eligible_documents"].sum()
    flows = load_scenario(BASELINE).sectors
    for sector, v in got.items():
        # the sector's own documents and its activity flows' (rows "<sector>.<flow>", issue 24)
        want = sum(act[sector].documents.values()) + sum(
            sum(act[f"{sector}.{name}"].documents.values()) for name, f in flows[sector].flows.items() if f.enabled)
        assert v == pytest.approx(want, rel=0.05), sector
    # city and hospital biology both counted
    assert load_scenario(BASELINE).sectors["hospital"].documents["11502-2"] > 0.5


def test_activity_file_errors_are_one_line(tmp_path):
    p = tmp_path / "activity.csv"
    p.write_text("sector,doc_type,measure,yearly_volume,unit,source\ngp,,consultations,many,episodes/year,x\n")
    with pytest.raises(ScenarioError, match=r"line 2: yearly_volume must be a number"):
        load_activity(p)
    p.write_text("sector,doc_type,measure,yearly_volume,unit,source\ngp,57833-6,rx,10,documents/year,x\n")
    with pytest.raises(ScenarioError, match="no activity row"):
        load_activity(p)


def test_pathology_reports_use_the_j66_type_code():
    assert "60568-3" in j66_codes() and "11526-1" not in j66_codes()
    for name in ("baseline.toml", "demo.toml"):
        sc = load_scenario(Path(BASELINE).parent / name)
        for s in sc.sectors.values():
            assert "11526-1" not in s.documents


def test_volumes_keep_rising_after_2024(small_results):
    d = small_results.to_df("documents")
    d = d[d["channel"] == "dmp"]
    year = d["month"].astype(str).str[:4]
    per_year = d.groupby(year)["count"].sum()
    assert per_year["2026"] > 1.1 * per_year["2024"]
    assert pd.Series(per_year).loc["2027"] >= per_year["2026"] * 0.98
