"""Compatibility name for ``simulator.core.errors``, where the project's errors live now: kept so
that code written against the old path still imports. New code imports the core."""

from simulator.core.errors import (
    ConservationError,
    DisagreementError,
    ScenarioError,
    SegurError,
    UsageError,
)

__all__ = ["ConservationError", "DisagreementError", "ScenarioError", "SegurError", "UsageError"]
