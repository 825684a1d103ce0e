"""The layering rule: models <- explainers <- dashboard, and only dashboard/ imports streamlit."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "models": {"explainers", "dashboard", "streamlit", "streamlit_drawable_canvas"},
    "explainers": {"dashboard", "streamlit", "streamlit_drawable_canvas"},
    "dashboard": set(),
}


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports (absolute imports, anywhere in the file)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def package_files(pkg: str) -> list[Path]:
    return sorted((ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", sorted(FORBIDDEN))
def test_package_imports_only_lower_layers(pkg):
    files = package_files(pkg)
    assert files, f"{pkg}/ has no Python files"
    bad = {
        f"{f.relative_to(ROOT)} imports {name}"
        for f in files
        for name in imported_roots(f) & FORBIDDEN[pkg]
    }
    assert not bad, sorted(bad)


def test_streamlit_only_in_dashboard():
    offenders = [
        str(f.relative_to(ROOT))
        for f in ROOT.rglob("*.py")
        if not {".venv", "tests", "dashboard", "data"} & set(f.relative_to(ROOT).parts)
        and "streamlit" in imported_roots(f)
    ]
    assert not offenders, offenders


def test_detector_sees_a_violation(tmp_path):
    """The checker itself works: a planted bad import is found (also inside a function)."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import streamlit as st\n    from dashboard.app import x\n")
    assert {"streamlit", "dashboard"} <= imported_roots(bad)
