"""Which national profile a FHIR resource is, read from what it says it is.

``recognise(resource)`` looks at ``meta.profile``, the Bundle type and, for a transaction, the
MHD SubmissionSet List it holds; it never guesses from the rest of the content. The key selects
the rule set (``Context.submission`` for an ITI-65, the Cahier de liaison checks…); a resource
with no national profile gets the generic FHIR checks and an information finding (PRF-001).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.fhir.constants import (
    PROFILE_DOCUMENT_REFERENCE,
    PROFILE_PATIENT_INS,
    PROFILE_PROVIDE_BUNDLE,
    PROFILE_SIMPLIFIED_PUBLISH,
    PROFILE_SUBMISSION_SET,
)
from agents.fhir.rules.base import as_dict, as_list, is_submission_set, profiles

ANS_IG = "https://interop.esante.gouv.fr/ig/fhir/"
CDL = ANS_IG + "cdl/StructureDefinition/"
EPRESCRIPTION = ANS_IG + "eprescription/"
ANNUAIRE = ANS_IG + "annuaire/StructureDefinition/"
CDS = ANS_IG + "cds/StructureDefinition/"
PDSM_SEARCH_RESPONSE = ANS_IG + "pdsm/StructureDefinition/pdsm-find-documentreferences-comprehensive-response"
FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
ID_NAT_SYSTEMS = ("urn:oid:1.2.250.1.71.4.2.1", "urn:oid:1.2.250.1.71.4.2.2")


@dataclass(frozen=True)
class Recognised:
    """The profile a resource was recognised as.

    ``key`` names the rule set; ``national`` is False when no national profile was recognised;
    ``canonical`` is the profile URL the decision rests on (None when read from the shape).
    """

    key: str
    label: str
    national: bool
    canonical: str | None = None
    forced: bool = False  # judged as ``canonical`` on request (``--as``), whatever it declares

    @property
    def submission(self) -> bool:
        """True for a DMP document submission (ITI-65), replacement included."""
        return self.key in (DMP_SUBMISSION, PDSM_REPLACEMENT, MHD_SUBMISSION)


DMP_SUBMISSION = "dmp-iti65"
MHD_SUBMISSION = "mhd-iti65"
PDSM_REPLACEMENT = "pdsm-replacement"
PDSM_SEARCHSET = "pdsm-searchset"
SEARCHSET = "searchset"
CDL_TRANSACTION = "cdl-transaction"
CDL_SEARCHSET = "cdl-searchset"
CDS_TRANSACTION = "cds-transaction"
ANS_GUIDE = "ans-guide"
EPRESCRIPTION_BUNDLE = "eprescription-bundle"
TRANSACTION = "transaction"
BUNDLE = "bundle"

#: Every key ``recognise`` can return, with its label (docs/rules.md lists them).
KEYS: dict[str, str] = {
    DMP_SUBMISSION: "DMP document submission (PDSm ITI-65 transaction)",
    MHD_SUBMISSION: "IHE MHD ITI-65 provide bundle, judged as MHD only (segur validate --as mhd: not a DMP payload)",
    "mhd-document-reference": "IHE MHD DocumentReference (--as mhd: not a DMP payload)",
    "mhd-submission-set": "IHE MHD SubmissionSet List (--as mhd: not a DMP payload)",
    PDSM_REPLACEMENT: "PDSm document replacement (ITI-65 with relatesTo replaces)",
    PDSM_SEARCHSET: "PDSm search result (ITI-67 searchset of DocumentReferences)",
    SEARCHSET: "FHIR searchset Bundle",
    CDL_TRANSACTION: "Cahier de liaison note transaction",
    CDL_SEARCHSET: "Cahier de liaison search result",
    EPRESCRIPTION_BUNDLE: "ePrescription Bundle",
    CDS_TRANSACTION: "Cercle de soins transaction (care team, patient, related persons)",
    ANS_GUIDE: "resource of another ANS guide (its profile declared; generic FHIR and national identifier checks)",
    TRANSACTION: "FHIR transaction Bundle (no national profile)",
    BUNDLE: "FHIR Bundle (no national profile)",
    "pdsm-document-reference": "PDSm comprehensive DocumentReference",
    "pdsm-simplified-publish": "PDSm simplified publish DocumentReference (ITI-105)",
    "cdl-document-reference": "Cahier de liaison note (DocumentReference)",
    "pdsm-submission-set": "PDSm SubmissionSet List",
    "fr-core-patient-ins": "FR Core INS Patient",
    "annuaire-practitioner": "Annuaire Santé Practitioner (idNat_PS)",
    "annuaire-practitionerrole": "Annuaire Santé PractitionerRole",
    "annuaire-organization": "Annuaire Santé Organization (idNat_Struct)",
    "resource": "FHIR resource (no national profile)",
}


def _entry_resources(bundle: dict) -> list[dict]:
    return [as_dict(as_dict(e).get("resource")) for e in as_list(bundle.get("entry"))]


def _is_replacement(bundle: dict, resources: list[dict]) -> bool:
    for r in resources:
        if r.get("resourceType") == "DocumentReference" and any(
            as_dict(rel).get("code") == "replaces" for rel in as_list(r.get("relatesTo"))
        ):
            return True
    return any(
        as_dict(as_dict(e).get("request")).get("method") in ("PATCH", "PUT")
        for e in as_list(bundle.get("entry"))
    )


def _bundle(bundle: dict, declared: list[str]) -> Recognised:
    btype = bundle.get("type")
    resources = _entry_resources(bundle)
    for url in declared:
        if url.startswith(CDL):
            key = CDL_SEARCHSET if btype == "searchset" or "recherche" in url else CDL_TRANSACTION
            return Recognised(key, KEYS[key], True, url)
        if url.startswith(EPRESCRIPTION):
            return Recognised(EPRESCRIPTION_BUNDLE, KEYS[EPRESCRIPTION_BUNDLE], True, url)
        if url == PDSM_SEARCH_RESPONSE:
            return Recognised(PDSM_SEARCHSET, KEYS[PDSM_SEARCHSET], True, url)
        if url.startswith(CDS) and btype == "transaction":
            return Recognised(CDS_TRANSACTION, KEYS[CDS_TRANSACTION], True, url)
    declared_iti65 = PROFILE_PROVIDE_BUNDLE in declared
    mhd = next((u for u in declared if u.startswith(MHD_SD) and u.endswith("ProvideBundle")), None)
    if mhd and not declared_iti65:  # IHE MHD's own provide bundle: judged by MHD, not as a DMP payload
        return Recognised(MHD_SUBMISSION, "IHE MHD ITI-65 provide bundle (declared: judged as MHD only, "
                                          "not a DMP payload; the simulated DMP judges it as one)", True, mhd)
    # a batch holding a SubmissionSet is an ITI-65 sent with the wrong type (BDL-001 refuses it)
    if declared_iti65 or (btype in ("transaction", "batch") and any(is_submission_set(r) for r in resources)):
        key = PDSM_REPLACEMENT if _is_replacement(bundle, resources) else DMP_SUBMISSION
        return Recognised(key, KEYS[key], True, PROFILE_PROVIDE_BUNDLE if declared_iti65 else None)
    other_guide = _other_guide(declared)
    if other_guide:
        return Recognised(ANS_GUIDE, KEYS[ANS_GUIDE], True, other_guide)
    if btype == "searchset":
        # a PDSm search result returns DocumentReferences (ITI-67) or Lists (ITI-66); a
        # searchset of Slots, Practitioners… from another guide is not the DMP's
        national = [
            p for r in resources if r.get("resourceType") in ("DocumentReference", "List")
            for p in profiles(r) if p.startswith(ANS_IG) or p.startswith(FR_CORE)
        ]
        if national:
            return Recognised(PDSM_SEARCHSET, KEYS[PDSM_SEARCHSET], True, None)
        other_guide = next((u for r in resources if (u := _other_guide(profiles(r)))), None)
        if other_guide:
            return Recognised(ANS_GUIDE, KEYS[ANS_GUIDE], True, None)
        return Recognised(SEARCHSET, KEYS[SEARCHSET], False)
    if btype == "transaction":
        return Recognised(TRANSACTION, KEYS[TRANSACTION], False)
    return Recognised(BUNDLE, KEYS[BUNDLE], False)


#: Canonical bases of ANS guides (the SAS guide's older profiles use its own base).
OTHER_GUIDE_BASES = (ANS_IG, "http://sas.fr/fhir/StructureDefinition/")


def _other_guide(declared: list[str]) -> str | None:
    """The first declared profile of an ANS guide the rules have no specific set for."""
    return next((u for u in declared if u.startswith(OTHER_GUIDE_BASES)), None)


def _has_id_nat(resource: dict) -> bool:
    return any(as_dict(i).get("system") in ID_NAT_SYSTEMS for i in as_list(resource.get("identifier")))


def _resource(resource: dict, rtype: str, declared: list[str]) -> Recognised:
    def found(key: str, canonical: str | None) -> Recognised:
        return Recognised(key, KEYS[key], True, canonical)

    if rtype == "DocumentReference":
        for url, key in (
            (PROFILE_SIMPLIFIED_PUBLISH, "pdsm-simplified-publish"),
            (PROFILE_DOCUMENT_REFERENCE, "pdsm-document-reference"),
            (CDL + "cdl-document-reference", "cdl-document-reference"),
        ):
            if url in declared:
                return found(key, url)
    elif rtype == "List" and is_submission_set(resource):
        return found("pdsm-submission-set", PROFILE_SUBMISSION_SET if PROFILE_SUBMISSION_SET in declared else None)
    elif rtype == "Patient":
        from agents.fhir.rules.ins import patient_ins_values  # rules import this module

        if PROFILE_PATIENT_INS in declared:
            return found("fr-core-patient-ins", PROFILE_PATIENT_INS)
        if patient_ins_values(resource):
            return found("fr-core-patient-ins", None)
    elif rtype in ("Practitioner", "PractitionerRole", "Organization"):
        key = "annuaire-" + rtype.lower()
        annuaire = next((u for u in declared if u.startswith(ANNUAIRE)), None)
        if annuaire or _has_id_nat(resource):
            return found(key, annuaire)
    other_guide = _other_guide(declared)
    if other_guide:
        return found(ANS_GUIDE, other_guide)
    return Recognised("resource", KEYS["resource"], False)


MHD_SD = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"
#: ``segur validate --as NAME``: the profile each resource type is judged as, whatever it declares
AS_PROFILES: dict[str, dict[str, str]] = {
    "iti65": {"Bundle": PROFILE_PROVIDE_BUNDLE},
    "pdsm": {
        "Bundle": PROFILE_PROVIDE_BUNDLE,
        "DocumentReference": PROFILE_DOCUMENT_REFERENCE,
        "List": PROFILE_SUBMISSION_SET,
    },
    "mhd": {
        "Bundle": MHD_SD + "IHE.MHD.Comprehensive.ProvideBundle",
        "DocumentReference": MHD_SD + "IHE.MHD.Comprehensive.DocumentReference",
        "List": MHD_SD + "IHE.MHD.Comprehensive.SubmissionSet",
    },
}


def judged_as(resource: Any, name: str) -> Recognised:
    """The profile ``resource`` is judged as under ``--as name`` (iti65, pdsm, mhd), even when
    it declares none; ValueError when that profile has nothing for its resource type."""
    res = as_dict(resource)
    rtype = res.get("resourceType")
    table = AS_PROFILES[name]
    url = table.get(rtype) if isinstance(rtype, str) else None
    if url is None:
        kinds = ", ".join(sorted(table))
        raise ValueError(f"--as {name} judges {kinds}, not {rtype}")
    if name == "mhd":  # IHE MHD alone: its profiles and the ITI-65 shape, not the DMP's rules
        key = {"Bundle": MHD_SUBMISSION, "DocumentReference": "mhd-document-reference"}.get(rtype, "mhd-submission-set")
    elif rtype == "Bundle":
        key = PDSM_REPLACEMENT if _is_replacement(res, _entry_resources(res)) else DMP_SUBMISSION
    elif rtype == "DocumentReference":
        key = "pdsm-document-reference"
    else:
        key = "pdsm-submission-set"
    return Recognised(key, f"{KEYS[key]}, judged as {url.rsplit('/', 1)[-1]} (--as {name})", True, url, True)


def recognise(resource: Any, as_profile: str | None = None) -> Recognised:
    """The profile ``resource`` (a FHIR JSON object) says it follows; see ``KEYS``. With
    ``as_profile`` (iti65, pdsm, mhd), the profile it is judged as instead (``judged_as``)."""
    if as_profile is not None:
        return judged_as(resource, as_profile)
    res = as_dict(resource)
    rtype = res.get("resourceType")
    declared = profiles(res)
    if rtype == "Bundle":
        return _bundle(res, declared)
    return _resource(res, rtype if isinstance(rtype, str) else "", declared)


__all__ = ["AS_PROFILES", "KEYS", "Recognised", "judged_as", "recognise"]
