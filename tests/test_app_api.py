"""`segur app` over plain HTTP (httpx): statuses, field errors, the queue, the cache, the
teaching endpoints; and the levers' arithmetic without a server."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cache: Path, workers: int = 2, queue: int = 8):
    """`segur app` in a subprocess on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    log = open(cache.parent / f"app-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "app", "--port", str(port), "--cache", str(cache),
                             "--workers", str(workers), "--queue", str(queue)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/scenarios", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"segur app did not start: {(cache.parent / f'app-{port}.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_job(client, job_id: str, files: bool = True, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get(f"/api/jobs/{job_id}").json()
        if st["state"] in ("failed", "cancelled") or (st["state"] == "done" and (st["files_ready"] or not files)):
            return st
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {st}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("app") / "cache") as url:
        yield url


@pytest.fixture
def client(app_url):
    with httpx.Client(base_url=app_url, timeout=30) as c:
        yield c


# -- levers, without a server ------------------------------------------------------------------

def test_levers_carry_schema_bounds_units_and_sources():
    from simulator.app import levers

    lv = {x.id: x for x in levers.levers_for("baseline")}
    assert {"gp.uptake", "gp.intensity", "gp.funding", "gp.qualification", "outage.date", "outage.days"} <= set(lv)
    assert lv["gp.intensity"].bounds == {"ge": 0.0, "le": 1.0}  # Probability in scenarios.schema
    assert lv["rule.require_qualified_identity"].kind == "date"
    assert any(x.source for x in lv.values()), "sources are read from the scenario files' comments"
    wave2 = {x.id for x in levers.levers_for("wave2")}
    assert "launch.nurse" in wave2 and "nurse.uptake" in wave2


def test_apply_writes_each_lever_into_the_scenario():
    from scenarios.loader import load_raw
    from simulator.app import levers

    raw = load_raw("scenarios/baseline.toml")
    # a later change of the same parameter, whose size the lever keeps
    raw["interventions"].append({"date": dt.date(2023, 10, 31), "kind": "parameter", "path": "sectors.gp.intensity_mean",
                                 "value": 0.5, "label": "a later GP intensity"})
    chosen = levers.defaults("baseline")
    chosen.update({"gp.uptake": 2.0, "gp.intensity": 0.4, "outage.days": 3, "outage.date": "2026-03-02",
                   "rule.require_qualified_identity": "2024-01-01"})
    out = levers.apply(raw, chosen)
    gp, gp0 = out["sectors"]["gp"], raw["sectors"]["gp"]
    assert gp["uptake_p"] == pytest.approx(2 * gp0["uptake_p"]) and gp["uptake_q"] == pytest.approx(2 * gp0["uptake_q"])
    assert gp["intensity_mean"] == 0.4 and gp0["intensity_mean"] != 0.4  # a copy: the original is untouched
    later = next(iv for iv in out["interventions"] if iv.get("path") == "sectors.gp.intensity_mean")
    later0 = next(iv for iv in raw["interventions"] if iv.get("path") == "sectors.gp.intensity_mean")
    assert later["value"] == pytest.approx(min(1.0, later0["value"] * 0.4 / gp0["intensity_mean"]))  # keeps its size
    outages = [iv for iv in out["interventions"] if iv["kind"] == "outage"]
    assert len(outages) == 1 and outages[0]["days"] == 3
    rule = next(iv for iv in out["interventions"] if iv.get("rule") == "require_qualified_identity")
    assert str(rule["date"]) == "2024-01-01"
    chosen["outage.days"] = 0
    assert not [iv for iv in levers.apply(raw, chosen)["interventions"] if iv["kind"] == "outage"]


def test_check_names_each_bad_field():
    from simulator.app import levers

    req = levers.RunRequest(scenario="baseline", levers={"gp.intensity": 1.5, "hospital.uptake": 0,
                                                         "outage.date": "1999-01-01"}, lang="en")
    with pytest.raises(levers.FormErrors) as exc:
        levers.check(req)
    assert set(exc.value.errors) == {"gp.intensity", "hospital.uptake", "outage.date"}
    assert "at most 1" in exc.value.errors["gp.intensity"]
    sc, chosen = levers.check(levers.RunRequest(scenario="gp_fast", levers={"gp.intensity": 0.5}, scale=0.002))
    assert sc.sectors["gp"].intensity_mean == 0.5 and sc.run.scale == 0.002 and chosen["gp.intensity"] == 0.5


def test_cache_key_depends_on_every_input():
    from simulator.app.jobs import cache_key

    base = cache_key("baseline", {"gp.uptake": 1.0}, 1, 0.01, 1)
    assert base == cache_key("baseline", {"gp.uptake": 1.0}, 1, 0.01, 1)
    others = {cache_key("wave2", {"gp.uptake": 1.0}, 1, 0.01, 1), cache_key("baseline", {"gp.uptake": 2.0}, 1, 0.01, 1),
              cache_key("baseline", {"gp.uptake": 1.0}, 2, 0.01, 1), cache_key("baseline", {"gp.uptake": 1.0}, 1, 0.02, 1),
              cache_key("baseline", {"gp.uptake": 1.0}, 1, 0.01, 3)}
    assert base not in others and len(others) == 5


@pytest.mark.parametrize("argv, message", [
    (["--port", "0"], "--port: must be between 1 and 65535"),
    (["--workers", "0"], "--workers: must be between 1 and 64"),
    (["--queue", "-1"], "--queue: must be between 0 and 1000"),
])
def test_cli_rejects_bad_options(argv, message):
    r = subprocess.run([sys.executable, "-m", "simulator.cli", "app", *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_cli_says_when_the_port_is_taken():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "simulator.cli", "app", "--port", str(port)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr


# -- HTTP ---------------------------------------------------------------------------------------

def test_pages_and_static_files_are_served_locally(client):
    for path in ("/", "/?lang=en", "/teaching", "/static/app.css", "/static/planner.js", "/static/teaching.js"):
        r = client.get(path)
        assert r.status_code == 200, path
    html = client.get("/").text
    assert 'lang="fr"' in html and 'lang="en"' in client.get("/?lang=en").text.split(">")[1]
    for attr in ("src=\"http", "href=\"http", "url(http", "@import"):
        assert attr not in html and attr not in client.get("/static/app.css").text


@pytest.mark.parametrize("body, field", [
    ({"scenario": "baseline", "levers": {"gp.intensity": 1.5}}, "gp.intensity"),
    ({"scenario": "baseline", "levers": {"gp.uptake": -1}}, "gp.uptake"),
    ({"scenario": "baseline", "levers": {"gp.uptake": "fast"}}, "gp.uptake"),
    ({"scenario": "baseline", "levers": {"outage.days": 400}}, "outage.days"),
    ({"scenario": "baseline", "levers": {"rule.require_qualified_identity": "2031-01-01"}}, "rule.require_qualified_identity"),
    ({"scenario": "baseline", "levers": {"no.such": 1}}, "no.such"),
    ({"scenario": "baseline", "scale": 0.5}, "scale"),
    ({"scenario": "baseline", "scale": 0}, "scale"),
    ({"scenario": "baseline", "seed": -3}, "seed"),
    ({"scenario": "baseline", "replications": 99}, "replications"),
    ({"scenario": "nope"}, "scenario"),
    ({"scenario": "demo"}, "scenario"),
])
def test_bad_values_get_422_naming_the_field(client, body, field):
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert field in errors and errors[field]


def test_not_json_and_unknown_things(client):
    assert client.post("/api/runs", content=b"{oops", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/api/runs", json=[1, 2]).status_code == 422
    assert client.get("/api/jobs/doesnotexist").status_code == 404
    assert client.post("/api/jobs/doesnotexist/cancel").status_code == 409
    assert client.get("/api/runs/0123abcd/summary").status_code == 404
    assert client.get("/api/runs/0123abcd/results.zip").status_code == 404
    assert client.get("/api/scenarios/nope/levers").status_code == 404
    assert client.get("/api/runs/..%2F..%2Fetc/summary").status_code == 404
    msg = client.post("/api/runs?lang=en", json={"scenario": "baseline", "levers": {"gp.intensity": 2}, "lang": "en"}).json()
    assert "at most 1" in msg["errors"]["gp.intensity"]


def test_teaching_endpoints(client):
    deadline = time.monotonic() + 180
    while (w := client.get("/api/teaching/world").json())["state"] != "ready":
        assert w["state"] == "building" and time.monotonic() < deadline, w
        time.sleep(0.5)
    n = len(w["dates"])
    assert {a["sector"] for a in w["actors"]} >= {"gp", "biology", "hospital", "radiology", "pharmacy"}
    days = [client.get(f"/api/teaching/day/{d}").json() for d in range(n)]
    docs = [doc for d in days for doc in d["documents"]]
    assert docs and all(d["why"] for d in docs if d["outcome"] == "rejected")
    assert client.get(f"/api/teaching/day/{n}").status_code == 422
    accepted = next(d for d in docs if d["outcome"] == "accepted")
    p = client.get(f"/api/teaching/patient/{accepted['patient']}?day={n - 1}").json()
    assert accepted["id"] in {d["id"] for d in p["documents"]}
    before = client.get(f"/api/teaching/patient/{accepted['patient']}?day={accepted['day'] - 1}").json()
    assert accepted["id"] not in {d["id"] for d in before["documents"]}  # not yet in the space the day before
    fhir = client.get(f"/api/teaching/fhir/{accepted['id']}").json()
    assert fhir["resourceType"] == "Bundle"
    actor = client.get(f"/api/teaching/actor/{accepted['from']}?day={n - 1}").json()
    assert accepted["id"] in {d["id"] for d in actor["sent_documents"]}
    assert client.get("/api/teaching/patient/99999999").status_code == 404
    assert client.get("/api/teaching/actor/nobody:1").status_code == 404
    assert client.get("/api/teaching/fhir/..%2F..%2Fworld").status_code == 404


@pytest.mark.slow
def test_queue_positions_and_cancel(tmp_path):
    """One worker: the second run waits with its position; cancelling frees the worker."""
    with serve(tmp_path / "cache", workers=1, queue=1) as url, httpx.Client(base_url=url, timeout=30) as c:
        a = c.post("/api/runs", json={"scenario": "baseline", "scale": 0.002, "seed": 11}).json()
        deadline = time.monotonic() + 60
        while c.get(f"/api/jobs/{a['id']}").json()["state"] == "queued":  # the worker pool starting
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert c.get(f"/api/jobs/{a['id']}").json()["state"] == "running"
        b = c.post("/api/runs", json={"scenario": "baseline", "scale": 0.002, "seed": 12}).json()
        assert c.post("/api/runs", json={"scenario": "baseline", "scale": 0.002, "seed": 13}).status_code == 503
        sb = c.get(f"/api/jobs/{b['id']}").json()
        assert sb["state"] == "queued" and sb["position"] == 1
        assert c.post(f"/api/jobs/{a['id']}/cancel").json()["cancelled"] is True
        assert c.get(f"/api/jobs/{a['id']}").json()["state"] == "cancelled"
        deadline = time.monotonic() + 10
        while c.get(f"/api/jobs/{b['id']}").json()["state"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert c.post(f"/api/jobs/{b['id']}/cancel").json()["cancelled"] is True


@pytest.mark.slow
def test_run_cache_and_downloads(client):
    body = {"scenario": "baseline", "scale": 0.002, "seed": 5, "levers": {"gp.uptake": 1.5}}
    job = client.post("/api/runs", json=body)
    assert job.status_code == 202
    st = wait_job(client, job.json()["id"])
    assert st["state"] == "done", st
    key = st["key"]
    summary = client.get(f"/api/runs/{key}/summary").json()
    assert summary["levers"]["gp.uptake"] == 1.5 and {f["key"] for f in summary["figures"]["fr"]} >= {"monthly", "profiles"}
    assert all(f["svg"].startswith("<svg") for f in summary["figures"]["en"])
    again = client.post("/api/runs", json=body).json()
    assert again["state"] == "done" and again["cached"] and again["key"] == key
    z = zipfile.ZipFile(BytesIO(client.get(f"/api/runs/{key}/results.zip").content))
    names = z.namelist()
    assert f"{key}/manifest.json" in names and f"{key}/documents.csv" in names and f"{key}/report.html" in names
    csv = client.get(f"/api/runs/{key}/tables/documents.csv")
    assert csv.status_code == 200 and csv.text.startswith("month,")
    assert client.get(f"/api/runs/{key}/tables/nope.csv").status_code == 404
    rep = client.get(f"/api/runs/{key}/report.html?lang=en")
    assert rep.status_code == 200 and "<html lang='en'>" in rep.text
    assert "<html lang='fr'>" in client.get(f"/api/runs/{key}/report.html").text
