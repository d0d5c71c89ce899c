"""`segur sweep`: a grid and a Latin hypercube × seeds give their tables; bad grid files are one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.core.streams import replication_seeds
from tests.support_ensemble import (
    one_error_line,
    refused_in_one_line,
    run_study_command,
    write_short_scenario,
)


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("scenario"))


def _sweep(tmp_path, scenario, text, *extra):
    return run_study_command(tmp_path, "sweep", scenario, "--grid", "grid.toml", text, *extra)


@pytest.mark.slow
def test_grid_sweep_applies_parameters_with_common_seeds(tmp_path, short_file, capsys):
    code, out = _sweep(tmp_path, short_file, """
replications = 2
outputs = [{ name = "dmp_accepted_year", year = 2023, sector = "gp" }]
[parameters]
"sectors.gp.intensity_mean" = [0.05, 0.5]
""")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "2 points × 2 replications" in captured.out
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["kind"] == "segur-testbed sweep" and man["complete"]
    assert set(man["tables"]) == {"points", "replications", "dmp_accepted_quantiles"}
    points = pd.read_csv(out / "points.csv")
    assert list(points["sectors.gp.intensity_mean"]) == [0.05, 0.5]
    assert (points["n"] == 2).all()
    for label in ("dmp_accepted_2023_gp", "dmp_last12_all"):
        assert (points[f"{label}_p5"] <= points[f"{label}_p50"]).all()
        assert (points[f"{label}_p50"] <= points[f"{label}_p95"]).all()
    # ten times the GP intensity sends clearly more GP documents; other sectors are untouched
    gp = points.set_index("sectors.gp.intensity_mean")["dmp_accepted_2023_gp_p50"]
    # e-prescription DMP copies (since issue 24) do not follow the intensity: not twice, but clearly more
    assert gp[0.5] > 1.4 * gp[0.05]
    bio = points.set_index("sectors.gp.intensity_mean")["dmp_last12_biology_p50"]
    assert bio[0.5] == pytest.approx(bio[0.05], rel=0.05)
    reps = pd.read_csv(out / "replications.csv")
    assert len(reps) == 4 and (reps["status"] == "ok").all()
    seeds = replication_seeds(1, 2)
    assert all(list(g["seed"]) == seeds for _, g in reps.groupby("point"))  # the same seeds at every point
    dq = pd.read_csv(out / "dmp_accepted_quantiles.csv")
    assert len(dq) == 2 * 12 * 6  # points × months × (5 sectors + all)
    assert (dq["p5"] <= dq["p50"]).all() and (dq["p50"] <= dq["p95"]).all()


@pytest.mark.slow
def test_latin_hypercube_stratifies_each_parameter(tmp_path, short_file, capsys):
    code, out = _sweep(tmp_path, short_file, """
method = "lhs"
n = 3
[parameters]
"sectors.gp.uptake_q" = { min = 0.003, max = 0.009 }
"sectors.radiology.intensity_mean" = { min = 0.3, max = 0.6 }
""", "--quiet")
    assert code == 0, capsys.readouterr().err
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 3
    for name, lo, hi in (("sectors.gp.uptake_q", 0.003, 0.009), ("sectors.radiology.intensity_mean", 0.3, 0.6)):
        x = points[name].to_numpy()
        assert ((x >= lo) & (x <= hi)).all()
        strata = np.floor((x - lo) / (hi - lo) * 3).astype(int)
        assert sorted(strata) == [0, 1, 2]  # one point in each third: a Latin hypercube


@pytest.mark.parametrize("grid, words", [
    ('replicates = 2\n[parameters]\n"sectors.gp.uptake_q" = [0.01]\n', "replicates: unknown key; allowed keys here: method"),
    ('[parameters]\n"sectors.gp.uptake_z" = [0.01]\n', "'sectors.gp.uptake_z' is not a parameter of scenario"),
    ('[parameters]\n"sectors.nurse.uptake_q" = [0.01]\n', "no 'nurse' under sectors"),
    ('method = "lhs"\nn = 4\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.02, max = 0.01 }\n', "bounds reversed"),
    ('[parameters]\n"sectors.gp.uptake_q" = { min = 0.02, max = 0.01, steps = 3 }\n', "bounds reversed"),
    ('[parameters]\n"sectors.gp.uptake_q" = [0.01, 1.5]\n', "gives an invalid scenario"),
    ('method = "lhs"\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.01, max = 0.02 }\n', "needs the number of points n"),
    ('[parameters]\n"sectors.gp.label" = ["a"]\n', "only numeric parameters"),
    ('outputs = ["dmp_everything"]\n[parameters]\n"sectors.gp.uptake_q" = [0.01]\n', "unknown output 'dmp_everything'"),
    ('[parameters\n', "not valid TOML"),
])
def test_bad_grid_file_is_one_line_and_writes_nothing(tmp_path, short_file, capsys, grid, words):
    code, out = _sweep(tmp_path, short_file, grid)
    refused_in_one_line(code, out, capsys.readouterr().err, "grid.toml", words)


def test_missing_grid_file(tmp_path, short_file, capsys):
    code = main(["sweep", str(short_file), "--grid", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")])
    assert code == 2 and "grid file not found" in one_error_line(capsys.readouterr().err)


def test_shipped_example_grid_is_valid(repo_root):
    from simulator.studies.parameters import ScenarioSpace
    from simulator.studies.sweep import load_grid

    path = repo_root / "docs" / "examples" / "sweep.toml"
    grid = load_grid(path, ScenarioSpace(repo_root / "scenarios" / "baseline.toml", path), seed=1)
    assert len(grid.points) == 9 and grid.replications == 5
    assert [o.label for o in grid.outputs] == ["dmp_accepted_2025_gp", "target_reached_gp"]
