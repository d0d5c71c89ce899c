"""FHIR over HTTP at the door: the request body (content type, size limit, JSON, a FHIR
resource) and the answers (FHIR JSON, OperationOutcomes with the rule ids). Every refusal at
the door is an ``HttpProblem`` that becomes an OperationOutcome with the right status.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from simulator.core import strict_json
from simulator.server.conformance import Finding, rule_issue_code
from simulator.server.xds_errors import XDS_SYSTEM, xds_code

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
RULES_SYSTEM = "urn:segur-testbed:conformance-rule"  # as agents.fhir.constants.RULES_SYSTEM
#: caps checked before the rules parse a body: nesting levels (422 beyond) and items in one JSON
#: array, e.g. a Bundle's entries (413 beyond); an ITI-65 bundle nests ≈ 10 levels, holds a few entries
MAX_DEPTH = 64
MAX_ITEMS = 1000


class HttpProblem(Exception):
    """A refusal: HTTP status, FHIR issue code, message, and the rule id if a rule says it."""

    def __init__(self, status: int, code: str, message: str, rule_id: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.rule_id = status, code, message, rule_id
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": "error", "code": self.code, "diagnostics": self.message}
        if self.rule_id:
            issue["details"] = {"coding": [{"system": RULES_SYSTEM, "code": self.rule_id}], "text": self.message}
        return {"resourceType": "OperationOutcome", "issue": [issue]}


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, as ``json.dumps(ensure_ascii=False)`` writes it but ≈ 10× faster
    (orjson); what orjson refuses (an integer over 64 bits, a lone surrogate) goes the
    standard library's way, with its errors."""
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fhir_response(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A FHIR JSON answer."""
    return Response(dumps(data), status_code=status, media_type=FHIR_JSON, headers=headers)


def problem_response(p: HttpProblem) -> Response:
    return fhir_response(p.outcome(), p.status, p.headers)


def findings_outcome(findings: Iterable[Finding], verdict: str | None = None,
                     service_codes: dict[str, str] | None = None) -> dict[str, Any]:
    """An OperationOutcome listing the findings (error and warning), the verdict first; each
    error carries its XDS error code where XDS has one (``xds_errors``), beside its rule id."""
    findings = list(findings)
    issues: list[dict[str, Any]] = []
    if verdict:
        issue = {"severity": "error", "code": "business-rule", "diagnostics": f"DMP verdict: {verdict}",
                 "details": {"text": f"The simulated DMP refuses this submission: {verdict}"}}
        deciding = [x for f in findings if f.severity == "error" and f.reason == verdict
                    and (x := xds_code(f.rule_id, f.reason, f.message))]
        if deciding:
            issue["details"]["coding"] = [{"system": XDS_SYSTEM, "code": deciding[0]}]
        issues.append(issue)
    for f in findings:
        if f.severity == "information":
            continue
        code = (service_codes or {}).get(f.rule_id) or rule_issue_code(f.rule_id)
        issue: dict[str, Any] = {
            "severity": f.severity, "code": code,
            "details": {"coding": [{"system": RULES_SYSTEM, "code": f.rule_id}], "text": f.message},
            "expression": [f.path],
        }
        xds = xds_code(f.rule_id, f.reason, f.message) if f.severity == "error" else None
        if xds:
            issue["details"]["coding"].append({"system": XDS_SYSTEM, "code": xds})
        if f.reason:
            issue["diagnostics"] = f"DMP reason: {f.reason}"
        issues.append(issue)
    if not issues:
        issues = [{"severity": "information", "code": "informational", "diagnostics": "All rules passed"}]
    return {"resourceType": "OperationOutcome", "issue": issues}


def check_content_type(request: Request) -> None:
    """415 unless the body is FHIR JSON (application/fhir+json or application/json)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in JSON_TYPES:
        raise HttpProblem(415, "not-supported",
                          f"Content-Type {ctype or '(none)'} is not supported: send {FHIR_JSON} "
                          "(or application/json)")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is over ``limit`` bytes (declared or read)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HttpProblem(400, "structure", "Content-Length is not a number") from None
        if size > limit:
            raise HttpProblem(413, "too-costly", f"the body is {size:,} bytes, above the {limit:,}-byte limit")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HttpProblem(413, "too-costly", f"the body is above the {limit:,}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_resource(body: bytes) -> dict[str, Any]:
    """The body as a FHIR resource (a JSON object with a known resourceType), else 400; parsed
    strictly (``simulator.core.strict_json``: no duplicate key, NaN, huge number, control
    character) and bounded (``MAX_DEPTH`` levels, ``MAX_ITEMS`` items an array: 422 / 413)
    before any FHIR model sees it."""
    if not body.strip():
        raise HttpProblem(400, "structure", "the body is empty; send a FHIR resource")
    try:
        data = strict_json.loads(body, max_depth=MAX_DEPTH, max_items=MAX_ITEMS)
    except strict_json.JsonRefused as exc:
        code = {413: "too-costly", 422: "too-costly"}.get(exc.status, "structure")
        raise HttpProblem(exc.status, code, f"the body is refused: {exc.message}") from None
    if not isinstance(data, dict):
        raise HttpProblem(400, "structure", f"a JSON {type(data).__name__} is not a FHIR resource")
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise HttpProblem(400, "structure", "not a FHIR resource: no resourceType")
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(rtype)
    except (KeyError, ValueError):
        raise HttpProblem(400, "structure", f"resourceType {rtype!r} is not a FHIR R4 resource type") from None
    return data
