"""ITI-67 (find DocumentReferences), reading one DocumentReference, and ITI-68 (retrieve the
document): each query under the access rules, each access written to the access log; reads
with their validators (ETag, Last-Modified) for conditional requests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.datastructures import Headers

from simulator.server import schema as S
from simulator.server.access import check_document, check_patient, visible
from simulator.server.auth import Principal
from simulator.server.fhir_http import HttpProblem
from simulator.server.matching import matches_all
from simulator.server.negotiation import Validators
from simulator.server.search import Query, page_token
from simulator.server.store import Store, log_access


def _log(store: Store, principal: Principal, action: str, target: str, ins: str | None, status: int,
         outcome: str) -> None:
    with store.transaction() as tx:
        log_access(tx, actor_kind=principal.kind, actor=principal.id, action=action, target=target,
                   patient_ins=ins, status=status, outcome=outcome)


def _after(date: str | None, doc_id: str, cursor: tuple[str | None, str]) -> bool:
    """Whether the entry (date, id) comes after ``cursor`` in the order: date descending (none
    last), then id."""
    c_date, c_id = cursor
    if c_date is None:
        return date is None and doc_id > c_id
    if date is None:
        return True
    return date < c_date or (date == c_date and doc_id > c_id)


def _link(base: str, pairs: list[tuple[str, str]]) -> str:
    return f"{base}/DocumentReference?{urlencode(pairs, safe='|:,/')}"


def _outcome_entry(ignored: list[str]) -> dict[str, Any]:
    issues = [{"severity": "warning", "code": "not-supported", "diagnostics": f"search parameter {what}: ignored"}
              for what in ignored]
    return {"resource": {"resourceType": "OperationOutcome", "issue": issues}, "search": {"mode": "outcome"}}


def search(store: Store, principal: Principal, q: Query, base: str, query_string: str) -> dict[str, Any]:
    """A searchset Bundle of the DocumentReferences ``principal`` may see that match ``q``.

    The database narrows to the patients named and what the caller may see; the criteria are
    matched on the stored resources (``matching``). Order: date descending, then id — both
    immutable once stored — and the next link resumes after the last entry (keyset), so pages
    neither repeat nor skip a document while others arrive."""
    if q.ins is None:
        if principal.is_professional:
            raise HttpProblem(400, "required", "name the patient: patient.identifier=<system>|<INS> (e.g. "
                                               "urn:oid:1.2.250.1.213.1.4.10|<INS>) or patient=Patient/<INS>")
        q.ins = [principal.id]
    d, p = S.documents, S.patients
    target = f"DocumentReference?{query_string}"
    named = q.ins[0] if len(q.ins) == 1 else None  # the log's patient column holds one INS
    try:
        with store.read() as conn:
            for ins in q.ins:
                check_patient(conn, principal, ins)
            rows = conn.execute(select(d.c.id, d.c.date, d.c.resource)
                                .select_from(d.join(p, p.c.ins == d.c.patient_ins))
                                .where(d.c.patient_ins.in_(q.ins), visible(principal, p.c.gp_id_nat_ps))).all()
    except HttpProblem as exc:
        _log(store, principal, "search", target, named, exc.status, f"denied {exc.rule_id or exc.code}")
        raise
    found = []
    for row in rows:
        res = json.loads(row.resource)
        if matches_all(q.criteria, res):
            found.append((row.date, row.id, res))
    found.sort(key=lambda f: f[1])
    found.sort(key=lambda f: f[0] or "", reverse=True)  # stable: date descending, none last, then id
    total = len(found)
    rest = [f for f in found if _after(f[0], f[1], q.after)] if q.after else found
    page = rest[q.offset:q.offset + q.count]
    _log(store, principal, "search", target, named, 200, f"granted {len(page)} of {total}")
    kept = [(k, v) for k, v in q.used if k not in ("_page", "_offset")]
    links = [{"relation": "self", "url": _link(base, q.used)}]
    if len(rest) > q.offset + q.count and page:
        last = page[-1]
        nxt = [(k, v) for k, v in kept if k != "_count"] + [("_count", str(q.count)),
                                                            ("_page", page_token(last[0], last[1]))]
        links.append({"relation": "next", "url": _link(base, nxt)})
    entries: list[dict[str, Any]] = [{"fullUrl": f"{base}/DocumentReference/{res['id']}", "resource": res,
                                      "search": {"mode": "match"}} for _, _, res in page]
    if q.ignored:
        entries.append(_outcome_entry(q.ignored))
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


def _document_row(conn: Any, where: Any) -> Any:
    d = S.documents
    return conn.execute(select(d.c.id, d.c.patient_ins, d.c.author_id_nat_ps, d.c.hidden_from_professionals,
                               d.c.hidden_from_patient, d.c.resource, d.c.binary_id).where(where)).first()


@contextmanager
def _readable_document(store: Store, principal: Principal, action: str, target: str,
                       where: Any) -> Iterator[tuple[Any, Any]]:
    """(connection, row) of the document ``where`` selects, once ``principal`` may read it: 404
    when absent, 403 when not allowed, and a refusal logged as ``action`` on ``target``."""
    ins = None
    try:
        with store.read() as conn:
            row = _document_row(conn, where)
            if row is None:
                raise HttpProblem(404, "not-found", f"{target} does not exist")
            ins = row.patient_ins
            check_document(conn, principal, row)
            yield conn, row
    except HttpProblem as exc:
        _log(store, principal, action, target, ins, exc.status, f"denied {exc.rule_id or exc.code}")
        raise


def read_document(store: Store, principal: Principal, doc_id: str,
                  conditions: Headers | None = None) -> tuple[dict[str, Any], Validators, bool]:
    """One DocumentReference (404 when absent, 403 when not allowed), its validators, and
    whether the client's copy named in ``conditions`` (If-None-Match…) is current (304)."""
    target = f"DocumentReference/{doc_id}"
    with _readable_document(store, principal, "read", target, S.documents.c.id == doc_id) as (_, row):
        res = json.loads(row.resource)
    meta = res.get("meta") or {}
    validators = Validators(f'W/"{meta.get("versionId", "1")}"', str(meta.get("lastUpdated") or "1970-01-01T00:00:00Z"))
    unchanged = conditions is not None and validators.unchanged(conditions)
    _log(store, principal, "read", target, row.patient_ins, 304 if unchanged else 200, "granted")
    return res, validators, unchanged


def retrieve(store: Store, principal: Principal, binary_id: str,
             conditions: Headers | None = None) -> tuple[bytes, str, Validators, bool]:
    """ITI-68: the document's bytes and content type (under its DocumentReference's rules), its
    validators (the content never changes: ETag its SHA-1), and whether the client's copy is current."""
    target = f"Binary/{binary_id}"
    with _readable_document(store, principal, "retrieve", target, S.documents.c.binary_id == binary_id) as (conn, row):
        b = conn.execute(select(S.binaries.c.data, S.binaries.c.content_type, S.binaries.c.sha1,
                                S.submissions.c.received)
                         .select_from(S.binaries.join(S.documents, S.documents.c.binary_id == S.binaries.c.id)
                                      .join(S.submissions, S.submissions.c.id == S.documents.c.submission_id))
                         .where(S.binaries.c.id == binary_id)).first()
    validators = Validators(f'"{b.sha1}"', b.received)
    unchanged = conditions is not None and validators.unchanged(conditions)
    _log(store, principal, "retrieve", target, row.patient_ins, 304 if unchanged else 200, "granted")
    return bytes(b.data), b.content_type, validators, unchanged


def binary_resource(binary_id: str, data: bytes, content_type: str) -> dict[str, Any]:
    """The document as a FHIR Binary resource."""
    return {"resourceType": "Binary", "id": binary_id, "contentType": content_type,
            "data": base64.b64encode(data).decode("ascii")}
