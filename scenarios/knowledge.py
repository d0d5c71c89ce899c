"""Dated knowledge: when each shipped value, prior range, campaign and switch became known.

The registry (``data/knowledge.csv``) has one row per id: a dotted scenario path (it covers the
whole subtree under it; the longest id wins), ``prior:<path>`` for the prior range of a
calibrated parameter, or ``list[label start]`` for an item of a list of tables (campaigns,
interventions). Each row carries its [V]/[I] ``mark``, ``source``, ``known_since`` (the date
its source was published), ``set_on`` and ``rests_on`` (for an [I]: when it was set and on
what), and what to use before ``known_since``: ``before`` (the documented earlier default; "="
when no earlier figure exists — the value stands and a backtest lists it as read after its
cut-off) and ``before_prior`` ("low;high", a prior wide enough to cover the later value).

``at_cutoff`` gives the scenario a backtest at date D may use; ``later_values`` is the check
that nothing known after D is read.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.core.errors import UsageError

KNOWLEDGE_CSV = Path(__file__).resolve().parent / "data" / "knowledge.csv"
COLUMNS = ["id", "kind", "mark", "source", "known_since", "set_on", "rests_on", "before", "before_prior"]
KINDS = {"setting", "value", "parameter", "prior", "campaign", "switch", "structure"}
KEEP = "="  # ``before``: no earlier figure; the value stands (listed by a backtest)
_ITEM = re.compile(r"^(?P<list>[^\[\]]+)\[(?P<sel>.+)\]$")


@dataclass
class Entry:
    """One row of the registry."""

    id: str
    kind: str
    mark: str
    source: str
    known_since: dt.date
    set_on: dt.date | None
    rests_on: str
    before: str
    before_prior: tuple[str, str] | None
    line: int = 0

    @property
    def is_prior(self) -> bool:
        return self.id.startswith("prior:")

    @property
    def path(self) -> str:
        return self.id.removeprefix("prior:")


def _date(path: Path, line: int, col: str, text: str, required: bool) -> dt.date | None:
    if not text and not required:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{path}: line {line}: {col} must be a date YYYY-MM-DD (got {text!r})") from None


def load_knowledge(path: str | Path = KNOWLEDGE_CSV) -> list[Entry]:
    """Read and check the registry; any problem is one UsageError naming the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: knowledge registry not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    out: list[Entry] = []
    seen: set[str] = set()
    for line, rec in enumerate(reader, start=2):
        rec = {k: (v or "").strip() for k, v in rec.items() if k}
        if rec["kind"] not in KINDS:
            raise UsageError(f"{path}: line {line}: kind must be one of {', '.join(sorted(KINDS))} (got {rec['kind']!r})")
        if rec["mark"] not in ("V", "I"):
            raise UsageError(f"{path}: line {line}: mark must be V or I (got {rec['mark']!r})")
        if not rec["id"] or rec["id"] in seen:
            raise UsageError(f"{path}: line {line}: id {rec['id']!r} is empty or repeated")
        seen.add(rec["id"])
        if not rec["source"]:
            raise UsageError(f"{path}: line {line}: source must not be empty")
        prior = None
        if rec["before_prior"]:
            parts = rec["before_prior"].split(";")
            if len(parts) != 2:
                raise UsageError(f"{path}: line {line}: before_prior must be 'low;high' (got {rec['before_prior']!r})")
            prior = (parts[0].strip(), parts[1].strip())
        if rec["id"].startswith("prior:") and rec["kind"] != "prior":
            raise UsageError(f"{path}: line {line}: an id 'prior:…' must have kind prior")
        e = Entry(rec["id"], rec["kind"], rec["mark"], rec["source"],
                  _date(path, line, "known_since", rec["known_since"], True),
                  _date(path, line, "set_on", rec["set_on"], rec["mark"] == "I"),
                  rec["rests_on"], rec["before"], prior, line)
        if e.mark == "I" and not e.rests_on:
            raise UsageError(f"{path}: line {line}: an [I] entry needs rests_on (what it rests on)")
        out.append(e)
    return out


# -- paths of a scenario --------------------------------------------------------------------
def _item_label(item: Any, i: int) -> str:
    return str(item.get("label", i)) if isinstance(item, dict) else str(i)


def leaves(data: dict[str, Any]) -> dict[str, Any]:
    """Every value of raw scenario data by path (items of a list of tables as ``list[label]``)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
            for i, item in enumerate(node):
                walk(item, f"{prefix}[{_item_label(item, i)}]")
        else:
            out[prefix] = node

    walk(data, "")
    return out


def _covers(entry_path: str, path: str) -> bool:
    """Does an id cover a path (itself, its subtree, or an item whose label starts with the selector)?"""
    e, p = _split(entry_path), _split(path)
    if len(e) > len(p):
        return False
    for a, b in zip(e, p, strict=False):
        ma, mb = _ITEM.match(a), _ITEM.match(b)
        if ma and mb:
            if ma["list"] != mb["list"] or not mb["sel"].startswith(ma["sel"]):
                return False
        elif a != b:
            return False
    return True


@functools.lru_cache(maxsize=8192)
def _split(path: str) -> tuple[str, ...]:
    """Dotted parts, keeping a ``[label]`` (which may hold dots) with its list name."""
    parts, buf, depth = [], "", 0
    for ch in path:
        depth += (ch == "[") - (ch == "]")
        if ch == "." and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    return tuple(parts)


def entry_for(path: str, entries: list[Entry], prior: bool = False) -> Entry | None:
    """The most specific entry covering ``path`` (``prior``: the entry of its prior range)."""
    hits = [e for e in entries if e.is_prior == prior and _covers(e.path, path)]
    return max(hits, key=lambda e: len(_split(e.path))) if hits else None


def uncovered(data: dict[str, Any], entries: list[Entry], calibrated: list[str]) -> list[str]:
    """Paths with no entry: every value of the scenario needs one (a subtree's entry covers it);
    a calibrated parameter needs its own entry and a ``prior:`` entry; a campaign item, an
    intervention and a switch (a true/false value) need an entry of their own."""
    missing = []
    vals = leaves(data)
    for p, v in vals.items():
        e = entry_for(p, entries)
        if e is None:
            missing.append(p)
        elif isinstance(v, bool) and e.path != p:
            missing.append(p + " (a switch needs its own entry)")
    for p in vals:
        head = _split(p)[0:2]
        for k, part in enumerate(head):
            m = _ITEM.match(part)
            if m:
                item = ".".join(head[:k + 1])
                own = [e for e in entries if not e.is_prior and _ITEM.match(_split(e.path)[-1])
                       and _covers(e.path, item) and len(_split(e.path)) == k + 1]
                if not own and f"{item} (a campaign or intervention needs its own entry)" not in missing:
                    missing.append(f"{item} (a campaign or intervention needs its own entry)")
    for key in calibrated:
        path = scenario_path(data, key)
        e = entry_for(path, entries)
        if e is None or e.path != path or e.kind != "parameter":
            missing.append(f"{path} (a calibrated parameter needs its own entry of kind parameter)")
        pe = entry_for(path, entries, prior=True)
        if pe is None or pe.path != path:
            missing.append(f"prior:{path} (the prior range of a calibrated parameter)")
    return missing


def scenario_path(data: dict[str, Any], key: str) -> str:
    """A calibration key (``interventions.1.ceiling``, ``sectors.gp.seasonal.7``) as a registry path."""
    parts = key.split(".")
    node: Any = data
    out: list[str] = []
    for part in parts:
        if isinstance(node, list) and part.isdigit():
            item = node[int(part)]
            if isinstance(item, dict):
                out[-1] = f"{out[-1]}[{_item_label(item, int(part))}]"
            else:
                out.append(part)
            node = item
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)


def calibration_key(data: dict[str, Any], path: str) -> str:
    """A registry path (``profiles.campaigns[2024 national campaigns].activation_factor``) as a
    calibration key with list indices (``profiles.campaigns.0.activation_factor``)."""
    out: list[str] = []
    node: Any = data
    for part in _split(path):
        m = _ITEM.match(part)
        if m:
            lst = node[m["list"]]
            idx = next(i for i, it in enumerate(lst) if _item_label(it, i).startswith(m["sel"]))
            out += [m["list"], str(idx)]
            node = lst[idx]
        else:
            out.append(part)
            node = node[part] if isinstance(node, dict) else node[int(part)]
    return ".".join(out)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = calibration_key(data, path).split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def typed(text: str, like: Any) -> Any:
    """A registry text as a value of the type of ``like`` (a date, an integer or a number)."""
    if isinstance(like, dt.date):
        return dt.date.fromisoformat(text)
    if isinstance(like, bool):
        return text.lower() in ("true", "1", "yes")
    if isinstance(like, int):
        return int(round(float(text)))
    return float(text)


# -- what is known at a date ----------------------------------------------------------------
@dataclass
class KnownAt:
    """A scenario restricted to what was known at ``cutoff``, and what changed."""

    cutoff: dt.date
    data: dict[str, Any]
    reverted: list[tuple[str, Any, Any]] = field(default_factory=list)  # (path, later value, value used)
    priors: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # path → prior range used at the cut-off
    kept: list[str] = field(default_factory=list)  # later values kept for lack of an earlier figure
    structure: list[str] = field(default_factory=list)  # mechanisms added after the cut-off (allowed)
    refitted: list[str] = field(default_factory=list)  # calibrated parameters: drawn from their prior at the cut-off

    def lines(self) -> list[str]:
        """What a backtest prints about it."""
        d = self.cutoff
        out = []
        reverted = [r for r in self.reverted if r[0] not in self.refitted]
        if reverted:
            out.append(f"values known after {d}, reverted to their earlier default: " + "; ".join(
                f"{p} {_show(a)} → {_show(b)}" + (f" (fitted, prior {_show(self.priors[p][0])}–{_show(self.priors[p][1])})"
                                                   if p in self.priors else "") for p, a, b in reverted))
        if self.refitted:
            out.append(f"calibrated parameters refitted on the rows to {d} (their shipped posterior medians unread): "
                       f"{len(self.refitted)}")
        widened = [p for p in self.priors if p not in {r[0] for r in reverted}]
        if widened:
            out.append(f"prior ranges set after {d}, widened to their earlier range: " + "; ".join(
                f"{p} {_show(self.priors[p][0])}–{_show(self.priors[p][1])}" for p in widened))
        if self.kept:
            out.append(f"values known after {d} kept (no earlier figure documented): " + ", ".join(self.kept))
        out.append(f"structure added after {d}: " + (", ".join(self.structure) if self.structure else "none"))
        return out


def _show(v: Any) -> str:
    return v.isoformat() if isinstance(v, dt.date) else f"{v:g}" if isinstance(v, float) else str(v)


def at_cutoff(data: dict[str, Any], entries: list[Entry], cutoff: dt.date,
              calibrated: list[str] | None = None) -> KnownAt:
    """The raw scenario a backtest at ``cutoff`` may use: each value whose entry is dated after the
    cut-off takes its ``before`` default (and its ``before_prior`` when given: the backtest fits
    it); the prior of a calibrated parameter dated after the cut-off takes its ``before_prior``;
    mechanisms (kind structure) dated after it stay and are listed."""
    out = KnownAt(cutoff, copy.deepcopy(data))
    vals = leaves(data)
    owner = {p: entry_for(p, entries) for p in vals}
    later = [e for e in entries if e.known_since > cutoff]
    for e in later:
        if e.kind == "structure":
            out.structure.append(f"{e.path} (known {e.known_since})")
    cal_paths = [scenario_path(data, k) for k in (calibrated or [])]
    out.refitted = [p for p in cal_paths if (e := entry_for(p, entries)) is not None and e.known_since > cutoff]
    for e in later:
        if e.is_prior:
            if e.before_prior is None:
                raise UsageError(f"{KNOWLEDGE_CSV.name}: line {e.line}: {e.id} is dated {e.known_since}, after "
                                 f"{cutoff}: it needs a before_prior")
            if e.path in vals:
                like = vals[e.path]
                out.priors[e.path] = (typed(e.before_prior[0], like), typed(e.before_prior[1], like))
            continue
        if e.kind in ("setting", "structure"):
            continue
        covered = [p for p in vals if owner[p] is e]
        for p in covered:
            if e.before in ("", KEEP):  # no earlier default documented: the value stands, listed
                if p not in cal_paths and e.path == p:
                    out.kept.append(p)
                continue
            like = vals[p]
            new = typed(e.before, like)
            _set(out.data, p, new)
            out.reverted.append((p, like, new))
            if e.before_prior is not None:
                out.priors[p] = (typed(e.before_prior[0], like), typed(e.before_prior[1], like))
        if e.before in ("", KEEP) and e.path not in vals and covered:
            out.kept.append(f"{e.path}.* (known {e.known_since})")
    return out


def later_values(data: dict[str, Any], entries: list[Entry], cutoff: dt.date,
                 fitted: list[str] | None = None) -> list[str]:
    """The check that a backtest at ``cutoff`` reads nothing known after it: every path whose
    value differs from its entry's documented earlier default although the entry is dated after
    the cut-off (values the backtest fits, ``fitted``, are drawn from their prior, not read)."""
    bad = []
    fitted_paths = {scenario_path(data, k) for k in (fitted or [])}
    for p, v in leaves(data).items():
        e = entry_for(p, entries)
        if e is None or e.known_since <= cutoff or e.kind in ("setting", "structure") or e.before in ("", KEEP):
            continue
        if p in fitted_paths:
            continue
        if v != typed(e.before, v):
            bad.append(f"{p} = {_show(v)} (known {e.known_since}; before it: {e.before})")
    return bad


__all__ = ["Entry", "KnownAt", "load_knowledge", "leaves", "entry_for", "uncovered", "at_cutoff", "later_values",
           "calibration_key", "scenario_path", "typed", "KNOWLEDGE_CSV", "KEEP"]
