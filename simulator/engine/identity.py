"""Identity qualification as a module of the day plan: sets every batch's ``qualified`` column
from the patient's state and the facility's identity practice, before the DMP judges it.

A facility's identity practice (the sector's ``qualification`` ramp, times the dynamic
``identity.qualification_factor``) says whether it looks identities up through INSi and checks
ID documents: each facility has a fixed rank (a uniform of the ``identity:practice:<sector>``
stream) and practises once the sector's share passes it. A facility that practises looks up
(or retries, or checks) the identities of its patients not yet qualified and sends qualified
rows for the patients who are; one that does not sends every row unqualified [I]: without
INSi in its software it cannot retrieve the INS, whatever another facility did. An INSi outage
(``kind = "outage"``, ``service = "insi"``) makes lookups fail; the identities left are looked
up again over ``identity.backlog_days`` once it ends. Table ``identity``: persons by state at
month end, lookups by outcome and ID checks in the month.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agents.identity.qualification import (
    LOOKUP_NAMES,
    STATE_NAMES,
    Qualification,
    QualificationRules,
)
from agents.producers.base import Batch
from simulator.engine.modules import Context, Module, Table

#: count columns of the ``identity`` table (national figures)
STATE_COLUMNS = tuple(f"persons_{s}" for s in STATE_NAMES)
LOOKUP_COLUMNS = tuple(f"lookups_{o}" for o in LOOKUP_NAMES)
COUNT_COLUMNS = (*STATE_COLUMNS, *LOOKUP_COLUMNS, "id_checks")


class IdentityModule(Module):
    """Qualification of patients' identities, document by document."""

    name = "identity"

    def __init__(self, ctx: Context):
        self.ctx = ctx
        cfg = ctx.scenario.identity
        rules = QualificationRules(cfg.id_check_share, int(cfg.retry_days), cfg.resolve_01, cfg.resolve_02,
                                   int(cfg.backlog_days), cfg.new_to_facility_share)
        self.qual = Qualification(ctx.world.patients, rules, ctx.streams["identity"], cfg.initial_qualified_share)
        self.qual.kernels = ctx.dmp.kernels  # compiled scan where the DMP judges with its kernels
        # each facility's rank in its sector's identity practice (fixed: a rising share adds facilities)
        self.rank = [ctx.streams[f"identity:practice:{s.name}"].random(s.n) for s in ctx.world.sectors]
        self._bounds = [(float(r.min(initial=1.0)), float(r.max(initial=0.0))) for r in self.rank]
        self._practice: dict[int, tuple[int, float, np.ndarray | bool]] = {}
        self.rows: list[dict[str, Any]] = []
        ctx.bus.subscribe("insi.available", self._insi_available)

    def _insi_available(self, up: bool, day: int) -> None:
        self.qual.set_up(up)

    def practice(self, k: int, day: int) -> np.ndarray | bool:
        """Whether each facility of sector ``k`` qualifies identities on ``day`` (True / False
        when all / none do), computed once a day."""
        cached = self._practice.get(k)
        if cached is not None and cached[0] == day:
            return cached[2]
        sector = self.ctx.world.sectors[k]
        share = sector.qualified_share(day, self.ctx.params.glob["identity.qualification_factor"],
                                       self.ctx.params.sector[sector.name]["qualification.end_share"])
        low, high = self._bounds[k]
        practice: np.ndarray | bool
        if share > high:
            practice = True
        elif share <= low:
            practice = False
        else:
            practice = self.rank[k] < share
        self._practice[k] = (day, share, practice)
        return practice

    def on_batch(self, batch: Batch) -> None:
        """Each row's qualified flag; the status bytes read meanwhile go with the batch (the
        DMP reuses them while the profiles have not changed: one gather per document)."""
        practice = self.practice(batch.sector, batch.day)
        batch.qualified, batch.status = self.qual.read_rows(batch.patient, practice, batch.day, batch.facility,
                                                            self.ctx.workers)
        batch.version = self.ctx.world.patients.profile_version

    def step(self, day: int) -> None:
        self.qual.catch_up(day)  # the backlog an INSi outage left, while it is up

    def month_end(self, month: int, day: int) -> None:
        lookups, id_checks = self.qual.take_counters()
        row: dict[str, Any] = {"month": self.ctx.world.calendar.months[month]}
        row.update({c: int(n) for c, n in zip(STATE_COLUMNS, self.qual.counts, strict=True)})
        row.update({c: int(n) for c, n in zip(LOOKUP_COLUMNS, lookups, strict=True)})
        row["id_checks"] = int(id_checks)
        with_ins = int(self.qual.counts.sum() - self.qual.counts[-1])
        row["qualified_share"] = self.qual.counts[STATE_NAMES.index("qualified")] / max(with_ins, 1)
        row["insi_up"] = self.qual.up
        self.rows.append(row)

    def tables(self) -> dict[str, Table]:
        df = pd.DataFrame(self.rows, columns=["month", *COUNT_COLUMNS, "qualified_share", "insi_up"])
        return {"identity": Table(df, {c: c for c in COUNT_COLUMNS})}
