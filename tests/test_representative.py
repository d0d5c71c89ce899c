"""The representative draw: a real particle at the posterior's centre (or nearest the predictive
median), written into a scenario with its comments, read back exactly; a single run says it is
one draw."""

from __future__ import annotations

import shutil
import tomllib

import numpy as np
import pandas as pd
import pytest

from simulator.core.errors import SegurError
from simulator.studies.calibration import locate
from simulator.studies.posterior_file import read_posterior, write_posterior
from simulator.studies.representative import (
    MARK,
    medoid,
    nearest_predictive,
    representative_draw,
    single_run_note,
    write_into_scenario,
)


def test_the_medoid_is_a_central_draw_on_a_correlated_ridge():
    rng = np.random.default_rng(4)
    a = rng.uniform(0, 1, 300)
    x = np.column_stack([a, 1 - a + rng.normal(0, 0.02, 300)])  # strongly anti-correlated
    i = medoid(x)
    assert abs(x[i, 0] + x[i, 1] - 1) < 0.06  # on the ridge, where the posterior has mass
    assert abs(x[i, 0] - 0.5) < 0.15  # and in its middle


def test_nearest_predictive_picks_the_draw_at_the_predictive_median():
    pred = np.array([[10.0, 100.0], [12.0, 120.0], [11.0, 110.0], [20.0, 90.0], [9.0, 130.0]])
    assert nearest_predictive(pred) == 2


def test_the_shipped_posterior_gives_a_draw_that_writes_into_the_scenario(tmp_path, repo_root):
    scen = tmp_path / "baseline.toml"
    shutil.copy(repo_root / "scenarios" / "baseline.toml", scen)
    shutil.copy(repo_root / "scenarios" / "baseline.posterior.csv", tmp_path / "baseline.posterior.csv")
    draws = read_posterior(tmp_path / "baseline.posterior.csv")
    index, how = representative_draw(draws)
    assert 0 <= index < len(draws) and "medoid" in how
    before = scen.read_text(encoding="utf-8")
    write_into_scenario(scen, draws, index, how)
    after = scen.read_text(encoding="utf-8")
    data = tomllib.loads(after)
    for key, value in draws.draw(index).items():
        container, idx = locate(data, key)
        assert container[idx] == pytest.approx(value, rel=1e-3), key
    assert after.count("#") >= before.count("#") and len(after.splitlines()) == len(before.splitlines())
    assert after.count(MARK) == len(draws.keys)  # every written value's comment says which draw it is


def test_a_key_missing_from_the_scenario_writes_nothing(tmp_path, repo_root):
    scen = tmp_path / "baseline.toml"
    shutil.copy(repo_root / "scenarios" / "baseline.toml", scen)
    post = write_posterior(tmp_path / "p.csv", pd.DataFrame({"sectors.gp.no_such_value": [1.0, 2.0]}), {}, {})
    before = scen.read_text(encoding="utf-8")
    with pytest.raises(SegurError, match="no_such_value"):
        write_into_scenario(scen, read_posterior(post), 0, "test")
    assert scen.read_text(encoding="utf-8") == before


def test_an_item_of_an_array_of_tables_is_written_in_its_own_table_only(tmp_path, repo_root):
    scen = tmp_path / "baseline.toml"
    shutil.copy(repo_root / "scenarios" / "baseline.toml", scen)
    before = tomllib.loads(scen.read_text(encoding="utf-8"))["profiles"]["campaigns"]
    post = write_posterior(tmp_path / "p.csv", pd.DataFrame({"profiles.campaigns.1.activation_factor": [3.25, 3.5]}), {}, {})
    write_into_scenario(scen, read_posterior(post), 0, "test")
    after = tomllib.loads(scen.read_text(encoding="utf-8"))["profiles"]["campaigns"]
    assert after[1]["activation_factor"] == pytest.approx(3.25)  # the second [[profiles.campaigns]]
    assert after[0] == before[0] and after[1]["label"] == before[1]["label"]  # the first untouched
    missing = write_posterior(tmp_path / "q.csv", pd.DataFrame({"profiles.campaigns.7.activation_factor": [1.0]}), {}, {})
    text = scen.read_text(encoding="utf-8")
    with pytest.raises(SegurError, match="campaigns.7"):  # no eighth campaign: nothing written
        write_into_scenario(scen, read_posterior(missing), 0, "test")
    assert scen.read_text(encoding="utf-8") == text


def test_a_single_run_says_it_is_one_draw(repo_root):
    note = single_run_note(repo_root / "scenarios" / "baseline.toml")
    assert note and "one draw" in note and "--replications" in note
    assert single_run_note(repo_root / "scenarios" / "demo.toml") is None  # no posterior beside it: nothing said
