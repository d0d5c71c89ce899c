"""ITI-67 Find Document References: the search parameters MHD requires of a Document Responder
(IHE MHD 4.2 ITI-67 §2:3.67.4.1.2.1), read from the query string (or a POST ``_search`` form)
into one ``Query``: criteria with their modifiers, the patient(s) named, paging. Lenient by
default (unknown parameters and modifiers are ignored and reported), strict on request.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

from simulator.core.strict_json import bad_text
from simulator.server.fhir_http import HttpProblem
from simulator.server.submission import utc_of

DEFAULT_COUNT = 50
MAX_COUNT = 500
MAX_OFFSET = 2**31 - 1  # _offset and _count: 0 to this (400 beyond); _count then capped at MAX_COUNT

#: the 16 parameters of ITI-67 (MHD 4.2), and what else the endpoint takes, with their FHIR type
MHD_PARAMETERS = {
    "patient": "reference", "patient.identifier": "token", "creation": "date", "author.given": "string",
    "author.family": "string", "category": "token", "type": "token", "setting": "token", "period": "date",
    "facility": "token", "event": "token", "security-label": "token", "format": "token", "related": "reference",
    "status": "token", "identifier": "token",
}
EXTRA_PARAMETERS = {"date": "date", "_id": "token", "_lastUpdated": "date"}
SEARCH_TYPES = {**MHD_PARAMETERS, **EXTRA_PARAMETERS}
ALIASES = {"subject": "patient", "subject.identifier": "patient.identifier",
           "_lastupdated": "_lastUpdated"}  # (MHD's CapabilityStatement spells it so)
RESULT_PARAMETERS = ("_count", "_offset", "_page")
SILENT = ("_format", "_pretty")  # answered by content negotiation / ignored without a report
MODIFIERS = {"token": ("missing", "not", "text"), "string": ("missing", "exact", "contains"),
             "date": ("missing",), "reference": ("missing", "identifier")}
STATUSES = ("current", "superseded", "entered-in-error")
#: kept for the CapabilityStatement and the error messages
PARAMETERS = tuple(SEARCH_TYPES) + tuple(ALIASES) + RESULT_PARAMETERS
_DATE = re.compile(r"^(eq|ne|ge|gt|le|lt|sa|eb)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)?)?)$")
_INS = re.compile(r"^\w{15}$")
_SPLIT = re.compile(r"(?<!\\),")


@dataclass
class Criterion:
    """One search parameter as sent: canonical name, modifier, and its comma-separated values (OR)."""

    name: str
    modifier: str | None
    values: list[str]


@dataclass
class Query:
    """A DocumentReference search: criteria (AND of ORs), the patients named, paging."""

    criteria: list[Criterion] = field(default_factory=list)
    ins: list[str] | None = None  # the INS the patient criteria restrict to (None: not restricted)
    count: int = DEFAULT_COUNT
    offset: int = 0
    after: tuple[str | None, str] | None = None  # keyset: (date, id) of the last entry of the previous page
    used: list[tuple[str, str]] = field(default_factory=list)  # the pairs processed (the self link)
    ignored: list[str] = field(default_factory=list)  # parameters ignored (lenient mode)


def split_values(value: str) -> list[str]:
    """A parameter's OR values (``a,b``; ``\\,`` is a literal comma)."""
    return [v.replace("\\,", ",") for v in _SPLIT.split(value) if v != ""]


def split_token(value: str) -> tuple[str | None, str | None]:
    """(system, code) of a token value: ``system|code``, ``|code`` (system ''), ``code`` (system
    None: any), ``system|`` (code None: any code of the system)."""
    m = re.search(r"(?<!\\)\|", value)
    if m is None:
        return None, value.replace("\\|", "|")
    system, code = value[:m.start()], value[m.end():].replace("\\|", "|")
    return system, code or None


def normal_system(system: str | None) -> str | None:
    """A bare OID as a system is read as ``urn:oid:OID`` (as the INS is sent)."""
    if system and re.fullmatch(r"[0-2](\.\d+)+", system):
        return f"urn:oid:{system}"
    return system


def date_range(value: str) -> tuple[str, str]:
    """The UTC instants [low, high) a FHIR date/dateTime covers (by its precision); ValueError."""
    import datetime as dt

    if len(value) > 10:
        instant = utc_of(value)
        if instant is None:
            raise ValueError(value)
        nxt = dt.datetime.strptime(instant, "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(seconds=1)
        return instant, nxt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(value) == 4:
        return f"{value}-01-01T00:00:00Z", f"{int(value) + 1:04d}-01-01T00:00:00Z"
    if len(value) == 7:
        y, m = int(value[:4]), int(value[5:7])
        if not 1 <= m <= 12:
            raise ValueError(value)
        nxt = f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"
        return f"{value}-01T00:00:00Z", f"{nxt}-01T00:00:00Z"
    day = dt.date.fromisoformat(value)
    return f"{value}T00:00:00Z", f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00Z"


def parse_date(name: str, value: str) -> tuple[str, str, str]:
    """(prefix, low, high) of a date search value; 400 when it is not one."""
    m = _DATE.match(value)
    try:
        if not m:
            raise ValueError(value)
        low, high = date_range(m.group(2))
    except (ValueError, OverflowError):  # 9999-12-31 has no next day
        raise HttpProblem(400, "value", f"{name}: {value!r} is not [eq|ne|ge|gt|le|lt|sa|eb]"
                                        "YYYY[-MM[-DD[Thh:mm:ss(Z|+zz:zz)]]]") from None
    return m.group(1) or "eq", low, high


def page_token(date: str | None, doc_id: str) -> str:
    """The opaque ``_page`` value that resumes after the entry (date, id)."""
    return base64.urlsafe_b64encode(json.dumps([date, doc_id]).encode()).decode().rstrip("=")


def _read_page(value: str) -> tuple[str | None, str]:
    try:
        date, doc_id = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        if not (date is None or isinstance(date, str)) or not isinstance(doc_id, str):
            raise ValueError
    except (ValueError, TypeError):
        raise HttpProblem(400, "value", "_page: not a page token of this server (follow the Bundle's next link)") \
            from None
    return date, doc_id


def strict_requested(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header asks ``handling=strict``."""
    return any(p.strip().replace(" ", "").lower() == "handling=strict" for p in re.split(r"[,;]", prefer or ""))


def _ignore(q: Query, strict: bool, name: str, why: str) -> None:
    if strict:
        raise HttpProblem(400, "not-supported", f"search parameter {name!r} {why} "
                                                f"(supported: {', '.join(PARAMETERS)})")
    q.ignored.append(f"{name} ({why})")


def _check_values(name: str, modifier: str | None, values: list[str]) -> None:
    """400 for values the endpoint cannot read (a bad date, status or INS)."""
    if modifier == "missing":
        if values not in (["true"], ["false"]):
            raise HttpProblem(400, "value", f"{name}:missing takes true or false")
        return
    if not values:
        raise HttpProblem(400, "value", f"{name}: no value")
    kind = SEARCH_TYPES[name]
    for v in values:
        if kind == "date":
            parse_date(name, v)
        elif name == "status" and modifier != "text" and split_token(v)[1] not in STATUSES:
            raise HttpProblem(400, "value", f"status: {v!r} is not {', '.join(STATUSES)}")
        elif name == "patient.identifier":
            code = split_token(v)[1]
            if code is not None and not _INS.match(code):
                raise HttpProblem(400, "value", f"{name}: expected [system|]<15-character INS>, got {v!r}")


def _patients_named(c: Criterion) -> set[str] | None:
    """The INS a patient criterion restricts to (None when it restricts to no single set)."""
    if c.modifier not in (None, "identifier") or c.name not in ("patient", "patient.identifier"):
        return None
    named: set[str] = set()
    for v in c.values:
        if c.name == "patient.identifier":
            code = split_token(v)[1]
        else:
            code = v.rstrip("/").rsplit("/", 1)[-1] if ("/" not in v or "Patient/" in v) else None
        if code is None:
            return None
        named.add(code)
    return named


def parse_query(items: list[tuple[str, str]], strict: bool = False) -> Query:
    """A Query from the request's (name, value) pairs: 400 for a value it cannot read, and in
    strict mode for a parameter or modifier it does not support (lenient: ignored, reported)."""
    q = Query()
    for name, value in items:
        problem = bad_text(name) or bad_text(value)
        if problem:
            raise HttpProblem(400, "value", f"{name[:40]!r}: {problem}")
        if name in SILENT:
            continue
        base, _, modifier = name.partition(":")
        base = ALIASES.get(base, base)
        if base == "patient" and modifier == "identifier":
            base, modifier = "patient.identifier", ""
        type_modifier = SEARCH_TYPES.get(base) == "reference" and modifier[:1].isupper()
        if type_modifier:  # related:Encounter=e1 is related=Encounter/e1
            value = ",".join(v if "/" in v else f"{modifier}/{v}" for v in split_values(value))
            modifier = ""
        if base == "_page":
            q.after = _read_page(value)
            q.used.append((name, value))
        elif name in ("_count", "_offset"):
            try:
                n = int(value) if len(value) <= 12 else -1
                if not 0 <= n <= MAX_OFFSET:
                    raise ValueError
            except ValueError:
                raise HttpProblem(400, "value", f"{name}: expected an integer from 0 to {MAX_OFFSET:,}, "
                                            f"got {value[:40]!r}") from None
            if name == "_count":
                q.count = min(n, MAX_COUNT)
            else:
                q.offset = n
            q.used.append((name, value))
        elif base not in SEARCH_TYPES:
            _ignore(q, strict, name, "is not supported")
        elif modifier and modifier not in MODIFIERS[SEARCH_TYPES[base]]:
            _ignore(q, strict, name, f"has an unsupported modifier :{modifier}")
        else:
            values = ["true" if value == "true" else "false" if value == "false" else value] \
                if modifier == "missing" else split_values(value)
            _check_values(base, modifier or None, values)
            c = Criterion(base, modifier or None, values)
            q.criteria.append(c)
            q.used.append((name, value))
            named = _patients_named(c)
            if named is not None:
                q.ins = sorted(named if q.ins is None else named & set(q.ins))
    return q
