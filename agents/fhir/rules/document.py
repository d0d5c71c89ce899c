"""DocumentReference rules taken from the PDSm guide and the DMP's checks: masterIdentifier
form and uniqueness, custodian, sourcePatientInfo, facilityType / practiceSetting in the national
value sets (vendored JDV_J02 / JDV_J04), and dates not in the future.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache

from agents.fhir.guides import value_set
from agents.fhir.rules.base import (
    ERROR,
    WARNING,
    Context,
    as_dict,
    as_list,
    codings,
    is_submission_set,
    rule,
)
from agents.fhir.rules.ins import patient_ins_values, subject_of
from agents.fhir.verdict import INVALID_METADATA
from agents.identity import ID_NAT_STRUCT_SYSTEM

_OID = r"[0-2](?:\.(?:0|[1-9]\d*))+"
_UNIQUE_ID = re.compile(rf"urn:oid:(?P<oid>{_OID})(?:\^[A-Za-z0-9.\-_]{{1,16}})?")
_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
URN_IETF = "urn:ietf:rfc:3986"
#: Clock skew tolerated before a date counts as "in the future".
FUTURE_TOLERANCE = timedelta(minutes=10)


# --- masterIdentifier ----------------------------------------------------------------------------


@rule("DOC-014", ERROR, "DocumentReference", "DocumentReference.masterIdentifier",
      reason=INVALID_METADATA, issue_code="value")
def unique_id_form(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The unique id (XDS uniqueId) is `urn:oid:<OID>` (optionally `^extension`, OID ≤ 64
    characters) or `urn:uuid:<UUID>`, with system urn:ietf:rfc:3986 when a system is given."""
    master = as_dict(res.get("masterIdentifier"))
    value, system = master.get("value"), master.get("system")
    if not value:
        return  # DOC-010 says it is missing
    if system is not None and system != URN_IETF:
        yield ".masterIdentifier.system", (
            f"masterIdentifier.system is {system!r}; an XDS uniqueId is written as a URI "
            f"(system {URN_IETF})"
        )
    if not isinstance(value, str):
        return
    match = _UNIQUE_ID.fullmatch(value)
    if match and len(match["oid"]) > 64:
        yield ".masterIdentifier.value", f"uniqueId OID has {len(match['oid'])} characters (at most 64)"
    elif not match and not _UUID.fullmatch(value):
        yield ".masterIdentifier.value", (
            f"masterIdentifier {value!r} is neither urn:oid:<OID>[^extension] nor urn:uuid:<UUID>"
        )


def _duplicate_unique_ids(bundle: dict, ctx: Context) -> list[tuple[str, str]]:
    """(path, message) of each DocumentReference reusing an earlier one's masterIdentifier."""
    if not ctx.submission or ctx.bundle is None:
        return []
    seen: dict[str, int] = {}
    out = []
    for i, _, docref in ctx.bundle.of_type("DocumentReference"):
        value = as_dict(docref.get("masterIdentifier")).get("value")
        if not isinstance(value, str) or not value:
            continue
        if value in seen:
            out.append((f".entry[{i}].resource.masterIdentifier", f"uniqueId {value} is already used by entry[{seen[value]}]"))
        else:
            seen[value] = i
    return out


@rule("DOC-015", ERROR, "Bundle", "Bundle.entry.resource.ofType(DocumentReference).masterIdentifier",
      reason=INVALID_METADATA, issue_code="duplicate")
def unique_ids_distinct(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Two DocumentReferences of one submission never share a unique id (the DMP, as an XDS
    registry, refuses XDSDuplicateUniqueIdInSubmission); outside a DMP payload see DOC-021."""
    if ctx.dmp:
        yield from _duplicate_unique_ids(bundle, ctx)


@rule("DOC-021", WARNING, "Bundle", "Bundle.entry.resource.ofType(DocumentReference).masterIdentifier",
      issue_code="duplicate")
def unique_ids_distinct_outside_dmp(bundle: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside a DMP payload (`--as mhd`), two DocumentReferences sharing a unique id is a warning:
    IHE MHD 4.2.2's own multiple-document ITI-65 example does so, though a registry behind the
    Document Recipient would refuse it."""
    if not ctx.dmp:
        yield from _duplicate_unique_ids(bundle, ctx)


# --- custodian and sourcePatientInfo -------------------------------------------------------------


def _reference_type(ref: str) -> str:
    """The resource type a REST reference names (``…/Type/id[/_history/v]``)."""
    parts = ref.split("/_history/")[0].rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


def _server_reference(ref: object) -> bool:
    """A relative or absolute REST reference (to a resource the server holds)."""
    return isinstance(ref, str) and "/" in ref and not ref.startswith(("#", "urn:"))


@rule("DOC-016", ERROR, "DocumentReference", "DocumentReference.custodian",
      reason=INVALID_METADATA, issue_code="invalid")
def custodian_organisation(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """When given, the custodian designates an Organization: by reference (contained, in the bundle
    or on the server) to an Organization with an idNat_Struct, or by an idNat_Struct identifier
    (system urn:oid:1.2.250.1.71.4.2.2)."""
    custodian = res.get("custodian")
    if custodian is None:
        return  # PDSm requires it (1..): PRF-002 warns; the DMP takes it from the VIHF
    custodian = as_dict(custodian)
    ident = as_dict(custodian.get("identifier"))
    ref = custodian.get("reference")
    if ident:
        if ident.get("system") != ID_NAT_STRUCT_SYSTEM or not ident.get("value"):
            yield ".custodian.identifier", (
                f"custodian identifier system is {ident.get('system')!r}, expected the "
                f"idNat_Struct system {ID_NAT_STRUCT_SYSTEM}"
            )
        return
    if not isinstance(ref, str) or not ref:
        yield ".custodian", "custodian has neither a reference nor an identifier"
        return
    target = ctx.resolve(ref, res)
    if target is None:
        if _server_reference(ref):
            if _reference_type(ref) != "Organization":
                yield ".custodian.reference", f"custodian reference {ref} is not an Organization"
        elif not ref.startswith("#"):  # a dangling '#id' is REF-002's
            yield ".custodian.reference", f"custodian reference {ref} does not resolve"
        return
    if target.get("resourceType") != "Organization":
        yield ".custodian.reference", (
            f"custodian {ref} is a {target.get('resourceType')}, expected an Organization"
        )
    elif not any(
        as_dict(i).get("system") == ID_NAT_STRUCT_SYSTEM and as_dict(i).get("value")
        for i in as_list(target.get("identifier"))
    ):
        yield ".custodian.reference", (
            f"custodian Organization {ref} carries no idNat_Struct identifier ({ID_NAT_STRUCT_SYSTEM})"
        )


@rule("DOC-017", ERROR, "DocumentReference", "DocumentReference.context.sourcePatientInfo",
      reason=INVALID_METADATA, issue_code="business-rule")
def source_patient_info(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """When given, sourcePatientInfo resolves to a Patient, and that Patient's INS is the one the
    subject names."""
    info = as_dict(as_dict(res.get("context")).get("sourcePatientInfo"))
    if not info:
        return
    ref = info.get("reference")
    target = ctx.resolve(ref, res)
    if target is None:
        if isinstance(ref, str) and not _server_reference(ref) and not ref.startswith("#"):
            yield ".context.sourcePatientInfo.reference", f"sourcePatientInfo {ref} does not resolve"
        return  # '#id' dangling: REF-002; server reference: not ours to check
    if target.get("resourceType") != "Patient":
        yield ".context.sourcePatientInfo.reference", (
            f"sourcePatientInfo {ref} is a {target.get('resourceType')}, expected a Patient"
        )
        return
    subject = subject_of(res, ctx)
    if subject is None or subject.value is None:
        return
    values = {str(v.value) for v in patient_ins_values(target) if v.value is not None}
    if values and str(subject.value) not in values:
        yield ".context.sourcePatientInfo.reference", (
            f"sourcePatientInfo carries INS {', '.join(sorted(values))} but the subject is "
            f"{subject.value}: the document would be filed under another patient"
        )


# --- facilityType and practiceSetting (JDV_J02, JDV_J04) ----------------------------------------

_SETTINGS = (("facilityType", "J02", "JDV_J02"), ("practiceSetting", "J04", "JDV_J04"))


@cache
def _national_setting_systems() -> frozenset[str]:
    return frozenset(value_set("J02")) | frozenset(value_set("J04"))


@rule("DOC-018", ERROR, "DocumentReference", "DocumentReference.context.facilityType | context.practiceSetting",
      reason=INVALID_METADATA, issue_code="code-invalid")
def settings_in_value_sets(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A facilityType (practiceSetting) coded in a national terminology (TRE_R02, TRE_A00, TRE_A01)
    is a code of JDV_J02 (JDV_J04), the value sets vendored from the guides."""
    context = as_dict(res.get("context"))
    national = _national_setting_systems()
    for element, vs, label in _SETTINGS:
        allowed = value_set(vs)
        for j, c in enumerate(codings(context.get(element))):
            system = c.get("system")
            if system in national and c.get("code") not in allowed.get(system, {}):
                yield f".context.{element}.coding[{j}].code", (
                    f"{element} code {c.get('code')!r} ({system}) is not in {label}"
                )


@rule("DOC-019", WARNING, "DocumentReference", "DocumentReference.context.facilityType | context.practiceSetting")
def settings_national(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """facilityType and practiceSetting carry a code of JDV_J02 / JDV_J04 (PDSm binds them as
    preferred: another terminology, e.g. SNOMED CT in the guide's own examples, is allowed)."""
    context = as_dict(res.get("context"))
    for element, vs, label in _SETTINGS:
        found = codings(context.get(element))
        allowed = value_set(vs)
        if found and not any(c.get("code") in allowed.get(c.get("system"), {}) for c in found):
            systems = ", ".join(sorted({str(c.get("system")) for c in found}))
            yield f".context.{element}", (
                f"{element} is coded in {systems}, not in {label}: accepted by PDSm (preferred "
                "binding), the DMP indexes on the national codes"
            )


# --- dates not in the future -----------------------------------------------------------------------


def parse_fhir_datetime(value: object) -> datetime | None:
    """An aware datetime from a FHIR date / dateTime / instant (dates: end of that day, UTC)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if "T" not in value:
            parts = [int(p) for p in value.split("-")]
            day = date(parts[0], parts[1] if len(parts) > 1 else 12, parts[2] if len(parts) > 2 else 28)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def reference_times(ctx: Context) -> list[tuple[datetime, str]]:
    """Times a creation date may not exceed: the SubmissionSet date in an ITI-65, and the
    validation time when given (``ctx.now``, e.g. a live service's clock), else the clock
    outside an ITI-65 (a simulated submission is dated in simulated time)."""
    limits = []
    if ctx.submission and ctx.dmp and ctx.bundle is not None:  # (an MHD-only judgement: the clock)
        for _, _, r in ctx.bundle.entries:
            if is_submission_set(r):
                when = parse_fhir_datetime(r.get("date"))
                if when is not None:
                    limits.append((when, f"the submission date {r.get('date')}"))
                break
    if isinstance(ctx.now, datetime):
        now = ctx.now if ctx.now.tzinfo is not None else ctx.now.replace(tzinfo=UTC)
        limits.append((now, f"the validation time {now.isoformat(timespec='seconds')}"))
    elif not limits:
        now = datetime.now(UTC)
        limits.append((now, f"now ({now.isoformat(timespec='seconds')})"))
    return limits


@rule("DOC-020", ERROR, "DocumentReference", "DocumentReference.content.attachment.creation | context.period.start",
      reason=INVALID_METADATA, issue_code="business-rule")
def not_in_future(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document's creation time and the act's start are not in the future (after the
    SubmissionSet date in an ITI-65, nor after the validation time when one is given, or outside
    an ITI-65; 10 minutes tolerated)."""
    candidates = [
        (f".content[{i}].attachment.creation", as_dict(as_dict(c).get("attachment")).get("creation"))
        for i, c in enumerate(as_list(res.get("content")))
    ]
    candidates.append((".context.period.start", as_dict(as_dict(res.get("context")).get("period")).get("start")))
    limits = None
    for path, raw in candidates:
        when = parse_fhir_datetime(raw)
        if when is None:
            continue
        if limits is None:
            limits = reference_times(ctx)
        late = next((label for limit, label in limits if when > limit + FUTURE_TOLERANCE), None)
        if late is not None:
            yield path, f"{raw} is after {late}: a document cannot be created in the future"
