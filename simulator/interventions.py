"""Dated interventions and the run-time parameters they may change.

A `parameter` intervention sets a dynamic parameter from its date on; a `campaign`
multiplies one by a factor for a number of days; `rule` switches a DMP rule on; `outage`
takes a service down; `launch` opens a (wave 2) sector. Paths use dots; `sectors.*.x`
means every sector.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from scenarios.dynamic import (
    DYNAMIC_GLOBAL_PARAMS,
    DYNAMIC_SECTOR_PARAMS,
    SHARE_PARAMS,
    check_parameter_path,
)
from simulator.modules import Context, Module

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["DYNAMIC_GLOBAL_PARAMS", "DYNAMIC_SECTOR_PARAMS", "SHARE_PARAMS", "InterventionsModule", "Params",
           "check_parameter_path"]

class Params:
    """The run-time values of every dynamic parameter, changed by interventions."""

    def __init__(self, sc: Scenario):
        self.sector: dict[str, dict[str, float]] = {}
        for name, s in sc.sectors.items():
            self.sector[name] = {p: float(_get(s, p)) for p in DYNAMIC_SECTOR_PARAMS}
        self.glob: dict[str, Any] = {
            "profiles.activation_rate": sc.profiles.activation_rate,
            "profiles.closure_rate": sc.profiles.closure_rate,
            "dmp.capacity_per_day": sc.dmp.capacity_per_day,
            "dmp.max_wait_days": sc.dmp.max_wait_days,
            "mssante.bounce_rate": sc.mssante.bounce_rate,
            "identity.qualification_factor": 1.0,
        }
        self.version = 0  # bumped at every change, so cached derived values can be refreshed

    def _targets(self, path: str) -> list[tuple[dict, str]]:
        parts = path.split(".")
        if parts[0] == "sectors":
            names = list(self.sector) if parts[1] == "*" else [parts[1]]
            return [(self.sector[n], ".".join(parts[2:])) for n in names]
        return [(self.glob, path)]

    def set(self, path: str, value: float) -> None:
        for table, key in self._targets(path):
            table[key] = value
        self.version += 1

    def multiply(self, path: str, factor: float) -> None:
        for table, key in self._targets(path):
            if table[key] is not None:
                table[key] = table[key] * factor
        self.version += 1

    def values(self, path: str) -> list[Any]:
        """Current values of the parameter(s) at ``path`` ('*' names every sector)."""
        return [table[key] for table, key in self._targets(path)]

    def end_campaign(self, path: str, factor: float, before: list[Any]) -> None:
        """Undo ``multiply(path, factor)``: a value untouched since gets back exactly what it was
        (``before``; dividing could leave float drift), one changed meanwhile is divided."""
        for (table, key), old in zip(self._targets(path), before, strict=True):
            if table[key] is None:
                continue
            table[key] = old if old is not None and table[key] == old * factor else table[key] / factor
        self.version += 1


def _get(model: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        model = getattr(model, part)
    return model


class InterventionsModule(Module):
    """The scenario's dated interventions as SimPy processes: each starts on its date, before
    the day's steps, and an outage or a campaign ends after its number of days."""

    name = "interventions"

    def __init__(self, ctx: Context):
        self.ctx = ctx
        for iv in sorted(ctx.scenario.interventions, key=lambda i: i.date):
            ctx.env.process(self._run(iv))

    def _run(self, iv: Any) -> Generator[Any, Any, None]:
        ctx = self.ctx
        env = ctx.env
        day = ctx.world.calendar.day(iv.date)
        yield env.timeout(max(day, 0) - env.now)
        if iv.kind == "rule":
            if iv.rule == "require_qualified_identity":
                ctx.dmp.rules.require_qualified_identity = True
            elif iv.rule == "reject_legacy_software":
                ctx.dmp.rules.reject_legacy_software = True
            else:
                ctx.rules_extra.add(iv.rule)
        elif iv.kind == "outage" and iv.service == "insi":  # the identity module listens
            ctx.bus.publish("insi.available", False, day)
            yield env.timeout(iv.days)
            ctx.bus.publish("insi.available", True, int(env.now))
        elif iv.kind == "outage":
            service = ctx.dmp if iv.service == "dmp" else ctx.mss
            service.up = False
            service.outage_max_wait = iv.max_wait_days
            yield env.timeout(iv.days)
            service.up = True
            service.outage_max_wait = None
        elif iv.kind == "parameter":
            ctx.params.set(iv.path, iv.value)
        elif iv.kind == "campaign":
            before = ctx.params.values(iv.path)
            ctx.params.multiply(iv.path, iv.factor)
            yield env.timeout(iv.days)
            ctx.params.end_campaign(iv.path, iv.factor, before)
        elif iv.kind == "launch":
            s = ctx.world.sector(iv.sector)
            s.launch_day = day
            s.install_day = np.where(s.install_day < day, day, s.install_day).astype(np.int32)
