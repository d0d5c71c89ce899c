"""Scenario values the run cannot use are refused by the schema, with one line naming the file
and the key: reversed dates, non-finite numbers, integers too large, booleans or quoted numbers
where numbers are expected, wrong types, sizes beyond memory, scales with no simulated agent."""

from __future__ import annotations

import pytest

from scenarios.schema import Strict, size_problem
from simulator.cli import main
from simulator.core.errors import ScenarioError
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE
from tests.support_ensemble import one_error_line


def _scenario(tmp_path, body: str):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n{body}\n', encoding="utf-8")
    return path


def _refused(tmp_path, body: str, *keys: str) -> str:
    path = _scenario(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    msg = err.value.message
    assert "\n" not in msg and msg.startswith(str(path))
    for k in keys:
        assert k in msg, msg
    return msg


# every start/end pair of dates, found by name in every model, plus the declared orders
def _date_pairs():
    from scenarios import schema

    pairs = []
    for model in Strict.__subclasses__():
        fields = {k for k, f in model.model_fields.items() if "date" in str(f.annotation)}
        pairs += [(model, k, k[: -len("start")] + "end") for k in fields if k.endswith("start") and k[: -len("start")] + "end" in fields]
        pairs += [(model, a, b) for a, b in model.date_order]
    assert any(m is schema.ProfilesConfig and a == "letters_start" for m, a, _ in pairs)
    return pairs


WHERE = {"RunConfig": "[run]", "ProfilesConfig": "[profiles]", "InstallConfig": "[sectors.gp.install]"}


@pytest.mark.parametrize("model, first, then", _date_pairs(), ids=lambda v: getattr(v, "__name__", v))
def test_reversed_date_ranges_are_refused(tmp_path, model, first, then):
    table = WHERE.get(model.__name__)
    if table is None:
        pytest.skip(f"{model.__name__} is not in the baseline")
    body = f"{table}\n{first} = 2024-06-01\n{then} = 2024-01-01\n"
    msg = _refused(tmp_path, body, then)
    assert first in msg


@pytest.mark.parametrize("body, key", [
    ("[dmp]\ncapacity_per_day = inf", "dmp.capacity_per_day"),
    ("[sectors.hospital]\nepisodes_per_day = inf", "sectors.hospital.episodes_per_day"),
    ("[sectors.gp]\nsize_sigma = nan", "sectors.gp.size_sigma"),
    ("[sectors.gp]\nseasonal = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, inf]", "sectors.gp.seasonal"),
    ("[sectors.gp.install]\nwidth_days = inf", "sectors.gp.install.width_days"),
    ("[sectors.gp.documents]\n\"57833-6\" = -inf", "sectors.gp.documents"),
])
def test_non_finite_numbers_are_refused(tmp_path, body, key):
    assert "finite" in _refused(tmp_path, body, key)


@pytest.mark.parametrize("body, key", [
    ("[sectors.gp]\nfacilities = true", "sectors.gp.facilities"),
    ("[sectors.gp]\nfacilities = \"12\"", "sectors.gp.facilities"),
    ("[sectors.gp]\nepisodes_per_day = \"22\"", "sectors.gp.episodes_per_day"),
    ("[population]\nnir_share = false", "population.nir_share"),
    ("[run]\nseed = 1.5", "run.seed"),
    ("[run]\nscale = \"0.01\"", "run.scale"),
    ("[sectors.gp]\nwave = true", "sectors.gp.wave"),
])
def test_no_coercion_of_booleans_and_quoted_numbers(tmp_path, body, key):
    _refused(tmp_path, body, key)


@pytest.mark.parametrize("body, key", [
    ("[population]\nsize = 100000000000000000000", "population.size"),
    ("[run]\nseed = 100000000000000000000", "run.seed"),
    ("[profiles]\ncreation_delay_days = 9000000000000000000", "profiles.creation_delay_days"),
    ("[dmp]\nmax_wait_days = 9000000000000000000", "dmp.max_wait_days"),
    ("payload_sample = 9000000000000000000", "payload_sample"),
])
def test_integers_too_large_are_refused(tmp_path, body, key):
    _refused(tmp_path, body, key)


@pytest.mark.parametrize("body", ["interventions = 5", "interventions = \"abc\"", "interventions = { a = 1 }",
                                  "interventions = [5]", "interventions = [\"x\"]"])
def test_wrong_types_for_interventions(tmp_path, body):
    _refused(tmp_path, body, "interventions")


@pytest.mark.parametrize("body, words", [
    ("[population]\nsize = 1_000_000_000_000", "GB"),
    ("[sectors.gp]\nfacilities = 9_000_000_000_000_000", "GB"),
])
def test_sizes_beyond_memory_say_how_much(tmp_path, body, words):
    assert words in _refused(tmp_path, body, "would need about")


@pytest.mark.parametrize("scale", ["1e-9", "1e-7", "5e-6"])
def test_scale_with_no_simulated_agent_gives_the_smallest_usable_one(tmp_path, capsys, scale):
    code = main(["run", str(BASELINE), "--scale", scale, "--quiet", "--out", str(tmp_path / "r")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "--scale" in line and "smallest usable scale" in line
    smallest = float(line.rsplit(" ", 1)[1])
    sc = load_scenario(BASELINE)
    assert size_problem(sc, smallest) is None and size_problem(sc, smallest * 0.9) is not None
    assert list(tmp_path.iterdir()) == []


def test_scale_in_the_file_is_checked_too(tmp_path):
    _refused(tmp_path, "[run]\nscale = 1e-9", "run.scale", "smallest usable scale")


def test_shipped_scenarios_all_load():
    from scenarios import SCENARIO_DIR

    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        if path.stem.startswith("calibration"):
            continue
        load_scenario(path)


@pytest.mark.parametrize("args", [
    ["compare", str(BASELINE), "gp_fast"],
    ["sweep", str(BASELINE), "--grid", "docs/examples/sweep.toml"],
    ["sensitivity", str(BASELINE), "--params", "docs/examples/sens.toml"],
], ids=["compare", "sweep", "sensitivity"])
def test_every_run_like_command_refuses_a_scale_with_no_agent(tmp_path, capsys, monkeypatch, args):
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    code = main([*args, "--scale", "1e-9", "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "smallest usable scale" in line
    assert list(tmp_path.iterdir()) == []


def test_calibration_scale_with_no_agent_is_refused(tmp_path, capsys):
    from tests.conftest import REPO

    text = (REPO / "scenarios" / "calibration.toml").read_text(encoding="utf-8")
    text = text.replace('scenario = "baseline.toml"', f'scenario = "{BASELINE.as_posix()}"')
    text = "\n".join("scale = 1e-9" if ln.startswith("scale =") else ln for ln in text.splitlines())
    path = tmp_path / "cal.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["calibrate", str(path), "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "cal.toml" in line and "fit.scale" in line and "smallest usable scale" in line
