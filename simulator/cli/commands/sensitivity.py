"""`segur sensitivity SCENARIO --params SENS.toml`: which parameter matters most (SALib).

The parameters file (TOML)::

    method = "morris"               # "morris" (screening, cheap) or "sobol" (variance shares)
    output = { name = "dmp_accepted_year", year = 2025, sector = "all" }   # see simulator.outputs
    replications = 1                # seeds per design point; the output is their mean
    trajectories = 10               # morris: runs = trajectories × (parameters + 1)
    levels = 4                      # morris: grid levels (even)
    # samples = 64                  # sobol: base sample (a power of 2); runs = samples × (parameters + 2)

    [parameters]
    "sectors.gp.uptake_q" = { min = 0.003, max = 0.01 }
    "sectors.gp.intensity_mean" = { min = 0.08, max = 0.2 }

Every design point runs with the same seeds (common random numbers), so differences between
points come from the parameters. Writes ``sensitivity.csv`` (the ranking), ``samples.csv``
(one row per design point), ``replications.csv`` and ``sensitivity.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.core.errors import UsageError
from simulator.outputs import OutputSpec, parse_output
from simulator.studies.executors import add_executor_options, check_executor_options
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
    data = read_study(path, "parameters")
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
    """A horizontal bar chart of the ranking (matplotlib, no display needed)."""
    from matplotlib.figure import Figure

    r = ranking.iloc[::-1]
    y = np.arange(len(r))
    fig = Figure(figsize=(7.5, 1.2 + 0.45 * len(r)), layout="constrained")
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
    fig.savefig(path, dpi=120)


def register(sub: argparse._SubParsersAction) -> None:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator.cli.commands.run import add_run_options

    p = sub.add_parser("sensitivity", help="rank parameters by their effect on an output (Morris, Sobol')",
                       description="Morris screening or Sobol' indices (SALib) of named scenario parameters "
                                   "on one named output; write a ranking table and a figure.")
    p.add_argument("scenario", help="scenario file (TOML), or the name of a shipped scenario (e.g. baseline)")
    p.add_argument("--params", required=True, type=Path, metavar="SENS.toml", help="the parameters file")
    add_run_options(p)
    add_executor_options(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    with ExitStack() as claim:  # the output folder is checked and locked before the runs
        return _handle(args, claim)


def _handle(args: argparse.Namespace, claim: Any) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    from simulator import __version__
    from simulator.atomic import claim_output
    from simulator.cli.commands.run import check_run_options, check_scale, seed_and_scale
    from simulator.core.streams import replication_seeds
    from simulator.progress import progress_bar
    from simulator.results import Results
    from simulator.studies.ensemble import run_points, with_run
    from simulator.studies.executors import ExecutorSpec

    check_run_options(args)
    check_executor_options(args)
    space = ScenarioSpace(args.scenario, args.params)
    seed, scale = seed_and_scale(args, space.base)
    if args.scale is not None:
        check_scale(space.base, args.scale)
    d = load_design(args.params, space, seed)
    scenarios = [with_run(space.make(dict(zip(d.names, map(float, row), strict=True)), f"design point {i + 1}"), seed, scale)
                 for i, row in enumerate(d.x)]
    seeds = replication_seeds(seed, d.replications)
    out = args.out or Path("results") / f"{space.base.name}-sensitivity"
    claim.enter_context(claim_output(out, "sensitivity", args.overwrite))
    total = len(scenarios) * len(seeds)
    t0 = time.perf_counter()
    with progress_bar(f"segur sensitivity {space.base.name} ({total} runs)", quiet=args.quiet) as bar:
        aggs, description = run_points(scenarios, seeds, [d.output], ExecutorSpec.from_args(args), "outputs", bar)
    wall = time.perf_counter() - t0

    label = d.output.label
    y = np.array([a.output_values()[label].mean() if a.completed else np.nan for a in aggs])
    samples = pd.DataFrame(d.x, columns=d.names)
    samples.insert(0, "sample", np.arange(1, len(samples) + 1))
    samples[label] = y
    samples["n"] = [a.completed for a in aggs]
    reps = []
    for i, a in enumerate(aggs):
        r = a.replications()
        r.insert(0, "sample", i + 1)
        reps.append(r)
    failures = [(i, f) for i, a in enumerate(aggs) for f in (a.failures[j] for j in sorted(a.failures))]
    complete = all(a.completed == a.n for a in aggs)
    tables = {"samples": samples, "replications": pd.concat(reps, ignore_index=True)}
    writers = []
    ranking = None
    if complete:
        ranking = analyze(d, y, seed)
        tables = {"sensitivity": ranking, **tables}
        writers.append(lambda _res, tmp: draw(ranking, d, tmp / "sensitivity.png"))
    manifest = {
        "kind": SENS_KIND, "version": __version__, "scenario_name": space.base.name,
        "scenario_file": str(space.path), "scenario": json.loads(space.base.model_dump_json()),
        "params_file": str(d.path), "method": d.method, "options": d.options,
        "output": {"label": label, "describe": d.output.describe()},
        "parameters": {k: {"min": b[0], "max": b[1]} for k, b in zip(d.names, d.bounds, strict=True)},
        "design_points": len(scenarios), "replications": d.replications, "seed": seed, "seeds": seeds,
        "scale": scale, "complete": complete,
        "failed": [{"sample": i + 1, "replication": f.index + 1, "seed": f.seed, "error": f.error,
                    "attempts": f.attempts} for i, f in failures],
        "ranking": "sensitivity.csv and sensitivity.png" if complete else "not computed: some design points are missing",
        "executor": description, "wall_s": round(wall, 3), "tables": list(tables),
        "figures": ["sensitivity.png"] if complete else [],
    }
    Results(tables, manifest).save(out, writers=writers)
    if not args.quiet:
        print(f"sensitivity {space.base.name} · {d.method} · {len(scenarios)} design points × {len(seeds)} "
              f"replications of seed {seed} · scale {scale} · {wall:.1f} s on {description}")
        print(f"Output: {d.output.describe()}")
        if ranking is not None:
            cols = ["rank", "parameter", *(["mu_star", "mu_star_conf", "sigma"] if d.method == "morris" else ["ST", "ST_conf", "S1"])]
            print(ranking[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"Results written to {out}/")
    for i, f in failures:
        print(f"segur: design point {i + 1}, replication {f.index + 1} (seed {f.seed}) failed after "
              f"{f.attempts} attempts: {f.error}", file=sys.stderr)
    if failures:
        print(f"segur: {len(failures)} of {total} runs failed; no ranking was computed "
              "(samples.csv and replications.csv mark what is missing)", file=sys.stderr)
        return 1
    return 0
