"""ITI-65 Provide Document Bundle: judge a submission (conformance rules, then the DMP's service
rules) and, when accepted, store it whole in one transaction and answer a transaction-response
Bundle; when refused, store nothing, log the refusal and answer an OperationOutcome.

The service rules, the store and the access-log line share one transaction (the request path's
statements are compiled once, ``simulator.server.sql``); each table's rows go in one
``executemany``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from simulator.server import schema as S
from simulator.server.auth import Principal
from simulator.server.authorship import (
    authors_text,
    bundle_authorship,
    check_authorship,
    check_replacement,
    software_holder,
)
from simulator.server.conformance import Finding, check_resource
from simulator.server.fhir_http import HttpProblem, dumps, findings_outcome
from simulator.server.judge import (
    ACCEPTED,
    Rules,
    Verdict,
    service_finding,
    service_findings,
    software_findings,
    verdict_of,
)
from simulator.server.sql import Sql, Tx
from simulator.server.store import Store, log_access, utc_instant
from simulator.server.submission import (
    DocumentIn,
    Submission,
    UnreadableSubmission,
    day_of,
    document_authors,
    read_submission,
)


def _insert(table: Any) -> Sql:
    """INSERT of every column of ``table`` (values named after the columns)."""
    return Sql(insert(table).values({c.name: bindparam(c.name) for c in table.columns}))


_d = S.documents
#: (id, content_sha1, patient_ins, submission_id, version, last_updated)
_BY_UNIQUE_ID = Sql(select(_d.c.id, _d.c.content_sha1, _d.c.patient_ins, _d.c.submission_id, _d.c.version,
                           _d.c.last_updated).where(_d.c.unique_id == bindparam("uid")))
#: (id, status, patient_ins, version, resource)
_REPLACED = Sql(select(_d.c.id, _d.c.status, _d.c.patient_ins, _d.c.version, _d.c.resource)
                .where(_d.c.id == bindparam("doc_id")))
_SUPERSEDE = Sql(update(_d).where(_d.c.id == bindparam("doc_id")).values(
    status="superseded", version=bindparam("new_version"), last_updated=bindparam("now"),
    resource=bindparam("new_resource")))
_INSERT_SUBMISSION = _insert(S.submissions)
_INSERT_BINARY = _insert(S.binaries)
_INSERT_DOCUMENT = _insert(S.documents)
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
    target = f"Bundle/{bundle.get('id', '-')}"[:300]
    docs = bundle_authorship(bundle)
    who = {"actor_structure": principal.structure, "author": authors_text(docs)}
    try:
        with store.transaction() as tx:
            if not any(f.severity == "error" for f in findings):  # a malformed bundle is refused as such (422);
                check_authorship(tx, principal, docs)  # otherwise who may write what comes first (403)
                for doc in sub.documents if sub else []:
                    if doc.replaces is not None:
                        check_replacement(tx, principal, doc.replaces)
            holder = software_holder(tx, principal)  # DMP-001 judges the submitter's software
            checked = (service_findings(tx, sub, rules, holder) if sub else
                       software_findings(tx, [(holder, day) for _, day in document_authors(bundle)], rules))
            verdict = verdict_of(findings + checked, rules, day)
            if sub is None or not verdict.accepted:  # nothing written: the refusal's log line commits alone
                return _refusal(tx, principal, verdict, target, ins, who)
            answer = _store(tx, sub, principal)
            log_access(tx, actor_kind=principal.kind, actor=principal.id, action="provide",
                       target=_targets(answer), patient_ins=sub.ins, status=answer.status, outcome=answer.verdict,
                       **who)
            return answer
    except _Refused as refused:  # _store's refusals roll back what it wrote; the log line then
        with store.transaction() as tx:
            return _refusal(tx, principal, refused.verdict, target, ins, who)
    except HttpProblem as exc:  # an authorisation refusal: logged with the submitter and the authors
        with store.transaction() as tx:
            log_access(tx, actor_kind=principal.kind, actor=principal.id, action="provide", target=target,
                       patient_ins=ins, status=exc.status, outcome=f"denied {exc.rule_id or exc.code}", **who)
        raise


def _refusal(tx: Tx, principal: Principal, v: Verdict, target: str, ins: str | None,
             who: dict[str, str | None]) -> Answer:
    log_access(tx, actor_kind=principal.kind, actor=principal.id, action="provide", target=target,
               patient_ins=ins, status=v.status, outcome=v.verdict, **who)
    body = findings_outcome(v.findings, v.verdict, SERVICE_ISSUE_CODES)
    return Answer(v.status, body, v.verdict, {"X-DMP-Verdict": v.verdict})


def _targets(answer: Answer) -> str:
    locs = [e["response"].get("location", "") for e in answer.body.get("entry", [])]
    return " ".join(loc.split("/_history")[0] for loc in locs if loc.startswith("DocumentReference/"))


def _free_id(tx: Tx, table: Any, wanted: str | None, taken: set[str]) -> str:
    """A new logical id: the server assigns ids on create (FHIR http.html#create; a POST's
    client id is ignored), a random UUID — no look-up needed."""
    new = uuid.uuid4().hex
    taken.add(new)
    return new


def _replay(tx: Tx, sub: Submission) -> Answer | None:
    """An earlier, identical submission of the same documents (a client's retry): its answer.
    A unique id reused for other content is refused (DMP-006)."""
    found = []
    for i, doc in enumerate(sub.documents):
        row = tx.first(_BY_UNIQUE_ID, {"uid": doc.unique_id})
        if row is None:
            found.append(None)
        elif row[1] != doc.sha1 or row[2] != sub.ins:
            raise _Refused(Verdict("duplicate_unique_id", (service_finding(
                "DMP-006", f"DocumentReference[{i}].masterIdentifier",
                f"unique id {doc.unique_id} is already used by DocumentReference/{row[0]} for other content"),),
                409))
        else:
            found.append(row)
    if not any(found):
        return None
    if not all(found):
        raise _Refused(Verdict("duplicate_unique_id", (service_finding(
            "DMP-006", "DocumentReference.masterIdentifier",
            "some documents of this submission were stored before, others not: resend them separately"),), 409))
    first = next(r for r in found if r is not None)
    entries = []
    docs = iter(found)
    for kind, _, target in sub.entry_urls:
        if kind == "docref":
            doc_id, _sha1, _ins, _sub, version, modified = next(docs)
            entries.append(_entry("200 OK", f"DocumentReference/{doc_id}", version, modified))
        elif kind == "list":
            entries.append(_entry("200 OK", f"List/{first[3]}", 1, first[5]))
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


def _supersede(tx: Tx, sub: Submission, now: str) -> dict[str, int]:
    """Mark the documents the submission replaces superseded (id → new version); raise
    _Refused for a replaced document that does not exist, is not current or is another patient's."""
    superseded: dict[str, int] = {}
    for i, doc in enumerate(sub.documents):
        if doc.replaces is None:
            continue
        old = tx.first(_REPLACED, {"doc_id": doc.replaces})
        problem = ("does not exist" if old is None else "is not current" if old[1] != "current"
                   else "belongs to another patient" if old[2] != sub.ins else None)
        if problem or old is None:
            raise _Refused(Verdict("replacement_invalid", (service_finding(
                "DMP-005", f"DocumentReference[{i}].relatesTo",
                f"the replaced DocumentReference/{doc.replaces} {problem}"),), 422))
        old_id, _, _, old_version, old_resource = old
        res = json.loads(old_resource)
        res["status"] = "superseded"
        res.setdefault("meta", {})["versionId"] = str(old_version + 1)
        res["meta"]["lastUpdated"] = now
        tx.run(_SUPERSEDE, {"doc_id": old_id, "new_version": old_version + 1, "now": now,
                            "new_resource": dumps(res).decode("utf-8")})
        superseded[old_id] = old_version + 1
    return superseded


def _store(tx: Tx, sub: Submission, principal: Principal) -> Answer:
    """Insert the submission (its List, Binaries and DocumentReferences), supersede what it
    replaces; raise _Refused for a bad replacement or a reused unique id."""
    replay = _replay(tx, sub)
    if replay is not None:
        return replay
    now = utc_instant()
    superseded = _supersede(tx, sub, now)
    taken: set[str] = set()
    list_id = _free_id(tx, S.submissions, sub.list_resource.get("id"), taken)
    doc_ids: dict[str, str] = {}
    bin_ids: dict[str, str] = {}
    rows = []
    for doc in sub.documents:
        doc_id = _free_id(tx, S.documents, doc.client_id, taken)
        bin_id = _free_id(tx, S.binaries, doc.binary_client_id or f"{doc_id}-content", taken)
        doc_ids[doc.full_url] = doc_id
        if doc.client_id:  # a relative reference to the client's id is rewritten too
            doc_ids[f"DocumentReference/{doc.client_id}"] = doc_id
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
    tx.run(_INSERT_SUBMISSION, dict(id=list_id, received=now, submitter=principal.id, patient_ins=sub.ins,
                                    submitted=sub.submitted, resource=dumps(lst).decode("utf-8")))
    tx.many(_INSERT_BINARY, [dict(id=bin_id, content_type=doc.content_type, size=len(doc.content), sha1=doc.sha1,
                                  data=doc.content) for doc, _, bin_id in rows])
    tx.many(_INSERT_DOCUMENT, [dict(
        id=doc_id, submission_id=list_id, patient_ins=sub.ins, unique_id=doc.unique_id, status="current",
        type_system=doc.type_system, type_code=doc.type_code, class_code=doc.class_code, date=doc.date,
        author_id_nat_ps=doc.author, confidentiality=" ".join(doc.confidentiality),
        hidden_from_professionals="MASQUE_PS" in doc.confidentiality,
        hidden_from_patient="INVISIBLE_PATIENT" in doc.confidentiality,
        replaces=doc.replaces, binary_id=bin_id, content_sha1=doc.sha1, version=1, last_updated=now,
        resource=dumps(_served(doc, doc_id, bin_id, now)).decode("utf-8")) for doc, doc_id, bin_id in rows])
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
