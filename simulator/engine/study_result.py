"""What every study object returned to Python shares (an ensemble, a comparison, a sweep, a
sensitivity analysis, a calibration): ``to_df(name)`` for a table, ``summary()`` for the text the
command prints and ``plot()`` for a matplotlib Figure, as Covasim's MultiSim or Starsim's
Calibration do. Nothing here runs anything."""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulator.core.errors import UsageError


class StudyResult:
    """Mix-in: ``to_df`` over ``tables()``; subclasses give ``default_table``, ``summary`` and ``plot``."""

    default_table: str = ""

    def tables(self) -> dict[str, pd.DataFrame]:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def to_df(self, name: str | None = None) -> pd.DataFrame:
        """One of the study's tables (the same as its CSV file); default: ``default_table``."""
        tables = self.tables()
        key = name or self.default_table
        if key not in tables:
            raise UsageError(f"to_df: no table {key!r}; tables: {', '.join(tables)}")
        return tables[key].copy()

    def summary(self) -> str:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.summary().splitlines()[0]}>"


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure not tied to any display (works in scripts, notebooks and workers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def run_settings(sc: Any, seed: int | None, scale: float | None, prefix: str = "--") -> tuple[int, float]:
    """A study's seed and scale: the given ones, checked, else the scenario's ``[run]``; a scale at
    which a sector would have no simulated agent (or beyond memory) is refused."""
    # the schema's size check loads when a study is prepared (start-up time)
    from scenarios.schema import size_problem

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UsageError(f"{prefix}seed: must be a non-negative integer (got {seed!r})")
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 1:
            raise UsageError(f"{prefix}scale: must be greater than 0 and at most 1 (got {scale!r})")
        problem = size_problem(sc, scale)
        if problem:
            raise UsageError(f"{prefix}scale {scale:g}: {problem}")
    return (sc.run.seed if seed is None else seed), (sc.run.scale if scale is None else float(scale))


def executor_spec(executor: Any = "local", workers: int | None = None, address: str | None = None) -> Any:
    """An ExecutorSpec from ``"local"`` / ``"dask"`` (and workers, a Dask address) or one given whole."""
    # the executors load when a study runs (start-up time)
    from simulator.engine.executors import ExecutorSpec

    if isinstance(executor, ExecutorSpec):
        return executor
    if executor not in ("local", "dask"):
        raise UsageError(f"executor: 'local' or 'dask' (got {executor!r})")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"workers: a positive integer (got {workers!r})")
    return ExecutorSpec("dask" if address else executor, workers, address)
