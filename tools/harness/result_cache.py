"""Results an evaluator already has, so an identical kernel is never built or measured twice, and the
named locks that keep two threads from doing the same work at once."""

from __future__ import annotations

import threading

from tools.harness.protocol import UPTO
from tools.harness.results import EvalResult, Status

_ORDER = tuple(UPTO)  # build, check, profile: each answers the ones before it


class NamedLocks:
    def __init__(self):
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(name, threading.Lock())


class ResultCache:
    def __init__(self):
        self._results: dict[tuple[str, str], EvalResult] = {}  # (source+problem, upto) -> result

    def answer(self, key: str, upto: str) -> EvalResult | None:
        """A result that answers a request for `upto`: one at least as complete, or a less complete
        one that already failed."""
        want = _ORDER.index(upto)
        for level in _ORDER:
            r = self._results.get((key, level))
            if r is not None and (_ORDER.index(level) >= want or r.status != Status.ok):
                return r
        return None

    def passed_check(self, key: str) -> EvalResult | None:
        """A passing check of this source and problem, which a profile request reuses."""
        r = self._results.get((key, "check"))
        return r if r is not None and r.status == Status.ok else None

    def put(self, key: str, upto: str, result: EvalResult) -> EvalResult:
        self._results[(key, upto)] = result
        return result
