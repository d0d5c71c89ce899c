"""The producers' day: Mon espace santé profiles, and every sector's documents and messages.

``ProducersModule.step`` draws each launched sector's adoption and documents of the day (on
the workers' threads: a sector touches only its own arrays and stream) while the profiles are
updated, then books the sectors in their order: counts what each sent and hands its batch to the
modules that take batches (flows, then the DMP). MSSanté messages: simulator/engine/messaging.py. Its tables:
``adoption`` (month-end snapshots). ``ProfilesModule`` (simulator/engine/profiles.py) gives ``profiles``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from agents.catalogue import load_catalogue
from agents.producers.base import Batch
from agents.producers.flows import ActivityFlow
from scenarios.activity import day_equivalents
from simulator.core.outcomes import CHANNELS
from simulator.engine.modules import Context, Module, Table
from simulator.engine.profiles import ProfilesModule

#: below this scale a sector's batches of the day are merged before the takers see them; above
#: it the batches are large and concatenating them would cost more than it saves
MERGE_BELOW_SCALE = 0.1


class ProducersModule(Module):
    """Every sector's adoption and documents (batches) of the day."""

    name = "producers"

    def __init__(self, ctx: Context, profiles: ProfilesModule):
        self.ctx = ctx
        self.profiles = profiles  # stepped while the sectors draw (it reads nothing they write)
        #: a small run hands each sector's documents of the day to the takers as one batch
        #: (its own and its flows' rows, in that order): the per-batch work is most of its time
        self.merge_batches = ctx.scale < MERGE_BELOW_SCALE
        self.takers: list[Module] = []  # modules shown every batch, in plan order (set by the engine)
        #: the e-prescription flow when its DMP copies are the GPs' prescription documents (set by the engine)
        self.eprescription: Any = None
        w = ctx.world
        n_months, n_sectors = ctx.n_months, len(w.sectors)
        self.produced = np.zeros((n_months, n_sectors, len(CHANNELS)), dtype=np.int64)
        self.eligible = np.zeros((n_months, n_sectors))
        # MSSanté messages (simulator/engine/messaging.py) are counted, not drawn one by one: their
        # départements are apportioned by the senders' expected volumes, [month, sector, channel-1, département]
        self.mss_dept_share = np.zeros((n_months, n_sectors, len(CHANNELS) - 1, len(w.territory)))
        self.adoption_rows: list[dict[str, Any]] = []
        self._last_batch = [0] * n_sectors
        #: each sector's activity flows (agents/producers/flows.py), the switched-on ones
        self.flows: list[list[ActivityFlow]] = [self._build_flows(s) for s in w.sectors]
        n_flows = sum(len(f) for f in self.flows)
        self.flow_sent = np.zeros((n_months, max(n_flows, 1), len(load_catalogue())), dtype=np.int64)
        self.flow_expected = np.zeros((n_months, max(n_flows, 1)))
        self.flow_eligible = np.zeros((n_months, max(n_flows, 1)))
        self._flow_row = {}
        for fl in self.flows:
            for f in fl:
                self._flow_row[id(f)] = len(self._flow_row)

    def _build_flows(self, sector) -> list[ActivityFlow]:
        """The switched-on activity flows of ``sector``: rhythm, episodes per facility of mean
        size on a full working day (the yearly base / facilities / working-day equivalents of
        2023, as scenarios/activity.py), each on its own stream."""
        ctx = self.ctx
        cal = ctx.world.calendar
        out = []
        for name, f in sector.cfg.flows.items():
            if not f.enabled:
                continue
            c = sector.cfg
            rh = SimpleNamespace(weekly=f.weekly or c.weekly, seasonal=f.seasonal or c.seasonal, holiday=c.holiday)
            days = day_equivalents(rh, 2023, ctx.scenario.country)
            per_day = f.episodes_per_year / c.facilities / days
            start = 0 if f.start is None else max(cal.day(f.start), 0)
            rng = ctx.streams[f"producer:{sector.name}:flow:{name}"]
            out.append(ActivityFlow(name, f, sector, rng, cal.rhythm(rh.weekly, rh.seasonal, rh.holiday), per_day, start))
        return out

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
        if self.eprescription is not None:  # yesterday's e-prescriptions' DMP copies (mechanism 2)
            copies = self.eprescription.take_copies(day)
            if copies is not None and len(copies):
                k = copies.sector
                self.produced[int(self.ctx.month_of_day[day]), k, 0] += len(copies)
                self._last_batch[k] += len(copies)
                for taker in self.takers:
                    taker.on_batch(copies)

    def _draw_sector(self, k: int, day: int) -> list[tuple[Batch | None, float]]:
        """Sector ``k``'s adoption and documents of ``day``: its own batch, then one per activity
        flow with its expected count (touches only the sector's state and its flows' streams)."""
        ctx = self.ctx
        sector = ctx.world.sectors[k]
        ps = ctx.params.sector[sector.name]
        sector.uptake(day, ps["uptake_p"], ps["uptake_q"])
        sector.learn(day, int(ctx.month_of_day[day]), ps["intensity_mean"])  # monthly: intensity that grows
        own = sector.produce(day, float(ctx.rhythm[k][day]), ps["episodes_per_day"], ps["intensity_mean"])
        ep = self.eprescription
        if ep is not None and own is not None and sector is ep.gp:
            # mechanism 2: an e-prescribing GP's prescription documents are its e-prescriptions'
            # DMP copies (booked below), not draws of its own
            drop = (own.doc_type == ep.prescription_type) & ep.eprescribing(own.facility, day)
            if drop.any():
                own = own.take(np.flatnonzero(~drop)) if not drop.all() else None
        return [(own, 0.0)] + [f.produce(day, ps["intensity_mean"]) for f in self.flows[k]]

    def _book_sector(self, k: int, day: int, drawn: list[tuple[Batch | None, float]]) -> None:
        """Count what sector ``k`` sent on ``day`` (its own batch, then its flows') and hand each
        batch to the modules that take batches (flows, then the DMP); its MSSanté messages are the
        messaging module's."""
        ctx = self.ctx
        sector = ctx.world.sectors[k]
        rhythm = float(ctx.rhythm[k][day])
        month = int(ctx.month_of_day[day])
        self.eligible[month, k] += sector.eligible_per_day(ctx.params.sector[sector.name]["episodes_per_day"]) * rhythm
        self._last_batch[k] = sum(0 if b is None else len(b) for b, _ in drawn)
        sent: list[Batch] = []
        for i, (batch, expected) in enumerate(drawn):
            if i:
                flow = self.flows[k][i - 1]
                row = self._flow_row[id(flow)]
                self.flow_expected[month, row] += expected
                if day >= flow.start_day:
                    eligible = flow.eligible_per_day() * float(flow.rhythm[day])
                    self.eligible[month, k] += eligible
                    self.flow_eligible[month, row] += eligible
                if batch is not None:
                    self.flow_sent[month, row] += np.bincount(batch.doc_type, minlength=self.flow_sent.shape[2])
            if batch is not None:
                self.produced[month, k, 0] += len(batch)
                sent.append(batch)
        if self.merge_batches and len(sent) > 1:
            sent = [Batch.concat(sent)]
        for batch in sent:
            for taker in self.takers:
                taker.on_batch(batch)

    # -- month end and tables ---------------------------------------------------------
    def month_end(self, month: int, day: int) -> None:
        label = self.ctx.world.calendar.months[month]
        for s in self.ctx.world.sectors:
            installed = s.counted_installed(day)
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

    def flows_frame(self) -> pd.DataFrame:
        """Documents each activity flow sent (drawn, before the DMP's verdict), by month and
        type, with the expected count they were drawn from and the flow's eligible documents."""
        months = self.ctx.world.calendar.months
        codes = [t.code for t in load_catalogue()]
        rows = []
        for fl in self.flows:
            for f in fl:
                r = self._flow_row[id(f)]
                for m, label in enumerate(months):
                    for t in np.flatnonzero(self.flow_sent[m, r]):
                        rows.append({"month": label, "sector": f.host.name, "flow": f.name, "doc_type": codes[t],
                                     "sent": int(self.flow_sent[m, r, t])})
                    rows.append({"month": label, "sector": f.host.name, "flow": f.name, "doc_type": "*",
                                 "sent": int(self.flow_sent[m, r].sum()), "expected": self.flow_expected[m, r],
                                 "eligible": self.flow_eligible[m, r]})
        return pd.DataFrame(rows, columns=["month", "sector", "flow", "doc_type", "sent", "expected", "eligible"])

    def tables(self) -> dict[str, Table]:
        return {"adoption": Table(pd.DataFrame(self.adoption_rows), {"eligible_documents": "eligible_documents"})}
