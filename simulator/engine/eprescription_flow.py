"""The e-prescription flow (domain §7): GP prescriptions registered in the national base,
presented at pharmacies and dispensed once; tables ``eprescription`` and ``eprescription_adoption``.

Registration: every GP writes prescriptions (consultations of the gp sector × ``per_consultation``);
from the later of its software's authorisation and its own start day, it registers a share
``use_share`` of them in the base (agents/producers/prescribers.py), whether or not it feeds the
DMP. Counts are Poisson per e-prescribing GP and day; patients are drawn in the GP's patient
range. The prescriptions not registered are counted (``issued`` = registered + on paper).
The DMP copy: a registered e-prescription is also deposited in the DMP (domain §7); it is counted
apart (event ``dmp_copy``, reason: whether its prescriber feeds the DMP), never added to the DMP
tallies: a feeding GP's copies are among its own DMP prescriptions (documents table), so adding
them would count them twice (docs/mechanisms.md, "E-prescription").
Mandate (``mandate_date``, or the rule ``eprescription_mandatory``, whichever comes first): the
complying GPs start and register ``mandate_use_share`` of their prescriptions; the complying
pharmacies start scanning.
Presentation: a registered prescription is presented at a pharmacy (drawn by size) after a
geometric delay, or never; a pharmacy whose software does not scan the base dispenses on paper
and the prescription stays unconsumed until it expires. Scans reference ids: duplicates and
unknown codes are drawn too, and the base rejects them with their reason.
Conservation: registered = dispensed + expired unconsumed + open (still valid at the end).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from agents.catalogue import by_code
from agents.producers.base import Batch, logistic_days, stratified_uniforms
from agents.producers.flows import vendor_defects
from agents.producers.prescribers import Prescribers, campaign_days
from agents.services.eprescription import ACCEPTED, MANDATE_RULE, REJECT_REASONS, PrescriptionBase
from simulator.core.errors import ConservationError
from simulator.engine.modules import Context, Module, Table

PRESCRIPTION_CODE = "57833-6"
RULE = MANDATE_RULE
EVENTS = ("issued", "registered", "dispensed", "dispensed_outside_base", "rejected", "expired_unconsumed", "dmp_copy")
COPY_REASONS = ("prescriber_feeds_dmp", "prescriber_not_feeding")
COLUMNS = ["month", "event", "reason", "count", "national"]
ADOPTION_COLUMNS = ["month", "gp_software_authorised", "gp_eprescribing", "pharmacies_scanning"]


class EprescriptionFlow(Module):
    """Registration, presentation and dispensation of e-prescriptions, one day at a time. In
    the day plan after the producers (a prescription can be dispensed the day it is written;
    the GP's DMP feeding state of the day is read for the DMP copies)."""

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
        self.rng = ctx.streams["flow:eprescription"]
        # patients on their own stream: drawing them or not (_want_patients) changes no other draw
        self.rng_patients = ctx.streams["flow:eprescription:patients"]
        self.rng_copies = ctx.streams["flow:eprescription:dmp_copies"]
        self.prescription_type = by_code(PRESCRIPTION_CODE).index
        self._copies: list[tuple[np.ndarray, np.ndarray]] = []  # today's GP DMP prescriptions (when patients are drawn)
        #: the DMP copies registered today, deposited tomorrow as the GPs' prescription documents
        #: (``dmp_copy_is_document``; booked by the producers, simulator/engine/producers.py)
        self.pending_copies: Batch | None = None
        self.copies_booked = 0  # DMP copies booked as documents (conservation: + pending + not deposited = registered)
        self.copies_not_deposited = 0  # registrations of GPs without their Ségur software: no copy
        self._delays: np.ndarray | None = None  # P(presentation delay), computed once
        rp = ctx.streams["flow:eprescription:prescribers"]
        rf = ctx.streams["flow:eprescription:pharmacies"]
        # stratified uniforms: a small simulated GP sector follows its curves without lucky draws
        software_day = campaign_days(stratified_uniforms(rp, self.gp.n), day_of, cfg.software)
        own_day = campaign_days(stratified_uniforms(rp, self.gp.n), day_of, cfg.prescribers)
        self.prescribers = Prescribers(software_day, own_day, stratified_uniforms(rp, self.gp.n), cfg.use_share)
        self.mandate_day = None if cfg.mandate_date is None else day_of(cfg.mandate_date)
        self.gp_rhythm = ctx.rhythm[self.gp.index]
        self._per_gp_key: tuple | None = None
        c = cfg.pharmacies
        self.pharmacy_day = logistic_days(rf, self.pharmacy.n, day_of, c.start, c.mid, c.width_days, c.final_share)
        self.pharmacy_u = rf.random(self.pharmacy.n)
        self._scan_key: tuple | None = None  # the pharmacies' ready days change only with the rule
        self.base = PrescriptionBase(cfg.validity_days)
        self.due: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # presentation day → (first id, end id, day written)
        self.mandatory_from: int | None = None
        self.adoption_rows: list[dict] = []
        shape = (ctx.n_months, len(EVENTS) + len(REJECT_REASONS) + len(COPY_REASONS))
        self.counts = np.zeros(shape, dtype=np.int64)
        self._col = {e: i for i, e in enumerate(EVENTS)}
        self._reject_col = {code: len(EVENTS) + i for i, code in enumerate(REJECT_REASONS)}
        self._copy_col = {r: len(EVENTS) + len(REJECT_REASONS) + i for i, r in enumerate(COPY_REASONS)}

    # -- registration -----------------------------------------------------------------
    def on_batch(self, batch: Batch) -> None:
        """Keep today's GP DMP prescriptions (prescriber, patient), only when patients are drawn:
        a feeding GP's DMP prescription is the copy of one of its e-prescriptions, so the
        e-prescription takes its patient (how many are registered does not depend on it)."""
        if batch.sector != self.gp.index or self.cfg.dmp_copy_is_document or not self._want_patients():
            return  # (with dmp_copy_is_document, the copies are the GPs' prescription documents)
        rows = np.flatnonzero(batch.doc_type == self.prescription_type)
        if rows.size:
            self._copies.append((batch.facility[rows], batch.patient[rows]))

    def _want_patients(self) -> bool:
        # patients are drawn only for those who read them (the demo's recorder, audits): nothing
        # else does; observers subscribe after the modules are built, so asked each time
        return bool(self.base.audit or self.ctx.bus.wants("eprescription.registered"))

    def _patients(self, fac: np.ndarray) -> np.ndarray:
        """Patients of registrations by GPs ``fac``: each GP's DMP prescriptions of the day first
        (the k-th registration of a GP takes its k-th DMP prescription), the others drawn in the
        GP's patient range."""
        patients = self.gp.choose_patients(fac, self.rng_patients.bit_generator.random_raw(fac.size))
        if not self._copies:
            return patients
        cf = np.concatenate([c[0] for c in self._copies]).astype(np.int64)
        cp = np.concatenate([c[1] for c in self._copies])
        self._copies = []

        def keys(f: np.ndarray) -> np.ndarray:  # facility × 2^32 + rank of the row within its facility
            order = np.argsort(f, kind="stable")
            fs = f[order]
            first = np.searchsorted(fs, fs, side="left")
            k = np.empty(f.size, dtype=np.int64)
            k[order] = fs * (1 << 32) + (np.arange(f.size) - first)
            return k

        ck = keys(cf)
        rk = keys(fac.astype(np.int64))
        corder = np.argsort(ck)
        pos = np.minimum(np.searchsorted(ck[corder], rk), ck.size - 1)
        hit = ck[corder][pos] == rk
        patients[hit] = cp[corder][pos[hit]]
        return patients

    def _per_gp(self) -> tuple[np.ndarray, object]:
        """Prescriptions per GP on a full working day (from the gp sector's consultations)."""
        episodes = self.ctx.params.sector[self.gp.name]["episodes_per_day"]
        key = (episodes, self.cfg.per_consultation)
        if key != self._per_gp_key:
            self._per_gp_arr = episodes * self.cfg.per_consultation * self.gp.size
            self._per_gp_key = key
        return self._per_gp_arr, key

    def _register(self, day: int, month: int) -> None:
        """The day's prescriptions of every GP: those of e-prescribing GPs registered, the others
        counted as written on paper. Counts are Poisson per GP, drawn as the day's two Poisson
        totals (prescribers feeding the DMP or not), the same distribution without a draw per
        GP; when patients are drawn, the totals are shared
        among the GPs (multinomial: Poisson counts given their sum) on the patients' stream, so
        that drawing them changes no other draw."""
        rhythm = float(self.gp_rhythm[day])
        if rhythm <= 0:
            self._copies = []
            return
        per_gp, key = self._per_gp()
        act, lam, total_rate = self.prescribers.rates(day, per_gp, key)
        rng = self.rng
        feeding = self.gp.feeding[act]
        lam_feeds = float(lam[feeding].sum())
        feeds = int(rng.poisson(lam_feeds * rhythm))
        n = feeds + int(rng.poisson(max(float(lam.sum()) - lam_feeds, 0.0) * rhythm))
        paper = int(rng.poisson(max(total_rate - float(lam.sum()), 0.0) * rhythm))
        self.counts[month, self._col["issued"]] += n + paper
        if n == 0:
            self._copies = []
            return
        self.counts[month, self._col["registered"]] += n
        self.counts[month, self._col["dmp_copy"]] += n
        self.counts[month, self._copy_col["prescriber_feeds_dmp"]] += feeds
        self.counts[month, self._copy_col["prescriber_not_feeding"]] += n - feeds
        if self.cfg.dmp_copy_is_document:
            self._copy_documents(act, lam, feeding, feeds, n, day)
        if self._want_patients():
            counts = np.zeros(act.size, dtype=np.int64)
            for mask, k in ((feeding, feeds), (~feeding, n - feeds)):
                w = lam[mask]
                if k and w.sum() > 0:
                    counts[mask] = self.rng_patients.multinomial(k, w / w.sum())
            fac = np.repeat(act, counts)
            patients = self._patients(fac)
            # ids are handed out in a random order of prescriptions: the schedule cuts the day's
            # ids into consecutive blocks, which must not follow the GPs' order
            shuffle = self.rng_patients.permutation(n)
            fac, patients = fac[shuffle], patients[shuffle]
            ids = self.base.register(patients, day)
            self.ctx.bus.publish("eprescription.registered", ids, patients, fac.astype(np.int32), day)
            first = int(ids[0])
        else:
            first = self.base.register_count(n, day)
        self._schedule(first, n, day)

    def _copy_documents(self, act: np.ndarray, lam: np.ndarray, feeding: np.ndarray, feeds: int, n: int,
                        day: int) -> None:
        """The day's ``n`` registrations as prescription documents of their GPs (deposited
        tomorrow, by GPs with their Ségur software): shared among the e-prescribing GPs as the day's Poisson totals (multinomial),
        patients in each GP's range, on a stream of their own (no other draw changes)."""
        rng = self.rng_copies
        counts = np.zeros(act.size, dtype=np.int64)
        for mask, k in ((feeding, feeds), (~feeding, n - feeds)):
            w = lam[mask]
            if k and w.sum() > 0:
                counts[mask] = rng.multinomial(k, w / w.sum())
        fac = np.repeat(act, counts)
        # the copy is deposited by the GP's Ségur software: a GP without it (rare after 2023)
        # registers the e-prescription but deposits no copy
        installed = self.gp.install_day[fac] <= day + 1
        self.copies_not_deposited += int(fac.size - np.count_nonzero(installed))
        fac = fac[installed]
        patients = self.gp.choose_patients(fac, rng.bit_generator.random_raw(fac.size))
        doc_type = np.full(fac.size, self.prescription_type, dtype=np.uint8)
        installed = np.ones(fac.size, dtype=bool)
        batch = Batch(self.gp.index, day + 1, fac.astype(np.int32), patients, doc_type,
                      np.zeros(fac.size, dtype=bool), installed, vendor_defects(self.gp, fac, rng))
        if self.pending_copies is not None:  # two days' copies (a day without a producers' step)
            p = self.pending_copies
            defect = None if p.defect is None or batch.defect is None else np.concatenate([p.defect, batch.defect])
            batch = Batch(p.sector, day + 1, *(np.concatenate([a, b]) for a, b in (
                (p.facility, batch.facility), (p.patient, batch.patient), (p.doc_type, batch.doc_type),
                (p.qualified, batch.qualified), (p.installed, batch.installed))), defect)
        self.pending_copies = batch

    def take_copies(self, day: int) -> Batch | None:
        """The DMP copies registered before ``day``, to book as the GPs' documents today."""
        batch, self.pending_copies = self.pending_copies, None
        if batch is not None:
            batch.day = day
            self.copies_booked += len(batch)
        return batch

    def eprescribing(self, fac: np.ndarray, day: int) -> np.ndarray:
        """Whether each GP of ``fac`` e-prescribes on ``day`` (its registrations are its
        prescription documents when ``dmp_copy_is_document``)."""
        return self.prescribers.start_day[fac] <= day

    def _schedule(self, first: int, n: int, day: int) -> None:
        """Draw how many of the ``n`` prescriptions registered on ``day`` (ids ``first`` …) are
        presented after each delay (truncated geometric; a presentation after the validity
        period is made on the day it expires, and rejected as expired) or never. Prescriptions
        of a day are interchangeable, so each delay takes a consecutive block of ids."""
        cfg = self.cfg
        rng = self.rng
        presented = int(rng.binomial(n, cfg.presented_share))
        if presented == 0:
            return
        per_delay = rng.multinomial(presented, self._delay_probs())
        ends = first + np.cumsum(per_delay)
        for d in np.flatnonzero(per_delay).tolist():
            hi = int(ends[d])
            self.due[day + d].append((hi - int(per_delay[d]), hi, day))

    def _delay_probs(self) -> np.ndarray:
        """P(presented ``d`` days after writing), d = 0 … validity (the last: at or after expiry)."""
        if self._delays is None:
            h = min(max(self.cfg.presentation_hazard, 1e-9), 1.0)
            v = self.cfg.validity_days
            d = np.arange(v + 1)
            probs = h * (1 - h) ** d
            probs[v] = (1 - h) ** v
            self._delays = probs / probs.sum()
        return self._delays

    # -- the day's dispensations ------------------------------------------------------
    def _apply_rule(self, day: int) -> None:
        """The mandate, on the earlier of ``mandate_date`` and the rule's date."""
        if self.mandatory_from is not None:
            return
        if not ((self.mandate_day is not None and day >= self.mandate_day) or RULE in self.ctx.rules_extra):
            return
        self.mandatory_from = day
        cfg = self.cfg
        self.prescribers.apply_mandate(day, cfg.mandatory_prescriber_compliance, cfg.mandate_use_share)
        comply = (self.pharmacy_u < cfg.mandatory_pharmacy_compliance) & (self.pharmacy_day > day)
        self.pharmacy_day[comply] = day

    def _scanning_share(self, day: int) -> float:
        """Share of dispensations (by pharmacy size) made by pharmacies that scan the base on ``day``."""
        key = (self.mandatory_from,)
        if self._scan_key != key:
            order = np.argsort(self.pharmacy_day, kind="stable")
            self._scan_days = self.pharmacy_day[order]
            sizes = self.pharmacy.size[order].astype(float)
            if sizes.sum() <= 0:  # a small world whose pharmacies all drew size 0: by count instead
                sizes = np.ones_like(sizes)
            self._scan_cum = np.cumsum(sizes) / sizes.sum() if sizes.size else sizes
            self._scan_key = key
        k = int(np.searchsorted(self._scan_days, day, side="right"))
        return min(1.0, float(self._scan_cum[k - 1])) if k else 0.0

    def step(self, day: int) -> None:
        self._apply_rule(day)
        month = int(self.ctx.month_of_day[day])
        self._register(day, month)
        blocks = self.due.pop(day, None)
        if blocks:
            self._dispense(blocks, day, month)
        self.counts[month, self._col["expired_unconsumed"]] += self.base.expire(day)

    def _dispense(self, blocks: list[tuple[int, int, int]], day: int, month: int) -> None:
        """The day's presentations: each goes to a pharmacy drawn by size (only whether it scans
        matters: the scanned part of each block is its first ids, prescriptions being
        interchangeable); scans of the base, second scans and unknown codes are judged by the
        base; the rest is dispensed on paper."""
        rng = self.rng
        cfg = self.cfg
        arr = np.array(blocks, dtype=np.int64).reshape(-1, 3)
        size = arr[:, 1] - arr[:, 0]
        scanned = rng.binomial(size, self._scanning_share(day))
        n_scanned = int(scanned.sum())
        self.counts[month, self._col["dispensed_outside_base"]] += int(size.sum()) - n_scanned
        if n_scanned == 0:
            return
        n_by_code = np.zeros(max(REJECT_REASONS) + 1, dtype=np.int64)
        accepted = []
        want = self.ctx.bus.wants("eprescription.dispensed")
        seen_ids, seen_codes = [], []
        for lo, k in zip(arr[:, 0].tolist(), scanned.tolist(), strict=True):
            if k:
                counts, codes = self.base.dispense_block(lo, lo + k, day, want_codes=want)
                n_by_code += counts
                if counts[ACCEPTED]:
                    accepted.append((lo, lo + k))
                if want:
                    seen_ids.append(np.arange(lo, lo + k, dtype=np.int64))
                    seen_codes.append(codes)
        n_ok = int(n_by_code[ACCEPTED])
        n_dup = int(rng.binomial(n_ok, cfg.duplicate_share)) if n_ok else 0
        n_unknown = int(rng.binomial(n_scanned, cfg.unknown_share))
        refs = []
        if n_dup:  # a second scan of a code dispensed today
            starts = np.array([a for a, _ in accepted], dtype=np.int64)
            cum = np.cumsum([b - a for a, b in accepted])
            pos = rng.integers(0, int(cum[-1]), size=n_dup)
            which = np.searchsorted(cum, pos, side="right")
            refs.append(starts[which] + pos - np.concatenate(([0], cum[:-1]))[which])
        if n_unknown:
            refs.append(self.base.next_id + rng.integers(1, 1 << 40, size=n_unknown))  # matches nothing
        extra = np.concatenate(refs) if refs else np.empty(0, dtype=np.int64)
        extra_codes = self.base.dispense(extra, day)
        n_by_code += np.bincount(extra_codes, minlength=n_by_code.size)
        if want:
            self.ctx.bus.publish("eprescription.dispensed", np.concatenate([*seen_ids, extra]),
                                 np.concatenate([*seen_codes, extra_codes]), day, np.flatnonzero(self.pharmacy_day <= day))
        self.counts[month, self._col["dispensed"]] += int(n_by_code[ACCEPTED])
        for code, col in self._reject_col.items():
            self.counts[month, col] += int(n_by_code[code])
            self.counts[month, self._col["rejected"]] += int(n_by_code[code])

    # -- results ----------------------------------------------------------------------
    def month_end(self, month: int, day: int) -> None:
        g = self.prescribers.counts(day)
        fg, fp = self.gp.facility_scale, self.pharmacy.facility_scale
        self.adoption_rows.append({
            "month": self.ctx.world.calendar.months[month],
            "gp_software_authorised": g["software"] / fg,
            "gp_eprescribing": g["active"] / fg,
            "pharmacies_scanning": np.count_nonzero(self.pharmacy_day <= day) / fp,
        })

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
                elif e == "dmp_copy":
                    for reason, rcol in self._copy_col.items():
                        rows.append((month, e, reason, int(self.counts[m, rcol])))
                else:
                    rows.append((month, e, "", int(self.counts[m, col])))
        return {"eprescription": Table(pd.DataFrame(rows, columns=COLUMNS[:4]), {"national": "count"}),
                "eprescription_adoption": Table(pd.DataFrame(self.adoption_rows, columns=ADOPTION_COLUMNS))}


def eprescription_flow(ctx: Context) -> EprescriptionFlow | None:
    """The e-prescription flow, when the scenario has an [eprescription] section."""
    return None if ctx.scenario.eprescription is None else EprescriptionFlow(ctx)
