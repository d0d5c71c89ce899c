"""`segur calibrate`: the calibration file, the objective, the fit and what it writes."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from scenarios.loader import load_raw
from scenarios.writer import dump_scenario
from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.engine.scenario import load_scenario, validate
from simulator.studies.calibration import Objective, calibrate, load_spec
from tests.conftest import BASELINE, REPO


def write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def spec_file(tmp_path, parameters='"sectors.gp.uptake_q" = [0.001, 0.05]', fit="", extra="", end="2023-12-31"):
    return write(tmp_path / "cal.toml", f"""
        scenario = "{BASELINE}"
        {extra}
        [fit]
        scale = 0.002
        replications = 1
        end = {end}
        max_evaluations = 3
        {fit}
        [parameters]
        {parameters}
        """)


def test_shipped_calibration_file_is_valid():
    spec = load_spec(REPO / "scenarios" / "calibration.toml")
    assert spec.scenario.name == "baseline.toml"
    assert len(spec.parameters) >= 5
    keys = {p.key for p in spec.parameters}
    assert "sectors.gp.intensity_mean" in keys and "sectors.gp.learning.final_mean" in keys


@pytest.mark.parametrize("body, fragment", [
    ('"sectors.gp.nope" = [0, 1]', 'parameters."sectors.gp.nope": not a value of the base scenario'),
    ('"sectors.gp.uptake_q" = [0.5, 0.1]', "low must be below high"),
    ('"sectors.gp.uptake_q" = [0.1, 0.5]', "is outside the bounds [0.1, 0.5]; widen the bounds or change the base"),
    ('"sectors.gp.uptake_q" = 0.1', "must be [low, high]"),
    ('"sectors.gp.install.order_mid" = [0.1, 0.5]', "a date parameter needs date bounds"),
    ('"sectors.gp.label" = [0, 1]', "only numbers and dates can be fitted"),
    ('"sectors.gp.uptake_q" = [0.0, 1.5]', "the bound 1.5 is not allowed"),
    ('"interventions[no such label].value" = [0, 1]', "no intervention matches 'no such label'"),
])
def test_bad_parameters_are_one_clear_error(tmp_path, body, fragment):
    path = spec_file(tmp_path, parameters=body)
    with pytest.raises(UsageError) as exc:
        load_spec(path)
    assert str(path) in str(exc.value) and fragment in str(exc.value)


@pytest.mark.parametrize("fit, extra, fragment", [
    ('method = "simplex"', "", "fit.method: must be one of least_squares, nelder_mead, differential_evolution"),
    ("seed = -1", "", "fit.seed: must be an integer ≥ 0"),
    ("step = 0.9", "", "fit.step: must be between 0 and 0.5"),
    ("", '[weights]\ninstall_rate = "x"', "weights.install_rate: must be a number"),
    ("colour = 1", "", "fit.colour: unknown key"),
    ("", "[weights]\nno_such_metric = 1", "weights.no_such_metric: unknown metric"),
    ("", "[weights]\ninstall_rate = -1", "weights.install_rate: must not be negative"),
])
def test_bad_settings_are_one_clear_error(tmp_path, fit, extra, fragment):
    # [weights] must come after the top-level keys, so it is appended at the end
    path = spec_file(tmp_path, fit=fit)
    if extra:
        path.write_text(path.read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_spec(path)
    assert fragment in str(exc.value)


def test_cli_bad_file_exits_2_with_one_line(tmp_path, capsys):
    code = main(["calibrate", str(tmp_path / "missing.toml"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "calibration file not found" in err[0]


def test_writer_round_trip_gives_the_same_scenario(tmp_path):
    data = load_raw(BASELINE)
    text = dump_scenario(data, header="round trip")
    p = tmp_path / "copy.toml"
    p.write_text(text, encoding="utf-8")
    assert validate(load_raw(p), p) == load_scenario(BASELINE)


@pytest.mark.slow
def test_objective_is_deterministic_and_weighted(tmp_path):
    spec = load_spec(spec_file(tmp_path))
    obj = Objective(spec)
    x = np.array([0.006])
    a = obj.evaluate(x, keep=True)
    obj._cache.clear()
    b = obj.evaluate(x)
    assert a.objective == b.objective  # same seeds: common random numbers
    tab = a.table
    used = tab["matched"] & (tab["weight"] > 0)
    expect = float((tab.loc[used, "weight"] * tab.loc[used, "error"] ** 2).sum() / tab.loc[used, "weight"].sum())
    assert a.objective == pytest.approx(expect)
    assert (tab.loc[~tab["matched"], "weight"] == 0).all()


@pytest.mark.slow
def test_fit_from_wrong_parameters_lowers_the_objective_and_writes_outputs(tmp_path, capsys):
    """Start from deliberately wrong volumes (biology and hospital intensity) and refit them."""
    write(tmp_path / "wrong.toml", f"""
        extends = "{BASELINE}"
        name = "wrong"
        [sectors.biology]
        intensity_mean = 0.25
        [sectors.hospital]
        intensity_mean = 0.98
        """)
    path = write(tmp_path / "cal.toml", """
        scenario = "wrong.toml"
        [fit]
        scale = 0.002
        replications = 1
        seed = 5
        end = 2023-12-31
        max_evaluations = 6
        step = 0.05
        [parameters]
        "sectors.biology.intensity_mean" = [0.1, 0.99]
        "sectors.hospital.intensity_mean" = [0.1, 0.99]
        """)
    out = tmp_path / "fit"
    code = main(["calibrate", str(path), "--method", "lsq", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "evaluation" in captured.err  # progress
    man = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert man["evaluations"] <= 6 + 1
    # the two refitted intensities move only part of the objective (the other rows' misfit is the
    # model's, docs/calibration.md): six evaluations must still cut it clearly
    assert man["objective_best"] <= 0.9 * man["objective_start"]
    fit = pd.read_csv(out / "fit.csv")
    assert {"observed", "simulated", "rel_error", "matched", "why", "weight"} <= set(fit.columns)
    assert (out / "fit.png").stat().st_size > 10_000
    params = pd.read_csv(out / "parameters.csv")
    assert list(params["key"]) == ["sectors.biology.intensity_mean", "sectors.hospital.intensity_mean"]
    cal = load_scenario(out / "calibrated.toml")
    assert cal.name == "wrong-calibrated"
    assert cal.run.end == load_scenario(BASELINE).run.end  # the full horizon, not the fit's
    # the far too high hospital intensity comes down; biology's direction is not asserted: since
    # issue 24 the hospitals' outpatient flows make the 2023 totals too high from this start, so a
    # six-evaluation fit may lower both (docs/calibration.md, issue 24: 2023 rows vs biology 2024)
    assert cal.sectors["hospital"].intensity_mean < 0.98 and cal.sectors["biology"].intensity_mean != 0.25
    text = (out / "calibrated.toml").read_text(encoding="utf-8")
    assert text.count("# calibrated against observed.csv") == 2


@pytest.mark.slow
def test_fit_is_reproducible_from_its_seed(tmp_path):
    spec = load_spec(spec_file(tmp_path, end="2022-12-31"))  # the 2021–22 rows: enough to compare two fits
    a = calibrate(spec)
    b = calibrate(spec)
    pd.testing.assert_frame_equal(a["history"].drop(columns="seconds"), b["history"].drop(columns="seconds"))
