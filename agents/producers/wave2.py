"""Wave 2 sectors: dormant until a ``launch`` intervention; their deployment campaign moves
with the launch date.

A wave 2 sector's ``install`` campaign and identity ramp are written for a planned launch on
``install.start``. The engine keeps the sector dormant (``launch_day = NEVER``) until a
``launch`` intervention sets ``launch_day``; the whole campaign — install days, the mailboxes
that come with the update, the identity-qualification ramp — then moves by the difference
between the actual and the planned launch, so that "every wave 2 launch a year later" is
just later launch dates in a scenario.
"""

from __future__ import annotations

import numpy as np

from agents.patients import NEVER
from agents.producers.base import Sector
from scenarios.schema import SectorConfig


class Wave2Sector(Sector):
    """A sector entering with wave 2: its campaign is anchored on its launch."""

    def __init__(self, index: int, cfg: SectorConfig, n: int, dept: np.ndarray,
                 rng: np.random.Generator, day_of, n_days: int):
        super().__init__(index, cfg, n, dept, rng, day_of, n_days)
        self.planned_launch = int(day_of(cfg.install.start))
        self.launch_shift = 0  # days the campaign has been moved by so far

    @property
    def launch_day(self) -> int:
        return self._launch_day

    @launch_day.setter
    def launch_day(self, day: int) -> None:
        self._launch_day = int(day)
        if day == NEVER or not hasattr(self, "planned_launch"):
            return  # dormant, or still being built
        self._move_campaign(int(day) - self.planned_launch - self.launch_shift)

    def _move_campaign(self, delta: int) -> None:
        """Shift install days, the mailboxes that come with the update, and the identity ramp."""
        if delta == 0:
            return
        inst = self.install_day != NEVER
        with_update = (self.mailbox_day != NEVER) & (self.mailbox_day > 0) & (self.mailbox_day == self.install_day)
        self.install_day[inst] = np.maximum(self.install_day[inst].astype(np.int64) + delta, 0).astype(np.int32)
        self.mailbox_day[with_update] = self.install_day[with_update]
        self.qual_mid += delta
        self.launch_shift += delta
        self._cache_key = None
