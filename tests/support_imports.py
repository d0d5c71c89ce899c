"""The project's import graph, read with ast (no module is imported): who imports whom, the
upward imports the layers forbid, the import circles, and the function-local imports.

Layers (design.md "Shape"): ``simulator.core`` imports nothing of the project; ``agents``
imports nothing of ``simulator`` but its core; ``scenarios`` imports neither ``agents`` nor
``simulator`` (core excepted); ``reports`` never imports engine internals. Imports under
``if TYPE_CHECKING:`` are annotations only and do not count for the layers; function-local
imports do. Leaves (``crossings``): the applications (studies, server, page, demo, command
line) import the engine, never each other, type-only imports included.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("agents", "simulator", "scenarios", "reports")
#: engine internals a report must never import
ENGINE_PARTS = ("engine", "world", "flows", "tally", "kernels", "modules", "day_plan")
#: the applications: leaves above the engine that never import each other
APPLICATIONS = ("simulator.studies", "simulator.server", "simulator.app", "simulator.demo", "simulator.cli")
#: the doors: the command line (one module per command) and the Python facade dispatch to the
#: applications (``segur serve`` starts the server…); no application imports them
DOORS = ("simulator.cli", "simulator.api")


@dataclass
class ImportGraph:
    """Modules of the project (dotted name → file) and their project imports."""

    files: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    local: list[tuple[str, int, str]] = field(default_factory=list)  # (module, line, imported) inside a function
    #: (module, line) → line of the first statement of the run of imports it belongs to
    block_start: dict[tuple[str, int], int] = field(default_factory=dict)
    #: imports under ``if TYPE_CHECKING:`` (annotations only): not layers' business, but a leaf's
    typed: dict[str, set[str]] = field(default_factory=dict)

    def resolve(self, name: str) -> str | None:
        """The project module a dotted name lies in (the longest prefix that is a module)."""
        while name and name not in self.files:
            name = name.rpartition(".")[0]
        return name or None

    def crossings(self) -> list[str]:
        """Every import, type-only ones included, by which an application reaches another
        application, or the engine or the reports reach an application (``leaf_of``)."""
        bad = []
        for m in sorted(self.edges):
            for t in sorted(self.edges[m] | self.typed.get(m, set())):
                if crosses(m, t):
                    bad.append(f"{m} -> {t}")
        return bad

    def upward(self) -> list[str]:
        """Every import the layers forbid, as ``importer -> imported``."""
        bad = []
        for m, targets in self.edges.items():
            for t in sorted(targets):
                if not allowed(m, t):
                    bad.append(f"{m} -> {t}")
        return bad

    def circles(self) -> list[list[str]]:
        """Import circles between modules (strongly connected components of two or more;
        a package's ``__init__`` facade is not part of any)."""
        graph = {m: {t for t in ts if not _is_init(self.files[t])} for m, ts in self.edges.items()
                 if not _is_init(self.files[m])}
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        out: list[list[str]] = []
        counter = [0]

        def strong(v: str) -> None:  # Tarjan, iterative enough for ~150 modules
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    strong(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

        for v in sorted(graph):
            if v not in index:
                strong(v)
        return out


def leaf_of(module: str) -> str | None:
    """The application a module belongs to (None: the engine, the agents, the scenarios, the
    reports)."""
    return next((app for app in APPLICATIONS if module == app or module.startswith(app + ".")), None)


def crosses(importer: str, imported: str) -> bool:
    """Whether ``importer`` reaching ``imported`` breaks the leaves: an application imports
    the engine and the libraries below it, never another application; nothing below the
    applications imports one. The doors (the command line, the Python facade) dispatch to
    every application and are imported by none."""
    target = leaf_of(imported)
    if target is None or importer.startswith(DOORS) or target == leaf_of(importer):
        return False
    return True


def _is_init(path: Path) -> bool:
    return path.name == "__init__.py"


def allowed(importer: str, imported: str) -> bool:
    """Whether ``importer`` may import ``imported`` under the layers."""
    a, b = importer.split(".")[0], imported.split(".")[0]
    parts = imported.split(".")
    core = "core" in parts
    if importer.startswith("simulator.core") and not imported.startswith("simulator.core"):
        return False
    if a == "agents" and b == "simulator" and not core:
        return False
    if a == "scenarios" and b in ("agents", "simulator") and not core:
        return False
    if a == "reports" and b == "simulator" and (parts[-1] in ENGINE_PARTS or imported == "simulator.engine"):
        return False
    return True


def _module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _function_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {id(n) for n in ast.walk(node) if n is not node}
    return inside


def build_graph(root: Path) -> ImportGraph:
    """The import graph of the four packages under ``root``."""
    files = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            files[_module_name(root, path)] = path
    graph = ImportGraph(files)
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _note_import_runs(graph, mod, tree)
        skip = _type_checking_nodes(tree)
        local = _function_nodes(tree)
        targets: set[str] = set()
        typed: set[str] = set()
        for node in ast.walk(tree):
            precise = _imported(graph, mod, path, node)
            if not precise:
                continue
            if id(node) in skip:
                typed |= precise
                continue
            targets |= precise
            if id(node) in local:
                graph.local.extend((mod, node.lineno, t) for t in sorted(precise))
        graph.edges[mod] = targets
        graph.typed[mod] = typed
    return graph


def _note_import_runs(graph: ImportGraph, mod: str, tree: ast.AST) -> None:
    """Runs of consecutive import statements in one body: each import's run's first line."""
    for parent in ast.walk(tree):
        for body in (getattr(parent, f, None) for f in ("body", "orelse", "finalbody")):
            if not isinstance(body, list):
                continue
            start = None
            for stmt in body:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    start = stmt.lineno if start is None else start
                    graph.block_start[(mod, stmt.lineno)] = start
                else:
                    start = None


def _imported(graph: ImportGraph, mod: str, path: Path, node: ast.AST) -> set[str]:
    """The project modules an import statement names (none for another node)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = mod.split(".") if _is_init(path) else mod.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            m = ".".join(base + ([node.module] if node.module else []))
        else:
            m = node.module or ""
        names = [m] + [f"{m}.{a.name}" for a in node.names]
    found = {graph.resolve(n) for n in names if n.split(".")[0] in PACKAGES}
    found = {t for t in found if t and t != mod}
    # ``from pkg import module`` names the module, not the package facade
    return {t for t in found if not any(o != t and o.startswith(t + ".") for o in found)}
