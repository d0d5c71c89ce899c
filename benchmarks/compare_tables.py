"""Compare two folders of recorded runs table by table (refactoring check: identical science).

Every CSV, NDJSON, JSON payload and text file under BEFORE is compared byte for byte with the
same path under AFTER (text files with each tree's own folder name replaced, as a narration
prints where it writes); manifests are compared without their timings, and a difference names
the keys that differ (``scenario.sectors.gp.model: added``). Prints one line per difference
and a summary; exit 1 when anything differs.

    python benchmarks/compare_tables.py /tmp/r13-before /tmp/r13-after
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SKIP_SUFFIXES = {".html", ".png", ".svg", ".pdf"}
VOLATILE = {"timings", "version", "created", "git", "python", "platform", "host", "seconds"}


def _strip(obj: object) -> object:
    """A manifest without what changes from run to run (timings, seconds, version)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _keys(a: object, b: object, where: str = "") -> list[str]:
    """Paths of the keys that differ between two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in dict.fromkeys([*a, *b]):
            at = f"{where}.{k}" if where else str(k)
            if k not in a:
                out.append(f"{at}: added")
            elif k not in b:
                out.append(f"{at}: removed")
            else:
                out.extend(_keys(a[k], b[k], at))
        return out
    return [] if a == b else [f"{where}: changed"]


def _summarise(paths: list[str]) -> str:
    """Key paths with sector names folded (``scenario.sectors.*.model: added``)."""
    parts = []
    for p in paths:
        bits = p.split(".")
        if len(bits) > 2 and bits[:2] == ["scenario", "sectors"]:
            bits[2] = "*"
        parts.append(".".join(bits))
    return ", ".join(dict.fromkeys(parts))


def compare(before: Path, after: Path) -> list[str]:
    """Differences between the two trees, one line each."""
    diffs: list[str] = []
    files = sorted(p for p in before.rglob("*") if p.is_file() and p.suffix not in SKIP_SUFFIXES)
    for p in files:
        rel = p.relative_to(before)
        q = after / rel
        if not q.exists():
            diffs.append(f"missing after: {rel}")
            continue
        if p.name == "manifest.json":
            keys = _keys(_strip(json.loads(p.read_text())), _strip(json.loads(q.read_text())))
            if keys:
                diffs.append(f"manifest differs: {rel}: {_summarise(keys)}")
        elif p.suffix in (".stdout", ".txt"):
            if p.read_text().replace(str(before), "<folder>") != q.read_text().replace(str(after), "<folder>"):
                diffs.append(f"differs: {rel}")
        elif p.read_bytes() != q.read_bytes():
            diffs.append(f"differs: {rel}")
    for q in sorted(x for x in after.rglob("*") if x.is_file() and x.suffix not in SKIP_SUFFIXES):
        if not (before / q.relative_to(after)).exists():
            diffs.append(f"new after: {q.relative_to(after)}")
    print(f"{len(files)} files compared, {len(diffs)} differences")
    return diffs


def main() -> int:
    before, after = (Path(a) for a in sys.argv[1:3])
    diffs = compare(before, after)
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
