"""HTTP semantics of the reads: the format a client may ask (JSON only: ``_format`` or ``Accept``
that rule JSON out get 406, FHIR http.html#mime-type), and conditional reads (``ETag`` /
``Last-Modified`` sent; ``If-None-Match`` / ``If-Modified-Since`` answered 304, RFC 9110 §13).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers

from simulator.server.fhir_http import HttpProblem

JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir", "text/json")
_JSON_RANGES = ("*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir")


def _media_ranges(accept: str) -> list[str]:
    """The media ranges of an Accept header that the client takes (q > 0)."""
    out = []
    for part in accept.split(","):
        media, *params = [x.strip() for x in part.split(";")]
        q = 1.0
        for prm in params:
            k, _, v = prm.partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if media and q > 0:
            out.append(media.lower())
    return out


def check_format(format_param: str | None, accept: str | None, document: bool = False) -> None:
    """406 unless the answer may be FHIR JSON. ``document``: the raw document of ITI-68 may
    be asked in its own type; only a FHIR format other than JSON is refused there."""
    if format_param is not None:
        if format_param.split(";")[0].strip().lower() not in JSON_FORMATS:
            raise HttpProblem(406, "not-supported", f"_format={format_param}: this server answers FHIR JSON only "
                                                    "(_format=json or application/fhir+json)")
        return
    ranges = _media_ranges(accept or "")
    if not accept or not ranges:
        return
    if any(r in _JSON_RANGES for r in ranges):
        return
    if document and not any(r in ("application/fhir+xml", "application/xml+fhir") for r in ranges):
        return  # e.g. Accept: application/pdf for the document itself
    raise HttpProblem(406, "not-supported", f"Accept: {accept}: this server answers FHIR JSON only "
                                            "(application/fhir+json)")


def http_date(instant: str) -> str:
    """A FHIR instant (UTC, ``…Z``) as an HTTP date (RFC 9110 IMF-fixdate)."""
    when = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(UTC)
    return format_datetime(when.replace(microsecond=0), usegmt=True)


@dataclass(frozen=True)
class Validators:
    """What a read answers to a conditional request: its ETag and last modification instant."""

    etag: str
    last_modified: str  # FHIR instant, UTC

    def headers(self) -> dict[str, str]:
        return {"ETag": self.etag, "Last-Modified": http_date(self.last_modified)}

    def unchanged(self, headers: Headers) -> bool:
        """Whether the client's copy is current (answer 304): If-None-Match first, else
        If-Modified-Since (ignored when unreadable)."""
        none_match = headers.get("if-none-match")
        if none_match is not None:
            mine = self.etag.removeprefix("W/")
            tags = [t.strip().removeprefix("W/") for t in none_match.split(",")]
            return "*" in tags or mine in tags
        since = headers.get("if-modified-since")
        if since:
            try:
                when = parsedate_to_datetime(since)
            except (TypeError, ValueError, IndexError):
                return False
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            modified = datetime.fromisoformat(self.last_modified.replace("Z", "+00:00")).replace(microsecond=0)
            return modified <= when
        return False
