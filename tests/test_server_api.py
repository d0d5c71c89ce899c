"""The simulated DMP over the wire (SQLite and PostgreSQL): ITI-65 provide, ITI-67 find, ITI-68
retrieve, replacement, idempotent retries, the CapabilityStatement, the rules' refusals and bad
input at the door — talked to with a FHIR client library (fhirpy) and with httpx."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest
from fhirpy import SyncFHIRClient
from sqlalchemy import select

from simulator.server import schema as S
from tests.support_fhir import ITI65, REPLACEMENT, load_example
from tests.support_server import (  # noqa: F401 - dmp_fixture is the fixture "dmp"
    MAX_BODY,
    binary_bytes,
    bundle_for,
    dmp_fixture,
    location,
    rule_ids,
)


def client(dmp, token: str | None = None) -> SyncFHIRClient:
    return SyncFHIRClient(dmp.base, authorization=f"Bearer {token or dmp.pro_token()}")


def test_metadata_is_a_capability_statement(dmp):
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    r = httpx.get(f"{dmp.base}/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cs = CapabilityStatement.model_validate(r.json())
    (rest,) = cs.rest
    assert {res.type for res in rest.resource} >= {"DocumentReference", "Binary"}
    assert {i.code for i in rest.interaction} == {"transaction"}


def test_provide_search_and_retrieve_with_a_fhir_client(dmp):
    from fhir.resources.R4B.bundle import Bundle

    patient, author = dmp.take_patient(), dmp.author()
    bundle = bundle_for(patient, author)
    fhir = client(dmp, dmp.pro_token(author.id_nat_ps))  # the author files their document
    response = fhir.execute("", method="post", data=bundle)  # POST [base]: the ITI-65 transaction
    parsed = Bundle.model_validate(response)
    assert parsed.type == "transaction-response"
    assert len(parsed.entry) == len(bundle["entry"])
    assert all(e.response.status.startswith("201") for e in parsed.entry)
    doc_id = next(e.response.location.split("/")[1] for e in parsed.entry
                  if e.response.location.startswith("DocumentReference/"))

    found = fhir.resources("DocumentReference").search(
        **{"patient.identifier": f"urn:oid:{patient.ins_oid}|{patient.ins}"}).fetch_all()
    assert [d.id for d in found] == [doc_id]
    doc = found[0]
    assert doc["status"] == "current" and doc["subject"]["reference"].endswith(patient.ins)
    url = doc["content"][0]["attachment"]["url"]
    assert url.startswith("Binary/")

    raw = dmp.get(url, headers={"Accept": "*/*"})  # ITI-68: the document itself
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/xml")
    assert raw.content == binary_bytes(bundle)
    assert hashlib.sha1(raw.content).digest() == base64.b64decode(
        doc["content"][0]["attachment"]["hash"])
    as_fhir = dmp.get(url, headers={"Accept": "application/fhir+json"}).json()
    assert as_fhir["resourceType"] == "Binary" and as_fhir["contentType"] == "application/xml"

    one = fhir.reference("DocumentReference", doc_id).to_resource()
    assert one["masterIdentifier"] == bundle["entry"][1]["resource"]["masterIdentifier"]
    log = dmp.log(patient_ins=patient.ins)
    assert [r.action for r in log] == ["provide", "search", "retrieve", "retrieve", "read"]
    assert all(r.status == 200 for r in log)
    assert log[0].actor == log[0].author == author.id_nat_ps  # the submitter and the author, logged


def test_search_parameters(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    ids = {}
    for code, created in (("11488-4", "2025-01-07T09:00:00+01:00"), ("57833-6", "2025-01-09T09:00:00+01:00"),
                          ("11488-4", "2025-01-10T09:00:00+01:00")):
        r = dmp.post(bundle_for(patient, author, type_code=code, created=created))
        assert r.status_code == 200, r.text
        ids[created[:10]] = location(r)
    pid = f"patient.identifier=urn:oid:{patient.ins_oid}|{patient.ins}"

    def found(query: str) -> set[str]:
        r = dmp.get(f"DocumentReference?{pid}&{query}")
        assert r.status_code == 200, r.text
        return {e["resource"]["id"] for e in r.json()["entry"]}

    assert found("status=current") == set(ids.values())
    assert found("type=http://loinc.org|11488-4") == {ids["2025-01-07"], ids["2025-01-10"]}
    assert found("type=57833-6") == {ids["2025-01-09"]}
    assert found("type=http://snomed.info/sct|57833-6") == set()
    assert found("date=ge2025-01-09") == {ids["2025-01-09"], ids["2025-01-10"]}
    assert found("date=lt2025-01-09") == {ids["2025-01-07"]}
    assert found("date=2025-01-09") == {ids["2025-01-09"]}
    assert found("date=ge2025-01-08&date=le2025-01-09") == {ids["2025-01-09"]}
    first = dmp.get(f"DocumentReference?{pid}&_count=2").json()
    assert first["total"] == 3 and len(first["entry"]) == 2
    following = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert following and len(httpx.get(following[0], headers=dmp.headers(dmp.pro_token())).json()["entry"]) == 1
    everything = client(dmp).resources("DocumentReference").search(**{"patient.identifier": patient.ins}).limit(1)
    assert {d.id for d in everything.fetch_all()} == set(ids.values())  # fhirpy follows the next links
    for bad in ("date=yesterday", "status=gone", "_count=-1", "patient.identifier=123"):
        r = dmp.get(f"DocumentReference?{pid}&{bad}")
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", bad


def test_replacement_supersedes_the_old_version(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    v1 = location(dmp.post(bundle_for(patient, author)))
    r = dmp.post(bundle_for(patient, author, replaces=v1, created="2025-01-09T11:00:00+01:00"))
    assert r.status_code == 200, r.text
    v2 = location(r)
    statuses = {e["response"]["status"] for e in r.json()["entry"]}
    assert statuses == {"201 Created", "200 OK"}  # the PATCH of v1 answers 200
    assert dmp.get(f"DocumentReference/{v1}").json()["status"] == "superseded"
    assert dmp.get(f"DocumentReference/{v1}").json()["meta"]["versionId"] == "2"
    new = dmp.get(f"DocumentReference/{v2}").json()
    assert new["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{v1}"
    pid = f"patient.identifier={patient.ins}"
    current = dmp.get(f"DocumentReference?{pid}&status=current").json()
    assert [e["resource"]["id"] for e in current["entry"]] == [v2]

    before = dmp.counts()
    for target in (v1, "no-such-document"):  # superseded, unknown
        r = dmp.post(bundle_for(patient, author, replaces=target))
        assert r.status_code == 422 and "DMP-005" in rule_ids(r)
    other = dmp.take_patient()
    r = dmp.post(bundle_for(other, author, replaces=v2))  # another patient's document
    assert r.status_code == 422 and "DMP-005" in rule_ids(r)
    assert dmp.counts() == before
    assert dmp.get(f"DocumentReference/{v2}").json()["status"] == "current"


def test_a_retry_is_answered_the_same_and_a_reused_unique_id_is_refused(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    bundle = bundle_for(patient, author)
    first = dmp.post(bundle)
    before = dmp.counts()
    again = dmp.post(bundle)
    assert again.status_code == 200 and again.headers["x-dmp-replay"] == "true"
    assert location(again) == location(first) and dmp.counts() == before
    other = json.loads(json.dumps(bundle))
    content = b"<other/>"  # other content under the same unique id, with a consistent size and hash
    other["entry"][-1]["resource"]["data"] = base64.b64encode(content).decode()
    for entry in other["entry"]:
        if entry["resource"]["resourceType"] == "DocumentReference":
            attachment = entry["resource"]["content"][0]["attachment"]
            attachment["size"] = len(content)
            attachment["hash"] = base64.b64encode(hashlib.sha1(content).digest()).decode()
    r = dmp.post(other)
    assert r.status_code == 409 and rule_ids(r) >= {"DMP-006"} and dmp.counts() == before


@pytest.mark.parametrize(("overrides", "reason", "rules"), [
    ({"identity_status": "PROV"}, "identity_not_qualified", {"IDV-001"}),
    ({"ins": None}, "ins_missing", {"INS-001"}),
    ({"type_code": "11493-4"}, "invalid_metadata", {"DOC-003"}),
    ({"defect": "bad_nir_key"}, "bad_ins", {"INS-004"}),
])
def test_document_rules_refuse_with_422_and_name_the_rules(dmp, overrides, reason, rules):
    patient, author = dmp.take_patient(), dmp.author()
    before = dmp.counts()
    r = dmp.post(bundle_for(patient, author, **overrides))
    assert r.status_code == 422
    assert r.headers["x-dmp-verdict"] == reason
    assert rule_ids(r) >= rules
    assert r.json()["issue"][0]["diagnostics"] == f"DMP verdict: {reason}"
    assert dmp.counts() == before
    logged = dmp.log(action="provide")[-1]
    assert (logged.outcome, logged.status) == (reason, 422)


@pytest.mark.parametrize(("state", "rule", "reason"), [
    ("opposed", "DMP-002", "profile_opposed"),
    ("closed", "DMP-003", "profile_closed"),
    ("not_created", "DMP-004", "no_profile"),
])
def test_profile_states_refuse_with_403(dmp, state, rule, reason):
    patient, author = dmp.take_patient(), dmp.author()
    dmp.set_state(patient.ins, state)
    before = dmp.counts()
    r = dmp.post(bundle_for(patient, author))
    assert (r.status_code, r.headers["x-dmp-verdict"]) == (403, reason)
    assert rule in rule_ids(r) and dmp.counts() == before


def test_unknown_patient_and_legacy_software_are_refused(dmp):
    from agents.identity import make_nir

    author = dmp.author()
    stranger = dmp.take_patient()._asdict()
    stranger["ins"] = make_nir("female", 1990, 5, "35238", 998)
    r = dmp.post(bundle_for(type("P", (), stranger), author))
    assert r.status_code == 403 and r.headers["x-dmp-verdict"] == "no_profile" and "DMP-004" in rule_ids(r)
    legacy = dmp.author(legacy=True)
    r = dmp.post(bundle_for(dmp.take_patient(), legacy, identity_status="PROV"))
    # the software outranks the document's own reason, as in the simulated DMP
    assert r.status_code == 403 and r.headers["x-dmp-verdict"] == "software_not_installed"
    assert {"DMP-001", "IDV-001"} <= rule_ids(r)


def test_software_outranks_a_missing_ins_even_when_the_submission_cannot_be_read(dmp):
    # no INS: the submission names no patient and cannot be read, yet the DMP refuses the
    # pre-Ségur software first, as the simulated DMP does
    r = dmp.post(bundle_for(dmp.take_patient(), dmp.author(legacy=True), ins=None))
    assert r.status_code == 403 and r.headers["x-dmp-verdict"] == "software_not_installed"
    assert "DMP-001" in rule_ids(r)
    r = dmp.post(bundle_for(dmp.take_patient(), dmp.author(), ins=None))
    assert r.headers["x-dmp-verdict"] == "ins_missing" and "DMP-001" not in rule_ids(r)


# -- bad input at the door ----------------------------------------------------------------
@pytest.mark.parametrize(("body", "ctype", "status"), [
    (b"{not json", "application/fhir+json", 400),
    (b"", "application/fhir+json", 400),
    (b"\xff\xfe{}", "application/fhir+json", 400),
    (b"[1, 2]", "application/fhir+json", 400),
    (b'{"hello": "world"}', "application/fhir+json", 400),
    (b'{"resourceType": "Spaceship"}', "application/fhir+json", 400),
    (b'{"resourceType": "Patient"}', "application/fhir+json", 400),
    (b'{"resourceType": "Bundle", "type": "transaction"}', "text/plain", 415),
    (b"<Bundle xmlns='http://hl7.org/fhir'/>", "application/fhir+xml", 415),
])
def test_bad_input_at_the_door(dmp, body, ctype, status):
    before = dmp.counts()
    r = dmp.post(body, ctype=ctype)
    assert r.status_code == status
    assert r.json()["resourceType"] == "OperationOutcome"
    rule_ids(r)  # a valid OperationOutcome
    assert dmp.counts() == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(dmp):
    before = dmp.counts()
    r = dmp.post(b"{" + b" " * MAX_BODY + b"}")
    assert r.status_code == 413 and r.json()["resourceType"] == "OperationOutcome"

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    r = httpx.post(dmp.base, content=chunks(), headers=dmp.headers(dmp.pro_token()), timeout=30)
    assert r.status_code == 413
    assert dmp.counts() == before


def test_broken_reference_and_invalid_fhir_are_422(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    before = dmp.counts()
    broken = bundle_for(patient, author)
    broken["entry"][0]["resource"]["entry"][0]["item"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    r = dmp.post(broken)
    assert r.status_code == 422 and "REF-001" in rule_ids(r)
    invalid = bundle_for(patient, author)
    invalid["entry"][1]["resource"]["status"] = 12
    r = dmp.post(invalid)
    assert r.status_code == 422 and "STR-001" in rule_ids(r)
    assert dmp.counts() == before


def test_unknown_routes_and_methods_answer_operation_outcomes(dmp):
    assert dmp.get("Patient").status_code == 404
    assert dmp.get("DocumentReference/nope").status_code == 404
    assert dmp.get("Binary/nope").status_code == 404
    r = httpx.delete(f"{dmp.base}/DocumentReference/x", headers=dmp.headers(dmp.pro_token()))
    assert r.status_code == 405 and r.json()["resourceType"] == "OperationOutcome"


def test_the_official_examples_with_a_seeded_patient(dmp):
    """The national guide's ITI-65 and replacement examples (from ../shared), their placeholder
    INS replaced by a seeded patient's under the test OID: accepted, searchable, replaceable."""
    patient = dmp.take_patient()

    def fixed(name: str) -> dict:
        text = json.dumps(load_example(name))
        text = text.replace("urn:oid:1.2.250.1.213.1.4.8", f"urn:oid:{patient.ins_oid}")
        return json.loads(text.replace("123456789012345", patient.ins))

    r = dmp.post(fixed(ITI65))
    assert r.status_code == 200, r.text
    first = location(r)
    replacement = json.loads(json.dumps(fixed(REPLACEMENT)).replace("doc-x-id", first))
    r = dmp.post(replacement)
    assert r.status_code == 200, r.text
    assert dmp.get(f"DocumentReference/{first}").json()["status"] == "superseded"
    stored = dmp.rows(select(S.documents.c.status).where(S.documents.c.patient_ins == patient.ins))
    assert sorted(s for (s,) in stored) == ["current", "superseded"]


def test_the_store_is_seeded_from_the_demo_world(dmp):
    from agents.identity import INS_NIR_TEST_OID, is_valid_nir

    info = {r.key: r.value for r in dmp.rows(select(S.server_info))}
    assert info["schema"] == S.SCHEMA_VERSION and info["seeded.start"] == "2025-01-06" and info["seeded.end"] == "2025-01-12"
    assert info["rule.require_qualified_identity"] == info["rule.reject_legacy_software"] == "2025-01-06"
    patients = dmp.rows(select(S.patients))
    assert len(patients) == int(info["seeded.patients"]) > 2000
    assert len({p.ins for p in patients}) == len(patients)
    assert all(is_valid_nir(p.ins) and p.ins_oid == INS_NIR_TEST_OID for p in patients)
    professionals = {r.id_nat_ps: r for r in dmp.rows(select(S.professionals))}
    assert len(professionals) == int(info["seeded.professionals"])
    assert {p.gp_id_nat_ps for p in patients if p.gp_id_nat_ps} <= set(professionals)
    assert {r.sector for r in professionals.values()} >= {"gp", "hospital", "biology"}
    ps = S.profile_states
    first = {r.ins for r in dmp.rows(select(ps.c.ins).where(ps.c.since <= "2025-01-06"))}
    assert first == {p.ins for p in patients}  # every patient has a state from the first day on
    states = {r.state for r in dmp.rows(select(S.profile_states.c.state))}
    assert states <= set(S.PROFILE_STATES)


def test_long_values_are_refused_or_stored_on_every_database(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    before = dmp.counts()
    long_uid = bundle_for(patient, author)
    long_uid["entry"][1]["resource"]["masterIdentifier"]["value"] = "urn:oid:1.2." + "3" * 3000
    r = dmp.post(long_uid)
    assert r.status_code == 422 and dmp.counts() == before
    long_ids = bundle_for(patient, author)
    for e in long_ids["entry"]:
        e["resource"]["id"] = "x" * 64  # the longest FHIR id, for every resource
    long_ids["entry"][1]["resource"]["type"]["coding"][0]["display"] = "é" * 5000
    r = dmp.post(long_ids)
    assert r.status_code == 200, r.text
    deep = b'{"resourceType": "Bundle", "type": "transaction", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert dmp.post(deep).status_code == 422  # over the nesting cap (MAX_DEPTH)
