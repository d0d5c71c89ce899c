"""Bounded work: input files that are not regular files or are huge are refused before reading
(nothing hangs), and sweep or sensitivity designs over the limit are refused with their size;
varying a run setting every point must share (run.scale…) is refused, never ignored."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from simulator.cli import main
from simulator.studies.parameters import MAX_DESIGN_RUNS
from tests.conftest import BASELINE
from tests.support_ensemble import one_error_line


def _run_bounded(args, timeout=20):
    """main(args) in a thread, failing the test if it does not return within ``timeout``."""
    box = {}

    def target():
        box["code"] = main(args)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"segur {' '.join(args)} hung"
    return box["code"]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("command", ["run", "sweep-grid", "calibrate"])
def test_device_is_refused_not_read(tmp_path, capsys, command):
    args = {"run": ["run", "/dev/zero"],
            "sweep-grid": ["sweep", str(BASELINE), "--grid", "/dev/zero"],
            "calibrate": ["calibrate", "/dev/zero"]}[command]
    code = _run_bounded([*args, "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "/dev/zero" in line and "not a regular file" in line


@pytest.mark.skipif(sys.platform == "win32", reason="FIFO")
def test_fifo_is_refused_not_waited_on(tmp_path, capsys):
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    code = _run_bounded(["run", str(fifo), "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and str(fifo) in line


def test_folder_and_huge_file_are_refused(tmp_path, capsys):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    assert main(["run", str(folder)]) == 2
    assert "folder" in one_error_line(capsys.readouterr().err)
    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as f:
        f.truncate(64 * 2**20)  # sparse: 64 MB that take no disk
    assert _run_bounded(["run", str(huge)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "huge.toml" in line and "too large" in line


@pytest.mark.parametrize("grid, words", [
    ('[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01, steps = 1000000000000 }', "steps"),
    ('[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01, steps = 1000 }\n'
     '"sectors.gp.uptake_p" = { min = 0.0001, max = 0.001, steps = 1000 }', "1,000,000 points"),
    ('replications = 100000\n[parameters]\n"sectors.gp.uptake_q" = [0.004, 0.008]', "runs"),
    ('method = "lhs"\nn = 100000000\n[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }', "runs"),
])
def test_sweep_over_the_limit_is_refused_with_its_size(tmp_path, capsys, grid, words):
    path = tmp_path / "grid.toml"
    path.write_text(grid, encoding="utf-8")
    code = _run_bounded(["sweep", str(BASELINE), "--grid", str(path), "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "grid.toml" in line and words in line
    assert f"{MAX_DESIGN_RUNS:,}" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("design", [
    'method = "morris"\ntrajectories = 100000000\noutput = { name = "dmp_accepted_year", year = 2023 }\n'
    '[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }',
    'method = "sobol"\nsamples = 1073741824\noutput = { name = "dmp_accepted_year", year = 2023 }\n'
    '[parameters]\n"sectors.gp.uptake_q" = { min = 0.001, max = 0.01 }',
])
def test_sensitivity_over_the_limit_is_refused_with_its_size(tmp_path, capsys, design):
    path = tmp_path / "sens.toml"
    path.write_text(design, encoding="utf-8")
    code = _run_bounded(["sensitivity", str(BASELINE), "--params", str(path), "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "sens.toml" in line and "runs" in line


@pytest.mark.parametrize("key", ["run.scale", "run.seed", "run.start", "run.end"])
def test_sweeping_a_shared_run_setting_is_refused(tmp_path, capsys, key):
    values = '["2023-01-01", "2023-02-01"]' if key in ("run.start", "run.end") else "[0.001, 0.002]"
    path = tmp_path / "grid.toml"
    path.write_text(f'[parameters]\n"{key}" = {values}\n', encoding="utf-8")
    code = main(["sweep", str(BASELINE), "--grid", str(path), "--out", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and key in line and "cannot vary" in line
