"""Timing primitives sealed before the candidate is imported. The worker binds every clock, event and
synchronisation call it times with while only the harness's code has run, calls them only through
those references, and after each phase checks that the public names still point at the originals:
candidate code, native code included, can replace `time.perf_counter` or `torch.cuda.Event.elapsed_time`
in its own process, but not the objects the harness already holds, and not without being seen."""

from __future__ import annotations

import importlib
from typing import Any


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


class Seal:
    """names: short name -> dotted public name. The originals are reached as attributes (seal.clock)."""

    def __init__(self, names: dict[str, str]):
        self._names, self._bound = {}, {}
        for short, dotted in names.items():
            try:
                self._bound[short] = _resolve(dotted)
            except (ImportError, AttributeError):
                continue  # not in this torch build: nothing to call, nothing to watch
            self._names[short] = dotted

    def __getattr__(self, short: str) -> Any:
        try:
            return self.__dict__["_bound"][short]
        except KeyError:
            raise AttributeError(short) from None

    def changed(self) -> list[str]:
        """The public names that no longer point at what was sealed."""
        out = []
        for short, dotted in self._names.items():
            try:
                now = _resolve(dotted)
            except (ImportError, AttributeError):
                now = None
            if now is not self._bound[short]:
                out.append(dotted)
        return out
