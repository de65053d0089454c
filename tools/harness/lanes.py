"""Device lanes: one per GPU the run evaluates on, held by one worker at a time, so timings never
overlap on a device. Every busy interval is logged with what the evaluation waited for first, and the
node it ran on (this machine's name; a Ray lane's node id, tools.harness.ray_lanes)."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class Lanes:
    def __init__(
        self,
        devices: Callable[[], list[int | None]],
        log: Path | None = None,
        node: str | None = None,
        sink: Callable[[dict], None] | None = None,
    ):
        """devices: the lanes' device indices (None: the default device), asked for at first use. Each
        interval is appended to `log` and handed to `sink` (a Ray lane sends them to the driver)."""
        self._devices = devices
        self.log = log
        self.node = node or socket.gethostname()
        self.sink = sink
        self.busy_s: dict[str, float] = {}
        self._queue: queue.Queue | None = None
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, what: str, problem: str, phases: list, worker_wait: float = 0.0) -> Iterator[int | None]:
        """Exclusive use of one device while a worker runs on it."""
        with self._lock:
            if self._queue is None:
                self._queue = queue.Queue()
                for d in self._devices():
                    self._queue.put(d)
        asked = time.time()
        lane = self._queue.get()
        start = time.time()
        try:
            yield lane
        finally:
            end = time.time()
            self._queue.put(lane)
            self._record(
                "default" if lane is None else str(lane), start, end, asked, what, problem, phases, worker_wait
            )

    def _record(
        self,
        name: str,
        start: float,
        end: float,
        asked: float,
        what: str,
        problem: str,
        phases: list,
        worker_wait: float,
    ) -> None:
        rec = {
            "lane": name,
            "node": self.node,
            "start": round(start, 3),
            "end": round(end, 3),
            "problem": problem,
            "source_hash": what,
            "phases": [getattr(p, "value", p) for p in phases],
            "worker_wait": round(worker_wait, 3),
            "lane_wait": round(start - asked, 3),
        }
        with self._lock:
            self.busy_s[name] = self.busy_s.get(name, 0.0) + end - start
            if self.log is not None:
                with open(self.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
        if self.sink is not None:
            self.sink(rec)
