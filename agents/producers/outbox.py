"""A failing software vendor's outbox: while a vendor fails, its facilities' DMP documents wait
in their software's outbox; when it recovers, the documents still young enough are sent on the
first producing day, the older ones are lost with the outbox (never sent).

Held documents are not yet sent, so they have no outcome yet: they get exactly one once sent
(the DMP judges them on the day they go out, as any other). Documents older than the failure's
``max_wait_days`` at recovery, or still held when the run ends, were never sent and are counted
in ``lost`` / ``held`` (the run's manifest, ``vendor_outbox``), like the documents a facility
that does not feed never sends. Per-document cost is unchanged: the mask works on the day's
per-facility counts (one NumPy pass over the feeders, only while a vendor fails or flushes).
"""

from __future__ import annotations

import numpy as np


class Outbox:
    """Per facility of one sector: paused or not, and the documents waiting, by day held."""

    def __init__(self, vendor: np.ndarray):
        self.vendor = vendor  # int per facility (Sector.vendor)
        # the random words of the rows sent after recovery, apart from the sector's stream, so that
        # a failure changes nothing but the held and the sent-after-recovery documents
        self.rng = np.random.default_rng(int(vendor.size))
        self.paused = np.zeros(vendor.size, dtype=bool)
        self.waiting: list[tuple[int, np.ndarray, np.ndarray]] = []  # (day held, facilities, their counts)
        self.flush_from: int | None = None  # send what was held from this day on, at the next draw
        self.held_total = 0  # documents put in the outbox
        self.sent_total = 0  # of which sent after recovery
        self.lost_total = 0  # of which lost (older than max_wait_days at recovery)

    @property
    def active(self) -> bool:
        """Whether the day's counts need the mask (a vendor fails, or an outbox waits to be sent)."""
        return bool(self.paused.any()) or self.flush_from is not None

    def fail(self, vendor: int) -> None:
        """The vendor's facilities stop sending (their documents are held)."""
        self.paused |= self.vendor == vendor

    def recover(self, vendor: int, day: int, max_wait_days: float | None) -> None:
        """The vendor sends again; its held documents of the last ``max_wait_days`` days go out at the
        next draw (all of them when None)."""
        self.paused &= self.vendor != vendor
        oldest = 0 if max_wait_days is None else int(day - max_wait_days)
        self.flush_from = oldest if self.flush_from is None else min(self.flush_from, oldest)

    def apply(self, feeders: np.ndarray, counts: np.ndarray, day: int) -> np.ndarray:
        """The day's documents per feeder after the outbox: paused feeders' counts are held,
        recovered ones get their waiting documents added (``counts`` is not changed in place)."""
        out = counts
        if self.flush_from is not None:
            due = np.zeros(self.paused.size, dtype=np.int64)
            keep: list[tuple[int, np.ndarray, np.ndarray]] = []
            for held_day, idx, cnt in self.waiting:
                still = self.paused[idx]  # a vendor still failing keeps its own documents waiting
                if held_day >= self.flush_from:
                    np.add.at(due, idx[~still], cnt[~still])
                else:
                    self.lost_total += int(cnt[~still].sum())
                if still.any():
                    keep.append((held_day, idx[still], cnt[still]))
            self.waiting = keep
            self.flush_from = None
            if due.any():
                sent = due[feeders]  # held facilities fed when they held: they are feeders now
                self.sent_total += int(sent.sum())
                self.lost_total += int(due.sum() - sent.sum())  # none, unless a facility stopped feeding
                out = out + sent
        stop = self.paused[feeders]
        if stop.any():
            idx, cnt = feeders[stop], np.asarray(out[stop], dtype=np.int64)
            self.held_total += int(cnt.sum())
            self.waiting.append((day, idx, cnt))
            out = np.where(stop, 0, out)
        return out

    @property
    def held(self) -> int:
        """Documents still waiting in the outbox (never sent if the run ends now)."""
        return int(sum(int(c.sum()) for _, _, c in self.waiting))

    def report(self) -> dict[str, int]:
        return {"held": self.held_total, "sent_after_recovery": self.sent_total, "lost": self.lost_total,
                "still_waiting": self.held}
