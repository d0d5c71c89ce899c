"""CSV files with their provenance as ``# key: value`` lines on top (posterior draws, the
structural discrepancy): one reader, so both files fail the same way on bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from simulator.core.errors import UsageError


def read_commented_csv(path: str | Path, what: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """(table, provenance) of ``path``; a missing, unreadable or malformed file is one
    UsageError naming it and ``what`` it should be (e.g. "discrepancy")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    prov: dict[str, str] = {}
    body = []
    for line in text.splitlines():
        if line.startswith("#"):
            k, _, v = line[1:].partition(":")
            prov[k.strip()] = v.strip()
        elif line.strip():
            body.append(line)
    try:
        return pd.read_csv(io.StringIO("\n".join(body))), prov
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UsageError(f"{path}: not a {what} CSV ({exc})") from None
