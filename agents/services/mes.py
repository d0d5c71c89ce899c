"""Mon espace santé profiles: opt-out creation, opposition, activation, closure, reactivation,
and the deaths and births that renew the population.

Creation follows the information letters (drawn per person at set-up); opposition is decided
at creation with the day's opposition rate (a dynamic parameter). Activations, closures (a
late opposition), reopenings and deaths are daily hazards drawn as counts, the persons picked
at random among those eligible (rejection sampling, so the cost follows the number of events,
not the population). A death closes the profile and a birth takes the person's row (the
population keeps its size; the row keeps its identity traits); from the start of the opt-out creation a newborn gets a profile at
birth unless the parents oppose.
"""

from __future__ import annotations

import numpy as np

from agents.patients import ACTIVATED, CLOSED, CREATED, OPPOSED, Patients
from simulator.core.arrays import sorted_unique

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25
PROFILE_BITS = CREATED | OPPOSED | CLOSED | ACTIVATED
#: monthly flows counted by ``ProfileService`` (the ``profile_events`` table)
EVENTS = ("created", "opposed", "activated", "activated_after_document", "closed", "reactivated", "deaths",
          "closed_at_death", "births", "created_at_birth")
#: below this share of eligible persons, events are picked by a scan rather than by rejection
SCAN_BELOW_SHARE = 1e-3


class ProfileService:
    """Keeps ``patients.status`` profile bits up to date, one day at a time, with running
    counts of the living population's states and of the month's events."""

    def __init__(self, patients: Patients, order: np.ndarray, activated_at_creation: float,
                 rng: np.random.Generator, n_days: int, births_created_from: int = 0):
        self.p = patients
        self.order = order
        self.next = 0
        self.activated_at_creation = activated_at_creation
        self.rng = rng
        self.births_created_from = int(births_created_from)  # first day newborns get a profile
        self._waiting_births: list[np.ndarray] = []  # born before that day, their letter already past
        # due_by[d] = number of profiles whose creation day is <= d (order is sorted by day)
        self.n_days = n_days + 1  # the last bin collects profiles never created in the run
        days = np.clip(patients.creation_day, 0, self.n_days - 1)
        self.due_by = np.cumsum(np.bincount(days, minlength=self.n_days))
        c = patients.counts()
        self.n_created = c["open"] + c["activated"]
        self.n_activated = c["activated"]
        self.n_opposed = c["opposed"]
        self.n_closed = c["closed"]
        self.events = dict.fromkeys(EVENTS, 0)  # this month's events (reset by ``take_events``)
        # persons closed so far (a superset: reopened and reborn ones are filtered out when read),
        # so that picking among few closed profiles does not scan the whole population
        self._closed = [np.flatnonzero((patients.status & CLOSED) != 0)]

    # -- creation -----------------------------------------------------------------------
    def create_due(self, day: int, opposition_rate: float) -> None:
        """Create (or record the opposition of) every profile due by ``day``; persons who
        oppose do so at ``opposition_rate`` (the rate in force on their creation day)."""
        if self._waiting_births and day >= self.births_created_from:
            born = sorted_unique(np.concatenate(self._waiting_births))  # a row may have been reborn twice
            self._waiting_births.clear()
            self._create(born[(self.p.status.take(born) & PROFILE_BITS) == 0], opposition_rate, activate=False)
        end = int(self.due_by[min(max(day, 0), self.due_by.size - 1)])
        if end == self.next:
            return
        idx = self.order[self.next : end]
        # the first due_by[0] persons of ``order`` are those created on day 0 (migrated DMP
        # holders, letters sent before the run): they cannot oppose any more
        on_day0 = max(0, min(int(self.due_by[0]), end) - self.next)
        self.next = end
        rate = np.full(idx.size, opposition_rate, dtype=np.float32)
        rate[:on_day0] = 0.0
        # a person with a profile already (a newborn created at birth) gets no second one
        fresh = (self.p.status.take(idx) & PROFILE_BITS) == 0
        if not fresh.all():
            idx, rate = idx[fresh], rate[fresh]
        self._create(idx, rate, activate=True)

    def _create(self, idx: np.ndarray, opposition_rate: float | np.ndarray, activate: bool) -> int:
        """Create the profiles of ``idx`` (each opposed with its chance); returns how many."""
        if idx.size == 0:
            return 0
        opposed = self.rng.random(idx.size, dtype=np.float32) < opposition_rate
        n_created = idx.size - int(np.count_nonzero(opposed))
        if activate:
            act = self.rng.random(n_created, dtype=np.float32) < self.activated_at_creation
        else:
            act = np.zeros(n_created, dtype=bool)
        # each person's new bits, then one gather and one scatter of the status bytes
        bits = np.where(opposed, OPPOSED, CREATED)
        bits[~opposed] |= act.view(np.uint8) * ACTIVATED
        st = self.p.status
        st[idx] = st.take(idx) | bits
        self.p.profile_version += 1
        n_act = int(np.count_nonzero(act))
        self.n_opposed += idx.size - n_created
        self.n_created += n_created
        self.n_activated += n_act
        self.events["created"] += n_created
        self.events["opposed"] += idx.size - n_created
        self.events["activated"] += n_act
        return n_created

    # -- daily hazards --------------------------------------------------------------------
    def _pick(self, k: int, want: np.uint8, avoid: np.uint8, eligible: int,
              members: np.ndarray | None = None) -> np.ndarray:
        """``k`` distinct random persons whose status has every bit of ``want`` and none of
        ``avoid`` (about ``eligible`` persons do): candidates are drawn with replacement, enough
        for one round in most cases, and the eligible ones kept once each. When they are very
        few, they are all found instead: among ``members`` (sorted persons, a superset of them)
        if given, else by a scan of the whole status."""
        st = self.p.status
        n = st.size
        share = max(eligible, 1) / max(n, 1)
        if share < SCAN_BELOW_SHARE:
            if members is None:
                ok = np.flatnonzero((st & (want | avoid)) == want)
            else:
                ok = members[(st.take(members) & (want | avoid)) == want]
            return self.rng.choice(ok, size=min(k, ok.size), replace=False) if ok.size else ok
        chosen = np.empty(0, dtype=np.int64)
        tries = 0
        while chosen.size < k and tries < 50:
            need = k - chosen.size
            cand = self.rng.integers(0, n, size=int(need / share * 1.1) + 16)
            # every bit of ``want`` and none of ``avoid``, from one gather of the candidates' status
            ok = cand[(st.take(cand) & (want | avoid)) == want]
            chosen = sorted_unique(np.concatenate([chosen, ok]))
            tries += 1
        if chosen.size > k:
            chosen = self.rng.choice(chosen, size=k, replace=False)
        return chosen

    def daily_events(self, activation_rate: float, closure_rate: float, reactivation_rate: float = 0.0) -> None:
        """Today's activations, closures and reopenings (rates are per month)."""
        self.p.profile_version += 1
        eligible = self.n_created - self.n_activated
        k = self.rng.binomial(max(eligible, 0), min(activation_rate / DAYS_PER_MONTH, 1.0))
        if k:
            idx = self._pick(k, CREATED, ACTIVATED, eligible)
            self.p.status[idx] |= ACTIVATED
            self.n_activated += idx.size
            self.events["activated"] += idx.size
        k = self.rng.binomial(max(self.n_created, 0), min(closure_rate / DAYS_PER_MONTH, 1.0))
        if k:
            idx = self._pick(k, CREATED, np.uint8(0), self.n_created)
            was_active = (self.p.status[idx] & ACTIVATED) != 0
            self.p.status[idx] &= ~(CREATED | ACTIVATED)
            self.p.status[idx] |= CLOSED
            self.n_created -= idx.size
            self.n_activated -= int(was_active.sum())
            self.n_closed += idx.size
            self.events["closed"] += idx.size
            self._closed.append(idx)
        k = self.rng.binomial(max(self.n_closed, 0), min(reactivation_rate / DAYS_PER_MONTH, 1.0))
        if k:
            few = max(self.n_closed, 1) / max(self.p.n, 1) < SCAN_BELOW_SHARE  # then _pick looks at them all
            idx = self._pick(k, CLOSED, np.uint8(0), self.n_closed, self._closed_members() if few else None)
            self.p.status[idx] &= ~CLOSED
            self.p.status[idx] |= CREATED | ACTIVATED  # reopening it is using it
            self.n_closed -= idx.size
            self.n_created += idx.size
            self.n_activated += idx.size
            self.events["reactivated"] += idx.size

    def activate_after_documents(self, persons: np.ndarray) -> int:
        """Activate the profiles of ``persons`` (repeats allowed) that are open and not yet
        activated: those a document moved to activate; counted in ``activated`` and, apart,
        in ``activated_after_document``. Returns how many."""
        if persons.size == 0:
            return 0
        idx = sorted_unique(persons.astype(np.int64, copy=False))
        st = self.p.status
        idx = idx[(st.take(idx) & (CREATED | ACTIVATED)) == CREATED]
        if idx.size:
            st[idx] |= ACTIVATED
            self.p.profile_version += 1
            self.n_activated += idx.size
            self.events["activated"] += idx.size
            self.events["activated_after_document"] += idx.size
        return int(idx.size)

    def _closed_members(self) -> np.ndarray:
        """The persons whose profile is closed now, sorted (from the closures since the start)."""
        members = sorted_unique(np.concatenate(self._closed))
        members = members[(self.p.status.take(members) & CLOSED) != 0]
        self._closed = [members]
        return members

    def deaths_and_births(self, day: int, death_rate: float, opposition_rate: float) -> None:
        """Today's deaths (``death_rate`` per year): each closes the person's profile, and a
        newborn takes the row, with a profile created at birth from ``births_created_from``
        on (the parents oppose at ``opposition_rate``). The population keeps its size."""
        n = self.p.n
        k = self.rng.binomial(n, min(death_rate / DAYS_PER_YEAR, 1.0)) if n else 0
        if not k:
            return
        idx = sorted_unique(self.rng.integers(0, n, size=k))
        st = self.p.status
        old = st.take(idx)
        created = (old & CREATED) != 0
        n_created = int(np.count_nonzero(created))
        self.n_created -= n_created
        self.n_activated -= int(np.count_nonzero(old & ACTIVATED))
        self.n_opposed -= int(np.count_nonzero(old & OPPOSED))
        self.n_closed -= int(np.count_nonzero(old & CLOSED))
        self.events["deaths"] += idx.size
        self.events["closed_at_death"] += n_created
        self.events["births"] += idx.size
        # the row's profile bits start afresh; its identity traits (sex, birth date, INS) stay
        # those drawn at set-up, so that a document sampled earlier renders the same person
        st[idx] = old & ~PROFILE_BITS
        self.p.profile_version += 1
        if day >= self.births_created_from:
            self.p.creation_day[idx] = day
            self.events["created_at_birth"] += self._create(idx, opposition_rate, activate=False)
        else:
            # the creation day of the row's former holder may be past (a migrated DMP): the
            # newborn's profile is created with the opt-out creation (the others get it by letter)
            past = self.p.creation_day.take(idx) <= day
            if past.any():
                self._waiting_births.append(idx[past])

    # -- counts ---------------------------------------------------------------------------
    def take_events(self) -> dict[str, int]:
        """This month's events so far, and a fresh count for the next month."""
        out, self.events = self.events, dict.fromkeys(EVENTS, 0)
        return out

    def counts(self) -> dict[str, int]:
        """Current profile states of the living population (simulated persons), from the
        running counters; they add up to the population."""
        n = self.p.n
        return {
            "not_created": n - self.n_created - self.n_opposed - self.n_closed,
            "open": self.n_created - self.n_activated,
            "activated": self.n_activated,
            "opposed": self.n_opposed,
            "closed": self.n_closed,
        }

    @property
    def activated_share(self) -> float:
        """Share of the population with an activated profile (for channels that need one,
        e.g. patient → professional MSSanté messages through Mon espace santé)."""
        return self.n_activated / max(self.p.n, 1)
