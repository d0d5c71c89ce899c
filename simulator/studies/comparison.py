"""A comparison of scenarios as one object for Python: ``simulator.compare`` and `segur compare`
both run ``prepare(...).run()`` here; ``Comparison`` gives ``to_df()``, ``summary()`` (the
printed side-by-side tables), ``plot()`` and ``save(out)`` over ``simulator.studies.compare``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.loader import resolve_path
from scenarios.schema import Scenario
from simulator.core.errors import UsageError
from simulator.engine.study_result import StudyResult, executor_spec, run_settings
from simulator.studies.compare import (
    ScenarioRuns,
    annual_volumes,
    check_names,
    check_years,
    format_comparison,
    run_scenarios,
    side_by_side,
    target_dates,
    write_comparison,
)


@dataclass(repr=False)
class Comparison(StudyResult):
    """Scenarios run with the same seeds: ``to_df()`` (volumes, target_dates, compare_volumes,
    compare_targets), ``summary()``, ``plot()``, ``save(out)``; ``runs`` per scenario."""

    runs: list[ScenarioRuns]
    years: list[int] = field(default_factory=list)
    draws: list[tuple[Any, str]] = field(default_factory=list)

    default_table = "volumes"

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    @property
    def failures(self) -> list[str]:
        return [f"{r.name}: {f}" for r in self.runs for f in r.failures]

    def tables(self) -> dict[str, pd.DataFrame]:
        volumes, targets = annual_volumes(self.runs), target_dates(self.runs)
        t_wide, v_wide = side_by_side(volumes, targets, self.names)
        return {"volumes": volumes, "target_dates": targets, "compare_targets": t_wide, "compare_volumes": v_wide}

    def summary(self) -> str:
        """What `segur compare` prints: volumes by sector and channel per year, months targets are reached."""
        lines = [format_comparison(self.runs, annual_volumes(self.runs), target_dates(self.runs), self.years)]
        for name, (d, source) in zip(self.names, self.draws, strict=False):
            if d is not None:
                lines.append(f"{name}: parameters from {source} (replication i: draw i, seed i)")
        return "\n".join(lines)

    def plot(self) -> Any:
        """Each target's panel: every scenario's trailing 12 months of accepted DMP documents."""
        # loaded when a figure is asked for (start-up time)
        from simulator.studies.compare_figure import comparison_figure

        return comparison_figure(self.runs)

    def save(self, out: str | Path, lang: str = "fr") -> Path:
        """Write the comparison folder (tables, figure, report, manifest) atomically."""
        return write_comparison(out, self.runs, lang=lang)


@dataclass
class ComparisonStudy:
    """Checked scenarios, ready to run with the same seed(s) and scale."""

    scenarios: list[Scenario]
    replications: int
    seed: int
    scale: float
    years: list[int]
    draws: list[tuple[Any, str]]
    discrepancy: dict[str, Any] | None = None  # beside the posterior file the draws come from

    @property
    def label(self) -> str:
        names = " ".join(sc.name for sc in self.scenarios)
        return f"segur compare {names}" + (f" × {self.replications}" if self.replications > 1 else "")

    def run(self, executor: Any = "local", progress: Callable[[int, int], None] | None = None) -> Comparison:
        """Run every scenario (replications on ``executor``; one replication in this process)."""
        runs = run_scenarios(self.scenarios, self.replications, seed=self.seed, scale=self.scale,
                             executor=executor_spec(executor), progress=progress, draws=self.draws,
                             discrepancy=self.discrepancy)
        return Comparison(runs, self.years, self.draws)


def prepare(scenarios: Sequence[str | Path | Scenario], replications: int = 1, seed: int | None = None,
            scale: float | None = None, years: Sequence[int] | None = None,
            posterior: str | Path | None = None) -> ComparisonStudy:
    """Check a comparison before anything runs: scenarios (files, shipped names or Scenario
    objects), replications, seed and scale (default: the first scenario's), the printed years.
    With replications, the first posterior file found beside a scenario file gives replication
    i of every scenario its draw i (``posterior``: another file, or "none" for seeds only)."""
    # the engine's scenario loader (start-up time)
    from simulator.engine.discrepancy import for_posterior
    from simulator.engine.outputs import run_months
    from simulator.engine.scenario import load_scenario
    from simulator.studies.posterior_file import beside, draw_scenarios

    if isinstance(scenarios, str | Path | Scenario):
        scenarios = [scenarios]
    if not scenarios:
        raise UsageError("compare: give at least one scenario")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise UsageError(f"--replications: must be at least 1 (got {replications!r})")
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    check_names(loaded)
    seed, scale = run_settings(loaded[0], seed, scale)
    for sc in loaded[1:]:
        run_settings(sc, None, scale)
    shown = sorted(set(years or []))
    check_years(shown, run_months(loaded[0]))
    files = [s for s in scenarios if not isinstance(s, Scenario)]
    if posterior is None:
        found = next((beside(resolve_path(s)) for s in files if beside(resolve_path(s)).exists()), None)
    else:
        found = None if str(posterior).lower() == "none" else Path(posterior)
    draws = [draw_scenarios(s, replications, found)
             if replications > 1 and found and not isinstance(s, Scenario) else (None, "") for s in scenarios]
    drawn = found is not None and any(d is not None for d, _ in draws)
    return ComparisonStudy(loaded, replications, seed, scale, shown, draws, for_posterior(found) if drawn else None)
