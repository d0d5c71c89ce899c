"""`segur sensitivity`: Morris and Sobol' rank the parameter that matters first; bad files are one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.support_ensemble import (
    refused_in_one_line,
    run_study_command,
    write_short_scenario,
)

# GP intensity drives GP documents; pharmacy uptake barely changes them (its own random
# streams, the same seeds at every design point; only patients the pharmacies qualified, as
# identity is per patient), so its effect must come out tiny beside the GP intensity's.
PARAMETERS = """
output = { name = "dmp_accepted_year", year = 2023, sector = "gp" }
[parameters]
"sectors.pharmacy.uptake_p" = { min = 0.0001, max = 0.001 }
"sectors.gp.intensity_mean" = { min = 0.05, max = 0.5 }
"""


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("scenario"))


def _sensitivity(tmp_path, scenario, text, *extra):
    return run_study_command(tmp_path, "sensitivity", scenario, "--params", "sens.toml", text, *extra)


@pytest.mark.parametrize("method, options, runs, key", [
    ("morris", "trajectories = 2", 2 * 3, "mu_star"),
    ("sobol", "samples = 2", 2 * 4, "ST"),
])
@pytest.mark.slow
def test_ranking_table_and_figure(tmp_path, short_file, capsys, method, options, runs, key):
    code, out = _sensitivity(tmp_path, short_file, f'method = "{method}"\n{options}\n{PARAMETERS}')
    captured = capsys.readouterr()
    assert code == 0, captured.err
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["kind"] == "segur-testbed sensitivity" and man["complete"] and man["design_points"] == runs
    ranking = pd.read_csv(out / "sensitivity.csv")
    assert list(ranking["rank"]) == [1, 2]
    assert ranking.loc[0, "parameter"] == "sectors.gp.intensity_mean"
    assert ranking.loc[0, key] > 0
    assert ranking.set_index("parameter").loc["sectors.pharmacy.uptake_p", key] < 0.02 * ranking.loc[0, key]
    assert (out / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == runs and (samples["n"] == 1).all()
    x = samples["sectors.gp.intensity_mean"]
    assert ((x >= 0.05) & (x <= 0.5)).all()
    assert "sectors.gp.intensity_mean" in captured.out


@pytest.mark.parametrize("text, words", [
    ('output = "dmp_last_12_months"\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.01, max = 0.001 }\n', "bounds reversed"),
    ('output = "dmp_everything"\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }\n', "unknown output"),
    ('output = { name = "dmp_accepted_year", year = 2019 }\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }\n',
     "year 2019 is not wholly inside the run"),
    ('samples = 8\noutput = "dmp_last_12_months"\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }\n',
     "samples: unknown key"),
    ('method = "sobol"\nsamples = 6\noutput = "dmp_last_12_months"\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }\n',
     "must be a power of 2"),
    ('output = "dmp_last_12_months"\n[parameters]\n"sectors.gp.facilities" = { min = 100, max = 200 }\n', "integer parameter"),
    ('output = "dmp_last_12_months"\n[parameters]\n"dmp.speed" = { min = 1, max = 2 }\n', "no 'speed' under dmp"),
    ('[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }\n', "output: required"),
])
def test_bad_parameters_file_is_one_line_and_writes_nothing(tmp_path, short_file, capsys, text, words):
    code, out = _sensitivity(tmp_path, short_file, text)
    refused_in_one_line(code, out, capsys.readouterr().err, "sens.toml", words)


def test_shipped_example_parameters_are_valid(repo_root):
    from simulator.studies.parameters import ScenarioSpace
    from simulator.studies.sensitivity import load_design

    path = repo_root / "docs" / "examples" / "sens.toml"
    design = load_design(path, ScenarioSpace(repo_root / "scenarios" / "baseline.toml", path), seed=1)
    assert design.x.shape == (10 * (4 + 1), 4)
    lows, highs = zip(*design.bounds, strict=True)
    assert ((design.x >= lows) & (design.x <= highs)).all()
