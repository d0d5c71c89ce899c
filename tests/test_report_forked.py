"""Figures rendered on two cores come back complete, in order, and errors are not hidden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports import forked
from simulator.engine.executors import available_cores

ROOT = Path(__file__).resolve().parents[1]


def test_split_returns_every_result_in_order():
    jobs = [lambda i=i: (i, i * i) for i in range(7)]
    assert forked.run_split(jobs) == [(i, i * i) for i in range(7)]


CHILD_CHECK = """
import os
from reports import forked
assert forked.can_fork(), 'a fresh process on two cores must be allowed to fork'
pids = forked.run_split([os.getpid for _ in range(4)])
assert pids[0] == pids[2] == os.getpid(), pids
assert pids[1] == pids[3] != os.getpid(), pids
print('split ok')
"""


@pytest.mark.skipif(not hasattr(os, "fork") or available_cores() < 2, reason="needs fork and two cores")
def test_odd_jobs_run_in_a_child_when_forking_is_possible():
    # in a fresh process: this test session may have threads left by other tests (no fork then)
    proc = subprocess.run([sys.executable, "-c", CHILD_CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "split ok" in proc.stdout


def test_a_failing_job_raises_here_with_its_own_error():
    def boom():
        raise ValueError("figure data missing")

    with pytest.raises(ValueError, match="figure data missing"):
        forked.run_split([lambda: 1, boom, lambda: 3])
