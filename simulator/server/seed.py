"""Seeding: the patients (INS, traits, médecin traitant, profile state day by day) and the
professionals (idNat_PS, profession, organisation, Ségur software date) of a scenario's small
world, written once into a new store — so that a vendor can send documents for patients that
exist. Patients without an INS are left out (the DMP cannot index them).
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from agents.patients import HAS_INS
from simulator.server import schema as S
from simulator.server.auth import PROFESSION_BY_SECTOR
from simulator.server.config import ServerConfig
from simulator.server.store import Store
from simulator.server.world import STATE_NAMES, World, rule_dates, run_world


def seed_description(config: ServerConfig) -> str:
    """How the seeding is named in server_info and the CapabilityStatement."""
    parts = [str(config.scenario)]
    if config.patients is not None:
        parts.append(f"patients={config.patients}")
    if config.days is not None:
        parts.append(f"days={config.days}")
    if config.seed is not None:
        parts.append(f"seed={config.seed}")
    return " ".join(parts)


def world_rows(world: World) -> tuple[list[dict], list[dict], list[dict]]:
    """Rows of patients, profile_states and professionals for ``world``."""
    w, cast = world.sim.world, world.cast
    p = w.patients
    gp_sector = w.sector("gp") if "gp" in w.sector_names else None
    patients, states = [], []
    has_ins = np.flatnonzero((p.status & HAS_INS) != 0)
    changed = np.ones_like(world.states, dtype=bool)
    changed[1:] = world.states[1:] != world.states[:-1]
    for i in has_ins.tolist():
        person = cast.person(i)
        if person.ins is None:
            continue
        gp = int(p.gp[i])
        patients.append({
            "ins": person.ins, "ins_oid": person.ins_oid, "family": person.family, "given": person.given,
            "sex": person.sex, "birth_date": person.birth_date, "birth_place": person.birth_place,
            "profile_state": STATE_NAMES[int(world.states[-1, i])],
            "gp_id_nat_ps": cast.facility("gp", gp).id_nat_ps if gp >= 0 and gp_sector is not None else None,
            "sim_index": i})
        for day in np.flatnonzero(changed[:, i]).tolist():
            states.append({"ins": person.ins, "since": world.dates[day], "state": STATE_NAMES[int(world.states[day, i])]})
    professionals = []
    seen: set[str] = set()
    start = dt.date.fromisoformat(world.dates[0])
    for sector in w.sectors:
        for k in range(sector.n):
            f = cast.facility(sector.name, k)
            if f.id_nat_ps in seen:
                continue
            seen.add(f.id_nat_ps)
            day = int(sector.install_day[k])
            since = None if day >= np.iinfo(np.int32).max else (start + dt.timedelta(days=day)).isoformat()
            professionals.append({
                "id_nat_ps": f.id_nat_ps, "family": f.author_family, "given": f.author_given,
                "profession": PROFESSION_BY_SECTOR.get(sector.name, "10"), "sector": sector.name,
                "id_nat_struct": f.id_nat_struct, "organisation": f.name, "segur_software_since": since})
    return patients, states, professionals


def seed_store(store: Store, config: ServerConfig, *, quiet: bool = False) -> bool:
    """Seed a new store from ``config.scenario``; False when it was seeded before."""
    with store.read() as conn:
        done = conn.execute(select(S.server_info.c.value).where(S.server_info.c.key == "seeded")).scalar()
    wanted = seed_description(config)
    if done is not None:
        if done != wanted and not quiet:
            print(f"segur serve: note: the store was seeded from {done}; --scenario/--patients/--days/--seed "
                  "apply to a new store only", file=sys.stderr)
        return False
    if not quiet:
        print(f"segur serve: seeding the store from {wanted} …", file=sys.stderr)
    patients, states, professionals, info = _seed_rows(str(config.scenario), config.patients, config.days,
                                                       config.seed)
    info = {"seeded": wanted, **info}
    try:
        with store.write() as conn:
            if conn.execute(select(S.server_info.c.value).where(S.server_info.c.key == "seeded")).scalar():
                return False  # another process seeded it meanwhile
            conn.execute(insert(S.patients), patients)
            if states:
                conn.execute(insert(S.profile_states), states)
            if professionals:
                conn.execute(insert(S.professionals), professionals)
            conn.execute(insert(S.server_info), [{"key": k, "value": v} for k, v in info.items()])
    except IntegrityError:
        return False
    if not quiet:
        print(f"segur serve: {len(patients):,} patients and {len(professionals):,} professionals "
              f"({info['seeded.start']} → {info['seeded.end']})", file=sys.stderr)
    return True


_ROWS: dict[tuple, tuple] = {}


def _seed_rows(scenario: str, patients: int | None, days: int | None, seed: int | None) -> tuple:
    """Rows and facts of a seeding world (kept for this process: several stores seeded from the
    same world — tests on two databases — run it once)."""
    key = (scenario, patients, days, seed)
    if key not in _ROWS:
        world = run_world(scenario, patients=patients, days=days, seed=seed)
        p, s, pr = world_rows(world)
        info = {"seeded.start": world.dates[0], "seeded.end": world.dates[-1], "seeded.patients": str(len(p)),
                "seeded.professionals": str(len(pr))}
        info.update({f"rule.{k}": v for k, v in rule_dates(world.scenario).items()})
        _ROWS.clear()
        _ROWS[key] = (p, s, pr, info)
    return _ROWS[key]
