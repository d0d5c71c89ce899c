"""``simulator.run``: a scenario (file, shipped name or Scenario) run from Python, with optional
parameter overrides checked by the scenario schema like any value of a scenario file.

>>> import simulator
>>> res = simulator.run("scenarios/baseline.toml", seed=7, scale=0.01,            # doctest: +SKIP
...                     overrides={"sectors.gp.uptake_q": 0.5})
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.loader import load_raw, resolve_path
from scenarios.schema import Scenario
from simulator.core.errors import UsageError
from simulator.engine import run as engine_run
from simulator.scenario import load_scenario, validate

if TYPE_CHECKING:
    from simulator.results import Results


def with_overrides(scenario: Scenario | str | Path, overrides: dict[str, Any] | None) -> Scenario | str | Path:
    """The scenario with ``overrides`` (dotted keys → values) set and validated by the schema;
    an unknown key or a value the schema refuses is one error naming the key."""
    if not overrides:
        return scenario

    if not isinstance(overrides, dict):
        raise UsageError(f"overrides: must be a dict of dotted keys to values (got {type(overrides).__name__})")
    for key in overrides:
        if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
            raise UsageError(f"overrides: {key!r} is not a dotted key like 'sectors.gp.uptake.q'")
    if isinstance(scenario, Scenario):
        data = json.loads(scenario.model_dump_json())
        for key, value in overrides.items():
            _set(data, key, value)
        return validate(data, Path(f"<{scenario.name} with overrides>"))

    path = resolve_path(scenario)
    data = load_raw(path)
    for key, value in overrides.items():
        _set(data, key, value)  # checked here: a key through a value is one clear error
    return load_scenario(path, overrides)


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = data
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise UsageError(f"overrides: {dotted}: '{p}' is a value, not a table")
    node[parts[-1]] = value


def run(scenario: Scenario | str | Path, seed: int | None = None, scale: float | None = None,
        progress: Callable[[int, int], None] | None = None, *,
        overrides: dict[str, Any] | None = None) -> Results:
    """Run a scenario and return its Results.

    ``scenario``: a TOML file, the name of a shipped scenario (``"wave2"``) or a loaded Scenario;
    ``seed`` and ``scale`` override its ``[run]`` values; ``overrides`` set any parameter by its
    dotted key (``{"sectors.gp.uptake_q": 0.5, "run.end": "2025-12-31"}``), validated by the schema.

    Replications from Python (docs/ensembles.md, "From Python"): ``ens =
    simulator.studies.ensemble.replicate(load_scenario(path), 50, seed=1)`` runs them on local processes
    (``ens.tables()`` holds the quantile bands, ``ens.save(out)`` writes the folder); or loop
    ``for s in simulator.core.streams.replication_seeds(1, 50): run(path, seed=s)`` yourself.
    """
    return engine_run(with_overrides(scenario, overrides), seed=seed, scale=scale, progress=progress)
