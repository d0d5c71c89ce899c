"""Mon espace santé profiles: opt-out creation, opposition, activation, closure.

Creation follows the information letters (drawn per person at set-up); activations and
closures are daily hazards drawn as counts, the persons picked at random among those
eligible (rejection sampling, so the cost follows the number of events, not the population).
"""

from __future__ import annotations

import numpy as np

from agents.patients import ACTIVATED, CLOSED, CREATED, OPPOSED, Patients

DAYS_PER_MONTH = 365.25 / 12


class ProfileService:
    """Keeps ``patients.status`` profile bits up to date, one day at a time."""

    def __init__(self, patients: Patients, order: np.ndarray, opposition_rate: float,
                 activated_at_creation: float, rng: np.random.Generator, n_days: int):
        self.p = patients
        self.order = order
        self.next = 0
        self.opposition_rate = opposition_rate
        self.activated_at_creation = activated_at_creation
        self.rng = rng
        # due_by[d] = number of profiles whose creation day is <= d (order is sorted by day)
        self.n_days = n_days + 1  # the last bin collects profiles never created in the run
        days = np.clip(patients.creation_day, 0, self.n_days - 1)
        self.due_by = np.cumsum(np.bincount(days, minlength=self.n_days))
        c = patients.counts()
        self.n_created = c["open"] + c["activated"]
        self.n_activated = c["activated"]
        self.n_opposed = c["opposed"]
        self.n_closed = c["closed"]

    def create_due(self, day: int) -> None:
        """Create (or record the opposition of) every profile due by ``day``."""
        end = int(self.due_by[min(max(day, 0), self.due_by.size - 1)])
        if end == self.next:
            return
        idx = self.order[self.next : end]
        # the first due_by[0] persons of ``order`` are those created on day 0 (migrated DMP
        # holders, letters sent before the run): they cannot oppose any more
        on_day0 = max(0, min(int(self.due_by[0]), end) - self.next)
        self.next = end
        r = self.rng.random(idx.size, dtype=np.float32)
        opposed = r < self.opposition_rate
        opposed[:on_day0] = False
        n_created = idx.size - int(np.count_nonzero(opposed))
        act = self.rng.random(n_created, dtype=np.float32) < self.activated_at_creation
        # each person's new bits, then one gather and one scatter of the status bytes
        bits = np.where(opposed, OPPOSED, CREATED)
        bits[~opposed] |= act.view(np.uint8) * ACTIVATED
        st = self.p.status
        st[idx] = st.take(idx) | bits
        self.n_opposed += idx.size - n_created
        self.n_created += n_created
        self.n_activated += int(np.count_nonzero(act))

    def _pick(self, k: int, want: np.uint8, avoid: np.uint8, eligible: int) -> np.ndarray:
        """``k`` distinct random persons whose status has every bit of ``want`` and none of
        ``avoid`` (about ``eligible`` persons do): candidates are drawn with replacement, enough
        for one round in most cases, and the eligible ones kept once each."""
        st = self.p.status
        n = st.size
        share = max(eligible, 1) / max(n, 1)
        chosen = np.empty(0, dtype=np.int64)
        tries = 0
        while chosen.size < k and tries < 50:
            need = k - chosen.size
            cand = self.rng.integers(0, n, size=int(need / share * 1.1) + 16)
            # every bit of ``want`` and none of ``avoid``, from one gather of the candidates' status
            ok = cand[(st.take(cand) & (want | avoid)) == want]
            chosen = np.unique(np.concatenate([chosen, ok]))
            tries += 1
        if chosen.size > k:
            chosen = self.rng.choice(chosen, size=k, replace=False)
        return chosen

    def daily_events(self, activation_rate: float, closure_rate: float) -> None:
        """Today's activations and closures (rates are per month)."""
        eligible = self.n_created - self.n_activated
        k = self.rng.binomial(max(eligible, 0), min(activation_rate / DAYS_PER_MONTH, 1.0))
        if k:
            idx = self._pick(k, CREATED, ACTIVATED, eligible)
            self.p.status[idx] |= ACTIVATED
            self.n_activated += idx.size
        k = self.rng.binomial(max(self.n_created, 0), min(closure_rate / DAYS_PER_MONTH, 1.0))
        if k:
            idx = self._pick(k, CREATED, np.uint8(0), self.n_created)
            was_active = (self.p.status[idx] & ACTIVATED) != 0
            self.p.status[idx] &= ~(CREATED | ACTIVATED)
            self.p.status[idx] |= CLOSED
            self.n_created -= idx.size
            self.n_activated -= int(was_active.sum())
            self.n_closed += idx.size

    def counts(self) -> dict[str, int]:
        """Current profile states (simulated persons), from the running counters."""
        n = self.p.n
        return {
            "not_created": n - self.n_created - self.n_opposed - self.n_closed,
            "open": self.n_created - self.n_activated,
            "activated": self.n_activated,
            "opposed": self.n_opposed,
            "closed": self.n_closed,
        }
