"""Interrupted work leaves nothing behind: SIGTERM / SIGKILL during a save or an ensemble leave
no temporary folder that the next command does not clean, and no process behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BASELINE, REPO

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process table read from /proc")

# A save whose writer announces itself then takes its time, with the CLI's signal handling.
SAVER = """
import sys, time
from pathlib import Path
import pandas as pd
from simulator.interrupts import Terminated, install_signal_handlers
from simulator.engine.results import Results

def slow(res, tmp):
    (Path(tmp) / "part.csv").write_text("x" * 100000)
    print("saving", flush=True)
    time.sleep(30)

install_signal_handlers()
res = Results({"documents": pd.DataFrame({"count": range(1000)})}, {"kind": "segur-testbed results"})
try:
    res.save(sys.argv[1], writers=[slow])
except Terminated:
    sys.exit(143)
"""


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in out:
                out.add(child)
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start_saver(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SAVER, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "saving"
    return proc


def test_sigterm_during_save_removes_the_temporary_folder(tmp_path):
    out = tmp_path / "r"
    proc = _start_saver(out)
    assert any(p.name.startswith(".r.") for p in tmp_path.iterdir())  # the temporary folder exists
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
    assert _leftovers(tmp_path) == [] and not out.exists()


def test_sigkill_during_save_is_cleaned_by_the_next_command(tmp_path):
    out = tmp_path / "r"
    (tmp_path / "mine.txt").write_text("keep")
    proc = _start_saver(out)
    proc.kill()
    proc.wait(timeout=20)
    assert _leftovers(tmp_path)  # SIGKILL cannot be handled: the temporary folder stays…
    import pandas as pd

    from simulator.engine.results import Results

    Results({"documents": pd.DataFrame({"count": [1]})}, {}).save(tmp_path / "other")
    assert _leftovers(tmp_path) == []  # …until the next command into that parent
    assert (tmp_path / "mine.txt").read_text() == "keep"


def _segur(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", *args], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigterm_at_random_moments_of_a_run(tmp_path):
    """A tiny run killed at a random moment: exit 143 (or 0 if it had finished), no leftover."""
    rnd = random.Random()
    for k in range(3):
        out = tmp_path / f"r{k}"
        proc = _segur("run", str(BASELINE), "--scale", "0.0002", "--quiet", "--out", str(out))
        time.sleep(rnd.uniform(0.5, 8.0))  # from the imports to past the end of the run
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        err = proc.stderr.read()
        assert code in (0, 143), err
        assert "Traceback" not in err
        assert _leftovers(tmp_path) == []
        assert out.exists() == (code == 0)


ENSEMBLES = {
    "run": lambda out: ["run", str(BASELINE), "--replications", "4"],
    "sweep": lambda out: ["sweep", str(BASELINE), "--grid", str(REPO / "docs/examples/sweep.toml")],
    "compare": lambda out: ["compare", str(BASELINE), "gp_fast", "--replications", "2"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(ENSEMBLES))
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_ensemble_workers_end_with_the_main_process(tmp_path, sig, command):
    """SIGTERM or SIGKILL to the main process of an ensemble (run --replications, sweep,
    compare --replications): its workers and the resource tracker are gone within seconds."""
    rnd = random.Random()
    out = tmp_path / "e"
    proc = _segur(*ENSEMBLES[command](out), "--scale", "0.0002", "--quiet", "--workers", "2", "--out", str(out))
    deadline = time.time() + 60
    kids: set[int] = set()
    while time.time() < deadline and len(kids) < 3:  # the tracker and two workers
        kids = _children(proc.pid)
        time.sleep(0.2)
    assert len(kids) >= 2, "the workers did not start"
    time.sleep(rnd.uniform(0.5, 4.0))
    kids |= _children(proc.pid)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code in ((143, 0) if sig == signal.SIGTERM else (-signal.SIGKILL,))
    end = time.time() + 15
    while time.time() < end and any(_alive(k) for k in kids):
        time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]
    if sig == signal.SIGTERM:
        assert _leftovers(tmp_path) == []
        assert "Traceback" not in proc.stderr.read()
    else:  # the next command into that parent cleans what the killed one left
        from simulator.atomic import claim_output

        with claim_output(tmp_path / "next", "run"):
            pass
        assert _leftovers(tmp_path) == []


def test_worker_initializer_ends_a_worker_whose_parent_is_gone():
    """The worker initializer exits when the parent it was given is not its parent."""
    code = subprocess.run([sys.executable, "-c",
                           "from simulator.engine.executors import _end_with_parent; _end_with_parent(1); print('survived')"],
                          capture_output=True, text=True, cwd=REPO)
    assert code.returncode == 1 and "survived" not in code.stdout
    ok = subprocess.run([sys.executable, "-c",
                         "import os\nfrom simulator.engine.executors import _end_with_parent\n_end_with_parent(os.getppid()); print('ok')"],
                        capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0 and "ok" in ok.stdout
    assert os.getpid() > 0
