"""Ctrl-C during `agent solve`. The first asks the threads to stop at the end of their current step (an
LLM reply or one evaluation) and lets the run write its reports; the second, or a SIGTERM, stops at once:
the reports are written from what is on disk and the process exits without waiting for the threads; a
third, while those are written, leaves at once without them. Either way `--resume` continues, as after
kill -9. Workers run in their own sessions, so the terminal's SIGINT reaches only this process."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager


class HardStop(BaseException):
    """Raised in the main thread by the second Ctrl-C (or SIGTERM): leave now."""


class Interrupted(Exception):
    """The run stopped early on the user's signal, its reports written; `hard`: threads were abandoned."""

    def __init__(self, summary: dict, hard: bool):
        super().__init__("interrupted")
        self.summary, self.hard = summary, hard


class StopFlag:
    """Set by the first Ctrl-C; threads look at it between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()


@contextmanager
def stop_on_signals(flag: StopFlag, announce: Callable[[], None]):
    """Route SIGINT and SIGTERM to `flag` while the run's threads go (main thread only: elsewhere the
    caller keeps its own handling). `announce` prints the first Ctrl-C's line."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    hard: list[int] = []

    def on_signal(signum, frame):
        first = not flag.is_set()
        flag.set()
        if signum == signal.SIGINT and first:
            announce()
            return
        if hard:  # a third: the reports are being written from what is on disk; the user wants out now
            os.write(2, b"stopped without writing the reports; --resume continues the run\n")
            os._exit(130)
        hard.append(signum)
        raise HardStop()

    before = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h)
