"""One lane of a Ray cluster, on its node: a Ray actor that holds one GPU (on the cpu platform, one CPU
of its node) and evaluates there with the same harness as a run without Ray (tools.harness.evaluator):
the build in the node's cache, then the worker subprocess in bubblewrap, with the scrubbed environment
and the per-phase time limits. The driver (tools.harness.ray_evaluator) sends each evaluation by value
(the problem's and the candidate's source, never a path on its own disk) and gets the result back,
with the lane's busy intervals for its lanes.jsonl.

The driver sends a lane up to its depth of evaluations at once (lane_depth): one holds the lane while
the others build or wait for their worker, and the node-local Lanes keep check, profile and time of two
candidates from overlapping.

This module is imported on the nodes, and by the driver (tools.harness.ray_pool), which starts its
actors; Ray is imported only when a lane starts."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

from tools.errors import UserError
from tools.harness.config import EvalConfig
from tools.harness.workspace import text_key

IN_FLIGHT = 2  # the fewest evaluations a lane takes at once: one on the lane, one building for its turn
MAX_DEPTH = 6  # the most: each holds a spare worker (about 0.6 GiB of host memory) on the node


def lane_depth(threads: int, lanes: int, asked: int | None = None) -> int:
    """Evaluations a lane takes at once, and spare workers it keeps on its node: `asked` (HIPGEN_SPARES) where
    the user named it, else the run's threads spread over the cluster's lanes, from IN_FLIGHT to
    MAX_DEPTH. Every evaluation takes a fresh worker, and on a GPU its imports (4-5 s on an H200 host)
    outlast its turn on the lane (0.3-2 s), so a lane runs as fast as its spares are replaced: with two
    spares, one GPU judged 318 candidates an hour where four spares without Ray judged 593."""
    if asked is not None:
        return max(1, asked)
    return max(IN_FLIGHT, min(MAX_DEPTH, -(-threads // max(1, lanes))))


class LaneHost:
    """The node side of a lane. Methods return plain data (JSON text, dicts), never our own classes, so the
    driver and the nodes need to agree only on the harness's JSON."""

    def __init__(self, config_json: str, driver_paths: list[str]):
        """`driver_paths`: the driver's working folder and script folder, which Ray puts on this process's
        sys.path; they are taken off again before the sandbox is made, which shows candidates every
        folder on sys.path (the user's working folder is no place for a candidate to read)."""
        keep = {str(Path(__file__).resolve().parents[2])}  # a source checkout: the jail shows its tools/ only
        sys.path[:] = [p for p in sys.path if p not in driver_paths or p in keep]
        self.config = EvalConfig.model_validate_json(config_json)
        self.node = _node_id()
        self.host = socket.gethostname()
        self._records: list[dict] = []
        self._lock = threading.Lock()
        self._making = threading.Lock()
        self._evaluator = None
        self._error: str | None = None

    def info(self) -> dict:
        """The node, and the lane's device as the harness describes it; `error`: why this node cannot
        evaluate (no compiler, no bubblewrap, no GPU), in the harness's own sentence."""
        try:
            ev = self._ready()
            return {
                "node": self.node,
                "host": self.host,
                "pid": os.getpid(),
                "device": ev.device_info(),
                "cache_dir": str(ev.workspace.root),
                "spares": ev.spare_depth(),
            }
        except UserError as e:
            return {"node": self.node, "host": self.host, "error": str(e)}

    def _ready(self):
        """The node-local evaluator, made by the first call (calls run on several threads at once)."""
        with self._making:
            if self._error is not None:
                raise UserError(self._error)
            if self._evaluator is None:
                from tools.harness.evaluator import Evaluator

                try:
                    ev = Evaluator(self.config)
                    ev.lanes.node = self.node
                    ev.lanes.sink = self._keep
                    ev.start_spares()  # their imports overlap the device probe, as in a run without Ray
                    ev.device_info()
                except UserError as e:
                    self._error = str(e)
                    raise
                self._evaluator = ev
            return self._evaluator

    def _keep(self, record: dict) -> None:
        with self._lock:
            self._records.append(record)

    def _drain(self) -> list[dict]:
        with self._lock:
            out, self._records = self._records, []
        return out

    def _problem(self, problem: dict, source: str):
        """The problem as a file of this node's cache, from its source (the driver's path means nothing here)."""
        from tools.problem import Problem

        ev = self._ready()
        path = ev.workspace.root / "problems" / text_key(source) / f"{problem['name']}.py"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        return Problem.model_validate({**problem, "path": Path(path)})

    def evaluate(self, problem: dict, problem_source: str, source: str, upto: str) -> tuple[str, list[dict]]:
        """(the EvalResult as JSON, the lane intervals since the last call)"""
        prob = self._problem(problem, problem_source)
        result = self._ready().evaluate(prob, source, upto)
        return result.model_dump_json(), self._drain()

    def baseline(self, problem: dict, problem_source: str) -> tuple[dict, list[dict]]:
        prob = self._problem(problem, problem_source)
        return self._ready().baseline(prob), self._drain()

    def counters(
        self, problem: dict, problem_source: str, source: str, result_json: str | None
    ) -> tuple[str, dict, list[dict]]:
        from tools.harness.results import EvalResult

        prob = self._problem(problem, problem_source)
        result = EvalResult.model_validate_json(result_json) if result_json else None
        text, data = self._ready().counters(prob, source, result)
        return text, data, self._drain()

    def close(self) -> None:
        if self._evaluator is not None:
            self._evaluator.close()


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()
