"""Every code block of README.md and docs/*.md is checked, so a broken example fails CI.

- ```python blocks run, each as a script file (so process pools can spawn workers from it) in a
  scratch folder that sees the repository's scenarios/, docs/ and examples/;
- shell blocks (```bash, ```sh): every `segur …` command is parsed by the real `segur` parser,
  every `.toml` file it names must exist, every `python FILE.py` / `python -m MODULE` must be
  there; a block tagged `run` is also executed (bash -e);
- ```toml and ```json blocks must parse.

A tag on the line just before a block changes this, with its reason visible in the doc source:
``<!-- doc-test: skip — needs a running segur serve -->`` (not checked; the reason is required),
``<!-- doc-test: slow -->`` (runs in the slow tier: `pytest -m slow`, and in CI),
``<!-- doc-test: run -->`` (a shell block that is cheap enough to execute).
Blocks without a language (printed output, trees) are not code and are not checked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
TAG = re.compile(r"<!--\s*doc-test:\s*(\w+)\s*(.*?)\s*-->")
SHELL = ("bash", "sh", "shell")
TAGS = ("skip", "slow", "run")
SHARED = ("scenarios", "docs", "examples")  # what the examples read, relative to the repository root


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, its code and its tag."""

    path: Path
    line: int
    lang: str
    code: str
    tag: str = ""
    reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, each with the tag on the line before it (if any)."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        tag = TAG.fullmatch(before.strip())
        out.append(Block(path, text.count("\n", 0, m.start()) + 1, m.group(1).lower(), m.group(2),
                         tag.group(1) if tag else "", tag.group(2).lstrip("—-: ").strip() if tag else ""))
    return out


ALL = [b for p in DOCS for b in blocks(p)]
CODE = [b for b in ALL if b.lang]


def _param(b: Block):
    marks = [pytest.mark.slow] if b.tag == "slow" else []
    if b.tag == "skip":
        marks.append(pytest.mark.skip(reason=f"{b.id}: {b.reason}"))
    return pytest.param(b, id=b.id, marks=marks)


def test_the_docs_have_code_and_most_of_it_is_checked():
    assert sum(b.lang == "python" for b in CODE) >= 5
    skipped = [b for b in CODE if b.tag == "skip"]
    assert len(skipped) * 3 < len(CODE), [b.id for b in skipped]


def test_every_tag_is_known_and_every_skip_says_why():
    for p in DOCS:
        text = p.read_text(encoding="utf-8")
        for m in TAG.finditer(text):
            assert m.group(1) in TAGS, f"{p.name}: unknown doc-test tag {m.group(1)!r} (allowed: {', '.join(TAGS)})"
    for b in CODE:
        if b.tag == "skip":
            assert len(b.reason) >= 10, f"{b.id}: a skipped block says why (<!-- doc-test: skip — reason -->)"
        if b.tag == "run":
            assert b.lang in SHELL, f"{b.id}: `run` is for shell blocks (python blocks always run)"


@pytest.fixture
def scratch(tmp_path) -> tuple[Path, dict[str, str]]:
    """A working folder that sees the repository's inputs, and the environment to run in."""
    for name in SHARED:
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg", "XDG_DATA_HOME": str(tmp_path / ".data"),
           "COLUMNS": "120"}
    return tmp_path, env


@pytest.mark.parametrize("block", [_param(b) for b in CODE if b.lang == "python"])
def test_python_block_runs(block: Block, scratch):
    cwd, env = scratch
    script = cwd / "doc_example.py"
    script.write_text(block.code, encoding="utf-8")
    proc = subprocess.run([sys.executable, script.name], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"{block.id} failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, f"{block.id} printed a traceback:\n{proc.stderr[-3000:]}"


def _commands(code: str) -> list[list[str]]:
    """The simple commands of a shell block: continuations joined, comments dropped, split on
    && ; | and $( … ), leading VAR=value assignments removed."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        inner = re.findall(r"\$\(([^)]*)\)", line)
        line = re.sub(r"\$\([^)]*\)", "X", line)
        for part in [*re.split(r"&&|;|\|", line), *inner]:
            lexer = shlex.shlex(part, posix=True, punctuation_chars="<>&")
            lexer.whitespace_split, lexer.commenters = True, "#"
            words = [w for w in lexer if w not in ("<", ">", "&")]
            while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
                words.pop(0)
            if words:
                out.append(words)
    return out


def _check_command(words: list[str], where: str) -> None:
    from simulator.cli import build_parser

    if words[0] == "segur":
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as exc:
            pytest.fail(f"{where}: `{shlex.join(words)}` is refused by segur's parser (exit {exc.code})")
        for w in words[1:]:
            if w.endswith(".toml") and not w.startswith("-"):
                assert (REPO / w).exists(), f"{where}: `{shlex.join(words)}` names {w}, which does not exist"
    elif words[0] in ("python", "python3") and len(words) > 1:
        if words[1] == "-m" and words[2] != "venv":
            import importlib.util

            assert importlib.util.find_spec(words[2]) is not None, f"{where}: no module {words[2]}"
        elif words[1].endswith(".py") and not words[1].startswith("../"):
            assert (REPO / words[1]).exists(), f"{where}: no script {words[1]}"


@pytest.mark.parametrize("block", [_param(b) for b in CODE if b.lang in SHELL])
def test_shell_block_commands_are_what_segur_accepts(block: Block, scratch, capsys):
    for words in _commands(block.code):
        _check_command(words, block.id)
    if block.tag == "run":
        cwd, env = scratch
        proc = subprocess.run(["bash", "-e", "-c", block.code], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{block.id} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"


@pytest.mark.parametrize("block", [_param(b) for b in CODE if b.lang in ("toml", "json")])
def test_data_blocks_parse(block: Block):
    if block.lang == "toml":
        tomllib.loads(block.code)
    else:
        json.loads(block.code)


def test_the_command_splitter():
    code = 'TOKEN=$(segur token --rpps 1)  # a token\ncurl -H "A: $TOKEN" \\\n  --data @x.json && segur run a.toml; echo "#"'
    assert _commands(code) == [["segur", "token", "--rpps", "1"], ["curl", "-H", "A: $TOKEN", "--data", "@x.json"],
                               ["segur", "run", "a.toml"], ["echo", "#"]]


def test_the_readme_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    line = next(ln for ln in ci.splitlines() if ln.startswith("python3 -m venv"))
    assert line in readme and "'.[test,calibrate]'" in line
