"""ITI-67 (find DocumentReferences), reading one DocumentReference, and ITI-68 (retrieve the
document): each query under the access rules, each access written to the access log.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import and_, func, or_, select

from simulator.server import schema as S
from simulator.server.access import check_document, check_patient, visible
from simulator.server.auth import Principal
from simulator.server.fhir_http import HttpProblem
from simulator.server.search import Query
from simulator.server.store import Store, log_access


def _log(store: Store, principal: Principal, action: str, target: str, ins: str | None, status: int,
         outcome: str) -> None:
    with store.transaction() as tx:
        log_access(tx, actor_kind=principal.kind, actor=principal.id, action=action, target=target,
                   patient_ins=ins, status=status, outcome=outcome)


def _date_clause(op: str, low: str, high: str) -> Any:
    c = S.documents.c.date
    if low == high:
        return {"eq": c == low, "ge": c >= low, "gt": c > low, "le": c <= low, "lt": c < low}[op]
    return {"eq": and_(c >= low, c < high), "ge": c >= low, "gt": c >= high, "le": c < high, "lt": c < low}[op]


def _tokens(col_code: Any, col_system: Any, tokens: list[tuple[str | None, str]]) -> Any:
    parts = []
    for system, code in tokens:
        cond = col_code == code
        if system is not None and col_system is not None:
            cond = and_(cond, col_system == system)
        parts.append(cond)
    return or_(*parts)


def search(store: Store, principal: Principal, q: Query, base: str, query_string: str) -> dict[str, Any]:
    """A searchset Bundle of the DocumentReferences ``principal`` may see."""
    if q.ins is None:
        if principal.is_professional:
            raise HttpProblem(400, "required", "patient.identifier is required "
                                               "(e.g. patient.identifier=urn:oid:1.2.250.1.213.1.4.10|<INS>)")
        q.ins = principal.id
    d, p = S.documents, S.patients
    target = f"DocumentReference?{query_string}"
    try:
        with store.read() as conn:
            check_patient(conn, principal, q.ins)
            where = [d.c.patient_ins == q.ins, visible(principal, p.c.gp_id_nat_ps)]
            if q.status:
                where.append(d.c.status.in_(q.status))
            if q.types:
                where.append(_tokens(d.c.type_code, d.c.type_system, q.types))
            if q.categories:
                where.append(_tokens(d.c.class_code, None, q.categories))
            if q.ids:
                where.append(d.c.id.in_(q.ids))
            where += [_date_clause(*dt) for dt in q.dates]
            base_q = select(d.c.resource).select_from(d.join(p, p.c.ins == d.c.patient_ins)).where(*where)
            total = conn.execute(select(func.count()).select_from(base_q.subquery())).scalar() or 0
            rows = conn.execute(base_q.order_by(d.c.date.desc(), d.c.id).limit(q.count).offset(q.offset)).all()
    except HttpProblem as exc:
        _log(store, principal, "search", target, q.ins, exc.status, f"denied {exc.rule_id or exc.code}")
        raise
    _log(store, principal, "search", target, q.ins, 200, f"granted {len(rows)} of {total}")
    links = [{"relation": "self", "url": f"{base}/DocumentReference?{query_string}"}]
    if q.offset + q.count < total:
        params = [kv for kv in query_string.split("&") if kv and not kv.startswith(("_offset=", "_count="))]
        params += [f"_count={q.count}", f"_offset={q.offset + q.count}"]
        links.append({"relation": "next", "url": f"{base}/DocumentReference?{'&'.join(params)}"})
    entries = []
    for (text,) in rows:
        res = json.loads(text)
        entries.append({"fullUrl": f"{base}/DocumentReference/{res['id']}", "resource": res,
                        "search": {"mode": "match"}})
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


def _document_row(conn: Any, where: Any) -> Any:
    d = S.documents
    return conn.execute(select(d.c.id, d.c.patient_ins, d.c.author_id_nat_ps, d.c.hidden_from_professionals,
                               d.c.hidden_from_patient, d.c.resource, d.c.binary_id).where(where)).first()


def read_document(store: Store, principal: Principal, doc_id: str) -> dict[str, Any]:
    """One DocumentReference (404 when absent, 403 when not allowed)."""
    target = f"DocumentReference/{doc_id}"
    ins = None
    try:
        with store.read() as conn:
            row = _document_row(conn, S.documents.c.id == doc_id)
            if row is None:
                raise HttpProblem(404, "not-found", f"{target} does not exist")
            ins = row.patient_ins
            check_document(conn, principal, row)
    except HttpProblem as exc:
        _log(store, principal, "read", target, ins, exc.status, f"denied {exc.rule_id or exc.code}")
        raise
    _log(store, principal, "read", target, ins, 200, "granted")
    return json.loads(row.resource)


def retrieve(store: Store, principal: Principal, binary_id: str) -> tuple[bytes, str]:
    """ITI-68: the document's bytes and content type (under its DocumentReference's rules)."""
    target = f"Binary/{binary_id}"
    ins = None
    try:
        with store.read() as conn:
            row = _document_row(conn, S.documents.c.binary_id == binary_id)
            if row is None:
                raise HttpProblem(404, "not-found", f"{target} does not exist")
            ins = row.patient_ins
            check_document(conn, principal, row)
            b = conn.execute(select(S.binaries.c.data, S.binaries.c.content_type)
                             .where(S.binaries.c.id == binary_id)).first()
    except HttpProblem as exc:
        _log(store, principal, "retrieve", target, ins, exc.status, f"denied {exc.rule_id or exc.code}")
        raise
    _log(store, principal, "retrieve", target, ins, 200, "granted")
    return bytes(b.data), b.content_type


def binary_resource(binary_id: str, data: bytes, content_type: str) -> dict[str, Any]:
    """The document as a FHIR Binary resource."""
    return {"resourceType": "Binary", "id": binary_id, "contentType": content_type,
            "data": base64.b64encode(data).decode("ascii")}
