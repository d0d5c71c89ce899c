"""ITI-67's search semantics without a server: token, string, date and reference matching on a
DocumentReference, the modifiers, comma = OR, repeated = AND, strict handling, content
negotiation (406) and conditional reads (304)."""

from __future__ import annotations

import copy

import pytest
from starlette.datastructures import Headers

from simulator.server.fhir_http import HttpProblem
from simulator.server.matching import matches_all
from simulator.server.negotiation import Validators, check_format, http_date
from simulator.server.search import parse_query, strict_requested

TEST_OID, NIR_OID = "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.8"
INS = "167063523891978"
DOC = {
    "resourceType": "DocumentReference", "id": "d1", "status": "current",
    "meta": {"versionId": "1", "lastUpdated": "2025-01-08T09:00:00Z"},
    "contained": [
        {"resourceType": "Practitioner", "id": "pr", "name": [{"family": "Lefèvre", "given": ["Émile", "Jean"]}]},
        {"resourceType": "PractitionerRole", "id": "role", "practitioner": {"reference": "#pr"}},
    ],
    "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.4"},
    "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0f0e"}],
    "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "CR de consultation"}]},
    "category": [{"coding": [{"system": "urn:tre-a03", "code": "10"}]}],
    "subject": {"reference": f"Patient?identifier=urn:oid:{TEST_OID}|{INS}"},
    "date": "2025-01-08T10:00:00+01:00",
    "author": [{"reference": "#role"}],
    "securityLabel": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}]}],
    "content": [{"attachment": {"creation": "2025-01-07T16:30:00+01:00"},
                 "format": {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                            "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"}}],
    "context": {"period": {"start": "2025-01-05", "end": "2025-01-07"},
                "facilityType": {"coding": [{"system": "http://snomed.info/sct", "code": "22232009"}]},
                "practiceSetting": {"coding": [{"system": "http://snomed.info/sct", "code": "394802001"}]},
                "event": [{"coding": [{"system": "urn:ccam", "code": "ZBQK002"}]}],
                "related": [{"reference": "Encounter/e1"},
                            {"identifier": {"system": "urn:ihe:iti:xds:2015:encounterId", "value": "E-77"}}]},
}


def found(*pairs: tuple[str, str], doc: dict | None = None) -> bool:
    return matches_all(parse_query(list(pairs)).criteria, doc or DOC)


@pytest.mark.parametrize("pair, expected", [
    (("patient.identifier", f"urn:oid:{TEST_OID}|{INS}"), True),
    (("patient.identifier", f"{TEST_OID}|{INS}"), True),  # a bare OID read as urn:oid:
    (("patient.identifier", f"urn:oid:{NIR_OID}|{INS}"), False),  # the production OID: not this record
    (("patient.identifier", f"|{INS}"), False),  # no system: the INS always has one
    (("patient.identifier", INS), True),
    (("patient.identifier", f"urn:oid:{TEST_OID}|"), True),
    (("patient.identifier", f"urn:oid:{NIR_OID}|"), False),
    (("patient", f"Patient/{INS}"), True), (("patient", INS), True), (("patient", "Patient/167063523891979"), False),
    (("patient:identifier", f"urn:oid:{NIR_OID}|{INS}"), False),
    (("type", "http://loinc.org|11488-4"), True), (("type", "http://snomed.info/sct|11488-4"), False),
    (("type", "57833-6,11488-4"), True), (("type:not", "11488-4"), False), (("type:not", "57833-6"), True),
    (("type:text", "consultation"), True), (("type:missing", "false"), True), (("type:missing", "true"), False),
    (("category", "urn:tre-a03|10"), True), (("setting", "394802001"), True), (("setting", "1"), False),
    (("facility", "http://snomed.info/sct|22232009"), True), (("event", "urn:ccam|ZBQK002"), True),
    (("event:missing", "true"), False), (("security-label", "N"), True), (("security-label", "R"), False),
    (("format", "urn:ihe:iti:xds:2017:mimeTypeSufficient"), True), (("status", "current"), True),
    (("status", "superseded"), False), (("status:not", "superseded"), True),
    (("identifier", "urn:ietf:rfc:3986|urn:oid:1.2.3.4"), True), (("identifier", "urn:uuid:0f0e"), True),
    (("identifier", "urn:oid:9.9"), False),
    (("related", "Encounter/e1"), True), (("related", "e1"), True), (("related", "Encounter/e2"), False),
    (("related:identifier", "urn:ihe:iti:xds:2015:encounterId|E-77"), True),
    (("related:Encounter", "e1"), True), (("related:Observation", "e1"), False),
    (("subject:Patient", INS), True),
    (("author.family", "lefevre"), True), (("author.family", "Lef"), True), (("author.family", "fevre"), False),
    (("author.family:contains", "fèvre"), True), (("author.family:exact", "lefèvre"), False),
    (("author.family:exact", "Lefèvre"), True), (("author.given", "emile"), True), (("author.given", "Jean"), True),
    (("author.given", "Marie,Jean"), True), (("author.given", "Marie"), False),
    (("creation", "2025-01-07"), True), (("creation", "ge2025-01-08"), False), (("creation", "lt2025-01-08"), True),
    (("creation", "ne2025-01-07"), False), (("date", "2025-01-08"), True), (("date", "gt2025-01-08"), False),
    (("date", "ge2025-01-08T09:00:00Z"), True), (("date", "sa2025-01-07"), True), (("date", "eb2025-01-08"), False),
    (("period", "ge2025-01-06"), True), (("period", "le2025-01-05"), True), (("period", "ge2025-01-08"), False),
    (("period", "2025-01"), True), (("period", "sa2025-01-04"), True), (("period", "eb2025-01-07"), False),
    (("_lastUpdated", "ge2025-01-08"), True), (("_id", "d1,d2"), True), (("_id", "d2"), False),
])
def test_each_parameter_matches_as_fhir_search_says(pair, expected):
    assert found(pair) is expected


def test_repeated_parameters_are_and_and_missing_elements_match_not():
    assert found(("date", "ge2025-01-08"), ("date", "le2025-01-08"))
    assert not found(("date", "ge2025-01-08"), ("date", "lt2025-01-08"))
    bare = copy.deepcopy(DOC)
    del bare["context"]["event"], bare["securityLabel"]
    assert found(("event:missing", "true"), doc=bare) and found(("event:not", "urn:ccam|ZBQK002"), doc=bare)
    assert not found(("security-label", "N"), doc=bare)
    open_period = copy.deepcopy(DOC)
    del open_period["context"]["period"]["end"]  # still going on: later than any date
    assert found(("period", "ge2030-01-01"), doc=open_period)


def test_escaped_commas_and_bars_are_literal():
    doc = copy.deepcopy(DOC)
    doc["identifier"] = [{"system": "urn:x", "value": "a,b|c"}]
    assert found(("identifier", "urn:x|a\\,b\\|c"), doc=doc)
    assert not found(("identifier", "urn:x|a"), doc=doc)


def test_lenient_and_strict_handling():
    assert strict_requested("return=minimal, handling=strict") and not strict_requested("handling=lenient")
    assert not strict_requested(None)
    q = parse_query([("colour", "blue"), ("status", "current"), ("_sort", "date")])
    assert q.ignored == ["colour (is not supported)", "_sort (is not supported)"]
    assert q.used == [("status", "current")]
    for bad in ([("colour", "blue")], [("type:above", "x")]):
        with pytest.raises(HttpProblem) as err:
            parse_query(bad, strict=True)
        assert err.value.status == 400 and "colour" in err.value.message or "above" in err.value.message
    with pytest.raises(HttpProblem) as err:
        parse_query([("_page", "not-a-token")])
    assert err.value.status == 400


@pytest.mark.parametrize("fmt, accept, document, ok", [
    (None, None, False, True), (None, "application/fhir+json", False, True),
    (None, "application/fhir+json; fhirVersion=4.0", False, True), (None, "*/*", False, True),
    (None, "application/fhir+xml", False, False), (None, "application/xml, text/xml", False, False),
    (None, "application/fhir+xml, application/json;q=0", False, False),
    (None, "application/fhir+xml;q=0.9, application/fhir+json;q=0.1", False, True),
    ("xml", None, False, False), ("application/fhir+xml", "application/fhir+json", False, False),
    ("json", "application/fhir+xml", False, True), (None, "application/pdf", True, True),
    (None, "application/fhir+xml", True, False), ("xml", None, True, False),
])
def test_only_fhir_json_is_answered(fmt, accept, document, ok):
    if ok:
        check_format(fmt, accept, document)
    else:
        with pytest.raises(HttpProblem) as err:
            check_format(fmt, accept, document)
        assert err.value.status == 406


def test_conditional_reads():
    v = Validators('W/"2"', "2025-01-08T09:00:00Z")
    assert v.headers() == {"ETag": 'W/"2"', "Last-Modified": "Wed, 08 Jan 2025 09:00:00 GMT"}
    assert http_date("2025-01-08T09:00:00Z") == "Wed, 08 Jan 2025 09:00:00 GMT"
    assert v.unchanged(Headers({"if-none-match": 'W/"2"'})) and v.unchanged(Headers({"if-none-match": '"1", "2"'}))
    assert v.unchanged(Headers({"if-none-match": "*"}))
    assert not v.unchanged(Headers({"if-none-match": 'W/"1"'}))
    assert v.unchanged(Headers({"if-modified-since": "Wed, 08 Jan 2025 09:00:00 GMT"}))
    assert not v.unchanged(Headers({"if-modified-since": "Wed, 08 Jan 2025 08:59:59 GMT"}))
    assert not v.unchanged(Headers({"if-modified-since": "yesterday"}))
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
    assert not v.unchanged(Headers({"if-none-match": 'W/"1"', "if-modified-since": "Wed, 08 Jan 2025 09:00:00 GMT"}))
    assert not v.unchanged(Headers({}))
