"""The flows beyond document feeding (e-prescription, consultation of Mon espace santé, DRIMbox
image sharing, integration of received messages), registered by name in one table.

A flow is a module (simulator/engine/modules.py). ``FLOWS`` gives, for each, where it stands in the
day plan — ``"documents"``: after the producers, before the DMP (it sees the day's batches and
acts the same day); ``"deliveries"``: after the DMP and MSSanté (it reads what they booked) —
and its factory, which returns the flow or None when the scenario does not use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from simulator.engine.eprescription_flow import eprescription_flow
from simulator.engine.modules import Context, Module
from simulator.engine.wave2_flows import wave2_flows

PHASES = ("documents", "deliveries")


class FlowEntry(NamedTuple):
    phase: str
    factory: Callable[[Context], Module | None]


FLOWS: dict[str, FlowEntry] = {
    "eprescription": FlowEntry("documents", eprescription_flow),
    "wave2_flows": FlowEntry("deliveries", wave2_flows),
}


def build_flows(ctx: Context, phase: str) -> list[Module]:
    """The flows of ``phase`` this run's scenario uses, in registration order."""
    if phase not in PHASES:
        raise ValueError(f"unknown flow phase {phase!r}; phases: {', '.join(PHASES)}")
    flows = []
    for name, entry in FLOWS.items():
        if entry.phase not in PHASES:
            raise ValueError(f"flow {name}: unknown phase {entry.phase!r}; phases: {', '.join(PHASES)}")
        if entry.phase == phase:
            flow = entry.factory(ctx)
            if flow is not None:
                flows.append(flow)
    return flows
