"""Reading a results folder back, checked: a manifest that is not what `segur run` writes, a
missing, empty, truncated or malformed CSV is one UsageError naming the file, never a silently
wrong report. Every reader of a results folder (``segur report``, ``segur network``, Python)
goes through ``read_folder``.

The files stay as `segur run` has always written them (month ``YYYY-MM`` strings, an empty
``reason`` for "no reason"), so folders written by earlier versions still load.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.core.errors import UsageError
from simulator.core.outcomes import CHANNELS, OUTCOMES

MANIFEST = "manifest.json"
RESULTS_KIND = "segur-testbed results"
DEFAULT_TABLES = ("documents", "gp_activity", "adoption", "profiles", "dmp_daily", "territory")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# What each known table must hold: column → kind. "month" / "sector" are checked against the
# manifest; "str" columns are read as text (département "01" stays "01"); numbers must be finite.
SCHEMAS: dict[str, dict[str, str]] = {
    "documents": {"month": "month", "sector": "sector", "doc_type": "str", "channel": "channel",
                  "outcome": "outcome", "reason": "reason", "count": "int", "documents": "number"},
    "gp_activity": {"month": "month", "facility": "int", "documents": "number"},
    "adoption": {"month": "month", "sector": "sector", "facilities": "number", "installed": "number",
                 "feeding": "number", "legacy_feeding": "number", "mailbox": "number", "eligible_documents": "number"},
    "profiles": {"month": "month", "state": "str", "persons": "number"},
    "dmp_daily": {"date": "date", "up": "bool", "received": "number", "accepted": "number", "rejected": "number",
                  "dropped": "number", "backlog": "number"},
    "territory": {"month": "month", "sector": "sector", "departement": "str", "channel": "channel", "documents": "number"},
    "flows": {"month": "month", "sector": "sector", "flow": "str", "outcome": "str", "count": "int", "national": "number"},
    "eprescription": {"month": "month", "event": "str", "reason": "reason", "count": "int", "national": "number"},
    "eprescription_adoption": {"month": "month", "gp_software_authorised": "number", "gp_eprescribing": "number",
                               "pharmacies_scanning": "number"},
    "mailboxes": {"month": "month", "sector": "sector", "kind": "str", "mailboxes": "number"},
    "identity": {"month": "month", **{c: "number" for c in (
        "persons_not_looked_up", "persons_pending_01", "persons_pending_02", "persons_retrieved", "persons_qualified",
        "persons_no_ins", "lookups_00", "lookups_01", "lookups_02", "lookups_failed", "id_checks", "qualified_share")},
        "insi_up": "bool"},
}
# columns read as text whatever table they are in (codes that look like numbers)
TEXT_COLUMNS = ("month", "sector", "reason", "doc_type", "departement", "channel", "outcome", "state", "date",
                "flow", "event")
_OUTCOME_NAMES = tuple(dict.fromkeys(o for o, _ in OUTCOMES))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a results folder, checked: an object with every key a reader needs."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such results folder")
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise UsageError(f"{folder}: not a results folder (no {MANIFEST}); run `segur run` first")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{mpath}: not valid JSON ({exc.__class__.__name__}); the folder is damaged, run it again") from None
    except OSError as exc:
        raise UsageError(f"{mpath}: cannot be read ({exc.strerror})") from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{mpath}: must be a JSON object (got {type(manifest).__name__}); the folder is damaged")
    if manifest.get("kind") != RESULTS_KIND:
        raise UsageError(f"{folder}: not a segur-testbed results folder (manifest kind is {manifest.get('kind')!r})")
    _check_manifest(manifest, mpath)
    return manifest


def _check_manifest(m: dict[str, Any], mpath: Path) -> None:
    """The manifest's keys, each its one-line message naming the file and the key."""
    def bad(key: str, what: str) -> UsageError:
        return UsageError(f"{mpath}: '{key}' {what}; the folder is damaged or not written by `segur run`")

    required = ("scenario_name", "scenario", "seed", "scale", "start", "end", "months", "sectors")
    missing = [k for k in required if k not in m]
    if missing:
        raise UsageError(f"{mpath}: missing key(s) {', '.join(missing)}; the folder is damaged or not written by `segur run`")
    if not isinstance(m["scenario"], dict):
        raise bad("scenario", "must be an object")
    _check_manifest_scenario(m["scenario"], bad)
    _check_manifest_run(m, bad)


def _check_manifest_scenario(scen: dict[str, Any], bad: Callable[[str, str], UsageError]) -> None:
    """The scenario the manifest records: its sectors, interventions and targets."""
    for key, kind in (("sectors", dict), ("run", dict), ("interventions", list), ("description", str)):
        if key in scen and not isinstance(scen[key], kind):
            raise bad(f"scenario.{key}", f"must be {'an object' if kind is dict else 'a list' if kind is list else 'text'}")
    if not all(isinstance(iv, dict) and isinstance(iv.get("date"), str) and _DATE.match(iv["date"][:10])
               and isinstance(iv.get("kind"), str) for iv in scen.get("interventions", [])):
        raise bad("scenario.interventions", "must be a list of {date = YYYY-MM-DD, kind = …}")
    if not all(isinstance(v, dict) for v in scen.get("sectors", {}).values()):
        raise bad("scenario.sectors", "must map each sector to an object")
    targets = scen.get("targets", {})
    if not isinstance(targets, dict) or not all(
            isinstance(t, dict) and isinstance(t.get("sectors"), list) and _is_number(t.get("value")) and t["value"] > 0
            for t in targets.values()):
        raise bad("scenario.targets", "must map each target to {value > 0, sectors = [...]}")
    if not all(t.get("channel", "dmp") in ("dmp", "mssante_pro", "mssante_patient", "mssante")
               and isinstance(t.get("doc_types", []), list) for t in targets.values()):
        raise bad("scenario.targets", "a target's channel must be dmp, mssante_pro, mssante_patient or mssante, "
                                      "its doc_types a list of codes")


def _check_manifest_run(m: dict[str, Any], bad: Callable[[str, str], UsageError]) -> None:
    """The run's own keys: scale, months, sectors, tables, produced counts, timings."""
    if not _is_number(m["scale"]) or not 0 < m["scale"] <= 1:
        raise bad("scale", f"must be a number in (0, 1] (got {m['scale']!r})")
    months = m["months"]
    if not isinstance(months, list) or not months or not all(isinstance(x, str) and _MONTH.match(x) for x in months):
        raise bad("months", "must be a non-empty list of YYYY-MM")
    if months != sorted(set(months)):
        raise bad("months", "must be in order, each once")
    sectors = m["sectors"]
    if not isinstance(sectors, list) or not sectors or not all(isinstance(s, str) and s for s in sectors):
        raise bad("sectors", "must be a non-empty list of sector names")
    tables = m.get("tables", list(DEFAULT_TABLES))
    if not isinstance(tables, list) or not all(isinstance(t, str) and re.fullmatch(r"[A-Za-z0-9_]+", t) for t in tables):
        raise bad("tables", "must be a list of table names")
    if "documents" not in tables:
        raise bad("tables", "must list the documents table")
    if "produced" in m and not (isinstance(m["produced"], dict) and all(
            isinstance(k, str) and k.count("|") == 2 and isinstance(v, int) for k, v in m["produced"].items())):
        raise bad("produced", "must map 'month|sector|channel' to a count")
    if not isinstance(m.get("timings", {}), dict):
        raise bad("timings", "must be an object")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def read_table(folder: Path, name: str, manifest: dict[str, Any]) -> pd.DataFrame:
    """One CSV of the folder, checked against its schema (known tables) or for shape (others)."""
    p = folder / f"{name}.csv"
    if not p.is_file():
        raise UsageError(f"{p}: table {name}.csv is missing; the folder is damaged, run it again")
    try:
        with p.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            if size:
                fh.seek(-1, 2)
                last = fh.read(1)
    except OSError as exc:
        raise UsageError(f"{p}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise UsageError(f"{p}: empty file; the folder is damaged, run it again")
    if last != b"\n":
        raise UsageError(f"{p}: truncated (the last line is incomplete); the folder is damaged, run it again")
    try:
        with p.open(encoding="utf-8") as fh:
            head = fh.readline().rstrip("\r\n").split(",")
        df = pd.read_csv(p, keep_default_na=False, dtype={c: str for c in TEXT_COLUMNS if c in head})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{p}: not a readable CSV table ({first}); the folder is damaged, run it again") from None
    schema = SCHEMAS.get(name)
    if schema is not None:
        _check_columns(df, schema, p, manifest)
    return df


def _check_columns(df: pd.DataFrame, schema: dict[str, str], p: Path, m: dict[str, Any]) -> None:
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise UsageError(f"{p}: missing column(s) {', '.join(missing)}; expected {', '.join(schema)}")
    allowed = {"month": set(m["months"]), "sector": set(m["sectors"]), "channel": set(CHANNELS),
               "outcome": set(_OUTCOME_NAMES)}
    for col, kind in schema.items():
        s = df[col]
        if kind in allowed:
            bad = ~s.isin(allowed[kind])
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise UsageError(f"{p}: line {i + 2}: {col} {s.iloc[i]!r} is not one of the run's "
                                 f"({', '.join(sorted(allowed[kind])[:6])}{'…' if len(allowed[kind]) > 6 else ''})")
        elif kind == "date":
            bad = ~s.astype(str).str.match(_DATE.pattern)
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise UsageError(f"{p}: line {i + 2}: {col} must be a date YYYY-MM-DD (got {s.iloc[i]!r})")
        elif kind == "bool":
            if s.dtype != bool:
                bad = ~s.astype(str).isin(["True", "False"])
                if bad.any():
                    i = int(bad.to_numpy().argmax())
                    raise UsageError(f"{p}: line {i + 2}: {col} must be True or False (got {s.iloc[i]!r})")
        elif kind in ("int", "number"):
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna() | ~num.abs().lt(math.inf) | (num < 0)
            if kind == "int":
                bad |= num.ne(num.round())
            if bad.any():
                i = int(bad.to_numpy().argmax())
                what = "a whole number ≥ 0" if kind == "int" else "a finite number ≥ 0"
                raise UsageError(f"{p}: line {i + 2}: {col} must be {what} (got {s.iloc[i]!r})")
        elif kind == "str" and s.eq("").any():
            i = int(s.eq("").to_numpy().argmax())
            raise UsageError(f"{p}: line {i + 2}: {col} is empty")


def _check_complete(tables: dict[str, pd.DataFrame], folder: Path, m: dict[str, Any]) -> None:
    """Tables that hold one row per month (and sector / state) must hold every one: a file cut
    at a line boundary is caught here rather than drawn as a drop to zero."""
    months = m["months"]
    ad = tables.get("adoption")
    if ad is not None and len(ad):
        got = ad.groupby("sector")["month"].nunique()
        short = got[got < len(months)]
        if len(short):
            raise UsageError(f"{folder / 'adoption.csv'}: sector {short.index[0]} has {int(short.iloc[0])} of the run's "
                             f"{len(months)} months; the file is truncated, run it again")
    pr = tables.get("profiles")
    if pr is not None and pr["month"].nunique() != len(months):
        raise UsageError(f"{folder / 'profiles.csv'}: {pr['month'].nunique()} of the run's {len(months)} months; "
                         "the file is truncated, run it again")
    daily = tables.get("dmp_daily")
    if daily is not None and len(daily) and str(daily["date"].iloc[-1])[:7] != months[-1]:
        raise UsageError(f"{folder / 'dmp_daily.csv'}: ends on {daily['date'].iloc[-1]}, before the run's last month "
                         f"{months[-1]}; the file is truncated, run it again")


def read_folder(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables and manifest of a results folder, every file checked (see the module's doc)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    tables = {name: read_table(folder, name, manifest) for name in manifest.get("tables", DEFAULT_TABLES)}
    _check_complete(tables, folder, manifest)
    return tables, manifest
