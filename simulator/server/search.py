"""ITI-67 Find Document References: the search parameters the endpoint understands, read from
the query string into one ``Query`` (patient by INS, status, type, category, date, paging).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simulator.core.strict_json import bad_text
from simulator.server.fhir_http import HttpProblem
from simulator.server.submission import utc_of

DEFAULT_COUNT = 50
MAX_COUNT = 500
MAX_OFFSET = 2**31 - 1  # _offset and _count: 0 to this (400 beyond); _count then capped at MAX_COUNT
PARAMETERS = ("patient.identifier", "subject.identifier", "status", "type", "category", "date", "_count",
              "_offset", "_id")
_DATE = re.compile(r"^(eq|ne|ge|gt|le|lt|sa|eb)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)?)?)$")
_OPS = {"eq": "eq", "ge": "ge", "gt": "gt", "le": "le", "lt": "lt", "sa": "gt", "eb": "lt", None: "eq"}


@dataclass
class Query:
    """A DocumentReference search."""

    ins: str | None = None
    ins_system: str | None = None
    status: list[str] = field(default_factory=list)
    types: list[tuple[str | None, str]] = field(default_factory=list)
    categories: list[tuple[str | None, str]] = field(default_factory=list)
    dates: list[tuple[str, str, str]] = field(default_factory=list)  # (op, low, high) UTC instants
    ids: list[str] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0


def _tokens(value: str) -> list[tuple[str | None, str]]:
    out = []
    for part in value.split(","):
        system, bar, code = part.partition("|")
        out.append((system or None, code) if bar else (None, system))
    return [t for t in out if t[1]]


def _date_range(value: str) -> tuple[str, str]:
    """The UTC instants [low, high) a FHIR date search value covers (by its precision)."""
    if len(value) > 10:
        instant = utc_of(value)
        if instant is None:
            raise ValueError(value)
        return instant, instant
    if len(value) == 4:
        return f"{value}-01-01T00:00:00Z", f"{int(value) + 1:04d}-01-01T00:00:00Z"
    if len(value) == 7:
        y, m = int(value[:4]), int(value[5:7])
        nxt = f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"
        return f"{value}-01T00:00:00Z", f"{nxt}-01T00:00:00Z"
    import datetime as dt

    day = dt.date.fromisoformat(value)
    return f"{value}T00:00:00Z", f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00Z"


def parse_query(items: list[tuple[str, str]]) -> Query:
    """A Query from the query string's (name, value) pairs; 400 for what it cannot use."""
    q = Query()
    for name, value in items:
        problem = bad_text(name) or bad_text(value)
        if problem:
            raise HttpProblem(400, "value", f"{name[:40]!r}: {problem}")
        if name in ("patient.identifier", "subject.identifier"):
            system, bar, code = value.partition("|")
            q.ins, q.ins_system = (code, system or None) if bar else (system, None)
            if not re.fullmatch(r"\w{15}", q.ins or ""):
                raise HttpProblem(400, "value", f"{name}: expected [system|]<15-character INS>, got {value!r}")
        elif name == "status":
            q.status += [s for s in value.split(",") if s]
            bad = [s for s in q.status if s not in ("current", "superseded", "entered-in-error")]
            if bad:
                raise HttpProblem(400, "value", f"status: {bad[0]!r} is not current, superseded or entered-in-error")
        elif name == "type":
            q.types += _tokens(value)
        elif name == "category":
            q.categories += _tokens(value)
        elif name == "_id":
            q.ids += [s for s in value.split(",") if s]
        elif name == "date":
            m = _DATE.match(value)
            try:
                if not m:
                    raise ValueError(value)
                low, high = _date_range(m.group(2))
            except (ValueError, OverflowError):  # 9999-12-31 has no next day
                raise HttpProblem(400, "value", f"date: {value!r} is not [eq|ge|gt|le|lt]YYYY[-MM[-DD[Thh:mm:ss+zz:zz]]]") from None
            q.dates.append((_OPS[m.group(1)], low, high))
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
        elif name.startswith("_"):
            continue  # _format and other result parameters: answered in JSON anyway
        else:
            raise HttpProblem(400, "not-supported", f"search parameter {name!r} is not supported "
                                                    f"(supported: {', '.join(PARAMETERS)})")
    return q
