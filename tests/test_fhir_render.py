"""FHIR rendering: ITI-65 bundle shape, FR Core INS Patient, R4B round trip, CDA, MSSanté."""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import date, datetime

import numpy as np
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.catalogue import CLASS_SYSTEM, by_code, j66_codes
from agents.fhir import (
    ACCEPTED,
    DEFECTS,
    DocumentSpec,
    build_message,
    dmp_verdict,
    get_defect,
    operation_outcome,
    render_bundle,
    render_cda,
    synthetic_document,
    to_model,
    validate_message,
    validate_resource,
)
from agents.fhir import constants as C
from agents.identity import (
    INS_NIR_TEST_OID,
    generate_finess,
    generate_rpps,
    id_nat_ps_from_rpps,
    id_nat_struct_from_finess,
    is_valid_nir,
    make_nir,
)
from tests.support_fhir import ITI65, load_example


@pytest.fixture(scope="module")
def doc() -> DocumentSpec:
    return synthetic_document(42)


@pytest.fixture(scope="module")
def bundle(doc: DocumentSpec) -> dict:
    return render_bundle(doc)


def _resources(bundle: dict) -> dict[str, dict]:
    return {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}


def test_valid_document_passes_every_rule(bundle: dict) -> None:
    findings = validate_resource(bundle, structural=True)
    assert not [f for f in findings if f.severity == "error"], findings
    assert dmp_verdict(findings) == ACCEPTED
    # generated identities use the TEST OID: the validator says so, as a warning
    assert {f.rule_id for f in findings if f.severity == "warning"} == {"INS-006"}


def test_round_trip_through_fhir_resources(bundle: dict) -> None:
    model = Bundle.model_validate(bundle)
    again = json.loads(model.model_dump_json(exclude_none=True))
    assert again == bundle
    assert dmp_verdict(validate_resource(again)) == ACCEPTED


def test_bundle_mirrors_the_official_iti65_example(bundle: dict) -> None:
    official = load_example(ITI65)
    assert bundle["type"] == official["type"] == "transaction"
    assert bundle["meta"]["profile"] == official["meta"]["profile"]

    def shape(b: dict) -> list[tuple[str, str, str]]:
        return [
            (e["resource"]["resourceType"], e["request"]["method"], e["request"]["url"])
            for e in b["entry"]
        ]

    assert shape(bundle) == shape(official)
    mine, theirs = _resources(bundle), _resources(official)
    for rtype in ("List", "DocumentReference"):
        assert mine[rtype]["meta"]["profile"] == theirs[rtype]["meta"]["profile"]
        assert set(theirs[rtype]) <= set(mine[rtype]) | {"authenticator"}
    assert {e["url"] for e in mine["List"]["extension"]} == {
        e["url"] for e in theirs["List"]["extension"]
    }
    assert mine["List"]["entry"][0]["item"]["reference"] == bundle["entry"][1]["fullUrl"]
    attachment = mine["DocumentReference"]["content"][0]["attachment"]
    assert attachment["url"] == bundle["entry"][2]["fullUrl"]


def test_document_reference_metadata(doc: DocumentSpec, bundle: dict) -> None:
    docref = _resources(bundle)["DocumentReference"]
    assert docref["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": doc.type_code,
        "display": by_code(doc.type_code).label_fr,
    }
    assert doc.type_code in j66_codes()
    category = docref["category"][0]["coding"][0]
    assert category["system"] == CLASS_SYSTEM and category["code"] == by_code(doc.type_code).class_code
    assert docref["securityLabel"][0]["coding"][0]["code"] == "N"
    assert docref["subject"]["reference"] == (
        f"Patient?identifier=urn:oid:{INS_NIR_TEST_OID}|{doc.ins}"
    )
    assert docref["masterIdentifier"]["value"].startswith("urn:uuid:")
    role = next(c for c in docref["contained"] if c["resourceType"] == "PractitionerRole")
    assert docref["author"] == [{"reference": f"#{role['id']}"}]
    practitioner = next(c for c in docref["contained"] if c["resourceType"] == "Practitioner")
    assert practitioner["identifier"][0] == {
        "system": "urn:oid:1.2.250.1.71.4.2.1",
        "value": doc.author_id_nat_ps,
    }
    organization = next(c for c in docref["contained"] if c["resourceType"] == "Organization")
    assert organization["identifier"][0]["system"] == "urn:oid:1.2.250.1.71.4.2.2"
    assert organization["identifier"][0]["value"] == doc.org_id_nat_struct


def test_patient_in_fr_core_ins_shape(doc: DocumentSpec, bundle: dict) -> None:
    patient = next(
        c for c in _resources(bundle)["DocumentReference"]["contained"] if c["resourceType"] == "Patient"
    )
    assert C.PROFILE_PATIENT_INS in patient["meta"]["profile"]
    identifier = patient["identifier"][0]
    assert identifier["system"] == f"urn:oid:{INS_NIR_TEST_OID}" and identifier["use"] == "official"
    assert identifier["type"]["coding"][0]["code"] == "INS-NIR-TEST"
    assert is_valid_nir(identifier["value"])
    extensions = {e["url"]: e for e in patient["extension"]}
    status = extensions[C.EXT_IDENTITY_RELIABILITY]["extension"][0]
    assert status["url"] == "identityStatus" and status["valueCoding"]["code"] == "QUAL"
    insee = extensions[C.EXT_BIRTH_PLACE]["valueAddress"]["extension"][0]
    assert insee["url"] == C.EXT_INSEE_CODE and insee["valueCoding"]["code"] == doc.birth_place
    name = patient["name"][0]
    assert name["use"] == "official" and name["family"] == doc.family
    assert name["given"] == [doc.given[0]]
    assert name["extension"][0] == {
        "url": C.EXT_BIRTH_LIST_GIVEN_NAME,
        "valueString": " ".join(doc.given),
    }
    assert patient["gender"] == doc.sex and patient["birthDate"] == doc.birth_date
    to_model(patient)


def test_binary_is_the_cda_the_attachment_describes(doc: DocumentSpec, bundle: dict) -> None:
    resources = _resources(bundle)
    data = base64.b64decode(resources["Binary"]["data"])
    attachment = resources["DocumentReference"]["content"][0]["attachment"]
    assert attachment["size"] == len(data)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    root = ET.fromstring(data)
    ns = {"h": "urn:hl7-org:v3"}
    assert root.find("h:code", ns).get("code") == doc.type_code
    assert root.find(".//h:patientRole/h:id", ns).get("extension") == doc.ins
    assert root.find(".//h:assignedAuthor/h:id", ns).get("extension") == doc.author_id_nat_ps
    assert data == render_cda(doc)


def test_rendering_is_reproducible_and_accepts_plain_mappings(doc: DocumentSpec) -> None:
    as_dict = {k: getattr(doc, k) for k in DocumentSpec.__dataclass_fields__ if k != "extra"}
    as_dict["engine_row"] = 17  # unknown keys are kept aside, not an error
    assert render_bundle(as_dict) == render_bundle(doc)
    other = render_bundle(doc, doc_id="another-document")
    assert other["entry"][0]["fullUrl"] != render_bundle(doc)["entry"][0]["fullUrl"]


def test_replacement_adds_relates_to_and_a_supersede_patch(doc: DocumentSpec) -> None:
    bundle = render_bundle(doc, replaces="old-version-1")
    docref = _resources(bundle)["DocumentReference"]
    assert docref["relatesTo"] == [
        {"code": "replaces", "target": {"reference": "DocumentReference/old-version-1"}}
    ]
    patch = next(e for e in bundle["entry"] if e["request"]["method"] == "PATCH")
    assert patch["request"]["url"] == "DocumentReference/old-version-1"
    assert patch["resource"]["resourceType"] == "Parameters"
    findings = validate_resource(bundle, structural=True)
    assert dmp_verdict(findings) == ACCEPTED, findings


def test_patient_without_ins_renders_without_subject(doc: DocumentSpec) -> None:
    bundle = render_bundle(doc, ins=None)
    resources = _resources(bundle)
    assert "subject" not in resources["DocumentReference"] and "subject" not in resources["List"]
    Bundle.model_validate(bundle)


def test_visibility_codes_render_with_tre_a07(doc: DocumentSpec) -> None:
    bundle = render_bundle(doc, confidentiality=("N", "MASQUE_PS", "INVISIBLE_PATIENT"))
    labels = _resources(bundle)["DocumentReference"]["securityLabel"]
    assert [label["coding"][0]["system"] for label in labels] == [
        C.CS_CONFIDENTIALITY,
        C.CS_VISIBILITY,
        C.CS_VISIBILITY,
    ]
    assert dmp_verdict(validate_resource(bundle)) == ACCEPTED


@pytest.mark.parametrize("name", list(DEFECTS))
def test_every_defective_bundle_still_serialises(doc: DocumentSpec, name: str) -> None:
    bundle = render_bundle(doc, defect=name)
    json.dumps(bundle)
    assert bundle != render_bundle(doc)


def test_unknown_defect_is_a_clear_error(doc: DocumentSpec) -> None:
    with pytest.raises(ValueError, match="unknown defect 'nope'.*missing_type_code"):
        render_bundle(doc, defect="nope")
    assert get_defect("bad_nir_key").reason == "bad_ins"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**6), index=st.integers(0, 50))
def test_any_synthetic_document_is_accepted(seed: int, index: int) -> None:
    bundle = render_bundle(synthetic_document(seed, index))
    findings = validate_resource(bundle)
    assert dmp_verdict(findings) == ACCEPTED, [f for f in findings if f.severity == "error"]


def test_structural_sample_parses(doc: DocumentSpec) -> None:
    for i in range(5):
        Bundle.model_validate(render_bundle(synthetic_document(7, i)))


def test_operation_outcome_is_valid_r4b(bundle: dict) -> None:
    findings = validate_resource(render_bundle(synthetic_document(1), defect="bad_nir_key"))
    outcome = operation_outcome(findings)
    model = OperationOutcome.model_validate(outcome)
    assert len(model.issue) == len(findings)
    codes = {issue["details"]["coding"][0]["code"] for issue in outcome["issue"]}
    assert "INS-004" in codes
    empty = OperationOutcome.model_validate(operation_outcome([]))
    assert empty.issue[0].severity == "information"


# --- MSSanté message ---------------------------------------------------------------------------


def test_mssante_message_carries_xdm_metadata(doc: DocumentSpec) -> None:
    patient_box = f"{doc.ins}@patient.mssante.fr"
    message = build_message(doc, "dr.test@medecin.mssante.fr", [patient_box], read_receipt=True)
    assert message.metadata.patient_id == doc.ins
    assert message.metadata.type_code == doc.type_code
    assert message.attachment_name == "IHE_XDM.ZIP"
    assert message.disposition_notification_to == "dr.test@medecin.mssante.fr"
    assert message.document == render_cda(doc)
    assert validate_message(message) == []
    json.dumps(message.to_dict())


def test_mssante_message_rules(doc: DocumentSpec) -> None:
    wrong = build_message(doc, f"{doc.ins}@patient.mssante.fr", ["x@gmail.com", "185077505601223@patient.mssante.fr"])
    ids = {f.rule_id for f in validate_message(wrong)}
    assert {"MSS-002", "MSS-003", "MSS-004"} <= ids
    no_ins = build_message(synthetic_document(3, ins=None), "a.b@medecin.mssante.fr", ["c@ch.mssante.fr"])
    assert dmp_verdict(validate_message(no_ins)) == "ins_missing"


def test_minimal_engine_row_is_completed_from_the_nir() -> None:
    rng = np.random.default_rng(0)
    ins = make_nir("female", 1985, 7, "2A004", 12)
    row = {
        "doc_id": "run-7/000042",
        "type_code": "11502-2",
        "ins": ins,
        "identity_status": "QUAL",
        "author_id_nat_ps": id_nat_ps_from_rpps(generate_rpps(rng, 1)[0]),
        "org_id_nat_struct": id_nat_struct_from_finess(generate_finess(rng, 1)[0]),
        "created": date(2024, 5, 2),
    }
    bundle = render_bundle(row)
    findings = validate_resource(bundle, structural=True)
    assert dmp_verdict(findings) == ACCEPTED, findings
    patient = bundle["entry"][1]["resource"]["contained"][0]
    assert patient["gender"] == "female" and patient["birthDate"].startswith("1985-07")
    assert patient["name"][0]["family"] and patient["name"][0]["given"]
    assert render_bundle(row) == bundle  # names are drawn from the doc_id: reproducible
    assert bundle["entry"][1]["resource"]["date"] == "2024-05-02T00:00:00Z"  # instant
    naive = render_bundle(row, created=datetime(2024, 5, 2, 10, 30))
    Bundle.model_validate(naive)
