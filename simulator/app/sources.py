"""Where a scenario value comes from: the comment written beside it in the TOML files.

The shipped scenarios write ``key = value   # unit · source`` on each line; the page shows that
source next to the lever. A scenario that ``extends`` another is searched first, then its base.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_ARRAY = re.compile(r"^\s*\[\[")
_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_.\-]+)\"?\s*=\s*[^#]*#\s*(.*)$")


@lru_cache(maxsize=64)
def _comments(path: Path) -> dict[str, str]:
    """Dotted key → the comment after its value, for every ``key = value  # …`` line of a file."""
    out: dict[str, str] = {}
    table = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if _ARRAY.match(line):
            table = "\0"  # inside an array of tables: keys are not addressable by a dotted path
            continue
        m = _HEADER.match(line)
        if m:
            table = m.group(1).strip().replace('"', "")
            continue
        m = _KEY.match(line)
        if m and table != "\0":
            key = f"{table}.{m.group(1)}" if table else m.group(1)
            out[key] = m.group(2).strip()
    return out


def _chain(path: Path) -> list[Path]:
    """The file and the files it extends, nearest first."""
    out = []
    seen = set()
    while path is not None and path not in seen and path.exists():
        seen.add(path)
        out.append(path)
        with path.open("rb") as fh:
            ext = tomllib.load(fh).get("extends")
        path = (path.parent / ext).resolve() if ext else None
    return out


def source_of(path: Path, dotted: str) -> str:
    """The source written beside ``dotted`` in the scenario file (after the unit and '·'), or ''."""
    for p in _chain(Path(path).resolve()):
        comment = _comments(p).get(dotted)
        if comment is not None:
            return comment.split("·", 1)[1].strip() if "·" in comment else comment
    return ""
