"""Observed figures of the programme (2021–2023) that a calibrated baseline must reproduce.

``load_observed()`` reads ``scenarios/data/observed.csv`` (one row per published figure, with
unit and source) and adds ``bound``: ``lower`` when the note says "lower bound" or "more than"
(the figure is a floor: no penalty above it), ``upper`` when it says "upper bound", else
``point``. What each row measures in a run is decided in ``simulator.studies.observed_match``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from scenarios import DATA_DIR
from simulator.core.errors import UsageError

OBSERVED_CSV = DATA_DIR / "observed.csv"
COLUMNS = ("date", "metric", "sector", "value", "unit", "source", "note")
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


def bound_of(note: str) -> str:
    """``lower``, ``upper`` or ``point``: how a row's value constrains the simulated one."""
    n = note.lower()
    if "lower bound" in n or "more than" in n:
        return "lower"
    if "upper bound" in n:
        return "upper"
    return "point"


def load_observed(path: str | Path | None = None) -> pd.DataFrame:
    """The observed rows as a DataFrame (columns of the CSV + ``bound``), in file order.

    ``date`` is a month ``YYYY-MM`` or a year ``YYYY``; ``value`` is a float in ``unit``.
    A missing file, a missing column or a bad date/value is a UsageError naming file and line.
    """
    path = Path(path) if path is not None else OBSERVED_CSV
    from scenarios.loader import read_input_file  # here: the loader imports the catalogue

    try:
        text = read_input_file(path, "observed figures", UsageError, max_bytes=64 * 2**20).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    rows = []
    for line, rec in enumerate(reader, start=2):
        date = (rec["date"] or "").strip()
        if not _DATE.match(date):
            raise UsageError(f"{path}: line {line}: date must be YYYY or YYYY-MM (got {date!r})")
        try:
            value = float(rec["value"])
        except (TypeError, ValueError):
            raise UsageError(f"{path}: line {line}: value must be a number (got {rec['value']!r})") from None
        if not (rec["metric"] or "").strip() or not (rec["sector"] or "").strip():
            raise UsageError(f"{path}: line {line}: metric and sector must not be empty")
        note = rec["note"] or ""
        rows.append({
            "date": date,
            "metric": rec["metric"].strip(),
            "sector": rec["sector"].strip(),
            "value": value,
            "unit": rec["unit"] or "",
            "source": rec["source"] or "",
            "note": note,
            "bound": bound_of(note),
        })
    if not rows:
        raise UsageError(f"{path}: no observed rows")
    return pd.DataFrame(rows)
