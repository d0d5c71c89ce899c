"""The e-prescription flow (domain §7): GP prescriptions registered in the national base,
presented at pharmacies and dispensed once; table ``eprescription``.

Registration: every prescription row (57833-6) of a GP batch whose prescriber's software
e-prescribes on that day is registered (id, patient, day). E-prescription volumes therefore
follow the GPs' DMP feeding: the prescriber's software registers the prescription and deposits
its copy in the DMP (domain §7), so the base sees the prescriptions the GP software sends.
Presentation: a registered prescription is presented at a pharmacy (drawn by size) after a
geometric delay, or never; a pharmacy whose software does not scan the base dispenses on paper
and the prescription stays unconsumed until it expires. Scans reference ids: duplicates and
unknown codes are drawn too, and the base rejects them with their reason.
The rule ``eprescription_mandatory`` (``ctx.rules_extra``) brings forward the GPs and
pharmacies that comply. Conservation: registered = dispensed + expired unconsumed + open.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from agents.catalogue import by_code
from agents.producers.base import Batch, logistic_days
from agents.services.eprescription import ACCEPTED, REJECT_REASONS, PrescriptionBase
from simulator.core.errors import ConservationError
from simulator.modules import Context, Module, Table

PRESCRIPTION_CODE = "57833-6"
RULE = "eprescription_mandatory"
EVENTS = ("issued", "registered", "dispensed", "dispensed_outside_base", "rejected", "expired_unconsumed")
COLUMNS = ["month", "event", "reason", "count", "national"]


class EprescriptionFlow(Module):
    """Registration, presentation and dispensation of e-prescriptions, one day at a time. In
    the day plan after the producers (a prescription can be dispensed the day it is written)."""

    name = "eprescription"

    def __init__(self, ctx: Context):
        cfg = ctx.scenario.eprescription
        assert cfg is not None
        self.ctx = ctx
        self.cfg = cfg
        w = ctx.world
        day_of = w.calendar.day
        self.gp = w.sector("gp")
        self.pharmacy = w.sector("pharmacy")
        self.prescription_type = by_code(PRESCRIPTION_CODE).index
        self.rng = ctx.streams["flow:eprescription"]
        rp = ctx.streams["flow:eprescription:prescribers"]
        rf = ctx.streams["flow:eprescription:pharmacies"]
        c = cfg.prescribers
        self.prescriber_day = logistic_days(rp, self.gp.n, day_of, c.start, c.mid, c.width_days, c.final_share)
        self.prescriber_u = rp.random(self.gp.n)
        c = cfg.pharmacies
        self.pharmacy_day = logistic_days(rf, self.pharmacy.n, day_of, c.start, c.mid, c.width_days, c.final_share)
        self.pharmacy_u = rf.random(self.pharmacy.n)
        self._scan_key: tuple | None = None  # the pharmacies' ready days change only with the rule
        self.base = PrescriptionBase(cfg.validity_days)
        self.due: dict[int, list[np.ndarray]] = defaultdict(list)  # presentation day → ids
        self.mandatory_from: int | None = None
        shape = (ctx.n_months, len(EVENTS) + len(REJECT_REASONS))
        self.counts = np.zeros(shape, dtype=np.int64)
        self._col = {e: i for i, e in enumerate(EVENTS)}
        self._reject_col = {code: len(EVENTS) + i for i, code in enumerate(REJECT_REASONS)}

    # -- registration (producers' time) -----------------------------------------------
    def on_batch(self, batch: Batch) -> None:
        if batch.sector != self.gp.index:
            return
        rows = np.flatnonzero(batch.doc_type == self.prescription_type)
        if rows.size == 0:
            return
        day = batch.day
        month = int(self.ctx.month_of_day[day])
        self.counts[month, self._col["issued"]] += rows.size
        rows = rows[self.prescriber_day[batch.facility[rows]] <= day]
        if rows.size == 0:
            return
        ids = self.base.register(batch.patient[rows], day)
        self.counts[month, self._col["registered"]] += ids.size
        self.ctx.bus.publish("eprescription.registered", ids, batch.patient[rows], batch.facility[rows], day)
        self._schedule(ids, day)

    def _schedule(self, ids: np.ndarray, day: int) -> None:
        """Draw each prescription's presentation day (or none); a presentation after the validity
        period is made on the day it expires (and rejected as expired)."""
        cfg = self.cfg
        rng = self.rng
        presented = rng.random(ids.size) < cfg.presented_share
        ids = ids[presented]
        if ids.size == 0:
            return
        delay = np.minimum(rng.geometric(max(cfg.presentation_hazard, 1e-9), size=ids.size) - 1,
                           cfg.validity_days).astype(np.int16)
        order = np.argsort(delay, kind="stable")  # small integers: a radix sort
        delay, ids = delay[order], ids[order]
        cuts = np.flatnonzero(delay[1:] != delay[:-1]) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), delay.size], strict=True):
            self.due[day + int(delay[a])].append(ids[a:b])

    # -- the day's dispensations ------------------------------------------------------
    def _apply_rule(self, day: int) -> None:
        if self.mandatory_from is not None or RULE not in self.ctx.rules_extra:
            return
        self.mandatory_from = day
        cfg = self.cfg
        comply = (self.prescriber_u < cfg.mandatory_prescriber_compliance) & (self.prescriber_day > day)
        self.prescriber_day[comply] = day
        comply = (self.pharmacy_u < cfg.mandatory_pharmacy_compliance) & (self.pharmacy_day > day)
        self.pharmacy_day[comply] = day

    def _scanning_share(self, day: int) -> float:
        """Share of dispensations (by pharmacy size) made by pharmacies that scan the base on ``day``."""
        key = (self.mandatory_from,)
        if self._scan_key != key:
            order = np.argsort(self.pharmacy_day, kind="stable")
            self._scan_days = self.pharmacy_day[order]
            self._scan_cum = np.cumsum(self.pharmacy.size[order]) / self.pharmacy.size.sum()
            self._scan_key = key
        k = int(np.searchsorted(self._scan_days, day, side="right"))
        return float(self._scan_cum[k - 1]) if k else 0.0

    def step(self, day: int) -> None:
        self._apply_rule(day)
        month = int(self.ctx.month_of_day[day])
        chunks = self.due.pop(day, None)
        if chunks:
            self._dispense(np.concatenate(chunks), day, month)
        self.counts[month, self._col["expired_unconsumed"]] += self.base.expire(day)

    def _dispense(self, ids: np.ndarray, day: int, month: int) -> None:
        rng = self.rng
        cfg = self.cfg
        # each prescription goes to a pharmacy drawn by size; only whether it scans matters here
        scans = rng.random(ids.size) < self._scanning_share(day)
        self.counts[month, self._col["dispensed_outside_base"]] += int(np.count_nonzero(~scans))
        ids = ids[scans]
        if ids.size == 0:
            return
        n_dup = rng.binomial(ids.size, cfg.duplicate_share)
        n_unknown = rng.binomial(ids.size, cfg.unknown_share)
        refs = [ids]
        if n_dup:
            refs.append(rng.choice(ids, size=n_dup))  # a second scan of a code presented today
        if n_unknown:
            refs.append(self.base.next_id + rng.integers(1, 1 << 40, size=n_unknown))  # matches nothing
        refs = np.concatenate(refs)
        codes = self.base.dispense(refs, day)
        if self.ctx.bus.wants("eprescription.dispensed"):
            self.ctx.bus.publish("eprescription.dispensed", refs, codes, day, np.flatnonzero(self.pharmacy_day <= day))
        n_by_code = np.bincount(codes, minlength=max(REJECT_REASONS) + 1)
        self.counts[month, self._col["dispensed"]] += int(n_by_code[ACCEPTED])
        for code, col in self._reject_col.items():
            self.counts[month, col] += int(n_by_code[code])
            self.counts[month, self._col["rejected"]] += int(n_by_code[code])

    # -- results ----------------------------------------------------------------------
    def check_conservation(self) -> None:
        """Every registered prescription is dispensed, expired unconsumed, or still open."""
        total = self.counts.sum(axis=0)
        reg, disp, exp = (int(total[self._col[e]]) for e in ("registered", "dispensed", "expired_unconsumed"))
        if reg != disp + exp + self.base.open:
            raise ConservationError(f"e-prescription conservation broken: registered {reg}, dispensed {disp} + "
                                    f"expired {exp} + open {self.base.open}")

    def tables(self) -> dict[str, Table]:
        self.check_conservation()
        months = self.ctx.world.calendar.months
        rows = []
        for m, month in enumerate(months):
            for e, col in self._col.items():
                if e == "rejected":
                    for code, rcol in self._reject_col.items():
                        rows.append((month, e, REJECT_REASONS[code], int(self.counts[m, rcol])))
                else:
                    rows.append((month, e, "", int(self.counts[m, col])))
        return {"eprescription": Table(pd.DataFrame(rows, columns=COLUMNS[:4]), {"national": "count"})}


def eprescription_flow(ctx: Context) -> EprescriptionFlow | None:
    """The e-prescription flow, when the scenario has an [eprescription] section."""
    return None if ctx.scenario.eprescription is None else EprescriptionFlow(ctx)
