"""A small-world run that keeps what the simulation did, row by row, for the teaching demo.

``DemoSimulation`` is the engine (same processes, same draws) plus recorders: every document
the DMP judges (the ``on_verdict`` hook) or drops or leaves queued, every MSSanté count the
service books (production day, day booked, outcome, [sector, channel, type]), every
e-prescription registered in the base and every dispensation with its pharmacy. Nothing here
changes a draw: a demo run gives the same tables as ``simulator.run`` on the same scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.producers.base import Batch
from simulator.core import outcomes as oc
from simulator.engine import Simulation
from simulator.flows import register_flow

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
    mss_today: int = 0

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


class _EprescriptionTap:
    """Wraps the e-prescription flow's base to see registrations and dispensations.

    The flow does not say which pharmacy dispensed (a pharmacy drawn by size that scans): the
    pharmacy is left unknown (-1) here and drawn by the renderer. ``pharmacy_day`` (the day each
    pharmacy starts scanning) is read at each dispensation so that the renderer can draw among
    the pharmacies that scan on that day."""

    def __init__(self, flow: Any, rec: Recorder):
        self.flow = flow
        self.rec = rec
        self.batch: Batch | None = None
        base = flow.base
        orig_on_batch, orig_register, orig_dispense = flow.on_batch, base.register, base.dispense

        def on_batch(batch: Batch) -> None:
            self.batch = batch
            try:
                orig_on_batch(batch)
            finally:
                self.batch = None

        def register(patient: np.ndarray, day: int) -> np.ndarray:
            ids = orig_register(patient, day)
            facility = np.full(ids.size, -1, dtype=np.int64)
            b = self.batch
            if b is not None:  # the prescribing GP: the batch's prescription rows, as the flow selects them
                rows = np.flatnonzero(b.doc_type == getattr(flow, "prescription_type", -1))
                prescriber_day = getattr(flow, "prescriber_day", None)
                if prescriber_day is not None:
                    rows = rows[prescriber_day[b.facility[rows]] <= day]
                if rows.size == ids.size and np.array_equal(b.patient[rows], np.asarray(patient)):
                    facility = b.facility[rows]
            for i, p, f in zip(ids.tolist(), np.asarray(patient).tolist(), facility.tolist(), strict=True):
                self.rec.registered.append({"id": i, "patient": p, "day": int(day), "gp": f})
            return ids

        def dispense(refs: np.ndarray, day: int) -> np.ndarray:
            codes = orig_dispense(refs, day)
            scanning = getattr(flow, "pharmacy_day", None)
            scanning = None if scanning is None else np.flatnonzero(scanning <= day)
            for r, c in zip(np.asarray(refs).tolist(), codes.tolist(), strict=True):
                if c == 0:
                    self.rec.dispensed.append({"id": r, "day": int(day), "pharmacy": -1, "scanning": scanning})
                else:
                    self.rec.rejected_scans += 1
            return codes

        flow.on_batch, base.register, base.dispense = on_batch, register, dispense


class _TapFlow:
    """A flow that does nothing but install the taps on the first day, at time 0.0: flows and
    the payload tier's DMP hook are set up after ``_setup``, so this is the first moment every
    hook to chain exists, and still before any document is produced (0.2) or judged (0.5)."""

    name = "demo_recorder"
    offset = 0.0

    def __init__(self, sim: DemoSimulation):
        self.sim = sim
        self.done = False

    def step(self, day: int) -> None:
        if self.done:
            return
        self.done = True
        sim, rec = self.sim, self.sim.recorder
        dmp = sim.dmp
        previous = dmp.on_verdict

        def on_verdict(batch: Batch, out: np.ndarray) -> None:
            rec.add_rows(batch, rec.today, out, sim.world.patients.status[batch.patient],
                         dmp.rules.require_qualified_identity)
            if previous is not None:
                previous(batch, out)

        dmp.on_verdict = on_verdict
        for flow in sim.flows:
            if getattr(flow, "name", "") == "eprescription":
                _EprescriptionTap(flow, rec)

    def on_batch(self, batch: Batch) -> None:
        return None

    def tables(self) -> dict:
        return {}


@register_flow
def _demo_tap(sim: Simulation) -> _TapFlow | None:
    return _TapFlow(sim) if isinstance(sim, DemoSimulation) else None


class DemoSimulation(Simulation):
    """The engine with recorders on the DMP, MSSanté and the e-prescription base."""

    def _setup(self) -> None:
        super()._setup()
        rec = self.recorder = Recorder()
        dmp, mss = self.dmp, self.mss
        status = self.world.patients.status

        def rule() -> bool:
            return dmp.rules.require_qualified_identity

        orig_process, orig_drop, orig_finish = dmp.process, dmp._drop, dmp.finish

        def process(day: int, capacity: float, max_wait: int | None) -> None:
            rec.today = day
            orig_process(day, capacity, max_wait)

        def drop(batch: Batch) -> None:
            rec.add_rows(batch, rec.today, np.full(len(batch), oc.DROPPED), status[batch.patient], rule())
            orig_drop(batch)

        def finish() -> None:
            for batch in list(dmp.outbox):
                rec.add_rows(batch, self.n_days, np.full(len(batch), oc.QUEUED), status[batch.patient], rule())
            orig_finish()

        dmp.process, dmp._drop, dmp.finish = process, drop, finish
        orig_count, orig_mprocess, orig_mfinish = mss._count, mss.process, mss.finish
        assert not mss.group_by_month, "a small territory books messages by production day"

        def count(day: int, arr: np.ndarray, outcome: int) -> None:
            rec.mss.append((int(day), rec.mss_today, int(outcome), arr.copy()))
            orig_count(day, arr, outcome)

        def mprocess(day: int, bounce_rate: float, max_wait: int | None) -> None:
            rec.mss_today = day
            orig_mprocess(day, bounce_rate, max_wait)

        def mfinish() -> None:
            rec.mss_today = self.n_days
            orig_mfinish()

        mss._count, mss.process, mss.finish = count, mprocess, mfinish


__all__ = ["DMP_COLUMNS", "DemoSimulation", "Recorder"]
