"""The evaluation service of a run on a Ray cluster (`agent solve --ray ADDRESS`): what the graph's tools ask
of tools.harness.evaluator.Evaluator, answered by the cluster's lanes (tools.harness.ray_pool). The
graph, the checkpoints, the results and lanes.jsonl stay here, in the driver; each evaluation runs
whole on one lane's node (build, then check, profile and time), and runs again on another lane when
that node dies under it, so every evaluation's result arrives once.

An evaluation prefers the lane that evaluated the same source before: its node holds the build, and
the check that a profile request reuses."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tools.harness.config import EvalConfig
from tools.harness.ray_lanes import lane_depth
from tools.harness.ray_pool import Lane, LanePool, connect, offered_lanes
from tools.harness.result_cache import NamedLocks, ResultCache
from tools.harness.results import EvalResult
from tools.harness.workspace import source_hash, text_key
from tools.platforms import get_platform
from tools.problem import Problem


class LaneBook:
    """The driver's record of the lanes' busy time: lanes.jsonl, one line per interval with its lane and
    node, and the busy seconds per lane that the run's status shows."""

    def __init__(self, log: Path | None):
        self.log = log
        self.busy_s: dict[str, float] = {}
        self._lock = threading.Lock()

    def join(self, lane: Lane) -> None:
        with self._lock:
            self.busy_s.setdefault(lane.name, 0.0)

    def add(self, lane: Lane, records: list[dict]) -> None:
        with self._lock:
            for rec in records:
                rec = {**rec, "lane": lane.name, "node": lane.node, "host": lane.host}
                self.busy_s[lane.name] = self.busy_s.get(lane.name, 0.0) + rec["end"] - rec["start"]
                if self.log is not None:
                    with open(self.log, "a") as f:
                        f.write(json.dumps(rec) + "\n")


class RayEvaluator:
    compile_only = False  # kernels are run, on the cluster's nodes
    spares = None  # spare workers wait on the nodes: `depth` per lane

    def __init__(
        self,
        config: EvalConfig,
        address: str,
        lane_log: Path | None = None,
        cache_dir_given: bool = True,
        threads: int = 1,
        spares_asked: int | None = None,
    ):
        """`cache_dir_given`: the user named the cache folder, so every node uses that path (shared
        storage, or the same local path); otherwise each node uses its own default. `threads`: the
        evaluations the run asks for at once, spread over the lanes the cluster offers at the start;
        `spares_asked`: the user's spares (HIPGEN_SPARES), which set each lane's depth instead."""
        self.config = config
        self.address = address
        self.platform = get_platform(config.platform)
        self.lanes = LaneBook(lane_log)
        exclude = None if cache_dir_given else {"cache_dir"}
        self._connected = connect(address)
        depth = lane_depth(threads, offered_lanes(self.platform), spares_asked)
        node_config = config.model_copy(update={"gpus": None, "spares": depth})
        self.pool = LanePool(self.platform, node_config.model_dump_json(exclude=exclude), depth)
        self.pool.on_new_lane = self.lanes.join
        self.pool.start()
        for lane in self.pool.alive():
            self.lanes.join(lane)
        self._cache = ResultCache()
        self._locks = NamedLocks()
        self._baselines: dict[str, dict] = {}
        self._where: dict[str, str] = {}  # source hash -> the lane that evaluated it last
        self._arch: list[str | None] = []

    def close(self) -> None:
        """Stop the lanes, and leave the cluster if this evaluator joined it."""
        self.pool.close()
        if self._connected:
            import ray

            ray.shutdown()

    def start_spares(self) -> None:
        """Each lane starts its spares when it joins."""

    # ---- the cluster, as the run describes it ----
    def device_info(self) -> dict:
        """The first lane's device, with the cluster's nodes and lanes."""
        alive = self.pool.alive()
        first = alive[0].info["device"] if alive else {}
        nodes = sorted({lane.node for lane in alive})
        return {**first, "ray_address": self.address, "ray_nodes": len(nodes)}

    @property
    def depth(self) -> int:
        """Evaluations each lane takes at once, and spares it keeps on its node."""
        return self.pool.depth

    def lane_devices(self) -> list[str]:
        return [lane.name for lane in self.pool.alive()]

    def lanes_per_node(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for lane in self.pool.alive():
            out.setdefault(f"{lane.node[:8]} ({lane.host})", []).append(lane.name)
        return out

    def arch(self) -> str | None:
        if not self._arch:
            self._arch.append(self.platform.build_arch(self.config.arch, self.device_info))
        return self._arch[0]

    def source_hash(self, source: str) -> str:
        return source_hash(source, self.platform.name, self.arch())

    # ---- evaluations ----
    @staticmethod
    def _problem(problem: Problem) -> tuple[dict, str]:
        return problem.model_dump(mode="json", exclude={"path"}), problem.source

    def _call(self, method: str, *args, prefer: str | None = None):
        lane, answer = self.pool.call(method, *args, prefer=prefer)
        self.lanes.add(lane, answer[-1])
        return lane, answer[:-1]

    def evaluate(self, problem: Problem, source: str, upto: str = "profile") -> EvalResult:
        h = self.source_hash(source)
        key = f"{h}:{text_key(problem.source)}"
        with self._locks(h):
            cached = self._cache.answer(key, upto)
            if cached is not None:
                return cached
            lane, (text,) = self._call("evaluate", *self._problem(problem), source, upto, prefer=self._where.get(h))
            self._where[h] = lane.name
            return self._cache.put(key, upto, EvalResult.model_validate_json(text))

    def baseline(self, problem: Problem) -> dict:
        key = text_key(problem.source)
        with self._locks(f"baseline-{key}"):
            if key not in self._baselines:
                _, (data,) = self._call("baseline", *self._problem(problem))
                self._baselines[key] = data
            return self._baselines[key]

    def counters(self, problem: Problem, source: str, result: EvalResult | None = None) -> tuple[str, dict]:
        """On the lane that profiled the candidate: its node holds the build."""
        h = self.source_hash(source)
        _, (text, data) = self._call(
            "counters",
            *self._problem(problem),
            source,
            result.model_dump_json() if result is not None else None,
            prefer=self._where.get(h),
        )
        return text, data
