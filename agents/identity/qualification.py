"""Identity qualification per patient: INSi lookups (00 / 01 / 02, retried), the identity
document check, and a qualified state that never goes back (domain §3, §9 rule 1).

One uint8 state and one int32 day per person, updated per batch of documents with NumPy
gathers and scatters; a qualified person also has the ``ID_QUALIFIED`` bit of the patients'
status byte. A document's cost is one gather of its patient's status byte (which the DMP then
reuses, see ``Batch.status``) and a test of that bit;
only the rows of patients not yet qualified, at a facility whose identity practice qualifies,
go further (their lookup or ID check). States only move forward:
NOT_LOOKED_UP → PENDING_01 / PENDING_02 (retried) → RETRIEVED (INSi 00, RECUP) → QUALIFIED
(00 and a high-trust ID checked, QUAL). Persons without an INS (AME, tourists) are NO_INS and
can never be qualified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.patients import HAS_INS, ID_QUALIFIED, INSI_OK, Patients
from simulator.core.arrays import sorted_unique
from simulator.core.parallel import INLINE, Workers

NOT_LOOKED_UP = np.uint8(0)  # has an INS, never looked up through INSi
PENDING_01 = np.uint8(1)  # INSi answered 01 (no identity found): retried at a later visit
PENDING_02 = np.uint8(2)  # INSi answered 02 (several identities): retried at a later visit
RETRIEVED = np.uint8(3)  # INSi answered 00 (RECUP): waits for the identity document check
QUALIFIED = np.uint8(4)  # 00 and checked against a high-trust ID (QUAL): for good
NO_INS = np.uint8(5)  # no INS matricule (AME, tourists): cannot be qualified
STATE_NAMES = ("not_looked_up", "pending_01", "pending_02", "retrieved", "qualified", "no_ins")
#: lookup outcomes counted (``failed``: INSi down, the identity waits in the backlog)
LOOKUP_NAMES = ("00", "01", "02", "failed")


_NORMAL, _OUTAGE, _BACKLOG = 0, 1, 2
_N_CODES = 4 * 3 * 2  # (state below QUALIFIED) × first INSi answer × success of the draw
#: per state after a visit: whether a retry waits ``retry_days``; the status bits it implies
_RETRY_AFTER = np.array([0, 1, 1, 0, 0, 0], dtype=np.int32)
_INSI_BIT = np.array([0, 0, 0, INSI_OK, INSI_OK | ID_QUALIFIED, 0], dtype=np.uint8)
#: with several threads, a batch's rows are scanned in pieces of at least this many rows
MIN_PIECE_ROWS = 25_000


@dataclass(frozen=True)
class _Tables:
    """What a visit does, by code = (state · 3 + first answer) · 2 + success: the new state, the
    chance of success (by code without the success bit), and what it counts."""

    threshold: np.ndarray  # float64 [12]
    new: np.ndarray  # uint8 [24]
    lookups: np.ndarray  # int64 [len(LOOKUP_NAMES), 24]
    id_check: np.ndarray  # int64 [24]
    moves: np.ndarray  # int64 [len(STATE_NAMES), 24]: +1 to the new state, −1 to the old one
    day_add: np.ndarray  # int32 [24]: the person's day becomes today + this (a retry's delay)
    retries: np.ndarray  # bool [24]: the visit leaves the person waiting for a retry (its day is set)
    insi_bit: np.ndarray  # uint8 [24]: INSI_OK when INSi has answered 00, ID_QUALIFIED once qualified


def _tables(rules: QualificationRules, mode: int) -> _Tables:
    """The transition tables of a visit under ``mode`` (INSi up, down, or its backlog)."""
    threshold = np.zeros(12)
    new = np.zeros(_N_CODES, dtype=np.uint8)
    lookups = np.zeros((len(LOOKUP_NAMES), _N_CODES), dtype=np.int64)
    id_check = np.zeros(_N_CODES, dtype=np.int64)
    moves = np.zeros((len(STATE_NAMES), _N_CODES), dtype=np.int64)
    for st in range(4):
        for answer in range(3):
            c = st * 3 + answer
            for ok in (0, 1):
                k = c * 2 + ok
                if st == RETRIEVED:  # the INS is known: the ID check, no INSi call
                    threshold[c] = rules.id_check_share
                    new[k], id_check[k] = (QUALIFIED, 1) if ok else (RETRIEVED, 0)
                elif mode == _OUTAGE:  # the call fails: nothing changes, the person waits
                    new[k] = st
                    lookups[3, k] = 1
                elif st == NOT_LOOKED_UP:
                    lookups[answer, k] = 1
                    if answer == 0:  # 00: then the ID check (already done at the visit for the backlog)
                        threshold[c] = 1.0 if mode == _BACKLOG else rules.id_check_share
                        new[k], id_check[k] = (QUALIFIED, 1) if ok else (RETRIEVED, 0)
                    else:
                        new[k] = PENDING_01 if answer == 1 else PENDING_02
                else:  # a retry: resolved (documents, manual check: the ID is checked) or not
                    threshold[c] = rules.resolve_01 if st == PENDING_01 else rules.resolve_02
                    new[k] = QUALIFIED if ok else st
                    lookups[0 if ok else st, k] = 1
                moves[new[k], k] += 1
                moves[st, k] -= 1
    day_add = (_RETRY_AFTER[new] * rules.retry_days).astype(np.int32)
    return _Tables(threshold, new, lookups, id_check, moves, day_add, _RETRY_AFTER[new] != 0, _INSI_BIT[new])


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
        self.day = np.zeros(n, dtype=np.int32)  # pending (01 / 02): the day of the next retry; only read then
        if initial_qualified_share > 0:  # identities qualified before the run (a world that starts late)
            already = np.flatnonzero(has_ins & (patients.insi == 0) & (rng.random(n) < initial_qualified_share))
            self.state[already] = QUALIFIED
            patients.status[already] |= INSI_OK | ID_QUALIFIED
        self._counts0 = np.bincount(self.state, minlength=len(STATE_NAMES)).astype(np.int64)
        self._failed = 0  # documents of qualified persons sent unqualified while INSi was down
        # visits by code and mode, since the start (``_seen``) and since ``take_counters`` (``_tally``)
        self._seen = np.zeros((3, _N_CODES), dtype=np.int64)
        self._tally = np.zeros((3, _N_CODES), dtype=np.int64)
        self.up = True  # whether INSi answers
        self._backlog: list[np.ndarray] = []  # persons whose lookup failed while INSi was down
        self._catch_up: np.ndarray = np.empty(0, dtype=np.int32)
        self._catch_up_per_day = 0
        self._tables = [_tables(rules, mode) for mode in (_NORMAL, _OUTAGE, _BACKLOG)]
        #: scan the rows with the compiled loop (large runs; the same rows and states either way)
        self.kernels = False

    # -- documents ------------------------------------------------------------------
    def qualify_rows(self, patient: np.ndarray, practice: np.ndarray | bool, day: int,
                     facility: np.ndarray | None = None) -> np.ndarray:
        """Whether each document of ``patient`` is sent with a qualified identity (bool per row);
        see ``read_rows``."""
        return self.read_rows(patient, practice, day, facility)[0]

    def read_rows(self, patient: np.ndarray, practice: np.ndarray | bool, day: int,
                  facility: np.ndarray | None = None, workers: Workers = INLINE) -> tuple[np.ndarray, np.ndarray]:
        """Whether each document of ``patient`` is sent with a qualified identity (bool per row),
        once the facility has looked up and checked the identities it may, and each row's
        patient status byte after those lookups. ``practice``: whether the facility qualifies
        identities — per row, for all (True / False), or per facility when ``facility`` (each
        row's facility) is given. With the kernels, ``workers`` scan pieces of the rows at once
        (the scan only reads; the lookups then follow in row order)."""
        status = self.patients.status
        persons = None  # the persons of ``rows``, where the scan has them already
        if self.kernels and (not isinstance(practice, np.ndarray) or facility is not None):
            qualified, snap, rows = _scan_pieces(patient, practice, facility, status, self.state, self.day,
                                                 day, workers)
        else:
            if facility is not None and isinstance(practice, np.ndarray):
                practice = practice.take(facility.astype(np.intp, copy=False))
            qualified, snap, rows, persons = _scan_numpy(patient, practice, status, self.state, self.day, day)
        if rows.size:
            p = patient.take(rows).astype(np.intp) if persons is None else persons
            self._advance(p, day)
            qualified[rows] = self.state.take(p) == QUALIFIED
            snap[rows] = status.take(p)
        if not self.up and self.rules.new_to_facility_share > 0 and qualified.any():
            # INSi down: a facility that sees a qualified patient for the first time cannot
            # retrieve the INS either; the document goes unqualified (the person stays qualified)
            q = np.flatnonzero(qualified)
            lost = q[self.rng.random(q.size) < self.rules.new_to_facility_share]
            qualified[lost] = False
            self._failed += lost.size
        return qualified, snap

    def _advance(self, p: np.ndarray, day: int) -> None:
        """One visit of each person in ``p`` (repeats allowed) to a facility that qualifies."""
        if self.kernels and self.up:  # the same persons, draws and states in two compiled passes
            k = _visit_kernels()
            rows = np.empty(p.size, dtype=np.int64)
            p = p.take(rows[:k["last"](p, self.state, rows)])
            t = self._tables[_NORMAL]
            k["visit"](p, self.state, self.day, self.patients.insi, self.patients.status, t.threshold, t.new,
                       t.day_add, t.retries, t.insi_bit, self.rng.random(p.size), self._tally[_NORMAL], np.int32(day))
            return
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
        """Lookups and ID checks of distinct persons ``p`` in states ``st`` (all below QUALIFIED),
        driven by the tables of ``_tables``: one code per row, a few passes whatever happens."""
        mode = _OUTAGE if not self.up else _BACKLOG if backlog else _NORMAL
        t = self._tables[mode]
        code = st * np.uint8(3)
        code += self.patients.insi.take(p).astype(np.uint8)
        success = self.rng.random(p.size) < t.threshold.take(code)
        code = code.astype(np.intp) * 2 + success
        new = t.new.take(code)
        self._tally[mode] += np.bincount(code, minlength=_N_CODES)
        if mode == _OUTAGE:
            failed = p[st < RETRIEVED]
            if failed.size:
                self._backlog.append(failed.astype(np.int32))
        self.state[p] = new
        retry = t.retries.take(code)
        self.day[p[retry]] = t.day_add.take(code[retry]) + np.int32(day)
        self.patients.status[p] |= t.insi_bit.take(code)

    # -- INSi availability -------------------------------------------------------------
    def set_up(self, up: bool) -> None:
        """INSi goes down, or comes back: the backlog it left is then looked up again over
        ``backlog_days`` days (``catch_up``)."""
        self.up = bool(up)
        if up and self._backlog:
            waiting = sorted_unique(np.concatenate(self._backlog))
            self._backlog = []
            self._catch_up = np.concatenate([self._catch_up, waiting]).astype(np.int32)
            self._catch_up_per_day = -(-self._catch_up.size // max(self.rules.backlog_days, 1))

    def catch_up(self, day: int) -> None:
        """Look up again today's share of the backlog an outage left (while INSi is up)."""
        if not self.up or self._catch_up.size == 0:
            return
        k = self._catch_up_per_day
        p, self._catch_up = self._catch_up[:k].astype(np.intp), self._catch_up[k:]
        p = sorted_unique(p)
        st = self.state[p]
        p, st = p[st < QUALIFIED], st[st < QUALIFIED]
        if p.size:
            self._transition(p, st, day, backlog=True)

    # -- what happened ------------------------------------------------------------------
    @property
    def counts(self) -> np.ndarray:
        """Persons in each state (``STATE_NAMES``) now."""
        seen = self._seen + self._tally
        return self._counts0 + sum(t.moves @ seen[m] for m, t in enumerate(self._tables))

    def take_counters(self) -> tuple[np.ndarray, int]:
        """Lookups by outcome (``LOOKUP_NAMES``) and ID checks since the last call (and reset them)."""
        lookups = sum(t.lookups @ self._tally[m] for m, t in enumerate(self._tables))
        lookups[3] += self._failed
        id_checks = int(sum(t.id_check @ self._tally[m] for m, t in enumerate(self._tables)))
        self._seen += self._tally
        self._tally[:] = 0
        self._failed = 0
        return lookups, id_checks


# -- the scan of a batch's rows: NumPy, or one compiled pass (agents/kernels.py's rule) ------------
_ALL = np.ones(1, dtype=bool)
_KERNEL: dict[str, object] = {}
_QUALIFIED_BIT = int(ID_QUALIFIED)  # a plain int: a compile-time constant for Numba


def _scan_numpy(patient: np.ndarray, practice: np.ndarray | bool, status: np.ndarray, state: np.ndarray,
                day_arr: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows sent qualified as things stand, each row's patient status byte, the rows whose
    person the facility looks up or checks today (not qualified, has an INS, due, at a facility
    that qualifies) and those rows' persons (intp)."""
    snap = status.take(patient.astype(np.intp, copy=False))
    if practice is False:
        return np.zeros(patient.size, dtype=bool), snap, np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    qualified = (snap & ID_QUALIFIED) != 0
    todo = ~qualified
    if practice is not True:
        qualified &= practice
        todo &= practice
    rows = np.flatnonzero(todo)
    p = patient.take(rows).astype(np.intp)
    if rows.size:
        s = state.take(p)
        keep = s < QUALIFIED  # persons without an INS are never looked up
        waits = (s == PENDING_01) | (s == PENDING_02)  # only a retry waits its day
        if waits.any():
            keep &= ~(waits & (day_arr.take(p) > day))  # not yet due
        rows = rows[keep]
        p = p[keep]
    return qualified, snap, rows, p


def _scan_rows(patient, facility, practice, mode, status, state, day_arr, day,
               qualified, snap, rows):  # pragma: no cover - compiled
    """``_scan_numpy`` in one pass (Numba), into the outputs (returns how many ``rows``).
    ``mode``: no facility qualifies (0), all do (1), or per facility (2). The status bytes are
    gathered first, in a loop without branches (many cache misses in flight at once); a row's
    state is read only when it is not qualified. Pieces of a batch are passed as views: a loop
    over ``range(lo, hi)`` compiles to a gather about half as fast."""
    n = patient.size
    for i in range(n):
        snap[i] = status[patient[i]]
    # without branches on the rows' values (a qualified bit set for most rows, but not all,
    # makes a branch mispredicted often): each row's flag, and the rows to look at further
    k = 0
    for i in range(n):
        practises = mode == 1 or (mode == 2 and practice[facility[i]])
        is_qualified = (snap[i] & _QUALIFIED_BIT) != 0
        qualified[i] = practises and is_qualified
        rows[k] = i
        k += practises and not is_qualified
    m = 0
    for j in range(k):
        i = rows[j]
        p = patient[i]
        s = state[p]
        if s == 0 or s == 3 or (s < 3 and day_arr[p] <= day):  # a retry waits its day
            rows[m] = i
            m += 1
    return m


def _scan_pieces(patient: np.ndarray, practice: np.ndarray | bool, facility: np.ndarray | None,
                 status: np.ndarray, state: np.ndarray, day_arr: np.ndarray, day: int,
                 workers: Workers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The compiled scan, in one piece per thread when the batch is large enough (pieces only
    read shared arrays; their rows are put back in order)."""
    n = patient.size
    qualified = np.empty(n, dtype=bool)
    snap = np.empty(n, dtype=np.uint8)
    rows = np.empty(n, dtype=np.int64)
    mode = 0 if practice is False else 1 if practice is True else 2
    fac = facility if facility is not None else patient
    prac = practice if mode == 2 else _ALL
    pieces = max(1, min(workers.threads, n // MIN_PIECE_ROWS))
    b = [n * i // pieces for i in range(pieces + 1)]
    kernel = _scan_kernel()
    tasks = [workers.submit(kernel, patient[b[i]:b[i + 1]], fac[b[i]:b[i + 1]], prac, mode, status, state, day_arr,
                            np.int32(day), qualified[b[i]:b[i + 1]], snap[b[i]:b[i + 1]], rows[b[i]:b[i + 1]])
             for i in range(pieces)]
    counts = [int(t.result()) for t in tasks]
    if pieces == 1:
        return qualified, snap, rows[:counts[0]]
    return qualified, snap, np.concatenate([rows[b[i]:b[i] + counts[i]] + b[i] for i in range(pieces)])


def _last_rows(p, state, rows):  # pragma: no cover - compiled
    """``_first_rows`` compiled: the rows (indices into ``rows``, returns how many) where each
    person of ``p`` last appears, in order. Walks the rows backwards marking each person's
    state with bit 7 (states are below 8): a marked person was seen at a later row. ``_visit``
    reads the states without the mark and writes the new ones over it."""
    m = 0
    for i in range(p.size - 1, -1, -1):
        q = p[i]
        x = state[q]
        rows[m] = i
        m += (x & 0x80) == 0  # without a branch: a repeated person is rare, but not predictable
        state[q] = x | 0x80
    for j in range(m // 2):  # back to row order
        rows[j], rows[m - 1 - j] = rows[m - 1 - j], rows[j]
    return m


def _visit(p, state, day_arr, insi, status, threshold, new, day_add, retries, insi_bit, u, tally, day):  # pragma: no cover
    """``_transition`` compiled (INSi up), for distinct persons ``p`` with one uniform each:
    gathers, then the codes, then scatters."""
    n = p.size
    code = np.empty(n, np.int64)
    st = np.empty(n, np.uint8)
    for j in range(n):
        q = p[j]
        code[j] = np.int64(state[q] & 0x7F) * 3 + np.int64(insi[q])  # without the mark of _last_rows
        st[j] = status[q]
    for j in range(n):
        c = code[j] * 2 + np.int64(u[j] < threshold[code[j]])
        code[j] = c
        tally[c] += 1
    for j in range(n):
        q = p[j]
        c = code[j]
        state[q] = new[c]
        if retries[c]:  # only a retry's day is ever read
            day_arr[q] = day_add[c] + day
        status[q] = st[j] | insi_bit[c]


def _visit_kernels() -> dict[str, object]:
    """The compiled visit passes (built, or loaded from Numba's on-disk cache, at first use)."""
    if "visit" not in _KERNEL:
        import numba

        _KERNEL["last"] = numba.njit(nogil=True, cache=True)(_last_rows)
        _KERNEL["visit"] = numba.njit(nogil=True, cache=True)(_visit)
    return _KERNEL


def _scan_kernel():
    """The compiled scan (built, or loaded from Numba's on-disk cache, at first use)."""
    if "scan" not in _KERNEL:
        import numba  # only runs that use the kernels pay for importing Numba

        _KERNEL["scan"] = numba.njit(nogil=True, cache=True)(_scan_rows)
    return _KERNEL["scan"]
