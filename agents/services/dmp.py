"""The DMP / Mon espace santé document service: accepts or rejects each submission, has a
daily capacity, and can be down; waiting submissions stay in the producers' outbox and are
retried, or dropped once they have waited longer than the scenario allows.

The verdict is vectorised over a batch; its reasons, their precedence and the defect → reason
map are the DMP rule table's (agents/dmp_rules.py), which the FHIR conformance rules use too,
so that a sampled document rendered as FHIR gets the same verdict. The lookup tables below
(for NumPy and the Numba kernel alike) are built from it. It factors into a document part (what the DMP says about the document
itself: INS missing, invalid metadata, bad INS, identity not qualified) and a service part
(the sender's software and the patient's profile state), which a payload cannot carry.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from agents import dmp_rules as rule_table
from agents import kernels
from agents.defects import defect_code
from agents.patients import CLOSED, CREATED, HAS_INS, INSI_OK, OPPOSED, Patients
from agents.producers.base import Batch
from simulator.core import outcomes as oc
from simulator.core.events import Bus
from simulator.core.parallel import INLINE, Workers
from simulator.core.tally import Tally

_NO_OVERRIDE = np.uint8(kernels.NO_OVERRIDE)
#: outcome codes of the document part (besides accepted) and of the service part (rebuilt with
#: the lookup tables when the rule table in force changes: ``_build_tables``)
DOCUMENT_REASONS: frozenset[int] = frozenset()
SERVICE_REASONS: frozenset[int] = frozenset()

#: how the vectorised DMP sees a reason on the patient's status byte ``st`` (and the row's
#: ``qualified`` bit ``q``); reasons absent here are seen only through defects
#: (invalid_metadata, bad_ins) or the sender's ``installed`` column (software_not_installed)
STATUS_CONDITIONS = {
    "ins_missing": lambda st, q: (st & HAS_INS) == 0,
    "identity_not_qualified": lambda st, q: ~(q & ((st & INSI_OK) != 0)),
    "profile_opposed": lambda st, q: (st & OPPOSED) != 0,
    "profile_closed": lambda st, q: (st & CLOSED) != 0,
    "no_profile": lambda st, q: (st & CREATED) == 0,
}
_INSTALLED_REASON = "software_not_installed"


class DmpRules:
    """Which optional DMP rules are in force: the rule table's switches (``rule_table.SWITCHES``;
    each off unless given, positional flags in that order), read as attributes
    (``rules.require_qualified_identity``) and turned on by the interventions (``switch_on``)."""

    __slots__ = ("_on",)

    def __init__(self, *flags: bool, **named: bool) -> None:
        names = rule_table.SWITCHES
        if len(flags) > len(names):
            raise TypeError(f"DmpRules takes at most {len(names)} flags ({', '.join(names)})")
        given = {**dict(zip(names, flags, strict=False)), **named}
        unknown = set(given) - set(names)
        if unknown:
            raise TypeError(f"not a switch of the DMP rule table: {', '.join(sorted(unknown))}")
        object.__setattr__(self, "_on", frozenset(n for n, v in given.items() if v))

    def __getattr__(self, name: str) -> bool:
        if name in rule_table.SWITCHES:
            return name in self._on
        raise AttributeError(name)

    def __setattr__(self, name: str, value: bool) -> None:
        if name not in rule_table.SWITCHES:
            raise AttributeError(f"not a switch of the DMP rule table: {name}")
        on = self._on | {name} if value else self._on - {name}
        object.__setattr__(self, "_on", on)

    def switch_on(self, name: str) -> None:
        """Put the rule ``name`` in force (an intervention of kind ``rule``)."""
        setattr(self, name, True)

    def switches(self) -> dict[str, bool]:
        return {name: name in self._on for name in rule_table.SWITCHES}

    @property
    def key(self) -> frozenset[str]:
        """The switches on (what the lookup tables depend on)."""
        return self._on

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DmpRules) and other._on == self._on

    def __hash__(self) -> int:
        return hash(self._on)

    def __repr__(self) -> str:
        return f"DmpRules({', '.join(f'{n}=True' for n in sorted(self._on))})"


def _status_table(on: frozenset[str], part: str | None = None) -> np.ndarray:
    """Verdict for each (patient status | qualified << 7), as a 256-entry lookup table: the
    first reason of the rule table (of ``part``, or any) in force under the switches ``on``
    whose status condition holds."""
    key = np.arange(256, dtype=np.uint16)
    st = (key & 0x7F).astype(np.uint8)
    qualified = (key >> 7).astype(bool)
    out = np.full(256, oc.ACCEPTED, dtype=np.uint8)
    decided = np.zeros(256, dtype=bool)
    for reason in rule_table.REASONS:
        cond = STATUS_CONDITIONS.get(reason.name)
        if cond is None or (part is not None and reason.part != part):
            continue
        if reason.switch is not None and reason.switch not in on:
            continue
        hit = np.asarray(cond(st, qualified), dtype=bool) & ~decided
        out[hit] = reason.code
        decided |= hit
    return out


def _defect_table(on: frozenset[str]) -> np.ndarray:
    """Outcome each defect code imposes on a document with an INS (255 = none): its reason in
    the rule table, when that reason is in force under the switches ``on``."""
    out = np.full(256, _NO_OVERRIDE, dtype=np.uint8)
    switches = {name: True for name in on}
    for name, reason in rule_table.DEFECTS.items():
        if rule_table.in_force(reason, switches):
            out[defect_code(name)] = rule_table.BY_NAME[reason].code
    return out


@dataclass(frozen=True)
class Tables:
    """The lookup tables of one set of switches on (built once, see ``tables``)."""

    whole: np.ndarray  # the whole verdict by status key (one lookup per row)
    reads_qualified: bool  # whether ``whole`` depends on the key's bit 7 (the row's qualified bit)
    document: np.ndarray  # the document part by status key
    defect: np.ndarray  # defect code → outcome (255: none)
    reject_legacy: bool  # whether software not installed is in force


def tables(rules: DmpRules) -> Tables:
    """The lookup tables under ``rules`` (cached per set of switches on)."""
    found = _BY_SWITCHES.get(rules.key)
    if found is None:
        on = rules.key
        whole = _status_table(on)
        found = Tables(whole, not np.array_equal(whole[:128], whole[128:]), _status_table(on, rule_table.DOCUMENT),
                       _defect_table(on), rule_table.in_force(_INSTALLED_REASON, {n: True for n in on}))
        _BY_SWITCHES[on] = found
    return found


def _check_evaluation_order() -> None:
    """The evaluators (``dmp_verdict`` and the kernel) look the status up, let a defect
    override it on rows with an INS, then refuse legacy software over everything: the first
    reason in force whose condition holds, provided that the table ranks the software reason
    first, ``ins_missing`` next, and every defect's reason above the status reasons after it."""
    names = [r.name for r in rule_table.REASONS]
    if names[:2] != [_INSTALLED_REASON, "ins_missing"]:
        raise ImportError(f"the DMP evaluators need {_INSTALLED_REASON}, then ins_missing, first in the rule table")
    for reason in sorted(set(rule_table.DEFECTS.values()) - {"ins_missing"}):
        earlier_status = [n for n in names[2:names.index(reason)] if n in STATUS_CONDITIONS]
        if earlier_status:
            raise ImportError(f"defect reason {reason} ranks below status reasons {earlier_status}: "
                              f"the DMP evaluators would let the defect win")
    unknown = set(STATUS_CONDITIONS) - set(names)
    if unknown:
        raise ImportError(f"status conditions for reasons not in the rule table: {sorted(unknown)}")


def _build_tables() -> None:
    """The tables from the rule table in force (at import, and again whenever
    ``agents.dmp_rules.scratch_table`` puts another one in force): the per-switch lookup
    tables are rebuilt on demand (``tables``)."""
    global DOCUMENT_REASONS, SERVICE_REASONS, _PROFILE
    _check_evaluation_order()
    DOCUMENT_REASONS = frozenset(r.code for r in rule_table.REASONS if r.part == rule_table.DOCUMENT)
    SERVICE_REASONS = frozenset(r.code for r in rule_table.REASONS if r.part == rule_table.SERVICE)
    _PROFILE = _status_table(frozenset(), rule_table.SERVICE)[:128]
    _BY_SWITCHES.clear()
    if tables(DmpRules()).reads_qualified:  # pragma: no cover - a rule table change
        raise ImportError("with no rule switched on the verdict must not depend on bit 7 of the key")


_PROFILE: np.ndarray = np.zeros(128, dtype=np.uint8)
_BY_SWITCHES: dict[frozenset[str], Tables] = {}
_build_tables()
rule_table.on_change(_build_tables)
#: the existence check by status byte: an INS (the software can ask) and no open profile
_NOT_SENT = np.array([(st & HAS_INS) != 0 and (st & CREATED) == 0 for st in range(256)], dtype=bool)


def _apply_defects(out: np.ndarray, status: np.ndarray, defect: np.ndarray | None, rules: DmpRules) -> None:
    """Defects decide the document part of rows that carry an INS (their reasons outrank the
    status-based ones; a document without INS is ``ins_missing`` whatever else is wrong)."""
    if defect is None or not defect.any():
        return
    override = tables(rules).defect[defect]
    hit = (override != _NO_OVERRIDE) & ((status & HAS_INS) != 0)
    out[hit] = override[hit]


def document_verdict(status: np.ndarray, qualified: np.ndarray, defect: np.ndarray | None,
                     rules: DmpRules) -> np.ndarray:
    """Document part of the verdict: accepted, ins_missing, invalid_metadata, bad_ins or
    identity_not_qualified — what the DMP says about the document itself."""
    status = np.asarray(status, dtype=np.uint8)
    key = (status & np.uint8(0x7F)) | (np.asarray(qualified, dtype=bool).view(np.uint8) << 7)
    out = tables(rules).document[key]
    _apply_defects(out, status, defect, rules)
    return out


def service_verdict(status: np.ndarray, installed: np.ndarray, rules: DmpRules) -> np.ndarray:
    """Service part: software_not_installed (when legacy software is refused), else the
    patient's profile state (profile_opposed, profile_closed, no_profile), else accepted."""
    out = _PROFILE[np.asarray(status, dtype=np.uint8) & 0x7F]
    if tables(rules).reject_legacy:
        out[~np.asarray(installed, dtype=bool)] = oc.REJECT_SOFTWARE
    return out


def combine_verdicts(document: np.ndarray, service: np.ndarray) -> np.ndarray:
    """The DMP's verdict from its two parts: software not installed, else the document part's
    reason, else the profile's."""
    return np.where((service == oc.REJECT_SOFTWARE) | (document == oc.ACCEPTED), service, document).astype(np.uint8)


def dmp_verdict(batch: Batch, patients: Patients, rules: DmpRules) -> np.ndarray:
    """Outcome code of every row of ``batch`` (accepted or the first rejection reason).

    Precedence: software not installed, INS missing, invalid metadata, bad INS, identity not
    qualified, opposed / closed / no profile — the order the FHIR rules use. Equal to
    ``combine_verdicts(document_verdict(…), service_verdict(…))``, in one lookup per row."""
    status = batch.status_now(patients.profile_version)  # read by the identity module, still true
    if status is None:  # a random gather into the whole population: by an intp index about twice as fast
        status = patients.status.take(batch.patient.astype(np.intp))
    found = tables(rules)
    if found.reads_qualified:
        key = batch.qualified.view(np.uint8) << np.uint8(7)
        key |= status & np.uint8(0x7F)
    else:
        key = status  # a table that does not look at bit 7 (the status byte's bit 7 is free)
    out = found.whole.take(key)
    _apply_defects(out, status, batch.defect, rules)
    if found.reject_legacy and not batch.installed.all():
        out[~batch.installed] = oc.REJECT_SOFTWARE
    return out


def _rows_sent(batch: Batch, status: np.ndarray, n_types: int) -> tuple[np.ndarray, int, Batch | None]:
    """The existence check of ``batch`` in compiled passes (any thread: it writes nothing
    shared): the rows stopped, by type, how many, and the batch of the rows sent (None if
    none; ``batch`` itself if all are)."""
    by_type, n_stop = kernels.count_stopped(status, _NOT_SENT, batch.doc_type, n_types)
    if n_stop == len(batch):  # (an empty batch too)
        return by_type, n_stop, None
    if n_stop == 0:
        return by_type, 0, batch
    columns = kernels.rows_sent(status, _NOT_SENT, len(batch) - n_stop, batch.facility, batch.patient,
                                batch.doc_type, batch.qualified, batch.installed, batch.defect)
    return by_type, n_stop, Batch(batch.sector, batch.day, *columns, version=batch.version)


#: with several threads, a day's batches are judged in pieces of at least this many rows,
#: about CHUNKS_PER_THREAD pieces per thread (small pieces cost more in hand-offs than they save)
MIN_CHUNK_ROWS = 50_000
CHUNKS_PER_THREAD = 3


@dataclass(frozen=True)
class _EarlyVerdict:
    """Verdicts judged at submission, with what they were judged under."""

    judged: Judgement
    version: int  # the patients' profile_version of the rows' status bytes
    rules: frozenset[str]  # the DMP rule switches on


@dataclass
class Judgement:
    """What the DMP makes of one batch, before it is counted."""

    outcomes: np.ndarray  # uint8 outcome code per row
    by_type: np.ndarray  # documents [type, outcome]
    by_facility: np.ndarray | None  # accepted documents per facility of the sector (when counted)
    by_dept: np.ndarray | None  # accepted documents per département of the producer (when counted)
    accepted: int
    sampled: np.ndarray | None  # rows offered to the sampler (see Sampler.candidates)


class Sampler(Protocol):
    """Samples judged rows (the payload tier): numbers them in judging order (``reserve``),
    gives each row a key and each stratum a threshold (``keys``, ``thresholds``: any thread),
    makes the rows below their threshold into candidates (``rows``) and keeps them in judging
    order (``accept``)."""

    def reserve(self, n: int) -> int: ...

    def keys(self, seq0: int, n: int) -> np.ndarray: ...

    def thresholds(self, sector: int) -> np.ndarray: ...

    def rows(self, batch: Batch, take: np.ndarray, cells: np.ndarray, keys: np.ndarray,
             seq0: int) -> np.ndarray | None: ...

    def accept(self, rows: np.ndarray | None) -> None: ...


@dataclass
class DailyLog:
    """One row per day of the DMP's activity (simulated counts)."""

    up: list[bool] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    not_sent: list[int] = field(default_factory=list)  # stopped by the senders' existence check


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
        self.bus = Bus()  # publishes dmp.verdict / dmp.dropped / dmp.queued (the run's bus, set by the engine)
        self.sampler: Sampler | None = None  # the payload tier samples judged rows here
        self.facility_dept: list[np.ndarray] = []  # per sector: département of each facility
        self.by_dept: np.ndarray | None = None  # accepted documents [month, sector, département]
        self.workers: Workers = INLINE  # threads that assess batches (the simulation's, if it has some)
        self.kernels = False  # judge with the compiled kernel (set by the simulation; same verdicts)
        self.existence_check = False  # senders check the patient's profile first (set by the simulation)
        self._pending: list[tuple[Batch, Any]] = []  # batches whose existence check still runs (``_settle``)
        self._early: dict[int, tuple[Batch, _EarlyVerdict]] = {}  # batches of the outbox judged at submission
        self._not_sent_today = 0

    def track_territory(self, facility_dept: list[np.ndarray], n_depts: int, n_months: int) -> None:
        """Count accepted documents by the producer's département too (for the flow network)."""
        self.facility_dept = facility_dept
        self.by_dept = np.zeros((n_months, len(facility_dept), n_depts), dtype=np.int64)

    def submit(self, batch: Batch) -> None:
        """A producer sends a batch: it waits in the outbox until processed. With the existence
        check, the sender's software first asks for each patient's profile and does not send
        the rows whose patient has an INS but no open profile (none yet, opposed, closed): they
        are booked ``not_sent`` (outcome ``NOT_SENT_NO_PROFILE``) and never reach the DMP.
        With the kernels and nobody listening to ``dmp.not_sent``, the check runs on the
        workers' threads while the producers go on; ``_settle`` books it, in order, before the
        outbox is next read (the same counts, by the same day)."""
        if not self.existence_check:
            self._enqueue(batch)
            return
        status = batch.status_now(self.patients.profile_version)
        if status is None:
            status = self.patients.status.take(batch.patient)  # int32 indices: no copy of the rows
            batch.status, batch.version = status, self.patients.profile_version
        if self.kernels and not self.bus.wants("dmp.not_sent"):
            self._pending.append((batch, self.workers.submit(self._check_and_judge, batch, status)))
            return
        self._settle()
        stop = _NOT_SENT.take(status)
        n_stop = int(np.count_nonzero(stop))
        by_type = np.bincount(np.compress(stop, batch.doc_type), minlength=self.tally.n_types) if n_stop else None
        self._book_not_sent(batch, by_type, n_stop)
        if n_stop and self.bus.wants("dmp.not_sent"):
            self.bus.publish("dmp.not_sent", batch.take(np.flatnonzero(stop)))
        if n_stop < len(batch):
            self._enqueue(batch.take(np.flatnonzero(~stop)) if n_stop else batch)

    def _enqueue(self, batch: Batch) -> None:
        self.outbox.append(batch)
        self.backlog += len(batch)
        self._received_today += len(batch)

    def _book_not_sent(self, batch: Batch, by_type: np.ndarray | None, n_stop: int) -> None:
        """Count the rows of ``batch`` the existence check stopped (``by_type``: per type)."""
        if n_stop:
            month = int(self.month_of_day[batch.day])
            self.tally.add_counts(month, batch.sector, 0, by_type, oc.NOT_SENT_NO_PROFILE)
            self._not_sent_today += n_stop

    def _check_and_judge(self, batch: Batch, status: np.ndarray) -> tuple[np.ndarray, int, Batch | None,
                                                                          _EarlyVerdict | None]:
        """The existence check of ``batch`` and the verdicts of the rows sent, on a helper
        thread while the producers go on (writes nothing shared). The verdicts are used if the
        batch is judged whole and nothing they depend on has changed by then (``_early_verdict``)."""
        by_type, n_stop, sent = _rows_sent(batch, status, self.tally.n_types)
        early = None
        if sent is not None:
            early = _EarlyVerdict(self._judge(sent), sent.version, self._rules_in_force())
        return by_type, n_stop, sent, early

    def _settle(self) -> None:
        """Book the existence checks still running, in the order the batches came."""
        for batch, task in self._pending:
            by_type, n_stop, sent, early = task.result()
            self._book_not_sent(batch, by_type, n_stop)
            if sent is not None:
                self._enqueue(sent)
                if early is not None:
                    self._early[id(sent)] = (sent, early)
        self._pending.clear()

    def _rules_in_force(self) -> frozenset[str]:
        return self.rules.key

    def _early_verdict(self, part: Batch) -> _EarlyVerdict | None:
        """The verdicts judged at submission for ``part``, if it is that whole batch and the
        profiles and rules are still those they were judged with."""
        found = self._early.pop(id(part), None)
        if found is None or found[0] is not part:
            return None
        early = found[1]
        if early.version != self.patients.profile_version or early.rules != self._rules_in_force():
            return None
        return early

    def _assess(self, batch: Batch, seq0: int, early: _EarlyVerdict | None = None) -> Judgement:
        """Verdicts of ``batch`` and their counts (``early``: judged at submission), and the
        rows it offers to the sampler (rows numbered from ``seq0``); writes nothing shared, so
        batches can be assessed on several threads at once (``_book`` then counts them, in
        order)."""
        judged = early.judged if early is not None else self._judge(batch)
        sampler = self.sampler
        if sampler is None:
            return judged
        keys = sampler.keys(seq0, len(batch))
        take, cells = self._below_threshold(batch, judged.outcomes, keys, sampler.thresholds(batch.sector))
        # a new Judgement rather than dataclasses.replace (tens of thousands of batches in a small run)
        return Judgement(judged.outcomes, judged.by_type, judged.by_facility, judged.by_dept, judged.accepted,
                         sampler.rows(batch, take, cells, keys, seq0))

    def _below_threshold(self, batch: Batch, outcomes: np.ndarray, keys: np.ndarray,
                         thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows whose sampling key is below their stratum's threshold, and their cells
        (defect, type, outcome): one compiled pass with ``kernels``."""
        n_types = self.tally.n_types
        if self.kernels:
            return kernels.sample_rows(outcomes, batch.doc_type, batch.defect, n_types, oc.N_OUTCOMES, keys, thresholds)
        cell = batch.doc_type.astype(np.intp)
        cell *= oc.N_OUTCOMES
        cell += outcomes
        if batch.defect is not None:  # the sampler's strata tell defects apart too
            cell += batch.defect * np.intp(n_types * oc.N_OUTCOMES)
        take = np.flatnonzero(keys < thresholds.take(cell))
        return take, cell[take]

    def _judge(self, batch: Batch) -> Judgement:
        """Verdicts of ``batch`` and their counts (one compiled pass with ``kernels``)."""
        counted = batch.sector == self.gp_sector or self.by_dept is not None
        n_fac = 0
        if counted:
            n_fac = self.gp_month.shape[1] if batch.sector == self.gp_sector else self.facility_dept[batch.sector].size
        n_types = self.tally.n_types
        if self.kernels:
            found = tables(self.rules)
            out, by_type, by_facility, accepted = kernels.judge_rows(
                batch.patient, batch.doc_type, batch.qualified, batch.installed, batch.defect, batch.facility,
                self.patients.status, batch.status_now(self.patients.profile_version),
                found.whole, found.reads_qualified, found.defect, found.reject_legacy, n_types,
                oc.N_OUTCOMES, n_fac)
            by_facility = by_facility if counted else None
        else:
            out = dmp_verdict(batch, self.patients, self.rules)
            cell = batch.doc_type.astype(np.intp)  # (type, outcome) cell of each row
            cell *= oc.N_OUTCOMES
            cell += out
            by_type = np.bincount(cell, minlength=n_types * oc.N_OUTCOMES)
            accepted_fac = np.compress(out == oc.ACCEPTED, batch.facility)
            accepted = accepted_fac.size
            by_facility = np.bincount(accepted_fac, minlength=n_fac) if counted else None
        by_dept = None
        if self.by_dept is not None:
            weights = by_facility.astype(np.float64)  # counts: exact in float64
            by_dept = np.bincount(self.facility_dept[batch.sector], weights=weights,
                                  minlength=self.by_dept.shape[2]).astype(np.int64)
        return Judgement(out, by_type.reshape(n_types, oc.N_OUTCOMES), by_facility, by_dept, int(accepted), None)

    def _book(self, batch: Batch, judged: Judgement) -> None:
        """Count an assessed batch, pass its sampled rows on and publish its verdicts
        (``dmp.verdict``; batches in outbox order)."""
        month = int(self.month_of_day[batch.day])
        self.tally.add_table(month, batch.sector, 0, judged.by_type)
        if batch.sector == self.gp_sector:
            self.gp_month[month] += judged.by_facility.astype(np.int32)
        if judged.by_dept is not None:
            self.by_dept[month, batch.sector] += judged.by_dept
        if self.sampler is not None:
            self.sampler.accept(judged.sampled)
        self.bus.publish("dmp.verdict", batch, judged.outcomes)

    def _drop(self, batch: Batch, day: int) -> None:
        self.bus.publish("dmp.dropped", batch, day)
        month = int(self.month_of_day[batch.day])
        self.tally.add_rows(month, batch.sector, 0, batch.doc_type, np.full(len(batch), oc.DROPPED))

    def _take_within(self, budget: int) -> list[Batch]:
        """Take from the outbox, in order, the batches (the last one maybe split) that fit in
        ``budget`` documents."""
        parts: list[Batch] = []
        while self.outbox and budget > 0:
            batch = self.outbox[0]
            if len(batch) <= budget:
                self.outbox.popleft()
                part = batch
            else:
                self._early.pop(id(batch), None)  # judged whole, if at all: judged again in parts
                part = batch.take(slice(0, budget))
                self.outbox[0] = batch.take(slice(budget, None))
            parts.append(part)
            budget -= len(part)
            self.backlog -= len(part)
        return parts

    def _chunks(self, parts: list[Batch], early: list[_EarlyVerdict | None]
                ) -> tuple[list[Batch], list[_EarlyVerdict | None]]:
        """With several threads, cut the day's batches still to judge into pieces of about
        equal size so that the threads finish together (one sector's batch can be most of the
        day's documents); those judged early stay whole. Counts are additive and the sampler
        numbers rows in order, so the tables are the same."""
        threads = self.workers.threads
        total = sum(len(p) for p, e in zip(parts, early, strict=True) if e is None)
        if threads < 2 or total < 2 * MIN_CHUNK_ROWS:
            return parts, early
        size = max(MIN_CHUNK_ROWS, -(-total // (CHUNKS_PER_THREAD * threads)))
        out: list[Batch] = []
        out_early: list[_EarlyVerdict | None] = []
        for part, e in zip(parts, early, strict=True):
            pieces = [part] if e is not None or len(part) <= size else [
                part.take(slice(i, i + size)) for i in range(0, len(part), size)]
            out += pieces
            out_early += [e] * len(pieces)
        return out, out_early

    def process(self, day: int, capacity: float, max_wait: int | None) -> None:
        """Today's work: judge what capacity allows if up, then drop what waited too long.
        The batches are assessed on the workers' threads and booked here in outbox order."""
        self._settle()
        accepted = rejected = dropped = 0
        if self.up:
            taken = self._take_within(int(capacity))
            early = [self._early_verdict(part) for part in taken]
            parts, early = self._chunks(taken, early)
            seq0 = [0 if self.sampler is None else self.sampler.reserve(len(part)) for part in parts]
            assessed = [self.workers.submit(self._assess, part, q, e) for part, q, e in zip(parts, seq0, early, strict=True)]
            for part, future in zip(parts, assessed, strict=True):
                judged = future.result()
                self._book(part, judged)
                accepted += judged.accepted
                rejected += len(part) - judged.accepted
        wait = self.outage_max_wait if (not self.up and self.outage_max_wait is not None) else max_wait
        if wait is not None:
            while self.outbox and day - self.outbox[0].day >= wait:
                batch = self.outbox.popleft()
                self._early.pop(id(batch), None)
                self._drop(batch, day)
                dropped += len(batch)
                self.backlog -= len(batch)
        log = self.log
        log.up.append(self.up)
        log.received.append(self._received_today)
        log.accepted.append(accepted)
        log.rejected.append(rejected)
        log.dropped.append(dropped)
        log.backlog.append(self.backlog)
        log.not_sent.append(self._not_sent_today)
        self._received_today = 0
        self._not_sent_today = 0

    def finish(self) -> None:
        """End of run: what still waits is counted as queued."""
        self._settle()
        self._early.clear()
        while self.outbox:
            batch = self.outbox.popleft()
            self.bus.publish("dmp.queued", batch)
            month = int(self.month_of_day[batch.day])
            self.tally.add_rows(month, batch.sector, 0, batch.doc_type, np.full(len(batch), oc.QUEUED))
            self.backlog -= len(batch)
