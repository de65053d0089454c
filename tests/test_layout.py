"""The layout's rules (README, Layout), checked on the source: sizes, which package imports which, and
that only tools/platforms/ asks which platform it is on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "graphs", "tools")
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def test_no_module_over_400_lines_and_no_function_over_60():
    long_modules = [
        (rel(p), n) for p in modules(*PACKAGES) if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    long_functions = [
        (rel(p), node.name, node.end_lineno - node.lineno + 1)
        for p in modules(*PACKAGES)
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long_modules and not long_functions


def test_graphs_import_tools_only_through_the_registry_and_never_agent():
    bad = [
        (rel(p), n)
        for p in modules("graphs")
        for n in imported(p)
        if n.split(".")[0] == "agent"
        or (n.split(".")[0] == "tools" and not n.startswith(("tools.registry", "tools.errors")))
    ]
    assert not bad


def test_tools_never_import_the_application_or_the_graph():
    bad = [(rel(p), n) for p in modules("tools") for n in imported(p) if n.split(".")[0] in ("agent", "graphs")]
    assert not bad


def _platform_comparisons(path: Path, names: set[str]) -> list[tuple[str, int]]:
    """`x == "cpu"`, `x != "rocm"`, `x in ("cuda", ...)` and the like."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        for side in [node.left, *node.comparators]:
            values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                found.append((rel(path), node.lineno))
    return found


def test_only_the_platforms_compare_platform_names():
    from tools.platforms import names

    outside = [p for p in modules(*PACKAGES) if "platforms" not in p.relative_to(ROOT).parts]
    assert not [hit for p in outside for hit in _platform_comparisons(p, set(names()))]


def test_the_check_sees_a_comparison(tmp_path):
    """The rule above can fail: a planted comparison is found."""
    planted = tmp_path / "planted.py"
    planted.write_text('def f(platform):\n    return platform == "rocm" or platform in ("cuda", "x")\n')
    assert len(_platform_comparisons(planted, {"rocm", "cuda", "cpu"})) == 2


@pytest.mark.parametrize(
    "module",
    [
        "tools.read_reference",
        "tools.write_kernel",
        "tools.compile_kernel",
        "tools.check_correctness",
        "tools.profile_kernel",
    ],
)
def test_each_tool_is_one_module_that_declares_one_tool(module):
    import importlib

    from tools.registry import all_tools

    mod = importlib.import_module(module)
    declared = [t for t in all_tools().values() if t.run.__module__ == mod.__name__]
    assert len(declared) == 1 and declared[0].name == module.split(".")[-1]
