"""Wave 2 sectors: dormant until a ``launch`` intervention; their deployment campaign moves
with the launch date.

A wave 2 sector's ``install`` campaign and identity ramp are written for a planned launch on
``install.start``. The engine keeps the sector dormant (``launch_day = NEVER``) until a
``launch`` intervention sets ``launch_day``; the whole campaign — install days, the mailboxes
that come with the update, the identity-qualification ramp — then moves by the difference
between the actual and the planned launch, so that "every wave 2 launch a year later" is
just later launch dates in a scenario.

A sector may also have an installed base from before its wave 2 launch (``wave1_install``: the
médico-social wave 1 DUI, docs/mechanisms.md "Médico-social wave 1 DUI"): those facilities
install on a campaign of their own, drawn from a stream of its own (so that switching it off
leaves every other draw as it was), that no launch, regional roll-out or lever moves. It is
equipment only: like the others they start feeding after the launch.
"""

from __future__ import annotations

import numpy as np

from agents.patients import NEVER
from agents.producers.base import Sector
from agents.producers.equipment import Equipment
from scenarios.schema import SectorConfig


class Wave2Sector(Sector):
    """A sector entering with wave 2: its campaign is anchored on its launch."""

    def __init__(self, index: int, cfg: SectorConfig, n: int, dept: np.ndarray,
                 rng: np.random.Generator, day_of, n_days: int):
        super().__init__(index, cfg, n, dept, rng, day_of, n_days)
        self.planned_launch = int(day_of(cfg.install.start))
        self.launch_shift = 0  # days the campaign has been moved by so far
        self._held: tuple[np.ndarray, np.ndarray] | None = None  # plans of facilities awaiting the national launch
        #: facilities equipped by the campaign before the launch (``wave1_install``), and that campaign
        self.wave1 = np.zeros(n, dtype=bool)
        self.wave1_equipment: Equipment | None = None
        if cfg.wave1_install is not None:
            self._install_wave1(Equipment(cfg.wave1_install, self.size, rng.spawn(1)[0], day_of))

    def _install_wave1(self, eq: Equipment) -> None:
        """The installed base before the launch: its facilities take their wave 1 install day
        (and the mailbox that comes with the update opens with it)."""
        days = eq.install_days()
        self.wave1_equipment = eq
        self.wave1 = days != NEVER
        self.install_day = np.where(self.wave1, np.minimum(days, self.install_day), self.install_day).astype(np.int32)
        box = self._box_with_update & self.wave1
        self.mailbox_day = np.where(box, self.install_day, self.mailbox_day).astype(np.int32)

    @property
    def launch_day(self) -> int:
        return self._launch_day

    @launch_day.setter
    def launch_day(self, day: int) -> None:
        self._launch_day = int(day)
        if day == NEVER or not hasattr(self, "planned_launch"):
            return  # dormant, or still being built
        if self._held is not None:  # the national launch after regional ones: the others come back (wave 1 days were kept)
            rest = ~self.rolled_out
            self.install_day = np.where(rest, self._held[0], self.install_day).astype(np.int32)
            self.mailbox_day = np.where(rest, self._held[1], self.mailbox_day).astype(np.int32)
            self._held = None
        self._move_campaign(int(day) - self.planned_launch - self.launch_shift)

    def _move_campaign(self, delta: int) -> None:
        """Shift install days, the mailboxes that come with the update, and the identity ramp
        (facilities launched by a regional roll-out keep their own campaign)."""
        if delta == 0:
            return
        self.shift_campaign(delta, ~self.rolled_out)
        self.qual_mid += delta
        self.launch_shift += delta

    def shift_campaign(self, delta: int, mask: np.ndarray) -> None:
        """Move the wave 2 campaign of ``mask`` (the wave 1 installed base keeps its days)."""
        super().shift_campaign(delta, mask & ~self.wave1)

    def _set_install_days(self, new: np.ndarray, day: int, which: np.ndarray | None = None) -> None:
        """A lever rewrites the wave 2 campaign's install days (the wave 1 installed base keeps its own)."""
        keep = ~self.wave1
        super()._set_install_days(new, day, keep if which is None else which & keep)

    def ordered_mask(self, day: int) -> np.ndarray:
        """Facilities that have ordered by ``day``: in the wave 2 campaign or the wave 1 one."""
        ordered = super().ordered_mask(day)
        return ordered if self.wave1_equipment is None else ordered | self.wave1_equipment.ordered_mask(day)

    def counted_installed(self, day: int) -> np.ndarray:
        """Before the launch only the wave 1 installed base counts (the wave 2 days are a plan)."""
        if self.launched(day):
            return self.install_day <= day
        return self.wave1 & (self.install_day <= day)

    def roll_out(self, mask: np.ndarray, day: int) -> None:
        """A regional launch (set-up time): the facilities of ``mask`` start their campaign on
        ``day``; the others wait, with no installation, for the national ``launch``."""
        if self._held is None:
            self._held = (self.install_day.copy(), self.mailbox_day.copy())
        back = mask & ~self.rolled_out  # a later region: its plan comes back before it moves
        self.install_day = np.where(back, self._held[0], self.install_day).astype(np.int32)
        self.mailbox_day = np.where(back, self._held[1], self.mailbox_day).astype(np.int32)
        super().roll_out(mask, day)
        rest = ~self.rolled_out & ~self.wave1  # the wave 1 installed base is not held back
        self.install_day = np.where(rest, NEVER, self.install_day).astype(np.int32)
        self.mailbox_day = np.where(rest & self._box_with_update, NEVER, self.mailbox_day).astype(np.int32)

    def open_regionally(self, day: int) -> None:
        """The sector opens on its first regional launch (without moving the others' campaign)."""
        if self._launch_day == NEVER or self._launch_day > day:
            self._launch_day = int(day)
