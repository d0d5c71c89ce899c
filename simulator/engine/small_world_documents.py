"""Every document of a small-world run as a file: DMP submissions as ITI-65 bundles, MSSanté
messages as the message structure of ``agents/fhir/mssante.py``, plus the e-prescriptions.

DMP documents are the rows the DMP judged (``simulator.engine.small_world``): each is rendered with the
identities of ``agents.small_world`` and judged by the conformance rules in the rule context
the DMP was in; the file's verdict is compared with the document part of the engine's.
MSSanté messages are counted, not drawn one by one, by the engine (per day, sector, channel,
type and outcome); here each counted message is given to a document: a DMP document of the same
sector, day and type whose sender has a mailbox and whose patient can be reached when there is
one (the lab report that goes to the DMP *and* to the GP), otherwise a document sent by MSSanté
only, from a facility drawn as the engine weighs senders. Counts by day, sector, channel, type
and outcome are exactly the engine's. Likewise the pharmacy of each e-prescription dispensation
(the flow only says it is one drawn by size that scans) is drawn here among those that scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.catalogue import load_catalogue
from agents.defects import defect_name
from agents.fhir import build_message, validate_message
from agents.patients import CREATED, HAS_INS
from agents.payloads import identity_status, judge_row, rendered_defect
from agents.services.dmp import DmpRules, document_verdict
from agents.small_world import Cast
from simulator.core.outcomes import CHANNELS, OUTCOMES

PRESCRIPTION_TYPE = "57833-6"
FROM_PATIENT = CHANNELS.index("mssante_from_patient")
DELIVERY_TYPE = "15508-5"  # CR d'accouchement


@dataclass
class DmpDocument:
    """One document submitted to the DMP, its file and its verdicts."""

    doc_id: str
    day: int
    judged: int
    sector: str
    facility: int
    patient: int
    type_code: str
    outcome: str  # accepted | rejected | dropped | queued | not_sent
    reason: str  # engine reason ('' when accepted)
    document_reason: str  # what the payload itself earns: accepted or a document reason
    fhir_verdict: str
    errors: tuple[str, ...]
    identity_status: str
    rule: bool  # the qualified-identity rule was in force when the DMP judged it
    path: str  # relative to the output folder
    spec: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def agrees(self) -> bool:
        return self.fhir_verdict == self.document_reason


@dataclass
class Message:
    """One MSSanté message and where it went."""

    msg_id: str
    day: int  # sent (production day)
    booked: int  # the day the network delivered, bounced or left it in transit
    sector: str
    facility: int
    patient: int
    channel: str  # mssante_pro | mssante_patient | mssante_from_patient
    type_code: str
    outcome: str  # delivered | bounced | in_transit
    recipient: str  # address
    recipient_node: tuple[str, int] | None  # (sector, facility) of a professional recipient
    doc_id: str | None  # the DMP document it also carries, if any
    operator: str  # the sender's MSSanté operator (agents.services.mssante_operators)
    path: str
    errors: tuple[str, ...] = ()


@dataclass
class Prescription:
    """One e-prescription registered in the base, and its dispensation if any."""

    number: int
    patient: int
    day: int
    gp: int
    doc_id: str | None
    dispensed: int | None = None
    pharmacy: int | None = None


@dataclass
class Rendered:
    """The files of a small-world run and what each stands for."""

    documents: list[DmpDocument]
    messages: list[Message]
    prescriptions: list[Prescription]
    rejected_scans: int


def _created(date: str, serial: int) -> str:
    """A creation time on the production day, in French winter/summer time (fixed +01:00)."""
    minutes = 8 * 60 + (serial * 37) % (10 * 60)
    return f"{date}T{minutes // 60:02d}:{minutes % 60:02d}:00+01:00"


class Renderer:
    """Turns a recorded demo run into files under ``out``."""

    def __init__(self, sim: Any, cast: Cast, out: Path, seed: int):
        self.sim = sim
        self.cast = cast
        self.out = out
        self.world = sim.world
        self.dates = [str(d) for d in self.world.calendar.dates]
        self.cat = load_catalogue()
        self.rng = np.random.default_rng([seed, 0xD0C])
        self.sector_names = self.world.sector_names

    def date(self, day: int) -> str:
        return self.dates[min(day, len(self.dates) - 1)]

    # -- DMP documents ----------------------------------------------------------------
    def _spec(self, doc_id: str, sector: str, facility: int, patient: int, type_code: str, day: int,
              serial: int, status_code: str, defect: str | None) -> dict[str, Any]:
        f = self.cast.facility(sector, facility)
        person = self.cast.person(patient)
        return {
            "doc_id": doc_id, "type_code": type_code, "created": _created(self.date(day), serial),
            "ins": person.ins, "ins_oid": person.ins_oid, "family": person.family, "given": (person.given,),
            "birth_date": person.birth_date, "sex": person.sex, "birth_place": person.birth_place,
            "identity_status": status_code, "defect": defect,
            "author_id_nat_ps": f.id_nat_ps, "author_family": f.author_family, "author_given": f.author_given,
            "org_id_nat_struct": f.id_nat_struct, "org_name": f.name,
        }

    def documents(self) -> list[DmpDocument]:
        rows = self.sim.recorder.dmp_rows()
        n = rows["day"].size
        out: list[DmpDocument] = []
        if n == 0:
            return out
        order = np.lexsort((np.arange(n), rows["day"]))
        doc_part = np.zeros(n, dtype=np.uint8)
        for rule in (False, True):
            m = rows["rule"] == rule
            if m.any():
                doc_part[m] = document_verdict(rows["status"][m], rows["qualified"][m], rows["defect"][m],
                                               DmpRules(require_qualified_identity=rule))
        per_day: dict[int, int] = {}
        for i in order.tolist():
            day = int(rows["day"][i])
            k = per_day[day] = per_day.get(day, 0) + 1
            sector = self.sector_names[int(rows["sector"][i])]
            type_code = self.cat[int(rows["doc_type"][i])].code
            status = int(rows["status"][i])
            qualified = bool(rows["qualified"][i])
            doc_id = f"{sector}-{self.date(day)}-{k:04d}"
            defect = rendered_defect(defect_name(int(rows["defect"][i])), bool(status & HAS_INS))
            status_code = identity_status(status, qualified)
            spec = self._spec(doc_id, sector, int(rows["facility"][i]), int(rows["patient"][i]), type_code,
                              day, k, status_code, defect)
            judged = judge_row(spec, require_qualified_identity=bool(rows["rule"][i]))
            rel = f"dmp/{self.date(day)}/{doc_id}.json"
            self._write(rel, judged.bundle)
            outcome, reason = OUTCOMES[int(rows["outcome"][i])]
            d_outcome, d_reason = OUTCOMES[int(doc_part[i])]
            out.append(DmpDocument(doc_id, day, int(rows["judged"][i]), sector, int(rows["facility"][i]),
                                   int(rows["patient"][i]), type_code, outcome, reason, d_reason or d_outcome,
                                   judged.verdict, judged.errors, status_code, bool(rows["rule"][i]), rel, spec))
        return out

    # -- MSSanté messages -------------------------------------------------------------
    def _reachable(self, channel: int, sector: Any, doc: DmpDocument, day: int) -> bool:
        p = self.world.patients
        if not int(p.status[doc.patient]) & HAS_INS:
            return False
        if sector.mailbox_day[doc.facility] > day:
            return False
        if channel == 2:
            return bool(sector.install_day[doc.facility] <= day) and bool(int(p.status[doc.patient]) & CREATED)
        recipient = sector.cfg.mssante.recipient
        if recipient == "gp":
            gp = int(p.gp[doc.patient])
            return gp >= 0 and bool(self.world.sector("gp").mailbox_day[gp] <= day)
        return recipient in self.sector_names

    def _sender(self, channel: int, sector: Any, day: int) -> int:
        """A facility drawn as the engine weighs the senders of a channel."""
        box = sector.mailbox_day <= day
        inst = sector.install_day <= day
        m = sector.cfg.mssante
        if channel == 1:
            w = np.where(box, sector.size * np.where(inst, m.to_professional, m.to_professional_legacy), 0.0)
        else:
            w = np.where(box & inst, sector.size, 0.0)
        if w.sum() <= 0:
            w = np.ones(sector.n)
        return int(self.rng.choice(sector.n, p=w / w.sum()))

    def _patient_for(self, sector: Any, facility: int, channel: int, day: int, type_code: str) -> int:
        """A patient of the facility's range who can be reached on the channel (best effort;
        a delivery report goes to a woman of child-bearing age)."""
        p = self.world.patients
        start, size = int(sector.patient_start[facility]), int(sector.patient_size[facility])
        today = np.datetime64(self.date(day))
        cand = start
        for _ in range(200):
            cand = start + int(self.rng.integers(0, max(size, 1)))
            st = int(p.status[cand])
            ok = bool(st & HAS_INS) and (bool(st & CREATED) if channel == 2 else
                                         sector.cfg.mssante.recipient != "gp" or p.gp[cand] >= 0)
            if ok and type_code == DELIVERY_TYPE:
                age = (today - p.birth(cand)).astype(int) / 365.25
                ok = int(p.sex[cand]) == 2 and 16 <= age <= 48
            if ok:
                return cand
        return cand

    def _recipient(self, channel: int, sector: Any, patient: int, day: int) -> tuple[str, tuple[str, int] | None]:
        if channel == 2:
            return self.cast.person(patient).mailbox or "", None
        recipient = sector.cfg.mssante.recipient
        if recipient == "gp" and self.world.patients.gp[patient] >= 0:
            gp = int(self.world.patients.gp[patient])
            return self.cast.facility("gp", gp).address, ("gp", gp)
        target = self.world.sector(recipient if recipient in self.sector_names else "gp")
        w = np.where(target.mailbox_day <= day, target.size, 0.0)
        if w.sum() <= 0:
            w = target.size.astype(float)
        j = int(self.rng.choice(target.n, p=w / w.sum()))
        return self.cast.facility(target.name, j).address, (target.name, j)

    def messages(self, docs: list[DmpDocument]) -> list[Message]:
        by_key: dict[tuple[str, int, str], list[DmpDocument]] = {}
        for d in docs:
            by_key.setdefault((d.sector, d.day, d.type_code), []).append(d)
        used: set[tuple[str, int]] = set()
        out: list[Message] = []
        events = sorted(self.sim.recorder.mss, key=lambda e: (e[0], e[1], e[2]))
        serial: dict[int, int] = {}
        only: dict[int, int] = {}
        for prod, booked, outcome_code, arr in events:
            outcome = OUTCOMES[outcome_code][0]
            for k, c, t in zip(*np.nonzero(arr), strict=True):
                sector = self.world.sectors[int(k)]
                type_code = self.cat[int(t)].code
                pool = [] if c == FROM_PATIENT else [d for d in by_key.get((sector.name, prod, type_code), [])
                        if (d.doc_id, int(c)) not in used and self._reachable(int(c), sector, d, prod)]
                picks = [pool[i] for i in self.rng.permutation(len(pool))[: int(arr[k, c, t])]]
                for j in range(int(arr[k, c, t])):
                    if c == FROM_PATIENT:
                        out.append(self._patient_message(sector, prod, booked, outcome, type_code, serial, only))
                        continue
                    if j < len(picks):
                        doc: DmpDocument | None = picks[j]
                        used.add((doc.doc_id, int(c)))
                        spec, fac, patient, doc_id = doc.spec, doc.facility, doc.patient, doc.doc_id
                    else:
                        doc = None
                        fac = self._sender(int(c), sector, prod)
                        patient = self._patient_for(sector, fac, int(c), prod, type_code)
                        only[prod] = only.get(prod, 0) + 1
                        doc_id = f"{sector.name}-{self.date(prod)}-m{only[prod]:03d}"
                        spec = self._spec(doc_id, sector.name, fac, patient, type_code, prod, only[prod] + 500,
                                          "QUAL", None)
                    address, node = self._recipient(int(c), sector, patient, prod)
                    sender = self.cast.facility(sector.name, fac)
                    msg = build_message(spec, sender.address, [address], read_receipt=int(c) == 1)
                    data = msg.to_dict()
                    serial[prod] = serial.get(prod, 0) + 1
                    msg_id = f"mss-{self.date(prod)}-{serial[prod]:04d}"
                    data["delivery"] = {"channel": CHANNELS[int(c)], "operator": sender.operator, "outcome": outcome,
                                        "sent": self.date(prod), "booked": self.date(booked) if booked < len(self.dates) else None}
                    rel = f"mssante/{self.date(prod)}/{msg_id}.json"
                    self._write(rel, data)
                    errors = tuple(sorted({f.rule_id for f in validate_message(msg) if f.severity == "error"}))
                    out.append(Message(msg_id, prod, booked, sector.name, fac, patient, CHANNELS[int(c)], type_code,
                                       outcome, address, node, doc.doc_id if doc else None, sender.operator, rel, errors))
        return out

    def _patient_message(self, sector: Any, prod: int, booked: int, outcome: str, type_code: str,
                         serial: dict[int, int], only: dict[int, int]) -> Message:
        """A patient's reply from Mon espace santé to a professional of ``sector`` who has a
        mailbox, carrying a document of the patient's (a prescription to a pharmacy)."""
        w = np.where(sector.mailbox_day <= prod, sector.size, 0.0)
        fac = int(self.rng.choice(sector.n, p=w / w.sum())) if w.sum() > 0 else int(self.rng.integers(sector.n))
        patient = self._patient_for(sector, fac, 2, prod, type_code)
        only[prod] = only.get(prod, 0) + 1
        doc_id = f"{sector.name}-{self.date(prod)}-p{only[prod]:03d}"
        spec = self._spec(doc_id, sector.name, fac, patient, type_code, prod, only[prod] + 800, "QUAL", None)
        facility = self.cast.facility(sector.name, fac)
        sender = self.cast.person(patient).mailbox or ""
        msg = build_message(spec, sender, [facility.address], in_reply_to=f"<thread-{doc_id}@{facility.address.split('@')[-1]}>")
        data = msg.to_dict()
        serial[prod] = serial.get(prod, 0) + 1
        msg_id = f"mss-{self.date(prod)}-{serial[prod]:04d}"
        data["delivery"] = {"channel": "mssante_from_patient", "operator": "mes", "outcome": outcome,
                            "sent": self.date(prod), "booked": self.date(booked) if booked < len(self.dates) else None}
        rel = f"mssante/{self.date(prod)}/{msg_id}.json"
        self._write(rel, data)
        errors = tuple(sorted({f.rule_id for f in validate_message(msg) if f.severity == "error"}))
        return Message(msg_id, prod, booked, sector.name, fac, patient, "mssante_from_patient", type_code, outcome,
                       facility.address, (sector.name, fac), None, "mes", rel, errors)

    # -- e-prescriptions --------------------------------------------------------------
    def prescriptions(self, docs: list[DmpDocument]) -> list[Prescription]:
        rec = self.sim.recorder
        copies: dict[tuple[int, int, int], list[str]] = {}
        for d in docs:
            if d.sector == "gp" and d.type_code == PRESCRIPTION_TYPE:
                copies.setdefault((d.day, d.facility, d.patient), []).append(d.doc_id)
        out = {}
        for r in rec.registered:
            ids = copies.get((r["day"], r["gp"], r["patient"]))
            out[r["id"]] = Prescription(r["id"], r["patient"], r["day"], r["gp"], ids.pop(0) if ids else None)
        pharmacy = self.world.sector("pharmacy") if "pharmacy" in self.sector_names else None
        for d in rec.dispensed:
            p = out.get(d["id"])
            if p is None:
                continue
            p.dispensed = d["day"]
            if d["pharmacy"] >= 0:
                p.pharmacy = d["pharmacy"]
            elif pharmacy is not None:  # the flow's "pharmacy drawn by size that scans", drawn here
                cand = d.get("scanning")
                cand = np.arange(pharmacy.n) if cand is None or cand.size == 0 else cand
                w = pharmacy.size[cand]
                p.pharmacy = int(cand[self.rng.choice(cand.size, p=w / w.sum())])
        return list(out.values())

    # -- all ----------------------------------------------------------------------------
    def render(self) -> Rendered:
        docs = self.documents()
        return Rendered(docs, self.messages(docs), self.prescriptions(docs), self.sim.recorder.rejected_scans)

    def _write(self, rel: str, data: dict) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


__all__ = ["DmpDocument", "Message", "Prescription", "Rendered", "Renderer"]
