"""The rules taken from the national guides, each on a real example and a one-defect variant made
here: attachment size / hash / MIME, masterIdentifier, custodian, sourcePatientInfo, national
value sets, future dates, NIA vs OID, request URLs, profile recognition, and what the guides allow
(PractitionerRole authors, server references, searchsets, non-ITI-65 transactions, class 52)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from agents.fhir import ACCEPTED, dmp_verdict, render_bundle, synthetic_document, validate_resource
from agents.fhir.profiles import recognise
from agents.identity import make_nir
from tests.support_fhir import ITI65, REPLACEMENT, load_example

SEARCHSET = "Bundle-example-annexe-searchset-documentreferences.json"
DOCREF = "DocumentReference-doc-x-id.json"
R02 = "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
A01 = "https://mos.esante.gouv.fr/NOS/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice"
NIR = make_nir("female", 1979, 3, "75056", 17)


def valid(name: str, ins: str = NIR) -> dict:
    """An official example with its placeholder INS (PDSm or CdL) replaced by a valid one."""
    text = json.dumps(load_example(name))
    return json.loads(text.replace("123456789012345", ins).replace("123456789012244", ins))


def errors(resource: dict, **kw: object) -> set[str]:
    return {f.rule_id for f in validate_resource(resource, **kw) if f.severity == "error"}


def ids(resource: dict, severity: str | None = None) -> set[str]:
    return {f.rule_id for f in validate_resource(resource) if severity in (None, f.severity)}


def docref(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")


def binary(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Binary")


def attachment(bundle: dict) -> dict:
    return docref(bundle)["content"][0]["attachment"]


def test_examples_with_a_valid_ins_have_no_error() -> None:
    for name in (ITI65, REPLACEMENT, SEARCHSET, DOCREF):
        assert errors(valid(name)) == set(), name


# --- attachment -----------------------------------------------------------------------------------


def test_attachment_size_must_match_the_binary() -> None:
    bundle = valid(ITI65)
    attachment(bundle)["size"] = 81
    assert errors(bundle) == {"ATT-001"}
    binary(bundle)["data"] = "not base64 at all!"
    assert "ATT-001" in errors(bundle)


def test_attachment_hash_must_be_the_sha1_of_the_content() -> None:
    bundle = valid(ITI65)
    b = binary(bundle)
    b["data"] = base64.b64encode(base64.b64decode(b["data"]).replace(b"v3", b"v4")).decode()
    assert errors(bundle) == {"ATT-002"}  # same size, other bytes
    attachment(bundle)["hash"] = "***"
    assert "ATT-002" in errors(bundle)


def test_mime_type_must_match_the_content() -> None:
    bundle = valid(ITI65)
    attachment(bundle)["contentType"] = "application/pdf"
    assert errors(bundle) == {"ATT-003"}  # the Binary says application/xml and holds XML
    binary(bundle)["contentType"] = "application/pdf"
    found = [f for f in validate_resource(bundle) if f.rule_id == "ATT-003"]
    assert len(found) == 1 and "looks like xml" in found[0].message


def test_inline_data_of_a_simplified_publish_is_checked() -> None:
    doc = valid("DocumentReference-example-td2-iti105-publication-simplifiee.json")
    att = doc["content"][0]["attachment"]
    raw = base64.b64decode(att["data"])
    att["size"] = len(raw)
    assert errors(doc) == set()
    att["size"] = len(raw) + 1
    assert errors(doc) == {"ATT-001"}


# --- masterIdentifier, custodian, sourcePatientInfo ---------------------------------------------


def test_master_identifier_form() -> None:
    bundle = valid(ITI65)
    docref(bundle)["masterIdentifier"]["value"] = "document-42"
    assert errors(bundle) == {"DOC-014"}
    docref(bundle)["masterIdentifier"] = {"system": "http://example.org", "value": "urn:oid:1.2.3"}
    assert errors(bundle) == {"DOC-014"}
    docref(bundle)["masterIdentifier"] = {"value": "urn:uuid:0a0b0c0d-0000-4000-8000-000000000001"}
    assert errors(bundle) == set()


def test_master_identifiers_are_unique_in_a_submission() -> None:
    bundle = valid(ITI65)
    entry = json.loads(json.dumps(bundle["entry"][1]))
    entry["fullUrl"] = "urn:uuid:aaaaaaaa-0000-0000-0000-00000000000f"
    bundle["entry"].append(entry)
    bundle["entry"][0]["resource"]["entry"].append({"item": {"reference": entry["fullUrl"]}})
    assert errors(bundle) == {"DOC-015"}


def test_custodian() -> None:
    bundle = valid(ITI65)
    doc = docref(bundle)
    assert "PRF-002" in ids(bundle, "warning")  # PDSm makes it 1..; its own examples omit it
    doc["contained"].append({
        "resourceType": "Organization", "id": "org",
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1750000018"}],
    })
    doc["custodian"] = {"reference": "#org"}
    assert errors(bundle) == set()
    doc["custodian"] = {"reference": "#practitioner-author"}
    assert errors(bundle) == {"DOC-016"}
    doc["custodian"] = {"identifier": {"system": "urn:oid:1.2.3", "value": "x"}}
    assert errors(bundle) == {"DOC-016"}
    doc["custodian"] = {"reference": "Organization/on-the-server"}
    assert errors(bundle) == set()


def test_source_patient_info_is_the_subject() -> None:
    bundle = valid(ITI65)
    doc = docref(bundle)
    doc["contained"][0]["identifier"][0]["value"] = make_nir("male", 1950, 1, "13055", 3)
    assert errors(bundle) == {"DOC-017"}
    bundle = valid(ITI65)
    docref(bundle)["context"]["sourcePatientInfo"] = {"reference": "#practitioner-author"}
    assert errors(bundle) == {"DOC-017"}


# --- national value sets ---------------------------------------------------------------------------


def test_facility_and_practice_setting_in_the_national_value_sets() -> None:
    bundle = valid(ITI65)
    context = docref(bundle)["context"]
    assert "DOC-019" in ids(bundle, "warning")  # SNOMED CT only, as in the guide's examples
    context["facilityType"]["coding"].append({"system": R02, "code": "SA01"})
    context["practiceSetting"]["coding"].append({"system": A01, "code": "ETABLISSEMENT"})
    assert "DOC-019" not in ids(bundle) and errors(bundle) == set()
    context["facilityType"]["coding"][1]["code"] = "SA11"  # not in JDV_J02
    assert errors(bundle) == {"DOC-018"}
    context["facilityType"]["coding"][1]["code"] = "SA01"
    context["practiceSetting"]["coding"][1]["code"] = "CLINIQUE"
    assert errors(bundle) == {"DOC-018"}


def test_certificate_class_code_is_in_j57() -> None:
    bundle = valid(ITI65)
    docref(bundle)["category"][0]["coding"][0]["code"] = "52"
    assert errors(bundle) == set()
    docref(bundle)["category"][0]["coding"][0]["code"] = "53"
    assert errors(bundle) == {"DOC-005"}


# --- dates -------------------------------------------------------------------------------------------


def test_creation_not_after_the_submission() -> None:
    bundle = valid(ITI65)
    bundle["entry"][0]["resource"]["date"] = "2026-06-11T10:00:00+02:00"  # the day before
    assert errors(bundle) == {"DOC-020"}


def test_standalone_creation_not_in_the_future() -> None:
    doc = valid(DOCREF)
    doc["content"][0]["attachment"]["creation"] = "2999-01-01T00:00:00Z"
    assert errors(doc) == {"DOC-020"}
    early = datetime(2026, 6, 1, tzinfo=UTC)  # the validator's clock can be given (simulated time)
    doc = valid(DOCREF)
    assert errors(doc, now=early) == {"DOC-020"}
    assert errors(doc, now=datetime(2026, 7, 1, tzinfo=UTC)) == set()


# --- identity ------------------------------------------------------------------------------------------


def test_nia_declared_under_the_production_nir_oid() -> None:
    nia = make_nir("female", 1979, 3, "99134", 17, provisional=True)
    assert nia[0] == "8"
    bundle = valid(ITI65, ins=nia)
    assert errors(bundle) == {"INS-009"}
    fixed = json.loads(json.dumps(bundle).replace("1.2.250.1.213.1.4.8|", "1.2.250.1.213.1.4.9|").replace(
        '"urn:oid:1.2.250.1.213.1.4.8"', '"urn:oid:1.2.250.1.213.1.4.9"'))
    assert errors(fixed) == set()
    nir_as_nia = json.loads(json.dumps(valid(ITI65)).replace("1.2.250.1.213.1.4.8|", "1.2.250.1.213.1.4.9|"))
    assert "INS-009" in errors(nir_as_nia)


# --- transactions -------------------------------------------------------------------------------------


def test_request_urls() -> None:
    bundle = valid(ITI65)
    bundle["entry"][0]["request"]["url"] = "DocumentReference"
    assert errors(bundle) == {"BDL-009"}
    bundle = valid(ITI65)
    bundle["entry"][2]["request"] = {"method": "FETCH", "url": "Binary"}
    assert errors(bundle) == {"BDL-009"}
    bundle = valid(REPLACEMENT)
    patch = next(e for e in bundle["entry"] if e["request"]["method"] == "PATCH")
    patch["request"]["url"] = "https://dmp.example/DocumentReference/doc-x-id"
    assert "BDL-009" in errors(bundle)


def test_relative_reference_to_the_server_is_information() -> None:
    bundle = valid(REPLACEMENT)  # relatesTo DocumentReference/doc-x-id: on the server
    found = validate_resource(bundle)
    assert dmp_verdict(found) == ACCEPTED
    bundle = valid(ITI65)
    docref(bundle)["subject"] = {"reference": "Patient/on-the-server"}
    found = validate_resource(bundle)
    assert "REF-001" not in {f.rule_id for f in found}
    assert any(f.rule_id == "REF-003" and f.severity == "information" for f in found)


def test_searchset_may_leave_references_unresolved() -> None:
    bundle = valid(SEARCHSET)
    docref(bundle)["context"]["related"] = [{"reference": "Encounter/elsewhere"}]
    docref(bundle)["relatesTo"] = [{"code": "appends", "target": {"reference": "urn:uuid:0a0b0c0d-0000-4000-8000-000000000001"}}]
    assert errors(bundle) == set()


def test_transaction_with_a_document_reference_is_not_necessarily_an_iti65() -> None:
    bundle = valid(ITI65)
    del bundle["meta"]
    bundle["entry"] = bundle["entry"][1:]  # no SubmissionSet: not a DMP submission
    bundle["entry"][0]["resource"]["meta"] = {"profile": [
        "https://interop.esante.gouv.fr/ig/fhir/cdl/StructureDefinition/cdl-document-reference"
    ]}
    assert recognise(bundle).key == "transaction"
    assert not {"BDL-002", "BDL-005", "BDL-006"} & errors(bundle)


def test_cahier_de_liaison_fixed_values() -> None:
    note = docref(valid(ITI65))
    bundle = {
        "resourceType": "Bundle", "type": "transaction",
        "meta": {"profile": ["https://interop.esante.gouv.fr/ig/fhir/cdl/StructureDefinition/cdl-bundle-creation-note"]},
        "entry": [{"fullUrl": "urn:uuid:0a0b0c0d-0000-4000-8000-000000000001", "resource": note,
                   "request": {"method": "POST", "url": "DocumentReference"}}],
    }
    assert recognise(bundle).key == "cdl-transaction"
    assert not {"CDL-001", "CDL-002"} & errors(bundle)
    bundle["type"] = "batch"
    assert "CDL-001" in errors(bundle)
    bundle["type"] = "transaction"
    bundle["entry"][0]["request"] = {"method": "PUT", "url": f"DocumentReference/{note['id']}"}
    assert "CDL-002" in errors(bundle)


def test_eprescription_bundle_is_recognised() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "meta": {"profile": [
        "https://interop.esante.gouv.fr/ig/fhir/eprescription/StructureDefinition/fr-bundle-prescription"
    ]}, "entry": []}
    assert recognise(bundle).key == "eprescription-bundle"
    assert "PRF-001" not in ids(bundle)


# --- authors and more kinds of resource ----------------------------------------------------------


def test_author_practitioner_role_with_id_nat_ps() -> None:
    bundle = valid(SEARCHSET)
    assert errors(bundle) == set()
    role = docref(bundle)["contained"][1]
    assert role["resourceType"] == "PractitionerRole"
    role["identifier"] = [{"system": "urn:oid:1.2.3", "value": "x"}]
    assert "DOC-009" in errors(bundle)


@pytest.mark.parametrize(
    ("index", "key"),
    [(1, "annuaire-practitioner")],
)
def test_practitioner_and_organization_are_judged(index: int, key: str) -> None:
    practitioner = docref(valid(ITI65))["contained"][index]
    assert recognise(practitioner).key == key and errors(practitioner) == set()
    practitioner["identifier"][0]["value"] = "81234"
    assert errors(practitioner) == {"PS-001"}
    role = {"resourceType": "PractitionerRole", "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "899700218896"}]}
    assert recognise(role).key == "annuaire-practitionerrole" and errors(role) == set()
    org = {"resourceType": "Organization", "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1750"}]}
    assert recognise(org).key == "annuaire-organization" and errors(org) == {"ORG-001"}


def test_submission_set_list_and_unknown_shapes() -> None:
    lst = valid(ITI65)["entry"][0]["resource"]
    assert recognise(lst).key == "pdsm-submission-set" and errors(lst) == set()
    other = {"resourceType": "Observation", "status": "final", "code": {"text": "poids"}}
    assert ids(other) == {"PRF-001"}
    assert errors(other, structural=True) == set()


def test_rendered_bundles_stay_accepted_under_every_new_rule() -> None:
    for seed in range(5):
        findings = validate_resource(render_bundle(synthetic_document(seed)), structural=True)
        assert dmp_verdict(findings) == ACCEPTED, [f for f in findings if f.severity == "error"]
        assert not {"DOC-019", "PRF-002"} & {f.rule_id for f in findings}


# --- the DMP's rules stay with the DMP ----------------------------------------------------------

CDL = "Bundle-cdl-bundle-creation-note.json"


def test_cahier_de_liaison_note_is_not_judged_as_a_dmp_document() -> None:
    bundle = valid(CDL, ins=make_nir("male", 1975, 3, "60500", 44))
    found = {f.rule_id: f.severity for f in validate_resource(bundle)}
    assert not {"DOC-002", "DOC-004", "DOC-007", "DOC-009", "DOC-010", "INS-002"} & set(found)
    assert found.get("IDV-007") == "warning" and "IDV-001" not in found  # VALI: not the DMP's
    assert found.get("BDL-010") == "warning"  # POST Type/id, as the published example writes it
    assert errors(bundle) == set()
    # the same note declared as a PDSm document gets the DMP's metadata rules
    note = bundle["entry"][0]["resource"]
    note["meta"]["profile"] = ["https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-document-reference"]
    assert {"DOC-002", "DOC-010"} <= errors(bundle)


def test_identity_not_qualified_stays_a_dmp_rejection() -> None:
    bundle = valid(ITI65)
    patient = docref(bundle)["contained"][0]
    patient["extension"] = [{
        "url": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability",
        "extension": [{"url": "identityStatus", "valueCoding": {"code": "VALI"}}],
    }]
    assert "IDV-001" in errors(bundle)


def test_text_attachment_in_a_legacy_charset_is_text() -> None:
    bundle = valid(CDL, ins=make_nir("male", 1975, 3, "60500", 44))
    att = bundle["entry"][0]["resource"]["content"][0]["attachment"]
    assert "é".encode("latin-1") in base64.b64decode(att["data"])  # 8-bit text, not UTF-8
    assert "ATT-003" not in errors(bundle)
    att["data"] = base64.b64encode(b"%PDF-1.7\n...").decode()
    assert "ATT-003" in errors(bundle)


def test_type_codes_of_j66_beyond_the_catalogue() -> None:
    bundle = valid(ITI65)
    coding = docref(bundle)["type"]["coding"][0]
    coding["code"] = "11369-6"  # Historique des vaccinations: in JDV_J66, not in the catalogue
    assert errors(bundle) == set()
    coding.update(system="https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire", code="CERT_DECL")
    assert errors(bundle) == set()  # a certificate typed with the complementary terminology
    coding["code"] = "CERT_INCONNU"
    assert errors(bundle) == {"DOC-002"}
    coding.update(system="http://snomed.info/sct", code="371530004")
    assert errors(bundle) == {"DOC-002"}


def test_a_live_service_judges_an_iti65_against_its_own_clock() -> None:
    bundle = valid(ITI65)  # created and submitted 2026-06-12
    assert errors(bundle, now=datetime(2026, 7, 1, tzinfo=UTC)) == set()
    assert errors(bundle, now=datetime(2026, 6, 1, tzinfo=UTC)) == {"DOC-020"}
    bundle["entry"][0]["resource"]["date"] = "2099-01-01T00:00:00Z"
    docref(bundle)["content"][0]["attachment"]["creation"] = "2098-01-01T00:00:00Z"
    assert errors(bundle) == set()  # simulated time: the submission's own date is the reference
    assert errors(bundle, now=datetime(2026, 7, 1, tzinfo=UTC)) == {"DOC-020"}


# --- examples of the other guides: recognition and one-defect variants ----------------------------


def test_annuaire_identifiers_broken_variants() -> None:
    practitioner = load_example("Practitioner-334081.json")
    assert recognise(practitioner).key == "annuaire-practitioner" and errors(practitioner) == set()
    id_nat = next(i for i in practitioner["identifier"] if i["system"] == "urn:oid:1.2.250.1.71.4.2.1")
    id_nat["value"] = "81234"  # 8 + a truncated RPPS
    assert errors(practitioner) == {"PS-001"}
    org = load_example("Organization-158480.json")
    assert recognise(org).key == "annuaire-organization" and errors(org) == set()
    next(i for i in org["identifier"] if i["system"] == "urn:oid:1.2.250.1.71.4.2.2")["value"] = "1750"
    assert errors(org) == {"ORG-001"}


def test_structure_internal_id_nat_ps_is_reported_only_in_a_dmp_payload() -> None:
    """A SAS regulation assistant carries a structure-internal idNat_PS (3 + FINESS/…): fine in
    a directory entry, a warning (PS-002) when such a professional authors a DMP document."""
    regul = load_example("Practitioner-ExamplePractitionerRegul1.json")
    internal = next(i["value"] for i in regul["identifier"] if i["system"] == "urn:oid:1.2.250.1.71.4.2.1")
    assert internal.startswith("3") and "PS-002" not in ids(regul)
    bundle = valid(ITI65)
    author = docref(bundle)["contained"][1]
    assert author["resourceType"] == "Practitioner"
    author["identifier"][0]["value"] = internal
    assert "PS-002" in ids(bundle, "warning") and errors(bundle) == set()


def test_searchset_of_another_guide_is_not_a_pdsm_result() -> None:
    sas = load_example("Bundle-ExampleBundleCPTS1.json")
    assert recognise(sas).key == "ans-guide" and errors(sas) == set()
    del sas["meta"]  # entries still declare the SAS profiles: not the DMP's search result
    assert recognise(sas).key == "ans-guide"
    assert recognise(valid(SEARCHSET)).key == "pdsm-searchset"


def test_cercle_de_soins_transaction_is_not_a_dmp_payload() -> None:
    """Its Patient's VALI status is reported (IDV-007) but is not the DMP's error IDV-001; the
    same transaction without its profile is judged by the DMP's rules."""
    bundle = valid("Bundle-cds-bundle-transaction-creation-example.json")
    assert recognise(bundle).key == "cds-transaction"
    assert errors(bundle) == set() and "IDV-007" in ids(bundle, "warning")
    del bundle["meta"]
    assert recognise(bundle).key == "transaction" and "IDV-001" in errors(bundle)


def test_versioned_canonical_is_recognised() -> None:
    patient = valid("Patient-cds-patient-example.json")
    patient["meta"]["profile"] = [p + "|2.1.0" for p in patient["meta"]["profile"]]
    assert recognise(patient).key == "fr-core-patient-ins" and recognise(patient).canonical


def test_other_guides_resources_are_national_without_prf_001() -> None:
    for name in ("Observation-TLSVObservationExample01.json", "Slot-example.json", "Patient-patient-example-1.json"):
        resource = load_example(name)
        assert recognise(resource).national and "PRF-001" not in ids(resource)
    device = load_example("Device-phd-74E8FFFEFF051C00.json")  # an international (IHE PHD) profile
    assert not recognise(device).national and "PRF-001" in ids(device, "information")


def test_empty_translation_left_by_the_publisher_is_invalid_fhir() -> None:
    """Why the refresh removes them: FHIR forbids an empty string (STR-001)."""
    org = load_example("Organization-cds-organization-example.json")
    assert errors(org, structural=True) == set()
    org["_name"] = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": [
        {"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": ""}]}]}
    assert errors(org, structural=True) == {"STR-001"}
