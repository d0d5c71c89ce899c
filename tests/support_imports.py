"""The project's import graph, read with ast (no module is imported): who imports whom, the
upward imports the layers forbid, the import circles, and the function-local imports.

Layers (design.md "Shape"): ``simulator.core`` imports nothing of the project; ``agents``
imports nothing of ``simulator`` but its core; ``scenarios`` imports neither ``agents`` nor
``simulator`` (core excepted); ``reports`` never imports engine internals. Imports under
``if TYPE_CHECKING:`` are annotations only and do not count; function-local imports do.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("agents", "simulator", "scenarios", "reports")
#: engine internals a report must never import
ENGINE_PARTS = ("engine", "world", "flows", "tally", "kernels", "modules", "day_plan")


@dataclass
class ImportGraph:
    """Modules of the project (dotted name → file) and their project imports."""

    files: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    local: list[tuple[str, int, str]] = field(default_factory=list)  # (module, line, imported) inside a function
    #: (module, line) → line of the first statement of the run of imports it belongs to
    block_start: dict[tuple[str, int], int] = field(default_factory=dict)

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
    if a == "reports" and b == "simulator" and any(x in parts for x in ENGINE_PARTS):
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

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        local = _function_nodes(tree)
        targets: set[str] = set()
        for parent in ast.walk(tree):  # runs of consecutive import statements in one body
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
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
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
            found = {resolve(n) for n in names if n.split(".")[0] in PACKAGES}
            found = {t for t in found if t and t != mod}
            # ``from pkg import module`` names the module, not the package facade
            precise = {t for t in found if not any(o != t and o.startswith(t + ".") for o in found)}
            targets |= precise
            if precise and id(node) in local:
                graph.local.extend((mod, node.lineno, t) for t in sorted(precise))
        graph.edges[mod] = targets
    return graph
