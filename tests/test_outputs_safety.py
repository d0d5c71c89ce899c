"""Output folders: nothing a user has is replaced or escapes its folder; bad targets fail before
the work with one line; two commands on one folder: one wins, the other says so."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pandas as pd
import pytest

from simulator import atomic
from simulator.atomic import (
    OUTPUT_MARKER,
    TMP_MARKER,
    atomic_folder,
    check_output,
    claim_output,
    clean_stale,
)
from simulator.cli import main
from simulator.core.errors import UsageError
from simulator.engine.results import Results
from tests.conftest import BASELINE, REPO
from tests.support_ensemble import one_error_line

TINY = "0.0002"


def _results() -> Results:
    return Results({"documents": pd.DataFrame({"count": [1, 2]})}, {"kind": "segur-testbed results"})


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# -- what may be replaced ----------------------------------------------------------------------
def test_same_kind_output_is_replaced_and_marked(tmp_path):
    out = tmp_path / "r"
    _results().save(out)
    marker = json.loads((out / OUTPUT_MARKER).read_text())
    assert marker["kind"] == "run" and "documents.csv" in marker["files"]
    _results().save(out)  # its own earlier output: replaced
    assert (out / "documents.csv").exists() and _hidden(tmp_path) == []


@pytest.mark.parametrize("intruder", ["notes.txt", "sub/deep.txt", "network/network.json"])
def test_a_file_we_did_not_write_stops_the_replacement(tmp_path, intruder):
    out = tmp_path / "r"
    _results().save(out)
    extra = out / intruder
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text("mine")
    with pytest.raises(UsageError, match="did not write"):
        _results().save(out)
    assert extra.read_text() == "mine"
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("kind", ["compare", "calibrate", "network", "demo", "sweep", "sensitivity"])
def test_another_kind_of_output_is_not_replaced(tmp_path, kind):
    out = tmp_path / "o"
    with atomic_folder(out, kind=kind) as tmp:
        (tmp / "manifest.json").write_text("{}")
    with pytest.raises(UsageError, match=f"segur {kind}"):
        _results().save(out)
    assert (out / "manifest.json").exists()


def test_overwrite_forces(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    with claim_output(out, "run", overwrite=True):
        _results().save(out)
    assert not (out / "thesis.tex").exists() and (out / "documents.csv").exists()


def test_nested_network_output_survives_a_later_run(small_report, tmp_path, capsys):
    import shutil

    res = tmp_path / "baseline"
    shutil.copytree(small_report, res)
    assert main(["network", str(res), "--quiet"]) == 0
    assert (res / "network" / "network.json").exists()
    code = main(["run", str(BASELINE), "--scale", TINY, "--quiet", "--out", str(res)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "network/" in line and "--overwrite" in line
    assert (res / "network" / "network.json").exists()


def test_report_files_become_part_of_the_run(small_report, tmp_path, capsys):
    import shutil

    res = tmp_path / "baseline"
    shutil.copytree(small_report, res)
    out_html = res / "other-report.html"
    assert main(["report", str(res), "--lang", "en", "--out", str(out_html), "--quiet"]) == 0
    assert out_html.exists()
    assert atomic.why_not_replaceable(res, "run") is None  # the next run may replace it


# -- safe names ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "../../escaped", "/tmp/abs", ".", "..", "a/b", "x" * 65, "new\nline", "é"])
def test_scenario_name_is_a_safe_slug(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\nname = {json.dumps(name)}\n', encoding="utf-8")
    code = main(["run", str(path), "--scale", TINY, "--quiet"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "s.toml" in line and "name" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


# -- checked before the work ---------------------------------------------------------------------
COMMANDS = {
    "run": lambda ctx: ["run", str(BASELINE), "--scale", TINY, "--quiet"],
    "compare": lambda ctx: ["compare", str(BASELINE), "gp_fast", "--scale", TINY, "--quiet"],
    "sweep": lambda ctx: ["sweep", str(BASELINE), "--grid", str(REPO / "docs/examples/sweep.toml"), "--scale", TINY, "--quiet"],
    "sensitivity": lambda ctx: ["sensitivity", str(BASELINE), "--params", str(REPO / "docs/examples/sens.toml"),
                                "--scale", TINY, "--quiet"],
    "calibrate": lambda ctx: ["calibrate", str(REPO / "scenarios/calibration.toml"), "--quiet"],
    "network": lambda ctx: ["network", str(ctx), "--quiet"],
    "demo": lambda ctx: ["demo", "--days", "2", "--pace", "0"],
    "report": lambda ctx: ["report", str(ctx), "--quiet"],
}
Bad = namedtuple("Bad", "out words")


def _bad_targets(tmp_path: Path) -> list[Bad]:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return [
        Bad("/proc/segur-out", "system folder"),
        Bad(str(a_file / "below"), "is a file"),
        Bad(str(a_file), "not a folder"),
        Bad(".", "current folder"),
    ]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_output_paths_fail_before_the_work(small_report, tmp_path, capsys, monkeypatch, command):
    import shutil

    res = tmp_path / "res"
    shutil.copytree(small_report, res)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for bad in _bad_targets(tmp_path):
        if command == "report":
            if bad.out == ".":
                continue  # a report is a file: "." is a folder (refused, tested below)
            if bad.out.endswith("a_file"):
                continue  # a report may replace an HTML file
        t0 = time.perf_counter()
        code = main([*COMMANDS[command](res), "--out", bad.out])
        line = one_error_line(capsys.readouterr().err)
        assert code == 2, (command, bad)
        assert bad.out in line or bad.words in line, (command, line)
        assert time.perf_counter() - t0 < 20, "checked before the simulation"
    assert sorted(p.name for p in work.iterdir()) == []
    assert (tmp_path / "a_file").read_text() == "x"


def test_read_only_target_is_one_line(tmp_path, capsys, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkdtemp", read_only)
    code = main(["run", str(BASELINE), "--scale", TINY, "--quiet", "--out", str(tmp_path / "r")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "read-only" in line


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_folder_is_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code = main(["run", str(BASELINE), "--scale", TINY, "--quiet", "--out", str(locked / "r")])
    assert code == 2 and "cannot write" in one_error_line(capsys.readouterr().err)


def test_full_disk_at_check_time_is_one_line(tmp_path, capsys, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 4096, 4096))
    code = main(["run", str(BASELINE), "--scale", TINY, "--quiet", "--out", str(tmp_path / "r")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "MB free" in line
    assert list(tmp_path.iterdir()) == []


def test_created_parents_are_removed_when_nothing_is_written(tmp_path):
    out = tmp_path / "a" / "b" / "c"
    with pytest.raises(RuntimeError):
        with claim_output(out, "run"):
            raise RuntimeError("the run failed")
    assert list(tmp_path.iterdir()) == []


# -- the lock ------------------------------------------------------------------------------------
HOLDER = """
import sys, time
from simulator.atomic import claim_output
with claim_output(sys.argv[1], "run"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_second_command_on_the_same_folder_says_so(tmp_path, capsys):
    out = tmp_path / "r"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["run", str(BASELINE), "--scale", TINY, "--quiet", "--out", str(out)])
        line = one_error_line(capsys.readouterr().err)
        assert code == 2 and "another segur command" in line and str(holder.pid) in line
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is free, and the next command cleans its lock file
    with claim_output(out, "run"):
        pass
    assert _hidden(tmp_path) == []


# -- stale temporary folders ---------------------------------------------------------------------
def test_stale_temporary_folders_are_cleaned_only_when_their_owner_is_gone(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / ".r.abcd1234"
    stale.mkdir()
    (stale / "documents.csv").write_text("partial")
    (stale / TMP_MARKER).write_text(json.dumps({"pid": dead_pid, "start": None, "name": stale.name}))
    live = tmp_path / ".r.efgh5678"
    live.mkdir()
    me = {"pid": os.getpid(), "start": atomic._pid_start(os.getpid()), "name": live.name}
    (live / TMP_MARKER).write_text(json.dumps(me))
    foreign = tmp_path / ".config.ijkl9012"  # named like ours, but no marker: not ours
    foreign.mkdir()
    (foreign / "user.txt").write_text("mine")
    clean_stale(tmp_path)
    assert not stale.exists() and live.exists() and (foreign / "user.txt").exists()


def test_check_output_refuses_a_symlink_without_overwrite(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UsageError, match="symbolic link"):
        check_output(link, "run")


@pytest.mark.slow
def test_full_disk_during_the_save_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    from simulator.cli.commands import run as run_command

    def full(results, folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_command, "write_report", full, raising=False)
    import reports.helper

    monkeypatch.setattr(reports.helper.ReportHelper, "writer", lambda self, res, tmp: full(res, tmp))
    code = main(["run", str(BASELINE), "--scale", TINY, "--quiet", "--out", str(tmp_path / "r")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "No space left" in line
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_an_older_version_asks_for_overwrite(tmp_path):
    old = tmp_path / "r"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"kind": "segur-testbed results"}))
    (old / "documents.csv").write_text("count\n1\n")
    with pytest.raises(UsageError, match="older segur-testbed.*--overwrite"):
        check_output(old, "run")


def test_report_does_not_replace_a_file_it_did_not_write(small_report, tmp_path, capsys):
    mine = tmp_path / "thesis.html"
    mine.write_text("<html>my thesis</html>")
    code = main(["report", str(small_report), "--out", str(mine), "--quiet"])
    assert code == 2 and "--overwrite" in one_error_line(capsys.readouterr().err)
    assert mine.read_text() == "<html>my thesis</html>"
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "notes.txt").write_text("keep")
    code = main(["report", str(small_report), "--out", str(tmp_path / "new.html"), "--quiet"])
    assert code == 2 and "notes.txt" in one_error_line(capsys.readouterr().err)
    assert (tmp_path / "figures" / "notes.txt").read_text() == "keep"
