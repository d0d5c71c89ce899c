"""Golden output: each script in examples/ prints exactly what its committed .out file holds.

After a deliberate change of the model, regenerate with
``python examples/<name>.py > examples/<name>.out`` and review the diff. A script whose output
is a file in its own right (``iti65_bundle.py``, the sample bundle) has it as ``<name>.json``.
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
    missing = [p.name for p in SCRIPTS if not golden(p).exists()]
    assert not missing, f"examples without a committed .out: {missing}"


def golden(script: Path) -> Path:
    """The committed output of ``script``: ``<name>.json`` when it prints a file, else ``<name>.out``."""
    as_file = script.with_suffix(".json")
    return as_file if as_file.exists() else script.with_suffix(".out")


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_output_matches_golden(script: Path, tmp_path: Path):
    env = {**os.environ, "PYTHONHASHSEED": "12345", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = golden(script).read_text(encoding="utf-8")
    if proc.stdout != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), proc.stdout.splitlines(True),
                                            f"{golden(script).name} (committed)", f"{script.stem} (now)", n=1))
        pytest.fail(f"output of {script.name} differs from its golden file:\n{diff[:4000]}")
    assert str(tmp_path) not in proc.stdout, "an example printed an absolute path"
