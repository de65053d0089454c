"""Starts the worker processes of one evaluator: taken from the spares where it can, inside the jail,
with the scrubbed environment, the lane's device, the build folder and the build target, on a lane
when it measures."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path

from tools.harness.config import EvalConfig
from tools.harness.jail import Jail
from tools.harness.lanes import Lanes
from tools.harness.protocol import WorkerRequest
from tools.harness.sandbox import BuildFolder, WorkerOutcome, WorkerRunner, scrubbed_env
from tools.harness.spares import SparePool, discard
from tools.harness.workspace import Workspace


class Launcher:
    def __init__(
        self,
        config: EvalConfig,
        platform,
        workspace: Workspace,
        lanes: Lanes,
        build_env: Callable[[], dict[str, str]],
        lane_count: Callable[[], int],
        jail: Jail | None,
    ):
        """build_env and lane_count are asked when first needed: both may need the device probe."""
        self.config, self.platform, self.workspace, self.lanes = config, platform, workspace, lanes
        self._build_env, self._lane_count = build_env, lane_count
        # Where the platform allows, the next spare starts while the current worker runs (it touches no
        # device); where the host is what is timed, it starts afterwards.
        self.spares = (
            SparePool(workspace.spares, early=platform.spares_overlap_timing, jail=jail) if config.keep_spares else None
        )
        self.runner = WorkerRunner(config.timeouts, self.spares, jail)
        if self.spares is not None:
            weakref.finalize(self, self.spares.close)

    def close(self) -> None:
        if self.spares is not None:
            self.spares.close()

    def spare_depth(self) -> int:
        """Spares kept waiting on a GPU. An evaluation that finds none waits for a worker's imports (about
        3 s on the H100 machines; lanes.jsonl records each wait as worker_wait): a run whose evaluations
        come in bursts wants one per thread (agent.settings), at about 0.6 GiB of host memory each."""
        return self.config.spares if self.config.spares is not None else self._lane_count() + 1

    def start_spares(self) -> None:
        """Start the GPU spares now rather than at the first evaluation. Their environment leaves out
        what each request sets (device, build folder, build target), so nothing here needs the probe's
        answer unless the depth does (no `spares` given and no devices named)."""
        if self.spares is not None and self.spares.early:
            self.spares.depth = self.spare_depth()
            self.spares.replenish(self._worker_env({}))

    def env(self, device: int | None) -> dict[str, str]:
        env = self._worker_env(self._build_env())
        env.update(self.platform.visible_devices_env(device))
        return env

    def _worker_env(self, build: dict[str, str]) -> dict[str, str]:
        env = scrubbed_env(build, self.workspace.home)
        env.setdefault("MAX_JOBS", str(self.config.jobs_per_build))
        return env

    def run(self, req: WorkerRequest, device: int | None, workdir: Path, build: BuildFolder | None) -> WorkerOutcome:
        """A worker off the lanes (a build, or an import that needs no device to itself)."""
        return self.runner.run(req, self.env(device), workdir, build=build)

    def run_on_lane(
        self, req: WorkerRequest, build: BuildFolder | None, workdir: Path, what: str, problem: str
    ) -> WorkerOutcome:
        """Run a worker on a device lane. Where spares start early, the worker is taken and waited for
        first, and only then a lane: no GPU sits idle while a worker imports torch."""
        started = None
        if self.spares is not None and self.spares.early:
            self.spares.depth = self.spare_depth()
            started = self.spares.take_ready(self.env(None), self.config.timeouts["setup"])
        return self._on_lane(req, build, workdir, what, problem, started)

    def run_prefixed_on_lane(
        self, req: WorkerRequest, build: BuildFolder, what: str, problem: str, prefix: list[str], workdir: Path
    ) -> WorkerOutcome:
        """A fresh worker wrapped in a profiler command, on a lane (no spare: the profiler starts it).
        Where spares start early, it too is started and waited for before the lane is taken: under ncu,
        its imports kept the GPU idle 4-5 s of each counters pass."""
        started = None
        if self.spares is not None and self.spares.early:
            started = self.runner.start_ready(self.env(None), workdir, prefix, self.config.timeouts["setup"])
        return self._on_lane(req, build, workdir, what, problem, started, prefix)

    def _on_lane(self, req, build, workdir: Path, what: str, problem: str, started, prefix=None) -> WorkerOutcome:
        marks: dict = {}
        try:
            with self.lanes.hold(what, problem, req.phases, started.ready_wait if started else 0.0, marks) as lane:
                out = self.runner.run(req, self.env(lane), workdir, prefix, started=started, build=build)
                marks.update(_marks(out))
                return out
        except BaseException:
            if started is not None:
                discard(started)
            raise


def _marks(out: WorkerOutcome) -> dict:
    """When the worker began its first phase and when it reported its end (its own clock: the host's),
    and each phase's wall seconds."""
    marks: dict = {"phase_s": {}}
    began = None
    for rec in out.records:
        event, t = rec.get("event"), rec.get("t")
        if event == "start" and t is not None:
            marks.setdefault("first_phase", float(t))
            began = float(t)
        elif event in ("end", "fail") and t is not None and began is not None:
            marks["phase_s"][rec.get("phase", "")] = round(float(t) - began, 4)
        if event in ("done", "fail") and t is not None:
            marks["finished"] = float(t)
    return marks
