"""`segur serve`, `segur token` and `segur emit` from the command line: clear one-line errors with
exit 2 on bad input, tokens the server accepts, and the demo territory's agents posting to our
own server with 100% agreement — or to a failing endpoint, counted and retried, no traceback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from simulator.cli import main
from simulator.server.auth import load_keys
from simulator.server.config import ServerConfig
from simulator.server.pg_throwaway import free_port
from simulator.server.testing import running_server, serving
from tests.support_server import DEMO

SEGUR = [sys.executable, "-m", "simulator.cli"]


def run_cli(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(DEMO.rsplit("/scenarios", 1)[0])}
    return subprocess.run([*SEGUR, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


@pytest.mark.parametrize("args", [
    ["token", "--rpps", "123"],
    ["token", "--ins", "123456789012345"],
    ["token", "--id-nat-ps", "7xx"],
    ["token", "--rpps", "10003456789", "--ttl", "5"],
    ["serve", "--port", "70000"],
    ["serve", "--db", "mysql://x/y"],
    ["serve", "--db", "/no/such/folder/dmp.sqlite", "--port", "0"],
    ["serve", "--max-body", "10"],
    ["serve", "--data", "/no/such/folder/data", "--port", "0"],
    ["emit", "--to", "not a url"],
    ["emit", "--to", "http://127.0.0.1:9/fhir", "--rate", "-1"],
    ["emit", "--to", "http://127.0.0.1:9/fhir", "--concurrency", "0"],
    ["emit", "--to", "http://127.0.0.1:9/fhir", "--token-file", "/no/such/token"],
])
def test_bad_arguments_exit_2_with_one_line(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("segur: error:") and "Traceback" not in err


def test_token_needs_the_servers_key(tmp_path):
    r = run_cli("token", "--rpps", "10003456789", "--db", str(tmp_path / "dmp.sqlite"))
    assert r.returncode == 2 and "no signing key" in r.stderr


def test_token_finds_the_key_in_the_data_folder(tmp_path, monkeypatch):
    """Without --db or --key, the key is the data folder's ($XDG_DATA_HOME/segur-testbed, or --data)."""
    from simulator.server.auth import load_or_create_keys
    from simulator.server.config import default_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    here = tmp_path / "here"
    here.mkdir()
    folder = default_data_dir()
    assert folder == tmp_path / "xdg" / "segur-testbed"
    folder.mkdir(parents=True)
    keys = load_or_create_keys(folder / "dmp.sqlite.key")
    r = run_cli("token", "--rpps", "10003456789", cwd=here)
    assert r.returncode == 0, r.stderr
    assert keys.verify(r.stdout.strip()).id == "810003456789"
    other = tmp_path / "other"
    other.mkdir()
    keys2 = load_or_create_keys(other / "dmp.sqlite.key")
    r = run_cli("token", "--ins", "167063523891978", "--data", str(other), cwd=here)
    assert r.returncode == 0 and keys2.verify(r.stdout.strip()).id == "167063523891978"
    assert list(here.iterdir()) == []  # nothing written where the command ran
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # ignored, as the XDG specification says
    assert default_data_dir() == Path.home() / ".local" / "share" / "segur-testbed"


def test_serve_refuses_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = run_cli("serve", "--port", str(s.getsockname()[1]), "--no-seed", "--db", str(tmp_path / "d.sqlite"))
    assert r.returncode == 2 and "cannot listen" in r.stderr


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("own")
    config = ServerConfig.build(str(tmp / "dmp.sqlite"), scenario=DEMO)
    with running_server(config) as base:
        yield base, config, tmp


def test_tokens_from_the_command_line_are_accepted(own_server, capsys):
    base, config, tmp = own_server
    assert main(["token", "--rpps", "10003456789", "--db", str(tmp / "dmp.sqlite")]) == 0
    token = capsys.readouterr().out.strip()
    principal = load_keys(config.key_path).verify(token)
    assert (principal.kind, principal.id, principal.profession) == ("professional", "810003456789", "10")
    import httpx

    r = httpx.get(f"{base}/DocumentReference?patient.identifier=x" + "1" * 14,
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 403)  # authenticated: the record rules decide, not the token
    assert main(["token", "--ins", "167063523891978", "--key", str(config.key_path)]) == 0
    assert load_keys(config.key_path).verify(capsys.readouterr().out.strip()).id == "167063523891978"


def test_emit_to_our_own_server_agrees_with_the_simulation(own_server, tmp_path, capsys):
    base, config, tmp = own_server
    out = tmp_path / "emit"
    code = main(["emit", DEMO, "--to", base, "--db", str(tmp / "dmp.sqlite"), "--rate", "0",
                 "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    with open(out / "agreement.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["expected"] == r["observed"] and r["agree"] == "1" for r in rows)
    assert len({r["expected"] for r in rows}) >= 3  # accepted and at least two reasons of refusal
    summary = dict(csv.reader(open(out / "summary.csv", encoding="utf-8")))
    assert float(summary["agreement_pct"]) == 100.0
    assert int(summary["with_verdict"]) == int(summary["documents"]) > 100
    assert "agreement 100.0%" in printed
    docs = list(csv.DictReader(open(out / "documents.csv", encoding="utf-8")))
    assert {d["http_status"] for d in docs} <= {"200", "403", "422"}
    # a second emission finds every accepted document already there: same verdicts (idempotent)
    assert main(["emit", DEMO, "--to", base, "--db", str(tmp / "dmp.sqlite"), "--rate", "0",
                 "--max-documents", "40", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "agreement.csv", encoding="utf-8")))
    assert all(r["agree"] == "1" for r in rows) and sum(int(r["documents"]) for r in rows) == 40


def test_emit_to_a_dead_endpoint_counts_failures_without_a_traceback(tmp_path):
    port = free_port()
    r = run_cli("emit", DEMO, "--to", f"http://127.0.0.1:{port}/fhir", "--max-documents", "3", "--retries", "1",
                "--rate", "0", "--out", str(tmp_path / "out"), "--quiet", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr  # CI tells an endpoint down from a success
    assert r.stderr.strip().splitlines()[-1] == ("segur emit: 3 of 3 documents got no verdict (failed 3, "
                                                 "not sent 0)")
    assert "nan" not in r.stdout and "agreement (0 of 0)" in r.stdout and "p50 n/a" in r.stdout
    docs = list(csv.DictReader(open(tmp_path / "out" / "documents.csv", encoding="utf-8")))
    assert [d["observed"] for d in docs] == ["failed:connection_refused"] * 3
    assert all(d["attempts"] == "2" for d in docs)
    summary = dict(csv.reader(open(tmp_path / "out" / "summary.csv", encoding="utf-8")))
    assert summary["failures_connection_refused"] == "6" and summary["with_verdict"] == "0"
    # without --out, emit prints its tables and writes nothing where it runs
    here = tmp_path / "here"
    here.mkdir()
    r = run_cli("emit", DEMO, "--to", f"http://127.0.0.1:{port}/fhir", "--max-documents", "1", "--retries", "0",
                "--rate", "0", "--quiet", cwd=here)
    assert r.returncode == 1 and "documents 1" in r.stdout and "tables:" not in r.stdout, r.stderr
    assert list(here.iterdir()) == []


@contextmanager
def stand_in_endpoint(answer) -> Iterator[str]:
    """A stand-in FHIR endpoint on 127.0.0.1 whose POST /fhir is ``answer`` (a Starlette
    endpoint), served while the block runs; yields its base URL."""
    with serving(Starlette(routes=[Route("/fhir", answer, methods=["POST"])]), what="the stand-in endpoint") as port:
        yield f"http://127.0.0.1:{port}/fhir"


@pytest.mark.slow
def test_emit_retries_a_flaky_endpoint_and_stops_at_the_time_bound(tmp_path, capsys):
    seen: dict[bytes, int] = {}

    async def flaky(request):
        body = await request.body()
        seen[body] = seen.get(body, 0) + 1
        if seen[body] == 1:
            return Response("busy", status_code=503)
        return Response('{"resourceType": "Bundle", "type": "transaction-response"}', status_code=200,
                        media_type="application/fhir+json")

    with stand_in_endpoint(flaky) as url:
        code = main(["emit", DEMO, "--to", url, "--max-documents", "5",
                     "--rate", "0", "--out", str(tmp_path / "a"), "--quiet", "--token-file", str(_token(tmp_path)),
                     "--allow-disagreement"])  # this endpoint accepts everything
        assert code == 0
        docs = list(csv.DictReader(open(tmp_path / "a" / "documents.csv", encoding="utf-8")))
        assert [d["attempts"] for d in docs] == ["2"] * 5 and all(d["observed"] == "accepted" for d in docs)
        summary = dict(csv.reader(open(tmp_path / "a" / "summary.csv", encoding="utf-8")))
        assert summary["failures_http_503"] == "5"
        started = time.monotonic()
        code = main(["emit", DEMO, "--to", url, "--rate", "5", "--max-seconds", "1",
                     "--out", str(tmp_path / "b"), "--quiet", "--token-file", str(_token(tmp_path)),
                     "--allow-disagreement"])
        assert code == 1 and time.monotonic() - started < 60  # documents not sent: no verdict
        summary = dict(csv.reader(open(tmp_path / "b" / "summary.csv", encoding="utf-8")))
        assert int(summary["not_sent"]) > 0 and int(summary["documents"]) == int(summary["not_sent"]) + int(
            summary["with_verdict"]) + int(summary["failed"])


def test_emit_counts_a_2xx_without_fhir_and_a_disagreement_as_failures(tmp_path, capsys):
    answers = {"body": b"OK", "status": 200}

    async def endpoint(request):
        await request.body()
        return Response(answers["body"], status_code=answers["status"], media_type="text/plain")

    with stand_in_endpoint(endpoint) as url:
        args = ["emit", DEMO, "--to", url, "--max-documents", "4", "--rate", "0",
                "--quiet", "--token-file", str(_token(tmp_path)), "--days", "2"]
        assert main([*args, "--out", str(tmp_path / "a")]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1] == "segur emit: 4 of 4 documents got no verdict (failed 4, not sent 0)"
        docs = list(csv.DictReader(open(tmp_path / "a" / "documents.csv", encoding="utf-8")))
        assert {d["observed"] for d in docs} == {"failed:not_fhir"}
        answers.update(body=b'{"resourceType": "OperationOutcome", "issue": []}', status=422)
        assert main([*args, "--out", str(tmp_path / "b")]) == 1  # refused_422 each time: they disagree
        assert "disagreed with the simulation on 4 of 4" in capsys.readouterr().err
        assert main([*args, "--out", str(tmp_path / "c"), "--allow-disagreement"]) == 0


def _token(tmp_path):
    path = tmp_path / "t.jwt"
    path.write_text("a.b.c\n")
    return path


def test_serve_refuses_a_file_that_is_not_a_database(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.sqlite").write_text("not a database at all, just text\n" * 10)
    assert main(["serve", "--db", "notes.sqlite", "--port", str(free_port()), "--no-seed"]) == 2
    err = capsys.readouterr().err
    assert "notes.sqlite" in err and "not a database" in err and "Traceback" not in err
