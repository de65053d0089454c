"""The checks on the extension: that load_inline builds a real kernel and that ModelNew calls it."""

from __future__ import annotations

import ast

from tools.harness.source_extract import load_calls


class ExtensionChecks:
    """Mixin for the checker: which names hold the loaded extension, and whether ModelNew uses them."""

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
            self.add(
                anchor,
                "no-kernel",
                "no torch.utils.cpp_extension.load_inline call was found; build your "
                "kernels with load_inline(..., functions=[...]) and call them in forward.",
            )
            return
        if self.platform.needs_device_kernel and self.ext and not self.ext.unresolved and not self.ext.kernel_names:
            self.add(
                calls[0],
                "no-kernel",
                "the extension sources define no `__global__` kernel; write the "
                "computation as a __global__ kernel and launch it from the host function.",
            )
        bindings = self.ext_bindings()
        if self._unknown_binding or self.modelnew is None:
            return
        if not bindings or not any(self._binding_used(b) for b in bindings):
            self.add(
                calls[0],
                "no-kernel",
                "the extension built here is never called from ModelNew; call its "
                "functions (e.g. `ext.my_kernel(x)`) in forward.",
            )

    def _binding_used(self, binding: str) -> bool:
        if "." in binding:
            obj, attr = binding.split(".", 1)
            return any(
                isinstance(n, ast.Attribute)
                and n.attr == attr
                and isinstance(n.ctx, ast.Load)
                and isinstance(n.value, ast.Name)
                and n.value.id == obj
                for n in ast.walk(self.modelnew)
            )
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
