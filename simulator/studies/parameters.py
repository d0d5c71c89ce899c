"""Study files (sweep grids, sensitivity parameters): read, check against the scenario, apply.

A study file names scenario parameters by dotted key (``sectors.gp.uptake_q``). Each key must
exist in the resolved scenario and hold a number; each point's scenario is validated like a
scenario file before anything runs, and every problem is one UsageError line naming the file.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from scenarios.loader import load_raw, read_input_file, resolve_path, set_dotted
from scenarios.schema import Scenario
from simulator.core.errors import ScenarioError, UsageError
from simulator.engine.scenario import validate


def read_study(path: str | Path, what: str) -> dict[str, Any]:
    """A study file's TOML data; a missing or malformed file is one clear line."""
    p = Path(path)
    try:
        return tomllib.loads(read_input_file(p, what, UsageError).decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{p}: not a text file ({what} files are UTF-8 TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{p}: cannot be read ({exc.strerror})") from None


MAX_DESIGN_RUNS = 10_000  # points × replications of a sweep or a sensitivity design
FIXED_RUN_KEYS = ("run.start", "run.end", "run.scale", "run.seed", "run.departements")


def check_design_size(points: int, replications: int, where: str) -> None:
    """Refuse a design whose runs exceed ``MAX_DESIGN_RUNS`` before anything is drawn or run."""
    runs = points * replications
    if runs > MAX_DESIGN_RUNS:
        raise UsageError(f"{where}: {points:,} points × {replications:,} replications = {runs:,} runs; "
                         f"at most {MAX_DESIGN_RUNS:,} in one study (split it, or use method = \"lhs\" with fewer points)")


def check_keys(data: dict[str, Any], allowed: list[str], where: str) -> None:
    """Reject the first key of ``data`` not in ``allowed``."""
    for key in data:
        if key not in allowed:
            raise UsageError(f"{where}{key}: unknown key; allowed keys here: {', '.join(allowed)}")


def positive_int(data: dict[str, Any], key: str, default: int | None, where: str) -> int | None:
    """``data[key]`` as an integer ≥ 1 (or ``default`` when absent)."""
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}{key}: must be an integer of at least 1 (got {value!r})")
    return value


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


class ScenarioSpace:
    """The scenario of a study and the parameters it varies: builds one Scenario per point."""

    def __init__(self, scenario: str | Path, study: Path):
        self.path = resolve_path(scenario)
        self.raw = load_raw(self.path)
        self.base: Scenario = validate(copy.deepcopy(self.raw), self.path)
        self.dump = self.base.model_dump()
        self.study = study

    def current(self, dotted: str, where: str) -> float | int:
        """The scenario's value at ``dotted``; an unknown path or a non-number is an error, and so
        is a run setting every point must share (dates, scale, seed: give --scale / --seed)."""
        if dotted in FIXED_RUN_KEYS:
            raise UsageError(f"{where}: '{dotted}' cannot vary between points (they share the run's months, scale "
                             f"and seeds); set it with --scale / --seed or in the scenario, and vary other parameters")
        node: Any = self.dump
        walked: list[str] = []
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                here = ".".join(walked) or "(top level)"
                allowed = ", ".join(map(str, node)) if isinstance(node, dict) else "(none: a value)"
                raise UsageError(f"{where}: '{dotted}' is not a parameter of scenario {self.path}: "
                                 f"no '{part}' under {here}; allowed there: {allowed}")
            node = node[part]
            walked.append(part)
        if not is_number(node):
            raise UsageError(f"{where}: '{dotted}' is not a number in scenario {self.path} (it is {node!r}); "
                             "only numeric parameters can be varied")
        return node

    def make(self, values: dict[str, Any], where: str) -> Scenario:
        """The scenario with ``values`` (dotted → value) set, validated like a scenario file."""
        data = copy.deepcopy(self.raw)
        for dotted, v in values.items():
            set_dotted(data, dotted, v)
        try:
            return validate(data, self.path)
        except ScenarioError as exc:
            shown = ", ".join(f"{k} = {v}" for k, v in values.items())
            raise UsageError(f"{self.study}: {where} ({shown}) gives an invalid scenario: {exc.message}") from None


def bounds(value: Any, where: str) -> tuple[float, float]:
    """A ``{ min = …, max = … }`` table as (min, max); reversed or equal bounds are an error."""
    if not isinstance(value, dict) or set(value) != {"min", "max"}:
        raise UsageError(f"{where}: must be a table {{ min = …, max = … }} (got {value!r})")
    lo, hi = value["min"], value["max"]
    if not (is_number(lo) and is_number(hi)):
        raise UsageError(f"{where}: min and max must be numbers (got {lo!r}, {hi!r})")
    if lo >= hi:
        raise UsageError(f"{where}: bounds reversed or empty: min = {lo} must be less than max = {hi}")
    return float(lo), float(hi)
