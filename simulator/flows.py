"""Extension point for flows beyond document feeding (e-prescription, consultation of Mon
espace santé, DRIMbox image sharing, integration of received messages…).

A flow is an object with a ``name``, an ``offset`` (its place within the day, see
``simulator.engine.OFFSET``), ``step(day)`` run every day, ``on_batch(batch)`` called with every
batch a sector produces (before the DMP sees it), and ``tables()`` returning its result tables.
Flows are registered in ``FLOW_FACTORIES``: a factory takes the simulation and returns a flow,
or None when the scenario does not use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

if TYPE_CHECKING:
    from agents.producers.base import Batch
    from simulator.engine import Simulation


class Flow(Protocol):
    name: str
    offset: float

    def step(self, day: int) -> None: ...

    def on_batch(self, batch: Batch) -> None: ...

    def tables(self) -> dict[str, pd.DataFrame]: ...


FlowFactory = Callable[["Simulation"], "Flow | None"]
FLOW_FACTORIES: list[FlowFactory] = []


def register_flow(factory: FlowFactory) -> FlowFactory:
    """Decorator adding a flow factory to the registry (import the module to register it)."""
    FLOW_FACTORIES.append(factory)
    return factory


def build_flows(sim: Simulation) -> list[Any]:
    """The flows this simulation's scenario uses."""
    import simulator.flow_modules  # noqa: F401  (registers the shipped flows)

    flows = []
    for factory in FLOW_FACTORIES:
        flow = factory(sim)
        if flow is not None:
            flows.append(flow)
    return flows
