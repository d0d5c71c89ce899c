"""Equipment of one sector: per facility, the day it orders its Ségur update and the day the
update is installed, and the levers that move them (funding, a deadline extension, a regional
roll-out).

Why: the programme's install rates (98.5% of hospital DPI, 95.6% of lab software… in Sept 2023)
are shares of *ordered* updates; some facilities never order. So a facility orders on a
logistic campaign (a share ``order_share`` ever does, larger ones earlier where
``order_size_correlation`` > 0), installs a delay after its order (exponential,
``install_delay_days``) if its order does not lapse (``installed_of_ordered``), and installs
due after the campaign's ``deadline`` are brought forward into the rush before it for a share
``deadline_compliance`` of them. Every random number is drawn once at set-up, so a lever
applied later reshuffles nothing and leaves the days before it as they were.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from agents.patients import NEVER
from scenarios.schema import InstallConfig


def order_uniforms(rng: np.random.Generator, size: np.ndarray, correlation: float) -> np.ndarray:
    """One uniform per facility (low = eager to order), correlated with its size's rank by a
    Gaussian copula: ``correlation`` > 0 makes large facilities order first and more often."""
    n = size.size
    noise = rng.standard_normal(n)
    if n == 0 or correlation == 0.0:
        return ndtr(noise)
    rank = (np.argsort(np.argsort(-size, kind="stable"), kind="stable") + 0.5) / n  # 0 = largest
    z = correlation * ndtri(rank) + np.sqrt(1.0 - correlation**2) * noise
    return ndtr(z)


class Equipment:
    """Order and install days of a sector's facilities (arrays of days, NEVER for none)."""

    def __init__(self, ins: InstallConfig, size: np.ndarray, rng: np.random.Generator, day_of):
        n = size.size
        self.cfg = ins
        u = order_uniforms(rng, size, ins.order_size_correlation)
        self.order_day = np.full(n, NEVER, dtype=np.int64)
        ok = u < ins.order_share
        v = np.clip(u[ok] / max(ins.order_share, 1e-12), 1e-9, 1 - 1e-9)
        days = day_of(ins.order_mid) + ins.order_width_days * np.log(v / (1 - v))
        self.order_day[ok] = np.maximum(np.round(days), day_of(ins.order_start)).astype(np.int64)
        if ins.order_end is not None:  # the funding window closes: later orders are never placed
            self.order_day[self.order_day > day_of(ins.order_end)] = NEVER
        self.delay = np.round(rng.exponential(ins.install_delay_days, n)).astype(np.int64) if ins.install_delay_days \
            else np.zeros(n, dtype=np.int64)
        self.completes = rng.random(n) < ins.installed_of_ordered
        self.rush_u = rng.random(n)
        self.fund_u = rng.random(n)
        # per facility, days its campaign has been moved by (a wave 2 launch, a regional roll-out):
        # the first installations and the deadline move with it
        self.shift = np.zeros(n, dtype=np.int64)
        self.start = int(day_of(ins.start))
        self.deadline = None if ins.deadline is None else int(day_of(ins.deadline))

    @property
    def n(self) -> int:
        return int(self.order_day.size)

    def ordered_mask(self, day: int) -> np.ndarray:
        return self.order_day <= day

    def install_days(self) -> np.ndarray:
        """Each facility's install day (int32; NEVER where it never orders or its order lapses)."""
        o = self.order_day
        ok = (o != NEVER) & self.completes
        day = np.maximum(o + self.delay, self.start + self.shift)
        if self.deadline is not None and self.cfg.deadline_compliance > 0:
            c = self.cfg.deadline_compliance
            d = self.deadline + self.shift
            rush = ok & (day > d) & (o <= d) & (self.rush_u < c)
            early = d - np.floor(self.rush_u / c * self.cfg.deadline_rush_days).astype(np.int64)
            day = np.where(rush, np.maximum(np.maximum(early, o), self.start + self.shift), day)
        return np.where(ok, day, NEVER).astype(np.int32)

    # -- levers -----------------------------------------------------------------------
    def fund(self, day: int, euros_per_facility: float, window_days: float) -> int:
        """Funding from ``day``: a share 1 − exp(−order_per_keuro × k€) of the facilities that have
        not ordered by ``day`` order within ``window_days`` (never later than they would have).
        Returns how many facilities order sooner or at all."""
        share = 1.0 - np.exp(-self.cfg.order_per_keuro * euros_per_facility / 1000.0)
        if share <= 0:
            return 0
        cand = (self.order_day > day) & (self.fund_u < share)
        new = day + np.floor(self.fund_u / share * window_days).astype(np.int64)
        moved = cand & (new < self.order_day)
        self.order_day = np.where(moved, new, self.order_day)
        return int(np.count_nonzero(moved))

    def extend_deadline(self, days: int) -> None:
        """Move the installation deadline ``days`` later (no deadline: nothing to move)."""
        if self.deadline is not None:
            self.deadline += int(days)

    def move(self, delta: int, mask: np.ndarray) -> None:
        """Move the campaign of the facilities in ``mask`` by ``delta`` days (orders, the first
        installations and the deadline with them)."""
        if delta == 0:
            return
        m = mask & (self.order_day != NEVER)
        self.order_day = np.where(m, np.maximum(self.order_day + delta, 0), self.order_day)
        self.shift = np.where(mask, self.shift + delta, self.shift)
