"""What modules publish during a run, and who listens: a small publish/subscribe bus.

Modules publish what they did (a batch judged, messages booked, a prescription dispensed);
observers (the teaching demo's recorder, the web page) subscribe by topic. Nothing replaces
another object's methods to watch it. A topic nobody subscribed to costs one dict lookup, and
``wants`` lets a publisher skip building what nobody reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: topics published during a run, with what each handler receives
TOPICS: dict[str, str] = {
    "day": "(day) — a simulated day begins, before any module's step",
    "dmp.verdict": "(batch, outcomes) — the DMP judged a batch (outcome code per row), in judging order",
    "dmp.dropped": "(batch, day) — a batch dropped on ``day`` after waiting too long",
    "dmp.queued": "(batch) — a batch still waiting at the end of the run",
    "dmp.not_sent": "(batch) — rows the senders did not send: the existence check found no profile",
    "mssante.booked": "(production day, day booked, counts [sector, channel, type], outcome) — messages booked",
    "eprescription.registered": "(ids, patients, prescribers, day) — prescriptions registered in the base",
    "eprescription.dispensed": "(refs, codes, day, scanning pharmacies) — scans of the base and their verdicts",
    "insi.available": "(up, day) — the INSi teleservice goes down (up = False) or comes back (an outage intervention)",
    "month_end": "(month index, day) — after the last day of a month",
}


class Bus:
    """Topic → handlers, called in subscription order."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = {}

    def subscribe(self, topic: str, handler: Callable[..., Any]) -> None:
        """Call ``handler`` with every publication of ``topic`` (a name of ``TOPICS``)."""
        if topic not in TOPICS:
            raise KeyError(f"unknown topic {topic!r}; topics: {', '.join(TOPICS)}")
        self._handlers.setdefault(topic, []).append(handler)

    def wants(self, topic: str) -> bool:
        """Whether anyone listens to ``topic``."""
        return topic in self._handlers

    def publish(self, topic: str, *args: Any) -> None:
        """Tell every subscriber of ``topic``."""
        for handler in self._handlers.get(topic, ()):
            handler(*args)
