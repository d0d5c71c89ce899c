"""Document metadata rules (DocumentReference): type code in the catalogue and J66, class code
in J57 and consistent with the type, confidentiality/visibility codes, author with an idNat_PS,
uniqueId, content, status.

The PDSm simplified-publish profile (ITI-105) lets the server derive class and confidentiality,
so those two are only required for comprehensive metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from agents.catalogue import CLASS_SYSTEM, LOINC_SYSTEM, load_catalogue
from agents.fhir.constants import (
    CS_CONFIDENTIALITY,
    CS_VISIBILITY,
    PROFILE_SIMPLIFIED_PUBLISH,
    VISIBILITY_CODES,
)
from agents.fhir.guides import value_set
from agents.fhir.rules.base import (
    ERROR,
    WARNING,
    Context,
    as_dict,
    as_list,
    codings,
    profiles,
    rule,
)
from agents.fhir.verdict import INVALID_METADATA
from agents.identity import ID_NAT_PS_SYSTEM

VISIBILITY_SYSTEMS = frozenset({CS_VISIBILITY, "urn:oid:1.2.250.1.213.1.1.4.13"})
CONFIDENTIALITY_SYSTEMS = frozenset({CS_CONFIDENTIALITY, "urn:oid:2.16.840.1.113883.5.25"})
RELATES_TO_CODES = frozenset({"replaces", "transforms", "signs", "appends"})


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, object]:
    return {t.code: t for t in load_catalogue()}


def _simplified(res: dict) -> bool:
    return PROFILE_SIMPLIFIED_PUBLISH in profiles(res)


def type_code(res: dict) -> tuple[str | None, object]:
    """(system, code) of the first coding of DocumentReference.type."""
    for c in codings(res.get("type")):
        if c.get("code"):
            return c.get("system"), c.get("code")
    return None, None


def class_codings(res: dict) -> list[tuple[str, dict]]:
    """(path suffix, coding) of every coding of DocumentReference.category."""
    found = []
    for i, cat in enumerate(as_list(res.get("category"))):
        for j, c in enumerate(codings(cat)):
            found.append((f".category[{i}].coding[{j}]", c))
    return found


@rule("DOC-001", ERROR, "DocumentReference", "DocumentReference.type",
      reason=INVALID_METADATA, issue_code="required")
def type_present(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document has a type code (XDS typeCode)."""
    if type_code(res)[1] is None:
        yield ".type", "DocumentReference has no type code: the DMP requires typeCode (JDV_J66)"


#: JDV_J66 lists LOINC codes under the TRE_A04 system; in FHIR payloads they are http://loinc.org.
TRE_A04_LOINC = "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc"


def _j66_codes(system: object) -> dict[str, str]:
    """JDV_J66 (vendored) codes for a payload's type system (LOINC read as TRE_A04)."""
    j66 = value_set("J66")
    return j66.get(TRE_A04_LOINC if system == LOINC_SYSTEM else system, {})  # type: ignore[arg-type]


@rule("DOC-002", ERROR, "DocumentReference", "DocumentReference.type.coding",
      reason=INVALID_METADATA, issue_code="code-invalid")
def type_known(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The type code is a LOINC code of JDV_J66 (vendored) or of the document-type catalogue, or a
    code of the other JDV_J66 terminologies (TRE_A05 complementary types, ASTM)."""
    system, code = type_code(res)
    if code is None:
        return
    if system == LOINC_SYSTEM:
        if code not in _catalogue() and code not in _j66_codes(system):
            yield ".type.coding[0].code", (
                f"type code {code!r} is neither in JDV_J66 nor in the document-type catalogue "
                "(scenarios/data/document_types.csv)"
            )
    elif system in value_set("J66") and system != TRE_A04_LOINC:
        if code not in _j66_codes(system):
            yield ".type.coding[0].code", f"type code {code!r} ({system}) is not in JDV_J66"
    else:
        yield ".type.coding[0].system", (
            f"type code system {system!r} is not LOINC ({LOINC_SYSTEM}) nor a JDV_J66 terminology"
        )


@rule("DOC-003", ERROR, "DocumentReference", "DocumentReference.type.coding.code",
      reason=INVALID_METADATA, issue_code="code-invalid")
def type_in_j66(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The type code is active and belongs to JDV_J66-TypeCode-DMP (retired codes are refused)."""
    system, code = type_code(res)
    entry = _catalogue().get(code) if system == LOINC_SYSTEM else None  # type: ignore[arg-type]
    if entry is None or entry.in_j66:  # type: ignore[attr-defined]
        return
    if entry.status == "retired":  # type: ignore[attr-defined]
        yield ".type.coding[0].code", f"type code {code} is retired ({entry.provenance}) and not in JDV_J66"  # type: ignore[attr-defined]
    elif code not in _j66_codes(system):
        yield ".type.coding[0].code", f"type code {code} is not in JDV_J66-TypeCode-DMP"


@rule("DOC-004", ERROR, "DocumentReference", "DocumentReference.category",
      reason=INVALID_METADATA, issue_code="required")
def class_present(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document has a class code (XDS classCode) in TRE_A03 (not required for
    pdsm-simplified-publish)."""
    if _simplified(res):
        return
    if not any(c.get("system") == CLASS_SYSTEM and c.get("code") for _, c in class_codings(res)):
        yield ".category", f"DocumentReference has no class code from {CLASS_SYSTEM}"


@rule("DOC-005", ERROR, "DocumentReference", "DocumentReference.category.coding",
      reason=INVALID_METADATA, issue_code="code-invalid")
def class_in_j57(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Each class code from TRE_A03 belongs to JDV_J57-ClassCode-DMP (the value set vendored from
    the terminology guide)."""
    allowed = value_set("J57").get(CLASS_SYSTEM, {})
    for path, c in class_codings(res):
        if c.get("system") == CLASS_SYSTEM and c.get("code") not in allowed:
            yield f"{path}.code", (
                f"class code {c.get('code')!r} is not in JDV_J57 "
                f"({', '.join(sorted(allowed))})"
            )


@rule("DOC-006", WARNING, "DocumentReference", "DocumentReference.category.coding.code")
def class_matches_type(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The class code is the one the catalogue gives for the type code [I]."""
    system, code = type_code(res)
    entry = _catalogue().get(code) if system == LOINC_SYSTEM else None  # type: ignore[arg-type]
    if entry is None:
        return
    expected = entry.class_code  # type: ignore[attr-defined]
    labels = value_set("J57").get(CLASS_SYSTEM, {})
    for path, c in class_codings(res):
        if c.get("system") == CLASS_SYSTEM and c.get("code") in labels and c.get("code") != expected:
            yield f"{path}.code", (
                f"class code {c.get('code')} ({labels[c['code']]}) differs from the "
                f"catalogue's class {expected} ({labels.get(expected, '?')}) for type {code}"
            )


@rule("DOC-007", ERROR, "DocumentReference", "DocumentReference.securityLabel",
      reason=INVALID_METADATA, issue_code="required")
def confidentiality_present(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document has a confidentiality code (not required for pdsm-simplified-publish)."""
    if _simplified(res):
        return
    if not any(codings(label) for label in as_list(res.get("securityLabel"))):
        yield ".securityLabel", "DocumentReference has no confidentiality code (JDV_J58: N, TRE_A07)"


@rule("DOC-008", ERROR, "DocumentReference", "DocumentReference.securityLabel.coding",
      reason=INVALID_METADATA, issue_code="code-invalid")
def confidentiality_valid(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Confidentiality codes are N (HL7 v3-Confidentiality) or the TRE_A07 visibility codes
    INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX, MASQUE_PS."""
    for i, label in enumerate(as_list(res.get("securityLabel"))):
        for j, c in enumerate(codings(label)):
            code, system = c.get("code"), c.get("system")
            if code == "N" and system in CONFIDENTIALITY_SYSTEMS:
                continue
            if code in VISIBILITY_CODES and system in VISIBILITY_SYSTEMS:
                continue
            yield f".securityLabel[{i}].coding[{j}]", (
                f"confidentiality code {code!r} ({system}) is not accepted by the DMP: use N "
                f"or a TRE_A07 code ({', '.join(VISIBILITY_CODES)})"
            )


def _has_id_nat_ps(practitioner: dict) -> bool:
    return any(
        as_dict(i).get("system") == ID_NAT_PS_SYSTEM and as_dict(i).get("value")
        for i in as_list(practitioner.get("identifier"))
    )


def author_practitioners(res: dict, ctx: Context) -> list[dict]:
    """Practitioners (or PractitionerRoles carrying the idNat_PS) the authors resolve to."""
    found = []
    for author in as_list(res.get("author")):
        author = as_dict(author)
        ident = as_dict(author.get("identifier"))
        if ident.get("system") == ID_NAT_PS_SYSTEM:
            found.append({"resourceType": "Practitioner", "identifier": [ident]})
            continue
        target = ctx.resolve(author.get("reference"), res)
        if target is None:
            continue
        if target.get("resourceType") == "PractitionerRole":
            if _has_id_nat_ps(target):  # how the PDSm DMP examples write the author
                found.append(target)
                continue
            target = ctx.resolve(as_dict(target.get("practitioner")).get("reference"), res)
        if target is not None and target.get("resourceType") == "Practitioner":
            found.append(target)
    return found


@rule("DOC-009", ERROR, "DocumentReference", "DocumentReference.author",
      reason=INVALID_METADATA, issue_code="required")
def author_identified(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An author resolves (contained, in the bundle, or by identifier) to a Practitioner, or to a
    PractitionerRole, with an idNat_PS identifier (system urn:oid:1.2.250.1.71.4.2.1)."""
    if not as_list(res.get("author")):
        yield ".author", "DocumentReference has no author: the DMP requires the author's idNat_PS"
        return
    if not any(_has_id_nat_ps(p) for p in author_practitioners(res, ctx)):
        yield ".author", (
            "no author resolves to a Practitioner or PractitionerRole with an idNat_PS identifier "
            f"({ID_NAT_PS_SYSTEM})"
        )


@rule("DOC-010", ERROR, "DocumentReference", "DocumentReference.masterIdentifier",
      reason=INVALID_METADATA, issue_code="required")
def unique_id(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document has a unique id (masterIdentifier = XDS uniqueId)."""
    if not as_dict(res.get("masterIdentifier")).get("value"):
        yield ".masterIdentifier", "DocumentReference has no masterIdentifier (XDS uniqueId)"


@rule("DOC-011", ERROR, "DocumentReference", "DocumentReference.content.attachment",
      reason=INVALID_METADATA, issue_code="required")
def content_present(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document has content: an attachment with a url (to a Binary) or inline data."""
    contents = as_list(res.get("content"))
    if not contents:
        yield ".content", "DocumentReference has no content"
    for i, content in enumerate(contents):
        att = as_dict(as_dict(content).get("attachment"))
        if not (att.get("url") or att.get("data")):
            yield f".content[{i}].attachment", "attachment has neither url nor data"


@rule("DOC-012", WARNING, "DocumentReference", "DocumentReference.content.attachment.creation")
def creation_time(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document says when it was created (XDS creationTime)."""
    for i, content in enumerate(as_list(res.get("content"))):
        if not as_dict(as_dict(content).get("attachment")).get("creation"):
            yield f".content[{i}].attachment.creation", "attachment has no creation time (XDS creationTime)"


@rule("DOC-013", ERROR, "DocumentReference", "DocumentReference.status", reason=INVALID_METADATA, issue_code="value")
def status_current(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A DocumentReference submitted in an ITI-65 bundle has status `current`."""
    if ctx.submission and res.get("status") != "current":
        yield ".status", f"submitted DocumentReference has status {res.get('status')!r}, expected 'current'"


@rule("REP-001", ERROR, "DocumentReference", "DocumentReference.relatesTo",
      reason=INVALID_METADATA, issue_code="required")
def relates_to_complete(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Each relatesTo has a code and a target (the replaced document for `replaces`)."""
    for i, rel in enumerate(as_list(res.get("relatesTo"))):
        rel = as_dict(rel)
        target = as_dict(rel.get("target"))
        if not rel.get("code"):
            yield f".relatesTo[{i}].code", "relatesTo has no code"
        if not (target.get("reference") or target.get("identifier")):
            yield f".relatesTo[{i}].target", (
                f"relatesTo {rel.get('code') or ''} names no target document".replace("  ", " ")
            )


@rule("REP-002", ERROR, "DocumentReference", "DocumentReference.relatesTo.code",
      reason=INVALID_METADATA, issue_code="code-invalid")
def relates_to_code(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """relatesTo.code is replaces, transforms, signs or appends."""
    for i, rel in enumerate(as_list(res.get("relatesTo"))):
        code = as_dict(rel).get("code")
        if code and code not in RELATES_TO_CODES:
            yield f".relatesTo[{i}].code", f"relatesTo code {code!r} is not one of {', '.join(sorted(RELATES_TO_CODES))}"
