"""Intensity that grows: how much of its eligible documents a feeding facility sends, over time.

A facility's level (the share of its eligible documents it sends, before the type's ceiling)
goes from a start value to a long-run habit value, the gap halving every ``half_life_days``
of feeding experience; experience accrues ``1 + peer_weight · F`` days a day, F the share of
the sector's facilities that feed (peers who feed make the habit spread faster). Both ends are
Beta quantiles of the same fixed uniform per facility, so a facility keeps its rank and the
sector keeps its spread. The share of type k a facility sends is ``ceiling_k × level``; an
obligation moves a type's ceiling toward a higher value from its date. All of it is NumPy over
the sector's facilities, recomputed once a month (see ``Sector.learn``). Docs: docs/mechanisms.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv


def beta_levels(u: np.ndarray, mean: float, concentration: float) -> np.ndarray:
    """Beta(mean·c, (1 − mean)·c) quantiles of the uniforms ``u`` (mean clipped into (0, 1))."""
    m = min(max(mean, 1e-9), 1 - 1e-9)
    return betaincinv(m * concentration, (1 - m) * concentration, u)


def level(start: np.ndarray, final: np.ndarray, experience: np.ndarray, half_life_days: float) -> np.ndarray:
    """Each facility's level after ``experience`` days of feeding: ``final − (final − start) ·
    2^(−experience / half_life)`` (the start level at 0, the habit level in the long run)."""
    return final - (final - start) * np.exp2(-experience / half_life_days)


def experience_rate(feeding_share: float, peer_weight: float) -> float:
    """Days of experience a feeding facility gains per day when ``feeding_share`` of its sector feeds."""
    return 1.0 + peer_weight * feeding_share


@dataclass(frozen=True)
class Obligation:
    """"Feed these document types from ``day``": their ceilings move from what they were on that
    day to ``ceiling``, half of the way every ``half_life_days``."""

    types: tuple[int, ...]  # catalogue indices
    day: int
    ceiling: float
    half_life_days: float


def ceilings_on(base: np.ndarray, obligations: list[Obligation], day: int) -> np.ndarray:
    """The per-type ceilings on ``day``: ``base`` moved by every obligation in force (in date order;
    an obligation never lowers a ceiling)."""
    c = base.copy()
    for ob in sorted(obligations, key=lambda o: o.day):
        if day < ob.day:
            continue
        idx = list(ob.types)
        target = np.maximum(c[idx], ob.ceiling)
        c[idx] = target - (target - c[idx]) * np.exp2(-(day - ob.day) / ob.half_life_days)
    return c
