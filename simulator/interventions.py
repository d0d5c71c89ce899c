"""Dated interventions and the run-time parameters they may change.

A `parameter` intervention sets a dynamic parameter from its date on; a `campaign`
multiplies one by a factor for a number of days; `rule` switches a DMP rule on; `outage`
takes a service down; `launch` opens a (wave 2) sector. Paths use dots; `sectors.*.x`
means every sector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenarios.schema import Scenario

# Parameters the engine reads afresh every day, so that a dated change takes effect.
DYNAMIC_SECTOR_PARAMS = (
    "uptake_p",
    "uptake_q",
    "intensity_mean",
    "episodes_per_day",
    "mssante.to_professional",
    "mssante.to_patient",
    "qualification.end_share",
)
DYNAMIC_GLOBAL_PARAMS = (
    "profiles.activation_rate",
    "profiles.closure_rate",
    "dmp.capacity_per_day",
    "dmp.max_wait_days",
    "mssante.bounce_rate",
    "identity.qualification_factor",
)
SHARE_PARAMS = {
    "uptake_p", "uptake_q", "intensity_mean", "mssante.to_professional", "mssante.to_patient",
    "qualification.end_share", "profiles.activation_rate", "profiles.closure_rate",
    "mssante.bounce_rate",
}


def check_parameter_path(sc: Scenario, path: str, value: float | None) -> str | None:
    """None if ``path`` names a dynamic parameter of ``sc`` (and ``value`` fits), else why not."""
    allowed = [f"sectors.<sector|*>.{p}" for p in DYNAMIC_SECTOR_PARAMS] + list(DYNAMIC_GLOBAL_PARAMS)
    parts = path.split(".")
    if parts[0] == "sectors" and len(parts) >= 3:
        sector, param = parts[1], ".".join(parts[2:])
        if sector != "*" and sector not in sc.sectors:
            return f"'{path}': unknown sector '{sector}'; allowed: *, {', '.join(sc.sectors)}"
        if param not in DYNAMIC_SECTOR_PARAMS:
            return f"'{path}' cannot change during a run; allowed: {', '.join(allowed)}"
    elif path not in DYNAMIC_GLOBAL_PARAMS:
        return f"'{path}' cannot change during a run; allowed: {', '.join(allowed)}"
    else:
        param = path
    if value is not None and param in SHARE_PARAMS:
        if not 0.0 <= value <= 1.0:
            return f"'{path}' is a probability: value must be between 0 and 1 (got {value})"
    if value is not None and value < 0:
        return f"'{path}': value must not be negative (got {value})"
    return None


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
