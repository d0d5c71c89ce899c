"""World assembly: from a validated scenario, build the territory, the producers of every
sector, the patients and the services, each with its own named random stream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import kernels
from agents.catalogue import load_catalogue
from agents.patients import Patients, build_patients, draw_profile_schedule, submit_traits
from agents.producers import Sector, sector_class
from agents.producers.gp import GpSector
from agents.services.mes import ProfileService
from agents.territory import Territory, load_territory
from scenarios.country import load_country
from scenarios.schema import Scenario
from simulator.core.parallel import INLINE, Workers
from simulator.core.streams import Streams
from simulator.engine.calendar import Calendar


def scaled_count(national: float, scale: float) -> int:
    """Simulated agents standing for ``national`` real ones (at least one)."""
    return max(1, int(round(national * scale)))


def simulated_facilities(national: int, scale: float, floor: int) -> int:
    """Facilities simulated for a sector: ``national × scale``, but at least ``floor`` (or all
    of them when fewer), so that small sectors are not a handful of agents at small scales."""
    return max(scaled_count(national, scale), min(national, floor))


@dataclass
class World:
    """Everything a run needs before its processes start."""

    scenario: Scenario
    calendar: Calendar
    territory: Territory
    sectors: list[Sector]
    patients: Patients
    profiles: ProfileService
    streams: Streams

    @property
    def sector_names(self) -> list[str]:
        return [s.name for s in self.sectors]

    def sector(self, name: str) -> Sector:
        return self.sectors[self.sector_names.index(name)]


def build_world(sc: Scenario, streams: Streams, workers: Workers | None = None) -> World:
    """Assemble the world of ``sc`` at its scale with draws from ``streams`` (on ``workers``'
    threads where draws are independent; the world is the same without)."""
    country = load_country(sc.country)
    cal = Calendar(sc.run.start, sc.run.end, country.calendar)
    terr = load_territory()
    if sc.run.departements:  # a small territory: only these départements are simulated
        terr = terr.subset(sc.run.departements)
    scale = sc.run.scale
    day_of = cal.day
    sectors: list[Sector] = []
    for i, (name, cfg) in enumerate(sc.sectors.items()):
        rng = streams[f"sector:{name}"]
        cls = sector_class(cfg.model or name)
        n = simulated_facilities(cfg.facilities, scale, sc.run.min_facilities if cls.may_floor_facilities else 0)
        dept = rng.choice(len(terr), size=n, p=terr.weights)
        sector = cls(i, cfg, n, dept, rng, day_of, cal.n_days)
        sector.name = name
        # a simulated facility stands for 1/facility_scale real ones; its activity is weighted
        # so that it sends what 1/scale real ones would, divided among them
        sector.facility_scale = n / cfg.facilities
        sector.size = sector.size * (scale / sector.facility_scale)
        sectors.append(sector)
    gp = next((s for s in sectors if isinstance(s, GpSector)), None)
    gp_dept = gp.dept if gp is not None else np.empty(0, dtype=np.int16)
    n_patients = scaled_count(sc.population.size, scale)
    workers = INLINE if workers is None else workers
    # the patients' traits, then the letters (their own streams), are drawn on a helper thread
    # while the rest of the patients is drawn here
    day0 = np.datetime64(sc.run.start)
    traits = submit_traits(sc, n_patients, streams, day0, workers)
    schedule = workers.submit(draw_profile_schedule, sc, n_patients, streams["profiles:letters"], day_of,
                              kernels.wanted(scale))  # the large runs that compile their loops sort compiled too
    patients = build_patients(sc, n_patients, terr.weights, gp_dept, streams, day0, workers, traits)
    for sector in sectors:
        sector.set_patient_ranges(patients)
    patients.creation_day, order = schedule.result()
    profiles = ProfileService(
        patients,
        order,
        sc.profiles.activated_share_at_launch,
        streams["profiles:events"],
        cal.n_days,
        births_created_from=day_of(sc.profiles.letters_start),  # newborns get a profile at birth from then on
    )
    _ = load_catalogue()
    return World(sc, cal, terr, sectors, patients, profiles, streams)
