"""A small-world run that keeps what the simulation did, row by row: the runner the teaching
demo and the live server's seeding share (``DemoSimulation``, and the ``overrides`` that size a
small territory).

``DemoSimulation`` is the engine (same modules, same draws) with a ``Recorder`` observing it
through the run's bus: every document the DMP judges, drops or leaves queued, every MSSanté
count the service books (production day, day booked, outcome, [sector, channel, type]), every
e-prescription registered in the base and every dispensation. Nothing here changes a draw: a
demo run gives the same tables as ``simulator.run`` on the same scenario.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.producers.base import Batch
from simulator.core import outcomes as oc
from simulator.core.errors import UsageError
from simulator.engine import Simulation
from simulator.engine.modules import Context

#: a small territory's bounds (``--patients``, ``--days``)
MAX_PATIENTS = 50_000
MAX_DAYS = 366
DMP_COLUMNS = ("day", "judged", "sector", "facility", "patient", "doc_type", "qualified", "installed",
               "defect", "outcome", "status", "rule")


@dataclass
class Recorder:
    """What the run did, kept as arrays (DMP rows) and small lists (messages, prescriptions)."""

    dmp: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in DMP_COLUMNS})
    mss: list[tuple[int, int, int, np.ndarray]] = field(default_factory=list)  # prod day, day, outcome, counts
    registered: list[dict[str, Any]] = field(default_factory=list)  # one per prescription
    dispensed: list[dict[str, Any]] = field(default_factory=list)  # one per accepted dispensation
    rejected_scans: int = 0
    today: int = 0

    def attach(self, ctx: Context) -> None:
        """Subscribe to what the run's modules publish."""
        assert not ctx.mss.group_by_month, "a small territory books messages by production day"
        status = ctx.world.patients.status
        rules = ctx.dmp.rules
        end = ctx.n_days
        bus = ctx.bus

        def today(day: int) -> None:
            self.today = day

        def judged(batch: Batch, out: np.ndarray) -> None:
            self.add_rows(batch, self.today, out, status[batch.patient], rules.require_qualified_identity)

        def dropped(batch: Batch, day: int) -> None:
            self.add_rows(batch, day, np.full(len(batch), oc.DROPPED), status[batch.patient],
                          rules.require_qualified_identity)

        def queued(batch: Batch) -> None:
            self.add_rows(batch, end, np.full(len(batch), oc.QUEUED), status[batch.patient],
                          rules.require_qualified_identity)

        def not_sent(batch: Batch) -> None:  # the sender's existence check found no profile
            self.add_rows(batch, batch.day, np.full(len(batch), oc.NOT_SENT_NO_PROFILE), status[batch.patient],
                          rules.require_qualified_identity)

        def booked(prod: int, day: int, arr: np.ndarray, outcome: int) -> None:
            self.mss.append((int(prod), int(day), int(outcome), arr.copy()))

        bus.subscribe("day", today)
        bus.subscribe("dmp.verdict", judged)
        bus.subscribe("dmp.dropped", dropped)
        bus.subscribe("dmp.queued", queued)
        bus.subscribe("dmp.not_sent", not_sent)
        bus.subscribe("mssante.booked", booked)
        bus.subscribe("eprescription.registered", self.registered_in_base)
        bus.subscribe("eprescription.dispensed", self.scanned)

    def registered_in_base(self, ids: np.ndarray, patients: np.ndarray, prescribers: np.ndarray, day: int) -> None:
        """Prescriptions registered in the national base, with their prescribing GP."""
        for i, p, f in zip(ids.tolist(), np.asarray(patients).tolist(), np.asarray(prescribers).tolist(), strict=True):
            self.registered.append({"id": i, "patient": p, "day": int(day), "gp": f})

    def scanned(self, refs: np.ndarray, codes: np.ndarray, day: int, scanning: np.ndarray) -> None:
        """Scans of the base: a dispensation (the pharmacy, one of ``scanning``, is drawn by the
        renderer) or a rejected scan."""
        for r, c in zip(np.asarray(refs).tolist(), codes.tolist(), strict=True):
            if c == 0:
                self.dispensed.append({"id": r, "day": int(day), "pharmacy": -1, "scanning": scanning})
            else:
                self.rejected_scans += 1

    def add_rows(self, batch: Batch, judged: int, outcome: np.ndarray, status: np.ndarray, rule: bool) -> None:
        """Keep the rows of a judged (or dropped, or queued) batch, with the patients' status bits
        and whether the qualified-identity rule was in force at that moment."""
        n = len(batch)
        cols = {
            "day": np.full(n, batch.day, dtype=np.int32), "judged": np.full(n, judged, dtype=np.int32),
            "sector": np.full(n, batch.sector, dtype=np.int16), "facility": batch.facility,
            "patient": batch.patient, "doc_type": batch.doc_type, "qualified": batch.qualified,
            "installed": batch.installed,
            "defect": batch.defect if batch.defect is not None else np.zeros(n, dtype=np.uint8),
            "outcome": np.asarray(outcome, dtype=np.uint8), "status": np.asarray(status, dtype=np.uint8),
            "rule": np.full(n, rule, dtype=bool),
        }
        for k, v in cols.items():
            self.dmp[k].append(np.array(v, copy=True))

    def dmp_rows(self) -> dict[str, np.ndarray]:
        """Every DMP document of the run, one entry per column, in the order they were judged."""
        return {k: np.concatenate(v) if v else np.empty(0, dtype=np.int32) for k, v in self.dmp.items()}


class DemoSimulation(Simulation):
    """The engine with a ``Recorder`` watching the DMP, MSSanté and the e-prescription base."""

    def __init__(self, *args, **kwargs):
        self.recorder = Recorder()
        super().__init__(*args, observers=[self.recorder, *kwargs.pop("observers", ())], **kwargs)


__all__ = ["DMP_COLUMNS", "DemoSimulation", "Recorder"]


def overrides(sc: Any, patients: int | None, days: int | None, seed: int | None,
              min_days: int = 2) -> dict[str, Any]:
    """Scenario overrides of a small territory's ``--patients`` / ``--days`` / ``--seed`` (the
    demo, and the live server's seeding, which accepts a single day): every document rendered."""
    out: dict[str, Any] = {"payload_sample": 0}  # every document is rendered here
    if patients is not None:
        if not 100 <= patients <= MAX_PATIENTS:
            raise UsageError(f"--patients: must be between 100 and {MAX_PATIENTS:,} for a demo (got {patients})")
        scale = patients / sc.population.size
        if scale > 1:
            raise UsageError(f"--patients: the scenario's territory has only {sc.population.size:,} inhabitants")
        out["run.scale"] = scale
    if days is not None:
        if not min_days <= days <= MAX_DAYS:
            raise UsageError(f"--days: must be between {min_days} and {MAX_DAYS} (got {days})")
        out["run.end"] = sc.run.start + dt.timedelta(days=days - 1)
    if seed is not None:
        if seed < 0:
            raise UsageError(f"--seed: must be a non-negative integer (got {seed})")
        out["run.seed"] = seed
    return out
