"""Structural rules: the resource parses with ``fhir.resources.R4B`` (STR-001), and every
conformance rule could read the elements it needs (STR-002). Findings for both are made by the
validator itself; these registrations give them an id, a severity and a line in docs/rules.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.fhir.rules.base import ERROR, Context, rule
from agents.fhir.verdict import INVALID_METADATA


@rule("STR-001", ERROR, "structure", "(any element)", reason=INVALID_METADATA, issue_code="structure")
def parses_as_r4b(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The resource is valid FHIR R4B (types, cardinalities, known elements), as parsed by
    fhir.resources."""
    return iter(())


@rule("STR-002", ERROR, "structure", "(any element)", reason=INVALID_METADATA, issue_code="structure")
def readable_shape(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Each element a rule reads has the expected JSON shape (object, list, string)."""
    return iter(())


@rule("INP-001", ERROR, "structure", "(file)", reason=INVALID_METADATA, issue_code="structure")
def usable_input(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The input is a readable UTF-8 JSON object with a FHIR R4B resourceType (segur validate
    reports an unusable file as this finding and goes on with the others)."""
    return iter(())
