"""The one door to the project's FHIR validator: every submission the server receives is
judged here by the same rules as ``segur validate`` (``agents.fhir.validate_resource`` with the
fhir.resources R4B structural parse). Re-point ``check_resource`` if the validator's API moves;
nothing else in the server imports the rules.
"""

from __future__ import annotations

from typing import Any

from agents.findings import Finding


def check_resource(resource: dict[str, Any]) -> list[Finding]:
    """Findings of every conformance rule on ``resource`` (a FHIR JSON object), including
    STR-001 (not valid FHIR R4B, as parsed by fhir.resources)."""
    # fhir.resources and the rules load on the first document judged (start-up time)
    from agents.fhir import recognise, validate_resource
    from agents.fhir.profiles import MHD_SUBMISSION

    # a bundle that declares IHE MHD's profiles is still a DMP submission here: the DMP's rules apply
    as_profile = "iti65" if recognise(resource).key == MHD_SUBMISSION else None
    return validate_resource(resource, structural=True, as_profile=as_profile)


def rule_issue_code(rule_id: str) -> str:
    """The OperationOutcome issue code of a validator rule (``invalid`` when unknown)."""
    # fhir.resources and the rules load on the first document judged (start-up time)
    from agents.fhir import RULES

    r = RULES.get(rule_id)
    return r.issue_code if r else "invalid"
