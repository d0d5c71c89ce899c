"""Helpers shared by the FHIR / identity tests: the shipped official examples and the CLI."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def examples_dir() -> Path:
    """The official examples the project ships (agents/fhir/guides, with provenance)."""
    from agents.fhir.guides import EXAMPLES_DIR

    return EXAMPLES_DIR


def require_examples() -> Path:
    """The shipped examples folder (kept for callers written when it could be absent)."""
    return examples_dir()


def example_files() -> list[Path]:
    """Every official example file the project ships."""
    from agents.fhir.guides import example_files as shipped

    return shipped()


#: The guides' placeholder INSs (wrong NIR keys): PDSm's and the Cahier de liaison's / FR Core's.
PLACEHOLDER_INS = ("123456789012345", "123456789012244")


def placeholder_ins_examples() -> list[Path]:
    """The shipped examples that carry a placeholder INS (the others, e.g. the Annuaire's, are
    judged file by file in tests/test_guides.py)."""
    return [p for p in example_files() if any(i in p.read_text(encoding="utf-8") for i in PLACEHOLDER_INS)]


def load_example(name: str) -> dict:
    """A deep copy of one official example, to make broken variants from."""
    from agents.fhir.guides import example_path

    return copy.deepcopy(json.loads(example_path(name).read_text(encoding="utf-8")))


ITI65 = "Bundle-example-td2-iti65-lot-soumission.json"
REPLACEMENT = "Bundle-example-td2-1-remplacement.json"


VALIDATE = "simulator.cli.commands.validate"


def cli_modules() -> list[str]:
    """The sub-command modules that import, with ``validate`` among them."""
    import simulator.cli as cli

    modules = []
    for name in cli.COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # another sub-command under construction
            continue
        modules.append(name)
    return modules if VALIDATE in modules else [*modules, VALIDATE]


def segur_command() -> list[str]:
    """argv prefix running the real ``segur`` entry point in a subprocess.

    ``segur`` when installed and listing ``validate``, else ``python -m simulator.cli``; while
    ``simulator/cli/__init__.py`` does not list ``validate`` yet, a one-line shim registers it.
    """
    import shutil
    import sys

    import simulator.cli as cli

    if VALIDATE in cli.COMMAND_MODULES:
        segur = shutil.which("segur")
        return [segur] if segur else [sys.executable, "-m", "simulator.cli"]
    shim = (
        "import sys, simulator.cli as c; "
        f"c.COMMAND_MODULES.append({VALIDATE!r}); sys.exit(c.main())"
    )
    return [sys.executable, "-c", shim]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run ``segur`` in-process; returns (exit code, stdout, stderr).

    The engine's sub-commands are written in parallel: one that cannot be imported yet is left
    out, and ``validate`` is registered even if ``COMMAND_MODULES`` does not list it yet.
    """
    import simulator.cli as cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", cli_modules())
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
