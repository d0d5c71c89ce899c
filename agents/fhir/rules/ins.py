"""INS rules: subject by INS present and well formed, matricule format and NIR key, INS OID
(production vs test/demo vs legacy/unknown), and matricule/traits consistency.

INS values are gathered from Patient identifiers and from ``subject`` references
(``Patient?identifier=urn:oid:<OID>|<INS>``); the ``ins`` rules run on each occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote_plus

from agents.fhir.constants import EXT_BIRTH_PLACE, EXT_INSEE_CODE, INS_SUBJECT_PREFIX
from agents.fhir.rules.base import (
    ERROR,
    WARNING,
    Context,
    as_dict,
    as_list,
    codings,
    rule,
)
from agents.fhir.verdict import BAD_INS, INS_MISSING
from agents.identity import (
    INS_C_OID,
    INS_NIA_OID,
    INS_NIR_DEMO_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    OidKind,
    ins_system,
    oid_kind,
)
from agents.identity.ins import IDENTIFIER_TYPE_BY_OID, INS_TYPE_CODES, URN_OID
from agents.identity.nir import nir_format_problems, nir_key_problem, nir_plausibility_problems

INS_SYSTEMS = frozenset(
    ins_system(o) for o in (INS_NIR_OID, INS_NIA_OID, INS_NIR_TEST_OID, INS_NIR_DEMO_OID, INS_C_OID)
)


@dataclass(frozen=True)
class InsValue:
    """One INS occurrence: its system and value, and the path suffix of the element.

    ``derived`` marks a subject that resolves to a Patient of the payload: that Patient's own
    identifier is checked where it stands, not a second time through the subject.
    """

    system: object
    value: object
    path: str
    derived: bool = False


def patient_ins_values(patient: dict) -> list[InsValue]:
    """INS identifiers of a Patient (by INS system or by FR Core INS identifier type)."""
    found = []
    for i, ident in enumerate(as_list(patient.get("identifier"))):
        ident = as_dict(ident)
        system = ident.get("system")
        types = {c.get("code") for c in codings(ident.get("type"))}
        if system in INS_SYSTEMS or types & INS_TYPE_CODES:
            found.append(InsValue(system, ident.get("value"), f".identifier[{i}]"))
    return found


def _identifier_param(query: str) -> str | None:
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "identifier":
            return unquote_plus(value) if "%" in value or "+" in value else value
    return None


def subject_ins_value(resource: dict, ctx: Context) -> InsValue | None:
    """The INS a ``subject`` designates (conditional reference, identifier, or resolved Patient)."""
    subject = as_dict(resource.get("subject"))
    ref = subject.get("reference")
    if isinstance(ref, str) and ref.startswith("Patient?"):
        param = _identifier_param(ref[len("Patient?") :])
        if param is None:
            return None
        system, sep, value = param.partition("|")
        if not sep:
            return InsValue(None, system, ".subject.reference")
        return InsValue(system or None, value, ".subject.reference")
    ident = subject.get("identifier")
    if isinstance(ident, dict):
        return InsValue(ident.get("system"), ident.get("value"), ".subject.identifier")
    target = ctx.resolve(ref, resource)
    if target is not None and target.get("resourceType") == "Patient":
        values = patient_ins_values(target)
        if values:
            return InsValue(values[0].system, values[0].value, ".subject.reference", True)
    return None


def subject_of(resource: dict, ctx: Context) -> InsValue | None:
    """``subject_ins_value`` computed once per resource and validation."""
    return ctx.memo(subject_ins_value, resource, ctx)


# --- subject ------------------------------------------------------------------------------------


@rule("INS-001", ERROR, ("DocumentReference", "List"), "DocumentReference.subject",
      reason=INS_MISSING, issue_code="required")
def subject_present(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The document (and the SubmissionSet) names its patient in `subject`."""
    if res.get("resourceType") == "List" and not (ctx.submission and ctx.dmp):
        return  # a SubmissionSet judged as IHE MHD only (--as mhd): PRF-003 judges its subject
    if not as_dict(res.get("subject")):
        yield ".subject", (
            f"{res.get('resourceType')} has no subject: the DMP files a document under the "
            "patient's INS and cannot file this one"
        )


@rule("INS-002", ERROR, ("DocumentReference", "List"), "DocumentReference.subject.reference",
      reason=INS_MISSING, issue_code="required")
def subject_is_ins(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The subject designates the patient by INS: `Patient?identifier=urn:oid:<INS
    OID>|<matricule>`."""
    if not ctx.dmp:
        return  # an INS is the DMP's requirement (IHE MHD alone names the patient as it likes)
    subject = as_dict(res.get("subject"))
    if not subject or subject_of(res, ctx) is not None:
        return
    ref = subject.get("reference")
    yield ".subject", (
        f"subject {ref!r} does not carry an INS; expected "
        f"{INS_SUBJECT_PREFIX}urn:oid:1.2.250.1.213.1.4.8|<15-character matricule>"
    )


# --- the INS value itself -----------------------------------------------------------------------


@rule("INS-003", ERROR, "ins", "Patient.identifier.value | DocumentReference.subject",
      reason=BAD_INS, issue_code="value")
def matricule_format(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """The INS matricule has 15 characters: sex 1/2 (7/8 provisional), digits, département 2A/2B
    allowed."""
    problems = nir_format_problems(ins.value)
    if problems:
        yield "", f"INS matricule {ins.value!r} is malformed: {'; '.join(problems)}"


@rule("INS-004", ERROR, "ins", "Patient.identifier.value | DocumentReference.subject",
      reason=BAD_INS, issue_code="value")
def matricule_key(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """The NIR/NIA key equals 97 − (first 13 digits mod 97), with 2A → 19 and 2B → 18. An error in a
    DMP payload (the DMP checks the key and refuses the document); outside one see INS-011."""
    if not ctx.dmp or nir_format_problems(ins.value):
        return
    problem = nir_key_problem(str(ins.value))
    if problem:
        yield "", f"INS matricule {ins.value} has a bad NIR key: {problem}"


@rule("INS-011", WARNING, "ins", "Patient.identifier.value | DocumentReference.subject", issue_code="value")
def matricule_key_outside_dmp(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside a DMP payload, a bad NIR/NIA key is a warning: other guides' examples carry an
    illustrative INS (the ePrescription, Cahier de liaison, Cercle de soins and FR Core examples
    publish keys that do not match), and those guides fix the INS's system and type, not its key;
    the format (INS-003), OID (INS-005) and type (INS-010) stay errors."""
    if ctx.dmp or nir_format_problems(ins.value):
        return
    problem = nir_key_problem(str(ins.value))
    if problem:
        yield "", f"INS matricule {ins.value} has a bad NIR key: {problem} (an illustrative INS?)"


@rule("INS-005", ERROR, "ins", "Patient.identifier.system | DocumentReference.subject",
      reason=BAD_INS, issue_code="code-invalid")
def ins_oid(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """The INS system is `urn:oid:` + an INS authority OID (1.4.8 NIR, 1.4.9 NIA, 1.4.10 test,
    1.4.11 demo); the legacy INS-C OID 1.4.2 and unknown OIDs are refused."""
    system = ins.system
    if not isinstance(system, str) or not system:
        yield "", "INS has no system: expected urn:oid:1.2.250.1.213.1.4.8 (INS-NIR) or another INS OID"
        return
    if not system.startswith(URN_OID):
        yield "", f"INS system {system!r} must be written urn:oid:<OID>"
        return
    kind = oid_kind(system)
    if kind is OidKind.LEGACY:
        yield "", f"INS system {system} is the withdrawn INS-C (computed INS); use the INS-NIR OID 1.2.250.1.213.1.4.8"
    elif kind is OidKind.UNKNOWN:
        yield "", f"INS system {system} is not an INS authority OID (1.2.250.1.213.1.4.8/9/10/11)"


@rule("INS-006", WARNING, "ins", "Patient.identifier.system | DocumentReference.subject")
def test_oid(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """An INS under the test (1.4.10) or demo (1.4.11) OID is not a production identity."""
    if isinstance(ins.system, str) and ins.system.startswith(URN_OID):
        kind = oid_kind(ins.system)
        if kind in (OidKind.TEST, OidKind.DEMO):
            yield "", (
                f"INS under the {kind.value} OID {ins.system}: a fictitious patient, not a "
                "production identity; a production DMP would not accept it"
            )


@rule("INS-007", WARNING, "ins", "Patient.identifier.value | DocumentReference.subject")
def matricule_plausible(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """The matricule holds plausible values (month 01–12, 20–42 or 50+; commune and order not 000).
    """
    if nir_format_problems(ins.value):
        return
    problems = nir_plausibility_problems(str(ins.value))
    if problems:
        yield "", f"INS matricule {ins.value} looks implausible: {'; '.join(problems)}"


_SEX_DIGIT = {"male": "17", "female": "28"}


@rule("INS-008", WARNING, "Patient", "Patient.identifier")
def matricule_matches_traits(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The matricule agrees with the traits: sex digit, birth year and month, birth place code."""
    gender, birth = res.get("gender"), res.get("birthDate")
    place = ctx.memo(birth_place_code, res)
    for ins in ctx.memo(patient_ins_values, res):
        if nir_format_problems(ins.value) or oid_kind(str(ins.system)) is OidKind.LEGACY:
            continue
        v = str(ins.value)
        problems = []
        if gender in _SEX_DIGIT and v[0] not in _SEX_DIGIT[gender]:
            problems.append(f"sex digit {v[0]} for gender {gender}")
        if isinstance(birth, str) and len(birth) >= 7 and birth[2:4] + birth[5:7] != v[1:5]:
            if int(v[3:5]) <= 12:  # months 20+ stand for an unknown month
                problems.append(f"year/month {v[1:5]} for birth date {birth}")
        if isinstance(place, str) and len(place) == 5 and place != v[5:10]:
            corsica_before_1976 = place[:2] in ("2A", "2B") and v[5:7] == "20"
            if not corsica_before_1976 or place[2:] != v[7:10]:
                problems.append(f"birth place {v[5:10]} for INSEE code {place}")
        if problems:
            yield f"{ins.path}.value", f"INS matricule {v} disagrees with the traits: {', '.join(problems)}"


@rule("INS-010", ERROR, "Patient", "Patient.identifier.type", reason=BAD_INS, issue_code="code-invalid")
def ins_type_matches_oid(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An INS identifier's type is the one FR Core ties to its OID (fr-core-patient-ins slices:
    INS-NIR 1.2.250.1.213.1.4.8, INS-NIA 1.4.9, INS-NIR-TEST 1.4.10, INS-NIR-DEMO 1.4.11): an
    INS-NIA typed identifier under the NIR OID, or the reverse, is refused."""
    for i, ident in enumerate(as_list(res.get("identifier"))):
        ident = as_dict(ident)
        system = ident.get("system")
        if not isinstance(system, str):
            continue
        expected = IDENTIFIER_TYPE_BY_OID.get(system.removeprefix(URN_OID))
        typed = [c.get("code") for c in codings(ident.get("type")) if c.get("code") in INS_TYPE_CODES]
        if expected is None:
            if typed and system.startswith(URN_OID + "1.2.250.1.213.1.4."):
                yield f".identifier[{i}].type", f"identifier typed {typed[0]} under {system}, which is no INS OID"
            continue
        wrong = [t for t in typed if t != expected]
        if wrong:
            yield f".identifier[{i}].type", (
                f"identifier typed {wrong[0]} under {system}: FR Core types this OID {expected}"
            )


def birth_place_code(patient: dict) -> object:
    """The INSEE code in a Patient's FR Core birthPlace extension (None when absent)."""
    for ext in as_list(patient.get("extension")):
        ext = as_dict(ext)
        if ext.get("url") == EXT_BIRTH_PLACE:
            for sub in as_list(as_dict(ext.get("valueAddress")).get("extension")):
                sub = as_dict(sub)
                if sub.get("url") == EXT_INSEE_CODE:
                    return as_dict(sub.get("valueCoding")).get("code")
    return None




@rule("INS-009", ERROR, "ins", "Patient.identifier | DocumentReference.subject",
      reason=BAD_INS, issue_code="code-invalid")
def matricule_kind_matches_oid(ins: InsValue, ctx: Context) -> Iterator[tuple[str, str]]:
    """The matricule and its OID agree: an NIA (sex digit 7 or 8, a waiting number) is declared
    under the INS-NIA OID 1.4.9, never under the production INS-NIR OID 1.4.8, and a NIR (sex
    digit 1 or 2) never under the NIA OID."""
    if nir_format_problems(ins.value) or not isinstance(ins.system, str):
        return
    oid = ins.system.removeprefix(URN_OID)
    first = str(ins.value)[0]
    if oid == INS_NIR_OID and first in "78":
        yield "", (
            f"INS {ins.value} is an NIA (sex digit {first}) declared under the INS-NIR OID "
            f"{INS_NIR_OID}: an NIA is issued under {INS_NIA_OID}"
        )
    elif oid == INS_NIA_OID and first in "12":
        yield "", (
            f"INS {ins.value} is a NIR (sex digit {first}) declared under the INS-NIA OID "
            f"{INS_NIA_OID}: use the INS-NIR OID {INS_NIR_OID}"
        )


__all__ = ["InsValue", "birth_place_code", "patient_ins_values", "subject_ins_value"]
