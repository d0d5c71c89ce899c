"""Whether a stored DocumentReference matches ITI-67 criteria, by FHIR search semantics: tokens
(``system|code``, ``|code``, ``code``, ``system|``; ``:not``, ``:text``), strings (starts with,
case and accents ignored; ``:exact``, ``:contains``), dates as ranges with their prefixes,
references (``:identifier``), ``:missing`` for every type; comma = OR, repeated = AND.

Each parameter reads the elements MHD names (ITI-67 §2:3.67.4.1.2.1): author names from the
author's Practitioner (contained, or the practitioner of a contained PractitionerRole).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from simulator.server.search import (
    Criterion,
    date_range,
    normal_system,
    parse_date,
    split_token,
)

MIN_INSTANT, MAX_INSTANT = "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
_INS_SUBJECT = re.compile(r"^Patient\?identifier=([^|]*)\|(.+)$")
Token = tuple[str | None, str | None, str]  # (system, code, text)


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [] if v is None else [v]


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _coding_tokens(concepts: Any) -> list[Token]:
    """Tokens of CodeableConcepts or Codings."""
    out: list[Token] = []
    for concept in _list(concepts):
        c = _dict(concept)
        codings = c["coding"] if isinstance(c.get("coding"), list) else [c] if "code" in c else []
        for coding in codings:
            cd = _dict(coding)
            out.append((cd.get("system"), cd.get("code"), f"{cd.get('display') or ''} {c.get('text') or ''}"))
    return out


def _identifier_tokens(identifiers: Any) -> list[Token]:
    return [(_dict(i).get("system"), _dict(i).get("value"), str(_dict(_dict(i).get("type")).get("text") or ""))
            for i in _list(identifiers) if _dict(i).get("value")]


def subject_identifiers(res: dict[str, Any]) -> list[Token]:
    """The patient's identifiers a DocumentReference carries: the INS of its subject reference
    (``Patient?identifier=system|value``) and ``subject.identifier``."""
    subject = _dict(res.get("subject"))
    out = _identifier_tokens(subject.get("identifier"))
    m = _INS_SUBJECT.match(str(subject.get("reference") or ""))
    if m:
        out.append((normal_system(m.group(1)), m.group(2), ""))
    return out


def _contained(res: dict[str, Any], ref: Any) -> dict[str, Any] | None:
    target = str(_dict(ref).get("reference") or "")
    if not target.startswith("#"):
        return None
    return next((c for c in _list(res.get("contained")) if _dict(c).get("id") == target[1:]), None)


def _author_names(res: dict[str, Any], part: str) -> list[str]:
    out: list[str] = []
    for ref in _list(res.get("author")):
        who = _contained(res, ref)
        if who and who.get("resourceType") == "PractitionerRole":
            who = _contained(res, who.get("practitioner"))
        if not who or who.get("resourceType") not in ("Practitioner", "Patient", "RelatedPerson"):
            continue
        for name in _list(who.get("name")):
            values = _list(_dict(name).get(part))
            out += [str(v) for v in values if isinstance(v, str)]
    return out


def _ranges(values: list[Any]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        if isinstance(v, str):
            try:
                out.append(date_range(v))
            except ValueError:
                continue
    return out


def _period(res: dict[str, Any]) -> list[tuple[str, str]]:
    p = _dict(_dict(res.get("context")).get("period"))
    if not p.get("start") and not p.get("end"):
        return []
    low = _ranges([p.get("start")])
    high = _ranges([p.get("end")])
    return [(low[0][0] if low else MIN_INSTANT, high[0][1] if high else MAX_INSTANT)]


def _references(res: dict[str, Any]) -> list[str]:
    return [str(_dict(r).get("reference")) for r in _list(_dict(res.get("context")).get("related"))
            if _dict(r).get("reference")]


#: what each parameter reads in a DocumentReference
TOKENS: dict[str, Callable[[dict[str, Any]], list[Token]]] = {
    "patient.identifier": subject_identifiers,
    "category": lambda r: _coding_tokens(r.get("category")),
    "type": lambda r: _coding_tokens(r.get("type")),
    "setting": lambda r: _coding_tokens(_dict(r.get("context")).get("practiceSetting")),
    "facility": lambda r: _coding_tokens(_dict(r.get("context")).get("facilityType")),
    "event": lambda r: _coding_tokens(_dict(r.get("context")).get("event")),
    "security-label": lambda r: _coding_tokens(r.get("securityLabel")),
    "format": lambda r: _coding_tokens([_dict(c).get("format") for c in _list(r.get("content"))]),
    "status": lambda r: [(None, r.get("status"), "")] if r.get("status") else [],
    "identifier": lambda r: _identifier_tokens([r.get("masterIdentifier"), *_list(r.get("identifier"))]),
    "_id": lambda r: [(None, r.get("id"), "")] if r.get("id") else [],
}
DATES: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = {
    "creation": lambda r: _ranges([_dict(_dict(c).get("attachment")).get("creation") for c in _list(r.get("content"))]),
    "date": lambda r: _ranges([r.get("date")]),
    "period": _period,
    "_lastUpdated": lambda r: _ranges([_dict(r.get("meta")).get("lastUpdated")]),
}
STRINGS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "author.given": lambda r: _author_names(r, "given"),
    "author.family": lambda r: _author_names(r, "family"),
}


def fold(text: str) -> str:
    """Case and accents ignored (FHIR string search)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _token_hit(value: str, tokens: list[Token], text: bool) -> bool:
    if text:
        wanted = fold(value)
        return any(wanted in fold(t[2]) for t in tokens)
    system, code = split_token(value)
    system = normal_system(system)
    for s, c, _ in tokens:
        if code is not None and c != code:
            continue
        if system is None or (system == "" and not s) or (system and normal_system(s) == system):
            return True
    return False


def _date_hit(value: str, ranges: list[tuple[str, str]]) -> bool:
    op, low, high = parse_date("date", value)
    for rl, rh in ranges:
        ok = {"eq": low <= rl and rh <= high, "ne": not (low <= rl and rh <= high), "gt": rh > high,
              "lt": rl < low, "ge": rh > low, "le": rl < high, "sa": rl >= high, "eb": rh <= low}[op]
        if ok:
            return True
    return False


def _string_hit(value: str, strings: list[str], modifier: str | None) -> bool:
    if modifier == "exact":
        return value in strings
    wanted = fold(value)
    if modifier == "contains":
        return any(wanted in fold(s) for s in strings)
    return any(fold(s).startswith(wanted) for s in strings)


def _reference_hit(value: str, refs: list[str], patient_ids: list[str]) -> bool:
    wanted = value.rstrip("/")
    for ref in refs:
        if ref == wanted or ref.endswith("/" + wanted) or wanted.endswith("/" + ref):
            return True
    return any(wanted == pid or wanted.endswith("Patient/" + pid) for pid in patient_ids)


def _present(c: Criterion, res: dict[str, Any]) -> bool:
    if c.name in TOKENS:
        return bool(TOKENS[c.name](res))
    if c.name in DATES:
        return bool(DATES[c.name](res))
    if c.name in STRINGS:
        return bool(STRINGS[c.name](res))
    if c.name == "related":
        ctx = _dict(res.get("context"))
        return bool(_list(ctx.get("related")))
    return bool(res.get("subject"))


def matches(c: Criterion, res: dict[str, Any]) -> bool:
    """Whether the DocumentReference ``res`` satisfies the criterion (any of its values)."""
    if c.modifier == "missing":
        return _present(c, res) != (c.values == ["true"])
    if c.name in TOKENS:
        tokens = TOKENS[c.name](res)
        hit = any(_token_hit(v, tokens, c.modifier == "text") for v in c.values)
        return not hit if c.modifier == "not" else hit
    if c.name in DATES:
        ranges = DATES[c.name](res)
        return any(_date_hit(v, ranges) for v in c.values)
    if c.name in STRINGS:
        strings = STRINGS[c.name](res)
        return any(_string_hit(v, strings, c.modifier) for v in c.values)
    if c.name == "related":
        if c.modifier == "identifier":
            related = [_dict(r).get("identifier") for r in _list(_dict(res.get("context")).get("related"))]
            tokens = _identifier_tokens(related)
            return any(_token_hit(v, tokens, False) for v in c.values)
        return any(_reference_hit(v, _references(res), []) for v in c.values)
    if c.name == "patient":  # this DMP's Patient logical id is the INS
        ids = [code for _, code, _ in subject_identifiers(res) if code]
        return any(_reference_hit(v, [], ids) for v in c.values)
    return False


def matches_all(criteria: list[Criterion], res: dict[str, Any]) -> bool:
    """AND of the criteria."""
    return all(matches(c, res) for c in criteria)
