"""The report helper forked at the start of `segur run` writes the same report as the run's own
process; a failing helper leaves the report to the run; a run without results reaps it.

The checks run in a fresh process (tests/support_report_helper.py): forking is only allowed
where no thread runs, and a test session may have threads left by other tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.engine.executors import available_cores

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32" or available_cores() < 2, reason="the helper needs fork and two cores")
def test_report_helper_in_a_fresh_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.support_report_helper", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "helper checks passed" in proc.stdout
