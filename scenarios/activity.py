"""Eligible volumes from activity: the yearly activity of each sector and the eligible documents of
each type (``scenarios/data/activity.csv``, one source a row), and what a scenario's sectors imply.

A sector's eligible documents a year are ``facilities × episodes_per_day × working-day
equivalents × documents per episode``; the file gives the episodes and documents a year, so the
values a scenario should carry are ``episodes_per_day = episodes / facilities / day-equivalents``
and ``documents[type] = documents of the type / episodes``. Print both side by side:

    python -m scenarios.activity scenarios/baseline.toml [--year 2023]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios import DATA_DIR
from scenarios.country import load_country
from simulator.core.errors import ScenarioError

ACTIVITY_FILE = DATA_DIR / "activity.csv"
COLUMNS = ("sector", "doc_type", "measure", "yearly_volume", "unit", "source")


@dataclass(frozen=True)
class Activity:
    """One sector's yearly activity and eligible documents by LOINC type, from the file."""

    sector: str
    episodes: float  # episodes a year
    documents: dict[str, float]  # LOINC code → eligible documents a year
    sources: dict[str, str]  # "" (the activity) or a LOINC code → source


def load_activity(path: Path = ACTIVITY_FILE) -> dict[str, Activity]:
    """The activity file, by sector; a malformed file is a ScenarioError naming the row and field."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the activity file ({exc.strerror})") from None
    episodes: dict[str, float] = {}
    docs: dict[str, dict[str, float]] = {}
    sources: dict[str, dict[str, str]] = {}
    for i, r in enumerate(rows, start=2):
        if set(COLUMNS) - set(r):
            raise ScenarioError(f"{path}: columns must be {', '.join(COLUMNS)}")
        try:
            volume = float(r["yearly_volume"])
        except (TypeError, ValueError):
            raise ScenarioError(f"{path}: line {i}: yearly_volume must be a number (got {r['yearly_volume']!r})") from None
        if not volume > 0:
            raise ScenarioError(f"{path}: line {i}: yearly_volume must be positive (got {volume:g})")
        if not (r["source"] or "").strip():
            raise ScenarioError(f"{path}: line {i}: source must say where the figure comes from")
        s, code = r["sector"], (r["doc_type"] or "").strip()
        if code:
            docs.setdefault(s, {})[code] = volume
        elif s in episodes:
            raise ScenarioError(f"{path}: line {i}: sector {s} has two activity rows (doc_type empty)")
        else:
            episodes[s] = volume
        sources.setdefault(s, {})[code] = r["source"]
    missing = sorted(set(docs) - set(episodes))
    if missing:
        raise ScenarioError(f"{path}: sector {missing[0]} has documents but no activity row (doc_type empty)")
    return {s: Activity(s, episodes[s], docs.get(s, {}), sources[s]) for s in episodes}


def day_equivalents(cfg: Any, year: int, country: str = "france") -> float:
    """Full working days a year of a sector: Σ over the year's days of weekday × month factors,
    public holidays at most ``holiday`` (as simulator/engine/calendar.py's rhythm)."""
    holidays = load_country(country).calendar.holidays(year)
    day, total = dt.date(year, 1, 1), 0.0
    while day.year == year:
        r = cfg.weekly[day.weekday()] * cfg.seasonal[day.month - 1]
        total += min(r, cfg.holiday) if day in holidays else r
        day += dt.timedelta(days=1)
    return total


def compare(sc: Any, activity: dict[str, Activity], year: int = 2023) -> list[dict[str, Any]]:
    """For each sector of ``sc`` in the file: eligible episodes and documents a year in the scenario
    (facilities at scale 1) against the file's, and the values the file implies."""
    out = []
    for name, cfg in sc.sectors.items():
        act = activity.get(name)
        if act is None:
            continue
        days = day_equivalents(cfg, year, sc.country)
        episodes = cfg.facilities * cfg.episodes_per_day * days
        out.append({"sector": name, "what": "episodes", "scenario": episodes, "activity": act.episodes,
                    "scenario_value": cfg.episodes_per_day,
                    "implied_value": act.episodes / cfg.facilities / days})
        for code in sorted(set(cfg.documents) | set(act.documents)):
            out.append({"sector": name, "what": code, "scenario": episodes * cfg.documents.get(code, 0.0),
                        "activity": act.documents.get(code, 0.0), "scenario_value": cfg.documents.get(code, 0.0),
                        "implied_value": act.documents.get(code, 0.0) / act.episodes})
    return out


def main(argv: list[str] | None = None) -> int:
    """Print a scenario's eligible volumes against the activity file."""
    from scenarios.loader import load_raw  # noqa: PLC0415 - only this command reads a scenario
    from scenarios.schema import Scenario  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--year", type=int, default=2023)
    args = ap.parse_args(argv)
    sc = Scenario.model_validate(load_raw(args.scenario))  # the merged file, not checked against the catalogues
    print(f"{'sector':<14}{'what':<10}{'scenario /yr':>16}{'activity /yr':>16}{'value':>10}{'implied':>10}")
    for r in compare(sc, load_activity(), args.year):
        print(f"{r['sector']:<14}{r['what']:<10}{r['scenario']:>16,.0f}{r['activity']:>16,.0f}"
              f"{r['scenario_value']:>10.4g}{r['implied_value']:>10.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
