"""Sweeps: a scenario run at every point of a parameter grid (or a Latin hypercube) × seeds,
the same seeds at every point (common random numbers). ``segur sweep`` and ``simulator.sweep``
both run ``sweep`` here and read a ``SweepRun``.

The grid (a TOML file, or the same keys as a dict from Python)::

    method = "grid"                 # "grid" (every combination) or "lhs" (Latin hypercube)
    replications = 3                # seeds per point: the same seeds at every point
    n = 20                          # lhs only: number of points
    outputs = ["dmp_last_12_months", { name = "dmp_accepted_year", year = 2025, sector = "gp" }]

    [parameters]                    # dotted scenario keys
    "sectors.gp.uptake_q" = [0.004, 0.006, 0.008]                # grid: values…
    "sectors.gp.intensity_mean" = { min = 0.1, max = 0.2, steps = 3 }  # …or evenly spaced
    # lhs: "sectors.gp.uptake_q" = { min = 0.003, max = 0.01 }

Tables: ``points`` (one row per point: parameters, n, p5/p50/p95/mean of each output),
``replications`` (one row per point × seed), ``dmp_accepted_quantiles`` (point × month ×
sector bands of accepted DMP documents).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.engine.outputs import OutputSpec, headline_outputs, parse_output
from simulator.engine.study_result import StudyResult, executor_spec, new_figure, run_settings
from simulator.studies.parameters import (
    MAX_DESIGN_RUNS,
    ScenarioSpace,
    bounds,
    check_design_size,
    check_keys,
    is_number,
    positive_int,
    read_study,
)

GRID_KEYS = ["method", "replications", "n", "outputs", "parameters"]
METHODS = ("grid", "lhs")
SWEEP_KIND = "segur-testbed sweep"


@dataclass
class Grid:
    """A checked grid file: the points (dotted key → value) and what to compute at each."""

    path: Path
    method: str
    replications: int
    names: list[str]
    points: list[dict[str, Any]]
    outputs: list[OutputSpec]
    definition: dict[str, Any] = field(default_factory=dict)


def _grid_values(value: Any, current: Any, where: str) -> list[Any]:
    if isinstance(value, list):
        if not value:
            raise UsageError(f"{where}: give at least one value")
        for v in value:
            if not is_number(v):
                raise UsageError(f"{where}: values must be numbers (got {v!r})")
        return list(value)
    if isinstance(value, dict) and set(value) == {"min", "max", "steps"}:
        lo, hi = bounds({"min": value["min"], "max": value["max"]}, where)
        steps = value["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise UsageError(f"{where}.steps: must be an integer of at least 2 (got {steps!r})")
        if steps > MAX_DESIGN_RUNS:
            raise UsageError(f"{where}.steps: at most {MAX_DESIGN_RUNS:,} (got {steps:,})")
        vals = np.linspace(lo, hi, steps)
        return [int(round(v)) for v in vals] if isinstance(current, int) else [float(v) for v in vals]
    raise UsageError(f"{where}: a grid takes a list of values or {{ min = …, max = …, steps = … }} (got {value!r})")


def _lhs(bnds: list[tuple[float, float]], n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.core.streams import Streams

    rng = Streams(seed)["sweep:lhs"]
    try:
        sampler = qmc.LatinHypercube(d=len(bnds), rng=rng)
    except TypeError:  # scipy < 1.15 names it seed
        sampler = qmc.LatinHypercube(d=len(bnds), seed=rng)
    return qmc.scale(sampler.random(n), [b[0] for b in bnds], [b[1] for b in bnds])


def load_grid(path: Path, space: ScenarioSpace, seed: int) -> Grid:
    """Read and check a grid file against the scenario; any problem is one line naming it."""
    return grid_from_data(read_study(path, "grid"), Path(path), space, seed)


def grid_from_data(data: dict[str, Any], path: Path, space: ScenarioSpace, seed: int) -> Grid:
    """Check a grid (the data of a grid file, ``path`` naming it in messages) against the scenario."""
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a grid is a table of keys ({', '.join(GRID_KEYS)})")
    where = f"{path}: "
    check_keys(data, GRID_KEYS, where)
    method = data.get("method", "grid")
    if method not in METHODS:
        raise UsageError(f"{where}method: must be one of {', '.join(METHODS)} (got {method!r})")
    replications = positive_int(data, "replications", 1, where)
    n = positive_int(data, "n", None, where)
    if method == "lhs" and n is None:
        raise UsageError(f"{where}n: method = \"lhs\" needs the number of points n")
    if method == "grid" and n is not None:
        raise UsageError(f"{where}n: only for method = \"lhs\" (a grid has one point per combination)")
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise UsageError(f"{where}parameters: give at least one parameter, e.g. \"sectors.gp.uptake_q\" = [0.004, 0.008]")
    names = list(params)
    currents = {k: space.current(k, f"{path}: parameters") for k in names}
    if method == "grid":
        axes = [_grid_values(params[k], currents[k], f"{where}parameters.{k}") for k in names]
        check_design_size(math.prod(len(a) for a in axes), replications, f"{path}: the grid")
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
        definition = {k: axes[i] for i, k in enumerate(names)}
    else:
        bnds = [bounds(params[k], f"{where}parameters.{k}") for k in names]
        check_design_size(n, replications, f"{path}: the design")
        x = _lhs(bnds, n, seed)
        points = [{k: (int(round(v)) if isinstance(currents[k], int) else float(v))
                   for k, v in zip(names, row, strict=True)} for row in x]
        definition = {k: {"min": b[0], "max": b[1]} for k, b in zip(names, bnds, strict=True)}
    outputs_raw = data.get("outputs", [])
    if not isinstance(outputs_raw, list):
        raise UsageError(f"{where}outputs: must be a list of output names or tables")
    outputs = [parse_output(o, space.base, f"{where}outputs[{i}]") for i, o in enumerate(outputs_raw)]
    return Grid(path, method, replications, names, points, outputs, definition)


@dataclass(repr=False)
class SweepRun(StudyResult):
    """A finished sweep: ``to_df()`` (points, replications, dmp_accepted_quantiles), ``summary()``,
    ``plot()``, ``save(out)``."""

    grid: Grid
    seed: int
    seeds: list[int]
    specs: list[OutputSpec]
    aggs: list
    executor: str
    wall_s: float
    space: ScenarioSpace | None = None
    scale: float | None = None

    default_table = "points"

    @property
    def label(self) -> str:
        """The output shown by ``summary`` and ``plot``: the grid's first, else the headline."""
        return (self.grid.outputs[0] if self.grid.outputs else self.specs[0]).label

    def summary(self) -> str:
        """What `segur sweep` prints: the run, then each point's median [p5–p95] of ``label``."""
        name = self.space.base.name if self.space is not None else "scenario"
        head = (f"sweep {name} · {len(self.grid.points)} points × {self.grid.replications} replications of seed "
                f"{self.seed} · scale {self.scale} · {self.wall_s:.1f} s on {self.executor}")
        return head + "\n" + format_points(self, self.label)

    def plot(self, output: str | None = None) -> Any:
        """Median and p5–p95 of one output against each varied parameter (a matplotlib Figure)."""
        label = output or self.label
        points = self.tables()["points"]
        if f"{label}_p50" not in points:
            raise UsageError(f"plot: no output {label!r}; outputs: {', '.join(s.label for s in self.specs)}")
        names = self.grid.names
        fig = new_figure(4.2 * len(names), 3.4)
        for k, (ax, name) in enumerate(zip(np.atleast_1d(fig.subplots(1, len(names))), names, strict=True)):
            mid = points[f"{label}_p50"]
            err = [mid - points[f"{label}_p5"], points[f"{label}_p95"] - mid]
            ax.errorbar(points[name], mid, yerr=err, fmt="o", capsize=3, color="#3b6ea5")
            ax.set_xlabel(name)
            if k == 0:
                ax.set_ylabel(f"{label} (median, p5–p95)")
        fig.suptitle(f"sweep: {label}")
        return fig

    def manifest(self) -> dict[str, Any]:
        """The folder's manifest (kind, scenario, grid, seeds, failures, executor…)."""
        if self.space is None:
            raise UsageError("this sweep has no scenario attached; run it with simulator.sweep or sweep()")
        return _manifest(self, self.space, self.scale if self.scale is not None else self.space.base.run.scale,
                         self.tables())

    def save(self, out: str | Path) -> Path:
        """Write the folder `segur sweep` writes (atomically): the tables as CSV and the manifest."""
        # loaded when a sweep is saved (start-up time of the commands)
        from simulator.engine.results import Results

        return Results(self.tables(), self.manifest()).save(out)

    @property
    def failures(self) -> list[tuple[int, Any]]:
        return [(p, f) for p, a in enumerate(self.aggs) for f in (a.failures[i] for i in sorted(a.failures))]

    def tables(self) -> dict[str, pd.DataFrame]:
        point_rows, reps, dmp = [], [], []
        for p, (values, agg) in enumerate(zip(self.grid.points, self.aggs, strict=True)):
            row: dict[str, Any] = {"point": p + 1, **values, "n": agg.completed, "failed": len(agg.failures)}
            oq = agg.outputs_quantiles(self.specs)
            for _, q in oq.iterrows():
                for k in ("p5", "p50", "p95", "mean"):
                    row[f"{q['output']}_{k}"] = q[k]
            point_rows.append(row)
            r = agg.replications()
            r.insert(0, "point", p + 1)
            for j, (k, v) in enumerate(values.items()):
                r.insert(3 + j, k, v)
            reps.append(r)
            if agg.completed:
                d = agg.dmp_quantiles()
                d.insert(0, "point", p + 1)
                dmp.append(d)
        return {
            "points": pd.DataFrame(point_rows),
            "replications": pd.concat(reps, ignore_index=True),
            "dmp_accepted_quantiles": pd.concat(dmp, ignore_index=True) if dmp else pd.DataFrame(
                columns=["point", "month", "sector", "p5", "p50", "p95", "mean", "n"]),
        }


def sweep(space: ScenarioSpace, grid: Grid, seed: int, scale: float | None, executor: Any,
          progress: Any = None) -> SweepRun:
    """Run every point of ``grid`` with the same replication seeds (common random numbers)."""
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.core.streams import replication_seeds
    from simulator.engine.ensemble import run_points, with_run

    scenarios = [with_run(space.make(values, f"point {i + 1}"), seed, scale) for i, values in enumerate(grid.points)]
    seeds = replication_seeds(seed, grid.replications)
    specs = headline_outputs(space.base) + [s for s in grid.outputs if s not in headline_outputs(space.base)]
    t0 = time.perf_counter()
    aggs, description = run_points(scenarios, seeds, specs, executor, detail="dmp", progress=progress)
    return SweepRun(grid, seed, seeds, specs, aggs, description, time.perf_counter() - t0, space,
                    scale if scale is not None else space.base.run.scale)


@dataclass
class SweepStudy:
    """A checked sweep, ready to run: the scenario, the grid, the seed and scale."""

    space: ScenarioSpace
    grid: Grid
    seed: int
    scale: float

    @property
    def runs(self) -> int:
        return len(self.grid.points) * self.grid.replications

    def run(self, executor: Any = "local", progress: Any = None) -> SweepRun:
        """Run every point × seed on ``executor`` (an ExecutorSpec, "local" or "dask")."""
        return sweep(self.space, self.grid, self.seed, self.scale, executor_spec(executor), progress)


def prepare(scenario: str | Path, grid: str | Path | dict[str, Any], seed: int | None = None,
            scale: float | None = None) -> SweepStudy:
    """Check a sweep before anything runs: the scenario (file or shipped name), the grid (a file
    or its keys as a dict), the seed and scale (default: the scenario's). One error line names
    any problem."""
    source = Path("<grid>") if isinstance(grid, dict) else Path(grid)
    space = ScenarioSpace(scenario, source)
    seed, scale = run_settings(space.base, seed, scale)
    checked = grid_from_data(grid, source, space, seed) if isinstance(grid, dict) else load_grid(source, space, seed)
    return SweepStudy(space, checked, seed, scale)


def _manifest(run: SweepRun, space: ScenarioSpace, scale: float, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    import json

    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator import __version__

    layout = next((a.layout for a in run.aggs if a.layout), {})
    return {
        "kind": SWEEP_KIND,
        "version": __version__,
        "scenario_name": space.base.name,
        "scenario_file": str(space.path),
        "scenario": json.loads(space.base.model_dump_json()),
        "grid_file": str(run.grid.path),
        "method": run.grid.method,
        "parameters": run.grid.definition,
        "points": len(run.grid.points),
        "replications": run.grid.replications,
        "seed": run.seed,
        "seeds": run.seeds,
        "scale": scale,
        "months": layout.get("months", []),
        "sectors": layout.get("sectors", []),
        "outputs": {s.label: s.describe() for s in run.specs},
        "complete": not run.failures,
        "failed": [{"point": p + 1, "replication": f.index + 1, "seed": f.seed, "error": f.error, "attempts": f.attempts}
                   for p, f in run.failures],
        "executor": run.executor,
        "wall_s": round(run.wall_s, 3),
        "tables": list(tables),
    }


def format_points(run: SweepRun, label: str, limit: int = 20) -> str:
    """The points with the median [p5–p95] of one output, as plain text."""
    lines = [f"  {'point':>5}  " + "  ".join(run.grid.names) + f"  →  {label}: median [p5–p95] (n)"]
    for p, (values, agg) in enumerate(zip(run.grid.points, run.aggs, strict=True)):
        if p == limit:
            lines.append(f"  … {len(run.grid.points) - limit} more points in points.csv")
            break
        vals = "  ".join(f"{v:.6g}" for v in values.values())
        if agg.completed:
            q = agg.outputs_quantiles().set_index("output").loc[label]
            band = f"{q['p50']:.4g} [{q['p5']:.4g}–{q['p95']:.4g}] ({agg.completed})"
        else:
            band = "no replication completed"
        lines.append(f"  {p + 1:>5}  {vals}  →  {band}")
    return "\n".join(lines)
