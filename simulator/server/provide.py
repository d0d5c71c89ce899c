"""ITI-65 Provide Document Bundle: judge a submission (conformance rules, then the DMP's service
rules) and, when accepted, store it whole in one transaction and answer a transaction-response
Bundle; when refused, store nothing, log the refusal and answer an OperationOutcome.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from simulator.server import schema as S
from simulator.server.auth import Principal
from simulator.server.conformance import Finding, check_resource
from simulator.server.fhir_http import HttpProblem, findings_outcome
from simulator.server.judge import (
    ACCEPTED,
    Rules,
    Verdict,
    service_finding,
    service_findings,
    verdict_of,
)
from simulator.server.store import Store, log_access, utc_instant
from simulator.server.submission import (
    DocumentIn,
    Submission,
    UnreadableSubmission,
    day_of,
    read_submission,
)

_ID_TAKEN = {t.name: select(t.c.id).where(t.c.id == bindparam("id"))
             for t in (S.submissions, S.documents, S.binaries)}
_d = S.documents
_BY_UNIQUE_ID = select(_d.c.id, _d.c.content_sha1, _d.c.patient_ins, _d.c.submission_id, _d.c.version,
                       _d.c.last_updated, _d.c.binary_id).where(_d.c.unique_id == bindparam("uid"))
_INSERT_SUBMISSION = insert(S.submissions)
_INSERT_BINARY = insert(S.binaries)
_INSERT_DOCUMENT = insert(S.documents)
SERVICE_ISSUE_CODES = {"DMP-001": "forbidden", "DMP-002": "forbidden", "DMP-003": "forbidden",
                       "DMP-004": "forbidden", "DMP-005": "not-found", "DMP-006": "duplicate"}


@dataclass
class Answer:
    """What the endpoint answers: status, FHIR body, headers, and the verdict for the log."""

    status: int
    body: dict[str, Any]
    verdict: str
    headers: dict[str, str] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, verdict: Verdict):
        self.verdict = verdict


def _submitted_day(bundle: dict[str, Any]) -> str | None:
    for e in bundle.get("entry") or []:
        res = e.get("resource") if isinstance(e, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "List":
            return day_of(res.get("date"))
    return None


def provide(store: Store, rules: Rules, principal: Principal, bundle: dict[str, Any]) -> Answer:
    """Judge and (when accepted) store one ITI-65 submission."""
    if bundle.get("resourceType") != "Bundle":
        raise HttpProblem(400, "not-supported", f"POST [base] takes an ITI-65 transaction Bundle, not a "
                                                f"{bundle.get('resourceType')}")
    try:
        findings = check_resource(bundle)
    except RecursionError:
        raise HttpProblem(400, "structure", "the resource is nested too deeply to be judged") from None
    day = _submitted_day(bundle)
    sub: Submission | None = None
    try:
        sub = read_submission(bundle)
    except UnreadableSubmission as exc:
        if not any(f.severity == "error" for f in findings):
            findings.append(exc.finding)
    except Exception as exc:  # a bundle the rules refused may hold any shape: judge what we have
        if not any(f.severity == "error" for f in findings):
            findings.append(Finding("STR-002", "error", "Bundle", f"cannot read the submission ({exc})",
                                    "invalid_metadata"))
    ins = sub.ins if sub else None
    try:
        if sub is None:
            raise _Refused(verdict_of(findings, rules, day))
        with store.write() as conn:
            verdict = verdict_of(findings + service_findings(conn, sub, rules), rules, day)
            if not verdict.accepted:
                raise _Refused(verdict)
            answer = _store(conn, sub, principal)
            log_access(conn, actor_kind=principal.kind, actor=principal.id, action="provide",
                       target=_targets(answer), patient_ins=sub.ins, status=answer.status, outcome=answer.verdict)
            return answer
    except _Refused as refused:
        v = refused.verdict
        with store.write() as conn:
            log_access(conn, actor_kind=principal.kind, actor=principal.id, action="provide",
                       target=f"Bundle/{bundle.get('id', '-')}", patient_ins=ins, status=v.status, outcome=v.verdict)
        body = findings_outcome(v.findings, v.verdict, SERVICE_ISSUE_CODES)
        return Answer(v.status, body, v.verdict, {"X-DMP-Verdict": v.verdict})


def _targets(answer: Answer) -> str:
    locs = [e["response"].get("location", "") for e in answer.body.get("entry", [])]
    return " ".join(loc.split("/_history")[0] for loc in locs if loc.startswith("DocumentReference/"))


def _free_id(conn: Connection, table: Any, wanted: str | None, taken: set[str]) -> str:
    if wanted and wanted not in taken and conn.execute(_ID_TAKEN[table.name], {"id": wanted}).first() is None:
        taken.add(wanted)
        return wanted
    new = uuid.uuid4().hex
    taken.add(new)
    return new


def _replay(conn: Connection, sub: Submission) -> Answer | None:
    """An earlier, identical submission of the same documents (a client's retry): its answer.
    A unique id reused for other content is refused (DMP-006)."""
    found = []
    for i, doc in enumerate(sub.documents):
        row = conn.execute(_BY_UNIQUE_ID, {"uid": doc.unique_id}).first()
        if row is None:
            found.append(None)
        elif row.content_sha1 != doc.sha1 or row.patient_ins != sub.ins:
            raise _Refused(Verdict("duplicate_unique_id", (service_finding(
                "DMP-006", f"DocumentReference[{i}].masterIdentifier",
                f"unique id {doc.unique_id} is already used by DocumentReference/{row.id} for other content"),),
                409))
        else:
            found.append(row)
    if not any(found):
        return None
    if not all(found):
        raise _Refused(Verdict("duplicate_unique_id", (service_finding(
            "DMP-006", "DocumentReference.masterIdentifier",
            "some documents of this submission were stored before, others not: resend them separately"),), 409))
    rows = {r.id: r for r in found if r is not None}
    first = next(iter(rows.values()))
    entries = []
    docs = iter(found)
    for kind, _, target in sub.entry_urls:
        if kind == "docref":
            r = next(docs)
            entries.append(_entry("200 OK", f"DocumentReference/{r.id}", r.version, r.last_updated))
        elif kind == "list":
            entries.append(_entry("200 OK", f"List/{first.submission_id}", 1, first.last_updated))
        elif kind == "binary":
            entries.append({"response": {"status": "200 OK"}})
        elif kind == "patch":
            entries.append({"response": {"status": "200 OK", "location": f"DocumentReference/{target}"}})
        else:
            entries.append({"response": {"status": "200 OK"}})
    body = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    return Answer(200, body, ACCEPTED, {"X-DMP-Verdict": ACCEPTED, "X-DMP-Replay": "true"})


def _entry(status: str, location: str, version: int, modified: str) -> dict[str, Any]:
    return {"response": {"status": status, "location": f"{location}/_history/{version}",
                         "etag": f'W/"{version}"', "lastModified": modified}}


def _store(conn: Connection, sub: Submission, principal: Principal) -> Answer:
    """Insert the submission (its List, Binaries and DocumentReferences), supersede what it
    replaces; raise _Refused for a bad replacement or a reused unique id."""
    replay = _replay(conn, sub)
    if replay is not None:
        return replay
    now = utc_instant()
    d = S.documents
    superseded: dict[str, int] = {}
    for i, doc in enumerate(sub.documents):
        if doc.replaces is None:
            continue
        old = conn.execute(select(d.c.id, d.c.status, d.c.patient_ins, d.c.version, d.c.resource)
                           .where(d.c.id == doc.replaces)).first()
        problem = ("does not exist" if old is None else "is not current" if old.status != "current"
                   else "belongs to another patient" if old.patient_ins != sub.ins else None)
        if problem:
            raise _Refused(Verdict("replacement_invalid", (service_finding(
                "DMP-005", f"DocumentReference[{i}].relatesTo",
                f"the replaced DocumentReference/{doc.replaces} {problem}"),), 422))
        res = json.loads(old.resource)
        res["status"] = "superseded"
        res.setdefault("meta", {})["versionId"] = str(old.version + 1)
        res["meta"]["lastUpdated"] = now
        conn.execute(update(d).where(d.c.id == old.id).values(
            status="superseded", version=old.version + 1, last_updated=now,
            resource=json.dumps(res, ensure_ascii=False, separators=(",", ":"))))
        superseded[old.id] = old.version + 1
    taken: set[str] = set()
    list_id = _free_id(conn, S.submissions, sub.list_resource.get("id"), taken)
    doc_ids: dict[str, str] = {}
    bin_ids: dict[str, str] = {}
    rows = []
    for doc in sub.documents:
        doc_id = _free_id(conn, d, doc.client_id, taken)
        bin_id = _free_id(conn, S.binaries, doc.binary_client_id or f"{doc_id}-content", taken)
        doc_ids[doc.full_url] = doc_id
        if doc.binary_full_url:
            bin_ids[doc.binary_full_url] = bin_id
        rows.append((doc, doc_id, bin_id))
    lst = dict(sub.list_resource)
    lst["id"] = list_id
    lst["meta"] = {**(lst.get("meta") or {}), "versionId": "1", "lastUpdated": now}
    items = []
    for item in lst.get("entry") or []:
        ref = (item.get("item") or {}).get("reference") if isinstance(item, dict) else None
        if ref in doc_ids:
            item = {**item, "item": {**item["item"], "reference": f"DocumentReference/{doc_ids[ref]}"}}
        items.append(item)
    if items:
        lst["entry"] = items
    conn.execute(_INSERT_SUBMISSION, dict(
        id=list_id, received=now, submitter=principal.id, patient_ins=sub.ins, submitted=sub.submitted,
        resource=json.dumps(lst, ensure_ascii=False, separators=(",", ":"))))
    for doc, doc_id, bin_id in rows:
        conn.execute(_INSERT_BINARY, dict(id=bin_id, content_type=doc.content_type, size=len(doc.content),
                                          sha1=doc.sha1, data=doc.content))
        conn.execute(_INSERT_DOCUMENT, dict(
            id=doc_id, submission_id=list_id, patient_ins=sub.ins, unique_id=doc.unique_id, status="current",
            type_system=doc.type_system, type_code=doc.type_code, class_code=doc.class_code, date=doc.date,
            author_id_nat_ps=doc.author, confidentiality=" ".join(doc.confidentiality),
            hidden_from_professionals="MASQUE_PS" in doc.confidentiality,
            hidden_from_patient="INVISIBLE_PATIENT" in doc.confidentiality,
            replaces=doc.replaces, binary_id=bin_id, content_sha1=doc.sha1, version=1, last_updated=now,
            resource=json.dumps(_served(doc, doc_id, bin_id, now), ensure_ascii=False, separators=(",", ":"))))
    entries = []
    docs = iter(rows)
    for kind, full_url, target in sub.entry_urls:
        if kind == "list":
            entries.append(_entry("201 Created", f"List/{list_id}", 1, now))
        elif kind == "docref":
            _, doc_id, _ = next(docs)
            entries.append(_entry("201 Created", f"DocumentReference/{doc_id}", 1, now))
        elif kind == "binary":
            bin_id = bin_ids.get(full_url)
            entries.append(_entry("201 Created", f"Binary/{bin_id}", 1, now) if bin_id else
                           {"response": {"status": "200 OK"}})
        elif kind == "patch" and target in superseded:
            entries.append(_entry("200 OK", f"DocumentReference/{target}", superseded[target], now))
        else:
            entries.append({"response": {"status": "200 OK"}})
    body = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    return Answer(200, body, ACCEPTED, {"X-DMP-Verdict": ACCEPTED})


def _served(doc: DocumentIn, doc_id: str, bin_id: str, now: str) -> dict[str, Any]:
    """The DocumentReference as the server serves it: its id, version, and content by Binary."""
    res = dict(doc.resource)  # copies only what changes: the submitted bundle stays as sent
    res["id"] = doc_id
    res["meta"] = {**(res.get("meta") or {}), "versionId": "1", "lastUpdated": now}
    first = dict(res["content"][0])
    attachment = {k: v for k, v in first["attachment"].items() if k != "data"}
    attachment["url"] = f"Binary/{bin_id}"
    first["attachment"] = attachment
    res["content"] = [first, *res["content"][1:]]
    return res
