"""Render a ``DocumentSpec`` as FHIR R4B JSON: FR Core INS Patient, author, DocumentReference,
SubmissionSet List, CDA Binary and the PDSm ITI-65 transaction Bundle.

Resources are built as plain dicts (the fast path: thousands of bundles a second); their JSON
parses with ``fhir.resources.R4B`` (checked by the tests and by ``to_model`` on a sample). The
bundle mirrors the ANS example ``Bundle-example-td2-iti65-lot-soumission.json``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from agents.catalogue import CLASS_CODES, CLASS_SYSTEM, LOINC_SYSTEM, load_catalogue
from agents.fhir import constants as C
from agents.fhir.defects import get_defect
from agents.fhir.spec import DocumentSpec, as_spec, complete_traits, fhir_instant
from agents.identity import (
    ID_NAT_PS_SYSTEM,
    ID_NAT_STRUCT_SYSTEM,
    identifier_use,
    ins_system,
    load_birth_places,
)
from agents.identity.ins import IDENTIFIER_TYPE_BY_OID, strip_urn
from agents.identity.professionals import ID_NAT_PS_OID, ID_NAT_STRUCT_OID
from agents.identity.status import IDENTITY_STATUS_SYSTEM, STATUS_LABELS_FR

#: Namespace of the name-based UUIDs of rendered payloads: same doc_id, same UUIDs.
PAYLOAD_NAMESPACE = uuid.UUID("3b0f7a52-8d1e-5c44-9f6a-2e71c0d9b8a4")
PATIENT_ID = "patient-source"
PRACTITIONER_ID = "practitioner-author"
ORGANIZATION_ID = "organization-author"
ROLE_ID = "author-role"
SOURCE_ID = "urn:oid:1.2.3.4.5.6.7.8"  # sending system, as in the ANS example
_SAFE_ID = re.compile(r"[^A-Za-z0-9.-]")
_FORMAT = {
    "system": C.CS_FORMAT_CODE,
    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
    "display": "mimeType Sufficient",
}
#: SNOMED CT as in the PDSm examples, plus the national code (JDV_J02 / JDV_J04) the DMP indexes.
_FACILITY = {
    "coding": [
        {"system": C.CS_SNOMED, "code": "22232009", "display": "Hospital"},
        {"system": C.CS_SECTEUR_ACTIVITE, "code": "SA01", "display": "Etablissement public de santé"},
    ]
}
_PRACTICE = {
    "coding": [
        {"system": C.CS_SNOMED, "code": "394802001", "display": "General medicine"},
        {"system": C.CS_CADRE_EXERCICE, "code": "ETABLISSEMENT", "display": "Etablissement de santé"},
    ]
}


@lru_cache(maxsize=1)
def _type_labels() -> dict[str, str]:
    return {t.code: t.label_fr for t in load_catalogue()}


@lru_cache(maxsize=1)
def _place_names() -> dict[str, str]:
    return {p.code: p.name for p in load_birth_places()}


_NAMESPACE_BYTES = PAYLOAD_NAMESPACE.bytes
_XML_SPECIAL = re.compile(r"[&<>\"']")


def payload_uuid(doc_id: str, role: str) -> str:
    """``urn:uuid:`` of one part (``list``, ``docref``, ``binary``…) of a document.

    Same value as ``uuid.uuid5(PAYLOAD_NAMESPACE, f"{doc_id}/{role}")``, built without the
    ``UUID`` object (a hot path of the renderer).
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{doc_id}/{role}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unique_id(doc_id: str) -> str:
    """The document's XDS uniqueId (``masterIdentifier``, CDA id, XDM uniqueId) as a urn:uuid."""
    return payload_uuid(doc_id, "uniqueId")


def _text(value: str) -> str:
    return escape(value) if _XML_SPECIAL.search(value) else value


def _attr(value: str) -> str:
    return quoteattr(value) if _XML_SPECIAL.search(value) else f'"{value}"'


def resource_id(doc_id: str) -> str:
    """A FHIR-safe id (``[A-Za-z0-9.-]{1,64}``) derived from a document id."""
    return _SAFE_ID.sub("-", doc_id)[:48] or "doc"


def ins_subject(ins: str, oid: str) -> dict[str, str]:
    """Subject reference by INS: ``Patient?identifier=urn:oid:<OID>|<INS>``."""
    return {"reference": f"{C.INS_SUBJECT_PREFIX}{ins_system(oid)}|{ins}"}


def render_patient(doc: DocumentSpec | Mapping[str, Any], rid: str = PATIENT_ID) -> dict:
    """Patient in FR Core INS shape: INS identifier, identity reliability, birth place, names."""
    s = complete_traits(as_spec(doc))
    status = s.identity_status
    label = STATUS_LABELS_FR.get(status)  # type: ignore[call-overload]
    status_coding = {"system": IDENTITY_STATUS_SYSTEM, "code": status}
    if label:
        status_coding["display"] = label
    birth_place: dict[str, Any] = {
        "extension": [
            {
                "url": C.EXT_INSEE_CODE,
                "valueCoding": {"system": C.CS_INSEE_COMMUNE, "code": s.birth_place},
            }
        ]
    }
    city = _place_names().get(s.birth_place)
    if city:
        birth_place["city" if not s.birth_place.startswith("99") else "country"] = city
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": rid,
        "meta": {"profile": [C.PROFILE_PATIENT_INS]},
        "extension": [
            {
                "url": C.EXT_IDENTITY_RELIABILITY,
                "extension": [{"url": "identityStatus", "valueCoding": status_coding}],
            },
            {"url": C.EXT_BIRTH_PLACE, "valueAddress": birth_place},
        ],
    }
    if s.ins is not None:
        oid = strip_urn(s.ins_oid)
        identifier: dict[str, Any] = {"use": identifier_use(oid)}
        type_code = IDENTIFIER_TYPE_BY_OID.get(oid, "INS-NIR")
        identifier["type"] = {"coding": [{"system": C.CS_IDENTIFIER_TYPE, "code": type_code}]}
        identifier["system"] = ins_system(oid)
        identifier["value"] = s.ins
        patient["identifier"] = [identifier]
    given = list(s.given) or [""]
    patient["name"] = [
        {
            "extension": [{"url": C.EXT_BIRTH_LIST_GIVEN_NAME, "valueString": " ".join(given)}],
            "use": "official",
            "family": s.family,
            "given": given[:1],
        }
    ]
    patient["gender"] = s.sex
    patient["birthDate"] = s.birth_date
    return patient


def render_practitioner(id_nat_ps: str, family: str, given: str, rid: str = PRACTITIONER_ID) -> dict:
    """Practitioner identified by idNat_PS (system ``urn:oid:1.2.250.1.71.4.2.1``)."""
    return {
        "resourceType": "Practitioner",
        "id": rid,
        "identifier": [{"system": ID_NAT_PS_SYSTEM, "value": id_nat_ps}],
        "name": [{"family": family, "given": [given]}],
    }


def render_organization(id_nat_struct: str, name: str, rid: str = ORGANIZATION_ID) -> dict:
    """Organization identified by idNat_Struct (system ``urn:oid:1.2.250.1.71.4.2.2``)."""
    return {
        "resourceType": "Organization",
        "id": rid,
        "identifier": [{"system": ID_NAT_STRUCT_SYSTEM, "value": id_nat_struct}],
        "name": name,
    }


def render_practitioner_role(rid: str = ROLE_ID) -> dict:
    """PractitionerRole tying the contained author practitioner to the organisation."""
    return {
        "resourceType": "PractitionerRole",
        "id": rid,
        "practitioner": {"reference": f"#{PRACTITIONER_ID}"},
        "organization": {"reference": f"#{ORGANIZATION_ID}"},
    }


def _hl7_ts(iso: str) -> str:
    return re.sub(r"\D", "", iso[:19])


def render_cda(doc: DocumentSpec | Mapping[str, Any], *, document_uuid: str | None = None) -> bytes:
    """A minimal CDA R2 header (unstructured body) carrying the same metadata, as UTF-8 bytes."""
    s = complete_traits(as_spec(doc))
    document_uuid = document_uuid or unique_id(s.doc_id)
    label = _type_labels().get(s.type_code, s.title or "Document")
    ins_id = (
        f"<id root={_attr(strip_urn(s.ins_oid))} extension={_attr(s.ins)}/>"
        if s.ins is not None
        else ""
    )
    sex = {"male": "M", "female": "F"}.get(s.sex, "U")
    given = "".join(f"<given>{_text(g)}</given>" for g in s.given)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ClinicalDocument xmlns="urn:hl7-org:v3">'
        '<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>'
        f'<id root="{document_uuid[9:]}"/>'
        f'<code code={_attr(s.type_code)} codeSystem="2.16.840.1.113883.6.1" '
        f"displayName={_attr(label)}/>"
        f"<title>{_text(s.title or label)}</title>"
        f'<effectiveTime value="{_hl7_ts(s.created)}"/>'
        '<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>'
        '<languageCode code="fr-FR"/>'
        f"<recordTarget><patientRole>{ins_id}<patient><name>{given}"
        f'<family qualifier="BR">{_text(s.family)}</family></name>'
        f'<administrativeGenderCode code="{sex}" codeSystem="2.16.840.1.113883.5.1"/>'
        f'<birthTime value="{_hl7_ts(s.birth_date)}"/></patient></patientRole></recordTarget>'
        f'<author><time value="{_hl7_ts(s.created)}"/><assignedAuthor>'
        f'<id root="{ID_NAT_PS_OID}" extension={_attr(s.author_id_nat_ps)}/>'
        f"<assignedPerson><name><given>{_text(s.author_given)}</given>"
        f"<family>{_text(s.author_family)}</family></name></assignedPerson>"
        f'<representedOrganization><id root="{ID_NAT_STRUCT_OID}" '
        f"extension={_attr(s.org_id_nat_struct)}/><name>{_text(s.org_name)}</name>"
        "</representedOrganization></assignedAuthor></author>"
        "<component><nonXMLBody><text mediaType=\"text/plain\">"
        "Document synthétique du test-bed Ségur : aucune donnée réelle.</text>"
        "</nonXMLBody></component></ClinicalDocument>"
    )
    return xml.encode("utf-8")


def _security_label(code: str) -> dict:
    if code in C.VISIBILITY_CODES:
        coding = {"system": C.CS_VISIBILITY, "code": code, "display": C.VISIBILITY_CODES[code]}
    else:
        coding = {"system": C.CS_CONFIDENTIALITY, "code": code}
        if code == "N":
            coding["display"] = "normal"
    return {"coding": [coding]}


def _contained(s: DocumentSpec) -> list[dict]:
    return [
        render_patient(s),
        render_practitioner(s.author_id_nat_ps, s.author_family, s.author_given),
        render_organization(s.org_id_nat_struct, s.org_name),
        render_practitioner_role(),
    ]


def render_document_reference(
    doc: DocumentSpec | Mapping[str, Any],
    *,
    binary_url: str | None = None,
    cda: bytes | None = None,
    document_uuid: str | None = None,
) -> dict:
    """DocumentReference (PDSm comprehensive): type, class, confidentiality, author, subject."""
    s = complete_traits(as_spec(doc))
    document_uuid = document_uuid or unique_id(s.doc_id)
    cda = render_cda(s, document_uuid=document_uuid) if cda is None else cda
    rid = resource_id(s.doc_id)
    class_code = s.resolved_class_code
    label = _type_labels().get(s.type_code)
    type_coding = {"system": LOINC_SYSTEM, "code": s.type_code}
    if label:
        type_coding["display"] = label
    class_coding = {"system": CLASS_SYSTEM, "code": class_code}
    if class_code in CLASS_CODES:
        class_coding["display"] = CLASS_CODES[class_code]
    attachment: dict[str, Any] = {"contentType": "application/xml", "language": "fr-FR"}
    if binary_url is None:
        attachment["data"] = base64.b64encode(cda).decode("ascii")
    else:
        attachment["url"] = binary_url
    attachment["size"] = len(cda)
    attachment["hash"] = base64.b64encode(hashlib.sha1(cda).digest()).decode("ascii")
    attachment["title"] = s.title or label or "Document"
    attachment["creation"] = s.created
    docref: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": f"docref-{rid}",
        "meta": {"profile": [C.PROFILE_DOCUMENT_REFERENCE]},
        "contained": _contained(s),
        "masterIdentifier": {"system": C.URN_IETF, "value": document_uuid},
        "status": "current",
    }
    if s.replaces:
        docref["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{s.replaces}"}}
        ]
    docref["type"] = {"coding": [type_coding]}
    docref["category"] = [{"coding": [class_coding]}]
    if s.ins is not None:
        docref["subject"] = ins_subject(s.ins, s.ins_oid)
    docref["date"] = fhir_instant(s.submitted or s.created)
    docref["author"] = [{"reference": f"#{ROLE_ID}"}]
    docref["authenticator"] = {"reference": f"#{PRACTITIONER_ID}"}
    docref["custodian"] = {"reference": f"#{ORGANIZATION_ID}"}
    docref["securityLabel"] = [_security_label(c) for c in s.confidentiality]
    docref["content"] = [{"attachment": attachment, "format": dict(_FORMAT)}]
    docref["context"] = {
        "period": {"start": s.created},
        "sourcePatientInfo": {"reference": f"#{PATIENT_ID}"},
        "facilityType": _FACILITY,
        "practiceSetting": _PRACTICE,
    }
    return docref


def render_submission_set(s: DocumentSpec, docref_url: str) -> dict:
    """SubmissionSet List (PDSm comprehensive) listing the DocumentReference."""
    class_code = s.resolved_class_code
    designation = {"system": CLASS_SYSTEM, "code": class_code}
    if class_code in CLASS_CODES:
        designation["display"] = CLASS_CODES[class_code]
    contained = [
        render_patient(s),
        render_practitioner(s.author_id_nat_ps, s.author_family, s.author_given),
    ]
    lst: dict[str, Any] = {
        "resourceType": "List",
        "id": f"submissionset-{resource_id(s.doc_id)}",
        "meta": {"profile": [C.PROFILE_SUBMISSION_SET]},
        "contained": contained,
        "extension": [
            {"url": C.EXT_DESIGNATION_TYPE, "valueCodeableConcept": {"coding": [designation]}},
            {"url": C.EXT_SOURCE_ID, "valueIdentifier": {"system": C.URN_IETF, "value": SOURCE_ID}},
            {"url": C.EXT_SOURCE_PATIENT_ID, "valueReference": {"reference": f"#{PATIENT_ID}"}},
        ],
        "status": "current",
        "mode": "working",
        "code": {"coding": [{"system": C.CS_MHD_LIST_TYPES, "code": "submissionset"}]},
    }
    if s.ins is not None:
        lst["subject"] = ins_subject(s.ins, s.ins_oid)
    lst["date"] = s.submitted or s.created
    lst["source"] = {"reference": f"#{PRACTITIONER_ID}"}
    lst["entry"] = [{"item": {"reference": docref_url}}]
    return lst


def render_binary(s: DocumentSpec, cda: bytes) -> dict:
    """Binary carrying the CDA document, base64-encoded."""
    return {
        "resourceType": "Binary",
        "id": f"binary-{resource_id(s.doc_id)}",
        "contentType": "application/xml",
        "data": base64.b64encode(cda).decode("ascii"),
    }


def supersede_patch(target_id: str) -> dict:
    """Parameters of a FHIR PATCH setting the replaced DocumentReference to ``superseded``."""
    return {
        "resourceType": "Parameters",
        "id": f"patch-{resource_id(target_id)}-superseded",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "DocumentReference.status"},
                    {"name": "value", "valueCode": "superseded"},
                ],
            }
        ],
    }


def _render_spec(s: DocumentSpec) -> dict:
    list_url = payload_uuid(s.doc_id, "list")
    docref_url = payload_uuid(s.doc_id, "docref")
    document_uuid = unique_id(s.doc_id)
    cda = render_cda(s, document_uuid=document_uuid)
    binary_url = payload_uuid(s.doc_id, "binary")
    entries = [
        {
            "fullUrl": list_url,
            "resource": render_submission_set(s, docref_url),
            "request": {"method": "POST", "url": "List"},
        },
        {
            "fullUrl": docref_url,
            "resource": render_document_reference(
                s, binary_url=binary_url, cda=cda, document_uuid=document_uuid
            ),
            "request": {"method": "POST", "url": "DocumentReference"},
        },
    ]
    if s.replaces:
        entries.append(
            {
                "fullUrl": payload_uuid(s.doc_id, "patch"),
                "resource": supersede_patch(s.replaces),
                "request": {"method": "PATCH", "url": f"DocumentReference/{s.replaces}"},
            }
        )
    entries.append(
        {
            "fullUrl": binary_url,
            "resource": render_binary(s, cda),
            "request": {"method": "POST", "url": "Binary"},
        }
    )
    return {
        "resourceType": "Bundle",
        "id": f"bundle-{resource_id(s.doc_id)}",
        "meta": {"profile": [C.PROFILE_PROVIDE_BUNDLE]},
        "type": "transaction",
        "entry": entries,
    }


def render_bundle(
    doc: DocumentSpec | Mapping[str, Any], *, defect: str | None = None, **overrides: Any
) -> dict:
    """The ITI-65 transaction Bundle (SubmissionSet List + DocumentReference + CDA Binary).

    ``doc`` is a ``DocumentSpec`` or a mapping with its field names; ``defect`` (or
    ``doc["defect"]``) injects one named defect from ``agents.fhir.defects.DEFECTS``, so that
    the bundle carries exactly that defect and the DMP gives that defect's reason.
    """
    s = complete_traits(as_spec(doc, **overrides))
    name = defect if defect is not None else s.defect
    if not name:
        return _render_spec(s)
    injected = get_defect(name)
    bundle = _render_spec(injected.prepare(s))
    injected.finish(bundle)
    return bundle


def to_model(resource: Mapping[str, Any]) -> Any:
    """Parse a resource dict with ``fhir.resources.R4B`` (raises pydantic's ValidationError)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(str(resource["resourceType"])).model_validate(resource)
