"""Write scenario data (nested dicts as read by the loader) back as a TOML file.

Used by calibration to write a complete calibrated scenario: the standard library reads TOML
but does not write it, and the scenario format needs only tables, arrays of tables, strings,
numbers, booleans, dates and flat lists. ``notes`` puts a comment after chosen values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")

# notes: {(id(container), key or list index): comment}
Notes = dict[tuple[int, Any], str]


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _emit(table: dict[str, Any], path: list[str], notes: Notes, out: list[str]) -> None:
    for k, v in table.items():
        if isinstance(v, dict) or _is_table_array(v):
            continue
        line = f"{_key(k)} = {_value(v)}"
        comments = [notes[(id(table), k)]] if (id(table), k) in notes else []
        if isinstance(v, list):
            comments += [f"[{i}]: {notes[(id(v), i)]}" for i in range(len(v)) if (id(v), i) in notes]
        out.append(line + (f"  # {'; '.join(comments)}" if comments else ""))
    for k, v in table.items():
        if isinstance(v, dict):
            sub = [*path, _key(k)]
            out.append("")
            out.append(f"[{'.'.join(sub)}]")
            _emit(v, sub, notes, out)
    for k, v in table.items():
        if _is_table_array(v):
            sub = [*path, _key(k)]
            for item in v:
                out.append("")
                out.append(f"[[{'.'.join(sub)}]]")
                _emit(item, sub, notes, out)


def dump_scenario(data: dict[str, Any], header: str = "", notes: Notes | None = None) -> str:
    """TOML text of ``data``; ``header`` lines become leading comments."""
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    if out:
        out.append("")
    _emit(data, [], notes or {}, out)
    return "\n".join(out).strip("\n") + "\n"
