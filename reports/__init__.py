"""Figures (matplotlib), target tables and the self-contained HTML report of a run.

>>> import simulator, reports
>>> res = simulator.run("scenarios/baseline.toml", scale=0.002, seed=3)   # doctest: +SKIP
>>> reports.build_report(res, "out/", lang="en")                           # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.run_output import Results

__all__ = ["build_report", "write_report", "build_comparison_report"]


def build_report(results: Results, out_dir: str | Path, lang: str = "fr", at: str | None = None,
                 out_file: str | Path | None = None) -> Path:
    """Write ``report.html`` (figures embedded) and ``figures/`` (PNG + SVG); return the page's path."""
    # the report's modules and matplotlib load when a report is drawn (start-up time)
    from reports.html import build_report as _build

    return _build(results, out_dir, lang=lang, at=at, out_file=out_file)


def write_report(results: Results, tmp_dir: Path) -> None:
    """Writer for ``Results.save(out, writers=[write_report])``: the French report inside the folder."""
    # the report's modules and matplotlib load when a report is drawn (start-up time)
    from reports.html import write_report as _write

    _write(results, tmp_dir)


def build_comparison_report(results_by_name: dict[str, Results], out_dir: str | Path, lang: str = "fr",
                            at: str | None = None) -> Path:
    """Write ``comparison.html`` comparing several runs (one per scenario name); return its path."""
    # the report's modules and matplotlib load when a report is drawn (start-up time)
    from reports.html import build_comparison_report as _build

    return _build(results_by_name, out_dir, lang=lang, at=at)
