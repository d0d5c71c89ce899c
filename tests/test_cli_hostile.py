"""The command line against careless input: each case one line on stderr and exit 2 (130 after
Ctrl-C), never a traceback — a seed out of range, Ctrl-C while the modules import, a --cutoff
the calibration file would refuse as fit.end, a malformed --design file, `segur validate` on
JSON that is not an object, and `-` for standard input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def segur(*args: str, stdin: bytes | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], input=stdin, capture_output=True,
                          cwd=cwd, env=env, timeout=300)


def in_process(capsys, *args: str) -> tuple[int, str]:
    """`segur ARGS` called in this process (fast): exit code and the one line on stderr."""
    from simulator.cli import main

    code = main(list(args))
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return code, lines[0]


def one_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", [["run", "scenarios/demo.toml"], ["demo"], ["serve"],
                                     ["emit", "--to", "http://127.0.0.1:9/fhir"]])
@pytest.mark.parametrize("seed", [str(2**63), str(2**64), "-1", "9" * 400])
def test_a_seed_out_of_range_is_one_line(tmp_path, monkeypatch, capsys, command, seed):
    monkeypatch.chdir(tmp_path)  # nothing may be written, and nothing is
    command = [str(ROOT / c) if c.startswith("scenarios/") else c for c in command]
    code, line = in_process(capsys, *command, "--seed", seed)
    assert code == 2 and "--seed: an integer from 0 to 9223372036854775807" in line
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_the_modules_import_is_one_line_and_130(tmp_path):
    for delay in (0.3, 0.6, 1.0):
        proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "run", str(ROOT / "scenarios/demo.toml"),
                                 "--scale", "0.002", "--out", str(tmp_path / f"out-{delay}")], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, (delay, err.decode())
        assert err.decode().strip() == "segur: interrupted; nothing was written"
        assert not (tmp_path / f"out-{delay}").exists()


@pytest.mark.parametrize("method", ["abc", "lsq"])
def test_a_cutoff_beyond_the_run_is_refused_as_fit_end_is(tmp_path, capsys, method):
    code, line = in_process(capsys, "calibrate", str(ROOT / "scenarios/calibration.toml"), "--method", method,
                            "--cutoff", "2030-01-01", "--out", str(tmp_path / "out"))
    assert code == 2 and line.startswith("segur: error: --cutoff 2030-01-01: must be after the run start")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", [b"garbage,x\n1,2\n", b"", b"\x00\xff\xfe", b"a\n"])
def test_a_malformed_design_file_is_named_as_such(tmp_path, capsys, content):
    design = tmp_path / "design.csv"
    design.write_bytes(content)
    code, line = in_process(capsys, "calibrate", str(ROOT / "scenarios/calibration.toml"), "--design", str(design),
                            "--out", str(tmp_path / "out"))
    assert code == 2 and not (tmp_path / "out").exists()
    assert str(design) in line and ("malformed design file" in line or "not a design CSV" in line), line


@pytest.mark.parametrize(("text", "kind"), [(b"null", "null"), (b"[1, 2]", "an array"), (b'"x"', "a string"),
                                            (b"3", "a number"), (b"true", "true or false")])
def test_validate_names_what_the_json_is(tmp_path, capsys, text, kind):
    f = tmp_path / "x.json"
    f.write_bytes(text)
    code, line = in_process(capsys, "validate", str(f))
    assert code == 2 and line == (f"segur: error: {f}: the JSON is {kind}, not a FHIR resource (expected an "
                                  "object with a resourceType)")


def test_validate_reads_standard_input(tmp_path):
    example = ROOT.parent / "shared" / "data" / "fhir-examples" / "Bundle-example-td2-iti65-lot-soumission.json"
    body = example.read_bytes() if example.exists() else b'{"resourceType": "Patient", "id": "p"}'
    r = segur("validate", "-", stdin=body)
    assert r.returncode in (0, 1) and r.stdout.decode().startswith("-: ")
    r = segur("validate", "-", stdin=b"")
    assert r.returncode == 2 and one_line(r) == "segur: error: -: standard input is empty"
    r = segur("validate", "-", stdin=b"null")
    assert r.returncode == 2 and "the JSON is null" in one_line(r)
