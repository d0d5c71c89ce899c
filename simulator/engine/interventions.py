"""Dated interventions and the run-time parameters they may change.

A `parameter` intervention sets a dynamic parameter from its date on; a `campaign`
multiplies one by a factor for a number of days; `rule` switches a DMP rule on; `outage`
takes a service down; `launch` opens a (wave 2) sector; `funding`, `deadline` and `rollout`
move a sector's orders and installs (agents/producers/equipment.py); `vendor_failure` holds a software
vendor's DMP documents in its facilities' outbox for a number of days (agents/producers/outbox.py);
`new_document_type` starts a sector producing a document type; `target` (read by
simulator/engine/outputs.py, not here) changes a target's value; `obligation` raises a sector's
ceiling for a document type (agents/producers/learning.py). Paths use dots; `sectors.*.x`
means every sector.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from agents import dmp_rules
from agents.catalogue import load_catalogue
from agents.producers.outbox import Outbox
from scenarios.dynamic import (
    DYNAMIC_GLOBAL_PARAMS,
    DYNAMIC_SECTOR_PARAMS,
    SHARE_PARAMS,
    check_parameter_path,
)
from simulator.engine.modules import Context, Module

if TYPE_CHECKING:
    from scenarios.schema import Scenario
    from simulator.engine.results import Results

__all__ = ["DYNAMIC_GLOBAL_PARAMS", "DYNAMIC_SECTOR_PARAMS", "SHARE_PARAMS", "InterventionsModule", "Params",
           "check_parameter_path"]

class Params:
    """The run-time values of every dynamic parameter, changed by interventions."""

    def __init__(self, sc: Scenario):
        self.sector: dict[str, dict[str, float]] = {}
        for name, s in sc.sectors.items():
            self.sector[name] = {p: float(_get(s, p)) for p in DYNAMIC_SECTOR_PARAMS}
        self.glob: dict[str, Any] = {
            "profiles.opposition_rate": sc.profiles.opposition_rate,
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
            if iv.kind == "rollout":  # a regional plan is known from the start: set it up now
                self._plan_rollout(iv)
            ctx.env.process(self._run(iv))

    def _plan_rollout(self, iv: Any) -> None:
        """The named départements' campaign starts on the roll-out's date (those outside the
        simulated territory are ignored)."""
        w = self.ctx.world
        s = w.sector(iv.sector)
        idx = [w.territory.index_of(c) for c in iv.departements if c in w.territory.codes]
        s.roll_out(np.isin(s.dept, idx), w.calendar.day(iv.date))

    def complete(self, results: Results) -> None:
        """What failing vendors' outboxes held, sent after recovery, lost, and still hold at the
        end (national documents; in the manifest as ``vendor_outbox``, only when a vendor failed)."""
        boxes = {s.name: s.outbox.report() for s in self.ctx.world.sectors if s.outbox is not None}
        if boxes:
            scale = self.ctx.scale
            results.manifest["vendor_outbox"] = {k: {m: n / scale for m, n in v.items()} for k, v in boxes.items()}

    def _run(self, iv: Any) -> Generator[Any, Any, None]:
        ctx = self.ctx
        day = ctx.world.calendar.day(iv.date)
        yield ctx.env.timeout(max(day, 0) - ctx.env.now)
        action = _ACTIONS.get(iv.kind)
        if action is not None:
            lasting = action(ctx, iv, day)
            if lasting is not None:  # an intervention that lasts (an outage, a campaign…)
                yield from lasting


Lasting = Generator[Any, Any, None] | None


def _rule(ctx: Context, iv: Any, day: int) -> Lasting:
    """A DMP rule switch (a switch of agents/dmp_rules.py) or another rule the modules read."""
    if iv.rule in dmp_rules.SWITCHES:
        ctx.dmp.rules.switch_on(iv.rule)
    else:
        ctx.rules_extra.add(iv.rule)
    return None


def _outage(ctx: Context, iv: Any, day: int) -> Lasting:
    """A service down for ``iv.days``: one MSSanté operator, INSi (the identity module
    listens), or the whole DMP or MSSanté."""
    env = ctx.env
    if iv.operator is not None:
        ctx.mss.operator_down(iv.operator, iv.max_wait_days)
        yield env.timeout(iv.days)
        ctx.mss.operator_up(iv.operator, int(env.now))
    elif iv.service == "insi":
        ctx.bus.publish("insi.available", False, day)
        yield env.timeout(iv.days)
        ctx.bus.publish("insi.available", True, int(env.now))
    else:
        service = ctx.dmp if iv.service == "dmp" else ctx.mss
        service.up = False
        service.outage_max_wait = iv.max_wait_days
        yield env.timeout(iv.days)
        service.up = True
        service.outage_max_wait = None


def _parameter(ctx: Context, iv: Any, day: int) -> Lasting:
    ctx.params.set(iv.path, iv.value)
    return None


def _campaign(ctx: Context, iv: Any, day: int) -> Lasting:
    before = ctx.params.values(iv.path)
    ctx.params.multiply(iv.path, iv.factor)
    yield ctx.env.timeout(iv.days)
    ctx.params.end_campaign(iv.path, iv.factor, before)


def _new_document_type(ctx: Context, iv: Any, day: int) -> Lasting:
    s = ctx.world.sector(iv.sector)
    s.set_documents({**_documents(s), iv.doc_type: iv.per_episode})
    ctx.params.version += 1  # the sector's MSSanté volumes follow its documents per episode
    return None


def _obligation(ctx: Context, iv: Any, day: int) -> Lasting:
    s = ctx.world.sector(iv.sector)
    s.add_obligation(None if iv.doc_type == "*" else [iv.doc_type], day,
                     1.0 if iv.ceiling is None else iv.ceiling,
                     90.0 if iv.half_life_days is None else iv.half_life_days)
    return None


def _launch(ctx: Context, iv: Any, day: int) -> Lasting:
    s = ctx.world.sector(iv.sector)
    s.launch_day = day
    keep = s.rolled_out | getattr(s, "wave1", False)  # a regional or a wave 1 install keeps its day
    s.install_day = np.where((s.install_day < day) & ~keep, day, s.install_day).astype(np.int32)
    return None


def _funding(ctx: Context, iv: Any, day: int) -> Lasting:
    s = ctx.world.sector(iv.sector)
    euros = iv.euros_per_facility if iv.euros_per_facility is not None else iv.envelope_euros / s.cfg.facilities
    s.fund(day, euros, iv.days)
    return None


def _deadline(ctx: Context, iv: Any, day: int) -> Lasting:
    ctx.world.sector(iv.sector).extend_deadline(day, round(iv.days))
    return None


def _rollout(ctx: Context, iv: Any, day: int) -> Lasting:
    ctx.world.sector(iv.sector).open_regionally(day)
    return None


def _documents(sector: Any) -> dict[str, float]:
    """A sector's current document mix (LOINC code → documents per episode), from its type table."""
    return {t.code: float(sector.type_weights[t.index]) for t in load_catalogue() if sector.type_weights[t.index] > 0}


def vendor_failure(ctx: Context, iv: Any, day: int) -> Lasting:
    """The vendor's facilities hold their DMP documents for ``iv.days``, then send them
    (those older than ``iv.max_wait_days`` are lost): see agents/producers/outbox.py."""
    s = ctx.world.sector(iv.sector)
    if s.outbox is None:
        s.outbox = Outbox(s.vendor)
    v = s.vendor_names.index(iv.vendor)
    s.outbox.fail(v)
    yield ctx.env.timeout(iv.days)
    s.outbox.recover(v, int(ctx.env.now), iv.max_wait_days)


#: what each kind of intervention does on its date (``target`` interventions are read by the
#: targets' tables, not acted on)
_ACTIONS: dict[str, Callable[[Context, Any, int], Lasting]] = {
    "rule": _rule, "outage": _outage, "parameter": _parameter, "campaign": _campaign,
    "vendor_failure": vendor_failure, "new_document_type": _new_document_type, "obligation": _obligation,
    "launch": _launch, "funding": _funding, "deadline": _deadline, "rollout": _rollout,
}
