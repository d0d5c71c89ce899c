"""The strict JSON reader of what clients send (simulator/core/strict_json.py): what FHIR JSON
forbids is refused with the status it deserves, what it allows reads as the standard library
reads it."""

from __future__ import annotations

import json

import pytest

from simulator.core.strict_json import MAX_INT_DIGITS, JsonRefused, bad_text, loads


@pytest.mark.parametrize(("text", "status", "words"), [
    ('{"a": 1, "a": 2}', 400, "appears twice"),
    ('{"a": {"b": 1, "b": 1}}', 400, "appears twice"),
    ('{"a": NaN}', 400, "NaN"),
    ('{"a": -Infinity}', 400, "-Infinity"),
    ('{"a": 1e400}', 400, "out of range"),
    ('{"a": ' + "9" * 5000 + "}", 400, "5,000 characters"),
    ('{"a": ' + "9" * (MAX_INT_DIGITS + 1) + "}", 400, "integer"),
    ('{"a": "x\\u0000y"}', 400, "U+0000"),
    ('{"a\\u0001": 1}', 400, "control character"),
    ('["\\ud800"]', 400, "surrogate"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", 422, "nested"),
    ('{"a": ' + "[" * 70 + "]" * 70 + "}", 422, "deeper than 64"),
    ('{"a": [' + ",".join(["1"] * 1001) + "]}", 413, "1,001 items"),
    ("{" + ",".join(f'"k{i}": 1' for i in range(1001)) + "}", 413, "1,001 keys"),
    ('{"a": 1', 400, "not JSON"),
])
def test_what_fhir_json_forbids_is_refused(text, status, words):
    with pytest.raises(JsonRefused) as exc:
        loads(text.encode(), max_depth=64, max_items=1000)
    assert exc.value.status == status and words in exc.value.message


def test_what_it_allows_reads_as_the_standard_library_reads_it():
    text = json.dumps({"resourceType": "Bundle", "total": 2**63, "x": [1.5, -0.0, "é\t\n", None, True],
                       "deep": [[[[{"a": "b"}]]]]})
    assert loads(text) == json.loads(text)
    assert loads(b"\xef\xbb\xbf" + text.encode()) == json.loads(text)  # a UTF-8 byte-order mark


def test_query_text_with_a_control_character_is_named():
    assert bad_text("abc") is None and "U+0000" in (bad_text("a\x00") or "")
