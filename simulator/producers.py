"""The producers' day: Mon espace santé profiles, and every sector's documents and messages.

``ProducersModule.step`` draws each launched sector's adoption and documents of the day (on
the workers' threads: a sector touches only its own arrays and stream) while the profiles are
updated, then books the sectors in their order: counts what each sent, hands its batch to the
modules that take batches (flows, then the DMP) and posts its MSSanté messages. Its tables:
``adoption`` (month-end snapshots). ``ProfilesModule`` gives ``profiles``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agents.producers.base import Batch
from simulator.core.outcomes import CHANNELS
from simulator.modules import Context, Module, Table


class ProfilesModule(Module):
    """Mon espace santé profiles: created by letter, activated, closed; counted at month end.
    Updated by the producers' step (``update``), while the sectors draw on other threads."""

    name = "profiles"

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []

    def update(self, day: int) -> None:
        """The day's new profiles, activations and closures."""
        prof = self.ctx.world.profiles
        prof.create_due(day)
        g = self.ctx.params.glob
        prof.daily_events(g["profiles.activation_rate"], g["profiles.closure_rate"])

    def month_end(self, month: int, day: int) -> None:
        label = self.ctx.world.calendar.months[month]
        for state, n in self.ctx.world.profiles.counts().items():
            self.rows.append({"month": label, "state": state, "persons": n})

    def tables(self) -> dict[str, Table]:
        return {"profiles": Table(pd.DataFrame(self.rows), {"persons": "persons"})}


class ProducersModule(Module):
    """Every sector's adoption, documents (batches) and MSSanté messages of the day."""

    name = "producers"

    def __init__(self, ctx: Context, profiles: ProfilesModule):
        self.ctx = ctx
        self.profiles = profiles  # stepped while the sectors draw (it reads nothing they write)
        self.takers: list[Module] = []  # modules shown every batch, in plan order (set by the engine)
        w = ctx.world
        n_months, n_sectors = ctx.n_months, len(w.sectors)
        self.produced = np.zeros((n_months, n_sectors, len(CHANNELS)), dtype=np.int64)
        self.eligible = np.zeros((n_months, n_sectors))
        # MSSanté messages are counted, not drawn one by one: their départements are apportioned
        # by the senders' expected volumes, [month, sector, channel-1, département]
        self.mss_dept_share = np.zeros((n_months, n_sectors, 2, len(w.territory)))
        self.adoption_rows: list[dict[str, Any]] = []
        self._last_batch = [0] * n_sectors
        self._mss_cache: dict[int, tuple] = {}

    # -- the day ----------------------------------------------------------------------
    def step(self, day: int) -> None:
        """Sectors draw on the workers' threads while profiles are updated here; what they
        send is then booked in sector order."""
        launched = [s for s in self.ctx.world.sectors if s.launched(day)]
        # the largest sectors first, so that two threads end at about the same time
        launched.sort(key=lambda s: -self._last_batch[s.index])
        drawn = {s.index: self.ctx.workers.submit(self._draw_sector, s.index, day) for s in launched}
        self.profiles.update(day)
        for k in sorted(drawn):
            self._book_sector(k, day, drawn[k].result())

    def _draw_sector(self, k: int, day: int) -> Batch | None:
        """Sector ``k``'s adoption and documents of ``day`` (touches only the sector's state)."""
        ctx = self.ctx
        sector = ctx.world.sectors[k]
        ps = ctx.params.sector[sector.name]
        sector.uptake(day, ps["uptake_p"], ps["uptake_q"])
        return sector.produce(day, float(ctx.rhythm[k][day]), ps["episodes_per_day"], ps["intensity_mean"])

    def _book_sector(self, k: int, day: int, batch: Batch | None) -> None:
        """Count what sector ``k`` sent on ``day``, hand its batch to the modules that take
        batches (flows, then the DMP), and send its MSSanté messages."""
        ctx = self.ctx
        sector = ctx.world.sectors[k]
        rhythm = float(ctx.rhythm[k][day])
        month = int(ctx.month_of_day[day])
        self.eligible[month, k] += sector.eligible_per_day(ctx.params.sector[sector.name]["episodes_per_day"]) * rhythm
        self._last_batch[k] = 0 if batch is None else len(batch)
        if batch is not None:
            self.produced[month, k, 0] += len(batch)
            for taker in self.takers:
                taker.on_batch(batch)
        self._send_messages(day, month, k, rhythm)

    # -- MSSanté messages -------------------------------------------------------------
    def _recipient_reach(self, sector_name: str, day: int) -> float:
        """Chance that the usual recipient of a sector's message has a mailbox."""
        w = self.ctx.world
        recipient = w.sector(sector_name).cfg.mssante.recipient
        if recipient == "none" or recipient not in w.sector_names:
            return 0.0
        target = w.sector(recipient)
        share = float(np.count_nonzero(target.mailbox_day <= day)) / target.n
        if recipient == "gp":
            share *= self.ctx.scenario.population.gp_registered_share
        return share

    def _send_messages(self, day: int, month: int, k: int, rhythm: float) -> None:
        if rhythm <= 0:
            return
        ctx = self.ctx
        sector = ctx.world.sectors[k]
        ps = ctx.params.sector[sector.name]
        cache = self._mss_cache.get(k)
        key = (month, ctx.params.version)
        if cache is None or cache[0] != key:
            m = sector.cfg.mssante
            box = sector.mailbox_day <= day
            inst = sector.install_day <= day
            per_fac = ps["episodes_per_day"] * sector.docs_per_episode * sector.size
            share = np.where(inst, ps["mssante.to_professional"], m.to_professional_legacy)
            pro_w = np.where(box, per_fac * share, 0.0)
            pat_w = np.where(box & inst, per_fac, 0.0)
            lam_pro = float(pro_w.sum()) * self._recipient_reach(sector.name, day)
            lam_pat = float(pat_w.sum()) * ps["mssante.to_patient"]
            n_dept = self.mss_dept_share.shape[3]
            for j, wgt in enumerate((pro_w, pat_w)):
                by_dept = np.bincount(sector.dept, weights=wgt, minlength=n_dept)
                total = by_dept.sum()
                self.mss_dept_share[month, k, j] = by_dept / total if total > 0 else 0.0
            cache = (key, lam_pro, lam_pat)
            self._mss_cache[k] = cache
        _, lam_pro, lam_pat = cache
        prof = ctx.world.profiles
        reach_patient = prof.n_created / max(ctx.world.patients.n, 1) * ctx.has_ins_share
        rng = sector.rng
        weights = sector.type_probs
        for channel, lam in ((1, lam_pro), (2, lam_pat * reach_patient)):
            if lam <= 0:
                continue
            n = rng.poisson(lam * rhythm)
            if n:
                self.produced[month, k, channel] += n
                ctx.mss.send(day, k, channel, int(n), weights)

    # -- month end and tables ---------------------------------------------------------
    def month_end(self, month: int, day: int) -> None:
        label = self.ctx.world.calendar.months[month]
        for s in self.ctx.world.sectors:
            installed = s.install_day <= day if s.launched(day) else np.zeros(s.n, bool)
            fs = s.facility_scale  # simulated facilities per real one (≥ scale, see world)
            self.adoption_rows.append({
                "month": label,
                "sector": s.name,
                "facilities": s.n / fs,
                "installed": np.count_nonzero(installed) / fs,
                "feeding": np.count_nonzero(s.feeding) / fs,
                "legacy_feeding": np.count_nonzero(s.feeding & ~installed) / fs,
                "mailbox": np.count_nonzero(s.mailbox_day <= day) / fs,
                "eligible_documents": self.eligible[month, s.index],
            })

    def tables(self) -> dict[str, Table]:
        return {"adoption": Table(pd.DataFrame(self.adoption_rows), {"eligible_documents": "eligible_documents"})}
