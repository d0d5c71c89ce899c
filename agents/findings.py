"""A conformance finding: what one rule says of one element. The validator makes them
(``agents.fhir``) and the server reports them; this module loads nothing else, so the server
names the type without loading the rules (start-up time)."""

from __future__ import annotations

from typing import NamedTuple


class Finding(NamedTuple):
    """One rule's verdict on one element: where (FHIR path), how bad, why, and DMP reason."""

    rule_id: str
    severity: str
    path: str
    message: str
    reason: str | None = None
