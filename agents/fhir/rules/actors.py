"""Rules on professionals and organisations: idNat_PS (8 + RPPS, 0 + ADELI) and idNat_Struct
(1 + FINESS …) formats; RPPS and FINESS check digits are inferences [I], hence warnings.
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.fhir.rules.base import ERROR, WARNING, Context, as_dict, as_list, profiles, rule
from agents.fhir.verdict import INVALID_METADATA
from agents.identity import (
    ID_NAT_PS_SYSTEM,
    ID_NAT_STRUCT_SYSTEM,
    IdCheck,
    check_id_nat_ps,
    check_id_nat_struct,
)

ANNUAIRE_PROFILES = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/"


def _strict_struct(res: dict, ctx: Context) -> bool:
    """True when a malformed idNat_Struct is an error: in a DMP payload, and for an organisation
    that declares an Annuaire Santé profile (the directory issues idNat_Struct) or no profile at
    all (judged as a directory entry); one that declares only another guide's profile: warning."""
    declared = profiles(res)
    return ctx.dmp or not declared or any(p.startswith(ANNUAIRE_PROFILES) for p in declared)


def _checked(res: dict, system: str, check: object) -> Iterator[tuple[str, IdCheck]]:
    for i, ident in enumerate(as_list(res.get("identifier"))):
        ident = as_dict(ident)
        if ident.get("system") == system:
            yield f".identifier[{i}].value", check(ident.get("value"))  # type: ignore[operator]


@rule("PS-001", ERROR, ("Practitioner", "PractitionerRole"), "Practitioner.identifier.value",
      reason=INVALID_METADATA, issue_code="value")
def id_nat_ps_format(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An idNat_PS is 8 + RPPS (11 digits) or 0 + ADELI (9 digits); prefixes 1, 3, 4, 5, 6 + a
    structure identifier are tolerated (see PS-002)."""
    for path, result in _checked(res, ID_NAT_PS_SYSTEM, check_id_nat_ps):
        if result.error:
            yield path, result.error


@rule("PS-002", WARNING, ("Practitioner", "PractitionerRole"), "Practitioner.identifier.value")
def id_nat_ps_personal(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """In a DMP payload, the author's idNat_PS is a personal national id (8 + RPPS or 0 + ADELI),
    not a structure-internal one (3 + FINESS/SIRET + '/' + internal id). A directory entry
    (Annuaire Santé, SAS) may carry a structure-internal idNat_PS: not reported there."""
    if not ctx.dmp:
        return  # staff without RPPS/ADELI are listed with a structure-internal idNat_PS
    for path, result in _checked(res, ID_NAT_PS_SYSTEM, check_id_nat_ps):
        if result.kind == "internal" and result.warning:
            yield path, result.warning


@rule("PS-003", WARNING, ("Practitioner", "PractitionerRole"), "Practitioner.identifier.value")
def rpps_key(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The RPPS number passes the Luhn check digit [I]."""
    for path, result in _checked(res, ID_NAT_PS_SYSTEM, check_id_nat_ps):
        if result.kind == "RPPS" and result.warning:
            yield path, result.warning


@rule("ORG-001", ERROR, "Organization", "Organization.identifier.value", reason=INVALID_METADATA, issue_code="value")
def id_nat_struct_format(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """An idNat_Struct is 1 + FINESS (9 characters), 2 + SIREN, 3 + SIRET, 4 + RPPS-rang or 0 +
    cabinet ADELI. An error in a DMP payload (the DMP indexes the author's structure by it) and
    in an Annuaire Santé (or profile-less) Organization: the directory issues it; an Organization
    declaring only another guide's profile: see ORG-003."""
    if not _strict_struct(res, ctx):
        return
    for path, result in _checked(res, ID_NAT_STRUCT_SYSTEM, check_id_nat_struct):
        if result.error:
            yield path, result.error


@rule("ORG-003", WARNING, "Organization", "Organization.identifier.value")
def id_nat_struct_format_outside_dmp(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """Outside a DMP payload, in an Organization declaring another guide's profile (not the Annuaire
    Santé's), a malformed idNat_Struct is a warning: other guides' examples carry an illustrative
    one (the traçabilité DMI guide's organisation example), and those guides constrain the
    identifier's system, not the CI-SIS format of its value."""
    if _strict_struct(res, ctx):
        return
    for path, result in _checked(res, ID_NAT_STRUCT_SYSTEM, check_id_nat_struct):
        if result.error:
            yield path, f"{result.error} (an illustrative identifier?)"


@rule("ORG-002", WARNING, "Organization", "Organization.identifier.value")
def finess_key(res: dict, ctx: Context) -> Iterator[tuple[str, str]]:
    """The FINESS number passes its Luhn-type check digit [I]."""
    for path, result in _checked(res, ID_NAT_STRUCT_SYSTEM, check_id_nat_struct):
        if result.warning:
            yield path, result.warning
