"""GPs as e-prescribers (domain §7): per GP, the day its software is authorised, the day it
starts e-prescribing, the share of its prescriptions it registers, and the day's counts.

A GP registers prescriptions from the later of its software's authorisation and its own start
day, a share ``use`` of all the prescriptions it writes (consultations × prescriptions per
consultation), whether or not it feeds the DMP. A mandate makes the complying GPs start (on
its date, or on their software's authorisation if later) and raises their share. Work per day
is one Poisson draw per e-prescribing GP; the active set changes only when a GP starts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agents.patients import NEVER
from scenarios.schema import CampaignConfig


def campaign_days(u: np.ndarray, day_of: Callable, cfg: CampaignConfig) -> np.ndarray:
    """Days at which facilities with uniforms ``u`` reach a state that follows the logistic
    campaign ``cfg`` (share ``final_share`` eventually, never before ``start``; NEVER for the
    others): the quantiles of ``u``, as ``base.logistic_days`` draws them."""
    out = np.full(u.size, NEVER, dtype=np.int32)
    ok = u < cfg.final_share
    v = np.clip(u[ok] / max(cfg.final_share, 1e-12), 1e-9, 1 - 1e-9)
    days = day_of(cfg.mid) + cfg.width_days * np.log(v / (1 - v))
    out[ok] = np.maximum(np.round(days), day_of(cfg.start)).astype(np.int32)
    return out


class Prescribers:
    """Per-GP e-prescription state, as arrays over the GP sector's facilities."""

    def __init__(self, software_day: np.ndarray, own_day: np.ndarray, comply_u: np.ndarray, use_share: float):
        self.software_day = np.asarray(software_day, dtype=np.int32)
        self.start_day = np.maximum(self.software_day, np.asarray(own_day, dtype=np.int32))
        self.comply_u = np.asarray(comply_u, dtype=float)
        self.use = np.full(self.start_day.size, float(use_share))
        self.mandate_day: int | None = None
        self._order_key: object = None
        self._rate_key: tuple | None = None

    @property
    def n(self) -> int:
        return int(self.start_day.size)

    def apply_mandate(self, day: int, compliance: float, use_share: float) -> int:
        """The mandate from ``day``: GPs with ``comply_u < compliance`` start on the later of
        ``day`` and their software's authorisation (never earlier than they would have) and
        register ``use_share`` of their prescriptions. Returns how many GPs comply."""
        if self.mandate_day is not None:
            return 0
        self.mandate_day = int(day)
        comply = self.comply_u < compliance
        forced = np.maximum(self.software_day, np.int32(day))
        self.start_day = np.where(comply & (self.software_day < NEVER), np.minimum(self.start_day, forced),
                                  self.start_day).astype(np.int32)
        self.use = np.where(comply, max(use_share, 0.0), self.use)
        self._order_key = None
        self._rate_key = None
        return int(np.count_nonzero(comply))

    def active(self, day: int) -> np.ndarray:
        """GPs that e-prescribe on ``day`` (indices; a prefix of the GPs sorted by start day)."""
        if self._order_key is None:
            self._order = np.argsort(self.start_day, kind="stable")
            self._sorted = self.start_day[self._order]
            self._order_key = True
        k = int(np.searchsorted(self._sorted, day, side="right"))
        return self._order[:k]

    def rates(self, day: int, per_gp: np.ndarray, version: object) -> tuple[np.ndarray, np.ndarray, float]:
        """The e-prescribing GPs on ``day``, their expected registrations on a full day, and the
        expected prescriptions of all GPs on a full day (``per_gp``: prescriptions per GP per
        full day; ``version`` changes when ``per_gp`` does). Cached while nobody starts."""
        act = self.active(day)
        key = (act.size, version)
        if key != self._rate_key:
            self._act = act
            self._lam = per_gp[act] * self.use[act]
            self._all = float(per_gp.sum())
            self._rate_key = key
        return self._act, self._lam, self._all

    def counts(self, day: int) -> dict[str, int]:
        """GPs whose software is authorised, and GPs e-prescribing, on ``day``."""
        return {"software": int(np.count_nonzero(self.software_day <= day)),
                "active": int(np.count_nonzero(self.start_day <= day))}
