"""Phase 1 of an evaluation: AST rules that reject candidates which cheat or cannot be a real kernel.

Only the Python code is parsed; the extension's C++/CUDA/HIP strings are scanned for a few tokens
(side streams) and for `__global__` kernels. Each violation's message says what to do instead, since the
LLM reads it.
"""
from __future__ import annotations

import ast

from tools.problem import DEFAULT_BANNED_OPS
from tools.harness.results import Violation
from tools.harness.source_extract import extract_sources, load_calls, strip_comments

MESSAGES = {
    "no-modelnew": "no `class ModelNew(nn.Module)` was found; define it, with a forward that calls your extension.",
    "inherits-reference": "{what}: the candidate must not use, subclass or import the reference `Model`; "
                          "write ModelNew as its own nn.Module that owns its parameters.",
    "fallback": "{what}: no try/except or suppressed errors; a fallback to PyTorch hides a broken kernel. "
                "Let errors surface and fix the kernel instead.",
    "banned-op": "`{what}` is banned for this problem; compute it in your own kernel instead.",
    "no-kernel": "{what}",
    "concurrency": "`{what}`: no threads, processes, signals or sockets; do all the work in forward, in your kernels.",
    "timer-patch": "{what}: do not modify torch, time or the timers, and do not use tensor subclasses or "
                   "torch dispatch hooks; return plain tensors computed by your kernels.",
    "introspection": "`{what}`: no introspection, file access, dynamic code or imports; the candidate may only "
                     "build its extension and call it.",
    "os-use": "`{what}`: only os.path and reading os.environ are allowed; the harness sets build flags "
              "and architecture itself.",
    "stream": "`{what}`: launch on the current stream (at::cuda::getCurrentCUDAStream() or the default stream); "
              "do not create or switch streams.",
    "caching": "{what}: forward must recompute its output on every call; do not cache results or key on "
               "tensor identity. Allocate outputs fresh (torch::empty) each call.",
    "precision": "`{what}`: keep the reference's dtypes and precision settings; do not downcast or change "
                 "global numeric modes.",
}

_CONCURRENCY_MODULES = {"threading", "_thread", "multiprocessing", "concurrent", "subprocess", "asyncio",
                        "signal", "socket", "selectors", "torch.multiprocessing"}
_OS_PROCESS = {"os.fork", "os.forkpty", "os.system", "os.popen", "os.kill", "os.killpg", "os._exit",
               "os.abort", "os.register_at_fork", "os.setpgid", "os.setsid"}
_OS_PROCESS_PREFIXES = ("os.spawn", "os.exec", "os.posix_spawn", "os.wait")
_OS_ALLOWED = {"os.path", "os.getenv", "os.cpu_count", "os.sep", "os.linesep", "os.name", "os.pathsep"}
_INTROSPECTION_MODULES = {"gc", "inspect", "ctypes", "importlib", "pickle", "marshal", "weakref", "pathlib",
                          "builtins", "dis", "atexit", "mmap", "tracemalloc", "__main__", "shutil", "tempfile",
                          "glob", "runpy", "pkgutil", "code", "copyreg", "faulthandler", "resource"}
_INTROSPECTION_NAMES = {"globals", "locals", "vars", "eval", "exec", "__import__", "__builtins__", "breakpoint"}
_INTROSPECTION_CALLS = {"compile", "open", "input"}
_INTROSPECTION_ATTRS = {"__globals__", "__code__", "__closure__", "__subclasses__", "__builtins__", "f_back",
                        "f_locals", "f_globals", "tb_frame", "gi_frame", "cr_frame"}
_SYS_ALLOWED = {"sys.version", "sys.version_info", "sys.platform", "sys.maxsize", "sys.byteorder",
                "sys.float_info", "sys.int_info"}
_PATCH_ROOTS = {"torch", "time", "timeit", "builtins", "sys"}
_TIMER_MODULES = {"time", "timeit"}
_TENSOR_BASES = {"torch.Tensor", "torch._C.TensorBase", "torch._C._TensorBase", "torch._tensor.Tensor",
                 "torch.utils._python_dispatch.TorchDispatchMode", "torch.overrides.TorchFunctionMode"}
_DISPATCH_NAMES = {"__torch_function__", "__torch_dispatch__", "_make_subclass", "_make_wrapper_subclass",
                   "TorchDispatchMode", "TorchFunctionMode"}
_STREAM_QUALS = {"torch.cuda.Stream", "torch.cuda.stream", "torch.cuda.set_stream", "torch.cuda.ExternalStream",
                 "torch.cuda.StreamContext", "torch.Stream", "torch.stream", "torch.cuda.streams.Stream"}
_STREAM_TOKENS = ("cudaStreamCreate", "hipStreamCreate", "getStreamFromPool", "cudaStreamPerThread",
                  "hipStreamPerThread", "setCurrentCUDAStream", "setCurrentHIPStream", "cudaStreamNonBlocking",
                  "hipStreamNonBlocking", "default-stream")
_PRECISION_QUALS = {"torch.set_float32_matmul_precision", "torch.set_default_dtype", "torch.set_default_tensor_type",
                    "torch.autocast", "torch.cuda.amp.autocast", "torch.amp.autocast", "torch.cpu.amp.autocast"}
_LOW_DTYPES = {"torch.float16", "torch.half", "torch.bfloat16"}
_CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}
_MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "__setitem__", "pop", "popitem"}
_KEY_CALLS = {"get", "setdefault", "pop", "__contains__", "__getitem__", "hash"}
_MATMUL_FAMILY = {"mm", "matmul", "bmm"}
_MATMUL_EXTRA_QUALS = {"torch.addmm", "torch.baddbmm", "torch.addbmm", "torch.chain_matmul", "torch.linalg.matmul",
                       "torch.linalg.multi_dot", "torch.ops.aten.mm", "torch.ops.aten.matmul", "torch.ops.aten.bmm",
                       "torch.ops.aten.addmm", "torch.ops.aten.baddbmm"}
_MATMUL_METHODS = {"mm", "matmul", "bmm", "addmm", "addmm_", "baddbmm", "baddbmm_", "addbmm", "addbmm_",
                   "matmul_", "__matmul__", "__rmatmul__"}
_LINEAR_MODULES = {"torch.nn.Linear", "torch.nn.LazyLinear", "torch.nn.Bilinear"}
_DEFAULT_ALIASES = {"F": "torch.nn.functional", "nn": "torch.nn"}


def _canonical(op: str) -> str:
    op = op.strip()
    if op.startswith("F."):
        return "torch.nn.functional." + op[2:]
    if op.startswith("nn."):
        return "torch." + op
    return op


class _Banned:
    """The banned ops expanded to every spelling that reaches the same ATen op."""

    def __init__(self, ops: list[str]):
        self.matmul_operator = "@" in ops
        self.quals: dict[str, str] = {}
        self.methods: set[str] = set()
        self.linear = False
        self.any = bool(ops)
        for raw in ops:
            if raw.strip() == "@":
                continue
            op = _canonical(raw)
            self.quals[op] = raw
            name = op.rsplit(".", 1)[-1]
            if op.startswith("torch.") and op.count(".") == 1:
                for q in (f"torch.Tensor.{name}", f"torch.ops.aten.{name}", f"torch.functional.{name}",
                          f"torch._C._VariableFunctions.{name}"):
                    self.quals[q] = raw
            if name in _MATMUL_FAMILY:
                self.quals.update({q: raw for q in _MATMUL_EXTRA_QUALS})
                self.methods |= _MATMUL_METHODS
            if op == "torch.nn.functional.linear":
                self.linear = True
                self.quals.update({"torch._C._nn.linear": raw, "torch.ops.aten.linear": raw})


class _Checker:
    def __init__(self, tree: ast.Module, source: str, platform, banned: _Banned):
        self.tree, self.platform, self.banned = tree, platform, banned
        self.violations: list[Violation] = []
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.aliases = self._aliases()
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
            return self.aliases.get(node.id, _DEFAULT_ALIASES.get(node.id, node.id))
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value)
            return f"{base}.{node.attr}" if base else None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            base = self.qual(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None

    # --- the walk ---

    def run(self) -> list[Violation]:
        if self.modelnew is None:
            self.add(1, "no-modelnew")
        for node in ast.walk(self.tree):
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
            if q in _TENSOR_BASES or q.startswith(("torch.cuda.", "time.")):
                self.add(node, "timer-patch", f"`class {node.name}({ast.unparse(base)})`")

    def check_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in _DISPATCH_NAMES:
            self.add(node, "timer-patch", f"defining `{node.name}`")
        if isinstance(node, ast.AsyncFunctionDef):
            self.add(node, "concurrency", "async def")
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            q = self.qual(target) or ""
            if q in _CACHE_DECORATORS:
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
            elif root in _PATCH_ROOTS:
                self.add(node, "timer-patch", f"assigning `{q}`")
            elif q.startswith("os.environ"):
                self.add(node, "os-use", "os.environ (write)")

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in ("setattr", "delattr") and node.args:
            q = self.qual(node.args[0]) or ""
            if q.split(".")[0] in _PATCH_ROOTS:
                self.add(node, "timer-patch", f"`{name}({q}, ...)`")
        if name in _INTROSPECTION_CALLS and name not in self.aliases:
            self.add(node, "introspection", f"{name}()")
        if name == "id" and "id" not in self.aliases:
            self.add(node, "caching", "`id(...)`")
        if isinstance(func, ast.Attribute):
            if func.attr in ("half", "bfloat16") and not node.args:
                self.add(node, "precision", f".{func.attr}()")
            if func.attr in ("to", "type"):
                for arg in list(node.args) + [k.value for k in node.keywords]:
                    if (self.qual(arg) or "") in _LOW_DTYPES or (self.qual(arg) or "").startswith("torch.float8"):
                        self.add(node, "precision", f".{func.attr}({ast.unparse(arg)})")
            if func.attr == "data_ptr" and self._used_as_key(node):
                self.add(node, "caching", "`.data_ptr()` used as a lookup key")
        if self.banned.linear and isinstance(func, ast.Call) and (self.qual(func.func) or "") in _LINEAR_MODULES:
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
                if called in _KEY_CALLS:
                    return True
                if called not in ("int", "str", "tuple"):
                    return False
            elif not isinstance(parent, (ast.Tuple, ast.BinOp, ast.JoinedStr, ast.FormattedValue)):
                return False
            child, parent = parent, self.parents.get(parent)
        return False

    def check_string(self, node: ast.Constant) -> None:
        text = strip_comments(node.value)
        for token in _STREAM_TOKENS:
            at = text.find(token)
            if at >= 0:
                self.add(node.lineno + text[:at].count("\n"), "stream", token)

    def check_reference(self, node: ast.Name | ast.Attribute | ast.Call) -> None:
        if isinstance(node, ast.Name):
            if node.id == "Model" and isinstance(node.ctx, ast.Load):
                self.add(node, "inherits-reference", "using `Model`")
            if node.id in _INTROSPECTION_NAMES and node.id not in self.aliases:
                self.add(node, "introspection", node.id)
            if node.id in _DISPATCH_NAMES:
                self.add(node, "timer-patch", f"using `{node.id}`")
        if isinstance(node, ast.Attribute):
            if node.attr in _INTROSPECTION_ATTRS:
                self.add(node, "introspection", f".{node.attr}")
            if node.attr in ("_version", "_cdata"):
                self.add(node, "caching", f"`.{node.attr}`")
            if node.attr in _DISPATCH_NAMES:
                self.add(node, "timer-patch", f"using `{node.attr}`")
            if (node.attr in self.banned.methods and node.attr not in self.ext_functions
                    and not self._imported_root(node.value)):
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
        return isinstance(node, ast.Name) and (node.id in self.aliases or node.id in _DEFAULT_ALIASES)

    def check_qual(self, node: ast.AST, q: str, imported: bool = False) -> None:
        parts = q.split(".")
        root, two = parts[0], ".".join(parts[:2])
        if root in _CONCURRENCY_MODULES or two in _CONCURRENCY_MODULES:
            self.add(node, "concurrency", q)
        if q in _OS_PROCESS or q.startswith(_OS_PROCESS_PREFIXES):
            self.add(node, "concurrency", q)
        elif root == "os" and len(parts) == 2 and two not in _OS_ALLOWED:
            if two != "os.environ":
                self.add(node, "os-use", q)
            elif not imported and not self._environ_read(node):
                self.add(node, "os-use", "os.environ (write)")
        if root in _INTROSPECTION_MODULES:
            self.add(node, "introspection", q)
        if root == "sys" and len(parts) >= 2 and two not in _SYS_ALLOWED:
            self.add(node, "introspection", two)
        if root in _TIMER_MODULES:
            self.add(node, "timer-patch", f"`{q}`: the candidate has no use for timers")
        if q == "contextlib.suppress":
            self.add(node, "fallback", "contextlib.suppress")
        if q in _STREAM_QUALS:
            self.add(node, "stream", q)
        if q in _PRECISION_QUALS:
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
        module_names = {t.id for s in self.tree.body if isinstance(s, (ast.Assign, ast.AnnAssign))
                        for t in _flatten(s.targets if isinstance(s, ast.Assign) else [s.target])
                        if isinstance(t, ast.Name)}
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
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _MUTATORS:
                    root = _root_name(n.func.value)
                    if root == "self" or root in module_names:
                        self.add(n, "caching", f"`{ast.unparse(n.func)}(...)` in {method.name}")
                elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "setattr"
                      and n.args and _root_name(n.args[0]) == "self"):
                    self.add(n, "caching", f"setattr(self, ...) in {method.name}")
        if self.banned.linear and self.modelnew is not None:
            self.check_linear_modules()

    def check_linear_modules(self) -> None:
        layers = set()
        for n in ast.walk(self.modelnew):
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call):
                if (self.qual(n.value.func) or "") in _LINEAR_MODULES:
                    layers |= {t.attr for t in n.targets if isinstance(t, ast.Attribute)}
        for n in ast.walk(self.modelnew):
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in layers
                    and isinstance(n.func.value, ast.Name) and n.func.value.id == "self"):
                self.add(n, "banned-op", f"calling the nn.Linear layer self.{n.func.attr} (F.linear)")

    # --- the extension ---

    def ext_bindings(self) -> set[str]:
        """Names (or `self.x`) that hold a loaded extension; computed once."""
        if not hasattr(self, "_bindings"):
            self._bindings: set[str] = set()
            self._unknown_binding = False
            for call in load_calls(self.tree):
                found = self._bindings_of(call)
                if found is None:
                    self._unknown_binding = True
                else:
                    self._bindings |= found
        return self._bindings

    def _bindings_of(self, call: ast.AST, depth: int = 0) -> set[str] | None:
        parent = self.parents.get(call)
        if isinstance(parent, ast.Assign):
            out = set()
            for t in parent.targets:
                if isinstance(t, ast.Name):
                    out.add(t.id)
                elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                    out.add(f"{t.value.id}.{t.attr}")
                else:
                    return None
            return out
        if isinstance(parent, ast.Return) and depth == 0:
            func = parent
            while func is not None and not isinstance(func, ast.FunctionDef):
                func = self.parents.get(func)
            if func is None:
                return None
            out = set()
            for n in ast.walk(self.tree):
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func.name:
                    found = self._bindings_of(n, depth + 1)
                    if found is None:
                        return None
                    out |= found
            return out
        if isinstance(parent, ast.Expr):
            return set()
        return None

    def check_kernel(self) -> None:
        anchor = self.modelnew.lineno if self.modelnew else 1
        calls = load_calls(self.tree)
        if not calls:
            self.add(anchor, "no-kernel", "no torch.utils.cpp_extension.load_inline call was found; build your "
                                          "kernels with load_inline(..., functions=[...]) and call them in forward.")
            return
        if self.platform.needs_device_kernel and self.ext and not self.ext.unresolved and not self.ext.kernel_names:
            self.add(calls[0], "no-kernel", "the extension sources define no `__global__` kernel; write the "
                                            "computation as a __global__ kernel and launch it from the host function.")
        bindings = self.ext_bindings()
        if self._unknown_binding or self.modelnew is None:
            return
        if not bindings or not any(self._binding_used(b) for b in bindings):
            self.add(calls[0], "no-kernel", "the extension built here is never called from ModelNew; call its "
                                            "functions (e.g. `ext.my_kernel(x)`) in forward.")

    def _binding_used(self, binding: str) -> bool:
        if "." in binding:
            obj, attr = binding.split(".", 1)
            return any(isinstance(n, ast.Attribute) and n.attr == attr and isinstance(n.ctx, ast.Load)
                       and isinstance(n.value, ast.Name) and n.value.id == obj for n in ast.walk(self.modelnew))
        defs = {n.name: n for n in self.tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        todo, seen = [self.modelnew], set()
        while todo:
            scope = todo.pop()
            for n in ast.walk(scope):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                    if n.id == binding:
                        return True
                    if n.id in defs and n.id not in seen:
                        seen.add(n.id)
                        todo.append(defs[n.id])
        return False


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


def check_source(source: str, platform: str, banned_ops: list[str] | None = None) -> list[Violation]:
    """Violations of the source rules in a candidate file, sorted by line; empty when it may be built."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [Violation(line=e.lineno or 1, rule="syntax",
                          message=f"Python syntax error: {e.msg}; fix it so the file parses.")]
    from tools.platforms import platform_class

    rules = platform_class(platform)()
    banned = _Banned(DEFAULT_BANNED_OPS if banned_ops is None else banned_ops)
    violations = _Checker(tree, source, rules, banned).run() + rules.source_rules(source)
    return sorted(violations, key=lambda v: v.line)


def format_violations(vs: list[Violation]) -> str:
    lines = [f"rejected by the source rules: {len(vs)} problem(s)"]
    lines += [str(v) for v in vs]
    return "\n".join(lines)
