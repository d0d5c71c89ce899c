"""The module protocol: what every part of a day implements, and what each is given.

A module (the producers, the DMP, MSSanté, a flow, the interventions, the payload tier) is set
up with the run's ``Context`` and then called by the engine's day loop (simulator/engine.py):

- ``step(day)``: its work of the day, in the order of the day plan;
- ``on_batch(batch)``: a batch of documents a sector sent today (before the DMP judges it);
- ``month_end(month, day)``: after the last day of a month (snapshots);
- ``finish(end_day)``: after the last day (what still waits becomes queued / in transit);
- ``tables()``: its result tables, in simulated counts (``Table.national`` names the columns
  the results express as national figures: divided by the scale once, in simulator/engine/results.py);
- ``complete(results)``: what it adds once every table exists (the payload tier's sample).

Every method has a do-nothing default: a module writes only what it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import simpy

    from agents.producers.base import Batch
    from agents.services.dmp import DmpService
    from agents.services.mssante import MssanteService
    from scenarios.schema import Scenario
    from simulator.core.events import Bus
    from simulator.core.parallel import Workers
    from simulator.core.streams import Streams
    from simulator.core.tally import Tally
    from simulator.engine.interventions import Params
    from simulator.engine.results import Results
    from simulator.engine.world import World


@dataclass
class Table:
    """A module's table: ``df`` in simulated counts; ``national`` maps each column to fill with
    a national figure to the simulated column it divides by the scale (the same name: in place)."""

    df: pd.DataFrame
    national: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    """What a run gives its modules: the world, the clock, the parameters, the services and the
    bus. Modules read what they need from here, never from the simulation object."""

    scenario: Scenario
    world: World
    env: simpy.Environment
    params: Params
    streams: Streams
    bus: Bus
    tally: Tally
    dmp: DmpService
    mss: MssanteService
    rhythm: list[np.ndarray]  # per sector: activity multiplier of each day (weekdays, seasons, holidays)
    has_ins_share: float  # share of patients with an INS
    workers: Workers
    rules_extra: set[str] = field(default_factory=set)  # rules switched on beyond the DMP's own
    # the calendar's arrays, computed once (the calendar derives them afresh at every call)
    month_of_day: np.ndarray = field(init=False)  # month index of each day
    n_days: int = field(init=False)
    n_months: int = field(init=False)

    def __post_init__(self) -> None:
        cal = self.world.calendar
        self.month_of_day = cal.month_of_day
        self.n_days = cal.n_days
        self.n_months = cal.n_months

    @property
    def scale(self) -> float:
        return self.scenario.run.scale


class Module:
    """Base of every module: do-nothing defaults for the protocol above."""

    name = "module"

    def step(self, day: int) -> None:
        return None

    def on_batch(self, batch: Batch) -> None:
        return None

    def month_end(self, month: int, day: int) -> None:
        return None

    def finish(self, end_day: int) -> None:
        return None

    def tables(self) -> dict[str, Table]:
        return {}

    def complete(self, results: Results) -> None:
        return None

    def __repr__(self) -> str:
        return f"<module {self.name}>"


def module_tables(modules: list[Any]) -> dict[str, Table]:
    """Every module's tables, in plan order; two modules naming the same table is an error."""
    out: dict[str, Table] = {}
    for m in modules:
        for name, table in m.tables().items():
            if name in out:
                raise ValueError(f"module {m.name} returns a table named {name!r}, which another module returns")
            out[name] = table if isinstance(table, Table) else Table(table)
    return out
