"""Pull the C++/CUDA/HIP sources out of a candidate's load_inline calls, statically (the file is never run).

Strings are resolved through module- and function-level assignments, `+`, `+=`, lists, `"sep".join([...])`,
`textwrap.dedent` and f-strings whose fields are themselves resolvable; anything else marks the result
`unresolved` rather than guessing.
"""

from __future__ import annotations

import ast
import re
import textwrap

from pydantic import BaseModel, Field

LOAD_INLINE = "load_inline"
_UNKNOWN = object()


class ExtensionSources(BaseModel):
    cpp: str = ""
    cuda: str = ""
    functions: list[str] = Field(default_factory=list)
    kernel_names: list[str] = Field(default_factory=list)
    calls: int = Field(default=0, description="load_inline / cpp_extension.load calls found")
    unresolved: bool = Field(default=False, description="some source or function list could not be resolved")
    build_key: str | None = Field(
        default=None,
        description="every argument of every load_inline call, resolved; "
        "None when one cannot be, so only the whole file identifies the build",
    )
    build_calls: list[dict] | None = Field(
        default=None,
        description="each load_inline call's arguments ({args, kwargs}) when build_key is known: the harness "
        "builds from these, running none of the candidate's code",
    )


# --- C++ side: regexes here scan C++ text, never Python ---

_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_GLOBAL_RE = re.compile(r"\b__global__\b")
_PAREN_ATTR_RE = re.compile(r"\b(__launch_bounds__|__attribute__|__declspec|alignas)\s*\(")
_NAME_BEFORE_PAREN_RE = re.compile(r"([A-Za-z_]\w*)\s*$")
_PYBIND_DEF_RE = re.compile(r"\.def\s*\(\s*\"(\w+)\"")


def strip_comments(text: str) -> str:
    return _COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _skip_parens(text: str, open_at: int) -> int:
    """Index just past the parenthesis group that opens at text[open_at]."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _declared_name(tail: str) -> str | None:
    """The function name in the declaration text following `__global__` (attribute groups skipped)."""
    pos = 0
    while pos < len(tail):
        attr = _PAREN_ATTR_RE.search(tail, pos)
        paren = tail.find("(", pos)
        if paren < 0:
            return None
        if attr and attr.end() - 1 == paren:
            pos = _skip_parens(tail, paren)
            continue
        m = _NAME_BEFORE_PAREN_RE.search(tail[pos:paren])
        return m.group(1) if m else None
    return None


def kernel_names_in(text: str) -> list[str]:
    """Names of `__global__` functions declared or defined in C++/CUDA/HIP text, in order, no repeats."""
    clean = strip_comments(text)
    names: list[str] = []
    for m in _GLOBAL_RE.finditer(clean):
        name = _declared_name(clean[m.end() : m.end() + 2000])
        if name and name not in names and name != "__global__":
            names.append(name)
    return names


# --- Python side: AST ---


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _load_aliases(tree: ast.Module) -> set[str]:
    """Local names bound to torch.utils.cpp_extension.load (a bare `load` means nothing otherwise)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("cpp_extension"):
            names |= {a.asname or a.name for a in node.names if a.name == "load"}
    return names


def is_load_call(node: ast.AST, load_aliases: set[str] = frozenset()) -> bool:
    """A call of load_inline (any spelling) or of torch.utils.cpp_extension.load."""
    if not isinstance(node, ast.Call):
        return False
    name = _callee_name(node.func)
    if name == LOAD_INLINE:
        return True
    if isinstance(node.func, ast.Attribute) and node.func.attr == "load":
        return (_dotted(node.func.value) or "").endswith("cpp_extension")
    return isinstance(node.func, ast.Name) and node.func.id in load_aliases


def load_calls(tree: ast.Module) -> list[ast.Call]:
    aliases = _load_aliases(tree)
    calls = [n for n in ast.walk(tree) if is_load_call(n, aliases)]
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


class _Env:
    """Name -> value (str, list of str or _UNKNOWN) from simple assignments, in source order."""

    def __init__(self, tree: ast.Module):
        self.values: dict[str, object] = {}
        stmts = [n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))]
        for stmt in sorted(stmts, key=lambda s: (s.lineno, s.col_offset)):
            self._record(stmt)

    def _record(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.target, ast.Name) and isinstance(stmt.op, ast.Add):
                self.values[stmt.target.id] = _add(self.values.get(stmt.target.id, _UNKNOWN), self.eval(stmt.value))
            elif isinstance(stmt.target, ast.Name):
                self.values[stmt.target.id] = _UNKNOWN
            return
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if stmt.value is None:
            return
        value = self.eval(stmt.value)
        for t in targets:
            if isinstance(t, ast.Name):
                self.values[t.id] = value

    def eval(self, node: ast.expr | None) -> object:
        if node is None:
            return _UNKNOWN
        if isinstance(node, ast.Constant):
            # numbers are kept for f-string fields such as f"... {BLOCK} ..."
            ok = isinstance(node.value, (str, int, float)) and not isinstance(node.value, bool)
            return node.value if ok else _UNKNOWN
        if isinstance(node, ast.Name):
            return self.values.get(node.id, _UNKNOWN)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return _add(self.eval(node.left), self.eval(node.right))
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.eval(e) for e in node.elts]
            flat: list[str] = []
            for item in items:
                if isinstance(item, str):
                    flat.append(item)
                elif isinstance(item, list):
                    flat.extend(item)
                else:
                    return _UNKNOWN
            return flat
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        return _UNKNOWN

    def _fstring(self, node: ast.JoinedStr) -> object:
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue) and v.format_spec is None and v.conversion == -1:
                inner = self.eval(v.value)
                if not isinstance(inner, (str, int, float)):
                    return _UNKNOWN
                parts.append(str(inner))
            else:
                return _UNKNOWN
        return "".join(parts)

    def _call(self, node: ast.Call) -> object:
        func = node.func
        if not isinstance(func, ast.Attribute) or len(node.args) != 1 or node.keywords:
            return _UNKNOWN
        if func.attr == "join":
            sep, items = self.eval(func.value), self.eval(node.args[0])
            if isinstance(sep, str) and isinstance(items, list):
                return sep.join(items)
        if func.attr == "dedent" and _dotted(func.value) == "textwrap":
            text = self.eval(node.args[0])
            return textwrap.dedent(text) if isinstance(text, str) else _UNKNOWN
        return _UNKNOWN


def _add(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    return _UNKNOWN


def _as_text(value: object) -> str | None:
    """load_inline joins a list of sources with newlines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(value)
    return None


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if len(call.args) > index else None


def extract_sources(source: str) -> ExtensionSources:
    """The extension sources of every load_inline call in `source`, concatenated. Raises SyntaxError."""
    tree = ast.parse(source)
    env = _Env(tree)
    calls = load_calls(tree)
    cpp, cuda, functions, unresolved = [], [], [], False
    for call in calls:
        if _callee_name(call.func) != LOAD_INLINE:
            unresolved = True  # cpp_extension.load compiles files we cannot see
            continue
        for index, keyword, out in ((1, "cpp_sources", cpp), (2, "cuda_sources", cuda)):
            node = _argument(call, index, keyword)
            if node is None or (isinstance(node, ast.Constant) and node.value is None):
                continue
            text = _as_text(env.eval(node))
            if text is None:
                unresolved = True
            else:
                out.append(text)
        node = _argument(call, 3, "functions")
        if node is not None and not (isinstance(node, ast.Constant) and node.value is None):
            names = env.eval(node)
            if isinstance(names, str):
                names = [names]
            if isinstance(names, list):
                functions.extend(n for n in names if n not in functions)
            else:
                unresolved = True
    cpp_text, cuda_text = "\n".join(cpp), "\n".join(cuda)
    resolved = [_call_args(env, call) for call in calls]
    build_calls = None if (unresolved or not calls or None in resolved) else resolved
    build_key = "\n".join(_call_key(c) for c in build_calls) if build_calls else None
    for name in _PYBIND_DEF_RE.findall(strip_comments(cpp_text + "\n" + cuda_text)):
        if name not in functions:
            functions.append(name)
    return ExtensionSources(
        cpp=cpp_text,
        cuda=cuda_text,
        functions=functions,
        kernel_names=kernel_names_in(cuda_text + "\n" + cpp_text),
        calls=len(calls),
        unresolved=unresolved,
        build_key=build_key,
        build_calls=build_calls,
    )


def _call_args(env: _Env, call: ast.Call) -> dict | None:
    """What the compiler sees from one load_inline call, its arguments' values ({"args", "kwargs"}), or
    None when one cannot be read plainly. Two candidates that differ only in Python around the call
    share one build, made by the harness from these arguments with no candidate code running."""
    args, kwargs = [], {}
    for node in call.args:
        value = node.value if isinstance(node, ast.Constant) else env.eval(node)
        if value is _UNKNOWN:
            return None
        args.append(value)
    for kw in call.keywords:
        value = kw.value.value if isinstance(kw.value, ast.Constant) else env.eval(kw.value)
        if kw.arg is None or value is _UNKNOWN:
            return None
        kwargs[kw.arg] = value
    return {"args": args, "kwargs": kwargs}


def _call_key(args: dict) -> str:
    parts = [f"{i}={v!r}" for i, v in enumerate(args["args"])] + [f"{k}={v!r}" for k, v in args["kwargs"].items()]
    return "load_inline(" + ", ".join(parts) + ")"
