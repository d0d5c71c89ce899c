"""Compare two folders of recorded runs table by table (refactoring check: identical science).

Every CSV, NDJSON, JSON payload and text file under BEFORE is compared byte for byte with the
same path under AFTER; manifests are compared without their timings and version fields.
Prints one line per difference and a summary; exit 1 when anything differs.

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
            if _strip(json.loads(p.read_text())) != _strip(json.loads(q.read_text())):
                diffs.append(f"manifest differs: {rel}")
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
