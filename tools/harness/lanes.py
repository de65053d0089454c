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
    def hold(
        self, what: str, problem: str, phases: list, worker_wait: float = 0.0, marks: dict | None = None
    ) -> Iterator[int | None]:
        """Exclusive use of one device while a worker runs on it. marks: filled by the caller while it
        holds the lane, with the wall-clock times its worker began its first phase (`first_phase`) and
        reported its end (`finished`), so each interval shows its worker's start-up and ending."""
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
            name = "default" if lane is None else str(lane)
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
            if marks and "first_phase" in marks and "finished" in marks:
                rec["startup_s"] = round(max(0.0, marks["first_phase"] - start), 3)
                rec["ending_s"] = round(max(0.0, end - marks["finished"]), 3)
            if marks and marks.get("phase_s"):
                rec["phase_s"] = marks["phase_s"]
            self._record(name, end - start, rec)

    def _record(self, name: str, seconds: float, rec: dict) -> None:
        with self._lock:
            self.busy_s[name] = self.busy_s.get(name, 0.0) + seconds
            if self.log is not None:
                with open(self.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
        if self.sink is not None:
            self.sink(rec)
