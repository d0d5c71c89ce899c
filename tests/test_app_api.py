"""`segur app` over plain HTTP (httpx): statuses, field errors, the queue, the cache, the
teaching endpoints; and the levers' arithmetic without a server."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
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
    (["--replications", "11"], "--replications: must be between 1 and 10"),
    (["--replications", "0"], "--replications: must be between 1 and 10"),
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


# -- what the page says: French words, lever effects, bands, the gap to the published figures ---

SHORTHAND = re.compile(r"\[[IV]\]|domain §|\bS\d+\b|\bseed \d{3}\b")


def test_the_french_page_has_french_questions_and_sources_without_shorthand():
    from simulator.app import french, levers

    for s in levers.library("fr"):
        assert s["name"] in french.DESCRIPTIONS, f"scenario {s['name']}: add its French question to simulator/app/french.py"
        assert s["description"] == french.DESCRIPTIONS[s["name"]]
    for s in levers.library("fr"):
        for lv in levers.levers_for(s["name"]):
            pub = lv.public("fr")
            assert pub["source_translated"], f"{s['name']} {lv.id}: source not in simulator/app/french.py: {lv.source!r}"
            assert not SHORTHAND.search(pub["source"]), (s["name"], lv.id, pub["source"])
            assert not SHORTHAND.search(lv.public("en")["source"]), (s["name"], lv.id)
    english = {s["name"]: s["description"] for s in levers.library("en")}
    assert english["baseline"].startswith("Wave 1")  # the switch gives the files' own English


def test_an_untranslated_source_gets_its_shorthand_spelled_out():
    from simulator.app import french

    text, whole = french.source("a new value [I] (domain §3, S25; seed 001) [V]")
    assert not whole
    assert "hypothèse de modélisation" in text and "vérifié dans la source citée" in text
    assert "faits du domaine, section 3" in text and "source 25" in text and "document source 001" in text
    assert not SHORTHAND.search(text)
    assert french.source("") == ("", True)


def test_each_lever_is_labelled_by_what_it_does():
    from simulator.app import levers

    lv = {x.id: x for x in levers.levers_for("baseline")}
    assert "Niveau de départ" in lv["gp.intensity"].label["fr"] and "plafond" not in lv["gp.intensity"].label["fr"]
    assert "Start level" in lv["gp.intensity"].label["en"]
    assert "Bass" in lv["gp.uptake"].label["fr"] and "commandent ou installent" in lv["gp.funding"].label["fr"]


def test_lever_probe_values_stay_within_each_levers_bounds():
    from simulator.app import lever_effects, levers

    for s in levers.library():
        for lv in levers.levers_for(s["name"]):
            probe = lever_effects.probe_values(lv)
            if probe is None:
                assert lv.id == "outage.date"
                continue
            low, high = probe
            assert low < high or (lv.kind == "share" and lv.default >= 1), (s["name"], lv.id, probe)
            for v in probe:
                for key, ok in (("ge", v >= lv.bounds.get("ge", v)), ("le", v <= lv.bounds.get("le", v)),
                                ("gt", v > lv.bounds["gt"] if "gt" in lv.bounds else True)):
                    assert ok, (s["name"], lv.id, key, v, lv.bounds)
                if lv.kind == "share":
                    assert 0 <= v <= 1


def test_the_shipped_lever_effects_name_their_command_date_and_levers():
    from simulator.app import lever_effects, levers

    shipped = lever_effects.read("baseline")
    assert shipped is not None, "scenarios/data/lever_effects/baseline.csv is shipped with the baseline"
    effects, header = shipped
    assert header["command"].startswith("python -m simulator.app.lever_effects baseline ")
    assert dt.date.fromisoformat(header["date"]) <= dt.date.today()
    assert float(header["reference"]) > 0 and 0 <= float(header["noise"]) < 1
    ids = {x.id for x in levers.levers_for("baseline")}
    assert set(effects) <= ids and len(effects) == len(ids) - 1  # every lever but the outage's first day
    for lever, row in effects.items():
        for side in ("low", "high"):  # the change is the headline's, relative to the reference
            assert row[f"change_{side}"] == pytest.approx(row[f"headline_{side}"] / float(header["reference"]) - 1, abs=1e-3), lever


def test_the_bands_legend_is_never_cut():
    """A panel grid's legend of 8 entries (the bands figure's) lies inside the figure."""
    from matplotlib.lines import Line2D

    from reports import figures

    fig, axes, _ = figures._panel_grid(6)
    handles = [Line2D([], [], label=f"une entrée assez longue de légende n° {i}") for i in range(8)]
    figures._bottom_legend(fig, handles)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.legends[0].get_window_extent(renderer)
    page = fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    assert box.y1 <= min(ax.get_tightbbox(renderer).y0 for ax in axes.ravel()) + 1  # under the panels' labels


def _with_replications(res, key: str, reached: list[float]):
    """The run with a fake ensemble block: ``reached`` (decimal years) for target ``key``."""
    import pandas as pd

    from simulator.engine.results import Results

    n = len(reached)
    reps = pd.DataFrame({"replication": range(1, n + 1), "status": ["ok"] * n, f"target_reached_{key}": reached,
                         f"share_of_target_{key}": [0.5 + i / 10 for i in range(n)]})
    manifest = {**res.manifest, "ensemble": {"replications": n, "completed": n}}
    return Results({**res.tables, "replications": reps}, manifest, dict(res.extra_files))


def test_the_target_table_gives_the_month_band_and_the_share_reaching_it(small_results):
    from simulator.app.planner_run import table_rows
    from simulator.engine.outputs import month_to_decimal

    row = next(r for r in table_rows(small_results) if r["row"] == "gp")
    assert row["band"] is None  # one run: no band
    key = next(k for k, t in small_results.manifest["scenario"]["targets"].items() if t["sectors"] == ["gp"])
    last = small_results.manifest["months"][-1]
    end = month_to_decimal(last)
    reached = [end - 3.0, end - 2.5, end - 2.0, end - 1.0, end + 5.0]  # the last one never reaches it
    row = next(r for r in table_rows(_with_replications(small_results, key, reached)) if r["row"] == "gp")
    band = row["band"]
    assert band["n"] == 5 and band["share_reached"] == pytest.approx(4 / 5)
    lo, mid, hi = band["reached"]
    assert lo is not None and mid is not None and lo <= mid
    assert hi is None  # p95 falls on the replication that never reaches it: "not by the end"
    assert all(re.fullmatch(r"\d{4}-\d\d", m) for m in (lo, mid))


def test_the_gap_to_the_published_figures_is_each_rows_relative_error(small_results):
    from simulator.app.observed_gap import FIGURE_METRICS, observed_gap
    from simulator.studies.observed_match import one_sided

    gap = observed_gap(small_results)
    assert set(gap) == set(FIGURE_METRICS)
    for group, g in gap.items():
        assert g["n"] == len(g["rows"]) > 0
        assert all(r["metric"] in FIGURE_METRICS[group] for r in g["rows"])
        for r in g["rows"]:
            rel = (r["simulated"] - r["observed"]) / r["observed"]
            assert r["gap"] == pytest.approx(one_sided(rel, r["bound"]))  # "more than N" read as N to 1.1 N
        gaps = sorted(r["gap"] for r in g["rows"])
        assert g["median"] == pytest.approx(float(np.median(gaps)))
        recent = [r["gap"] for r in g["rows"] if r["date"][:4] >= g["recent_from"]]
        assert g["recent_n"] == len(recent)
        assert g["first"] <= g["last"]


def test_the_overlay_series_end_on_the_tables_value(small_results):
    from simulator.app.planner_run import series, table_rows

    s = series(small_results)
    assert len(s["months"]) == len(s["rows"]["all"])
    for r in table_rows(small_results):
        assert s["rows"][r["row"]][-1] == pytest.approx(r["achieved"], abs=1)  # the table reads the last month
    sectors = [r for r in table_rows(small_results) if r["row"] in small_results.manifest["sectors"]]
    assert s["rows"]["all"][-1] >= max(s["rows"][r["row"]][-1] for r in sectors)


def test_the_table_shows_the_band_with_the_discrepancy_and_the_model_alone(small_results):
    from simulator.app.planner_run import table_rows
    from simulator.engine.outputs import month_to_decimal

    key = next(k for k, t in small_results.manifest["scenario"]["targets"].items() if t["sectors"] == ["gp"])
    end = month_to_decimal(small_results.manifest["months"][-1])
    res = _with_replications(small_results, key, [end - 3.0, end - 2.5, end - 2.0, end - 1.0])
    res.tables["replications"][f"target_reached_with_discrepancy_{key}"] = [end - 4.0, end - 2.5, end + 5, end + 5]
    band = next(r for r in table_rows(res) if r["row"] == "gp")["band"]
    assert band["with_discrepancy"] and band["share_reached"] == pytest.approx(2 / 4)  # the discrepancy's share
    assert band["model_alone"]["share_reached"] == pytest.approx(1.0)
    assert band["reached"][2] is None and band["model_alone"]["reached"][2] is not None  # p95: not by the end, with it
    assert band["reached"][0] < band["model_alone"]["reached"][0]  # p5: earlier with it


def test_the_in_sample_gap_is_read_from_the_discrepancy_file_of_the_scenario_or_what_it_extends(tmp_path):
    from simulator.app.uncertainty import in_sample

    shipped = in_sample("gp_fast")  # extends wave2.toml, which has the file
    assert shipped["file"] == "wave2.discrepancy.csv" and shipped["data_cutoff"] and shipped["rows"] >= 5
    assert 0 < shipped["median_abs_error"] < 1 and shipped["rms_log"] > 0
    parent = tmp_path / "p.toml"
    parent.write_text('name = "p"\n', encoding="utf-8")
    (tmp_path / "child.toml").write_text('extends = "p.toml"\nname = "child"\n', encoding="utf-8")
    (tmp_path / "p.discrepancy.csv").write_text(
        "# posterior: p.posterior.csv\n# data_cutoff: 2024-12-31\n"
        "group,rows,level_sd,drift_sd,mean_log_residual,median_abs_error\n"
        "pooled,7,0.3,0.01,0.0,0.12\ngp,3,0.3,0.01,0.693147,0.5\nnurse,0,0.3,0.01,,\n", encoding="utf-8")
    got = in_sample(str(tmp_path / "child.toml"))
    assert got["file"] == "p.discrepancy.csv" and got["posterior"] == "p.posterior.csv" and got["data_cutoff"] == "2024-12-31"
    assert got["rows"] == 7 and got["median_abs_error"] == pytest.approx(0.12) and got["rms_log"] == pytest.approx(0.3)
    gp, = got["groups"]  # a group without rows is left out
    assert gp["group"] == "gp" and gp["model_vs_observed"] == pytest.approx(-0.5)  # observed twice the model
    assert gp["label"]["fr"] == "Médecins de ville" and gp["label"]["en"]
    assert in_sample("demo") is None  # no calibrated scenario behind it


@pytest.mark.slow
def test_a_page_run_with_replications_carries_the_discrepancy_and_its_parts(tmp_path):
    """The page's worker on a one-year scenario with a discrepancy file: summary.json's table
    bands, the band's parts (seeds only: the page runs no posterior draws) and the in-sample gap."""
    import json

    from simulator.app.planner_run import SUMMARY, execute
    from simulator.engine.scenario import load_scenario
    from tests.conftest import BASELINE

    path = tmp_path / "short.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "short"\n\n[run]\nstart = 2023-01-01\nend = 2023-12-31\n'
                    "scale = 0.001\n", encoding="utf-8")
    (tmp_path / "short.discrepancy.csv").write_text(
        "# posterior: short.posterior.csv\n# data_cutoff: 2023-03-31\ngroup,rows,level_sd,drift_sd,mean_log_residual,median_abs_error\n"
        "pooled,9,0.3,0.05,0.1,0.2\n", encoding="utf-8")
    sent = []
    execute(load_scenario(path), 3, tmp_path / "out", {"scenario": str(path), "lang": "fr"}, lambda k, v: sent.append(k))
    assert "done" in sent and "files" in sent
    s = json.loads((tmp_path / "out" / SUMMARY).read_text(encoding="utf-8"))
    parts = s["discrepancy"]["parts"]
    assert s["discrepancy"]["file"] == "short.discrepancy.csv" and parts["split"] == "seeds only"
    assert parts["parameter"] == 0 and parts["seed"] + parts["discrepancy"] == pytest.approx(1.0)
    assert s["in_sample"]["rows"] == 9 and s["in_sample"]["median_abs_error"] == pytest.approx(0.2)
    bands = [r["band"] for r in s["table"] if r["band"] is not None]
    assert bands and all(b["with_discrepancy"] and b["n"] == 3 for b in bands)
    assert all(0 <= b["share_reached"] <= 1 and len(b["reached"]) == 3 for b in bands)


def test_the_forms_default_replications_is_set_by_the_command(tmp_path):
    from simulator.app.levers import DEFAULT_REPLICATIONS

    assert DEFAULT_REPLICATIONS > 1  # the page shows a band by default
    tc = pytest.importorskip("fastapi.testclient")
    from simulator.app import create_app

    for n in (DEFAULT_REPLICATIONS, 3):
        with tc.TestClient(create_app(cache_dir=tmp_path / f"c{n}", workers=1, teaching=False, replications=n)) as c:
            html = c.get("/").text
        assert re.search(rf'id="replications"[^>]*value="{n}"', html), n
