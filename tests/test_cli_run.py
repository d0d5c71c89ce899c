"""`segur run`: exit codes, messages, the results folder and its atomic writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from simulator.cli import main
from simulator.engine.results import Results
from tests.conftest import BASELINE, REPO, write_scenario


@pytest.mark.slow
def test_run_writes_results_folder(tmp_path, capsys):
    out = tmp_path / "b7"
    code = main(["run", str(BASELINE), "--scale", "0.001", "--seed", "7", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "Documents in the last 12 months" in captured.out
    assert "wave1" in captured.out
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["seed"] == 7 and man["scale"] == 0.001
    assert man["scenario"]["name"] == "baseline"
    for name in man["tables"]:
        assert (out / f"{name}.csv").stat().st_size > 0
    res = Results.load(out)
    res.check_conservation()
    docs = pd.read_csv(out / "documents.csv", keep_default_na=False)
    assert {"month", "sector", "doc_type", "channel", "outcome", "reason", "count", "documents"} <= set(docs.columns)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.slow
def test_quiet_prints_nothing(tmp_path, capsys):
    short = write_scenario(tmp_path, """
        [run]
        end = 2023-12-31
        """, name="short")  # the whole command (summary, tables, report), to the baseline's last intervention
    code = main(["run", str(short), "--scale", "0.001", "--quiet", "--out", str(tmp_path / "q")])
    assert code == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "q" / "report.html").exists()


@pytest.mark.parametrize("args,message", [
    (["--scale", "0"], "--scale: must be greater than 0 and at most 1 (got 0.0)"),
    (["--scale", "2"], "--scale: must be greater than 0 and at most 1"),
    (["--seed", "-1"], "--seed: an integer from 0 to 9223372036854775807"),
    (["--seed", str(2**63)], "--seed: an integer from 0 to 9223372036854775807"),
])
def test_bad_options(tmp_path, capsys, args, message):
    code = main(["run", str(BASELINE), *args, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_missing_scenario_file(tmp_path, capsys):
    code = main(["run", str(tmp_path / "nope.toml")])
    err = capsys.readouterr().err
    assert code == 2 and "scenario file not found" in err


@pytest.mark.slow
def test_out_on_a_foreign_folder_is_refused(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    code = main(["run", str(BASELINE), "--scale", "0.001", "--quiet", "--out", str(foreign)])
    assert code == 2
    assert "is not a results folder" in capsys.readouterr().err
    assert (foreign / "thesis.tex").read_text(encoding="utf-8") == "precious"


@pytest.mark.slow
def test_failed_writer_leaves_nothing_half_written(tmp_path, small_results):
    out = tmp_path / "res"

    def broken(results, folder):
        (folder / "partial.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        small_results.save(out, writers=[broken])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_missing_and_foreign_folders(tmp_path):
    from simulator.core.errors import UsageError

    with pytest.raises(UsageError, match="no such results folder"):
        Results.load(tmp_path / "none")
    (tmp_path / "manifest.json").write_text('{"kind": "something else"}', encoding="utf-8")
    with pytest.raises(UsageError, match="not a segur-testbed results folder"):
        Results.load(tmp_path)


def test_console_script_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(BASELINE), "--scale", "0.3x"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "invalid float value" in proc.stderr and "Traceback" not in proc.stderr


def test_atomic_folder_replaces_only_on_success(tmp_path):
    from simulator.atomic import atomic_folder

    out = tmp_path / "deep" / "out"
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (out / "a.txt").read_text() == "first"
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # a normal folder, not mkdtemp's private one
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert (out / "a.txt").read_text() == "first"  # the old folder is untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # no temporary folder left
