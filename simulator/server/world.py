"""A scenario's small world, run once: the engine with the teaching demo's recorders, plus the
patients' profile states as the DMP saw them each day. Both the server's seeding and
``segur emit`` start here, so they agree on every patient, professional and date.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents import dmp_rules
from agents.patients import ACTIVATED, CLOSED, CREATED, OPPOSED
from agents.small_world import Cast
from simulator.core.errors import UsageError
from simulator.engine.scenario import load_scenario
from simulator.engine.small_world import DemoSimulation, overrides

STATE_NAMES = ("not_created", "open", "activated", "opposed", "closed")


class _ProfileSnapshots:
    """Observer of a run: the patients' status bits as each day's DMP saw them (profiles are
    updated by the producers' step, before the DMP judges; nothing after it changes them)."""

    def __init__(self) -> None:
        self.snapshots: list[np.ndarray] = []
        self._status: np.ndarray | None = None

    def attach(self, ctx: Any) -> None:
        status = self._status = ctx.world.patients.status

        def day_begins(day: int) -> None:
            if day > 0:  # the state after yesterday's step: what yesterday's DMP judged against
                self.snapshots.append(status.copy())

        ctx.bus.subscribe("day", day_begins)

    def final(self) -> list[np.ndarray]:
        """Every day's snapshot, the last day's included (taken once the run has finished)."""
        return [*self.snapshots, self._status.copy()] if self._status is not None else []


@dataclass
class World:
    """A finished small-world run: the scenario, the simulation (with its recorder), the
    identities of its people and facilities, the daily profile states and the dates."""

    scenario: Any
    sim: Any
    cast: Any
    states: np.ndarray  # uint8 [day, patient]: index into STATE_NAMES
    dates: list[str]


def state_codes(status: np.ndarray) -> np.ndarray:
    """Profile state index (STATE_NAMES) of each status byte: opposed, closed, not created,
    activated, open — the precedence of the simulated DMP."""
    out = np.where((status & ACTIVATED) != 0, 2, 1).astype(np.uint8)
    out[(status & CREATED) == 0] = 0
    out[(status & CLOSED) != 0] = 4
    out[(status & OPPOSED) != 0] = 3
    return out


def run_world(scenario: str | Path, *, patients: int | None = None, days: int | None = None,
              seed: int | None = None) -> World:
    """Run the scenario's small world (it must name its départements, like scenarios/demo.toml)."""
    sc = load_scenario(scenario)
    if not sc.run.departements:
        raise UsageError(f"{scenario}: a small territory is needed (run.departements), e.g. scenarios/demo.toml")
    sc = load_scenario(scenario, overrides(sc, patients, days, seed, min_days=1))
    snapshots = _ProfileSnapshots()
    sim = DemoSimulation(sc, observers=[snapshots])
    sim.run()
    w = sim.world
    cast = Cast(w.patients, w.sectors, w.territory.codes, sc.run.seed)
    dates = [str(d) for d in w.calendar.dates]
    snaps = snapshots.final() or [w.patients.status.copy()]
    while len(snaps) < len(dates):
        snaps.append(snaps[-1])
    states = np.stack([state_codes(s) for s in snaps[: len(dates)]])
    return World(sc, sim, cast, states, dates)


def rule_dates(sc: Any) -> dict[str, str]:
    """Since when the DMP's optional rules are in force in the scenario ('never' if not)."""
    out = {name: "never" for name in dmp_rules.SWITCHES}
    for iv in sc.interventions:
        if iv.kind == "rule" and getattr(iv, "rule", None) in out:
            day = str(iv.date)
            if out[iv.rule] == "never" or day < out[iv.rule]:
                out[iv.rule] = day
    return out
