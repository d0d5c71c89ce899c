"""The validator never raises, whatever JSON shape an input holds (issue: a non-string
resourceType inside a Bundle entry was a traceback): mutated official examples, any value at any
place, through ``validate_resource`` and the profile recognition."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.fhir import validate_resource
from agents.fhir.guides import example_files
from agents.fhir.profiles import recognise

EXAMPLES = [json.loads(p.read_text(encoding="utf-8")) for p in example_files()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(["urn:uuid:x", "#", "Patient?identifier=|", "Binary/1", "current"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)


def _containers(node: object, found: list) -> list:
    if isinstance(node, dict):
        found.append(node)
        for v in node.values():
            _containers(v, found)
    elif isinstance(node, list):
        found.append(node)
        for v in node:
            _containers(v, found)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(EXAMPLES) - 1), st.integers(0, 10_000), st.integers(0, 10_000), json_values)
def test_any_value_anywhere_gives_findings_not_exceptions(which: int, where: int, key: int, value: object) -> None:
    resource = copy.deepcopy(EXAMPLES[which])
    holders = _containers(resource, [])
    holder = holders[where % len(holders)]
    if isinstance(holder, dict):
        keys = [*holder, "resourceType"]
        holder[keys[key % len(keys)]] = value
    elif holder:
        holder[key % len(holder)] = value
    recognise(resource)
    findings = validate_resource(resource)  # must not raise
    assert all(f.severity in ("error", "warning", "information") for f in findings)


def test_odd_resource_types_inside_a_bundle() -> None:
    bundle = copy.deepcopy(next(e for e in EXAMPLES if e.get("type") == "transaction"))
    for odd in ({"a": 1}, ["List"], 3, None, True, "", "NotAType"):
        bundle["entry"][0]["resource"]["resourceType"] = odd
        validate_resource(bundle, structural=True)
        bundle["resourceType"] = "Bundle"
