"""Scenario files: extends, validation, and one clear message per bad input (exit code 2)."""

from __future__ import annotations

import textwrap

import pytest

from simulator.cli import main
from simulator.core.errors import ScenarioError
from simulator.engine.scenario import load_scenario
from tests.conftest import BASELINE


def write(tmp_path, body: str, name: str = "s.toml"):
    p = tmp_path / name
    p.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "t"\n' + textwrap.dedent(body), encoding="utf-8")
    return p


def test_baseline_loads_with_units_in_schema():
    sc = load_scenario(BASELINE)
    assert set(sc.sectors) == {"hospital", "gp", "biology", "radiology", "pharmacy"}
    field = type(sc.sectors["gp"]).model_fields["uptake_p"]
    assert field.json_schema_extra["unit"] == "1/day"


def test_extends_overrides_values_and_appends_interventions(tmp_path):
    p = write(tmp_path, """
        [sectors.gp]
        uptake_q = 0.05
        [[interventions]]
        date = 2024-06-01
        kind = "outage"
        service = "dmp"
        days = 3
    """)
    base = load_scenario(BASELINE)
    sc = load_scenario(p)
    assert sc.sectors["gp"].uptake_q == 0.05
    assert sc.sectors["gp"].uptake_p == base.sectors["gp"].uptake_p
    assert len(sc.interventions) == len(base.interventions) + 1


BAD = [
    ("unknown key", "[sectors.gp]\nuptake_z = 0.1\n", "sectors.gp.uptake_z: unknown key; allowed keys here:"),
    ("probability above 1", "[sectors.gp]\nuptake_p = 1.5\n", "sectors.gp.uptake_p: must be at most 1.0 (got 1.5)"),
    ("negative probability", "[profiles]\nopposition_rate = -0.1\n", "profiles.opposition_rate: must be at least 0.0"),
    ("date outside the run", "[[interventions]]\ndate = 2030-01-01\nkind = \"rule\"\nrule = \"require_qualified_identity\"\n",
     "is outside the run (2021-01-01 to 2027-12-31)"),
    ("unknown sector", "[sectors.veterinary]\nlabel = \"x\"\n", "sectors.veterinary"),
    ("unknown intervention kind", "[[interventions]]\ndate = 2024-01-01\nkind = \"meteor\"\n", "must be one of"),
    ("unknown rule", "[[interventions]]\ndate = 2024-01-01\nkind = \"rule\"\nrule = \"no_fax\"\n", ".rule: must be one of"),
    ("parameter not dynamic", "[[interventions]]\ndate = 2024-01-01\nkind = \"parameter\"\npath = \"sectors.gp.facilities\"\nvalue = 3\n",
     "cannot change during a run; allowed:"),
    ("unknown document type", "[sectors.gp.documents]\n\"99999-9\" = 0.1\n", "not a catalogued document type"),
    ("defect rates above 1", "[sectors.gp.defects.\"LGC-B\"]\nwrong_oid = 0.7\nbad_nir_key = 0.4\n",
     "sectors.gp.defects.LGC-B: rates add up to more than 1"),
    ("defect rates above 1 with '*'", "[sectors.gp.defects.\"*\"]\nwrong_oid = 0.6\n[sectors.gp.defects.\"LGC-B\"]\nbad_nir_key = 0.6\n",
     "sectors.gp.defects.LGC-B: rates add up to more than 1 with those of '*'"),
]


@pytest.mark.parametrize("what,body,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_gives_one_clear_line_and_exit_2(tmp_path, capsys, what, body, expected):
    p = write(tmp_path, body)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    assert str(p) in str(exc.value)
    assert expected in str(exc.value), str(exc.value)
    code = main(["run", str(p), "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_unknown_sector_lists_allowed(tmp_path):
    p = write(tmp_path, "[sectors.veterinary]\nlabel = \"x\"\n")
    with pytest.raises(ScenarioError, match="sectors.veterinary: no producer module is registered under .veterinary.*one of hospital, gp"):
        load_scenario(p)


def test_malformed_toml_missing_file_and_folder(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n[[", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match="not a text file"):
        load_scenario(binary)


def test_extends_loop_and_missing_parent(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('extends = "b.toml"\n', encoding="utf-8")
    b.write_text('extends = "a.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="chain longer than"):
        load_scenario(a)
    c = tmp_path / "c.toml"
    c.write_text('extends = "missing.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="'missing.toml' not found"):
        load_scenario(c)


def test_run_end_before_start(tmp_path):
    p = write(tmp_path, "[run]\nend = 2020-01-01\n")
    with pytest.raises(ScenarioError, match="run: run.end must be after run.start"):
        load_scenario(p)


def test_shortening_a_run_drops_later_interventions():
    sc = load_scenario(BASELINE, overrides={"run.end": "2023-06-30"})
    assert all(iv.date <= sc.run.end for iv in sc.interventions)


def test_parameter_docs_are_current():
    from scenarios.docs import DOC, render

    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m scenarios.docs"
