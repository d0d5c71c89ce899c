"""Who may read what (the DMP's access rules, simulated): a professional reads documents of
patients whose profile is open or activated, never documents masked from professionals
(MASQUE_PS) unless they wrote them or are the patient's médecin traitant; a patient reads only
their own documents, except those marked INVISIBLE_PATIENT. Refusals name an ACC rule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, or_, select, true

from simulator.server import schema as S
from simulator.server.auth import Principal
from simulator.server.fhir_http import HttpProblem
from simulator.server.judge import profile_state_on
from simulator.server.sql import Tx

ACCESS_RULES = {
    "ACC-001": (401, "A request carries a bearer token (Authorization: Bearer …)."),
    "ACC-002": (401, "The bearer token is signed by this server, unexpired, for this audience."),
    "ACC-003": (403, "Only professionals submit documents."),
    "ACC-004": (403, "A professional reads the record of a patient whose profile is open or activated."),
    "ACC-005": (403, "A document masked from professionals (MASQUE_PS) is read only by its author or the "
                     "patient's médecin traitant; one marked INVISIBLE_PATIENT is not shown to the patient."),
    "ACC-006": (403, "A patient reads only their own documents."),
    "ACC-007": (403, "A document is added only by one of its authors, or by the structure that is an author's "
                     "institution (DMP integration guide EX_2.1-1140: direct / indirect authentication)."),
    "ACC-008": (403, "A document is replaced only by one who may read it and is its author or of its author's "
                     "structure (DMP integration guide EX_2.1-1140)."),
}
READABLE_STATES = ("open", "activated")


def denied(rule_id: str, message: str) -> HttpProblem:
    status, _ = ACCESS_RULES[rule_id]
    code = "login" if status == 401 else "forbidden"
    headers = {"WWW-Authenticate": 'Bearer realm="segur-dmp"'} if status == 401 else None
    return HttpProblem(status, code, message, rule_id, headers)


def check_patient(conn: Connection, principal: Principal, ins: str) -> None:
    """403 unless ``principal`` may read patient ``ins``'s record at all."""
    if principal.is_professional:
        state = profile_state_on(Tx.over(conn), ins, None)
        if state not in READABLE_STATES:
            why = {None: "is not known to this DMP", "not_created": "has no profile",
                   "opposed": "opposed the creation of a profile", "closed": "closed their profile"}.get(state, state)
            raise denied("ACC-004", f"the patient (INS {ins}) {why}: no professional may read this record")
    elif principal.id != ins:
        raise denied("ACC-006", "a patient reads only their own documents")


def visible(principal: Principal, gp_of_patient: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
    """SQL condition on ``documents`` rows: the documents ``principal`` may see."""
    d = S.documents
    if principal.is_professional:
        allowed = [d.c.hidden_from_professionals == false(), d.c.author_id_nat_ps == principal.id]
        if gp_of_patient is not None:
            allowed.append(gp_of_patient == principal.id)
        return or_(*allowed)
    return and_(d.c.patient_ins == principal.id, d.c.hidden_from_patient == false())


def check_document(conn: Connection, principal: Principal, row: Any) -> None:
    """403 unless ``principal`` may read this ``documents`` row."""
    check_patient(conn, principal, row.patient_ins)
    if principal.is_professional:
        if row.hidden_from_professionals and row.author_id_nat_ps != principal.id:
            gp = conn.execute(select(S.patients.c.gp_id_nat_ps).where(S.patients.c.ins == row.patient_ins)).scalar()
            if gp != principal.id:
                raise denied("ACC-005", "this document is masked from professionals (MASQUE_PS)")
    elif row.hidden_from_patient:
        raise denied("ACC-005", "this document is not visible to the patient (INVISIBLE_PATIENT)")


__all__ = ["ACCESS_RULES", "check_document", "check_patient", "denied", "visible", "true"]
