"""Dated knowledge (scenarios/data/knowledge.csv): every value of the shipped baseline has a dated
entry, a backtest at D reads nothing known after D, and a broken registry is one clear error."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from scenarios.knowledge import (
    KNOWLEDGE_CSV,
    at_cutoff,
    entry_for,
    later_values,
    leaves,
    load_knowledge,
    scenario_path,
    typed,
    uncovered,
)
from scenarios.loader import SCENARIO_DIR, load_raw
from simulator.core.errors import SegurError, UsageError
from simulator.studies.blind import blind_spec, check_blind
from simulator.studies.calibration import load_spec

ORIGINS = [dt.date(2023, 6, 30), dt.date(2023, 12, 31), dt.date(2024, 6, 30), dt.date(2024, 12, 31)]


@pytest.fixture(scope="module")
def spec(repo_root):
    return load_spec(repo_root / "scenarios" / "calibration.toml")


@pytest.fixture(scope="module")
def entries():
    return load_knowledge()


def test_every_value_campaign_switch_and_calibrated_parameter_of_the_baseline_has_an_entry(spec, entries):
    missing = uncovered(spec.base_data, entries, [p.key for p in spec.parameters])
    assert missing == [], f"{KNOWLEDGE_CSV.name} has no entry for: " + "; ".join(missing)


SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml") if not p.stem.startswith("calibration"))
WAVE2 = [n for n in SHIPPED if n.startswith("wave2") or n == "nurses_first"]


def test_the_wave_2_scenarios_are_among_those_checked():
    assert {"wave2_base", "wave2", "wave2_late", "nurses_first"} <= set(WAVE2) and len(SHIPPED) > len(WAVE2)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_value_campaign_and_switch_of_every_shipped_scenario_has_an_entry(name, entries):
    """The wave 2 scenarios and the planner's what-ifs too: each value, launch, campaign and switch is dated."""
    missing = uncovered(load_raw(name), entries, [])
    assert missing == [], f"{KNOWLEDGE_CSV.name} has no entry for ({name}.toml): " + "; ".join(missing)


@pytest.mark.parametrize("origin", ORIGINS)
def test_a_wave_2_scenario_at_an_origin_reads_nothing_known_after_it(entries, origin):
    data = load_raw("wave2")
    assert later_values(data, entries, dt.date(2024, 12, 31)), "wave2 holds values known in 2025: the check must see them"
    known = at_cutoff(data, entries, origin)
    assert later_values(known.data, entries, origin) == []
    text = "\n".join(known.lines())
    assert "interventions[wave 2 launch: nurses].* (known 2025-04-02)" in text  # launches kept, and said so
    gp = leaves(known.data)["wave2_flows.software.gp.start"]
    assert gp == dt.date(2024, 1, 1)  # the launch announced in Sept 2023, not the 27 Feb 2025 one


def test_the_coverage_check_names_what_is_missing(spec, entries):
    data = copy.deepcopy(spec.base_data)
    data["profiles"]["campaigns"].append({"start": dt.date(2026, 1, 1), "end": dt.date(2026, 6, 30),
                                          "activation_factor": 2.0, "label": "2026 campaign"})
    data["profiles"]["new_switch"] = True
    trimmed = [e for e in entries if e.id != "prior:sectors.gp.uptake_p"]
    missing = uncovered(data, trimmed, [p.key for p in spec.parameters])
    assert any(m.startswith("profiles.campaigns[2026 campaign]") for m in missing)
    assert any(m.startswith("profiles.new_switch") for m in missing)
    assert any(m.startswith("prior:sectors.gp.uptake_p") for m in missing)


def test_every_earlier_prior_covers_the_later_value_and_the_later_prior(spec, entries):
    vals = leaves(spec.base_data)
    shipped_priors = {scenario_path(spec.base_data, p.key): (p.value(p.low), p.value(p.high)) for p in spec.parameters}
    for e in entries:
        if e.before_prior is None:
            continue
        later = vals[e.path]
        lo, hi = (typed(x, later) for x in e.before_prior)
        assert lo <= later <= hi, f"line {e.line}: {e.id}: before_prior [{lo}, {hi}] does not cover {later}"
        if e.is_prior:
            plo, phi = shipped_priors[e.path]
            assert lo <= plo and phi <= hi, f"line {e.line}: {e.id}: narrower than the later prior [{plo}, {phi}]"
        if e.before not in ("", "="):
            assert lo <= typed(e.before, later) <= hi, f"line {e.line}: {e.id}: its earlier default is outside its prior"


@pytest.mark.parametrize("origin", ORIGINS)
def test_a_backtest_at_an_origin_reads_nothing_known_after_it(spec, entries, origin):
    assert later_values(spec.base_data, entries, origin), "the shipped baseline holds later values: the check must see them"
    bspec, known = blind_spec(spec, origin, entries)
    assert later_values(bspec.base_data, entries, origin, [p.key for p in bspec.parameters]) == []
    for e in entries:
        if e.is_prior and e.known_since > origin and e.before_prior:
            p = next(p for p in bspec.parameters if scenario_path(bspec.base_data, p.key) == e.path)
            assert (p.show(p.low), p.show(p.high)) != ("", "")
            assert p.value(p.low) == typed(e.before_prior[0], p.value(p.low))
    factor = [c["activation_factor"] for c in bspec.base_data["profiles"]["campaigns"]]
    assert factor == [1.0, 1.0]  # the campaigns' factors were fitted to 2024–25 activations
    assert any(p.key == "profiles.campaigns.0.activation_factor" for p in bspec.parameters)  # fitted from a wide prior


def test_a_backtest_that_reads_a_later_value_fails(spec, entries):
    origin = dt.date(2023, 12, 31)
    bspec, known = blind_spec(spec, origin, entries)
    leaky = copy.copy(bspec)
    leaky.base_data = copy.deepcopy(bspec.base_data)
    leaky.base_data["eprescription"]["use_share"] = 0.52  # fitted to the 2024 counts
    leaky.parameters = [p for p in bspec.parameters if p.key != "eprescription.use_share"]
    with pytest.raises(SegurError, match="eprescription.use_share") as exc:
        check_blind(leaky, known, entries)
    assert exc.value.exit_code == 3
    narrow = copy.copy(bspec)
    narrow.parameters = [p for p in spec.parameters]  # the shipped priors, set from 2024–25 figures
    with pytest.raises(SegurError, match="prior of sectors.gp.learning.final_mean"):
        check_blind(narrow, known, entries)


def test_structure_added_later_is_allowed_and_listed(spec, entries):
    known = at_cutoff(spec.base_data, entries, dt.date(2024, 12, 31), [p.key for p in spec.parameters])
    text = "\n".join(known.lines())
    assert "structure added after 2024-12-31:" in text and "office_specialists" in text
    assert known.data["sectors"]["gp"]["mssante"]["other_professionals"]["office_specialists"]  # kept
    assert "interventions[end of wave 1]" not in text  # known 2024-02-06, before the origin
    late = at_cutoff(spec.base_data, entries, dt.date(2025, 6, 30), [p.key for p in spec.parameters])
    assert late.reverted == [] and late.priors == {} and late.lines() == ["structure added after 2025-06-30: none"]


def test_calibration_keys_and_registry_paths_agree(spec):
    data = spec.base_data
    assert scenario_path(data, "profiles.campaigns.1.activation_factor") == \
        "profiles.campaigns[2025 national campaigns].activation_factor"
    assert entry_for("profiles.campaigns[2025 national campaigns].start", load_knowledge()).kind == "structure"


@pytest.mark.parametrize("row, message", [
    ("x,value,I,src,2024-01-01,2026-11-30,,,", "needs rests_on"),
    ("x,value,V,src,2024-13-01,,,,", "known_since must be a date"),
    ("x,thing,V,src,2024-01-01,,,,", "kind must be one of"),
    ("x,value,V,src,2024-01-01,,,1,0.5", "before_prior must be 'low;high'"),
])
def test_a_broken_registry_is_one_error_naming_the_line(tmp_path, row, message):
    path = tmp_path / "k.csv"
    path.write_text(KNOWLEDGE_CSV.read_text(encoding="utf-8").splitlines()[0] + "\n" + row + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=message) as exc:
        load_knowledge(path)
    assert "line 2" in str(exc.value)


def test_the_shipped_baseline_file_and_the_registry_are_read_alike(repo_root, spec):
    assert leaves(load_raw(repo_root / "scenarios" / "baseline.toml")).keys() == leaves(spec.base_data).keys()


def test_a_later_value_without_an_earlier_default_is_kept_and_listed(spec, entries):
    known = at_cutoff(spec.base_data, entries, dt.date(2023, 6, 30), [p.key for p in spec.parameters])
    kept = next(line for line in known.lines() if "kept (no earlier figure documented)" in line)
    assert "interventions[DMP feeding needs a qualified INS]" in kept  # a switch dated 2023-10-01, no 'before'
    assert "sectors.gp.*" in kept and "profiles.late_share" in kept
    assert "sectors.gp.uptake_p" not in kept  # calibrated: refitted, not kept
