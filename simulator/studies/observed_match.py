"""Observed figures against a run: now on the engine side (``simulator.engine.observed_match``, read
by the studies and the page alike); kept here for the code that imports it from the studies."""

from typing import Any

from simulator.engine import observed_match as _engine_side


def __getattr__(name: str) -> Any:
    return getattr(_engine_side, name)
