"""Moved to the engine (``simulator.engine.commented_csv``, which the studies and the page both read); kept
here only for tests/test_rolling.py, which still imports it from the studies."""

from typing import Any

from simulator.engine import commented_csv as _engine_side


def __getattr__(name: str) -> Any:
    return getattr(_engine_side, name)
