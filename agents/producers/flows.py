"""Activity flows: activities of a sector beyond its own episodes (hospital outpatient
consultations and their lab samples, office specialists' consultations, pharmacists'
vaccinations), each with its own yearly base and document mix (docs/mechanisms.md, "Activity flows").

A flow is drawn for its host sector's feeding facilities, at their level (learning) × the host's
ceiling of each type × the flow's own ``level_factor`` (at most 1), on a random stream of its own: switching a flow
off removes exactly its documents and leaves every other draw unchanged. Its rows are a Batch of
the host sector, drawn like the sector's (agents/kernels.py for large runs).
"""

from __future__ import annotations

import numpy as np

from agents import kernels
from agents.catalogue import load_catalogue
from agents.producers.base import N_TYPES, TYPE_LUT_SIZE, Batch, Sector
from scenarios.schema import ActivityFlowConfig


class ActivityFlow:
    """One activity flow of a host sector: its rhythm, its expected documents a day, its rows."""

    def __init__(self, name: str, cfg: ActivityFlowConfig, host: Sector, rng: np.random.Generator,
                 rhythm: np.ndarray, per_day: float, start_day: int):
        self.name = name
        self.cfg = cfg
        self.host = host
        self.rng = rng
        self.rhythm = rhythm  # daily activity factors of the run
        #: episodes of the flow per facility of mean size on a full working day
        self.per_day = per_day
        self.start_day = start_day
        cat = {t.code: t.index for t in load_catalogue()}
        w = np.zeros(N_TYPES)
        for code, v in cfg.documents.items():
            w[cat[code]] = v
        self.type_weights = w
        self.docs_per_episode = float(w.sum())
        self._key: tuple | None = None
        self._feed_key: tuple | None = None
        self._feed: tuple[np.ndarray, np.ndarray, np.ndarray] = ()  # type: ignore[assignment]

    def _tables(self) -> tuple[float, np.ndarray]:
        """Documents sent per episode at full level (the host's type ceilings in force) and the 16-bit type lookup of sent rows (cached on the host's ceilings)."""
        ceil = self.host.type_ceiling
        if self._key is None or self._key[0] is not ceil:
            sent = self.type_weights * ceil
            total = float(sent.sum())
            probs = sent / total if total > 0 else self.type_weights / max(self.docs_per_episode, 1e-300)
            grid = (np.arange(TYPE_LUT_SIZE) + 0.5) / TYPE_LUT_SIZE
            last = int(np.flatnonzero(probs > 0)[-1])
            lut = np.minimum(np.searchsorted(np.cumsum(probs), grid, side="right"), last).astype(np.uint8)
            self._key = (ceil, total, lut)
        return self._key[1], self._key[2]

    def eligible_per_day(self) -> float:
        """Expected documents of the flow, all the host's facilities, on a full working day."""
        return self.per_day * self.docs_per_episode * self.host.total_size()

    def expected(self, day: int, intensity_mean: float) -> float:
        """Documents the flow is expected to send on ``day`` (before the Poisson draw)."""
        if day < self.start_day or self.rhythm[day] <= 0 or not self.host.launched(day):
            return 0.0
        feeders = np.flatnonzero(self.host.feeding)
        sent, _ = self._tables()
        lam = self.per_day * sent * self.host.size[feeders] * self._levels(feeders, intensity_mean)
        return float(lam.sum() * self.rhythm[day])

    def _levels(self, feeders: np.ndarray, intensity_mean: float) -> np.ndarray:
        """The feeders' level for this flow: their level × ``level_factor``, at most 1."""
        return np.minimum(self.host.levels(intensity_mean)[feeders] * self.cfg.level_factor, 1.0)

    def _feeders(self, intensity_mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The host's feeding facilities, their sizes and their levels for this flow (cached
        until a facility starts feeding — feeding never stops — or the host learns)."""
        host = self.host
        key = (int(np.count_nonzero(host.feeding)), intensity_mean, host._learn_version)
        if key != self._feed_key:
            feeders = np.flatnonzero(host.feeding)
            self._feed = (feeders, host.size[feeders], self._levels(feeders, intensity_mean))
            self._feed_key = key
        return self._feed

    def produce(self, day: int, intensity_mean: float) -> tuple[Batch | None, float]:
        """Today's documents of the flow as a batch of the host sector (None if none), and the
        expected count they were drawn from."""
        rhythm = float(self.rhythm[day])
        host = self.host
        if day < self.start_day or rhythm <= 0 or not host.launched(day):
            return None, 0.0
        feeders, size, levels = self._feeders(intensity_mean)
        if feeders.size == 0:
            return None, 0.0
        sent, lut = self._tables()
        lam = self.per_day * sent * rhythm * size * levels
        counts = self.rng.poisson(lam)
        total = int(counts.sum())
        if total == 0:
            return None, float(lam.sum())
        raw = self.rng.bit_generator.random_raw(total)
        if host.kernels:
            fac, patient, doc_type, qualified, installed = kernels.draw_rows(
                feeders, counts, raw, lut, 0, host.patient_start, host.patient_size, host.install_day, day)
        else:
            rep = np.repeat(feeders, counts)
            doc_type = lut.take(raw.astype(np.uint32) & np.uint32(0xFFFF))
            qualified = np.zeros(total, dtype=bool)
            patient = host.choose_patients(rep, raw)
            installed = np.repeat(host.install_day[feeders] <= day, counts)
            fac = rep.astype(np.int32)
        return Batch(host.index, day, fac, patient, doc_type, qualified, installed,
                     vendor_defects(host, fac, self.rng)), float(lam.sum())


def vendor_defects(host: Sector, fac: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Defect codes of rows sent by ``host``'s facilities ``fac`` (their vendor's rates, as the
    sector's own rows; None when the sector has no defect), drawn on ``rng``."""
    if host.defect_cum is None or fac.size == 0:
        return None
    cum = host.defect_cum[host.vendor[fac]]
    code = (rng.random(fac.size)[:, None] >= cum).sum(axis=1)
    return np.where(code < cum.shape[1], code + 1, 0).astype(np.uint8)
