"""What an ITI-65 transaction Bundle holds, read once the conformance rules have passed it:
the SubmissionSet, each DocumentReference with its Binary, the documents it replaces, the
patient (INS), the author (idNat_PS) and the dates the DMP's service rules look at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from simulator.server.conformance import Finding

ID_NAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
_INS_SUBJECT = re.compile(r"^Patient\?identifier=(?:urn:oid:)?([0-9.]+)\|(\w{15})$")
FHIR_ID = _FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})")
MAX_UNIQUE_ID = 256  # an XDS uniqueId is an OID or a UUID URN: far shorter
MASQUE_PS = "MASQUE_PS"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"


@dataclass
class DocumentIn:
    """One submitted document: its DocumentReference and content."""

    full_url: str
    resource: dict[str, Any]
    client_id: str | None
    unique_id: str
    type_system: str | None
    type_code: str | None
    class_code: str | None
    confidentiality: tuple[str, ...]
    author: str | None  # idNat_PS
    date: str | None  # UTC instant
    created_day: str | None  # the day the document was created (as written)
    replaces: str | None  # logical id of the replaced DocumentReference
    content: bytes
    content_type: str
    binary_full_url: str | None  # None: the content was inline
    binary_client_id: str | None

    @cached_property
    def sha1(self) -> str:
        return hashlib.sha1(self.content).hexdigest()


@dataclass
class Submission:
    """An ITI-65 submission: the SubmissionSet and its documents, for one patient."""

    bundle: dict[str, Any]
    list_full_url: str
    list_resource: dict[str, Any]
    ins: str
    ins_oid: str
    submitted: str | None  # List.date as sent
    submitted_day: str | None
    documents: list[DocumentIn] = field(default_factory=list)
    entry_urls: list[tuple[str, str, str | None]] = field(default_factory=list)  # (kind, fullUrl, target)


def ins_of(reference: Any) -> tuple[str, str] | None:
    """(OID, matricule) of a subject reference by INS, None otherwise."""
    if not isinstance(reference, dict):
        return None
    m = _INS_SUBJECT.match(str(reference.get("reference", "")))
    return (m.group(1), m.group(2)) if m else None


def day_of(value: Any) -> str | None:
    """The calendar day a FHIR date/dateTime names, as written (``YYYY-MM-DD``)."""
    m = _DAY.match(value) if isinstance(value, str) else None
    return m.group(1) if m else None


def utc_of(value: Any) -> str | None:
    """A FHIR date/dateTime/instant as a UTC instant ``YYYY-MM-DDTHH:MM:SSZ`` (None if unreadable)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            dt = datetime.fromisoformat(text + "T00:00:00+00:00")
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    except ValueError:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def client_id(resource: dict[str, Any]) -> str | None:
    rid = resource.get("id")
    return rid if isinstance(rid, str) and _FHIR_ID.match(rid) else None


def _author(doc: dict[str, Any], bundle_practitioners: list[dict[str, Any]]) -> str | None:
    candidates = [c for c in doc.get("contained") or [] if isinstance(c, dict)
                  and c.get("resourceType") == "Practitioner"] + bundle_practitioners
    for p in candidates:
        for ident in p.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == ID_NAT_PS_SYSTEM and ident.get("value"):
                return str(ident["value"])
    return None


def _codes(concept: Any) -> list[dict[str, Any]]:
    return [c for c in (concept or {}).get("coding") or [] if isinstance(c, dict)] if isinstance(concept, dict) else []


class UnreadableSubmission(Exception):
    """The bundle passed the rules but cannot be stored (e.g. base64 that does not decode)."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding


def read_submission(bundle: dict[str, Any]) -> Submission:
    """The submission a rule-passing ITI-65 bundle holds (UnreadableSubmission otherwise)."""
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    by_url = {e.get("fullUrl"): e.get("resource") for e in entries if isinstance(e.get("resource"), dict)}
    practitioners = [r for r in by_url.values() if r.get("resourceType") == "Practitioner"]
    lists = [(e.get("fullUrl"), e["resource"]) for e in entries
             if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "List"]
    if len(lists) != 1:
        raise UnreadableSubmission(_bad("Bundle.entry", "an ITI-65 submission holds one SubmissionSet List"))
    list_url, lst = lists[0]
    subject = ins_of(lst.get("subject"))
    if subject is None:
        raise UnreadableSubmission(_bad("List.subject", "the SubmissionSet names no patient by INS"))
    sub = Submission(bundle, str(list_url), lst, subject[1], subject[0], lst.get("date"), day_of(lst.get("date")))
    for i, e in enumerate(entries):
        res = e.get("resource")
        req = e.get("request") if isinstance(e.get("request"), dict) else {}
        method = str(req.get("method", "")).upper()
        if method in ("PATCH", "PUT") and str(req.get("url", "")).startswith("DocumentReference/"):
            sub.entry_urls.append(("patch", str(e.get("fullUrl")), str(req["url"]).split("/", 1)[1]))
            continue
        if not isinstance(res, dict):
            sub.entry_urls.append(("other", str(e.get("fullUrl")), None))
            continue
        rtype = res.get("resourceType")
        if rtype == "List":
            sub.entry_urls.append(("list", str(e.get("fullUrl")), None))
        elif rtype == "Binary":
            sub.entry_urls.append(("binary", str(e.get("fullUrl")), None))
        elif rtype == "DocumentReference":
            sub.entry_urls.append(("docref", str(e.get("fullUrl")), None))
            sub.documents.append(_document(i, e, res, by_url, practitioners))
        else:
            sub.entry_urls.append(("other", str(e.get("fullUrl")), None))
    return sub


def document_authors(bundle: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """Each DocumentReference's author (idNat_PS) and creation day, read from any bundle, even one
    whose submission cannot be read: the DMP checks the sender's software before the content."""
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    resources = [e["resource"] for e in entries if isinstance(e.get("resource"), dict)]
    practitioners = [r for r in resources if r.get("resourceType") == "Practitioner"]
    out: list[tuple[str | None, str | None]] = []
    for doc in resources:
        if doc.get("resourceType") != "DocumentReference":
            continue
        content = (doc.get("content") or [{}])[0]
        attachment = (content.get("attachment") if isinstance(content, dict) else None) or {}
        context = doc.get("context") if isinstance(doc.get("context"), dict) else {}
        period = context.get("period") if isinstance(context.get("period"), dict) else {}
        created = (attachment.get("creation") if isinstance(attachment, dict) else None) or period.get("start") or doc.get("date")
        out.append((_author(doc, practitioners), day_of(created) if isinstance(created, str) else None))
    return out


def _bad(path: str, message: str) -> Finding:
    return Finding("STR-002", "error", path, message, "invalid_metadata")


def _decode(data: Any, path: str) -> bytes:
    try:
        return base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableSubmission(_bad(path, "the base64 content does not decode")) from None


def _document(i: int, entry: dict[str, Any], doc: dict[str, Any], by_url: dict[Any, Any],
              practitioners: list[dict[str, Any]]) -> DocumentIn:
    base = f"Bundle.entry[{i}].resource"
    attachment = ((doc.get("content") or [{}])[0] or {}).get("attachment") or {}
    url = attachment.get("url")
    binary = by_url.get(url) if url else None
    if isinstance(binary, dict) and binary.get("resourceType") == "Binary":
        content = _decode(binary.get("data", ""), f"Bundle.entry(Binary {url}).data")
        content_type = str(binary.get("contentType") or attachment.get("contentType") or "application/octet-stream")
        binary_url, binary_id = str(url), client_id(binary)
    elif attachment.get("data") is not None:
        content = _decode(attachment["data"], f"{base}.content[0].attachment.data")
        content_type = str(attachment.get("contentType") or "application/octet-stream")
        binary_url = binary_id = None
    else:
        raise UnreadableSubmission(_bad(f"{base}.content[0].attachment", "the document has no content in the bundle"))
    types = _codes(doc.get("type"))
    classes = [c for cat in doc.get("category") or [] for c in _codes(cat)]
    labels = tuple(str(c.get("code")) for lab in doc.get("securityLabel") or [] for c in _codes(lab) if c.get("code"))
    replaces = None
    for rel in doc.get("relatesTo") or []:
        if isinstance(rel, dict) and rel.get("code") == "replaces":
            ref = str(((rel.get("target") or {}).get("reference")) or "")
            replaces = ref.split("/", 1)[1] if ref.startswith("DocumentReference/") else ref
    unique_id = str((doc.get("masterIdentifier") or {}).get("value") or "")
    if len(unique_id) > MAX_UNIQUE_ID:
        raise UnreadableSubmission(_bad(f"{base}.masterIdentifier.value",
                                        f"the unique id is longer than {MAX_UNIQUE_ID} characters"))
    period = (doc.get("context") or {}).get("period") or {}
    created = attachment.get("creation") or period.get("start") or doc.get("date")
    return DocumentIn(
        full_url=str(entry.get("fullUrl")), resource=doc, client_id=client_id(doc),
        unique_id=unique_id,
        type_system=types[0].get("system") if types else None, type_code=types[0].get("code") if types else None,
        class_code=classes[0].get("code") if classes else None, confidentiality=labels,
        author=_author(doc, practitioners), date=utc_of(doc.get("date")), created_day=day_of(created),
        replaces=replaces, content=content, content_type=content_type, binary_full_url=binary_url,
        binary_client_id=binary_id)
