"""The package's shape: no import cycles in ``dashboard/``, and imports at the top of modules.

Both tests read the source with :mod:`ast` (nothing is imported), so they see every
import, including one inside a function that a test run might never reach.

* The import graph has an edge from a module to each ``dashboard`` module it imports:
  ``import a.b``, ``from a import b`` (an edge to ``a.b`` when that is a module, else to the
  package ``a``), relative imports, and imports inside functions.  Importing ``a.b`` also
  runs ``a/__init__.py`` first, so there is an edge to each package above the target too,
  unless the importing module sits inside that package (which is then already loaded).
  Imports under ``if TYPE_CHECKING:`` are left out: they never run.
* An import inside a function or method body must say why, in a comment on its line or
  the line above (an optional or heavy dependency kept off the command line's hot path,
  for example: ``tests/test_cli_process.py`` checks that ``import``/``review`` never load
  pandas).  Module-level imports below other code are ruff's E402.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

PACKAGE = "dashboard"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool

    @property
    def package(self) -> str:
        """The package relative imports in this module are resolved against."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        found[name] = Module(name, path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement that can run, with whether it sits inside a function body."""
    out: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit_stmt(other, in_function)
                continue
            visit_stmt(child, in_function)

    def visit_stmt(child: ast.AST, in_function: bool) -> None:
        if isinstance(child, ast.Import | ast.ImportFrom):
            out.append((child, in_function))
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            visit(child, True)
        else:
            visit(child, in_function)

    visit(tree, False)
    return out


def _targets(node: ast.Import | ast.ImportFrom, module: Module, modules: dict[str, Module]) -> set[str]:
    """The ``dashboard`` modules an import statement loads by name."""
    names: set[str] = set()
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        if node.level:
            base = module.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        for alias in node.names:
            sub = f"{prefix}.{alias.name}"
            names.add(sub if sub in modules else prefix)
    return {n for n in names if n in modules}


def _packages_above(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]``: the packages whose ``__init__`` runs before it."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _is_inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, module in modules.items():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        edges: set[str] = set()
        for node, _ in _imports(tree):
            for target in _targets(node, module, modules):
                edges.add(target)
                edges |= {p for p in _packages_above(target) if not _is_inside(name, p)}
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)

    cycles = []
    for component in components:
        members = set(component)
        start = component[0]
        # breadth-first search back to the start inside the component: a shortest cycle
        paths = {start: [start]}
        queue = [start]
        cycle: list[str] = []
        while queue and not cycle:
            v = queue.pop(0)
            for w in sorted(graph[v] & members):
                if w == start:
                    cycle = [*paths[v], start]
                    break
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
        cycles.append(cycle)
    return cycles


def test_the_walker_sees_every_kind_of_import(tmp_path):
    """The graph builder itself: absolute, relative, from-package-import-submodule, in a
    function, and not under TYPE_CHECKING."""
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import dashboard.units\n"
        "from . import dates\n"
        "from .values import parse\n"
        "from dashboard.rules import engine, review_dataset\n"
        "if TYPE_CHECKING:\n"
        "    from dashboard import panel\n"
        "def f():\n"
        "    from dashboard import views  # why\n"
    )
    modules = _modules()
    me = modules["dashboard.ingest.labs"]
    found: set[str] = set()
    inside = []
    for node, in_function in _imports(ast.parse(source)):
        found |= _targets(node, me, modules)
        inside.append(in_function)
    assert found == {
        "dashboard.units",
        "dashboard.ingest.dates",
        "dashboard.ingest.values",
        "dashboard.rules.engine",
        "dashboard.rules",
        "dashboard.views",
    }
    assert inside == [False] * 6 + [True]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}) == [["a", "b", "c", "a"], ["d", "d"]]


def test_no_import_cycles_in_the_package():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles in dashboard/:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _comments(source: str) -> tuple[set[int], set[int]]:
    """The lines holding a comment, and those holding nothing else."""
    commented: set[int] = set()
    code: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            commented.add(tok.start[0])
        elif tok.type not in skip:
            code.update(range(tok.start[0], tok.end[0] + 1))
    return commented, commented - code


def test_imports_inside_functions_say_why():
    """An import in a function body needs a comment saying why it is not at the top of the
    module: on its line, or on a line of its own just above it (or above the run of imports
    it belongs to)."""
    unexplained = []
    for module in _modules().values():
        source = module.path.read_text(encoding="utf-8")
        commented, comment_only = _comments(source)
        explained_up_to = -1  # the last line of an explained import: the next one right below shares its comment
        for node, in_function in sorted(_imports(ast.parse(source)), key=lambda n: n[0].lineno):
            if not in_function:
                continue
            line = node.lineno
            if line in commented or line - 1 in comment_only or line - 1 == explained_up_to:
                explained_up_to = node.end_lineno or line
            else:
                unexplained.append(f"{module.path.relative_to(ROOT)}:{line}")
    assert not unexplained, (
        "imports inside functions without a comment saying why (move them to the top):\n" + "\n".join(unexplained)
    )
