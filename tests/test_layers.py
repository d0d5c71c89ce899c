"""Layers point down and nothing imports in a circle (read with ast; nothing is imported).

The checker itself is tested on small trees written for the purpose, so that a broken checker
cannot pass the project's own check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support_imports import allowed, build_graph, crosses


def _tree(root: Path, files: dict[str, str]) -> Path:
    for pkg in ("agents", "simulator", "scenarios", "reports"):
        (root / pkg).mkdir(parents=True, exist_ok=True)
        (root / pkg / "__init__.py").write_text("")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="module")
def project():
    return build_graph(REPO)


def test_the_project_imports_only_downward(project):
    assert project.upward() == []


def test_the_project_has_no_import_circle(project):
    assert project.circles() == []


def test_the_core_imports_nothing_of_the_project(project):
    graph = project
    core = {m: t for m, t in graph.edges.items() if m.startswith("simulator.core")}
    assert core and all(t <= set(core) for t in core.values())


@pytest.mark.parametrize("importer, imported", [
    ("agents/bad.py", "from simulator.engine import Simulation"),
    ("agents/services/bad.py", "import simulator.world"),
    ("scenarios/bad.py", "from agents.catalogue import load_catalogue"),
    ("scenarios/bad.py", "from simulator import results"),
    ("reports/bad.py", "from simulator.engine import run"),
    ("reports/bad.py", "def f():\n    from simulator.flows import FLOWS\n    return FLOWS"),
    ("simulator/core/bad.py", "from simulator.results import Results"),
])
def test_an_upward_import_is_caught(tmp_path, importer, imported):
    root = _tree(tmp_path, {"simulator/engine.py": "", "simulator/world.py": "", "simulator/results.py": "",
                            "simulator/flows.py": "", "agents/catalogue.py": "", "simulator/core/__init__.py": "",
                            importer: imported + "\n"})
    assert len(build_graph(root).upward()) == 1


def test_downward_and_annotation_only_imports_pass(tmp_path):
    root = _tree(tmp_path, {
        "simulator/core/__init__.py": "", "simulator/core/errors.py": "",
        "simulator/engine.py": "from agents.catalogue import x\nfrom simulator.core.errors import E\n",
        "agents/catalogue.py": "from simulator.core.errors import E\nfrom scenarios import DATA\n",
        "reports/html.py": "from simulator.results import Results\n",
        "simulator/results.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from simulator.engine import S\n",
    })
    graph = build_graph(root)
    assert graph.upward() == [] and graph.circles() == []


def test_a_circle_is_caught_even_through_a_function_local_import(tmp_path):
    root = _tree(tmp_path, {
        "simulator/a.py": "from simulator.b import x\n",
        "simulator/b.py": "from simulator.c import y\n",
        "simulator/c.py": "def f():\n    from simulator.a import z\n",
    })
    graph = build_graph(root)
    assert graph.circles() == [["simulator.a", "simulator.b", "simulator.c"]]
    assert [(m, t) for m, _, t in graph.local] == [("simulator.c", "simulator.a")]


def test_the_rules_of_the_layers():
    assert allowed("agents.patients", "simulator.core.streams")
    assert not allowed("agents.patients", "simulator.streams")
    assert allowed("scenarios.loader", "scenarios.schema")
    assert allowed("reports.html", "simulator.results")
    assert not allowed("reports.html", "simulator.engine")


def test_every_function_local_import_says_why(project):
    """A project module imported inside a function is there for start-up time, and says so
    (a comment on the line, above its run of imports, or within the run)."""
    silent = []
    for module, line, _ in project.local:
        lines = project.files[module].read_text(encoding="utf-8").splitlines()
        first = project.block_start[(module, line)]
        if not any(x.strip().startswith("#") or "# " in x for x in lines[first - 2:line]):
            silent.append(f"{project.files[module]}:{line}")
    assert silent == []


def test_the_applications_are_leaves(project):
    """Studies, server, page, demo and command line import the engine and never each other
    (type-only imports included); nothing below them imports one."""
    assert project.crossings() == []


@pytest.mark.parametrize("importer, imported", [
    ("simulator/server/bad.py", "from simulator.demo.world import DemoSimulation"),
    ("simulator/server/bad.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from simulator.demo.world import W"),
    ("simulator/app/bad.py", "def f():\n    from simulator.studies.ensemble import replicate\n    return replicate"),
    ("reports/bad.py", "from simulator.studies.ensemble import replicate"),
    ("simulator/results.py", "from simulator.app.server import create_app"),
])
def test_an_application_reaching_another_is_caught(tmp_path, importer, imported):
    root = _tree(tmp_path, {"simulator/results.py": "", "simulator/demo/__init__.py": "", "simulator/demo/world.py": "",
                            "simulator/studies/__init__.py": "", "simulator/studies/ensemble.py": "",
                            "simulator/app/__init__.py": "", "simulator/app/server.py": "",
                            "simulator/server/__init__.py": "", importer: imported + "\n"})
    assert len(build_graph(root).crossings()) == 1


def test_the_rules_of_the_leaves():
    assert crosses("simulator.server.world", "simulator.demo.teaching")
    assert crosses("reports.figures", "simulator.studies.compare_figure")
    assert crosses("simulator.engine", "simulator.studies.ensemble")
    assert not crosses("simulator.server.world", "simulator.small_world")  # the engine's
    assert not crosses("simulator.studies.compare", "reports.figures")  # reports lie below the applications
    assert not crosses("simulator.studies.sweep", "simulator.studies.ensemble")  # within one application
    assert not crosses("simulator.cli.commands.serve", "simulator.server.runner")  # the doors dispatch
    assert not crosses("simulator.api", "simulator.studies.sweep")
