"""Run the conformance rules over a FHIR resource (ITI-65 Bundle, other Bundle,
DocumentReference, Patient…) or an MSSanté message, and judge a document as the DMP does.

The walker visits the resource, every bundle entry and every contained resource, runs the rules
of each scope, and never lets an unexpected JSON shape escape as an exception: it becomes an
STR-002 finding. ``structural=True`` also parses with ``fhir.resources.R4B`` (STR-001).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents.fhir.mssante import MSSanteMessage
from agents.fhir.outcome import operation_outcome
from agents.fhir.profiles import ANS_IG, Recognised, recognise
from agents.fhir.render import render_bundle, to_model
from agents.fhir.rules import ERROR, BundleIndex, Context, Finding, rules_for
from agents.fhir.rules.base import as_list, profiles
from agents.fhir.rules.ins import patient_ins_values, subject_of
from agents.fhir.verdict import INVALID_METADATA, dmp_verdict

RESOURCE_SCOPES = frozenset(
    {"DocumentReference", "List", "Patient", "Practitioner", "PractitionerRole", "Organization"}
)
#: At most this many fhir.resources errors become findings (then one summary finding).
MAX_STRUCTURAL_FINDINGS = 50


#: Rules that judge any DocumentReference; the others are the DMP's metadata rules.
GENERIC_DOCUMENT_RULES = frozenset({"ATT-001", "ATT-002", "ATT-003", "ATT-004", "ATT-005", "DOC-020", "REP-001", "REP-002"})
#: Profiles of DocumentReferences the DMP files (PDSm); another national profile is not the DMP's.
DMP_DOCUMENT_PROFILES = "https://interop.esante.gouv.fr/ig/fhir/pdsm/"


def is_dmp_document(docref: dict, ctx: Context) -> bool:
    """True when the DMP's metadata rules apply: a PDSm profile, or no national profile in a
    DMP context (an ITI-65, a PDSm search result, a standalone DocumentReference)."""
    declared = profiles(docref)
    if any(p.startswith(DMP_DOCUMENT_PROFILES) for p in declared):
        return True
    if any(p.startswith(ANS_IG) for p in declared):
        return False
    return ctx.dmp


def _run(
    scope: str,
    target: Any,
    ctx: Context,
    base: str,
    findings: list[Finding],
    only: frozenset[str] | None = None,
) -> None:
    for r in rules_for(scope):
        if only is not None and r.id not in only:
            continue
        try:
            for suffix, message in r.check(target, ctx):
                findings.append(Finding(r.id, r.severity, base + suffix, message, r.reason))
        except RecursionError:
            raise
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
    if not isinstance(rtype, str):
        findings.append(
            Finding(
                "STR-002", ERROR, base + ".resourceType",
                f"resourceType is {type(rtype).__name__} {rtype!r}, expected a resource type name",
                INVALID_METADATA,
            )
        )
        return
    if top:
        _run("top", res, ctx, base, findings)
    if rtype == "DocumentReference" and not is_dmp_document(res, ctx):
        _run(rtype, res, ctx, base, findings, only=GENERIC_DOCUMENT_RULES)
    elif rtype in RESOURCE_SCOPES:
        _run(rtype, res, ctx, base, findings)
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


def validate_resource(
    resource: Mapping[str, Any],
    *,
    structural: bool = False,
    now: datetime | None = None,
    as_profile: str | None = None,
) -> list[Finding]:
    """Findings of every rule on ``resource`` (a FHIR JSON object as a dict).

    The public entry point (CLI, simulated DMP, live services): never raises on odd JSON
    shapes (they become STR-00x findings). ``structural`` also parses with fhir.resources
    (STR-001, slower); ``now`` is the time "not in the future" is judged against outside an
    ITI-65 (default: the clock). The profile the rules followed is ``recognise(resource)``;
    ``as_profile`` (iti65, pdsm, mhd) judges the resource as that profile even when it declares
    none (its cardinalities, fixed values and bindings, and its entries' by the bundle's slices).
    """
    res = dict(resource) if not isinstance(resource, dict) else resource
    findings: list[Finding] = structural_findings(res) if structural else []
    profile = recognise(res, as_profile)
    if res.get("resourceType") == "Bundle":
        index = BundleIndex(res)
        ctx = Context(index, None, profile.submission, profile=profile, now=now)
        _run("profile", res, ctx, "Bundle", findings)
        _run("Bundle", res, ctx, "Bundle", findings)
        for i, entry, entry_resource in index.entries:
            base = f"Bundle.entry[{i}].resource"
            if entry_resource:
                _walk(entry_resource, ctx, base, findings, top=True)
            elif entry.get("resource") is not None:
                findings.append(
                    Finding("STR-002", ERROR, base, "entry.resource is not a JSON object", INVALID_METADATA)
                )
    else:
        root = res.get("resourceType")
        root = root if isinstance(root, str) else "Resource"
        ctx = Context(None, None, False, profile=profile, now=now)
        _run("profile", res, ctx, root, findings)
        _walk(res, ctx, root, findings, top=True)
    return findings


def validate_outcome(
    resource: Mapping[str, Any], *, structural: bool = True, now: datetime | None = None,
    as_profile: str | None = None,
) -> dict:
    """``validate_resource`` as a FHIR OperationOutcome (JSON dict), for servers and tools."""
    return operation_outcome(validate_resource(resource, structural=structural, now=now, as_profile=as_profile))


def _loc_path(root: str, loc: tuple[Any, ...]) -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


#: The data types an R4 open-type element (``Extension.value[x]``…) may hold (FHIR R4 4.0.1,
#: datatypes.html#open): the guides are R4, the structural parse is R4B's fhir.resources.
R4_OPEN_TYPES = (
    "Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id", "Instant",
    "Integer", "Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt", "Uri", "Url",
    "Uuid", "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding",
    "ContactPoint", "Count", "Distance", "Duration", "HumanName", "Identifier", "Money", "Period",
    "Quantity", "Range", "Ratio", "Reference", "SampledData", "Signature", "Timing",
    "ContactDetail", "Contributor", "DataRequirement", "Expression", "ParameterDefinition",
    "RelatedArtifact", "TriggerDefinition", "UsageContext", "Dosage", "Meta",
)
_OPEN_PREFIXES = ("value", "defaultValue", "fixed", "pattern")
_R4_ONLY_KEYS: frozenset[str] | None = None


def r4_only_open_keys() -> frozenset[str]:
    """JSON keys of R4 open-type values the R4B model lacks (``valueMeta``…), read from the model."""
    global _R4_ONLY_KEYS
    if _R4_ONLY_KEYS is None:
        from fhir.resources.R4B.extension import Extension

        missing = [t for t in R4_OPEN_TYPES if "value" + t not in Extension.model_fields]
        _R4_ONLY_KEYS = frozenset(p + t for p in _OPEN_PREFIXES for t in missing)
    return _R4_ONLY_KEYS


def _without_r4_only(node: Any, keys: frozenset[str], found: list[tuple[str, Any]], path: str) -> Any:
    """A copy of ``node`` without the R4-only open-type values (collected in ``found``), or
    ``node`` itself when it holds none."""
    if isinstance(node, dict):
        out, changed = {}, False
        for k, v in node.items():
            if k in keys or (k.startswith("_") and k[1:] in keys):
                found.append((f"{path}.{k}", v))
                changed = True
                continue
            nv = _without_r4_only(v, keys, found, f"{path}.{k}")
            changed |= nv is not v
            out[k] = nv
        return out if changed else node
    if isinstance(node, list):
        items = [_without_r4_only(v, keys, found, f"{path}[{i}]") for i, v in enumerate(node)]
        return items if any(a is not b for a, b in zip(items, node, strict=True)) else node
    return node


def structural_findings(resource: Mapping[str, Any]) -> list[Finding]:
    """STR-001 findings from parsing ``resource`` with ``fhir.resources.R4B``.

    R4 open-type values the R4B model lacks (``Extension.valueMeta``) are not R4B errors: they
    are set aside and each parsed on its own as its data type.
    """
    from pydantic import ValidationError

    root = resource.get("resourceType")
    root = root if isinstance(root, str) else "Resource"
    set_aside: list[tuple[str, Any]] = []
    resource = _without_r4_only(resource, r4_only_open_keys(), set_aside, root)
    extra = _set_aside_findings(set_aside)
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
        return findings + extra
    except RecursionError:
        return [Finding("STR-001", ERROR, root, "not valid FHIR R4B: nested too deeply", INVALID_METADATA)]
    except Exception as exc:  # fhir.resources may raise other errors on odd input
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [Finding("STR-001", ERROR, root, f"not valid FHIR R4B: {first_line}", INVALID_METADATA)]
    return extra


def _set_aside_findings(set_aside: list[tuple[str, Any]]) -> list[Finding]:
    """STR-001 for R4-only open-type values that do not parse as their own data type."""
    from pydantic import ValidationError

    out = []
    for path, value in set_aside:
        key = path.rsplit(".", 1)[-1]
        if key.startswith("_"):
            continue
        tname = next(key[len(p):] for p in _OPEN_PREFIXES if key.startswith(p) and key[len(p):] in R4_OPEN_TYPES)
        try:
            from fhir.resources.R4B import get_fhir_model_class

            get_fhir_model_class(tname).model_validate(value)
        except ValidationError as exc:
            msg = exc.errors()[0].get("msg", "invalid") if exc.errors() else "invalid"
            out.append(Finding("STR-001", ERROR, path, f"not a valid FHIR R4 {tname}: {msg}", INVALID_METADATA))
        except (ValueError, KeyError, TypeError):
            continue  # no model to parse it with: R4 allows it, nothing more to say
    return out


def validate_message(message: MSSanteMessage | Mapping[str, Any]) -> list[Finding]:
    """Findings of the MSSanté rules on a message (dataclass or its ``to_dict`` form)."""
    data = message.to_dict() if isinstance(message, MSSanteMessage) else dict(message)
    findings: list[Finding] = []
    _run("mssante", data, Context(None, None, False), "MSSanteMessage", findings)
    return findings


__all__ = [
    "Judgement",
    "Recognised",
    "judge",
    "recognise",
    "structural_findings",
    "validate_message",
    "validate_outcome",
    "validate_resource",
]


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
