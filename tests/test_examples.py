"""Golden output: each script in examples/ prints exactly what its committed .out file holds.

After a deliberate change of the model, regenerate with
``python examples/<name>.py > examples/<name>.out`` and review the diff.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_every_example_has_its_golden_output():
    assert SCRIPTS, "no example scripts found"
    missing = [p.name for p in SCRIPTS if not p.with_suffix(".out").exists()]
    assert not missing, f"examples without a committed .out: {missing}"


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_output_matches_golden(script: Path, tmp_path: Path):
    env = {**os.environ, "PYTHONHASHSEED": "12345", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = script.with_suffix(".out").read_text(encoding="utf-8")
    if proc.stdout != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), proc.stdout.splitlines(True),
                                            f"{script.stem}.out (committed)", f"{script.stem} (now)", n=1))
        pytest.fail(f"output of {script.name} differs from its golden file:\n{diff[:4000]}")
    assert str(tmp_path) not in proc.stdout, "an example printed an absolute path"
