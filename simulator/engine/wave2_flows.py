"""Wave 2 flows beyond document feeding (domain §1): consultation of Mon espace santé from the
professional's software, DRIMbox image sharing, and integration of documents received by
MSSanté into the receiving software; table ``flows`` (month, sector, flow, outcome, count,
national).

A facility takes part once its wave 2 software is there: for a wave 1 sector, its Ségur
software and its wave 2 update (``wave2_flows.software``, one campaign per sector); for a wave
2 sector, its own Ségur software after the sector's launch. Consultations and image shares are
counts drawn per day from the activity of ready facilities (Poisson); a consultation finds a
profile with the share of persons who have an INS and an open profile. Integration draws, among
the messages delivered each day to a sector's professionals, those whose recipient has the
update and integrates them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.patients import NEVER
from agents.producers.base import Sector, logistic_days
from simulator.core import outcomes as oc
from simulator.engine.modules import Context, Module, Table

COLUMNS = ["month", "sector", "flow", "outcome", "count", "national"]
FLOW_OUTCOMES = {
    "mes_consultation": ("found", "no_profile"),
    "drimbox_image_share": ("shared",),
    "mssante_integration": ("received", "integrated"),
}


class Wave2Software:
    """Per facility of each sector, the day its wave 2 software is in place (or NEVER)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        cfg = ctx.scenario.wave2_flows
        day_of = ctx.world.calendar.day
        self.update_day: dict[str, np.ndarray] = {}
        for name, camp in (cfg.software.items() if cfg is not None else ()):
            sector = ctx.world.sector(name)
            rng = ctx.streams[f"flow:software:{name}"]
            self.update_day[name] = logistic_days(rng, sector.n, day_of, camp.start, camp.mid, camp.width_days, camp.final_share)
        self._cache: dict[str, tuple[tuple, np.ndarray]] = {}

    @staticmethod
    def key(sector: Sector) -> tuple[int, int, int]:
        """What the ready days depend on: they change only when the sector is launched (or moved),
        or a lever rewrites its install days (funding, a deadline, a roll-out)."""
        return int(sector.launch_day), int(getattr(sector, "launch_shift", 0)), int(getattr(sector, "install_version", 0))

    def ready_day(self, sector: Sector) -> np.ndarray:
        """Day each facility of ``sector`` can use wave 2 services (NEVER before its launch)."""
        key = self.key(sector)
        hit = self._cache.get(sector.name)
        if hit is not None and hit[0] == key:
            return hit[1]
        if sector.launch_day == NEVER:
            ready = np.full(sector.n, NEVER, dtype=np.int64)
        else:
            ready = np.maximum(sector.install_day.astype(np.int64), int(sector.launch_day))
            if sector.name in self.update_day:
                ready = np.maximum(ready, self.update_day[sector.name])
        self._cache[sector.name] = (key, ready)
        return ready


class ActivityFlow:
    """Events drawn from the activity of ready facilities: ``rate`` events per episode of care."""

    def __init__(self, ctx: Context, software: Wave2Software, name: str, rates: dict[str, float], table: FlowTable):
        self.ctx = ctx
        self.software = software
        self.name = name
        self.table = table
        self.items = []
        for sector_name, rate in rates.items():
            sector = ctx.world.sector(sector_name)
            if rate > 0:
                self.items.append((sector, float(rate), ctx.streams[f"flow:{name}:{sector_name}"]))
        self._weights: dict[str, tuple[tuple[int, ...], np.ndarray, np.ndarray]] = {}

    def _ready_size(self, sector: Sector, day: int) -> float:
        """Sum of the relative sizes of the facilities ready on ``day`` (sorted cumulative sums)."""
        key = self.software.key(sector)
        hit = self._weights.get(sector.name)
        if hit is None or hit[0] != key:
            ready = self.software.ready_day(sector)
            order = np.argsort(ready, kind="stable")
            hit = (key, ready[order], np.cumsum(sector.size[order]))
            self._weights[sector.name] = hit
        _, days, cum = hit
        k = int(np.searchsorted(days, day, side="right"))
        return float(cum[k - 1]) if k else 0.0

    def step(self, day: int) -> None:
        ctx = self.ctx
        month = int(ctx.month_of_day[day])
        for sector, rate, rng in self.items:
            if not sector.launched(day):
                continue
            rhythm = float(ctx.rhythm[sector.index][day])
            if rhythm <= 0:
                continue
            size = self._ready_size(sector, day)
            if size <= 0:
                continue
            lam = ctx.params.sector[sector.name]["episodes_per_day"] * size * rate * rhythm
            n = int(rng.poisson(lam))
            if n:
                self.record(month, sector, n, rng)

    def record(self, month: int, sector: Sector, n: int, rng: np.random.Generator) -> None:
        self.table.add(month, sector.name, self.name, FLOW_OUTCOMES[self.name][0], n)


class ConsultationFlow(ActivityFlow):
    """Mon espace santé consulted from the professional's software: found, or no profile."""

    def record(self, month: int, sector: Sector, n: int, rng: np.random.Generator) -> None:
        ctx = self.ctx
        found_share = ctx.world.profiles.n_created / max(ctx.world.patients.n, 1) * ctx.has_ins_share
        found = int(rng.binomial(n, min(max(found_share, 0.0), 1.0)))
        self.table.add(month, sector.name, self.name, "found", found)
        self.table.add(month, sector.name, self.name, "no_profile", n - found)


class IntegrationFlow:
    """Documents delivered by MSSanté to a sector's professionals, and those integrated by their software."""

    name = "mssante_integration"

    def __init__(self, ctx: Context, software: Wave2Software, shares: dict[str, float], table: FlowTable):
        self.ctx = ctx
        self.software = software
        self.table = table
        self.rng = ctx.streams["flow:mssante_integration"]
        w = ctx.world
        self.shares = {name: float(s) for name, s in shares.items()}
        # sender index → receiving sector (the usual recipient of the sender's messages)
        self.route: dict[int, Sector] = {}
        for s in w.sectors:
            recipient = s.cfg.mssante.recipient
            if recipient in self.shares and recipient in w.sector_names:
                self.route[s.index] = w.sector(recipient)
        self.senders = np.array(sorted(self.route), dtype=np.int64)
        self.delivered = np.zeros((ctx.n_months, self.senders.size), dtype=np.int64)  # seen so far, by production month
        self.oldest_pending = 0

    def _ready_share(self, recipient: Sector, day: int) -> float:
        box = recipient.mailbox_day <= day
        n_box = int(np.count_nonzero(box))
        if n_box == 0:
            return 0.0
        ready = self.software.ready_day(recipient) <= day
        return np.count_nonzero(box & ready) / n_box

    def step(self, day: int) -> None:
        if self.senders.size == 0:
            return
        month = int(self.ctx.month_of_day[day])
        # deliveries are tallied in the production month: only months from the oldest message
        # pending at the end of yesterday's step to this month can have grown since
        m0 = int(self.ctx.month_of_day[min(self.oldest_pending, day)])
        block = self.ctx.tally.counts[m0:month + 1, :, :, 1, oc.DELIVERED].sum(axis=2)[:, self.senders]
        new = block.sum(axis=0) - self.delivered[m0:month + 1].sum(axis=0)
        self.delivered[m0:month + 1] = block
        self.oldest_pending = min((prod for prod, _ in self.ctx.mss.pending), default=day + 1)
        received: dict[str, int] = {}
        for k, n in zip(self.senders, new, strict=True):
            if n > 0:
                name = self.route[int(k)].name
                received[name] = received.get(name, 0) + int(n)
        for name, n in received.items():
            recipient = self.ctx.world.sector(name)
            p = self._ready_share(recipient, day) * self.shares[name]
            integrated = int(self.rng.binomial(n, min(max(p, 0.0), 1.0)))
            self.table.add(month, name, self.name, "received", n)
            self.table.add(month, name, self.name, "integrated", integrated)


class FlowTable:
    """Counts of every wave 2 flow by month × sector × flow × outcome (the ``flows`` table)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.keys: list[tuple[str, str, str]] = [
            (s, f, o) for s in ctx.world.sector_names for f, outs in FLOW_OUTCOMES.items() for o in outs
        ]
        self.col = {k: i for i, k in enumerate(self.keys)}
        self.counts = np.zeros((ctx.n_months, len(self.keys)), dtype=np.int64)
        self.used: set[int] = set()

    def add(self, month: int, sector: str, flow: str, outcome: str, n: int) -> None:
        c = self.col[(sector, flow, outcome)]
        self.counts[month, c] += n
        self.used.add(c)

    def tables(self) -> dict[str, Table]:
        months = self.ctx.world.calendar.months
        cols = sorted(self.used)
        rows = [(months[m], *self.keys[c], int(self.counts[m, c])) for c in cols for m in range(len(months))]
        df = pd.DataFrame(rows, columns=COLUMNS[:5]).sort_values(["month", "sector", "flow", "outcome"], ignore_index=True)
        return {"flows": Table(df, {"national": "count"})}


class Wave2Flows(Module):
    """All wave 2 flows of a scenario as one module: each day, after MSSanté deliveries (every
    flow reads only state that is final by then), its members draw their counts."""

    name = "wave2_flows"

    def __init__(self, ctx: Context):
        cfg = ctx.scenario.wave2_flows
        assert cfg is not None
        self.table = FlowTable(ctx)
        software = Wave2Software(ctx)
        self.members: list[ActivityFlow | IntegrationFlow] = []
        if any(v > 0 for v in cfg.consultation.values()):
            self.members.append(ConsultationFlow(ctx, software, "mes_consultation", cfg.consultation, self.table))
        if any(v > 0 for v in cfg.drimbox.values()):
            self.members.append(ActivityFlow(ctx, software, "drimbox_image_share", cfg.drimbox, self.table))
        if cfg.integration:
            self.members.append(IntegrationFlow(ctx, software, cfg.integration, self.table))

    def step(self, day: int) -> None:
        for member in self.members:
            member.step(day)

    def tables(self) -> dict[str, Table]:
        return self.table.tables()


def wave2_flows(ctx: Context) -> Wave2Flows | None:
    """The wave 2 flows, when the scenario has a [wave2_flows] section."""
    return None if ctx.scenario.wave2_flows is None else Wave2Flows(ctx)
