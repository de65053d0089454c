"""KernelBench's HIP examples start with `os.environ["CXX"] = "hipcc"`. That one kind of os.environ write
is let through by the source rules, and taken out of the file before it is built or imported: the harness
picks the compiler, and torch's load_inline reads CXX whenever the module is imported, so left in, the
line would rebuild the extension with another host compiler in every worker.

Tolerated, exactly: a statement at the module's top level, on one line, assigning `os.environ["CXX"]` or
`os.environ["CC"]` a constant string that names a compiler. Any other os.environ write stays rejected."""

from __future__ import annotations

import ast
import re

VARIABLES = ("CXX", "CC")
_COMPILER = re.compile(r"^(hipcc|amdclang\+\+|amdclang|clang\+\+|clang|g\+\+|gcc|c\+\+|cc|icpx|icx)(-\d+)?$")


def compiler_settings(tree: ast.Module) -> list[ast.Assign]:
    """The tolerated `os.environ["CXX"] = "hipcc"` statements of a parsed candidate."""
    return [s for s in tree.body if _describe(s) is not None]


def _describe(stmt: ast.stmt) -> tuple[str, str] | None:
    """(variable, compiler) for a tolerated statement, else None."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or stmt.lineno != stmt.end_lineno:
        return None
    target, value = stmt.targets[0], stmt.value
    if not (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Attribute)
        and target.value.attr == "environ"
        and isinstance(target.value.value, ast.Name)
        and target.value.value.id == "os"
        and isinstance(target.slice, ast.Constant)
        and target.slice.value in VARIABLES
    ):
        return None
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return None
    if not _COMPILER.match(value.value.rsplit("/", 1)[-1]):
        return None
    return target.slice.value, value.value


def strip_compiler_settings(source: str) -> tuple[str, list[str]]:
    """The source with each tolerated statement replaced by `pass` on its own line (so line numbers
    stay), and a note for each, for the build's result."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    found = compiler_settings(tree)
    if not found:
        return source, []
    lines = source.splitlines(keepends=True)
    notes = []
    for stmt in sorted(found, key=lambda s: (s.lineno, s.col_offset), reverse=True):
        name, value = _describe(stmt)
        raw = lines[stmt.lineno - 1].encode()
        # ast's columns count UTF-8 bytes
        lines[stmt.lineno - 1] = (raw[: stmt.col_offset] + b"pass" + raw[stmt.end_col_offset :]).decode()
        notes.insert(0, f"os.environ['{name}'] = '{value}' ignored: the harness picks the compiler")
    return "".join(lines), notes
