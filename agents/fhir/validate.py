"""Run the conformance rules over a FHIR resource (ITI-65 Bundle, other Bundle,
DocumentReference, Patient…) or an MSSanté message, and judge a document as the DMP does.

The walker visits the resource, every bundle entry and every contained resource, runs the rules
of each scope, and never lets an unexpected JSON shape escape as an exception: it becomes an
STR-002 finding. ``structural=True`` also parses with ``fhir.resources.R4B`` (STR-001).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.fhir.mssante import MSSanteMessage
from agents.fhir.render import render_bundle, to_model
from agents.fhir.rules import ERROR, BundleIndex, Context, Finding, rules_for
from agents.fhir.rules.base import as_list
from agents.fhir.rules.ins import patient_ins_values, subject_of
from agents.fhir.rules.shape import is_submission
from agents.fhir.verdict import INVALID_METADATA, dmp_verdict

RESOURCE_SCOPES = frozenset(
    {"DocumentReference", "List", "Patient", "Practitioner", "PractitionerRole", "Organization"}
)
#: At most this many fhir.resources errors become findings (then one summary finding).
MAX_STRUCTURAL_FINDINGS = 50


def _run(scope: str, target: Any, ctx: Context, base: str, findings: list[Finding]) -> None:
    for r in rules_for(scope):
        try:
            for suffix, message in r.check(target, ctx):
                findings.append(Finding(r.id, r.severity, base + suffix, message, r.reason))
        except Exception as exc:  # input from outside may hold any shape: report it, go on
            findings.append(
                Finding(
                    "STR-002",
                    ERROR,
                    base,
                    f"rule {r.id} could not read this element ({type(exc).__name__}: {exc})",
                    INVALID_METADATA,
                )
            )


def _walk(res: dict, ctx: Context, base: str, findings: list[Finding], *, top: bool) -> None:
    rtype = res.get("resourceType")
    if top:
        _run("top", res, ctx, base, findings)
    if rtype in RESOURCE_SCOPES:
        _run(rtype, res, ctx, base, findings)  # type: ignore[arg-type]
    try:
        if rtype == "Patient":
            occurrences = ctx.memo(patient_ins_values, res)
        elif rtype in ("DocumentReference", "List"):
            value = subject_of(res, ctx)
            occurrences = [value] if value is not None and not value.derived else []
        else:
            occurrences = []
    except Exception as exc:  # same tolerance as _run
        occurrences = []
        findings.append(
            Finding("STR-002", ERROR, base, f"INS could not be read ({exc})", INVALID_METADATA)
        )
    for ins in occurrences:
        _run("ins", ins, ctx, base + ins.path, findings)
    contained = as_list(res.get("contained"))
    if contained:
        child = ctx.child(res)
        for j, c in enumerate(contained):
            if isinstance(c, dict):
                _walk(c, child, f"{base}.contained[{j}]", findings, top=False)


def validate_resource(resource: Mapping[str, Any], *, structural: bool = False) -> list[Finding]:
    """Findings of every rule on ``resource`` (a FHIR JSON object as a dict)."""
    res = dict(resource) if not isinstance(resource, dict) else resource
    findings: list[Finding] = structural_findings(res) if structural else []
    if res.get("resourceType") == "Bundle":
        index = BundleIndex(res)
        ctx = Context(index, None, is_submission(res, index))
        _run("Bundle", res, ctx, "Bundle", findings)
        for i, _, entry_resource in index.entries:
            if entry_resource:
                _walk(entry_resource, ctx, f"Bundle.entry[{i}].resource", findings, top=True)
    else:
        _walk(res, Context(None, None, False), str(res.get("resourceType")), findings, top=True)
    return findings


def _loc_path(root: str, loc: tuple[Any, ...]) -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def structural_findings(resource: Mapping[str, Any]) -> list[Finding]:
    """STR-001 findings from parsing ``resource`` with ``fhir.resources.R4B``."""
    from pydantic import ValidationError

    root = str(resource.get("resourceType"))
    try:
        to_model(resource)
    except ValidationError as exc:
        errors = exc.errors()
        findings = [
            Finding(
                "STR-001",
                ERROR,
                _loc_path(root, tuple(e.get("loc", ()))),
                f"not valid FHIR R4B: {e.get('msg', 'invalid')}",
                INVALID_METADATA,
            )
            for e in errors[:MAX_STRUCTURAL_FINDINGS]
        ]
        if len(errors) > MAX_STRUCTURAL_FINDINGS:
            findings.append(
                Finding(
                    "STR-001", ERROR, root,
                    f"… and {len(errors) - MAX_STRUCTURAL_FINDINGS} more R4B structure errors",
                    INVALID_METADATA,
                )
            )
        return findings
    except Exception as exc:  # fhir.resources may raise other errors on odd input
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [Finding("STR-001", ERROR, root, f"not valid FHIR R4B: {first_line}", INVALID_METADATA)]
    return []


def validate_message(message: MSSanteMessage | Mapping[str, Any]) -> list[Finding]:
    """Findings of the MSSanté rules on a message (dataclass or its ``to_dict`` form)."""
    data = message.to_dict() if isinstance(message, MSSanteMessage) else dict(message)
    findings: list[Finding] = []
    _run("mssante", data, Context(None, None, False), "MSSanteMessage", findings)
    return findings


@dataclass(frozen=True)
class Judgement:
    """A rendered document, its findings and the DMP verdict they lead to."""

    bundle: dict
    findings: list[Finding]
    verdict: str

    @property
    def errors(self) -> list[Finding]:
        """The error findings (those that carry a DMP reason)."""
        return [f for f in self.findings if f.severity == ERROR]


def judge(doc: Any, *, defect: str | None = None, structural: bool = False) -> Judgement:
    """Render a document description as an ITI-65 bundle, run the rules, give the verdict."""
    bundle = render_bundle(doc, defect=defect)
    findings = validate_resource(bundle, structural=structural)
    return Judgement(bundle, findings, dmp_verdict(findings))
