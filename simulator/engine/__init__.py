"""The run loop: one simulation of one scenario with one seed.

A run is a list of modules in the order of the day plan (``day_plan``) and one loop over the
days (``Simulation._loop``). SimPy carries time and the truly discrete events: the
interventions' processes (an outage starts on its date and ends days later, a campaign, a
launch) run at the start of their day, before any module's step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import simpy

from agents import kernels
from agents.catalogue import load_catalogue
from agents.patients import HAS_INS, NEVER
from agents.services.dmp import DmpService
from agents.services.mssante import MssanteService
from agents.services.mssante_operators import OPERATORS
from scenarios.country import load_country
from scenarios.schema import Scenario
from simulator.core.events import Bus
from simulator.core.outcomes import CHANNELS
from simulator.core.parallel import INLINE, Workers, threads_for_run
from simulator.core.streams import Streams
from simulator.core.tally import Tally
from simulator.engine.flows import build_flows
from simulator.engine.identity import IdentityModule
from simulator.engine.interventions import InterventionsModule, Params
from simulator.engine.messaging import MessagingModule
from simulator.engine.modules import Context, Module
from simulator.engine.payload_tier import payload_module
from simulator.engine.plan_clock import PlanClock
from simulator.engine.producers import ProducersModule
from simulator.engine.profiles import ProfilesModule
from simulator.engine.results import Results, build_results
from simulator.engine.scenario import load_scenario
from simulator.engine.services import DmpModule, LedgerModule, MssanteModule
from simulator.engine.world import World, build_world


class Observer(Protocol):
    """Watches a run (the teaching demo's recorder, the web page): subscribes to the topics of
    the run's bus (simulator/core/events.py) once the modules exist."""

    def attach(self, ctx: Context) -> None: ...


def day_plan(ctx: Context) -> list[Module]:
    """The modules of a run, in the order they act each day."""
    profiles = ProfilesModule(ctx)
    producers = ProducersModule(ctx, profiles)  # updates the profiles while the sectors draw
    plan: list[Module] = [
        InterventionsModule(ctx),            # SimPy processes: they act at the start of their day
        producers,                           # profiles, then every sector's documents
        profiles,
        MessagingModule(ctx, producers),     # MSSanté messages of the day, mailboxes at month end
        IdentityModule(ctx),                 # each document's qualified identity, before anyone reads it
        *build_flows(ctx, "documents"),      # e-prescription: sees the day's batches, dispenses
        DmpModule(ctx),                      # judges what its capacity allows
        MssanteModule(ctx),                  # delivers what is due
        *build_flows(ctx, "deliveries"),     # wave 2 flows: read what the services booked
        LedgerModule(ctx, producers),        # documents and territory tables
        payload_module(ctx),                 # samples the DMP's verdicts, renders them as FHIR
    ]
    # every batch, in plan order, to the modules that look at batches (tens of thousands a run)
    producers.takers = [m for m in plan if m is not producers and type(m).on_batch is not Module.on_batch]
    cfg = ctx.scenario.eprescription
    if cfg is not None and cfg.dmp_copy_is_document:  # e-prescriptions' DMP copies are documents (mechanism 2)
        producers.eprescription = next(m for m in plan if m.name == "eprescription")
    return plan


class Simulation:
    """One run of one scenario with one seed: ``Simulation(sc).run()`` returns Results."""

    def __init__(self, scenario: Scenario | str | Path, seed: int | None = None,
                 scale: float | None = None, progress: Callable[[int, int], None] | None = None,
                 on_tables: Callable[[Results], None] | None = None, observers: Iterable[Observer] = (),
                 profile: bool = False):
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
        self.observers = list(observers)
        self.timings: dict[str, float] = {}
        self.profile = profile  # time each module of the day plan (manifest "profile")
        self.clock: PlanClock | None = None

    @property
    def world(self) -> World:
        """The world of the run (once it has started)."""
        return self.context.world

    def _setup(self, workers: Workers) -> Context:
        """The world, its services and the run's context (modules are built from it)."""
        t0 = time.perf_counter()
        sc = self.scenario
        streams = Streams(sc.run.seed)
        w = build_world(sc, streams, workers)
        cal = w.calendar
        n_types = len(load_catalogue())
        tally = Tally(cal.n_months, len(w.sectors), n_types)
        gp_index = w.sector_names.index("gp") if "gp" in w.sector_names else None
        n_gp = w.sectors[gp_index].n if gp_index is not None else 0
        dmp = DmpService(w.patients, tally, cal.month_of_day, gp_index, n_gp, cal.n_months)
        dmp.track_territory([s.dept for s in w.sectors], len(w.territory), cal.n_months)
        mss = MssanteService(tally, cal.month_of_day, [streams[f"service:mssante:{s.name}"] for s in w.sectors],
                             sc.mssante.same_day_delivery, len(w.sectors), len(CHANNELS), n_types,
                             load_country(sc.country).mssante.latency_days)
        # a small territory (the demo) draws bounces per production day, so that each message
        # can be narrated on its day; the nation draws them per month, as its tables are monthly
        mss.group_by_month = not sc.run.departements
        # operators (a failing one holds its senders' share): [sector, operator] shares
        ops = tuple(OPERATORS)
        mss.operator_keys = ops
        mss.operator_shares = np.array([[s.cfg.mssante.operators.get(o, 0.0) for o in ops] for s in w.sectors])
        mss.to_patient_channel = CHANNELS.index("mssante_patient")
        mss.from_patient_channel = CHANNELS.index("mssante_from_patient")
        bus = Bus()
        dmp.bus = mss.bus = bus
        # compiled loops for the rows of large runs (the same rows and verdicts either way)
        dmp.kernels = kernels.wanted(sc.run.scale)
        dmp.existence_check = sc.profiles.existence_check  # senders check the profile before sending
        for s in w.sectors:
            s.kernels = dmp.kernels
            if s.cfg.wave == 2:
                s.launch_day = NEVER  # dormant until its launch intervention
        ctx = Context(
            scenario=sc, world=w, env=simpy.Environment(), params=Params(sc), streams=streams, bus=bus,
            tally=tally, dmp=dmp, mss=mss,
            rhythm=[cal.rhythm(s.cfg.weekly, s.cfg.seasonal, s.cfg.holiday) for s in w.sectors],
            has_ins_share=float(np.count_nonzero(w.patients.status & HAS_INS)) / max(w.patients.n, 1),
            workers=workers,
        )
        self.timings["setup_s"] = time.perf_counter() - t0
        return ctx

    def _loop(self, ctx: Context, modules: list[Module]) -> None:
        """Every day: its discrete events (SimPy), then each module's step in plan order; after
        a month's last day, every module's month end."""
        month_of_day = ctx.month_of_day
        n_days = ctx.n_days
        clock = self.clock  # None unless the run is profiled
        for day in range(n_days):
            ctx.env.run(until=day + 1)  # interventions starting or ending today (they are dated in whole days)
            ctx.bus.publish("day", day)
            if clock is None:
                for m in modules:
                    m.step(day)
            else:
                clock.steps(modules, day)
            month = int(month_of_day[day])
            if day + 1 == n_days or month_of_day[day + 1] != month:
                if clock is None:
                    for m in modules:
                        m.month_end(month, day)
                else:
                    clock.month_ends(modules, month, day)
                ctx.bus.publish("month_end", month, day)
                if self.progress is not None:
                    self.progress(day + 1, n_days)
        for m in modules:
            m.finish(n_days)

    def run(self) -> Results:
        """Simulate from start to end and return the results (tables + manifest)."""
        t_start = time.perf_counter()
        # helper threads for set-up and the days' independent work (large scales only)
        workers = Workers(threads_for_run(self.scenario.run.scale))
        try:
            ctx = self._setup(workers)
            self.context = ctx
            self.modules = day_plan(ctx)
            if self.profile:
                self.clock = PlanClock(self.modules)
                producers = next(m for m in self.modules if isinstance(m, ProducersModule))
                producers.takers = self.clock.takers(producers.takers)
            for observer in self.observers:
                observer.attach(ctx)
            ctx.dmp.workers = workers
            t0 = time.perf_counter()
            self._loop(ctx, self.modules)
        finally:
            workers.close()
        ctx.workers = ctx.dmp.workers = INLINE
        self.timings["simulate_s"] = time.perf_counter() - t0
        ledger = next(m for m in self.modules if isinstance(m, LedgerModule))
        results = build_results(ctx, self.modules, ledger.produced())
        if self.on_tables is not None:  # e.g. a report helper starts drawing meanwhile
            self.on_tables(results)
        t1 = time.perf_counter()
        for m in self.modules:
            m.complete(results)  # the payload tier: render, judge, compare; payloads/ files
        self.timings["payloads_s"] = time.perf_counter() - t1
        self.timings["total_s"] = time.perf_counter() - t_start
        results.manifest["timings"] = dict(self.timings)
        if self.clock is not None:
            results.manifest["profile"] = self.clock.rows()
        results.check_conservation()
        return results


def run(scenario: Scenario | str | Path, seed: int | None = None, scale: float | None = None,
        progress: Callable[[int, int], None] | None = None) -> Results:
    """Run a scenario (a file path or a loaded Scenario) and return its Results.

    ``seed`` and ``scale`` override the scenario's own ``[run]`` values.
    """
    return Simulation(scenario, seed=seed, scale=scale, progress=progress).run()
