"""The parameters a dated intervention may change during a run (the engine reads them afresh
every day), and the check of an intervention's parameter path: scenario knowledge, so that
loading a scenario needs nothing of the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    "profiles.opposition_rate",
    "profiles.activation_rate",
    "profiles.closure_rate",
    "dmp.capacity_per_day",
    "dmp.max_wait_days",
    "mssante.bounce_rate",
    "identity.qualification_factor",
)
SHARE_PARAMS = {
    "uptake_p", "uptake_q", "intensity_mean", "mssante.to_professional", "mssante.to_patient",
    "qualification.end_share", "profiles.opposition_rate", "profiles.activation_rate", "profiles.closure_rate",
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
