"""Mon espace santé profiles as a module of the day plan: creation by letter, opposition at
the day's rate, activation (base rate × the campaigns in force, and the day after a document the
DMP accepted: ``profiles.activation_per_document``), closure, reopening, deaths and births;
counted at month end.

Tables: ``profiles`` (month-end states of the living population, simulated persons) and
``profile_events`` (the month's creations, oppositions, activations, closures, reopenings,
deaths and births). The producers' step calls ``update`` while the sectors draw on other
threads: it touches only the profile bits, which the sectors do not read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agents.services.mes import EVENTS
from simulator.core.outcomes import ACCEPTED
from simulator.engine.modules import Context, Module, Table


def campaign_factors(ctx: Context) -> np.ndarray:
    """Per day of the run, the product of the activation factors of the campaigns in force
    (``profiles.campaigns``; 1 outside them)."""
    cal = ctx.world.calendar
    factor = np.ones(ctx.n_days)
    for c in ctx.scenario.profiles.campaigns:
        a = max(cal.day(c.start), 0)
        b = min(cal.day(c.end) + 1, ctx.n_days)
        if b > a:
            factor[a:b] *= c.activation_factor
    return factor


class ProfilesModule(Module):
    """Mon espace santé profiles, updated by the producers' step (``update``) and counted at
    month end."""

    name = "profiles"

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []
        self.campaign = campaign_factors(ctx)
        pr = ctx.scenario.profiles
        self.death_rate = pr.death_rate
        self.reactivation_rate = pr.reactivation_rate
        # documents that move their patient to activate (the new document's notice): the
        # persons drawn from today's verdicts activate the next day, before the day's draws
        self.per_document = pr.activation_per_document
        self._moved: list[np.ndarray] = []
        if self.per_document > 0:
            self._rng = ctx.streams["profiles:after_document"]
            ctx.bus.subscribe("dmp.verdict", self._on_verdict)

    def _on_verdict(self, batch: Any, outcomes: np.ndarray) -> None:
        """Each accepted document of ``batch`` moves its patient with chance ``per_document``:
        a binomial count of rows, picked at random, kept where accepted (the cost follows the
        persons moved, not the documents)."""
        n = len(outcomes)
        k = int(self._rng.binomial(n, self.per_document)) if n else 0
        if k:
            rows = self._rng.integers(0, n, size=k)
            rows = rows[outcomes.take(rows) == ACCEPTED]
            if rows.size:
                self._moved.append(batch.patient.take(rows))

    def update(self, day: int) -> None:
        """The day's new profiles (opposed at the day's rate), deaths and births, activations,
        closures and reopenings."""
        prof = self.ctx.world.profiles
        g = self.ctx.params.glob
        if self._moved:  # yesterday's documents' patients
            prof.activate_after_documents(np.concatenate(self._moved))
            self._moved = []
        opposition = g["profiles.opposition_rate"]
        prof.create_due(day, opposition)
        if self.death_rate > 0:
            prof.deaths_and_births(day, self.death_rate, opposition)
        prof.daily_events(g["profiles.activation_rate"] * float(self.campaign[day]), g["profiles.closure_rate"],
                          self.reactivation_rate)

    def month_end(self, month: int, day: int) -> None:
        label = self.ctx.world.calendar.months[month]
        prof = self.ctx.world.profiles
        for state, n in prof.counts().items():
            self.rows.append({"month": label, "state": state, "persons": n})
        for event, n in prof.take_events().items():
            self.event_rows.append({"month": label, "event": event, "persons": n})

    def tables(self) -> dict[str, Table]:
        events = pd.DataFrame(self.event_rows, columns=["month", "event", "persons"])
        return {"profiles": Table(pd.DataFrame(self.rows), {"persons": "persons"}),
                "profile_events": Table(events, {"persons": "persons"})}


__all__ = ["EVENTS", "ProfilesModule", "campaign_factors"]
