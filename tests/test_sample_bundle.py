"""The vendors' sample bundle (examples/iti65_bundle.json): `segur validate` finds no error and
the simulated DMP accepts it, as the README shows with `segur serve`, `segur token` and curl; the
server's store and key go to its data folder, never to the current folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from simulator.cli import main
from simulator.server.pg_throwaway import free_port
from tests.conftest import REPO

SAMPLE = REPO / "examples" / "iti65_bundle.json"
SEGUR = [sys.executable, "-m", "simulator.cli"]


def author_rpps() -> str:
    """The RPPS of the sample's author (idNat_PS = 8 + RPPS), read from its DocumentReference."""
    bundle = json.loads(SAMPLE.read_text(encoding="utf-8"))
    ref = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    author = next(c for c in ref["contained"] if c["resourceType"] == "Practitioner")
    id_nat_ps = author["identifier"][0]["value"]
    assert id_nat_ps.startswith("8") and len(id_nat_ps) == 12
    return id_nat_ps[1:]


def test_the_sample_is_valid_and_uses_the_ins_test_oid(capsys):
    assert main(["validate", "--format", "json", str(SAMPLE)]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert not [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
    assert "urn:oid:1.2.250.1.213.1.4.10" in SAMPLE.read_text(encoding="utf-8")  # the INS test OID


def test_the_readme_posts_the_sample_with_its_authors_token():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("#### Post one document"):]
    assert f"segur token --rpps {author_rpps()}" in section
    assert "--data @examples/iti65_bundle.json" in section


@pytest.mark.slow
def test_validate_and_the_server_agree_on_the_sample(tmp_path):
    data, here = tmp_path / "data", tmp_path / "here"
    here.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": str(data), "PYTHONPATH": str(REPO)}
    port = free_port()
    server = subprocess.Popen([*SEGUR, "serve", "--port", str(port)], cwd=here, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/fhir"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
            time.sleep(0.3)
        token = subprocess.run([*SEGUR, "token", "--rpps", author_rpps()], cwd=here, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        r = httpx.post(base, content=SAMPLE.read_bytes(), timeout=30,
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["type"] == "transaction-response"
        assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created"] * 3
        verdict = subprocess.run([*SEGUR, "validate", str(SAMPLE)], cwd=here, env=env, capture_output=True, text=True)
        assert verdict.returncode == 0 and re.search(r"DMP verdict: accepted", verdict.stdout), verdict.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert list(here.iterdir()) == []  # nothing in the current folder
    store = data / "segur-testbed"
    assert (store / "dmp.sqlite").exists() and (store / "dmp.sqlite.key").exists()
    assert oct((store / "dmp.sqlite.key").stat().st_mode & 0o777) == "0o600"
