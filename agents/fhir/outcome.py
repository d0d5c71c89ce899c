"""Findings as a FHIR R4B ``OperationOutcome``: one issue per finding, rule id in details."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents.fhir.constants import RULES_SYSTEM
from agents.fhir.rules import RULES, Finding


def _issue(f: Finding) -> dict[str, Any]:
    rule = RULES.get(f.rule_id)
    issue: dict[str, Any] = {
        "severity": f.severity,
        "code": rule.issue_code if rule else "invalid",
        "details": {"coding": [{"system": RULES_SYSTEM, "code": f.rule_id}], "text": f.message},
    }
    if f.reason:
        issue["diagnostics"] = f"DMP reason: {f.reason}"
    issue["expression"] = [f.path]
    return issue


def operation_outcome(findings: Iterable[Finding], *, outcome_id: str | None = None) -> dict:
    """An OperationOutcome (JSON dict) listing the findings; one information issue if none."""
    issues = [_issue(f) for f in findings]
    if not issues:
        issues = [
            {
                "severity": "information",
                "code": "informational",
                "details": {"text": "All conformance rules passed"},
            }
        ]
    outcome: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if outcome_id:
        outcome["id"] = outcome_id
    outcome["issue"] = issues
    return outcome


def operation_outcome_model(findings: Iterable[Finding]) -> Any:
    """The same OperationOutcome as a ``fhir.resources.R4B`` model."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    return OperationOutcome.model_validate(operation_outcome(findings))
