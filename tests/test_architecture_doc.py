"""docs/architecture.md names real places: every path exists, every ``path:name`` is
defined there (a newcomer following the page never lands on a file that moved)."""

from __future__ import annotations

import ast
import re

from tests.support import ROOT

DOC = ROOT / "docs" / "architecture.md"


def _names(path) -> set[str]:
    """Top-level names of a module: functions, classes, assignments (and class methods)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
    return out


def _references() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    code = re.findall(r"`([^`\n]+)`", text)
    return [c for c in code if "/" in c or c.endswith((".py", ".toml", ".md"))]


def test_the_page_names_places():
    refs = _references()
    assert len(refs) > 60
    assert any(":" in r for r in refs)


def test_every_path_on_the_page_exists():
    missing = []
    for ref in _references():
        path = ref.split(":", 1)[0]
        if "*" in path:
            folder, _, pattern = path.rpartition("/")
            if not list((ROOT / folder).glob(pattern)):
                missing.append(ref)
        elif not (ROOT / path).exists():
            missing.append(ref)
    assert not missing, missing


def test_every_named_function_or_table_is_defined_where_the_page_says():
    wrong = []
    for ref in _references():
        if ":" not in ref:
            continue
        path, name = ref.split(":", 1)
        if name not in _names(ROOT / path):
            wrong.append(ref)
    assert not wrong, wrong


def test_the_diagram_paths_exist():
    text = DOC.read_text(encoding="utf-8")
    diagram = text.split("```", 2)[1]
    paths = set(re.findall(r"\b((?:dashboard|pages|docs)/[\w/]*[\w]+\.(?:py|toml|md)|streamlit_app\.py)\b", diagram))
    assert len(paths) > 10
    assert not [p for p in paths if not (ROOT / p).exists()]


def test_the_readme_links_the_page():
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
