"""Identity qualification per patient: INSi lookups (00 / 01 / 02, retried), the identity
document check, and a qualified state that never goes back (domain §3, §9 rule 1).

One uint8 state and one int32 day per person, updated per batch of documents with NumPy
gathers and scatters: a document's cost is one gather of its patient's state and a compare;
only the rows of patients not yet qualified, at a facility whose identity practice qualifies,
go further (their lookup or ID check). States only move forward:
NOT_LOOKED_UP → PENDING_01 / PENDING_02 (retried) → RETRIEVED (INSi 00, RECUP) → QUALIFIED
(00 and a high-trust ID checked, QUAL). Persons without an INS (AME, tourists) are NO_INS and
can never be qualified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.patients import HAS_INS, INSI_OK, Patients

NOT_LOOKED_UP = np.uint8(0)  # has an INS, never looked up through INSi
PENDING_01 = np.uint8(1)  # INSi answered 01 (no identity found): retried at a later visit
PENDING_02 = np.uint8(2)  # INSi answered 02 (several identities): retried at a later visit
RETRIEVED = np.uint8(3)  # INSi answered 00 (RECUP): waits for the identity document check
QUALIFIED = np.uint8(4)  # 00 and checked against a high-trust ID (QUAL): for good
NO_INS = np.uint8(5)  # no INS matricule (AME, tourists): cannot be qualified
STATE_NAMES = ("not_looked_up", "pending_01", "pending_02", "retrieved", "qualified", "no_ins")
#: lookup outcomes counted (``failed``: INSi down, the identity waits in the backlog)
LOOKUP_NAMES = ("00", "01", "02", "failed")


@dataclass(frozen=True)
class QualificationRules:
    """How identities get qualified (scenario block ``[identity]``)."""

    id_check_share: float  # chance a visit checks the ID document of a retrieved identity
    retry_days: int  # days before an 01 / 02 identity is looked up again
    resolve_01: float  # chance a retry resolves an 01 (the patient's documents correct the traits)
    resolve_02: float  # chance a retry resolves an 02 (a manual identity check picks the identity)
    backlog_days: int  # days over which the identities an INSi outage left are looked up again
    new_to_facility_share: float = 0.0  # documents whose patient is new to the facility: it must call INSi


class Qualification:
    """The qualification state of every person, and what the lookups did (counters)."""

    def __init__(self, patients: Patients, rules: QualificationRules, rng: np.random.Generator,
                 initial_qualified_share: float = 0.0):
        self.patients = patients
        self.rules = rules
        self.rng = rng
        n = patients.n
        has_ins = (patients.status & HAS_INS) != 0
        self.state = np.where(has_ins, NOT_LOOKED_UP, NO_INS).astype(np.uint8)
        self.day = np.zeros(n, dtype=np.int32)  # qualified / retrieved: that day; pending: next retry
        if initial_qualified_share > 0:  # identities qualified before the run (a world that starts late)
            already = np.flatnonzero(has_ins & (patients.insi == 0) & (rng.random(n) < initial_qualified_share))
            self.state[already] = QUALIFIED
            patients.status[already] |= INSI_OK
        self.counts = np.bincount(self.state, minlength=len(STATE_NAMES)).astype(np.int64)
        self.lookups = np.zeros(len(LOOKUP_NAMES), dtype=np.int64)  # since the last ``take_counters``
        self.id_checks = 0
        self.up = True  # whether INSi answers
        self._backlog: list[np.ndarray] = []  # persons whose lookup failed while INSi was down
        self._catch_up: np.ndarray = np.empty(0, dtype=np.int32)
        self._catch_up_per_day = 0

    # -- documents ------------------------------------------------------------------
    def qualify_rows(self, patient: np.ndarray, practice: np.ndarray | bool, day: int) -> np.ndarray:
        """Whether each document of ``patient`` is sent with a qualified identity (bool per row),
        once the facility (``practice``: its identity practice qualifies, per row or for all)
        has looked up and checked the identities it may."""
        st = self.state.take(patient.astype(np.intp, copy=False))
        qualified = st == QUALIFIED
        if practice is False:
            return np.zeros(patient.size, dtype=bool)
        todo = st < QUALIFIED
        if practice is not True:
            qualified &= practice
            todo &= practice
        rows = np.flatnonzero(todo)
        if rows.size:
            p = patient[rows].astype(np.intp)
            due = self.day.take(p) <= day
            if not due.all():
                rows, p = rows[due], p[due]
            if rows.size:
                self._advance(p, day)
                qualified[rows] = self.state.take(p) == QUALIFIED
        if not self.up and self.rules.new_to_facility_share > 0:
            # INSi down: a facility that sees a qualified patient for the first time cannot
            # retrieve the INS either; the document goes unqualified (the person stays qualified)
            q = np.flatnonzero(qualified)
            lost = q[self.rng.random(q.size) < self.rules.new_to_facility_share]
            qualified[lost] = False
            self.lookups[3] += lost.size
        return qualified

    def _advance(self, p: np.ndarray, day: int) -> None:
        """One visit of each person in ``p`` (repeats allowed) to a facility that qualifies."""
        first = self._first_rows(p)
        p = p[first]
        self._transition(p, self.state[p], day, backlog=False)

    def _first_rows(self, p: np.ndarray) -> np.ndarray:
        """One row per distinct person of ``p`` (which row is irrelevant: they all read the same
        state), in linear time: stamp each person's row in ``day``, keep the rows whose stamp
        survived, then put the days back."""
        if p.size < 2:
            return np.ones(p.size, dtype=bool)
        saved = self.day[p]
        stamp = -1 - np.arange(p.size, dtype=np.int32)  # negative: never a day
        self.day[p] = stamp
        first = self.day[p] == stamp
        self.day[p] = saved
        return first

    def _transition(self, p: np.ndarray, st: np.ndarray, day: int, backlog: bool) -> None:
        """Lookups and ID checks of distinct persons ``p`` in states ``st`` (all below QUALIFIED)."""
        r = self.rules
        new = st.copy()
        u = self.rng.random(p.size)
        retrieved = st == RETRIEVED  # the INS is known: only the ID check is left (no INSi call)
        asks = ~retrieved
        if not self.up:  # INSi down: the lookups fail, the identities wait in the backlog
            failed = p[asks]
            if failed.size:
                self._backlog.append(failed.astype(np.int32))
                self.lookups[3] += failed.size
            asks[:] = False
        found = np.zeros(p.size, dtype=bool)
        first = asks & (st == NOT_LOOKED_UP)
        if first.any():
            answer = self.patients.insi.take(p[first])  # the answer INSi gives this person's traits
            found[first] = answer == 0
            new[first] = np.where(answer == 0, RETRIEVED, np.where(answer == 1, PENDING_01, PENDING_02))
            self.lookups[:3] += np.bincount(answer, minlength=3)[:3]
        retry = asks & ((st == PENDING_01) | (st == PENDING_02))
        if retry.any():
            resolve = np.where(st[retry] == PENDING_01, r.resolve_01, r.resolve_02)
            ok = u[retry] < resolve
            idx = np.flatnonzero(retry)
            # resolved by the patient's documents (01) or a manual identity check (02): the ID
            # has been checked on the way, so the identity is qualified at once
            new[idx[ok]] = QUALIFIED
            self.lookups[0] += int(ok.sum())
            self.lookups[1] += int(np.count_nonzero(~ok & (st[retry] == PENDING_01)))
            self.lookups[2] += int(np.count_nonzero(~ok & (st[retry] == PENDING_02)))
        # ID check of identities retrieved now or before (in the backlog: checked at the visit)
        check = (found | retrieved) & (u < r.id_check_share)
        if backlog:
            check = found | (retrieved & (u < r.id_check_share))
        new[check] = QUALIFIED
        self.id_checks += int(np.count_nonzero(check))
        changed = new != st
        if not changed.any() and not retry.any():
            return
        pending = (new == PENDING_01) | (new == PENDING_02)
        d = self.day[p]
        d = np.where(changed & ~pending, day, d)
        d = np.where(pending & (asks | (new != st)), day + r.retry_days, d)
        self.day[p] = d
        self.counts -= np.bincount(st[changed], minlength=len(STATE_NAMES))
        self.counts += np.bincount(new[changed], minlength=len(STATE_NAMES))
        self.state[p] = new
        ins_ok = p[changed & ((new == RETRIEVED) | (new == QUALIFIED))]
        self.patients.status[ins_ok] |= INSI_OK

    # -- INSi availability -------------------------------------------------------------
    def set_up(self, up: bool) -> None:
        """INSi goes down, or comes back: the backlog it left is then looked up again over
        ``backlog_days`` days (``catch_up``)."""
        self.up = bool(up)
        if up and self._backlog:
            waiting = np.unique(np.concatenate(self._backlog))
            self._backlog = []
            self._catch_up = np.concatenate([self._catch_up, waiting]).astype(np.int32)
            self._catch_up_per_day = -(-self._catch_up.size // max(self.rules.backlog_days, 1))

    def catch_up(self, day: int) -> None:
        """Look up again today's share of the backlog an outage left (while INSi is up)."""
        if not self.up or self._catch_up.size == 0:
            return
        k = self._catch_up_per_day
        p, self._catch_up = self._catch_up[:k].astype(np.intp), self._catch_up[k:]
        p = np.unique(p)
        st = self.state[p]
        p, st = p[st < QUALIFIED], st[st < QUALIFIED]
        if p.size:
            self._transition(p, st, day, backlog=True)

    # -- what happened ------------------------------------------------------------------
    def take_counters(self) -> tuple[np.ndarray, int]:
        """Lookups by outcome and ID checks since the last call (and reset them)."""
        out = (self.lookups.copy(), self.id_checks)
        self.lookups[:] = 0
        self.id_checks = 0
        return out
