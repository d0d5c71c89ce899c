"""MSSanté messages from who has a mailbox and who sends: a module of the day plan.

Each day, for every sector at work (counts, not rows; one Poisson draw per sector and channel):

- professional → professional: the documents of facilities that have a mailbox, times their
  sending share (``to_professional_legacy`` before the Ségur update; after it the larger of that
  and ``to_professional``: the update adds sending from the software, a sender keeps what it sent
  before), times the chance that the usual recipient has a mailbox; plus the letters each
  personal mailbox writes beyond the catalogued documents (``personal_messages_per_month``,
  booked as type 11488-4, a consultation note / letter), including the mailboxes of professionals
  whose documents are not simulated (``other_professionals``: office specialists) and those of a
  wave 2 sector not launched yet (a mailbox that is open writes; only documents wait for the
  sector's launch);
- professional → patient: the documents of updated facilities with a mailbox, times
  ``to_patient``, for patients with an INS whose Mon espace santé profile is activated;
- patient → professional: every activated profile writes ``patient_messages_per_activated``
  messages a month, to the sectors of ``mssante.patient_recipients`` whose professional has a
  mailbox (booked under the recipient's sector).

Mailboxes are counted per facility (agents/services/mailboxes.py); the ``mailboxes`` table
gives national counts by month, sector and kind. Draws use their own streams
(``messaging:<sector>``), so messaging parameters never shift the documents' draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agents.catalogue import load_catalogue
from agents.services.mailboxes import KINDS, SectorMailboxes
from simulator.core.outcomes import CHANNELS
from simulator.engine.modules import Context, Module, Table

PRO, TO_PATIENT, FROM_PATIENT = (CHANNELS.index(c) for c in ("mssante_pro", "mssante_patient", "mssante_from_patient"))
PRESCRIPTION_TYPE = "57833-6"  # what a patient sends a pharmacy from Mon espace santé (domain §5, S22)
LETTER_TYPE = "11488-4"  # a letter from a personal mailbox is booked as a consultation note / letter
DAYS_PER_MONTH = 365.25 / 12


class MessagingModule(Module):
    """Every sector's MSSanté messages of the day, and the mailboxes at month end."""

    name = "messaging"

    def __init__(self, ctx: Context, producers: Any):
        self.ctx = ctx
        # the producers keep what was sent (conservation) and where (the ledger reads both)
        self.produced = producers.produced
        self.dept_share = producers.mss_dept_share
        w = ctx.world
        self.boxes = [SectorMailboxes(s, ctx.streams[f"mailboxes:{s.name}"], ctx.scale) for s in w.sectors]
        self.rngs = [ctx.streams[f"messaging:{s.name}"] for s in w.sectors]
        self.patient_rng = ctx.streams["messaging:patients"]
        years = max(ctx.n_days / 365.25, 1e-9)
        self.working_days_per_month = [max(float(r.sum()) / years / 12, 1e-9) for r in ctx.rhythm]
        self._cache: dict[int, tuple] = {}
        self._patient_cache: tuple | None = None
        self.rows: list[dict[str, Any]] = []
        # what a patient's message is booked as: the recipient sector's mix, a prescription to a pharmacy
        cat = {t.code: t.index for t in load_catalogue()}
        self.letter_types = np.zeros(len(cat))
        self.letter_types[cat[LETTER_TYPE]] = 1.0
        self.patient_types = []
        for s in w.sectors:
            if s.name == "pharmacy":
                t = np.zeros_like(s.type_probs)
                t[cat[PRESCRIPTION_TYPE]] = 1.0
                self.patient_types.append(t)
            else:
                self.patient_types.append(s.type_probs)
        rec = ctx.scenario.mssante.patient_recipients
        start = ctx.scenario.mssante.patient_messages_start
        self.patient_start_day = 0 if start is None else w.calendar.day(start)
        self.patient_targets = [(w.sector_names.index(k), share) for k, share in rec.items() if k in w.sector_names]

    # -- reach ------------------------------------------------------------------------
    def _box_share(self, k: int, day: int) -> float:
        """Share of sector ``k``'s activity (facility size) whose facility has a mailbox."""
        s = self.ctx.world.sectors[k]
        return float(s.size[s.mailbox_day <= day].sum()) / max(float(s.size.sum()), 1e-12)

    def recipient_reach(self, sector_name: str, day: int) -> float:
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

    def _patient_reach(self) -> float:
        """Share of patients who can read a message in Mon espace santé: an INS and an activated profile."""
        w = self.ctx.world
        return w.profiles.n_activated / max(w.patients.n, 1) * self.ctx.has_ins_share

    # -- the day ----------------------------------------------------------------------
    def _rates(self, k: int, day: int, month: int) -> tuple[float, float, float]:
        """Sector ``k``'s expected messages on a full working day: documents and letters to
        professionals, documents to patients (before the patients' reach); cached for the month,
        parameter version and launch (before its launch a sector sends letters only)."""
        ctx = self.ctx
        sector = ctx.world.sectors[k]
        launched = sector.launched(day)
        key = (month, ctx.params.version, launched)
        cache = self._cache.get(k)
        if cache is not None and cache[0] == key:
            return cache[1:]
        ps = ctx.params.sector[sector.name]
        m = sector.cfg.mssante
        box = (sector.mailbox_day <= day) & launched
        inst = sector.install_day <= day
        per_fac = ps["episodes_per_day"] * sector.docs_per_episode * sector.size
        share = np.where(inst, max(m.to_professional_legacy, ps["mssante.to_professional"]), m.to_professional_legacy)
        doc_w = np.where(box, per_fac * share, 0.0) * self.recipient_reach(sector.name, day)
        boxes = self.boxes[k]
        letters = (boxes.personal(day) * m.personal_messages_per_month + boxes.others_letters(day)) / self.working_days_per_month[k]
        pro_w = doc_w + letters
        pat_w = np.where(box & inst, per_fac, 0.0) * ps["mssante.to_patient"]
        for j, wgt in ((PRO - 1, pro_w), (TO_PATIENT - 1, pat_w), (FROM_PATIENT - 1, np.where(box, sector.size, 0.0))):
            by_dept = np.bincount(sector.dept, weights=wgt, minlength=self.dept_share.shape[3])
            total = by_dept.sum()
            self.dept_share[month, k, j] = by_dept / total if total > 0 else 0.0
        out = (float(doc_w.sum()), float(letters.sum()), float(pat_w.sum()))
        self._cache[k] = (key, *out)
        return out

    def _post(self, day: int, month: int, k: int, channel: int, lam: float, rng: np.random.Generator,
              weights: np.ndarray) -> None:
        if lam <= 0:
            return
        n = int(rng.poisson(lam))
        if n:
            self.produced[month, k, channel] += n
            self.ctx.mss.send(day, k, channel, n, weights)

    def step(self, day: int) -> None:
        ctx = self.ctx
        month = int(ctx.month_of_day[day])
        reach_patient = self._patient_reach()
        for s in ctx.world.sectors:
            k = s.index
            rhythm = float(ctx.rhythm[k][day])
            if rhythm <= 0:
                continue
            lam_doc, lam_letter, lam_pat = self._rates(k, day, month)
            self._post(day, month, k, PRO, lam_doc * rhythm, self.rngs[k], s.type_probs)
            self._post(day, month, k, PRO, lam_letter * rhythm, self.rngs[k], self.letter_types)
            self._post(day, month, k, TO_PATIENT, lam_pat * reach_patient * rhythm, self.rngs[k], s.type_probs)
        self._patient_messages(day, month)

    def _patient_messages(self, day: int, month: int) -> None:
        """Messages activated profiles write to professionals who have a mailbox (any day)."""
        rate = self.ctx.scenario.mssante.patient_messages_per_activated
        if rate <= 0 or not self.patient_targets or day < self.patient_start_day:
            return
        activated = self.ctx.world.profiles.n_activated
        if activated <= 0:
            return
        if self._patient_cache is None or self._patient_cache[0] != month:
            self._patient_cache = (month, [self._box_share(k, day) for k, _ in self.patient_targets])
        per_day = activated * rate / DAYS_PER_MONTH
        for (k, share), reach in zip(self.patient_targets, self._patient_cache[1], strict=True):
            if self.ctx.world.sectors[k].launched(day):
                self._post(day, month, k, FROM_PATIENT, per_day * share * reach, self.patient_rng, self.patient_types[k])

    # -- month end and tables ---------------------------------------------------------
    def month_end(self, month: int, day: int) -> None:
        label = self.ctx.world.calendar.months[month]
        for s, boxes in zip(self.ctx.world.sectors, self.boxes, strict=True):
            counts = boxes.counts(day)
            # personal mailboxes follow the facilities' sizes, which carry the weight of a floored
            # sector (simulated at the run's scale); the others are per simulated facility
            per = {"personal": self.ctx.scale}
            for kind in KINDS:
                self.rows.append({"month": label, "sector": s.name, "kind": kind,
                                  "mailboxes": counts[kind] / per.get(kind, s.facility_scale)})

    def tables(self) -> dict[str, Table]:
        return {"mailboxes": Table(pd.DataFrame(self.rows, columns=["month", "sector", "kind", "mailboxes"]))}
