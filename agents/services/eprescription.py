"""The national e-prescription base (domain §7): registered prescriptions and their dispensation.

Each registered prescription has an id, a patient, the day it was written and a consumed flag.
A dispensation must reference an existing, unconsumed, unexpired prescription; any other
reference is rejected with its reason (``REJECT_REASONS``) and changes nothing. Prescriptions
sit in one contiguous window ordered by id (ids are given in registration order, so also by
day): expired ones leave from the front, so memory is bounded by the validity period, not by
the length of the run.
"""

from __future__ import annotations

import numpy as np

ACCEPTED = 0
UNKNOWN = 1  # no prescription has this id (mistyped or forged code)
CONSUMED = 2  # already dispensed: the QR code is single-use
EXPIRED = 3  # written more than validity_days ago (and gone from the base)
REJECT_REASONS = {UNKNOWN: "unknown_prescription", CONSUMED: "already_dispensed", EXPIRED: "expired"}
#: the scenario rule (kind = "rule") that makes the e-prescription mandatory from its date
MANDATE_RULE = "eprescription_mandatory"

_FLAG_CONSUMED = np.uint8(1)


class PrescriptionBase:
    """Registered prescriptions of the last ``validity_days`` days, as arrays (patients only
    once some are given: a run that never reads them does not keep them, -1 for unknown).

    Set ``audit = True`` (class or instance) to keep every registration and accepted
    dispensation, so that tests can check the rules independently of the window.
    """

    audit = False

    def __init__(self, validity_days: int, capacity: int = 4096):
        if validity_days < 1:
            raise ValueError("validity_days must be at least 1")
        self.validity = int(validity_days)
        self.lo = 0  # id of the oldest prescription still in the window
        self.next_id = 0  # id the next registration gets
        self._start = 0  # array position of id ``lo``
        self._patient: np.ndarray | None = None  # allocated when patients are first given (memory)
        self._day = np.empty(capacity, dtype=np.int32)
        self._flags = np.zeros(capacity, dtype=np.uint8)
        self.open = 0  # unconsumed prescriptions in the window
        self.peak = 0  # most prescriptions the window ever held (memory bound)
        self._last_day = -(1 << 30)
        self.audit_registered: list[tuple[np.ndarray, np.ndarray]] = []
        self.audit_dispensed: list[tuple[np.ndarray, int]] = []

    # -- state ------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Prescriptions in the window (consumed or not)."""
        return self.next_id - self.lo

    @property
    def capacity(self) -> int:
        return int(self._day.size)

    def _pos(self, ids: np.ndarray) -> np.ndarray:
        return self._start + (ids - self.lo)

    def _reserve(self, k: int) -> None:
        n = self.size
        if self._start + n + k <= self.capacity:
            return
        cap = self.capacity
        if n + k > cap // 2:  # grow; otherwise moving the window to the front is enough
            cap = max(2 * cap, 2 * (n + k))
        sl = slice(self._start, self._start + n)
        day, flags = np.empty(cap, dtype=np.int32), np.zeros(cap, dtype=np.uint8)
        day[:n], flags[:n] = self._day[sl], self._flags[sl]
        if self._patient is not None:
            patient = np.empty(cap, dtype=np.int32)
            patient[:n] = self._patient[sl]
            self._patient = patient
        self._day, self._flags = day, flags
        self._start = 0

    # -- operations -------------------------------------------------------------------
    def register(self, patient: np.ndarray, day: int) -> np.ndarray:
        """Register prescriptions written on ``day`` for ``patient`` (one per row); return their ids."""
        patient = np.asarray(patient, dtype=np.int32)
        return self._append(patient, int(patient.size), day)

    def _append(self, patient: np.ndarray | None, k: int, day: int, want_ids: bool = True) -> np.ndarray | None:
        """Register ``k`` prescriptions of ``day`` (patients -1 when ``patient`` is None)."""
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64) if want_ids or self.audit else None
        if k == 0:
            return ids
        if day < self._last_day:
            raise ValueError(f"prescriptions must be registered in day order (day {day} after day {self._last_day})")
        self._last_day = int(day)
        self._reserve(k)
        end = self._start + self.size
        if patient is not None and self._patient is None:
            self._patient = np.full(self.capacity, -1, dtype=np.int32)
        if self._patient is not None:
            self._patient[end:end + k] = -1 if patient is None else patient
        self._day[end:end + k] = day
        self._flags[end:end + k] = 0
        self.next_id += k
        self.open += k
        self.peak = max(self.peak, self.size)
        if self.audit:
            self.audit_registered.append((ids.copy(), np.full(k, day, dtype=np.int32)))
        return ids

    def register_count(self, k: int, day: int) -> int:
        """Register ``k`` prescriptions written on ``day`` whose patients nobody reads (the
        national run does not draw them); return the first id (the others follow it)."""
        first = self.next_id
        self._append(None, int(k), day, want_ids=False)
        return first

    def check(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Verdict of dispensing each id on ``day`` (ACCEPTED or a rejection code), changing nothing.

        Repeated ids are judged independently here; ``dispense`` accepts only the first."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(ids.size, UNKNOWN, dtype=np.uint8)
        known = (ids >= 0) & (ids < self.next_id)
        out[known & (ids < self.lo)] = EXPIRED  # left the window: only expiry removes prescriptions
        inwin = known & (ids >= self.lo)
        pos = self._pos(ids[inwin])
        code = np.where(day - self._day[pos] >= self.validity, EXPIRED,  # as if it had left the window
                        np.where((self._flags[pos] & _FLAG_CONSUMED) != 0, CONSUMED, ACCEPTED)).astype(np.uint8)
        out[inwin] = code
        return out

    def dispense(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Dispense each referenced prescription on ``day``; return one code per reference.

        Accepted ones are consumed. Within one call, an id referenced twice is accepted at
        its first reference only; the others are rejected as already dispensed."""
        ids = np.asarray(ids, dtype=np.int64)
        out = self.check(ids, day)
        ok = np.flatnonzero(out == ACCEPTED)
        if ok.size:
            uniq, first = np.unique(ids[ok], return_index=True)
            repeat = np.ones(ok.size, dtype=bool)
            repeat[first] = False
            out[ok[repeat]] = CONSUMED
            self._flags[self._pos(uniq)] |= _FLAG_CONSUMED
            self.open -= int(uniq.size)
            if self.audit:
                self.audit_dispensed.append((uniq.copy(), int(day)))
        return out

    def dispense_block(self, lo: int, hi: int, day: int, want_codes: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """``dispense`` of the consecutive ids ``lo`` … ``hi - 1`` (each referenced once), on
        slices of the window: no sort. Returns the count of each code (ACCEPTED and the
        rejection codes, indexed by code) and, if ``want_codes``, the code of each id."""
        if not (0 <= lo <= hi <= self.next_id):
            raise ValueError(f"ids {lo}…{hi - 1} are not all registered (next id {self.next_id})")
        a = max(lo, self.lo)
        if a == lo < hi:  # the usual case: one day's ids, all in the window: judged as a whole
            sl = slice(self._start + (lo - self.lo), self._start + (hi - self.lo))
            days, flags = self._day[sl], self._flags[sl]
            if days[0] == days[-1] and day - int(days[0]) < self.validity and not flags.any():
                flags |= _FLAG_CONSUMED
                self.open -= hi - lo
                if self.audit:
                    self.audit_dispensed.append((np.arange(lo, hi, dtype=np.int64), int(day)))
                counts = np.zeros(max(REJECT_REASONS) + 1, dtype=np.int64)
                counts[ACCEPTED] = hi - lo
                return counts, (np.zeros(hi - lo, dtype=np.uint8) if want_codes else None)
        codes = np.full(hi - lo, EXPIRED, dtype=np.uint8)  # ids below the window have expired
        if a < hi:
            sl = slice(self._start + (a - self.lo), self._start + (hi - self.lo))
            flags = self._flags[sl]
            ok = (day - self._day[sl] < self.validity) & ((flags & _FLAG_CONSUMED) == 0)
            part = codes[a - lo:]
            part[:] = np.where(ok, ACCEPTED, np.where(day - self._day[sl] >= self.validity, EXPIRED, CONSUMED))
            n_ok = int(np.count_nonzero(ok))
            if n_ok == ok.size:
                flags |= _FLAG_CONSUMED
            elif n_ok:
                flags[ok] |= _FLAG_CONSUMED
            self.open -= n_ok
            if self.audit and n_ok:
                self.audit_dispensed.append((np.arange(a, hi, dtype=np.int64)[ok], int(day)))
        counts = np.bincount(codes, minlength=max(REJECT_REASONS) + 1)
        return counts, (codes if want_codes else None)

    def expire(self, day: int) -> int:
        """Remove prescriptions written ``validity_days`` or more before ``day``; return how many
        of them were never dispensed."""
        n = self.size
        if n == 0:
            return 0
        days = self._day[self._start:self._start + n]
        # days are non-decreasing; an int32 key, so that numpy does not copy the window to compare
        k = int(np.searchsorted(days, np.int32(day - self.validity), side="right"))
        if k == 0:
            return 0
        unused = int(np.count_nonzero((self._flags[self._start:self._start + k] & _FLAG_CONSUMED) == 0))
        self._start += k
        self.lo += k
        self.open -= unused
        return unused

    def patients(self, ids: np.ndarray) -> np.ndarray:
        """Patients of prescriptions still in the window (ids must be in it)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < self.lo or ids.max() >= self.next_id):
            raise KeyError("prescription id outside the window")
        if self._patient is None:
            return np.full(ids.size, -1, dtype=np.int32)
        return self._patient[self._pos(ids)]
