"""The services as modules of the day plan: the DMP judges what capacity allows, MSSanté
delivers what is due; and the documents ledger every service books into.

Tables: ``dmp_daily`` and ``gp_activity`` (the DMP's), ``documents`` and ``territory`` (the
ledger's: every document's outcome, and where its producer is).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.catalogue import load_catalogue
from agents.producers.base import Batch
from simulator.core.outcomes import CHANNELS, OUTCOMES
from simulator.engine.modules import Context, Module, Table
from simulator.engine.producers import ProducersModule


class DmpModule(Module):
    """The DMP / Mon espace santé: takes every batch into its outbox; each day judges what its
    capacity allows (or drops what waited too long while it is down)."""

    name = "dmp"

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.service = ctx.dmp

    def on_batch(self, batch: Batch) -> None:
        self.service.submit(batch)

    def step(self, day: int) -> None:
        g = self.ctx.params.glob
        cap = g["dmp.capacity_per_day"] * self.ctx.scale
        self.service.process(day, cap, g["dmp.max_wait_days"])

    def finish(self, end_day: int) -> None:
        self.service.finish()

    def tables(self) -> dict[str, Table]:
        log = self.service.log
        n = len(log.up)
        daily = pd.DataFrame({
            "date": self.ctx.world.calendar.dates[:n].astype(str),
            "up": log.up,
            "received": np.array(log.received),
            "accepted": np.array(log.accepted),
            "rejected": np.array(log.rejected),
            "dropped": np.array(log.dropped),
            "backlog": np.array(log.backlog),
            "not_sent": np.array(log.not_sent),  # stopped by the senders' existence check
        })
        national = {c: c for c in ("received", "accepted", "rejected", "dropped", "backlog", "not_sent")}
        return {"gp_activity": Table(self._gp_activity()), "dmp_daily": Table(daily, national)}

    def _gp_activity(self) -> pd.DataFrame:
        """Accepted documents of each equipped GP in each month (zeros included)."""
        w = self.ctx.world
        if "gp" not in w.sector_names:
            return pd.DataFrame(columns=["month", "facility", "documents"])
        gp = w.sector("gp")
        months = w.calendar.months
        counts = self.service.gp_month
        frames = []
        for mi, day in enumerate(w.calendar.last_day_of_months()):
            eq = np.flatnonzero(gp.install_day <= day)
            if eq.size == 0:
                continue
            frames.append(pd.DataFrame({"month": months[mi], "facility": eq.astype(np.int32), "documents": counts[mi, eq]}))
        if not frames:
            return pd.DataFrame(columns=["month", "facility", "documents"])
        return pd.concat(frames, ignore_index=True)


class MssanteModule(Module):
    """MSSanté: delivers what is due each day (bounces, outages, messages still in transit)."""

    name = "mssante"

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.service = ctx.mss

    def step(self, day: int) -> None:
        self.service.process(day, self.ctx.params.glob["mssante.bounce_rate"], self.ctx.scenario.mssante.max_wait_days)

    def finish(self, end_day: int) -> None:
        self.service.finish(end_day)


class LedgerModule(Module):
    """The documents ledger (the run's tally): every document's outcome by month, sector, type
    and channel, and the documents sent from each département."""

    name = "ledger"

    def __init__(self, ctx: Context, producers: ProducersModule):
        self.ctx = ctx
        self.producers = producers  # what was sent (conservation) and the messages' départements

    def documents(self) -> pd.DataFrame:
        """The ``documents`` table (``count`` simulated; ``documents`` added as national figures)."""
        w = self.ctx.world
        cat = load_catalogue()
        counts = self.ctx.tally.counts
        idx = np.nonzero(counts)
        values = counts[idx]
        m, s, t, c, o = idx
        return pd.DataFrame({
            "month": np.array(w.calendar.months)[m],
            "sector": np.array(w.sector_names)[s],
            "doc_type": np.array([x.code for x in cat])[t],
            "channel": np.array(CHANNELS)[c],
            "outcome": np.array([x[0] for x in OUTCOMES])[o],
            "reason": np.array([x[1] for x in OUTCOMES])[o],
            "count": values.astype(np.int64),
        })

    def tables(self) -> dict[str, Table]:
        documents = self.documents()
        return {"documents": Table(documents, {"documents": "count"}),
                "territory": Table(self._territory(documents), {"documents": "documents"})}

    def _territory(self, documents: pd.DataFrame) -> pd.DataFrame:
        """Documents sent by producers of each département: DMP accepted (counted row by row)
        and MSSanté delivered (apportioned by the senders' expected volumes), simulated."""
        w = self.ctx.world
        months = w.calendar.months
        codes = np.array(w.territory.codes)
        sectors = np.array(w.sector_names)
        frames = []
        by_dept = self.ctx.dmp.by_dept
        m, s, d = np.nonzero(by_dept)
        frames.append(pd.DataFrame({
            "month": np.array(months)[m], "sector": sectors[s], "departement": codes[d],
            "channel": "dmp", "documents": by_dept[m, s, d],
        }))
        delivered = documents[documents["outcome"] == "delivered"].groupby(["month", "sector", "channel"])["count"].sum()
        if len(delivered):
            month_ix = {x: i for i, x in enumerate(months)}
            sector_ix = {x: i for i, x in enumerate(w.sector_names)}
            mi = np.array([month_ix[x] for x in delivered.index.get_level_values(0)])
            si = np.array([sector_ix[x] for x in delivered.index.get_level_values(1)])
            channel = delivered.index.get_level_values(2).to_numpy()
            ci = np.array([CHANNELS.index(c) - 1 for c in channel], dtype=np.intp)
            share = self.producers.mss_dept_share[mi, si, ci]  # [group, département]
            g, d = np.nonzero(share)
            frames.append(pd.DataFrame({
                "month": np.array(months)[mi[g]], "sector": sectors[si[g]], "departement": codes[d],
                "channel": channel[g], "documents": delivered.to_numpy()[g] * share[g, d],
            }))
        return pd.concat(frames, ignore_index=True)

    def produced(self) -> dict[str, int]:
        """Documents and messages sent, ``month|sector|channel`` → count (for conservation)."""
        w = self.ctx.world
        produced = self.producers.produced
        months, names = w.calendar.months, w.sector_names
        out = {}
        pm, ps, pc = np.nonzero(produced)
        for a, b, d in zip(pm, ps, pc, strict=True):
            out[f"{months[a]}|{names[b]}|{CHANNELS[d]}"] = int(produced[a, b, d])
        return out
