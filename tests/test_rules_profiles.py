"""Profiles read from their StructureDefinitions (PRF-003..PRF-007), and the validator rules of
issue 27: batch ITI-65, INS type tied to its OID, Binary without data, R4 open types, identity.

Each test starts from an official example (PDSm ITI-65, ePrescription, essais cliniques,
traçabilité des événements, DMI) that the rules accept, breaks one thing, and asserts the
verdict; the guide-valid example itself must get no error.
"""

from __future__ import annotations

import json

import pytest

from agents.fhir import dmp_verdict, validate_resource
from agents.fhir.guides import example_path
from agents.fhir.structure import checks_for, compiled, core_checks, entry_profiles, known
from agents.identity import make_nir
from tests.support_fhir import ITI65, load_example

NIR = make_nir("female", 1979, 3, "75056", 17)
MHD = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"
SOURCE_ID = MHD.replace("StructureDefinition/", "StructureDefinition/ihe-sourceId")


def iti65() -> dict:
    """The PDSm ITI-65 example with its placeholder INS replaced by a valid one."""
    return json.loads(json.dumps(load_example(ITI65)).replace("123456789012345", NIR))


def example(name: str) -> dict:
    return json.loads(example_path(name).read_text(encoding="utf-8"))


def errors(resource: dict, structural: bool = False) -> set[str]:
    return {f.rule_id for f in validate_resource(resource, structural=structural) if f.severity == "error"}


def findings(resource: dict, rule_id: str) -> list:
    return [f for f in validate_resource(resource, structural=True) if f.rule_id == rule_id]


def entry(bundle: dict, rtype: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype)


# --- the compiled profiles ----------------------------------------------------------------------


def test_mhd_profiles_are_read_from_the_guide_with_their_parents() -> None:
    assert {MHD + p for p in ("IHE.MHD.Minimal.SubmissionSet", "IHE.MHD.Comprehensive.DocumentReference",
                              "IHE.MHD.Comprehensive.ProvideBundle")} <= set(compiled())
    paths = {(c.kind, c.path, c.low) for c in checks_for(MHD + "IHE.MHD.Comprehensive.DocumentReference")}
    # the comprehensive profile inherits the minimal one's masterIdentifier 1..1 and adds its own
    assert ("cardinality", "masterIdentifier", 1) in paths and ("cardinality", "context.practiceSetting", 1) in paths
    assert entry_profiles(MHD + "IHE.MHD.Comprehensive.ProvideBundle").items() >= {
        "List": MHD + "IHE.MHD.Comprehensive.SubmissionSet",
        "DocumentReference": MHD + "IHE.MHD.Comprehensive.DocumentReference",
    }.items()
    # a PDSm profile reaches its MHD parent's checks
    pdsm_docref = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-document-reference"
    assert known(pdsm_docref) and any(c.path == "content.format" for c in checks_for(pdsm_docref))


def test_core_required_bindings_are_fhir_r4s() -> None:
    status = next(c for c in core_checks("ResearchStudy") if c.path == "status")
    assert status.codes is not None and "active" in status.codes and "ongoing" not in status.codes
    assert {c.path for c in core_checks("AuditEvent")} >= {"action", "outcome"}
    assert {c.path for c in core_checks("List")} >= {"mode", "status"}


def test_the_official_iti65_meets_the_mhd_profiles() -> None:
    assert errors(iti65(), structural=True) == set()


@pytest.mark.parametrize(
    ("where", "breaks", "rule_id"),
    [
        ("DocumentReference", lambda r: r["context"].pop("practiceSetting"), "PRF-003"),
        ("DocumentReference", lambda r: [c.pop("format") for c in r["content"]], "PRF-003"),
        ("List", lambda r: r.update(extension=[e for e in r["extension"] if e["url"] != SOURCE_ID]), "PRF-003"),
        ("List", lambda r: r.pop("date"), "PRF-003"),
        ("List", lambda r: r.update(mode="snapshot"), "PRF-004"),
        ("List", lambda r: r.update(code={"coding": [{"system": MHD.replace("StructureDefinition/", "CodeSystem/MHDlistTypes"),
                                                      "code": "folder"}]}), "PRF-004"),
        ("DocumentReference", lambda r: r.update(status="entered-in-error"), "PRF-005"),
        ("List", lambda r: r.update(mode="draft"), "PRF-006"),
    ],
    ids=["no-practiceSetting", "no-format", "no-sourceId", "no-date", "mode-snapshot", "folder-code",
         "status-outside-mhd", "mode-not-r4"],
)
def test_one_defect_of_the_mhd_profiles_is_an_error(where, breaks, rule_id) -> None:
    bundle = iti65()
    breaks(entry(bundle, where))
    found = findings(bundle, rule_id)
    assert found and all(f.severity == "error" and f.reason == "invalid_metadata" for f in found)
    assert dmp_verdict(validate_resource(bundle)) == "invalid_metadata"


def test_a_recognised_submission_set_gets_the_mhd_checks_without_declaring_them() -> None:
    bundle = iti65()
    for e in bundle["entry"]:
        e["resource"].pop("meta", None)
    bundle.pop("meta", None)
    assert errors(bundle) == set()
    entry(bundle, "List").pop("date")
    assert "PRF-003" in errors(bundle)


# --- other guides' profiles and the core bindings ------------------------------------------------


def test_eprescription_profile_cardinality() -> None:
    bundle = example("Bundle-HAS-01-Presc-Pantoprazole-MV.json")
    assert errors(bundle, structural=True) == set()
    request = entry(bundle, "MedicationRequest")
    request.pop("authoredOn")
    found = findings(bundle, "PRF-003")
    assert found and "authoredOn" in found[0].path and "fr-" in found[0].message


def test_research_study_and_audit_event_required_bindings() -> None:
    study = example("ResearchStudy-fake-study-example.json")
    assert errors(study, structural=True) == set()
    study["status"] = "ongoing"
    assert errors(study) == {"PRF-006"}
    audit = example("AuditEvent-TDEAuditEventExample.json")
    assert errors(audit, structural=True) == set()
    audit["action"] = "X"
    assert errors(audit) == {"PRF-006"}


def test_an_unknown_profile_gets_the_core_checks_and_an_information() -> None:
    study = example("ResearchStudy-fake-study-example.json")
    study["meta"] = {"profile": ["https://example.org/fhir/StructureDefinition/my-study"]}
    info = findings(study, "PRF-007")
    assert info and info[0].severity == "information" and "my-study" in info[0].message
    study["status"] = "ongoing"
    assert "PRF-006" in errors(study)


# --- issue 27's validator rules ------------------------------------------------------------------


def test_a_batch_holding_a_submission_set_is_refused() -> None:
    bundle = iti65()
    bundle["type"] = "batch"
    bundle.pop("meta")  # not even declared: the SubmissionSet makes it an ITI-65
    assert "BDL-001" in errors(bundle)
    assert dmp_verdict(validate_resource(bundle)) == "invalid_metadata"


def test_ins_type_is_tied_to_its_oid() -> None:
    bundle = iti65()
    patient = next(c for r in (e["resource"] for e in bundle["entry"]) for c in [r, *r.get("contained", [])]
                   if c.get("resourceType") == "Patient" and c.get("identifier"))
    ins = next(i for i in patient["identifier"] if i.get("system", "").endswith("1.2.250.1.213.1.4.8"))
    ins["type"] = {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "INS-NIR"}]}
    assert "INS-010" not in errors(bundle)
    ins["type"]["coding"][0]["code"] = "INS-NIA"
    found = findings(bundle, "INS-010")
    assert found and found[0].reason == "bad_ins" and "INS-NIA" in found[0].message


def test_a_binary_without_data_is_refused() -> None:
    bundle = iti65()
    entry(bundle, "Binary").pop("data")
    found = findings(bundle, "ATT-004")
    assert found and found[0].severity == "error" and "no data" in found[0].message


def test_r4_value_meta_is_accepted_and_still_parsed() -> None:
    bundle = iti65()
    docref = entry(bundle, "DocumentReference")
    docref.setdefault("extension", []).append(
        {"url": "https://example.org/fhir/StructureDefinition/source-meta", "valueMeta": {"versionId": "2"}})
    assert errors(bundle, structural=True) == set()
    docref["extension"][-1]["valueMeta"] = {"versionId": 2}
    found = findings(bundle, "STR-001")
    assert found and found[0].path.endswith("valueMeta") and "Meta" in found[0].message


def _dmi_patient(status: str, with_ins: bool) -> dict:
    """The DMI guide's Patient (not a DMP payload) with an identity status, with or without INS."""
    patient = {"resourceType": "Patient", "id": "p1",
               "meta": {"profile": ["https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/tddui-patient"]},
               "extension": [{"url": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability",
                              "extension": [{"url": "identityStatus", "valueCoding": {
                                  "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status",
                                  "code": status}}]}],
               "name": [{"use": "official", "family": "Durand", "given": ["Anne"]}],
               "gender": "female", "birthDate": "1979-03-01"}
    if with_ins:
        patient["identifier"] = [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": NIR}]
    return patient


def test_identity_rules_follow_the_national_rules_outside_the_dmp() -> None:
    # a VALI identity without INS (a notification): nothing to say about identity
    quiet = validate_resource(_dmi_patient("VALI", with_ins=False))
    assert not {f.rule_id for f in quiet} & {"IDV-001", "IDV-003", "IDV-006", "IDV-007"}
    # an INS travels only with a qualified identity: PROV with an INS is refused
    found = findings(_dmi_patient("PROV", with_ins=True), "IDV-006")
    assert found and found[0].severity == "error" and found[0].reason == "identity_not_qualified"
    # VALI with an INS: the older tables' qualified code, reported
    assert {f.severity for f in findings(_dmi_patient("VALI", with_ins=True), "IDV-007")} == {"warning"}
    assert not findings(_dmi_patient("QUAL", with_ins=True), "IDV-006")


def test_an_ihe_canonical_written_http_is_the_same_profile() -> None:
    http = "http://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference"
    assert known(http) and checks_for(http) == checks_for(http.replace("http://", "https://"))
