"""The DMP / Mon espace santé document service: accepts or rejects each submission, has a
daily capacity, and can be down; waiting submissions stay in the producers' outbox and are
retried, or dropped once they have waited longer than the scenario allows.

The verdict is vectorised over a batch; its precedence of reasons is the one the FHIR
conformance rules use (``agents.defects``), so that a sampled document rendered as FHIR gets
the same verdict.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from agents.defects import DEFECTS, defect_code
from agents.patients import CLOSED, CREATED, HAS_INS, INSI_OK, OPPOSED, Patients
from agents.producers.base import Batch
from simulator import outcomes as oc
from simulator.tally import Tally

_METADATA_DEFECTS = np.array([defect_code(d) for d, r in DEFECTS.items() if r == "invalid_metadata"], dtype=np.uint8)
_BAD_INS_DEFECTS = np.array([defect_code(d) for d, r in DEFECTS.items() if r == "bad_ins"], dtype=np.uint8)
_NOT_QUAL_DEFECT = np.uint8(defect_code("identity_not_qualified"))


@dataclass
class DmpRules:
    """Which optional DMP rules are in force."""

    require_qualified_identity: bool = False
    reject_legacy_software: bool = False


def _status_table(require_qualified: bool) -> np.ndarray:
    """Outcome of a document for each value of (patient status | qualified << 7): the
    patient-dependent part of the verdict, as a 256-entry lookup table."""
    key = np.arange(256, dtype=np.uint16)
    st = (key & 0x7F).astype(np.uint8)
    qualified = (key >> 7).astype(bool)
    out = np.full(256, oc.ACCEPTED, dtype=np.uint8)
    # lowest precedence first; later assignments override
    out[(st & CREATED) == 0] = oc.REJECT_NO_PROFILE
    out[(st & CLOSED) != 0] = oc.REJECT_CLOSED
    out[(st & OPPOSED) != 0] = oc.REJECT_OPPOSED
    if require_qualified:
        out[~(qualified & ((st & INSI_OK) != 0))] = oc.REJECT_NOT_QUALIFIED
    out[(st & HAS_INS) == 0] = oc.REJECT_INS_MISSING
    return out


_TABLES = {False: _status_table(False), True: _status_table(True)}


def dmp_verdict(batch: Batch, patients: Patients, rules: DmpRules) -> np.ndarray:
    """Outcome code of every row of ``batch`` (accepted or the first rejection reason).

    Precedence: software not installed, INS missing, invalid metadata, bad INS, identity not
    qualified, no profile / opposed / closed — the order the FHIR rules use."""
    key = patients.status[batch.patient] | (batch.qualified.view(np.uint8) << 7)
    out = _TABLES[rules.require_qualified_identity][key]
    d = batch.defect
    if d is not None and d.any():
        has_ins = (patients.status[batch.patient] & HAS_INS) != 0
        if rules.require_qualified_identity:
            out[(d == _NOT_QUAL_DEFECT) & has_ins] = oc.REJECT_NOT_QUALIFIED
        out[np.isin(d, _BAD_INS_DEFECTS) & has_ins] = oc.REJECT_BAD_INS
        out[np.isin(d, _METADATA_DEFECTS) & has_ins] = oc.REJECT_METADATA
    if rules.reject_legacy_software and not batch.installed.all():
        out[~batch.installed] = oc.REJECT_SOFTWARE
    return out


@dataclass
class DailyLog:
    """One row per day of the DMP's activity (simulated counts)."""

    up: list[bool] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)


class DmpService:
    """The simulated DMP: an outbox of batches processed each day within capacity."""

    def __init__(self, patients: Patients, tally: Tally, month_of_day: np.ndarray,
                 gp_sector: int | None, n_gp: int, n_months: int):
        self.patients = patients
        self.tally = tally
        self.month_of_day = month_of_day
        self.rules = DmpRules()
        self.up = True
        self.outage_max_wait: int | None = None
        self.outbox: deque[Batch] = deque()
        self.backlog = 0
        self.log = DailyLog()
        self._received_today = 0
        self.gp_sector = gp_sector
        self.gp_month = np.zeros((n_months, max(n_gp, 0)), dtype=np.int32)
        self.on_verdict = None  # optional hook(batch, outcomes): the payload tier samples here
        self.facility_dept: list[np.ndarray] = []  # per sector: département of each facility
        self.by_dept: np.ndarray | None = None  # accepted documents [month, sector, département]

    def track_territory(self, facility_dept: list[np.ndarray], n_depts: int, n_months: int) -> None:
        """Count accepted documents by the producer's département too (for the flow network)."""
        self.facility_dept = facility_dept
        self.by_dept = np.zeros((n_months, len(facility_dept), n_depts), dtype=np.int64)

    def submit(self, batch: Batch) -> None:
        """A producer sends a batch: it waits in the outbox until processed."""
        self.outbox.append(batch)
        self.backlog += len(batch)
        self._received_today += len(batch)

    def _judge(self, batch: Batch) -> tuple[int, int]:
        out = dmp_verdict(batch, self.patients, self.rules)
        month = int(self.month_of_day[batch.day])
        self.tally.add_rows(month, batch.sector, 0, batch.doc_type, out)
        accepted_fac = batch.facility[out == oc.ACCEPTED]
        if batch.sector == self.gp_sector:
            self.gp_month[month] += np.bincount(accepted_fac, minlength=self.gp_month.shape[1]).astype(np.int32)
        if self.by_dept is not None:
            dept = self.facility_dept[batch.sector][accepted_fac]
            self.by_dept[month, batch.sector] += np.bincount(dept, minlength=self.by_dept.shape[2])
        if self.on_verdict is not None:
            self.on_verdict(batch, out)
        acc = int(accepted_fac.size)
        return acc, len(batch) - acc

    def _drop(self, batch: Batch) -> None:
        month = int(self.month_of_day[batch.day])
        self.tally.add_rows(month, batch.sector, 0, batch.doc_type, np.full(len(batch), oc.DROPPED))

    def process(self, day: int, capacity: float, max_wait: int | None) -> None:
        """Today's work: judge what capacity allows if up, then drop what waited too long."""
        accepted = rejected = dropped = 0
        if self.up:
            budget = int(capacity)
            while self.outbox and budget > 0:
                batch = self.outbox[0]
                if len(batch) <= budget:
                    self.outbox.popleft()
                    part = batch
                else:
                    part = batch.take(slice(0, budget))
                    self.outbox[0] = batch.take(slice(budget, None))
                a, r = self._judge(part)
                accepted += a
                rejected += r
                budget -= len(part)
                self.backlog -= len(part)
        wait = self.outage_max_wait if (not self.up and self.outage_max_wait is not None) else max_wait
        if wait is not None:
            while self.outbox and day - self.outbox[0].day >= wait:
                batch = self.outbox.popleft()
                self._drop(batch)
                dropped += len(batch)
                self.backlog -= len(batch)
        log = self.log
        log.up.append(self.up)
        log.received.append(self._received_today)
        log.accepted.append(accepted)
        log.rejected.append(rejected)
        log.dropped.append(dropped)
        log.backlog.append(self.backlog)
        self._received_today = 0

    def finish(self) -> None:
        """End of run: what still waits is counted as queued."""
        while self.outbox:
            batch = self.outbox.popleft()
            month = int(self.month_of_day[batch.day])
            self.tally.add_rows(month, batch.sector, 0, batch.doc_type, np.full(len(batch), oc.QUEUED))
            self.backlog -= len(batch)
