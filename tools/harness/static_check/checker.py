"""The AST walk over a candidate file: each node is checked against the rules, then ModelNew as a whole."""

from __future__ import annotations

import ast

from tools.harness.compiler_env import compiler_settings
from tools.harness.results import Violation
from tools.harness.source_extract import extract_sources, strip_comments
from tools.harness.static_check.banned import Banned
from tools.harness.static_check.extension import ExtensionChecks
from tools.harness.static_check.rules import (
    CACHE_DECORATORS,
    CONCURRENCY_MODULES,
    DEFAULT_ALIASES,
    DISPATCH_NAMES,
    INTROSPECTION_ATTRS,
    INTROSPECTION_CALLS,
    INTROSPECTION_MODULES,
    INTROSPECTION_NAMES,
    KEY_CALLS,
    LINEAR_MODULES,
    LOW_DTYPES,
    MESSAGES,
    MUTATORS,
    OS_ALLOWED,
    OS_PROCESS,
    OS_PROCESS_PREFIXES,
    PATCH_ROOTS,
    PRECISION_QUALS,
    STREAM_QUALS,
    STREAM_TOKENS,
    SYS_ALLOWED,
    TENSOR_BASES,
    TIMER_MODULES,
)


class Checker(ExtensionChecks):
    """One pass over a parsed candidate; `run` returns its violations, one per line and rule."""

    def __init__(self, tree: ast.Module, source: str, platform, banned: Banned):
        self.tree, self.platform, self.banned = tree, platform, banned
        self.violations: list[Violation] = []
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.aliases = self._aliases()
        # `os.environ["CXX"] = "hipcc"`, as KernelBench's HIP examples write it: stripped before the build
        self.tolerated = {n for stmt in compiler_settings(tree) for n in ast.walk(stmt)}
        self.modelnew = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ModelNew"), None)
        try:
            self.ext = extract_sources(source)
        except (SyntaxError, ValueError, RecursionError):
            self.ext = None
        self.ext_functions = set(self.ext.functions) if self.ext else set()

    def add(self, node: ast.AST | int, rule: str, what: str = "") -> None:
        line = node if isinstance(node, int) else getattr(node, "lineno", 1)
        self.violations.append(Violation(line=line, rule=rule, message=MESSAGES[rule].format(what=what)))

    # --- names ---

    def _aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        return aliases

    def qual(self, node: ast.AST) -> str | None:
        """Dotted name with import aliases resolved: `Fn.linear` -> `torch.nn.functional.linear`."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, DEFAULT_ALIASES.get(node.id, node.id))
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value)
            return f"{base}.{node.attr}" if base else None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base = self.qual(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None

    # --- the walk ---

    def run(self) -> list[Violation]:
        if self.modelnew is None:
            self.add(1, "no-modelnew")
        for node in ast.walk(self.tree):
            if node in self.tolerated:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.check_import(node)
            elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                self.add(node, "fallback", "`try` statement")
            elif isinstance(node, ast.ClassDef):
                self.check_class(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.check_function(node)
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                self.check_assign(node)
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) and self.banned.matmul_operator:
                self.add(node, "banned-op", "@")
            elif isinstance(node, ast.Call):
                self.check_call(node)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                self.check_string(node)
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.MatMult) and self.banned.matmul_operator:
                self.add(node, "banned-op", "@=")
            if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
                self.check_reference(node)
        self.check_forward_state()
        self.check_kernel()
        unique: dict[tuple[int, str], Violation] = {}
        for v in self.violations:
            unique.setdefault((v.line, v.rule), v)  # the first report of a line is the most specific
        return sorted(unique.values(), key=lambda v: (v.line, v.rule))

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            full = [a.name for a in node.names]
        else:
            module = node.module or ""
            full = [f"{module}.{a.name}" if module else a.name for a in node.names] + ([module] if module else [])
            for a in node.names:
                if a.name in ("Model", "get_inputs", "get_init_inputs"):
                    self.add(node, "inherits-reference", f"importing `{a.name}`")
        for name in full:
            low = name.lower()
            if "reference" in low or "kernelbench" in low or low.split(".")[-1] == "model":
                self.add(node, "inherits-reference", f"importing `{name}`")
            self.check_qual(node, name, imported=True)

    def check_class(self, node: ast.ClassDef) -> None:
        if node.name == "Model":
            self.add(node, "inherits-reference", "defining a class named `Model`")
        for base in node.bases:
            q = self.qual(base) or ""
            if q.split(".")[-1] == "Model":
                self.add(node, "inherits-reference", f"`class {node.name}({ast.unparse(base)})`")
            if q in TENSOR_BASES or q.startswith(("torch.cuda.", "time.")):
                self.add(node, "timer-patch", f"`class {node.name}({ast.unparse(base)})`")

    def check_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in DISPATCH_NAMES:
            self.add(node, "timer-patch", f"defining `{node.name}`")
        if isinstance(node, ast.AsyncFunctionDef):
            self.add(node, "concurrency", "async def")
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            q = self.qual(target) or ""
            if q in CACHE_DECORATORS:
                self.add(dec, "caching", f"`@{ast.unparse(dec)}`")

    def check_assign(self, node: ast.stmt) -> None:
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in _flatten(targets):
            base = target
            while isinstance(base, ast.Subscript):
                base = base.value
            if not isinstance(base, ast.Attribute):
                continue
            q = self.qual(base) or ""
            root = q.split(".")[0]
            if q.startswith("torch.backends."):
                self.add(node, "precision", f"{q} = ...")
            elif root in PATCH_ROOTS:
                self.add(node, "timer-patch", f"assigning `{q}`")
            elif q.startswith("os.environ"):
                self.add(node, "os-use", "os.environ (write)")

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in ("setattr", "delattr") and node.args:
            q = self.qual(node.args[0]) or ""
            if q.split(".")[0] in PATCH_ROOTS:
                self.add(node, "timer-patch", f"`{name}({q}, ...)`")
        if name in INTROSPECTION_CALLS and name not in self.aliases:
            self.add(node, "introspection", f"{name}()")
        if name == "id" and "id" not in self.aliases:
            self.add(node, "caching", "`id(...)`")
        if isinstance(func, ast.Attribute):
            if func.attr in ("half", "bfloat16") and not node.args:
                self.add(node, "precision", f".{func.attr}()")
            if func.attr in ("to", "type"):
                for arg in list(node.args) + [k.value for k in node.keywords]:
                    if (self.qual(arg) or "") in LOW_DTYPES or (self.qual(arg) or "").startswith("torch.float8"):
                        self.add(node, "precision", f".{func.attr}({ast.unparse(arg)})")
            if func.attr == "data_ptr" and self._used_as_key(node):
                self.add(node, "caching", "`.data_ptr()` used as a lookup key")
        if self.banned.linear and isinstance(func, ast.Call) and (self.qual(func.func) or "") in LINEAR_MODULES:
            self.add(node, "banned-op", "nn.Linear(...)(x)")

    def _used_as_key(self, node: ast.AST) -> bool:
        child, parent = node, self.parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.Subscript) and child is parent.slice:
                return True
            if isinstance(parent, ast.Dict) and child in parent.keys:
                return True
            if isinstance(parent, ast.Compare):
                return True
            if isinstance(parent, ast.Call):
                f = parent.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if called in KEY_CALLS:
                    return True
                if called not in ("int", "str", "tuple"):
                    return False
            elif not isinstance(parent, (ast.Tuple, ast.BinOp, ast.JoinedStr, ast.FormattedValue)):
                return False
            child, parent = parent, self.parents.get(parent)
        return False

    def check_string(self, node: ast.Constant) -> None:
        text = strip_comments(node.value)
        for token in STREAM_TOKENS:
            at = text.find(token)
            if at >= 0:
                self.add(node.lineno + text[:at].count("\n"), "stream", token)

    def check_reference(self, node: ast.Name | ast.Attribute | ast.Call) -> None:
        if isinstance(node, ast.Name):
            if node.id == "Model" and isinstance(node.ctx, ast.Load):
                self.add(node, "inherits-reference", "using `Model`")
            if node.id in INTROSPECTION_NAMES and node.id not in self.aliases:
                self.add(node, "introspection", node.id)
            if node.id in DISPATCH_NAMES:
                self.add(node, "timer-patch", f"using `{node.id}`")
        if isinstance(node, ast.Attribute):
            if node.attr in INTROSPECTION_ATTRS:
                self.add(node, "introspection", f".{node.attr}")
            if node.attr in ("_version", "_cdata"):
                self.add(node, "caching", f"`.{node.attr}`")
            if node.attr in DISPATCH_NAMES:
                self.add(node, "timer-patch", f"using `{node.attr}`")
            if (
                node.attr in self.banned.methods
                and node.attr not in self.ext_functions
                and not self._imported_root(node.value)
            ):
                base = self.qual(node.value) or ""
                bindings = self.ext_bindings()
                if base not in bindings and base.split(".")[0] not in bindings:
                    self.add(node, "banned-op", f".{node.attr}(...)")
        q = self.qual(node)
        if q and self._imported_root(node):
            self.check_qual(node, q)

    def _imported_root(self, node: ast.AST) -> bool:
        """Only names bound by an import are modules; a local variable called `code` is not."""
        while True:
            if isinstance(node, ast.Attribute):
                node = node.value
            elif isinstance(node, ast.Call) and node.args:
                node = node.args[0]
            else:
                break
        return isinstance(node, ast.Name) and (node.id in self.aliases or node.id in DEFAULT_ALIASES)

    def check_qual(self, node: ast.AST, q: str, imported: bool = False) -> None:
        parts = q.split(".")
        root, two = parts[0], ".".join(parts[:2])
        if root in CONCURRENCY_MODULES or two in CONCURRENCY_MODULES:
            self.add(node, "concurrency", q)
        if q in OS_PROCESS or q.startswith(OS_PROCESS_PREFIXES):
            self.add(node, "concurrency", q)
        elif root == "os" and len(parts) == 2 and two not in OS_ALLOWED:
            if two != "os.environ":
                self.add(node, "os-use", q)
            elif not imported and not self._environ_read(node):
                self.add(node, "os-use", "os.environ (write)")
        if root in INTROSPECTION_MODULES:
            self.add(node, "introspection", q)
        if root == "sys" and len(parts) >= 2 and two not in SYS_ALLOWED:
            self.add(node, "introspection", two)
        if root in TIMER_MODULES:
            self.add(node, "timer-patch", f"`{q}`: the candidate has no use for timers")
        if q == "contextlib.suppress":
            self.add(node, "fallback", "contextlib.suppress")
        if q in STREAM_QUALS:
            self.add(node, "stream", q)
        if q in PRECISION_QUALS:
            self.add(node, "precision", q)
        if q in self.banned.quals:
            self.add(node, "banned-op", q)
        elif self.banned.any and q.startswith("torch._C") and len(parts) == 2:
            self.add(node, "banned-op", "torch._C")

    def _environ_read(self, node: ast.AST) -> bool:
        parent = self.parents.get(node)
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load):
            return True
        if isinstance(parent, ast.Attribute) and parent.attr in ("get", "keys", "items", "values"):
            return True
        return isinstance(parent, ast.Compare) and any(isinstance(o, (ast.In, ast.NotIn)) for o in parent.ops)

    # --- ModelNew state across calls ---

    def forward_methods(self) -> list[ast.FunctionDef]:
        """forward and the methods it reaches through self.<method>(...)."""
        if self.modelnew is None:
            return []
        methods = {n.name: n for n in self.modelnew.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        todo, seen = ["forward"], []
        while todo:
            name = todo.pop()
            if name not in methods or name in seen or name == "__init__":
                continue
            seen.append(name)
            for n in ast.walk(methods[name]):
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self":
                    todo.append(n.attr)
        return [methods[n] for n in seen]

    def check_forward_state(self) -> None:
        module_names = {
            t.id
            for s in self.tree.body
            if isinstance(s, (ast.Assign, ast.AnnAssign))
            for t in _flatten(s.targets if isinstance(s, ast.Assign) else [s.target])
            if isinstance(t, ast.Name)
        }
        for method in self.forward_methods():
            for n in ast.walk(method):
                if isinstance(n, (ast.Global, ast.Nonlocal)):
                    self.add(n, "caching", f"`{type(n).__name__.lower()}` in {method.name}")
                elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    for t in _flatten(n.targets if isinstance(n, ast.Assign) else [n.target]):
                        root = _root_name(t)
                        if root == "self" and not isinstance(t, ast.Name):
                            self.add(n, "caching", f"`{ast.unparse(t)} = ...` in {method.name}")
                        elif root in module_names and not isinstance(t, ast.Name):
                            self.add(n, "caching", f"module-level `{root}` modified in {method.name}")
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in MUTATORS:
                    root = _root_name(n.func.value)
                    if root == "self" or root in module_names:
                        self.add(n, "caching", f"`{ast.unparse(n.func)}(...)` in {method.name}")
                elif (
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Name)
                    and n.func.id == "setattr"
                    and n.args
                    and _root_name(n.args[0]) == "self"
                ):
                    self.add(n, "caching", f"setattr(self, ...) in {method.name}")
        if self.banned.linear and self.modelnew is not None:
            self.check_linear_modules()

    def check_linear_modules(self) -> None:
        layers = set()
        for n in ast.walk(self.modelnew):
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call):
                if (self.qual(n.value.func) or "") in LINEAR_MODULES:
                    layers |= {t.attr for t in n.targets if isinstance(t, ast.Attribute)}
        for n in ast.walk(self.modelnew):
            if (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in layers
                and isinstance(n.func.value, ast.Name)
                and n.func.value.id == "self"
            ):
                self.add(n, "banned-op", f"calling the nn.Linear layer self.{n.func.attr} (F.linear)")


def _flatten(targets: list[ast.expr]) -> list[ast.expr]:
    out = []
    for t in targets:
        if isinstance(t, (ast.Tuple, ast.List)):
            out.extend(_flatten(t.elts))
        elif isinstance(t, ast.Starred):
            out.extend(_flatten([t.value]))
        else:
            out.append(t)
    return out


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None
