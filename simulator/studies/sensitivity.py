"""Sensitivity analysis: which parameter matters most for one named output (SALib's Morris
screening or Sobol' indices), every design point run with the same seeds (common random
numbers). ``segur sensitivity`` and ``simulator.sensitivity`` both run ``prepare(...).run()``
here and read a ``Sensitivity``.

The design (a TOML file, or the same keys as a dict from Python)::

    method = "morris"               # "morris" (screening, cheap) or "sobol" (variance shares)
    output = { name = "dmp_accepted_year", year = 2025, sector = "all" }   # see simulator.engine.outputs
    replications = 1                # seeds per design point; the output is their mean
    trajectories = 10               # morris: runs = trajectories × (parameters + 1)
    levels = 4                      # morris: grid levels (even)
    # samples = 64                  # sobol: base sample (a power of 2); runs = samples × (parameters + 2)

    [parameters]
    "sectors.gp.uptake_q" = { min = 0.003, max = 0.01 }
    "sectors.gp.intensity_mean" = { min = 0.08, max = 0.2 }

Tables: ``sensitivity`` (the ranking), ``samples`` (one row per design point) and
``replications``; figure ``sensitivity.png``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.engine.outputs import OutputSpec, parse_output
from simulator.engine.study_result import StudyResult, executor_spec, new_figure, run_settings
from simulator.studies.parameters import (
    ScenarioSpace,
    bounds,
    check_design_size,
    check_keys,
    positive_int,
    read_study,
)

METHODS = ("morris", "sobol")
COMMON_KEYS = ["method", "output", "replications", "parameters"]
METHOD_KEYS = {"morris": ["trajectories", "levels"], "sobol": ["samples"]}
SENS_KIND = "segur-testbed sensitivity"


@dataclass
class Design:
    """A checked parameters file and its SALib sample (one row per design point)."""

    path: Path
    method: str
    output: OutputSpec
    replications: int
    names: list[str]
    bounds: list[tuple[float, float]]
    options: dict[str, int]
    x: np.ndarray = field(repr=False)

    @property
    def problem(self) -> dict[str, Any]:
        return {"num_vars": len(self.names), "names": self.names, "bounds": [list(b) for b in self.bounds]}


def load_design(path: Path, space: ScenarioSpace, seed: int) -> Design:
    """Read and check a parameters file against the scenario, then draw the SALib sample."""
    return design_from_data(read_study(path, "parameters"), Path(path), space, seed)


def design_from_data(data: dict[str, Any], path: Path, space: ScenarioSpace, seed: int) -> Design:
    """Check a design (the data of a parameters file, ``path`` naming it in messages), then draw its sample."""
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a design is a table of keys ({', '.join(COMMON_KEYS)}…)")
    where = f"{path}: "
    method = data.get("method", "morris")
    if method not in METHODS:
        raise UsageError(f"{where}method: must be one of {', '.join(METHODS)} (got {method!r})")
    check_keys(data, COMMON_KEYS + METHOD_KEYS[method], where)
    if "output" not in data:
        raise UsageError(f"{where}output: required, e.g. output = {{ name = \"dmp_accepted_year\", year = 2025 }}")
    output = parse_output(data["output"], space.base, f"{where}output")
    replications = positive_int(data, "replications", 1, where)
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise UsageError(f"{where}parameters: give at least one, e.g. \"sectors.gp.uptake_q\" = {{ min = 0.003, max = 0.01 }}")
    names = list(params)
    bnds = []
    for k in names:
        current = space.current(k, f"{path}: parameters")
        if isinstance(current, int):
            raise UsageError(f"{where}parameters.{k}: an integer parameter; sensitivity analysis needs continuous ones")
        bnds.append(bounds(params[k], f"{where}parameters.{k}"))
    options: dict[str, int] = {}
    if method == "morris":
        options["trajectories"] = positive_int(data, "trajectories", 10, where)
        options["levels"] = positive_int(data, "levels", 4, where)
        if options["trajectories"] < 2:
            raise UsageError(f"{where}trajectories: must be at least 2 (got {options['trajectories']})")
        if options["levels"] < 2 or options["levels"] % 2:
            raise UsageError(f"{where}levels: must be an even integer of at least 2 (got {options['levels']})")
    else:
        options["samples"] = positive_int(data, "samples", 64, where)
        n = options["samples"]
        if n < 2 or n & (n - 1):
            raise UsageError(f"{where}samples: must be a power of 2 of at least 2 (got {n}), as Sobol' sequences need")
    points = options["trajectories"] * (len(names) + 1) if method == "morris" else options["samples"] * (len(names) + 2)
    check_design_size(points, replications, f"{path}: the design")
    design = Design(path, method, output, replications, names, bnds, options, np.empty((0, len(names))))
    design.x = _sample(design, seed)
    return design


def _sample(d: Design, seed: int) -> np.ndarray:
    if d.method == "morris":
        from SALib.sample import morris

        return morris.sample(d.problem, d.options["trajectories"], num_levels=d.options["levels"], seed=seed)
    from SALib.sample import sobol

    return sobol.sample(d.problem, d.options["samples"], calc_second_order=False, seed=seed)


def analyze(d: Design, y: np.ndarray, seed: int) -> pd.DataFrame:
    """The ranking table: one row per parameter, rank 1 = most influential."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if d.method == "morris":
            from SALib.analyze import morris

            r = morris.analyze(d.problem, d.x, y, num_levels=d.options["levels"], seed=seed)
            df = pd.DataFrame({"parameter": d.names, "mu_star": r["mu_star"], "mu_star_conf": r["mu_star_conf"],
                               "mu": r["mu"], "sigma": r["sigma"]})
            key = "mu_star"
        else:
            from SALib.analyze import sobol

            r = sobol.analyze(d.problem, y, calc_second_order=False, seed=seed)
            df = pd.DataFrame({"parameter": d.names, "ST": r["ST"], "ST_conf": r["ST_conf"],
                               "S1": r["S1"], "S1_conf": r["S1_conf"]})
            key = "ST"
    df["low"] = [b[0] for b in d.bounds]
    df["high"] = [b[1] for b in d.bounds]
    order = df[key].fillna(-np.inf).to_numpy()
    df["rank"] = pd.Series(-order).rank(method="first").astype(int).to_numpy()
    return df.sort_values("rank").reset_index(drop=True)


def draw(ranking: pd.DataFrame, d: Design, path: Path) -> None:
    """The ranking's bar chart written to ``path``."""
    figure(ranking, d).savefig(path, dpi=120)


def figure(ranking: pd.DataFrame, d: Design) -> Any:
    """A horizontal bar chart of the ranking (a matplotlib Figure, no display needed)."""
    r = ranking.iloc[::-1]
    y = np.arange(len(r))
    fig = new_figure(7.5, 1.2 + 0.45 * len(r))
    ax = fig.add_subplot()
    if d.method == "morris":
        ax.barh(y, r["mu_star"], xerr=r["mu_star_conf"], color="#3b6ea5", label="μ* (mean |elementary effect|)")
        ax.plot(r["sigma"], y, "o", color="#c8553d", label="σ (non-linearity, interactions)")
        ax.set_xlabel(f"{d.output.label} [{d.output.unit}]")
        ax.set_title("Morris screening")
    else:
        h = 0.38
        ax.barh(y + h / 2, r["ST"], h, xerr=r["ST_conf"], color="#3b6ea5", label="total index ST")
        ax.barh(y - h / 2, r["S1"], h, xerr=r["S1_conf"], color="#9cc3e6", label="first-order index S1")
        ax.set_xlabel(f"share of the variance of {d.output.label}")
        ax.set_title("Sobol' indices")
    ax.set_yticks(y, r["parameter"])
    ax.legend(loc="lower right", fontsize="small")
    return fig


@dataclass(repr=False)
class Sensitivity(StudyResult):
    """A finished sensitivity analysis: ``to_df()`` (sensitivity, samples, replications),
    ``summary()``, ``plot()``, ``save(out)``. ``ranking`` is None when a design point failed."""

    space: ScenarioSpace
    design: Design
    seed: int
    seeds: list[int]
    scale: float
    aggs: list
    executor: str
    wall_s: float
    ranking: pd.DataFrame | None = None

    default_table = "sensitivity"

    @property
    def failures(self) -> list[tuple[int, Any]]:
        return [(i, f) for i, a in enumerate(self.aggs) for f in (a.failures[j] for j in sorted(a.failures))]

    @property
    def complete(self) -> bool:
        return all(a.completed == a.n for a in self.aggs)

    def samples(self) -> pd.DataFrame:
        """One row per design point: its parameters, the output (mean over the seeds) and n."""
        label = self.design.output.label
        y = np.array([a.output_values()[label].mean() if a.completed else np.nan for a in self.aggs])
        samples = pd.DataFrame(self.design.x, columns=self.design.names)
        samples.insert(0, "sample", np.arange(1, len(samples) + 1))
        samples[label] = y
        samples["n"] = [a.completed for a in self.aggs]
        return samples

    def tables(self) -> dict[str, pd.DataFrame]:
        reps = []
        for i, a in enumerate(self.aggs):
            r = a.replications()
            r.insert(0, "sample", i + 1)
            reps.append(r)
        tables = {"samples": self.samples(), "replications": pd.concat(reps, ignore_index=True)}
        return {"sensitivity": self.ranking, **tables} if self.ranking is not None else tables

    def summary(self) -> str:
        """What `segur sensitivity` prints: the run, the output and the ranking."""
        d = self.design
        lines = [f"sensitivity {self.space.base.name} · {d.method} · {len(d.x)} design points × {len(self.seeds)} "
                 f"replications of seed {self.seed} · scale {self.scale} · {self.wall_s:.1f} s on {self.executor}",
                 f"Output: {d.output.describe()}"]
        if self.ranking is not None:
            cols = ["rank", "parameter", *(["mu_star", "mu_star_conf", "sigma"] if d.method == "morris" else ["ST", "ST_conf", "S1"])]
            lines.append(self.ranking[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        else:
            lines.append("No ranking: some design points are missing (samples and replications mark them).")
        return "\n".join(lines)

    def plot(self) -> Any:
        """The ranking as a bar chart (μ* and σ for Morris, ST and S1 for Sobol')."""
        if self.ranking is None:
            raise UsageError("plot: no ranking was computed (some design points failed)")
        return figure(self.ranking, self.design)

    def manifest(self) -> dict[str, Any]:
        """The folder's manifest (kind, scenario, design, seeds, failures, executor…)."""
        # loaded when a study is saved (start-up time of the commands)
        from simulator import __version__

        d, space, complete = self.design, self.space, self.complete
        return {
            "kind": SENS_KIND, "version": __version__, "scenario_name": space.base.name,
            "scenario_file": str(space.path), "scenario": json.loads(space.base.model_dump_json()),
            "params_file": str(d.path), "method": d.method, "options": d.options,
            "output": {"label": d.output.label, "describe": d.output.describe()},
            "parameters": {k: {"min": b[0], "max": b[1]} for k, b in zip(d.names, d.bounds, strict=True)},
            "design_points": len(d.x), "replications": d.replications, "seed": self.seed, "seeds": self.seeds,
            "scale": self.scale, "complete": complete,
            "failed": [{"sample": i + 1, "replication": f.index + 1, "seed": f.seed, "error": f.error,
                        "attempts": f.attempts} for i, f in self.failures],
            "ranking": "sensitivity.csv and sensitivity.png" if complete else "not computed: some design points are missing",
            "executor": self.executor, "wall_s": round(self.wall_s, 3), "tables": list(self.tables()),
            "figures": ["sensitivity.png"] if complete else [],
        }

    def save(self, out: str | Path) -> Path:
        """Write the folder `segur sensitivity` writes (atomically): tables, figure, manifest."""
        # loaded when a study is saved (start-up time of the commands)
        from simulator.engine.results import Results

        ranking, d = self.ranking, self.design
        writers = [] if ranking is None else [lambda _res, tmp: draw(ranking, d, tmp / "sensitivity.png")]
        return Results(self.tables(), self.manifest()).save(out, writers=writers)


@dataclass
class SensitivityStudy:
    """A checked design, ready to run: the scenario, the SALib sample, the seed and scale."""

    space: ScenarioSpace
    design: Design
    seed: int
    scale: float

    @property
    def runs(self) -> int:
        return len(self.design.x) * self.design.replications

    def run(self, executor: Any = "local", progress: Any = None) -> Sensitivity:
        """Run every design point × seed on ``executor``; rank the parameters when all completed."""
        # the engine loads when the runs start (start-up time of the commands)
        from simulator.core.streams import replication_seeds
        from simulator.engine.ensemble import run_points, with_run

        d = self.design
        scenarios = [with_run(self.space.make(dict(zip(d.names, map(float, row), strict=True)),
                                              f"design point {i + 1}"), self.seed, self.scale)
                     for i, row in enumerate(d.x)]
        seeds = replication_seeds(self.seed, d.replications)
        t0 = time.perf_counter()
        aggs, description = run_points(scenarios, seeds, [d.output], executor_spec(executor), "outputs", progress)
        result = Sensitivity(self.space, d, self.seed, seeds, self.scale, aggs, description, time.perf_counter() - t0)
        if result.complete:
            result.ranking = analyze(d, result.samples()[d.output.label].to_numpy(), self.seed)
        return result


def prepare(scenario: str | Path, params: str | Path | dict[str, Any], seed: int | None = None,
            scale: float | None = None) -> SensitivityStudy:
    """Check a sensitivity analysis before anything runs: the scenario (file or shipped name), the
    design (a parameters file or its keys as a dict), seed and scale (default: the scenario's)."""
    source = Path("<parameters>") if isinstance(params, dict) else Path(params)
    space = ScenarioSpace(scenario, source)
    seed, scale = run_settings(space.base, seed, scale)
    design = design_from_data(params, source, space, seed) if isinstance(params, dict) else load_design(source, space, seed)
    return SensitivityStudy(space, design, seed, scale)
