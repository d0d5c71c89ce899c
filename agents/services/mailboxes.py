"""MSSanté mailboxes of one sector, counted per facility: personal, organisational, applicative.

A facility's first mailbox opens on its ``mailbox_day`` (agents/producers/base.py). From then on
it holds ``organisational_per_facility`` organisational mailboxes (a service, a secretariat, the
officine's), and a share of its professionals (``professionals_per_facility`` × its size) hold a
personal one: ``personal_initial_share`` at first, closing the gap to ``personal_final_share`` at
``personal_growth`` a year. Its software's applicative mailboxes (the one that sends the lab's or
the hospital's reports) open with the Ségur update, or were there from the start for the
facilities that already sent most of their documents by MSSanté (``applicative_initial``).

Professionals whose own documents are not simulated but who hold personal mailboxes (office
specialists beside the GPs: ``other_professionals``) are counted from the start of the run, a
national count times a share that grows the same way, spread over the sector's facilities by
size (they practise where the sector's activity is).

Mailboxes are counts per facility (NumPy arrays), never one object per mailbox: France has
more than 800,000 of them (domain §5).
"""

from __future__ import annotations

import numpy as np

from agents.patients import NEVER

KINDS = ("personal", "organisational", "applicative")
DAYS_PER_YEAR = 365.25


def growing_share(initial: float, final: float, rate: float, elapsed):
    """Share holding a mailbox after ``elapsed`` time (days or years, ``rate`` in the same unit):
    the gap between ``initial`` and ``final`` closes at ``rate`` (one form for the facilities'
    staff and for other professionals)."""
    return final - (final - initial) * np.exp(-rate * elapsed)


class SectorMailboxes:
    """Mailbox counts of one sector's facilities on a given day (simulated facilities)."""

    def __init__(self, sector, rng: np.random.Generator, scale: float = 1.0):
        m = sector.cfg.mssante
        self.sector = sector
        # professionals per facility (sizes carry a floored sector's weight: counts at the run's scale)
        self.staff = m.professionals_per_facility * sector.size
        self.initial = m.personal_initial_share
        self.final = m.personal_final_share
        self.growth = m.personal_growth / DAYS_PER_YEAR
        self.organisational = m.organisational_per_facility
        self.applicative = m.applicative_per_facility
        # facilities that already sent by MSSanté from their software before the update have an
        # applicative mailbox from their first mailbox on (share: the pre-update sending share)
        self.applicative_early = rng.random(sector.n) < m.to_professional_legacy
        # other holders, at the run's scale, spread by facility size
        self.others = list(m.other_professionals.values())
        total = float(sector.size.sum())
        self.size_share = sector.size / total if total > 0 else np.zeros(sector.n)
        self.scale = scale

    def open(self, day: int) -> np.ndarray:
        """Whether each facility has its first mailbox on ``day``."""
        return self.sector.mailbox_day <= day

    def applicative_day(self) -> np.ndarray:
        """Day each facility's applicative mailboxes open (NEVER: no mailbox or no update)."""
        s = self.sector
        start = np.where(self.applicative_early, s.mailbox_day, np.maximum(s.mailbox_day, s.install_day))
        return np.where(s.mailbox_day == NEVER, NEVER, start).astype(np.int64)

    def personal(self, day: int) -> np.ndarray:
        """Personal mailboxes of each facility on ``day`` (expected counts, floats)."""
        since = day - self.sector.mailbox_day.astype(np.int64)
        share = growing_share(self.initial, self.final, self.growth, np.maximum(since, 0))
        return np.where(since >= 0, self.staff * share, 0.0)

    def others_personal(self, day: int) -> list[float]:
        """Personal mailboxes of each group of ``other_professionals`` on ``day``, at the run's
        scale (expected counts): the group's professionals × its share, from the run's start."""
        t = max(day, 0) / DAYS_PER_YEAR
        return [o.professionals * self.scale * growing_share(o.initial_share, o.final_share, o.growth, t)
                for o in self.others]

    def others_letters(self, day: int) -> np.ndarray:
        """Letters a month the ``other_professionals``' mailboxes send on ``day``, per facility
        (at the run's scale; spread by facility size)."""
        per_month = sum(n * o.messages_per_month for n, o in zip(self.others_personal(day), self.others, strict=True))
        return self.size_share * per_month

    def counts(self, day: int) -> dict[str, float]:
        """Mailboxes of the sector's simulated facilities on ``day``, by kind (personal ones at the
        run's scale, including the ``other_professionals``)."""
        box = self.open(day)
        return {
            "personal": float(self.personal(day).sum()) + sum(self.others_personal(day)),
            "organisational": float(np.count_nonzero(box)) * self.organisational,
            "applicative": float(np.count_nonzero(self.applicative_day() <= day)) * self.applicative,
        }


__all__ = ["KINDS", "SectorMailboxes"]
