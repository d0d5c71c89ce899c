"""The run loop: a SimPy environment (1 unit = 1 day) carrying the sector, service,
profile, intervention and snapshot processes of one simulation.

Same-day order is fixed by offsets within the day: interventions (0.0), profiles (0.1),
producers (0.2), DMP (0.5), MSSanté (0.6), month-end snapshot (0.9).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from agents import kernels
from agents.catalogue import load_catalogue
from agents.patients import HAS_INS, NEVER
from agents.producers.base import Batch
from agents.services.dmp import DmpService
from agents.services.mssante import MssanteService
from scenarios.loader import load_scenario
from scenarios.schema import Scenario
from simulator.core.outcomes import CHANNELS
from simulator.core.parallel import INLINE, Workers, threads_for_run
from simulator.core.streams import Streams
from simulator.core.tally import Tally
from simulator.interventions import Params
from simulator.world import World, build_world

OFFSET = {"interventions": 0.0, "profiles": 0.1, "producers": 0.2, "dmp": 0.5, "mssante": 0.6, "snapshot": 0.9}


class Simulation:
    """One run of one scenario with one seed: ``Simulation(sc).run()`` returns Results."""

    def __init__(self, scenario: Scenario | str | Path, seed: int | None = None,
                 scale: float | None = None, progress: Callable[[int, int], None] | None = None,
                 on_tables: Callable[[Results], None] | None = None):
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        updates: dict[str, Any] = {}
        if seed is not None:
            updates["seed"] = int(seed)
        if scale is not None:
            updates["scale"] = float(scale)
        if updates:
            run_cfg = sc.run.model_validate({**sc.run.model_dump(), **updates})
            sc = sc.model_copy(update={"run": run_cfg})
        self.scenario = sc
        self.progress = progress
        self.on_tables = on_tables  # called with the results as soon as their tables exist
        self.timings: dict[str, float] = {}

    # -- set-up ---------------------------------------------------------------------
    def _setup(self) -> None:
        t0 = time.perf_counter()
        sc = self.scenario
        self.streams = Streams(sc.run.seed)
        self.world: World = build_world(sc, self.streams, getattr(self, "workers", INLINE))
        w = self.world
        cal = w.calendar
        self.n_days = cal.n_days
        self.month_of_day = cal.month_of_day
        self.n_months = cal.n_months
        self.params = Params(sc)
        self.tally = Tally(self.n_months, len(w.sectors), len(load_catalogue()))
        gp_index = w.sector_names.index("gp") if "gp" in w.sector_names else None
        n_gp = w.sectors[gp_index].n if gp_index is not None else 0
        self.dmp = DmpService(w.patients, self.tally, self.month_of_day, gp_index, n_gp, self.n_months)
        self.dmp.track_territory([s.dept for s in w.sectors], len(w.territory), self.n_months)
        # MSSanté messages are counted, not drawn one by one: their départements are apportioned
        # by the senders' expected volumes, [month, sector, channel-1, département]
        self.mss_dept_share = np.zeros((self.n_months, len(w.sectors), 2, len(w.territory)))
        self.mss = MssanteService(self.tally, self.month_of_day, [self.streams[f"service:mssante:{s.name}"] for s in w.sectors],
                                  sc.mssante.same_day_delivery, len(w.sectors), len(CHANNELS), len(load_catalogue()))
        # a small territory (the demo) draws bounces per production day, so that each message
        # can be narrated on its day; the nation draws them per month, as its tables are monthly
        self.mss.group_by_month = not sc.run.departements
        self.rhythm = [cal.rhythm(s.cfg.weekly, s.cfg.seasonal, s.cfg.holiday) for s in w.sectors]
        self.produced = np.zeros((self.n_months, len(w.sectors), len(CHANNELS)), dtype=np.int64)
        self.eligible = np.zeros((self.n_months, len(w.sectors)))
        self.adoption_rows: list[dict[str, Any]] = []
        self.profile_rows: list[dict[str, Any]] = []
        self.has_ins_share = float(np.count_nonzero(w.patients.status & HAS_INS)) / max(w.patients.n, 1)
        # compiled loops for the rows of large runs (the same rows and verdicts either way)
        use_kernels = kernels.wanted(sc.run.scale)
        self.dmp.kernels = use_kernels
        for s in w.sectors:
            s.kernels = use_kernels
            if s.cfg.wave == 2:
                s.launch_day = NEVER
        self.env = simpy.Environment()
        self.timings["setup_s"] = time.perf_counter() - t0

    # -- processes ------------------------------------------------------------------
    def _daily(self, offset: float, step: Callable[[int], None]):
        env = self.env
        yield env.timeout(offset)
        for day in range(self.n_days):
            step(day)
            yield env.timeout(1)

    def _profiles_step(self, day: int) -> None:
        prof = self.world.profiles
        prof.create_due(day)
        g = self.params.glob
        prof.daily_events(g["profiles.activation_rate"], g["profiles.closure_rate"])

    def _day_step(self, day: int) -> None:
        """Profiles, then the sectors' documents of the day. The sectors draw on the workers'
        threads (each from its own stream; profiles are not read) while profiles are updated
        here; what they send is then booked in sector order."""
        launched = [s for s in self.world.sectors if s.launched(day)]
        # the largest sectors first, so that two threads end at about the same time
        launched.sort(key=lambda s: -self._last_batch[s.index])
        drawn = {s.index: self.workers.submit(self._draw_sector, s.index, day) for s in launched}
        self._profiles_step(day)
        for k in sorted(drawn):
            self._book_sector(k, day, drawn[k].result())

    def _draw_sector(self, k: int, day: int) -> Batch | None:
        """Sector ``k``'s adoption and documents of ``day`` (touches only the sector's state)."""
        sector = self.world.sectors[k]
        ps = self.params.sector[sector.name]
        sector.uptake(day, ps["uptake_p"], ps["uptake_q"])
        share = sector.qualified_share(day, self.params.glob["identity.qualification_factor"],
                                       ps["qualification.end_share"])
        return sector.produce(day, float(self.rhythm[k][day]), ps["episodes_per_day"], ps["intensity_mean"], share)

    def _book_sector(self, k: int, day: int, batch: Batch | None) -> None:
        """Count what sector ``k`` sent on ``day``, show its batch to the flows, submit it to
        the DMP, and send its MSSanté messages."""
        sector = self.world.sectors[k]
        rhythm = float(self.rhythm[k][day])
        month = int(self.month_of_day[day])
        self.eligible[month, k] += sector.eligible_per_day(self.params.sector[sector.name]["episodes_per_day"]) * rhythm
        self._last_batch[k] = 0 if batch is None else len(batch)
        if batch is not None:
            self.produced[month, k, 0] += len(batch)
            for flow in self.flows:
                flow.on_batch(batch)
            self.dmp.submit(batch)
        self._mssante_send(day, month, k, rhythm)

    def _recipient_reach(self, sector_name: str, day: int) -> float:
        """Chance that the usual recipient of a sector's message has a mailbox."""
        recipient = self.world.sector(sector_name).cfg.mssante.recipient
        if recipient == "none" or recipient not in self.world.sector_names:
            return 0.0
        target = self.world.sector(recipient)
        share = float(np.count_nonzero(target.mailbox_day <= day)) / target.n
        if recipient == "gp":
            share *= self.scenario.population.gp_registered_share
        return share

    def _mssante_send(self, day: int, month: int, k: int, rhythm: float) -> None:
        if rhythm <= 0:
            return
        sector = self.world.sectors[k]
        ps = self.params.sector[sector.name]
        cache = self._mss_cache.get(k)
        key = (month, self.params.version)
        if cache is None or cache[0] != key:
            m = sector.cfg.mssante
            box = sector.mailbox_day <= day
            inst = sector.install_day <= day
            per_fac = ps["episodes_per_day"] * sector.docs_per_episode * sector.size
            share = np.where(inst, ps["mssante.to_professional"], m.to_professional_legacy)
            pro_w = np.where(box, per_fac * share, 0.0)
            pat_w = np.where(box & inst, per_fac, 0.0)
            lam_pro = float(pro_w.sum()) * self._recipient_reach(sector.name, day)
            lam_pat = float(pat_w.sum()) * ps["mssante.to_patient"]
            n_dept = self.mss_dept_share.shape[3]
            for j, wgt in enumerate((pro_w, pat_w)):
                by_dept = np.bincount(sector.dept, weights=wgt, minlength=n_dept)
                total = by_dept.sum()
                self.mss_dept_share[month, k, j] = by_dept / total if total > 0 else 0.0
            cache = (key, lam_pro, lam_pat)
            self._mss_cache[k] = cache
        _, lam_pro, lam_pat = cache
        prof = self.world.profiles
        reach_patient = prof.n_created / max(self.world.patients.n, 1) * self.has_ins_share
        rng = sector.rng
        weights = sector.type_probs
        for channel, lam in ((1, lam_pro), (2, lam_pat * reach_patient)):
            if lam <= 0:
                continue
            n = rng.poisson(lam * rhythm)
            if n:
                self.produced[month, k, channel] += n
                self.mss.send(day, k, channel, int(n), weights)

    def _dmp_step(self, day: int) -> None:
        g = self.params.glob
        cap = g["dmp.capacity_per_day"] * self.scenario.run.scale
        self.dmp.process(day, cap, g["dmp.max_wait_days"])

    def _mss_step(self, day: int) -> None:
        g = self.params.glob
        self.mss.process(day, g["mssante.bounce_rate"], self.scenario.mssante.max_wait_days)

    def _snapshot(self):
        env = self.env
        cal = self.world.calendar
        months = cal.months
        last_days = cal.last_day_of_months()
        scale = self.scenario.run.scale
        for m, day in enumerate(last_days):
            yield env.timeout(day + OFFSET["snapshot"] - env.now)
            for s in self.world.sectors:
                installed = s.install_day <= day if s.launched(day) else np.zeros(s.n, bool)
                fs = s.facility_scale  # simulated facilities per real one (≥ scale, see world)
                self.adoption_rows.append({
                    "month": months[m],
                    "sector": s.name,
                    "facilities": s.n / fs,
                    "installed": np.count_nonzero(installed) / fs,
                    "feeding": np.count_nonzero(s.feeding) / fs,
                    "legacy_feeding": np.count_nonzero(s.feeding & ~installed) / fs,
                    "mailbox": np.count_nonzero(s.mailbox_day <= day) / fs,
                    "eligible_documents": self.eligible[m, s.index] / scale,
                })
            counts = self.world.profiles.counts()
            for state, n in counts.items():
                self.profile_rows.append({"month": months[m], "state": state, "persons": n / scale})
            if self.progress is not None:
                self.progress(int(day) + 1, self.n_days)

    def _intervention(self, iv) -> Any:
        env = self.env
        day = self.world.calendar.day(iv.date)
        yield env.timeout(max(day, 0) + OFFSET["interventions"] - env.now)
        if iv.kind == "rule":
            if iv.rule == "require_qualified_identity":
                self.dmp.rules.require_qualified_identity = True
            elif iv.rule == "reject_legacy_software":
                self.dmp.rules.reject_legacy_software = True
            else:
                self.rules_extra.add(iv.rule)
        elif iv.kind == "outage":
            service = self.dmp if iv.service == "dmp" else self.mss
            service.up = False
            service.outage_max_wait = iv.max_wait_days
            yield env.timeout(iv.days)
            service.up = True
            service.outage_max_wait = None
        elif iv.kind == "parameter":
            self.params.set(iv.path, iv.value)
        elif iv.kind == "campaign":
            before = self.params.values(iv.path)
            self.params.multiply(iv.path, iv.factor)
            yield env.timeout(iv.days)
            self.params.end_campaign(iv.path, iv.factor, before)
        elif iv.kind == "launch":
            s = self.world.sector(iv.sector)
            s.launch_day = day
            s.install_day = np.where(s.install_day < day, day, s.install_day).astype(np.int32)

    # -- the run --------------------------------------------------------------------
    def _start(self) -> float:
        """Start every process of the run; returns the time the simulation starts."""
        self.rules_extra: set[str] = set()
        self._mss_cache: dict[int, tuple] = {}
        env = self.env
        for iv in sorted(self.scenario.interventions, key=lambda i: i.date):
            env.process(self._intervention(iv))
        # profiles (0.1) and producers (0.2) as one step: nothing else happens in between
        env.process(self._daily(OFFSET["profiles"], self._day_step))
        env.process(self._daily(OFFSET["dmp"], self._dmp_step))
        env.process(self._daily(OFFSET["mssante"], self._mss_step))
        env.process(self._snapshot())
        from simulator.flows import build_flows

        self.flows = build_flows(self)
        for flow in self.flows:
            env.process(self._daily(flow.offset, flow.step))
        from simulator import payload_tier

        self.payloads = payload_tier.attach(self)  # samples the DMP's verdicts for the FHIR tier
        self.dmp.workers = self.workers
        self._last_batch = [0] * len(self.world.sectors)
        return time.perf_counter()

    def run(self) -> Results:
        """Simulate from start to end and return the results (tables + manifest)."""
        t_start = time.perf_counter()
        # helper threads for set-up and the days' independent work (large scales only)
        self.workers = Workers(threads_for_run(self.scenario.run.scale))
        try:
            self._setup()
            t0 = self._start()
            self.env.run(until=self.n_days)
        finally:
            self.workers.close()
            self.workers = INLINE
        self.dmp.workers = INLINE
        self.dmp.finish()
        self.mss.finish()
        self.timings["simulate_s"] = time.perf_counter() - t0
        from simulator import payload_tier
        from simulator.results import build_results

        results = build_results(self)
        if self.on_tables is not None:  # e.g. a report helper starts drawing meanwhile
            self.on_tables(results)
        t1 = time.perf_counter()
        payload_tier.finish(self.payloads, results)  # render, judge, compare; payloads/ files
        self.timings["payloads_s"] = time.perf_counter() - t1
        self.timings["total_s"] = time.perf_counter() - t_start
        results.manifest["timings"] = dict(self.timings)
        results.check_conservation()
        return results


def run(scenario: Scenario | str | Path, seed: int | None = None, scale: float | None = None,
        progress: Callable[[int, int], None] | None = None) -> Results:
    """Run a scenario (a file path or a loaded Scenario) and return its Results.

    ``seed`` and ``scale`` override the scenario's own ``[run]`` values.
    """
    return Simulation(scenario, seed=seed, scale=scale, progress=progress).run()


from simulator.results import Results  # noqa: E402  (type of run()'s result)
