"""Producers of one sector as arrays, and the daily draw of their documents as one batch.

Each facility is a row: département, size, vendor, Ségur install day, MSSanté mailbox day,
feeding state, intensity. Every day the sector draws, for the facilities that feed, how many
documents they send (Poisson, thinned by intensity), then one row per document: producer,
patient, type, the install state and any injected defect; whether the identity is qualified is
set afterwards from the patient's state (agents/identity/qualification.py).
A facility that does not feed costs nothing per document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtri

from agents import kernels
from agents.catalogue import load_catalogue
from agents.defects import DEFECT_NAMES
from agents.patients import NEVER, Patients
from agents.producers.equipment import Equipment
from agents.producers.learning import Obligation, beta_levels, ceilings_on, experience_rate, level
from agents.producers.outbox import Outbox
from scenarios.schema import SectorConfig

N_TYPES = len(load_catalogue())
TYPE_LUT_SIZE = 1 << 16


@dataclass
class Batch:
    """The documents one sector sends on one day (one row per document)."""

    sector: int
    day: int
    facility: np.ndarray  # int32, index in the sector
    patient: np.ndarray  # int32
    doc_type: np.ndarray  # uint8, catalogue index
    qualified: np.ndarray  # bool: identity sent as QUAL (set by the identity module, simulator/engine/identity.py)
    installed: np.ndarray  # bool: Ségur software installed when sent
    defect: np.ndarray | None  # uint8 defect code (0 none) or None when no defect is configured
    #: each row's patient status byte as the identity module read it, and the patients'
    #: ``profile_version`` then: while it is unchanged the DMP reads it instead of the population
    status: np.ndarray | None = None
    version: int = -1

    def __len__(self) -> int:
        return int(self.facility.size)

    def take(self, sl: slice | np.ndarray) -> Batch:
        """The rows of ``sl`` (a slice or row indices) as a batch of the same sector and day."""
        return Batch(
            self.sector, self.day, self.facility[sl], self.patient[sl], self.doc_type[sl],
            self.qualified[sl], self.installed[sl], None if self.defect is None else self.defect[sl],
            None if self.status is None else self.status[sl], self.version,
        )

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        """One batch of the rows of ``batches`` (same sector and day, before the identity module
        has read them), in their order: a small run's per-batch cost is paid once a sector-day."""
        first = batches[0]
        defect = None
        if any(b.defect is not None for b in batches):
            defect = np.concatenate([np.zeros(len(b), dtype=np.uint8) if b.defect is None else b.defect for b in batches])
        return Batch(first.sector, first.day, np.concatenate([b.facility for b in batches]),
                     np.concatenate([b.patient for b in batches]), np.concatenate([b.doc_type for b in batches]),
                     np.concatenate([b.qualified for b in batches]), np.concatenate([b.installed for b in batches]),
                     defect)

    def status_now(self, version: int) -> np.ndarray | None:
        """The rows' status bytes read earlier, if the profiles have not changed since
        (``version``: the patients' ``profile_version`` now); None otherwise."""
        return self.status if self.status is not None and self.version == version else None


def logistic_days(rng: np.random.Generator, n: int, day_of, start, mid, width: float,
                  final_share: float) -> np.ndarray:
    """Days at which ``n`` facilities reach a state that follows a logistic curve in time
    (share ``final_share`` eventually), never before ``start``; NEVER for the others."""
    u = rng.random(n)
    out = np.full(n, NEVER, dtype=np.int32)
    ok = u < final_share
    v = np.clip(u[ok] / max(final_share, 1e-12), 1e-9, 1 - 1e-9)
    days = day_of(mid) + width * np.log(v / (1 - v))
    out[ok] = np.maximum(np.round(days), day_of(start)).astype(np.int32)
    return out


def stratified_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniforms, one in each of ``n`` equal strata, in random order: the same
    distribution as ``rng.random(n)``, with much less sampling noise in sums over facilities
    (so that a small simulated sector's volume does not hang on a few lucky draws)."""
    return (rng.permutation(n) + rng.random(n)) / n


def relative_sizes(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Facility sizes: lognormal (log-sd ``sigma``) at stratified quantiles, rescaled to
    mean exactly 1, so that the sector's total activity does not depend on the draw."""
    if not sigma or n == 0:
        return np.ones(n)
    u = np.clip(stratified_uniforms(rng, n), 1e-12, 1 - 1e-12)
    size = np.exp(sigma * ndtri(u))
    return size / size.mean()


class Sector:
    """One sector's facilities as arrays and its daily document production."""

    name = "sector"
    #: whether a sector with few facilities may be simulated with more (weighted) ones than
    #: the scale implies (see world.build_world); False where facilities are reported one by one
    may_floor_facilities = True
    #: simulated facilities per real one (set by world.build_world; = scale unless floored)
    facility_scale = 1.0
    #: sector whose professionals usually receive this sector's documents by MSSanté
    routes_to_gp = True
    #: a failing vendor's outbox (agents/producers/outbox.py), set by a vendor_failure intervention
    outbox: Outbox | None = None

    def __init__(self, index: int, cfg: SectorConfig, n: int, dept: np.ndarray,
                 rng: np.random.Generator, day_of, n_days: int):
        self.index = index
        self.cfg = cfg
        self.n = n
        self.dept = dept.astype(np.int16)
        self.rng = rng
        # uptake draws from a stream of its own, so that a lever changing how many documents a
        # sector sends (a vendor failure, an obligation) leaves who starts feeding unchanged
        self.uptake_rng = rng.spawn(1)[0]
        self.size = relative_sizes(rng, n, cfg.size_sigma)
        vendors = list(cfg.vendors) or ["(unknown)"]
        shares = np.array(list(cfg.vendors.values()) or [1.0])
        self.vendor_names = vendors
        self.vendor = rng.choice(len(vendors), size=n, p=shares / shares.sum()).astype(np.int8)
        ins = cfg.install
        #: orders then installs (agents/producers/equipment.py), or None for a direct install curve
        self.equipment: Equipment | None = None
        if ins.orders:
            self.equipment = Equipment(ins, self.size, rng, day_of)
            self.install_day = self.equipment.install_days()
        else:
            self.install_day = logistic_days(rng, n, day_of, ins.start, ins.mid, ins.width_days, ins.final_share)
        self.campaign_start = int(day_of(ins.start))
        self.rolled_out = np.zeros(n, dtype=bool)  # facilities whose campaign a regional roll-out set
        self.install_version = 0  # bumped whenever a lever rewrites install_day
        self.legacy_feeder = rng.random(n) < cfg.legacy_feeding_share
        self.feeding = self.legacy_feeder.copy()
        self.feeding_since = np.where(self.feeding, 0, NEVER).astype(np.int32)
        m = cfg.mssante
        has_box = rng.random(n) < m.mailbox_initial_share
        gets_box = rng.random(n) < m.mailbox_after_install
        self.mailbox_day = np.where(has_box, 0, np.where(gets_box, self.install_day, NEVER)).astype(np.int32)
        self._box_with_update = ~has_box & gets_box  # their mailbox comes with the update
        self.intensity_u = stratified_uniforms(rng, n)
        self._intensity_cache: dict[float, np.ndarray] = {}
        self.launch_day = 0
        self.set_documents(cfg.documents)
        # intensity that grows (agents/producers/learning.py): per-type ceilings, obligations,
        # each facility's feeding experience (days) and level, refreshed monthly by ``learn``
        lc = cfg.learning
        cat = {t.code: t.index for t in load_catalogue()}
        self.type_ceiling_base = np.full(N_TYPES, lc.ceiling if lc else 1.0)
        for code, c in (lc.ceilings.items() if lc else ()):
            self.type_ceiling_base[cat[code]] = c
        self.obligations: list[Obligation] = []
        self.experience = np.zeros(n)
        self._level: np.ndarray | None = None
        self._learn_key: tuple | None = None
        self._learn_day = 0
        self._learn_version = 0
        self._final_cache: tuple | None = None
        self._set_ceilings(self.type_ceiling_base)
        # defects: per vendor, cumulative rates over defect codes
        self.defect_cum = self._defect_table(cfg)
        self._cache_key: tuple | None = None
        self._feeders = np.empty(0, dtype=np.int64)
        self._lam = np.empty(0)
        self.qual = cfg.qualification
        self.qual_mid = day_of(cfg.qualification.mid)
        #: draw rows with the compiled kernel (set by the simulation; same rows either way)
        self.kernels = False
        self._install_cache: tuple | None = None
        self._size_total: tuple[np.ndarray, float] | None = None

    # -- set-up helpers ---------------------------------------------------------------
    def set_documents(self, documents: dict[str, float]) -> None:
        """The sector's document mix (LOINC code → documents per episode) and the type tables
        drawn from it; rebuilt when a new document type starts (interventions)."""
        w = np.zeros(N_TYPES)
        cat = {t.code: t.index for t in load_catalogue()}
        for code, per_episode in documents.items():
            w[cat[code]] = per_episode
        self.type_weights = w
        self.docs_per_episode = float(w.sum())
        self.type_probs = w / w.sum() if w.sum() > 0 else np.full(N_TYPES, 1.0 / N_TYPES)
        if getattr(self, "type_ceiling", None) is not None:  # a later change of the mix (interventions)
            self._set_ceilings(self.type_ceiling)
        self._cache_key = None  # expected volumes depend on docs_per_episode

    def _defect_table(self, cfg: SectorConfig) -> np.ndarray | None:
        if not cfg.defects:
            return None
        nv = len(self.vendor_names)
        table = np.zeros((nv, len(DEFECT_NAMES)))
        for vendor, kinds in cfg.defects.items():
            rows = range(nv) if vendor == "*" else [self.vendor_names.index(vendor)]
            for kind, rate in kinds.items():
                for r in rows:
                    table[r, DEFECT_NAMES.index(kind)] += rate
        if not table.any():
            return None
        return np.cumsum(table, axis=1)

    def _set_ceilings(self, ceilings: np.ndarray) -> None:
        """The per-type ceilings in force, and the tables of what is sent: documents sent per
        episode at full level (``sent_per_episode``) and the 16-bit type lookup of sent rows."""
        self.type_ceiling = ceilings
        sent = self.type_weights * ceilings
        self.sent_per_episode = float(sent.sum())
        probs = sent / sent.sum() if sent.sum() > 0 else self.type_probs
        self.type_cum = np.cumsum(probs)
        # 16-bit lookup table: a uniform uint16 picks a type with resolution 1/65536
        grid = (np.arange(TYPE_LUT_SIZE) + 0.5) / TYPE_LUT_SIZE
        # rounding can leave type_cum[-1] a hair under 1: clip to the last type that has weight
        last = int(np.flatnonzero(probs > 0)[-1])
        self.type_lut = np.minimum(np.searchsorted(self.type_cum, grid, side="right"), last).astype(np.uint8)

    def add_obligation(self, codes: list[str] | None, day: int, ceiling: float, half_life_days: float) -> None:
        """An obligation to feed ``codes`` (None: every type of the sector) from ``day``: their
        ceilings move toward ``ceiling`` from then on (applied by ``learn`` at the next month)."""
        cat = {t.code: t.index for t in load_catalogue()}
        types = tuple(np.flatnonzero(self.type_weights > 0)) if codes is None else tuple(cat[c] for c in codes)
        self.obligations.append(Obligation(tuple(int(t) for t in types), day, ceiling, half_life_days))
        self._learn_key = None  # refresh at the next draw

    def learn(self, day: int, month: int, intensity_mean: float) -> None:
        """Once a month (or when ``intensity_mean`` or an obligation changes): add the feeding
        experience gained since the last call, recompute each facility's level and the type
        ceilings in force. NumPy over the facilities; nothing per document."""
        key = (month, intensity_mean, len(self.obligations))
        if key == self._learn_key:
            return
        lc = self.cfg.learning
        if lc is not None:
            # days each feeding facility spent feeding with its Ségur software since the last call
            began = np.maximum(np.maximum(self.feeding_since, self.install_day), self._learn_day)
            gained = np.where(self.feeding, np.clip(day - began, 0, None), 0)
            share = float(np.count_nonzero(self.feeding)) / max(self.n, 1)
            self.experience += gained * experience_rate(share, lc.peer_weight)
            c = self.cfg.intensity_concentration
            start = self.intensity(intensity_mean)
            final = self._final_level(lc.final_mean, c)
            self._level = level(start, final, self.experience, lc.half_life_days)
        ceilings = ceilings_on(self.type_ceiling_base, self.obligations, day)
        if not np.array_equal(ceilings, self.type_ceiling):
            self._set_ceilings(ceilings)
        self._learn_day = day
        self._learn_key = key
        self._learn_version += 1

    def _final_level(self, mean: float, concentration: float) -> np.ndarray:
        """Each facility's habit level: Beta quantiles of its uniform with mean ``mean`` (cached)."""
        cached = self._final_cache
        if cached is None or cached[0] != (mean, concentration):
            self._final_cache = ((mean, concentration), beta_levels(self.intensity_u, mean, concentration))
        return self._final_cache[1]

    def intensity(self, mean: float) -> np.ndarray:
        """Share of eligible documents each facility sends: Beta(mean, concentration) quantiles
        of a fixed uniform per facility, so a change of mean keeps each facility's rank."""
        if mean not in self._intensity_cache:
            self._intensity_cache[mean] = beta_levels(self.intensity_u, mean, self.cfg.intensity_concentration)
        return self._intensity_cache[mean]

    # -- equipment levers (once, on their date; agents/producers/equipment.py) --------
    def ordered_mask(self, day: int) -> np.ndarray:
        """Facilities that have ordered the update by ``day`` (direct curve: those installed)."""
        if self.equipment is None:
            return self.install_day <= day
        return self.equipment.ordered_mask(day)

    def _set_install_days(self, new: np.ndarray, day: int, which: np.ndarray | None = None) -> None:
        """Install days from ``day`` on: facilities installed before ``day`` keep theirs (the past
        is not rewritten), the others (of ``which``) take ``new``, not before ``day``; mailboxes
        that come with the update follow."""
        old = self.install_day
        change = old >= day if which is None else (old >= day) & which
        new = np.where(new == NEVER, NEVER, np.maximum(new, day)).astype(np.int32)
        self.install_day = np.where(change, new, old).astype(np.int32)
        box = self._box_with_update & change
        self.mailbox_day = np.where(box, self.install_day, self.mailbox_day).astype(np.int32)
        self.install_version += 1
        self._cache_key = None

    def fund(self, day: int, euros_per_facility: float, window_days: float) -> int:
        """Funding from ``day`` (orders sooner or at all); returns the facilities it moved."""
        if self.equipment is None:
            return 0
        moved = self.equipment.fund(day, euros_per_facility, window_days)
        self._set_install_days(self.equipment.install_days(), day)
        return moved

    def extend_deadline(self, day: int, days: int) -> None:
        """The installation deadline moves ``days`` later, from ``day``."""
        if self.equipment is None:
            return
        self.equipment.extend_deadline(days)
        self._set_install_days(self.equipment.install_days(), day)

    def shift_campaign(self, delta: int, mask: np.ndarray) -> None:
        """Move the whole campaign (orders, installs, the mailboxes that come with the update) of
        the facilities in ``mask`` by ``delta`` days (set-up time or a launch: nothing installed
        is uninstalled by the caller's choice of ``mask``)."""
        if delta == 0 or not mask.any():
            return
        inst = mask & (self.install_day != NEVER)
        with_update = mask & self._box_with_update & (self.mailbox_day == self.install_day)
        self.install_day = self.install_day.copy()
        self.install_day[inst] = np.maximum(self.install_day[inst].astype(np.int64) + delta, 0).astype(np.int32)
        self.mailbox_day = self.mailbox_day.copy()
        self.mailbox_day[with_update] = self.install_day[with_update]
        if self.equipment is not None:
            self.equipment.move(delta, mask)
        self.install_version += 1
        self._cache_key = None

    def roll_out(self, mask: np.ndarray, day: int) -> None:
        """A regional roll-out, at set-up: the campaign of the facilities in ``mask`` (not yet
        rolled out) starts on ``day`` instead of the national start; the others keep theirs."""
        mask = mask & ~self.rolled_out
        self.shift_campaign(day - self.campaign_start, mask)
        self.rolled_out |= mask

    def open_regionally(self, day: int) -> None:
        """The first regional launch of the sector is today (wave 1 sectors are always open)."""
    def levels(self, intensity_mean: float) -> np.ndarray:
        """Each facility's level today: the learnt one (``learn``), or the constant start level
        when the sector has no learning (or ``learn`` has not run yet)."""
        if self.cfg.learning is None or self._level is None:
            return self.intensity(intensity_mean)
        return self._level

    # -- daily dynamics ---------------------------------------------------------------
    def launched(self, day: int) -> bool:
        return day >= self.launch_day

    def installed_mask(self, day: int) -> np.ndarray:
        return self.install_day <= day

    def counted_installed(self, day: int) -> np.ndarray:
        """Facilities the adoption table counts as equipped on ``day``: those installed, once the
        sector is launched (a dormant wave 2 sector's campaign is a plan, not installations)."""
        return self.install_day <= day if self.launched(day) else np.zeros(self.n, dtype=bool)

    def uptake(self, day: int, p: float, q: float) -> int:
        """Bass-type adoption: an equipped facility that does not feed yet starts feeding with
        daily probability p + q·F, F = share of equipped facilities already feeding."""
        if not self.launched(day):
            return 0
        equipped = self.install_day <= day
        n_eq = int(equipped.sum())
        if n_eq == 0:
            return 0
        cand = np.flatnonzero(equipped & ~self.feeding)
        if cand.size == 0:
            return 0
        f = np.count_nonzero(self.feeding & equipped) / n_eq
        h = min(p + q * f, 1.0)
        new = cand[self.uptake_rng.random(cand.size) < h]
        if new.size:
            self.feeding[new] = True
            self.feeding_since[new] = day
        return int(new.size)

    def qualified_share(self, day: int, factor: float, end_share: float) -> float:
        """Share of this sector's facilities whose identity practice qualifies identities (INSi
        lookup and ID check) on ``day`` (the ``qualification`` ramp; see simulator/engine/identity.py)."""
        q = self.qual
        s = q.start_share + (end_share - q.start_share) * expit((day - self.qual_mid) / q.width_days)
        return float(min(max(s * factor, 0.0), 1.0))

    def feeders_and_rates(self, episodes_per_day: float, intensity_mean: float) -> tuple[np.ndarray, np.ndarray]:
        """Feeding facilities and their expected documents on a full working day (cached; refreshed
        when feeding changes, a parameter changes or ``learn`` has run): episodes × documents sent
        per episode at full level (the type ceilings) × size × the facility's level."""
        key = (int(self.feeding.sum()), episodes_per_day, intensity_mean, self._learn_version)
        if key != self._cache_key:
            feeders = np.flatnonzero(self.feeding)
            inten = self.levels(intensity_mean)[feeders]
            self._lam = episodes_per_day * self.sent_per_episode * self.size[feeders] * inten
            self._feeders = feeders
            self._cache_key = key
        return self._feeders, self._lam

    def eligible_per_day(self, episodes_per_day: float) -> float:
        """Expected documents of all the sector's facilities on a full working day (sent or not)."""
        return episodes_per_day * self.docs_per_episode * self.total_size()

    def total_size(self) -> float:
        """The facilities' summed size (read every day; summed again only when ``size`` is replaced)."""
        cached = self._size_total
        if cached is None or cached[0] is not self.size:
            cached = self._size_total = (self.size, float(self.size.sum()))
        return cached[1]

    def set_patient_ranges(self, patients: Patients) -> None:
        """Each facility draws its patients in a contiguous range: by default its département."""
        self.patient_start = np.minimum(patients.dept_start[self.dept], patients.n - 1).astype(np.int32)
        self.patient_size = np.maximum(patients.dept_size[self.dept], 1).astype(np.uint64)

    def choose_patients(self, facility: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """The patient of each document: the high 32 bits of its random word, scaled to its
        facility's patient range (``(bits · size) >> 32``: exact, and always inside it)."""
        f = facility.astype(np.intp, copy=False)  # gathers by an intp index are the fast ones
        offset = raw >> np.uint64(32)
        offset *= self.patient_size.take(f)
        offset >>= np.uint64(32)
        patient = offset.astype(np.int32)
        patient += self.patient_start.take(f)
        return patient

    def _installed_rows(self, feeders: np.ndarray, counts: np.ndarray, total: int, day: int) -> np.ndarray:
        """Whether each row's facility had its Ségur software on ``day`` (``np.repeat`` of the
        feeders' flags, without it when they all agree: the usual case)."""
        cache = self._install_cache
        if cache is None or cache[0] is not feeders or cache[1] is not self.install_day:
            days = self.install_day[feeders]
            cache = self._install_cache = (feeders, self.install_day, days,
                                           int(days.min(initial=NEVER)), int(days.max(initial=0)))
        _, _, days, first, last = cache
        if last <= day:
            return np.ones(total, dtype=bool)
        if first > day:
            return np.zeros(total, dtype=bool)
        return np.repeat(days <= day, counts)

    def produce(self, day: int, rhythm: float, episodes_per_day: float, intensity_mean: float) -> Batch | None:
        """Draw today's documents of every feeding facility as one batch (None if none)."""
        if rhythm <= 0 or not self.launched(day):
            return None
        feeders, lam = self.feeders_and_rates(episodes_per_day, intensity_mean)
        if feeders.size == 0:
            return None
        rng = self.rng
        counts = rng.poisson(lam * rhythm)
        drawn = int(counts.sum())  # words the stream gives today, whatever a failing vendor holds
        if self.outbox is not None and self.outbox.active:  # a vendor fails: its documents wait
            counts = self.outbox.apply(feeders, counts, day)
        total = int(counts.sum())
        if total == 0:
            if drawn:
                rng.bit_generator.random_raw(drawn)  # keep the stream where a run without the lever has it
            return None
        # one 64-bit word per row: bits 0–15 pick the type, bits 32–63 the patient (the kernel
        # and NumPy read the same bits the same way); ``qualified`` is left False here (simulator/engine/identity.py)
        raw = rng.bit_generator.random_raw(drawn)
        if total != drawn:  # held rows give their words up; sent-after-recovery rows take the outbox's own
            raw = raw[:total] if total < drawn else np.concatenate(
                [raw, self.outbox.rng.bit_generator.random_raw(total - drawn)])
        if self.kernels:
            fac, patient, doc_type, qualified, installed = kernels.draw_rows(
                feeders, counts, raw, self.type_lut, 0, self.patient_start,
                self.patient_size, self.install_day, day)
        else:
            rep = np.repeat(feeders, counts)  # intp
            low = raw.astype(np.uint32)
            doc_type = self.type_lut.take(low & np.uint32(0xFFFF))
            qualified = np.zeros(total, dtype=bool)
            patient = self.choose_patients(rep, raw)
            installed = self._installed_rows(feeders, counts, total, day)
            fac = rep.astype(np.int32)
        defect = None
        if self.defect_cum is not None:
            cum = self.defect_cum[self.vendor[fac]]
            r = rng.random(drawn)
            r = (r[:total] if total <= drawn else np.concatenate([r, self.outbox.rng.random(total - drawn)]))[:, None]
            code = (r >= cum).sum(axis=1)  # 0..K; K = no defect
            k = cum.shape[1]
            defect = np.where(code < k, code + 1, 0).astype(np.uint8)
        return Batch(self.index, day, fac, patient, doc_type, qualified, installed, defect)

