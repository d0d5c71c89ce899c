"""The simulated DMP as an IHE MHD Document Responder and Document Recipient, used as an MHD
Document Consumer would (fhirpy and httpx, SQLite and PostgreSQL): ITI-67's 16 parameters, the
patient identifier's system, POST _search, lenient and strict handling, paging while documents
arrive, conditional reads, 406, server-assigned ids, XDS error codes, the CapabilityStatement."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest
from fhirpy import SyncFHIRClient
from sqlalchemy import select

from simulator.server import schema as S
from simulator.server.search import MHD_PARAMETERS
from tests.support_server import (  # noqa: F401 - dmp_fixture is the fixture "dmp"
    bundle_for,
    dmp_fixture,
    location,
    rule_ids,
    xds_codes,
)

TEST_OID, NIR_OID = "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.8"
TRE_A07 = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument"


def client(dmp, token: str | None = None) -> SyncFHIRClient:
    return SyncFHIRClient(dmp.base, authorization=f"Bearer {token or dmp.pro_token()}")


def docref(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")


def _varied(patient, author, i: int) -> dict[str, Any]:
    """Document i of a small record whose metadata differ on every ITI-67 parameter."""
    b = copy.deepcopy(bundle_for(  # a copy: the rendered bundle may share its constant parts
        patient, author, type_code=("11488-4", "57833-6", "11488-4")[i], created=f"2025-01-0{6 + i}T09:00:00+01:00",
        author_family=("Lefèvre", "Martin", "Lefebvre")[i], author_given=("Émile", "Jeanne", "Paul")[i]))
    d = docref(b)
    d["context"]["event"] = [{"coding": [{"system": "urn:test:events", "code": f"EV{i}"}]}]
    d["context"]["related"] = [{"identifier": {"system": "urn:ihe:iti:xds:2015:encounterId", "value": f"ENC-{i}"}}]
    if i == 1:
        d["context"]["period"]["end"] = "2025-01-07T18:00:00+01:00"
        d["securityLabel"].append({"coding": [{"system": TRE_A07, "code": "INVISIBLE_REPRESENTANTS_LEGAUX"}]})
        d["context"]["practiceSetting"]["coding"][0]["code"] = "394814009"  # general practice
        d["context"]["facilityType"]["coding"][0]["code"] = "264358009"  # general practice premises
        d["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}]
    return b


@pytest.fixture(scope="module")
def record(dmp):
    """Three documents of one patient, posted and stored; what each says, read back from the bundles."""
    patient, author = dmp.take_patient(), dmp.author()
    bundles = [_varied(patient, author, i) for i in range(3)]
    ids = []
    for b in bundles:
        r = dmp.post(b)
        assert r.status_code == 200, r.text
        ids.append(location(r))
    return patient, bundles, ids


def test_a_document_consumer_goes_through_the_16_parameters(dmp, record):
    patient, bundles, ids = record
    docs = [docref(b) for b in bundles]
    fhir = client(dmp)
    pid = {"patient.identifier": f"urn:oid:{patient.ins_oid}|{patient.ins}"}

    def found(**params: Any) -> list[str]:
        query = fhir.resources("DocumentReference").search(**pid)
        for name, value in params.items():
            query = query.search(**{name: value})
        return sorted(d.id for d in query.fetch_all())

    def where(pred) -> list[str]:
        return sorted(i for i, d in zip(ids, docs, strict=True) if pred(d))

    def codes(concept: Any) -> list[str]:
        items = concept if isinstance(concept, list) else [concept]
        return [c["code"] for x in items for c in x.get("coding", [x])]

    everything = sorted(ids)
    assert found() == everything
    assert found(patient=f"Patient/{patient.ins}") == everything
    assert sorted(d.id for d in fhir.resources("DocumentReference").search(
        patient=f"{dmp.base}/Patient/{patient.ins}", status="current").fetch_all()) == everything
    assert found(status="current") == everything and found(status="superseded") == []
    assert found(creation="ge2025-01-07") == where(lambda d: d["content"][0]["attachment"]["creation"] >= "2025-01-07")
    assert found(creation="2025-01-06") == [ids[0]]
    assert found(**{"author.family": "lefe"}) == sorted([ids[0], ids[2]])  # Lefèvre, Lefebvre: starts with
    assert found(**{"author.family:exact": "Lefèvre"}) == [ids[0]]
    assert found(**{"author.family:contains": "TIN"}) == [ids[1]]
    assert found(**{"author.given": "jeanne"}) == [ids[1]]
    assert found(category=f"{docs[0]['category'][0]['coding'][0]['system']}|{codes(docs[0]['category'])[0]}") \
        == where(lambda d: codes(d["category"]) == codes(docs[0]["category"]))
    assert found(type="http://loinc.org|57833-6") == [ids[1]]
    assert found(type="http://loinc.org|11488-4,http://loinc.org|57833-6") == everything
    assert found(type__not="http://loinc.org|57833-6") == sorted([ids[0], ids[2]])  # fhirpy writes type:not
    assert found(setting="http://snomed.info/sct|394814009") == [ids[1]]
    assert found(facility="http://snomed.info/sct|264358009") == [ids[1]]
    assert found(facility="http://snomed.info/sct|22232009") == sorted([ids[0], ids[2]])
    # doc 1's act ended on the 7th at 17:00 UTC; the others give no end: still going on, as FHIR reads a Period
    assert found(period="ge2025-01-07T18:00:00Z") == sorted([ids[0], ids[2]])
    assert found(period="lt2025-01-07") == [ids[0]]
    assert found(event="urn:test:events|EV2") == [ids[2]]
    assert found(**{"security-label": f"{TRE_A07}|INVISIBLE_REPRESENTANTS_LEGAUX"}) == [ids[1]]
    assert found(**{"security-label": "N"}) == everything
    fmt = docs[0]["content"][0]["format"]
    assert found(format=f"{fmt['system']}|{fmt['code']}") == everything
    assert found(format="urn:ihe:iti:xds:2017:other") == []
    assert found(**{"related:identifier": "urn:ihe:iti:xds:2015:encounterId|ENC-1"}) == [ids[1]]
    assert found(related="Encounter/nothing") == []
    assert found(identifier=docs[2]["masterIdentifier"]["value"]) == [ids[2]]
    assert found(identifier=f"urn:ietf:rfc:3986|{docs[1]['identifier'][0]['value']}") == [ids[1]]
    assert found(identifier__missing="false") == everything
    assert found(date="ge2025-01-07", type="http://loinc.org|11488-4") == [ids[2]]  # AND across parameters
    names = {"patient", "patient.identifier", "creation", "author.given", "author.family", "category", "type",
             "setting", "period", "facility", "event", "security-label", "format", "related", "status", "identifier"}
    assert set(MHD_PARAMETERS) == names  # the 16 of ITI-67, each exercised above


def test_the_patient_identifier_system_is_honoured(dmp, record):
    patient, _, ids = record
    assert patient.ins_oid == TEST_OID

    def total(value: str) -> int:
        r = dmp.get("DocumentReference", params={"patient.identifier": value})
        assert r.status_code == 200, r.text
        return r.json()["total"]

    assert total(f"urn:oid:{TEST_OID}|{patient.ins}") == len(ids)
    assert total(patient.ins) == len(ids)  # any system
    assert total(f"urn:oid:{NIR_OID}|{patient.ins}") == 0  # the production NIR OID: not these test documents
    assert total(f"|{patient.ins}") == 0  # without a system: the INS always has one
    r = dmp.get("DocumentReference", params={"patient.identifier": f"urn:oid:{TEST_OID}|"})
    assert r.status_code == 400 and rule_ids(r) == set()  # a professional names one patient
    mine = dmp.get("DocumentReference", token=dmp.patient_token(patient.ins),
                   params={"patient.identifier": f"urn:oid:{TEST_OID}|"})
    assert mine.status_code == 200 and mine.json()["total"] == len(ids)  # the patient's own, under that system


def test_post_search_gives_what_get_gives(dmp, record):
    patient, _, ids = record
    form = {"patient.identifier": f"urn:oid:{patient.ins_oid}|{patient.ins}", "type": "http://loinc.org|11488-4"}
    got = dmp.get("DocumentReference", params=form).json()
    headers = {"Authorization": f"Bearer {dmp.pro_token()}", "Accept": "application/fhir+json"}
    posted = httpx.post(f"{dmp.base}/DocumentReference/_search", data=form, headers=headers, timeout=30)
    assert posted.status_code == 200, posted.text
    assert [e["resource"]["id"] for e in posted.json()["entry"]] == [e["resource"]["id"] for e in got["entry"]]
    assert posted.json()["total"] == got["total"] == 2
    split = httpx.post(f"{dmp.base}/DocumentReference/_search?status=current", data=form, headers=headers, timeout=30)
    assert split.json()["total"] == 2  # the query string's parameters count too
    wrong = httpx.post(f"{dmp.base}/DocumentReference/_search", json=form, headers=headers, timeout=30)
    assert wrong.status_code == 415 and wrong.json()["resourceType"] == "OperationOutcome"
    anonymous = httpx.post(f"{dmp.base}/DocumentReference/_search", data=form, timeout=30)
    assert anonymous.status_code == 401 and rule_ids(anonymous) == {"ACC-001"}


def test_unknown_parameters_are_ignored_and_reported_unless_strict(dmp, record):
    patient, _, ids = record
    params = {"patient.identifier": patient.ins, "colour": "blue", "type:below": "x"}
    r = dmp.get("DocumentReference", params=params)
    assert r.status_code == 200 and r.json()["total"] == len(ids)
    bundle = r.json()
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert "colour" not in self_link and "patient.identifier" in self_link  # the parameters used
    (outcome,) = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome["resource"]["resourceType"] == "OperationOutcome"
    assert {i["diagnostics"].split()[2] for i in outcome["resource"]["issue"]} == {"colour", "type:below"}
    strict = dmp.get("DocumentReference", params=params, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and "colour" in strict.json()["issue"][0]["diagnostics"]
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)


def test_paging_stays_stable_while_documents_arrive(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    before = [location(dmp.post(bundle_for(patient, author, created=f"2025-01-0{d}T08:00:00+01:00")))
              for d in (3, 4, 5, 6, 7)]
    pid = f"urn:oid:{patient.ins_oid}|{patient.ins}"
    page = dmp.get("DocumentReference", params={"patient.identifier": pid, "_count": "2"}).json()
    seen = [e["resource"]["id"] for e in page["entry"]]
    dates = [e["resource"]["date"] for e in page["entry"]]
    arrived = []
    while True:
        # documents arrive between two pages: newer, older, and dated like the one just seen
        for created in ("2025-01-08T08:00:00+01:00", "2025-01-02T08:00:00+01:00", dates[-1]):
            r = dmp.post(bundle_for(patient, author, created=created))
            assert r.status_code == 200, r.text
            arrived.append(location(r))
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        page = httpx.get(following[0], headers=dmp.headers(dmp.pro_token()), timeout=30).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        dates += [e["resource"]["date"] for e in page["entry"]]
        assert len(seen) < 100
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(before) <= set(seen)  # nothing that was there is skipped
    assert dates == sorted(dates, reverse=True)  # one order throughout
    assert set(seen) - set(before) <= set(arrived)


def test_reads_are_conditional_and_only_json_is_answered(dmp, record):
    _, _, ids = record
    r = dmp.get(f"DocumentReference/{ids[0]}")
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert etag == f'W/"{r.json()["meta"]["versionId"]}"' and modified.endswith(" GMT")
    assert dmp.get(f"DocumentReference/{ids[0]}", headers={"If-None-Match": etag}).status_code == 304
    assert dmp.get(f"DocumentReference/{ids[0]}", headers={"If-Modified-Since": modified}).status_code == 304
    assert [r.outcome for r in dmp.log(action="read", target=f"DocumentReference/{ids[0]}", status=304)] \
        == ["granted", "granted"]  # a 304 is a read under the access rules, logged as such
    assert dmp.get(f"DocumentReference/{ids[0]}", headers={"If-None-Match": 'W/"99"'}).status_code == 200
    old = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert dmp.get(f"DocumentReference/{ids[0]}", headers={"If-Modified-Since": old}).status_code == 200
    url = r.json()["content"][0]["attachment"]["url"]
    doc = dmp.get(url, headers={"Accept": "*/*"})
    assert doc.status_code == 200 and doc.headers["etag"] and doc.headers["last-modified"]
    assert dmp.get(url, headers={"Accept": "*/*", "If-None-Match": doc.headers["etag"]}).status_code == 304
    assert dmp.get(url, headers={"Accept": "application/xml"}).status_code == 200  # the document's own type
    for path, headers in (("metadata", {"Accept": "application/fhir+xml"}), ("metadata?_format=xml", {}),
                          (f"DocumentReference/{ids[0]}?_format=xml", {}),
                          (f"DocumentReference/{ids[0]}", {"Accept": "application/fhir+xml"}),
                          (f"DocumentReference?_id={ids[0]}&_format=application/fhir+xml", {}),
                          (f"{url}?_format=xml", {})):
        headers = {"Authorization": f"Bearer {dmp.pro_token()}", **headers}
        refused = httpx.get(f"{dmp.base}/{path}", headers=headers, timeout=30)
        assert refused.status_code == 406 and refused.json()["resourceType"] == "OperationOutcome", path
    ok = httpx.get(f"{dmp.base}/metadata", headers={"Accept": "application/fhir+json; fhirVersion=4.0"})
    assert ok.status_code == 200


def test_ids_are_assigned_by_the_server(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    bundle = bundle_for(patient, author)
    client_ids = {e["resource"]["resourceType"]: e["resource"].get("id") for e in bundle["entry"]}
    r = dmp.post(bundle)
    assert r.status_code == 200, r.text
    given = {loc.split("/")[0]: loc.split("/")[1] for e in r.json()["entry"]
             if (loc := e["response"].get("location"))}
    assert set(given) == {"List", "DocumentReference", "Binary"}
    for rtype, new_id in given.items():
        assert client_ids[rtype] and new_id != client_ids[rtype]  # the client's ids are replaced
    doc = dmp.get(f"DocumentReference/{given['DocumentReference']}").json()
    assert doc["id"] == given["DocumentReference"]
    assert doc["content"][0]["attachment"]["url"] == f"Binary/{given['Binary']}"
    (stored,) = dmp.rows(select(S.submissions.c.resource).where(S.submissions.c.id == given["List"]))
    assert f'"DocumentReference/{given["DocumentReference"]}"' in stored.resource
    assert dmp.get(f"DocumentReference/{client_ids['DocumentReference']}").status_code == 404
    again = copy.deepcopy(bundle_for(patient, author))  # the same client ids a second time: new ids again
    for e in again["entry"]:
        e["resource"]["id"] = client_ids[e["resource"]["resourceType"]]
    second = dmp.post(again)
    assert second.status_code == 200 and location(second) != given["DocumentReference"]


def test_refusals_carry_the_xds_error_code_beside_the_rule_id(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    nir = "2790335238" + f"{uuid.uuid4().int % 1000:03d}"  # a valid NIR no seeded patient has
    unknown = bundle_for(patient, author, ins=nir + f"{97 - int(nir) % 97:02d}", family="INCONNU",
                         birth_date="1979-03-01", sex="female", birth_place="35238")
    r = dmp.post(unknown)
    assert r.status_code == 403 and xds_codes(r)["DMP-004"] == {"XDSUnknownPatientId"}
    assert xds_codes(r)[""] == {"XDSUnknownPatientId"}  # the verdict's issue too
    r = dmp.post(bundle_for(patient, author, type_code="11493-4"))
    assert r.status_code == 422 and xds_codes(r)["DOC-003"] == {"XDSRegistryMetadataError"}
    mismatch = copy.deepcopy(bundle_for(patient, author))
    other = dmp.take_patient()
    docref(mismatch)["subject"]["reference"] = f"Patient?identifier=urn:oid:{other.ins_oid}|{other.ins}"
    r = dmp.post(mismatch)
    assert r.status_code == 422 and xds_codes(r).get("BDL-007") == {"XDSPatientIdDoesNotMatch"}
    r = dmp.post(bundle_for(patient, author, identity_status="PROV"))  # the DMP's policy: no XDS counterpart
    assert r.status_code == 422 and "IDV-001" in rule_ids(r) and "IDV-001" not in xds_codes(r)


def test_the_capability_statement_names_both_actors_and_the_profiles(dmp):
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    r = httpx.get(f"{dmp.base}/metadata")
    cs = CapabilityStatement.model_validate(r.json())
    assert {str(u).rsplit("/", 1)[1] for u in cs.instantiates} == {"IHE.MHD.DocumentRecipient",
                                                                   "IHE.MHD.DocumentResponder"}
    assert any("ITI/MHD" in str(g) for g in cs.implementationGuide)
    assert any("ig/fhir/pdsm" in str(g) for g in cs.implementationGuide)
    (rest,) = cs.rest
    by_type = {res.type: res for res in rest.resource}
    docs = by_type["DocumentReference"]
    assert set(MHD_PARAMETERS) <= {p.name for p in docs.searchParam}
    assert any("pdsm" in str(p) for p in docs.supportedProfile) and any("MHD" in str(p) for p in docs.supportedProfile)
    assert any("pdsm" in str(p) for p in by_type["List"].supportedProfile)
