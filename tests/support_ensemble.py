"""Helpers for the ensemble, sweep and sensitivity tests: a one-year scenario, run small."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BASELINE

SCALE = "0.001"
SHORT_RUN = {"run.start": "2023-01-01", "run.end": "2023-12-31"}


def write_short_scenario(folder: Path) -> Path:
    """A scenario extending the baseline over 2023 only (one simulated year, about a second a run)."""
    path = folder / "short.toml"
    path.write_text(
        f'extends = "{BASELINE.as_posix()}"\nname = "short"\n\n[run]\n'
        f'start = {SHORT_RUN["run.start"]}\nend = {SHORT_RUN["run.end"]}\n',
        encoding="utf-8",
    )
    return path


def run_study_command(tmp_path: Path, command: str, scenario: Path, option: str, file_name: str,
                      text: str, *extra: str) -> tuple[int, Path]:
    """``segur <command> SCENARIO <option> FILE`` (``tmp_path/file_name`` holding ``text``) at the
    small scale on two workers, into ``tmp_path/<command>``: (exit code, output folder)."""
    from simulator.cli import main

    study = tmp_path / file_name
    study.write_text(text, encoding="utf-8")
    out = tmp_path / command
    code = main([command, str(scenario), option, str(study), "--scale", SCALE, "--workers", "2",
                 "--out", str(out), *extra])
    return code, out


def refused_in_one_line(code: int, out: Path, err: str, file_name: str, words: str) -> None:
    """A study file refused: exit 2, one stderr line naming the file and saying ``words``, no folder."""
    line = one_error_line(err)
    assert code == 2
    assert file_name in line and words in line
    assert not out.exists()


def one_error_line(err: str) -> str:
    """The single stderr line of a usage error (and nothing else)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in err
    return lines[0]


def crash_on_first_attempt(x: int, attempt: int = 1) -> int:
    """A task that kills its worker process on its first attempt when ``x`` is 2."""
    import os

    if x == 2 and attempt == 1:
        os._exit(3)
    return x * 10
