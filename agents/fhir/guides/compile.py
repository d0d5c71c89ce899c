"""Reduce StructureDefinitions (or their FHIR Shorthand source) to the checks the validator runs.

A compiled profile is a plain JSON object the rules read at run time (``agents.fhir.structure``)::

    {"url": canonical, "type": "List", "parent": canonical | null, "rules": [
        {"path": "mode", "min": 1, "max": "1"},                      # cardinality
        {"path": "mode", "fixed": "working"},                       # fixed[x] (exact value)
        {"path": "code", "pattern": {...}},                         # pattern[x] (value contains it)
        {"path": "status", "valueSet": url, "codes": ["current"]},  # required binding, code
        {"path": "type", "valueSet": url, "codings": [[system, code]]},  # required, Coding/CC
        {"path": "extension", "url": ext, "min": 1, "max": "1"}     # extension slice
    ]}

Paths are relative to the resource (``content.attachment.url``; ``value[x]`` matches any
``valueX``). Elements inside other slices than extension slices are left out (their
discriminators are not evaluated), so nothing is checked that the profile does not require of
every instance. Required bindings are kept only when the value set can be expanded from the
vendored definitions (enumerated concepts, or whole code systems that are at hand).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CHECKED_TYPES = frozenset({"code", "Coding", "CodeableConcept"})


class ValueSets:
    """Value sets and code systems by canonical URL, expanded on demand (None: not expandable)."""

    def __init__(self, resources: Iterable[Mapping]):
        self.value_sets: dict[str, Mapping] = {}
        self.code_systems: dict[str, Mapping] = {}
        for r in resources:
            url = r.get("url")
            if not isinstance(url, str):
                continue
            if r.get("resourceType") == "ValueSet":
                self.value_sets.setdefault(url, r)
            elif r.get("resourceType") == "CodeSystem":
                self.code_systems.setdefault(url, r)
        self._cache: dict[str, frozenset[tuple[str, str]] | None] = {}

    def _system_codes(self, system: str) -> set[tuple[str, str]] | None:
        cs = self.code_systems.get(system)
        if cs is None or cs.get("content") not in (None, "complete"):
            return None
        found: set[tuple[str, str]] = set()
        stack = list(cs.get("concept", []))
        while stack:
            c = stack.pop()
            if isinstance(c.get("code"), str):
                found.add((system, c["code"]))
            stack.extend(c.get("concept", []))
        return found or None

    def _part(self, part: Mapping, depth: int) -> set[tuple[str, str]] | None:
        if part.get("filter"):
            return None
        system = part.get("system")
        codes: set[tuple[str, str]] | None = None
        if system:
            if part.get("concept"):
                codes = {(system, c["code"]) for c in part["concept"] if isinstance(c.get("code"), str)}
            else:
                codes = self._system_codes(system)
                if codes is None:
                    return None
        for vs in part.get("valueSet", []):
            sub = self.expand(vs.split("|", 1)[0], depth + 1)
            if sub is None:
                return None
            codes = set(sub) if codes is None else codes & sub
        return codes

    def expand(self, url: str, depth: int = 0) -> frozenset[tuple[str, str]] | None:
        """Every (system, code) of the value set, or None when it cannot be enumerated here."""
        url = url.split("|", 1)[0]
        if url in self._cache:
            return self._cache[url]
        self._cache[url] = None  # cycles expand to None
        vs = self.value_sets.get(url)
        result: frozenset[tuple[str, str]] | None = None
        if vs is not None and depth < 8:
            compose = vs.get("compose") or {}
            codes: set[tuple[str, str]] | None = set()
            for part in compose.get("include", []):
                got = self._part(part, depth)
                if got is None:
                    codes = None
                    break
                codes |= got
            if codes is not None:
                for part in compose.get("exclude", []):
                    got = self._part(part, depth)
                    if got is None:
                        codes = None
                        break
                    codes -= got
            if codes is None and "expansion" in vs and "total" in vs["expansion"]:
                contains = vs["expansion"].get("contains", [])
                if len(contains) == vs["expansion"]["total"]:
                    codes = {(c.get("system"), c.get("code")) for c in contains}
            if codes:
                result = frozenset(codes)
        self._cache[url] = result
        return result


def _relative(path: str) -> str:
    return path.split(".", 1)[1] if "." in path else ""


def _binding_rule(path: str, types: list[str], url: str, value_sets: ValueSets) -> dict | None:
    if not set(types) <= CHECKED_TYPES or not types:
        return None
    codes = value_sets.expand(url)
    if codes is None:
        return None
    if types == ["code"]:
        return {"path": path, "valueSet": url, "codes": sorted({c for _, c in codes})}
    return {"path": path, "valueSet": url, "codings": sorted([list(c) for c in codes])}


def _fixed(element: Mapping) -> tuple[str, object] | None:
    for key, value in element.items():
        if key.startswith("fixed") and key[5:6].isupper():
            return "fixed", value
        if key.startswith("pattern") and key[7:8].isupper():
            return "pattern", value
    return None


def compile_structure_definition(
    sd: Mapping, value_sets: ValueSets, base_bindings: Mapping[str, str] | None = None
) -> dict:
    """The checks of one StructureDefinition, read from its snapshot.

    ``base_bindings`` (path → value set) are the core resource's required bindings: a profile
    binding to the same value set adds nothing and is left to the core check.
    """
    rules: list[dict] = []
    skip_under: list[str] = []
    base_bindings = base_bindings or {}
    for el in sd.get("snapshot", {}).get("element", []):
        eid: str = el.get("id", el.get("path", ""))
        if any(eid == s or eid.startswith(s + ".") or eid.startswith(s + ":") for s in skip_under):
            continue
        path = _relative(el.get("path", ""))
        if not path:
            continue
        last = eid.rsplit(".", 1)[-1]
        if ":" in eid:
            # a slice: only extension slices (by url) are checked, and nothing beneath any slice
            head, _, slice_name = last.partition(":")
            before = eid.rsplit(".", 1)[0]
            if ":" not in before.split(".", 1)[-1] and head in ("extension", "modifierExtension") and slice_name:
                profiles = [p for t in el.get("type", []) for p in t.get("profile", [])]
                if len(profiles) == 1:
                    rules.append({"path": path, "url": profiles[0], "min": int(el.get("min", 0)),
                                  "max": str(el.get("max", "*"))})
            skip_under.append(eid)
            continue
        low, high = int(el.get("min", 0)), str(el.get("max", "*"))
        if low >= 1 or high == "0":
            if not path.endswith(("extension", "modifierExtension")) or low >= 1 or high == "0":
                rules.append({"path": path, "min": low, "max": high})
        fixed = _fixed(el)
        if fixed is not None:
            rules.append({"path": path, fixed[0]: fixed[1]})
        binding = el.get("binding") or {}
        if binding.get("strength") == "required" and binding.get("valueSet"):
            url = binding["valueSet"].split("|", 1)[0]
            if base_bindings.get(path) != url:
                found = _binding_rule(path, [t.get("code") for t in el.get("type", [])], url, value_sets)
                if found is not None:
                    rules.append(found)
    return {"url": sd["url"], "type": sd.get("type"), "parent": None, "rules": _dedupe(rules)}


def _dedupe(rules: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rules:
        if "url" in r and r["min"] == 0 and r["max"] == "*":
            continue  # an optional, repeatable extension: nothing to check
        key = repr(sorted(r.items()))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def core_required_bindings(resource_definitions: Iterable[Mapping], value_sets: ValueSets) -> dict[str, list[dict]]:
    """Per resource type, the required bindings of its own elements (FHIR R4 core) that can be
    enumerated: the checks every resource gets whatever profile it declares."""
    out: dict[str, list[dict]] = {}
    for sd in resource_definitions:
        if sd.get("kind") != "resource" or sd.get("derivation") != "specialization":
            continue
        rules = []
        for el in sd.get("snapshot", {}).get("element", []):
            binding = el.get("binding") or {}
            path = _relative(el.get("path", ""))
            if binding.get("strength") != "required" or not binding.get("valueSet") or not path:
                continue
            if "[x]" in path:
                continue
            found = _binding_rule(path, [t.get("code") for t in el.get("type", [])],
                                  binding["valueSet"].split("|", 1)[0], value_sets)
            if found is not None:
                rules.append(found)
        if rules:
            out[sd["type"]] = rules
    return out


# --- FHIR Shorthand (IHE MHD: the guide's source holds no StructureDefinition JSON) -------------

_HEADER = re.compile(r"^(Profile|Parent|Id|Extension|Instance|ValueSet|CodeSystem|Invariant|Mapping|RuleSet|Logical|Alias)\s*:\s*(.*)$")
_RULE = re.compile(r"^\*\s+(?P<path>[A-Za-z][\w.\[\]\-:]*)\s+(?P<rest>.*)$")
_CARD = re.compile(r"^(?P<min>\d+)?\.\.(?P<max>\d+|\*)?(?:\s|$)")
_CONTAINS = re.compile(r"^contains\s+(?P<ext>[\w.\-]+)\s+named\s+(?P<name>[\w\-]+)\s+(?P<min>\d+)\.\.(?P<max>\d+|\*)")
_CODE = re.compile(r"^(?P<system>[\w.:/\-]*)#(?P<code>[\w.\-]+|\"[^\"]+\")")


def parse_fsh(text: str) -> dict[str, dict]:
    """Profiles, extensions, value sets, code systems and aliases of one FSH file, by kind."""
    out: dict[str, dict] = {"Profile": {}, "Extension": {}, "ValueSet": {}, "CodeSystem": {}, "Alias": {}}
    current: dict | None = None
    for raw in text.splitlines():
        line = raw.split(" //")[0].rstrip()
        if line.startswith("//"):
            continue
        head = _HEADER.match(line)
        if head:
            kind, value = head[1], head[2].strip()
            if kind == "Alias":
                name, _, url = value.partition("=")
                out["Alias"][name.strip()] = url.strip()
                current = None
            elif kind in ("Profile", "Extension", "ValueSet", "CodeSystem"):
                current = {"kind": kind, "name": value, "rules": []}
                out[kind][value] = current
            elif kind in ("Parent", "Id") and current is not None:
                current[kind.lower()] = value
            else:
                current = None
            continue
        if current is not None and line.startswith("*"):
            current["rules"].append(line)
        elif current is not None and current["rules"] and line[:1].isspace() and line.strip():
            current["rules"][-1] += " " + line.strip()  # a rule continued on the next line
    return out


def _resolve_code(token: str, aliases: Mapping[str, str], systems: Mapping[str, str]) -> tuple[str, str] | None:
    m = _CODE.match(token)
    if not m:
        return None
    system = m["system"]
    system = aliases.get(system, systems.get(system, system))
    return system, m["code"].strip('"')


@dataclass
class _Guide:
    """What a guide's FSH sources define, by name, id and url (what a profile's rules resolve)."""

    canonical: str
    aliases: dict[str, str]
    profiles: dict[str, dict]
    extensions: dict[str, dict]
    value_sets: dict[str, dict]
    code_systems: dict[str, dict]
    by_id: dict[str, dict] = field(default_factory=dict)
    cs_urls: dict[str, str] = field(default_factory=dict)
    ext_urls: dict[str, str] = field(default_factory=dict)
    vs_codes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def url_of(self, kind: str, item: dict) -> str:
        return f"{self.canonical}/{kind}/{item.get('id', item['name'])}"

    def index(self) -> None:
        """The urls of code systems and extensions, the codes of enumerated value sets."""
        self.cs_urls.update({name: self.url_of("CodeSystem", cs) for name, cs in self.code_systems.items()})
        for cs in self.code_systems.values():
            self.cs_urls[cs.get("id", cs["name"])] = self.url_of("CodeSystem", cs)
        for name, ext in self.extensions.items():
            self.ext_urls[name] = self.ext_urls[ext.get("id", name)] = self.url_of("StructureDefinition", ext)
        for name, vs in self.value_sets.items():
            codes = self._enumerated(vs)
            if codes:
                self.vs_codes[name] = self.vs_codes[vs.get("id", name)] = self.vs_codes[self.url_of("ValueSet", vs)] = codes
        self.by_id = {p.get("id", n): p for n, p in self.profiles.items()}

    def _enumerated(self, vs: dict) -> list[tuple[str, str]]:
        """A value set's codes when its rules enumerate them (else none)."""
        codes = []
        for rule in vs["rules"]:
            if rule[1:].strip().startswith("^"):
                continue  # metadata (^experimental…), not content
            got = _resolve_code(rule[1:].strip(), self.aliases, self.cs_urls)
            if got is None:
                return []
            codes.append(got)
        return codes


def compile_fsh(texts: Iterable[str], canonical: str) -> dict[str, dict]:
    """Compiled profiles (by canonical) of a guide's FSH sources, parents by canonical.

    Read: cardinalities, ``= value`` fixed codes and patterns, extension slices
    (``extension contains X named n 1..1``) and ``from VS (required)`` bindings whose value set
    the same sources enumerate; rules on other slices (``identifier[uniqueId]``…) are left out.
    """
    g = _Guide(canonical, {}, {}, {}, {}, {})
    for p in (parse_fsh(t) for t in texts):
        g.aliases.update(p["Alias"])
        g.profiles.update(p["Profile"])
        g.extensions.update(p["Extension"])
        g.value_sets.update(p["ValueSet"])
        g.code_systems.update(p["CodeSystem"])
    g.index()
    out: dict[str, dict] = {}
    for prof in g.by_id.values():
        rules = [r for line in prof["rules"] for r in _profile_rule(prof, line, g)]
        parent = prof.get("parent", "")
        parent_url = g.url_of("StructureDefinition", g.by_id[parent]) if parent in g.by_id else None
        if parent_url is None:
            named = next((p for p in g.by_id.values() if p["name"] == parent), None)
            parent_url = g.url_of("StructureDefinition", named) if named else None
        out[g.url_of("StructureDefinition", prof)] = {
            "url": g.url_of("StructureDefinition", prof),
            "type": None if parent_url else parent,
            "parent": parent_url,
            "rules": _dedupe(rules),
            "entries": [g.url_of("StructureDefinition", g.by_id[e]) for e in prof.get("entries", []) if e in g.by_id],
        }
    for item in out.values():  # the resource type is the root parent's
        node, seen = item, set()
        while node.get("parent") and node["parent"] in out and node["parent"] not in seen:
            seen.add(node["parent"])
            node = out[node["parent"]]
        item["type"] = node.get("type")
    return out


def _profile_rule(prof: dict, line: str, g: _Guide) -> list[dict]:
    """The compiled rule of one FSH rule line of ``prof`` (none for what is left out; an
    ``entry[x].resource only Y`` line is noted in the profile's entries)."""
    m = _RULE.match(line)
    if not m:
        return []
    path, rest = m["path"], m["rest"].strip()
    if path.startswith("^") or rest.startswith("^") or path.endswith("."):
        return []
    only = re.fullmatch(r"entry\[(?P<slice>\w+)\]\.resource", path)
    if only and rest.startswith("only "):
        prof.setdefault("entries", []).append(rest[5:].split()[0])
        return []
    if not (path.startswith("extension[") or "[" not in path):
        return []
    contains = _CONTAINS.match(rest)
    if contains and path in ("extension", "modifierExtension"):
        url = g.ext_urls.get(contains["ext"], g.aliases.get(contains["ext"], contains["ext"]))
        return [{"path": path, "url": url, "min": int(contains["min"]), "max": contains["max"]}] if url.startswith("http") else []
    if "[" in path:
        return _extension_slice(prof, path, rest, g)
    card = _CARD.match(rest)
    if card and (card["min"] is not None or card["max"] is not None):
        low, high = int(card["min"] or 0), card["max"] or "*"
        return [{"path": path, "min": low, "max": high}] if low >= 1 or high == "0" else []
    if rest.startswith("= "):
        return _fixed_value(path, rest[2:].strip(), g)
    binding = re.match(r"^from\s+(?P<vs>\S+)\s+\(required\)", rest)
    return _binding(path, binding["vs"], g) if binding else []


def _extension_slice(prof: dict, path: str, rest: str, g: _Guide) -> list[dict]:
    """extension[name] MIN..MAX: a named extension slice's cardinality."""
    ext = re.fullmatch(r"extension\[(?P<name>[\w\-]+)\]", path)
    card = _CARD.match(rest)
    if ext and card:
        named = _extension_named(prof, ext["name"], g.by_id, g.ext_urls, g.aliases)
        if named:
            return [{"path": "extension", "url": named, "min": int(card["min"] or 0), "max": card["max"] or "*"}]
    return []


def _fixed_value(path: str, value: str, g: _Guide) -> list[dict]:
    """``path = value``: a code (a pattern when it has a system) or a fixed text."""
    code = _resolve_code(value, g.aliases, g.cs_urls)
    if code is not None and code[0]:
        return [{"path": path, "pattern": {"coding": [{"system": code[0], "code": code[1]}]}}]
    if code is not None:
        return [{"path": path, "fixed": code[1]}]
    if value.startswith('"') and value.endswith('"'):
        return [{"path": path, "fixed": value.strip('"')}]
    return []


def _binding(path: str, vs: str, g: _Guide) -> list[dict]:
    """``path from VS (required)``, when the sources enumerate the value set's codes."""
    codes = g.vs_codes.get(vs)
    if not codes:
        return []
    vs_url = vs if vs.startswith("http") else next(
        (g.url_of("ValueSet", v) for n, v in g.value_sets.items() if vs in (n, v.get("id"))), vs)
    return [{"path": path, "valueSet": vs_url, "codes": sorted({c for _, c in codes}),
             "codings": sorted([list(c) for c in codes])}]


def _extension_named(prof: dict, name: str, by_id: Mapping[str, dict], ext_urls: Mapping[str, str],
                     aliases: Mapping[str, str], depth: int = 0) -> str | None:
    """The url of the extension a profile (or its parents) added under slice ``name``."""
    for line in prof["rules"]:
        m = _RULE.match(line)
        if m and m["path"] == "extension":
            c = _CONTAINS.match(m["rest"].strip())
            if c and c["name"] == name:
                return ext_urls.get(c["ext"], aliases.get(c["ext"]))
    parent = by_id.get(prof.get("parent", "")) or next(
        (p for p in by_id.values() if p["name"] == prof.get("parent")), None)
    if parent is not None and depth < 8:
        return _extension_named(parent, name, by_id, ext_urls, aliases, depth + 1)
    return None
