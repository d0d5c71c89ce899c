"""docs/extending.md, done as the page says: a profession added by one scenario block runs;
a forgotten registration (producer module, operator shares, rule table entries) fails when
the scenario or the module is loaded, never silently later."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

import agents.dmp_rules as rules
from agents.producers import Wave2Sector, sector_class
from agents.services.dmp import DmpRules
from simulator.core.errors import ScenarioError
from simulator.engine import Simulation
from simulator.engine.scenario import load_scenario
from tests.conftest import REPO

PAGE = REPO / "docs" / "extending.md"
SHORT = {"run.start": "2025-01-01", "run.end": "2026-03-31"}


def _block() -> str:
    """The scenario block of the page (its only TOML code block)."""
    blocks = re.findall(r"```toml\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def _scenario(tmp_path, text: str):
    # the page saves the file beside the shipped scenarios; here it lives in tmp_path
    path = tmp_path / "wave2_podiatrists.toml"
    path.write_text(text.replace('extends = "wave2.toml"', f'extends = "{REPO / "scenarios" / "wave2.toml"}"'))
    return path


def test_a_profession_added_by_one_scenario_block_runs(tmp_path):
    sc = load_scenario(_scenario(tmp_path, _block()), SHORT)
    assert sc.sectors["podiatrist"].model == "wave2" and sector_class("wave2") is Wave2Sector
    res = Simulation(sc, seed=3, scale=0.002).run()  # conservation is checked by the run
    docs = res.to_df("documents")
    pod = docs[(docs["sector"] == "podiatrist") & (docs["channel"] == "dmp")]
    assert pod.loc[pod["month"] < "2025-06", "count"].sum() == 0  # dormant until its launch
    assert pod.loc[pod["outcome"] == "accepted", "count"].sum() > 0
    adoption = res.to_df("adoption")
    assert (adoption["sector"] == "podiatrist").sum() == len(res.manifest["months"])
    assert res.manifest["scenario"]["sectors"]["podiatrist"]["mssante"]["operators"] == {"mailiz": 0.6, "vendor": 0.4}


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace('model = "wave2"', ""),
     r"sectors\.podiatrist: no producer module is registered under 'podiatrist'"),
    (lambda t: t.replace('model = "wave2"', 'model = "podiatry"'),
     r"sectors\.podiatrist\.model: 'podiatry' is not a registered producer module"),
    (lambda t: re.sub(r"operators = \{[^}]*\}.*\n", "", t),
     r"sectors\.podiatrist\.mssante\.operators: no MSSanté operator shares"),
    (lambda t: t.replace("vendor = 0.4 }", "vendor = 0.3 }"), r"mssante\.operators: shares of operators"),
], ids=["no registered module", "unknown model", "no operator shares", "shares not adding up to one"])
def test_a_broken_sector_block_fails_at_load(tmp_path, change, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_scenario(tmp_path, change(_block())))


def test_an_unregistered_producer_module_is_an_error_not_a_generic_sector():
    with pytest.raises(KeyError, match="no producer module registered under 'podiatrist'"):
        sector_class("podiatrist")


def test_a_rule_without_an_outcome_code_fails(monkeypatch):
    extra = rules.Reason("author_without_rpps", rules.DOCUMENT, None, "no RPPS")
    monkeypatch.setattr(rules, "REASONS", (*rules.REASONS, extra))
    with pytest.raises(ValueError, match="author_without_rpps: no outcome code"):
        rules.check_table()


def test_an_outcome_reason_without_a_rule_fails(monkeypatch):
    monkeypatch.setattr(rules, "REASONS", tuple(r for r in rules.REASONS if r.name != "bad_ins"))
    with pytest.raises(ValueError, match="outcome reasons without a rule: bad_ins"):
        rules.check_table()


def test_a_defect_must_earn_a_document_reason(monkeypatch):
    monkeypatch.setattr(rules, "DEFECTS", {**rules.DEFECTS, "stale_profile": "no_profile"})
    with pytest.raises(ValueError, match="defect stale_profile: 'no_profile' is not a document reason"):
        rules.check_table()


def test_the_verdict_is_the_first_reason_in_force():
    assert rules.first_reason({"identity_not_qualified", "bad_ins"}) == "bad_ins"
    off = {"require_qualified_identity": False}
    assert rules.first_reason({"identity_not_qualified"}, off) == "accepted"
    assert rules.first_reason(set()) == "accepted"
    with pytest.raises(KeyError, match="not in the DMP rule table: made_up"):
        rules.first_reason({"made_up"})


# -- a rule switch: one row of agents/dmp_rules.py ---------------------------------------------
SWITCH = "check_nir_key"  # the switch being tried: the DMP checks the INS (its NIR key, its OID) from its date
SWITCH_DAY = "2025-04-01"


def _switched_reasons() -> tuple[rules.Reason, ...]:
    """The table with one row changed, as the page says: bad_ins is in force once ``SWITCH`` is on."""
    return tuple(replace(r, switch=SWITCH) if r.name == "bad_ins" else r for r in rules.REASONS)


def _switch_scenario(tmp_path) -> object:
    path = tmp_path / "check_nir_key.toml"
    path.write_text(f'name = "check_nir_key"\nextends = "{REPO / "scenarios" / "baseline.toml"}"\n'
                    'payload_sample = 120\n[sectors.gp.defects."*"]\nbad_nir_key = 0.05\n'
                    f'[[interventions]]\ndate = {SWITCH_DAY}\nkind = "rule"\nrule = "{SWITCH}"\n')
    return path


def test_a_rule_switch_added_by_one_row_is_read_by_every_judge(tmp_path):
    """The schema accepts it in an intervention, the interventions turn it on, the vectorised
    DMP enforces it from its date and the payload tier's FHIR verdicts agree with it."""
    with rules.scratch_table(_switched_reasons()):
        assert SWITCH in rules.SWITCHES and SWITCH in rules.DOCUMENT_SWITCHES
        sc = load_scenario(_switch_scenario(tmp_path), {"run.start": "2025-01-01", "run.end": "2025-07-31"})
        res = Simulation(sc, seed=5, scale=0.002).run()
    docs = res.to_df("documents")
    gp_bad = docs[(docs["sector"] == "gp") & (docs["outcome"] == "rejected") & (docs["reason"] == "bad_ins")]
    assert gp_bad.loc[gp_bad["month"] < SWITCH_DAY[:7], "count"].sum() == 0  # not in force before its date
    assert gp_bad.loc[gp_bad["month"] >= SWITCH_DAY[:7], "count"].sum() > 0
    payloads = res.manifest["payloads"]
    assert payloads["sampled"] > 0 and payloads["disagreements"] == 0 and "failure" not in res.manifest


def test_a_rule_switch_is_known_to_the_schema_only_while_in_the_table(tmp_path):
    with pytest.raises(ScenarioError, match=rf"interventions\.\d+\.rule: must be one of .*\(got '{SWITCH}'\)"):
        load_scenario(_switch_scenario(tmp_path))
    with rules.scratch_table(_switched_reasons()):
        assert load_scenario(_switch_scenario(tmp_path)).interventions[-1].rule == SWITCH


def test_a_rule_switch_is_enforced_by_the_server_from_its_date(tmp_path):
    from simulator.server.conformance import Finding
    from simulator.server.judge import Rules, verdict_of
    from simulator.server.world import rule_dates

    finding = Finding("INS-002", "error", "Patient.identifier", "bad NIR key", "bad_ins")
    with rules.scratch_table(_switched_reasons()):
        dated = Rules.from_info({f"rule.{SWITCH}": SWITCH_DAY})
        assert verdict_of([finding], dated, "2025-03-31").verdict == "accepted"
        assert verdict_of([finding], dated, SWITCH_DAY).verdict == "bad_ins"
        assert verdict_of([finding], Rules.from_info({}), "2020-01-01").verdict == "bad_ins"  # undated: in force
        assert verdict_of([finding], Rules.from_info({f"rule.{SWITCH}": "never"}), None).verdict == "accepted"
        sc = load_scenario(_switch_scenario(tmp_path))
        assert rule_dates(sc)[SWITCH] == SWITCH_DAY
        dmp = DmpRules()
        assert getattr(dmp, SWITCH) is False
        dmp.switch_on(SWITCH)
        assert dmp.switches()[SWITCH] is True
        assert rules.switch_label(SWITCH) == rules.BY_NAME["bad_ins"].description
    assert verdict_of([finding], Rules.from_info({}), None).verdict == "bad_ins"


def test_a_new_wave2_sector_joins_the_wave2_target(tmp_path):
    """The wave 2 target takes the sectors of wave 2 by rule (`sectors = "wave2"`); a target
    listing its sectors keeps its list."""
    sc = load_scenario(_scenario(tmp_path, _block()))
    assert "podiatrist" in sc.targets["wave2"].sectors
    assert set(sc.targets["wave2"].sectors) == {n for n, s in sc.sectors.items() if s.wave == 2}
    assert sc.targets["nurse"].sectors == ["nurse"]


def test_a_target_names_a_wave_or_its_sectors(tmp_path):
    text = _block() + '\n[targets.wave2]\nsectors = "wave3"\n'
    with pytest.raises(ScenarioError, match=r"targets\.wave2\.sectors: must be a list of sector names, or \"wave1\" / \"wave2\""):
        load_scenario(_scenario(tmp_path, text))
