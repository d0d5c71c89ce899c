"""Identity rules on Patient resources: RNIV status must be QUAL, a QUAL identity carries its
INS, FR Core INS traits are complete, the birth place is an INSEE code.
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.fhir.constants import (
    EXT_BIRTH_LIST_GIVEN_NAME,
    EXT_BIRTH_PLACE,
    EXT_IDENTITY_RELIABILITY,
    PROFILE_PATIENT_INS,
)
from agents.fhir.rules.base import (
    ERROR,
    INFORMATION,
    WARNING,
    Context,
    as_dict,
    as_list,
    codings,
    profiles,
    rule,
)
from agents.fhir.rules.ins import birth_place_code, patient_ins_values
from agents.fhir.verdict import IDENTITY_NOT_QUALIFIED, INS_MISSING
from agents.identity import is_valid_birth_place


def identity_statuses(patient: dict) -> list[tuple[str, object]]:
    """(path suffix, status code) of each identityReliability/identityStatus in a Patient."""
    found = []
    for i, ext in enumerate(as_list(patient.get("extension"))):
        ext = as_dict(ext)
        if ext.get("url") != EXT_IDENTITY_RELIABILITY:
            continue
        for j, sub in enumerate(as_list(ext.get("extension"))):
            sub = as_dict(sub)
            if sub.get("url") != "identityStatus":
                continue
            code = as_dict(sub.get("valueCoding")).get("code")
            if code is None:
                code = sub.get("valueCode")
            if code is None:
                code = next((c.get("code") for c in codings(sub.get("valueCodeableConcept"))), None)
            found.append((f".extension[{i}].extension[{j}]", code))
    return found


@rule("IDV-001", ERROR, "Patient", "Patient.extension:identityReliability.extension:identityStatus",
      reason=IDENTITY_NOT_QUALIFIED, issue_code="business-rule")
def status_qualified(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """When the identity status is given it is QUAL (retrieved via INSi and checked against a
    high-trust ID); PROV, VALI and RECUP cannot feed the DMP. Applies to DMP payloads (ITI-65,
    PDSm, unprofiled); elsewhere IDV-006 warns."""
    if not ctx.dmp:
        return  # IDV-006 warns instead (Cahier de liaison, other national flows)
    for path, code in ctx.memo(identity_statuses, res):
        if code != "QUAL":
            legacy = " (VALI was the qualified code of older tables; RNIV now requires QUAL)" if code == "VALI" else ""
            yield path, f"identity status is {code!r}, not QUAL: only a qualified identity may be indexed with the INS{legacy}"


@rule("IDV-002", ERROR, "Patient", "Patient.identifier", reason=INS_MISSING, issue_code="required")
def qualified_has_ins(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A qualified identity (QUAL) carries its INS identifier."""
    statuses = ctx.memo(identity_statuses, res)
    if any(code == "QUAL" for _, code in statuses) and not ctx.memo(patient_ins_values, res):
        yield ".identifier", "identity is QUAL but the Patient carries no INS identifier"


@rule("IDV-003", WARNING, "Patient", "Patient.name | gender | birthDate | extension:birthPlace")
def traits_complete(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    # an identity without INS (a VALI patient in a notification, say) need not give the INS traits
    """A Patient that carries an INS or declares FR Core INS gives the five traits: official name
    with one given name and the birth-list-given-name extension, gender, birth date, birth place
    INSEE code."""
    claims_ins = bool(ctx.memo(patient_ins_values, res)) or PROFILE_PATIENT_INS in profiles(res)
    if not claims_ins:
        return
    missing = []
    official = [n for n in as_list(res.get("name")) if as_dict(n).get("use") == "official"]
    if not official:
        missing.append("official name")
    else:
        name = as_dict(official[0])
        if not name.get("family"):
            missing.append("birth name (family)")
        if not as_list(name.get("given")):
            missing.append("first given name")
        exts = [as_dict(e).get("url") for e in as_list(name.get("extension"))]
        if EXT_BIRTH_LIST_GIVEN_NAME not in exts:
            missing.append("birth-list-given-name")
    if res.get("gender") not in ("male", "female", "unknown"):
        missing.append("gender")
    if not res.get("birthDate"):
        missing.append("birthDate")
    if not any(as_dict(e).get("url") == EXT_BIRTH_PLACE for e in as_list(res.get("extension"))):
        missing.append("birthPlace")
    elif ctx.memo(birth_place_code, res) is None:
        missing.append("birthPlace INSEE code")
    if missing:
        yield "", f"FR Core INS traits incomplete: missing {', '.join(missing)}"


@rule("IDV-004", WARNING, "Patient", "Patient.extension:birthPlace.valueAddress.extension:inseeCode")
def birth_place_code_valid(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The birth place is a 5-character INSEE code (commune, 2A/2B, 97x, or 99xxx country)."""
    code = ctx.memo(birth_place_code, res)
    if code is not None and not is_valid_birth_place(code):
        yield "", f"birth place {code!r} is not a 5-character INSEE code"


@rule("IDV-005", INFORMATION, "Patient", "Patient.extension:identityReliability", issue_code="informational")
def status_stated(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """A Patient carrying an INS says its identity status (FR Core identityReliability)."""
    if ctx.memo(patient_ins_values, res) and not ctx.memo(identity_statuses, res):
        yield "", (
            "Patient carries an INS but no identity status: the sender vouches that the "
            "identity is qualified (QUAL)"
        )


@rule("IDV-006", ERROR, "Patient", "Patient.extension:identityReliability.extension:identityStatus",
      reason=IDENTITY_NOT_QUALIFIED, issue_code="business-rule")
def status_qualified_elsewhere(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside DMP payloads (Cahier de liaison, notifications, other national flows), a Patient that
    carries an INS has a qualified identity: the national identity rules let the INS travel only
    with a qualified identity (RNIV, requirement EXI SI 07 on the identity statuses; FR Core
    fr-core-patient-ins: INS slices only for a qualified identity; domain.md §3, sources S26,
    S32). A PROV or RECUP identity with an INS is refused; any status without INS is fine there
    (VALI: IDV-007)."""
    if ctx.dmp or not ctx.memo(patient_ins_values, res):
        return
    for path, code in ctx.memo(identity_statuses, res):
        if code not in ("QUAL", "VALI"):
            yield path, (
                f"identity status is {code!r} but the Patient carries an INS: the INS travels "
                "only with a qualified identity (QUAL)"
            )


@rule("IDV-007", WARNING, "Patient", "Patient.extension:identityReliability.extension:identityStatus")
def legacy_validated_status(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside DMP payloads, a Patient carrying an INS with status VALI is reported, not refused:
    VALI was the qualified status of older FR Core tables (the published Cahier de liaison,
    Cercle de soins and FR Core examples use it), but the DMP requires QUAL (IDV-001)."""
    if ctx.dmp or not ctx.memo(patient_ins_values, res):
        return
    for path, code in ctx.memo(identity_statuses, res):
        if code == "VALI":
            yield path, "identity status VALI with an INS: the current tables say QUAL; the DMP would refuse it"
