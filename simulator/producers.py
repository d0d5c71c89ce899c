"""The producers' day: Mon espace santé profiles, and every sector's documents and messages.

``ProducersModule.step`` draws each launched sector's adoption and documents of the day (on
the workers' threads: a sector touches only its own arrays and stream) while the profiles are
updated, then books the sectors in their order: counts what each sent and hands its batch to the
modules that take batches (flows, then the DMP). MSSanté messages: simulator/messaging.py. Its tables:
``adoption`` (month-end snapshots). ``ProfilesModule`` (simulator/profiles.py) gives ``profiles``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agents.producers.base import Batch
from simulator.core.outcomes import CHANNELS
from simulator.modules import Context, Module, Table
from simulator.profiles import ProfilesModule


class ProducersModule(Module):
    """Every sector's adoption and documents (batches) of the day."""

    name = "producers"

    def __init__(self, ctx: Context, profiles: ProfilesModule):
        self.ctx = ctx
        self.profiles = profiles  # stepped while the sectors draw (it reads nothing they write)
        self.takers: list[Module] = []  # modules shown every batch, in plan order (set by the engine)
        w = ctx.world
        n_months, n_sectors = ctx.n_months, len(w.sectors)
        self.produced = np.zeros((n_months, n_sectors, len(CHANNELS)), dtype=np.int64)
        self.eligible = np.zeros((n_months, n_sectors))
        # MSSanté messages (simulator/messaging.py) are counted, not drawn one by one: their
        # départements are apportioned by the senders' expected volumes, [month, sector, channel-1, département]
        self.mss_dept_share = np.zeros((n_months, n_sectors, len(CHANNELS) - 1, len(w.territory)))
        self.adoption_rows: list[dict[str, Any]] = []
        self._last_batch = [0] * n_sectors

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
        sector.learn(day, int(ctx.month_of_day[day]), ps["intensity_mean"])  # monthly: intensity that grows
        return sector.produce(day, float(ctx.rhythm[k][day]), ps["episodes_per_day"], ps["intensity_mean"])

    def _book_sector(self, k: int, day: int, batch: Batch | None) -> None:
        """Count what sector ``k`` sent on ``day`` and hand its batch to the modules that take
        batches (flows, then the DMP); its MSSanté messages are the messaging module's."""
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

    # -- month end and tables ---------------------------------------------------------
    def month_end(self, month: int, day: int) -> None:
        label = self.ctx.world.calendar.months[month]
        for s in self.ctx.world.sectors:
            installed = s.install_day <= day if s.launched(day) else np.zeros(s.n, bool)
            ordered = s.ordered_mask(day) if s.launched(day) else installed
            fs = s.facility_scale  # simulated facilities per real one (≥ scale, see world)
            self.adoption_rows.append({
                "month": label,
                "sector": s.name,
                "facilities": s.n / fs,
                "ordered": np.count_nonzero(ordered) / fs,
                "installed": np.count_nonzero(installed) / fs,
                "feeding": np.count_nonzero(s.feeding) / fs,
                "legacy_feeding": np.count_nonzero(s.feeding & ~installed) / fs,
                "mailbox": np.count_nonzero(s.mailbox_day <= day) / fs,
                "eligible_documents": self.eligible[month, s.index],
            })

    def tables(self) -> dict[str, Table]:
        return {"adoption": Table(pd.DataFrame(self.adoption_rows), {"eligible_documents": "eligible_documents"})}
