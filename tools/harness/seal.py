"""Timing primitives sealed before the candidate is imported. The worker binds every clock, event and
synchronisation call it times with while only the harness's code has run, calls them only through
those references, and after each phase checks that the public names still point at the originals,
and that the originals still run the code they ran when sealed: candidate code, native code included,
can replace `time.perf_counter` or `torch.cuda.Event.elapsed_time` in its own process, rewrite a
function's code, or write another C function into a builtin's method table, but not unseen."""

from __future__ import annotations

import ctypes
import importlib
import types
from typing import Any

_PTR = ctypes.sizeof(ctypes.c_void_p)
# Where CPython keeps a builtin's PyMethodDef pointer: after the object header in a builtin function
# (PyCFunctionObject.m_ml), after the header, type, name and qualname in a method descriptor
# (PyMethodDescrObject.d_method). The name found there is compared before anything is trusted.
_METHOD_DEF_AT = {
    types.BuiltinFunctionType: 2 * _PTR,
    types.MethodDescriptorType: 5 * _PTR,
}


def _resolve(dotted: str) -> Any:
    """`torch.cuda.Event.elapsed_time` -> the object that name points at now."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _method_def(obj: Any) -> int | None:
    """The address of a builtin's PyMethodDef, where the layout is the one expected."""
    offset = _METHOD_DEF_AT.get(type(obj))
    if offset is None:
        return None
    mdef = ctypes.c_void_p.from_address(id(obj) + offset).value
    if not mdef:
        return None
    name = ctypes.c_char_p.from_address(mdef).value
    return mdef if name is not None and name.decode(errors="replace") == obj.__name__ else None


def fingerprint(obj: Any) -> tuple:
    """What an object runs: a Python function's code, defaults and closure; a builtin's C function
    pointer and flags. Unchanged identity with a changed fingerprint is a patch in place."""
    if isinstance(obj, types.FunctionType):
        cells = tuple(id(c.cell_contents) for c in obj.__closure__ or () if _has_contents(c))
        return ("py", id(obj.__code__), id(obj.__defaults__), cells)
    mdef = _method_def(obj)
    if mdef is not None:
        meth = ctypes.c_void_p.from_address(mdef + _PTR).value
        flags = ctypes.c_int.from_address(mdef + 2 * _PTR).value
        return ("c", mdef, meth, flags)
    return ()


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


class Seal:
    """names: short name -> dotted public name. The originals are reached as attributes (seal.clock)."""

    def __init__(self, names: dict[str, str]):
        self._names, self._bound, self._prints = {}, {}, {}
        for short, dotted in names.items():
            try:
                obj = _resolve(dotted)
            except (ImportError, AttributeError):
                continue  # not in this torch build: nothing to call, nothing to watch
            self._names[short], self._bound[short], self._prints[short] = dotted, obj, fingerprint(obj)

    def __getattr__(self, short: str) -> Any:
        try:
            return self.__dict__["_bound"][short]
        except KeyError:
            raise AttributeError(short) from None

    def changed(self) -> list[str]:
        """The public names that no longer point at what was sealed, or whose original now runs other code."""
        out = []
        for short, dotted in self._names.items():
            try:
                now = _resolve(dotted)
            except (ImportError, AttributeError):
                now = None
            sealed = self._bound[short]
            if now is not sealed:
                out.append(dotted)
            elif fingerprint(sealed) != self._prints[short]:
                out.append(f"{dotted} (rewritten in place)")
        return out
