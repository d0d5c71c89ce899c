"""The checks read from vendored StructureDefinitions: each profile's cardinalities, fixed and
pattern values, extension slices and required bindings, and FHIR R4 core's required bindings.

``agents/fhir/guides/structure/*.json`` hold profiles compiled by
``agents.fhir.guides.compile`` (IHE MHD from its FHIR Shorthand source, the ANS guides from
their published snapshots) and ``fhir-r4-core.json`` the core bindings. A profile's checks,
its parents' included, are built once per canonical and cached (a hot path: every resource of
every payload meets them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from agents.fhir.guides import GUIDES_DIR
from agents.fhir.guides import profiles as fsh_profiles

STRUCTURE_DIR = GUIDES_DIR / "structure"
CORE_FILE = STRUCTURE_DIR / "fhir-r4-core.json"
MHD_BASE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"

CARDINALITY, FIXED, BINDING = "cardinality", "fixed", "binding"


@dataclass(frozen=True)
class Check:
    """One compiled check: its kind, the path it reads and what it expects."""

    kind: str  # CARDINALITY | FIXED | BINDING
    parents: tuple[str, ...]  # segments to the elements that hold the checked one
    last: str  # the checked element's name ("value[x]" matches any valueX)
    path: str  # dotted, for messages
    low: int = 0
    high: str = "*"
    url: str | None = None  # extension slice: the extension's url
    fixed: object = None
    pattern: object = None
    codes: frozenset[str] | None = None
    codings: frozenset[tuple[str, str]] | None = None
    value_set: str = ""
    profile: str = ""  # the profile's name, for messages
    most: int | None = None  # ``high`` as a number (None: unbounded)
    direct: bool = False  # a cardinality of a plain child of the resource (the hot path)


@cache
def compiled() -> dict[str, dict]:
    """Every vendored compiled profile by canonical URL."""
    found: dict[str, dict] = {}
    if STRUCTURE_DIR.is_dir():
        for path in sorted(STRUCTURE_DIR.glob("*.json")):
            if path == CORE_FILE:
                continue
            found.update(json.loads(path.read_text(encoding="utf-8"))["profiles"])
    return found


@cache
def _core() -> dict[str, list[dict]]:
    if not CORE_FILE.exists():
        return {}
    return json.loads(CORE_FILE.read_text(encoding="utf-8"))["bindings"]


def _segments(path: str) -> tuple[tuple[str, ...], str]:
    *parents, last = path.split(".")
    return tuple(parents), last


def _check(row: dict, name: str) -> Check:
    parents, last = _segments(row["path"])
    if "min" in row:
        high = str(row["max"])
        most = None if high == "*" else int(high)
        url = row.get("url")  # an extension slice: count the extensions with that url
        direct = not parents and url is None and not last.endswith("[x]")
        return Check(CARDINALITY, parents, last, row["path"], int(row["min"]), high, url=url, profile=name,
                     most=most, direct=direct)
    if "fixed" in row or "pattern" in row:
        return Check(FIXED, parents, last, row["path"], fixed=row.get("fixed"), pattern=row.get("pattern"),
                     profile=name)
    codes = frozenset(row["codes"]) if "codes" in row else None
    codings = frozenset((s, c) for s, c in row["codings"]) if "codings" in row else None
    return Check(BINDING, parents, last, row["path"], codes=codes, codings=codings,
                 value_set=row["valueSet"], profile=name)


def _chain(url: str) -> list[dict]:
    """The compiled profile and its parents, root first (PDSm profiles reach MHD's). IHE's
    canonicals are https; some implementations write them http (MHD 4.0 era tools)."""
    if url.startswith("http://profiles.ihe.net/"):
        url = "https" + url[4:]
    table = compiled()
    chain: list[dict] = []
    seen: set[str] = set()
    current: str | None = url
    while current and current not in seen:
        seen.add(current)
        prof = table.get(current)
        if prof is None:
            pdsm = fsh_profiles().get(current.rsplit("/", 1)[-1])
            if pdsm is None or pdsm.get("canonical") != current:
                break
            parent = pdsm.get("parent")
            current = MHD_BASE + parent if parent and "." in parent else None
            continue
        chain.append(prof)
        current = prof.get("parent")
    return list(reversed(chain))


@cache
def known(url: str) -> bool:
    """True when checks were compiled for the profile (or for the MHD profile it derives from)."""
    return bool(_chain(url))


@cache
def checks_for(url: str, declared: bool = True) -> tuple[Check, ...]:
    """The checks of a profile and its parents (``meta.profile`` rows only when declared: a
    profile applied by recognition cannot ask the resource to name it)."""
    out: list[Check] = []
    for prof in _chain(url):
        name = prof["url"].rsplit("/", 1)[-1]
        for row in prof["rules"]:
            if not declared and row["path"].startswith("meta.profile"):
                continue
            out.append(_check(row, name))
    return tuple(out)


@cache
def entry_profiles(url: str) -> dict[str, str]:
    """Resource type → the profile a provide bundle's entry slices give it (the nearest
    profile of the chain that names one)."""
    table = compiled()
    found: dict[str, str] = {}
    for prof in _chain(url):  # (http IHE canonicals are read as https)
        for entry_url in prof.get("entries", []):
            target = table.get(entry_url)
            if target is not None and target.get("type"):
                found[target["type"]] = entry_url
    return found


@cache
def core_checks(resource_type: str) -> tuple[Check, ...]:
    """FHIR R4 core's required bindings on a resource type's own elements."""
    return tuple(_check(row, "FHIR R4 " + resource_type) for row in _core().get(resource_type, ()))


def _children(node: object, seg: str, path: str = "") -> list[tuple[str, object]]:
    """(indexed path, value) of the elements named ``seg`` under ``node``."""
    if not isinstance(node, dict):
        return []
    if seg.endswith("[x]"):
        stem = seg[:-3]
        values = [(k, v) for k, v in node.items() if k.startswith(stem) and k[len(stem):len(stem) + 1].isupper()]
    else:
        value = node.get(seg)
        values = [] if value is None else [(seg, value)]
    out: list[tuple[str, object]] = []
    for key, v in values:
        if isinstance(v, list):
            out.extend((f"{path}.{key}[{i}]", item) for i, item in enumerate(v))
        else:
            out.append((f"{path}.{key}", v))
    return out


def _holders(resource: dict, parents: tuple[str, ...]) -> list[tuple[str, object]]:
    nodes: list[tuple[str, object]] = [("", resource)]
    for seg in parents:
        nxt: list[tuple[str, object]] = []
        for p, n in nodes:
            nxt.extend(_children(n, seg, p))
        nodes = nxt
        if not nodes:
            break
    return nodes


def matches_pattern(value: object, pattern: object) -> bool:
    """FHIR pattern[x] semantics: every element the pattern gives is in the value (a list
    pattern item matches some value item); a Coding pattern also matches a bare code."""
    if isinstance(pattern, dict):
        if isinstance(value, str):  # a system#code written on a code element
            codes = [c.get("code") for c in pattern.get("coding", []) if isinstance(c, dict)]
            return codes == [value] if codes else False
        if not isinstance(value, dict):
            return False
        return all(k in value and matches_pattern(value[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(matches_pattern(i, p) for i in items) for p in pattern)
    return value == pattern


def _describe(value: object) -> str:
    if isinstance(value, dict) and "coding" in value:
        return " ".join(f"{c.get('system', '')}#{c.get('code', '')}" for c in value["coding"] if isinstance(c, dict))
    if isinstance(value, dict) and "code" in value:
        return f"{value.get('system', '')}#{value.get('code', '')}"
    return json.dumps(value, ensure_ascii=False)[:80]


def _binding_problem(value: object, check: Check) -> str | None:
    if isinstance(value, str):
        if check.codes is not None and value not in check.codes:
            return f"code {value!r}"
        return None
    if not isinstance(value, dict) or check.codings is None:
        return None
    codings = value.get("coding") if "coding" in value else [value] if "code" in value else None
    if not isinstance(codings, list) or not codings:
        return None  # text only: nothing coded to judge
    pairs = [(c.get("system"), c.get("code")) for c in codings if isinstance(c, dict)]
    if any(p in check.codings for p in pairs):
        return None
    return " ".join(f"{s or ''}#{c or ''}" for s, c in pairs)


def _nodes(resource: dict, parents: tuple[str, ...]) -> list:
    """The elements at ``parents`` (no paths: the fast pass)."""
    nodes: list = [resource]
    for seg in parents:
        nxt: list = []
        for n in nodes:
            if type(n) is not dict:
                continue
            if seg.endswith("[x]"):
                nxt.extend(v for _, v in _children(n, seg))
                continue
            v = n.get(seg)
            if v is None:
                continue
            if type(v) is list:
                nxt.extend(v)
            else:
                nxt.append(v)
        if not nxt:
            return nxt
        nodes = nxt
    return nodes


def _values(node: object, seg: str) -> list:
    if type(node) is not dict:
        return []
    if seg.endswith("[x]"):
        return [v for _, v in _children(node, seg)]
    v = node.get(seg)
    if v is None:
        return []
    return v if type(v) is list else [v]


def _count(holder: object, last: str, url: str | None) -> int:
    if url is None and type(holder) is dict and not last.endswith("[x]"):
        v = holder.get(last)
        return 0 if v is None else len(v) if type(v) is list else 1
    values = _values(holder, last)
    if url is not None:
        values = [v for v in values if type(v) is dict and v.get("url") == url]
    return len(values)


def _passes(resource: dict, check: Check, cache: dict) -> bool:
    """True when the check holds everywhere (the fast pass; failures are then described).
    ``cache`` keeps the elements at each parent path for the checks that share it."""
    if check.parents:
        holders = cache.get(check.parents)
        if holders is None:
            holders = cache[check.parents] = _nodes(resource, check.parents)
    else:
        holders = (resource,)
    if check.kind == CARDINALITY:
        low, high, last, url = check.low, check.most, check.last, check.url
        for holder in holders:
            n = _count(holder, last, url)
            if n < low or (high is not None and n > high):
                return False
        return True
    for holder in holders:
        for value in _values(holder, check.last):
            if check.kind == FIXED:
                if check.fixed is not None and value != check.fixed:
                    return False
                if check.pattern is not None and not matches_pattern(value, check.pattern):
                    return False
            elif _binding_problem(value, check) is not None:
                return False
    return True


def run(resource: dict, checks: tuple[Check, ...]) -> Iterator[tuple[str, str, str]]:
    """(kind, path suffix, message) of each failed check on ``resource``."""
    cache: dict[tuple[str, ...], list] = {}
    for check in checks:
        if check.direct:  # inlined: most checks are a plain child's cardinality
            v = resource.get(check.last)
            n = 0 if v is None else len(v) if type(v) is list else 1
            if n >= check.low and (check.most is None or n <= check.most):
                continue
        elif _passes(resource, check, cache):
            continue
        holders = _holders(resource, check.parents)
        if not holders:
            continue
        if check.kind == CARDINALITY:
            yield from _cardinality_failures(check, holders)
        else:
            yield from _value_failures(check, holders)


def _cardinality_failures(check: Check, holders: list) -> Iterator[tuple[str, str, str]]:
    """A cardinality check's failures: too few or too many of the element in each holder."""
    for where, holder in holders:
        values = [v for _, v in _children(holder, check.last)]
        if check.url is not None:
            values = [v for v in values if isinstance(v, dict) and v.get("url") == check.url]
        count = len(values)
        what = f"extension {check.url}" if check.url else check.path
        if count < check.low:
            yield CARDINALITY, f"{where}.{check.last}", (
                f"{check.profile} requires {what} ({check.low}..{check.high}); found {count}")
        elif check.high != "*" and count > int(check.high):
            verb = "forbids" if check.high == "0" else "allows at most " + check.high + " of"
            yield CARDINALITY, f"{where}.{check.last}", (
                f"{check.profile} {verb} {what} ({check.low}..{check.high}); found {count}")


def _value_failures(check: Check, holders: list) -> Iterator[tuple[str, str, str]]:
    """A fixed value, pattern or required binding check's failures, value by value."""
    for where_holder, holder in holders:
        for where, value in _children(holder, check.last, where_holder):
            if check.kind == FIXED:
                if check.fixed is not None and value != check.fixed and not (
                    isinstance(check.fixed, str) and isinstance(value, str) and value == check.fixed
                ):
                    yield FIXED, where, (
                        f"{check.profile} fixes {check.path} to {_describe(check.fixed)}; found {_describe(value)}")
                elif check.pattern is not None and not matches_pattern(value, check.pattern):
                    yield FIXED, where, (
                        f"{check.profile} requires {check.path} to be {_describe(check.pattern)}; "
                        f"found {_describe(value)}")
            else:
                problem = _binding_problem(value, check)
                if problem is not None:
                    yield BINDING, where, (
                        f"{check.path} {problem} is not in the value set {check.value_set} "
                        f"(required binding of {check.profile})")

__all__ = ["Check", "checks_for", "compiled", "core_checks", "entry_profiles", "known", "matches_pattern", "run"]
