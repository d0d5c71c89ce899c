"""Random requests (Hypothesis) to the simulated DMP and to the page (`segur app`), both on
127.0.0.1: hostile paths, query strings, headers and bodies — mutated ITI-65 bundles, odd JSON
(NaN, huge numbers, duplicate keys, deep nesting, control characters) and bytes that are not
JSON. Whatever is sent, the answer is never a 5xx, and the next request on the same
connection is still served. Bounded: a fixed number of examples each, no shrinking deadline."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support_server import bundle_for, dmp_fixture  # noqa: F401 - a fixture

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_odd_numbers = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "9" * 5000, "-0", "2e-400",
                                str(2**63), str(2**64), str(10**30), "0.1e1", "1" * 25])
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                       st.floats(allow_nan=False, allow_infinity=False), _text)
_json = st.recursive(_json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(_text, inner, max_size=4)), max_leaves=20)


def _raw_json(draw: Any, base: Any) -> bytes:
    """JSON text made odd on purpose: a value replaced by an odd literal, a key repeated,
    deep nesting, a control character, or bytes cut off."""
    text = json.dumps(base)
    trick = draw(st.sampled_from(["none", "number", "number", "duplicate", "deep", "deep", "control", "cut",
                                  "bytes"]))
    if trick == "number":
        text = text.replace("1", draw(_odd_numbers), 1) if "1" in text else draw(_odd_numbers)
    elif trick == "duplicate" and text.startswith("{") and len(text) > 2:
        text = '{"resourceType": "Bundle", ' + text[1:].replace("{", '{"a": 1, "a": 2, ', 1)
    elif trick == "deep":
        n = draw(st.sampled_from([65, 1000, 100_000]))
        text = '{"resourceType": "Bundle", "type": "transaction", "entry": ' + "[" * n + "]" * n + "}"
    elif trick == "control":
        text = text.replace('"', '"\\u0000', 1) if '"' in text else '"\\u0000"'
    elif trick == "cut":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif trick == "bytes":
        return draw(st.binary(max_size=200))
    return text.encode("utf-8", "surrogatepass")


def _assert_kept(conn: http.client.HTTPConnection, probe: str) -> None:
    """The connection still answers a valid request."""
    sock = conn.sock
    conn.request("GET", probe)
    r = conn.getresponse()
    r.read()
    assert r.status == 200 and (sock is None or conn.sock is sock)


def _send(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
          headers: dict[str, str]) -> tuple[int, bytes]:
    try:
        conn.request(method, path, body=body, headers=headers)
    except UnicodeEncodeError:  # http.client's own refusal of a path it cannot send: not a request
        return 0, b""
    r = conn.getresponse()
    return r.status, r.read()


# -- the simulated DMP ------------------------------------------------------------------------
@st.composite
def dmp_requests(draw: Any, patient: Any, author: Any) -> tuple[str, str, bytes | None, str]:
    kind = draw(st.sampled_from(["search", "read", "binary", "post", "post", "other"]))
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    if kind == "search":
        names = st.sampled_from(["patient.identifier", "status", "type", "category", "date", "_count", "_offset",
                                 "_id", "_format", "subject.identifier", "x"]) | _text
        values = st.sampled_from([patient.ins, str(2**63), str(10**30), "-1", "9999-12-31", "le9999-12",
                                  "current", "\x00", "a|b|c", "%"]) | _text
        hostile = st.tuples(st.sampled_from(["_offset", "_count", "date", "type", "_id"]),
                            st.sampled_from([str(2**63), str(10**30), "9" * 5000, "-1", "9999-12-31", "\x00"]))
        params = draw(st.lists(hostile | st.tuples(names, values), max_size=5))
        q = "&".join(f"{quote(k)}={quote(v)}" for k, v in [("patient.identifier", patient.ins), *params])
        return "GET", f"/fhir/DocumentReference?{q}", None, "application/fhir+json"
    if kind in ("read", "binary"):
        rid = draw(_text | st.sampled_from(["x" * 5000, "\x00", "..", "a/b"]))
        return "GET", f"/fhir/{'DocumentReference' if kind == 'read' else 'Binary'}/{quote(rid) or 'x'}", None, "*/*"
    if kind == "post":
        base: Any = bundle_for(patient, author)
        if draw(st.booleans()):  # a value of the bundle replaced by a random one
            entry = base["entry"][draw(st.integers(0, len(base["entry"]) - 1))]["resource"]
            entry[draw(st.sampled_from(sorted(entry)))] = draw(_json)
        if draw(st.integers(0, 3)) == 0:
            base = draw(_json)
        ctype = draw(st.sampled_from(["application/fhir+json", "application/json", "text/plain", ""]))
        return "POST", "/fhir", _raw_json(draw, base), ctype
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    path = "/" + "/".join(quote(p) for p in draw(st.lists(_text, max_size=3)))
    return method, path, draw(st.none() | st.binary(max_size=100)), "application/fhir+json"


def test_random_requests_never_get_a_5xx_from_the_dmp(dmp):
    patient, author = dmp.take_patient(), dmp.author()
    url = urllib.parse.urlsplit(dmp.base)
    token = dmp.pro_token(author.id_nat_ps)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    @SETTINGS
    @given(req=dmp_requests(patient, author))
    def check(req: tuple[str, str, bytes | None, str]) -> None:
        method, path, body, ctype = req
        status, data = _send(conn, method, path, body, {"Authorization": f"Bearer {token}", "Content-Type": ctype,
                                                        "Accept": "application/fhir+json"})
        assert status < 500, (method, path[:100], (body or b"")[:200], status, data[:300])
        if status >= 400:
            assert json.loads(data)["resourceType"] == "OperationOutcome"
        _assert_kept(conn, "/fhir/metadata")

    check()


# -- the page ---------------------------------------------------------------------------------
class _NoRuns:
    """The page's job queue, replaced: a form that passes is answered, never run."""

    def __init__(self, real: Any):
        self.real = real

    def submit(self, key: str, spec: dict[str, Any]) -> Any:
        return type("Job", (), {"id": key})()

    def status(self, job_id: str) -> dict[str, Any] | None:
        return {"id": job_id, "state": "queued"} if job_id.isalnum() else None

    def cancel(self, job_id: str) -> bool:
        return False

    def summary_path(self, key: str) -> Path | None:
        return None

    def results_path(self, key: str) -> Path | None:
        return None

    def close(self) -> None:
        self.real.close()


@contextmanager
def running_page(cache: Path):
    import uvicorn

    from simulator.app.server import create_app
    from simulator.server.pg_throwaway import free_port

    app = create_app(cache, workers=1, max_waiting=1, teaching=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "segur app did not start"
        time.sleep(0.02)
    app.state.jobs = _NoRuns(app.state.jobs)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@st.composite
def page_requests(draw: Any) -> tuple[str, str, bytes | None]:
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    kind = draw(st.sampled_from(["run", "run", "get", "other"]))
    if kind == "run":
        base: Any = {"scenario": draw(st.sampled_from(["demo", "baseline", "x"]) | _text),
                     "levers": draw(st.dictionaries(_text, _json, max_size=3)),
                     "seed": draw(st.integers(-(2**70), 2**70) | _json), "scale": draw(_json),
                     "replications": draw(_json)}
        if draw(st.integers(0, 3)) == 0:
            base = draw(_json)
        return "POST", f"/api/runs?lang={quote(draw(_text))}", _raw_json(draw, base)
    if kind == "get":
        template = draw(st.sampled_from(["/api/scenarios/{}/levers", "/api/jobs/{}", "/api/runs/{}/summary",
                                         "/api/runs/{}/tables", "/api/runs/{}/tables/{}.csv", "/?lang={}",
                                         "/api/runs/{}/results.zip", "/api/runs/{}/report.html"]))
        parts = [quote(draw(_text)) or "x" for _ in range(template.count("{}"))]
        return "GET", template.format(*parts), None
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    return method, "/api/" + quote(draw(_text)), draw(st.none() | st.binary(max_size=100))


def test_random_requests_never_get_a_5xx_from_the_page(tmp_path):
    pytest.importorskip("fastapi")
    with running_page(tmp_path / "cache") as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        @SETTINGS
        @given(req=page_requests())
        def check(req: tuple[str, str, bytes | None]) -> None:
            method, path, body = req
            status, data = _send(conn, method, path, body, {"Content-Type": "application/json"})
            assert status < 500, (method, path[:100], (body or b"")[:200], status, data[:300])
            _assert_kept(conn, "/api/scenarios")

        check()


def test_an_unexpected_error_on_the_page_keeps_the_connection(tmp_path, monkeypatch):
    from simulator.app import levers

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    with running_page(tmp_path / "cache") as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        monkeypatch.setattr(levers, "levers_for", boom)
        status, data = _send(conn, "GET", "/api/scenarios/demo/levers", None, {})
        assert status == 500 and json.loads(data)["error"].startswith("RuntimeError")
        _assert_kept(conn, "/api/scenarios")
