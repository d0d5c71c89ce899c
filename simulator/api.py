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
from simulator.engine.scenario import load_scenario, validate

if TYPE_CHECKING:
    from simulator.engine.results import Results


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

    Replications from Python (docs/ensembles.md, "From Python"): ``ens = simulator.replicate(path,
    50, seed=1)`` runs them on local processes (``ens.to_df("documents_quantiles")`` holds the
    bands, ``ens.save(out)`` writes the folder); or loop ``for s in
    simulator.core.streams.replication_seeds(1, 50): run(path, seed=s)`` yourself.
    """
    return engine_run(with_overrides(scenario, overrides), seed=seed, scale=scale, progress=progress)


# -- studies from Python: thin wrappers over simulator/studies/*, the same code the commands run --
# Each returns an object with to_df(), summary() and plot() (and save(out): the command's folder).
# Replications run on worker processes started with "spawn": a script calling these must keep
# its work under `if __name__ == "__main__":` (docs/ensembles.md, "From Python").

def replicate(scenario: Scenario | str | Path, n: int = 10, *, seed: int | None = None,
              scale: float | None = None, overrides: dict[str, Any] | None = None,
              posterior: str | Path | None = None, executor: Any = "local", workers: int | None = None,
              address: str | None = None, progress: Callable[[int, int], None] | None = None,
              outputs: list[Any] | None = None) -> Any:
    """``n`` replications (`segur run --replications n`): an ``Ensemble`` with ``to_df()``,
    ``summary()``, ``plot()``, ``save(out)``.

    Replication i has seed ``replication_seeds(seed, n)[i]``; when a posterior file sits beside
    the scenario file (or ``posterior`` names one), replication i also runs posterior draw i
    (``posterior="none"``: seeds only; a Scenario object: seeds only). ``overrides`` apply on top
    of every replication's parameters. ``executor``: "local" (processes, ``workers``) or "dask"
    (``address`` of a scheduler, or a local cluster); ``outputs``: extra named outputs
    (``simulator.engine.outputs``: a name or ``{"name": …, …}``)."""
    # the studies load when they run (start-up time of `import simulator`)
    from simulator.engine.discrepancy import find_discrepancy
    from simulator.engine.ensemble import discrepancy_summary
    from simulator.engine.ensemble import replicate as replicate_ensemble
    from simulator.engine.outputs import parse_output
    from simulator.engine.study_result import executor_spec, run_settings
    from simulator.studies.posterior_file import draw_scenarios, draws_provenance

    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise UsageError(f"replications: at least 2 (got {n!r}); one run is simulator.run")
    sc = with_overrides(scenario, overrides)
    sc = sc if isinstance(sc, Scenario) else load_scenario(sc)
    seed, scale = run_settings(sc, seed, scale, prefix="")
    draws, source, provenance = None, "", None
    if not isinstance(scenario, Scenario):
        draws, source = draw_scenarios(scenario, n, posterior)
        if draws is not None:
            provenance = draws_provenance(scenario, posterior)
            draws = [with_overrides(d, overrides) for d in draws]
    elif posterior is not None and str(posterior).lower() != "none":
        raise UsageError("posterior: give the scenario as a file or a shipped name to run posterior draws")
    specs = [parse_output(o, sc, f"outputs[{i}]") for i, o in enumerate(outputs or [])]
    ens = replicate_ensemble(sc, n, seed=seed, scale=scale, executor=executor_spec(executor, workers, address),
                             progress=progress, outputs=specs, draws=draws, draws_source=source,
                             draws_provenance=provenance)
    disc = find_discrepancy(scenario, provenance) if draws is not None else None
    if disc is not None:  # the posterior's structural discrepancy, carried into the bands
        ens.extra["discrepancy"] = disc
        ens.extra["discrepancy_summary"] = discrepancy_summary(ens)
    return ens


def compare(*scenarios: Scenario | str | Path, replications: int = 1, seed: int | None = None,
            scale: float | None = None, years: list[int] | None = None, posterior: str | Path | None = None,
            executor: Any = "local", workers: int | None = None, address: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> Any:
    """Scenarios with the same seeds (`segur compare`): a ``Comparison`` with ``to_df()``
    (volumes, target_dates…), ``summary()`` (the side-by-side tables), ``plot()``, ``save(out)``."""
    # the studies load when they run (start-up time of `import simulator`)
    from simulator.engine.study_result import executor_spec
    from simulator.studies.comparison import prepare

    study = prepare(list(scenarios), replications, seed=seed, scale=scale, years=years, posterior=posterior)
    return study.run(executor_spec(executor, workers, address), progress)


def sweep(scenario: str | Path, grid: str | Path | dict[str, Any], *, seed: int | None = None,
          scale: float | None = None, executor: Any = "local", workers: int | None = None,
          address: str | None = None, progress: Callable[[int, int], None] | None = None) -> Any:
    """A grid or Latin hypercube of parameters × seeds (`segur sweep`): ``grid`` is a grid file or
    its keys as a dict (``{"replications": 2, "parameters": {"sectors.gp.uptake_q": [0.004, 0.008]}}``);
    returns a ``SweepRun`` with ``to_df()`` (points, replications…), ``summary()``, ``plot()``, ``save(out)``."""
    # the studies load when they run (start-up time of `import simulator`)
    from simulator.engine.study_result import executor_spec
    from simulator.studies.sweep import prepare

    return prepare(scenario, grid, seed=seed, scale=scale).run(executor_spec(executor, workers, address), progress)


def sensitivity(scenario: str | Path, params: str | Path | dict[str, Any], *, seed: int | None = None,
                scale: float | None = None, executor: Any = "local", workers: int | None = None,
                address: str | None = None, progress: Callable[[int, int], None] | None = None) -> Any:
    """Morris screening or Sobol' indices of parameters on one output (`segur sensitivity`):
    ``params`` is a parameters file or its keys as a dict; returns a ``Sensitivity`` with
    ``to_df()`` (the ranking, samples, replications), ``summary()``, ``plot()``, ``save(out)``."""
    # the studies load when they run (start-up time of `import simulator`)
    from simulator.engine.study_result import executor_spec
    from simulator.studies.sensitivity import prepare

    return prepare(scenario, params, seed=seed, scale=scale).run(executor_spec(executor, workers, address), progress)


def calibrate(calibration: str | Path, *, method: str = "lsq", cutoff: Any = None,
              observed: str | Path | None = None, workers: int = 1, scheduler: str | None = None,
              design: str | Path | None = None, report: Callable[[str], None] | None = None) -> Any:
    """Fit a calibration file's parameters to the observed figures (`segur calibrate`):
    ``method="lsq"`` the least-squares point fit, ``"abc"`` the ABC-SMC posterior (needs the
    ``calibrate`` extra: pyabc). Returns a ``Calibration`` with ``to_df()`` (the fit table,
    parameters, posterior draws…), ``summary()``, ``plot()``, ``save(out)``."""
    # the studies load when they run (start-up time of `import simulator`)
    from simulator.studies.calibration_run import prepare

    return prepare(calibration, method=method, cutoff=cutoff, observed=observed).run(
        workers=workers, scheduler=scheduler, design=design, report=report)
