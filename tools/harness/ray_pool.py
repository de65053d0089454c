"""The driver's view of a Ray cluster's lanes: connecting, a lane actor (tools.harness.ray_lanes) for every
lane the cluster's nodes offer (tools.platforms: ray_lanes, one per GPU; one per node on the cpu
platform), a pool that grows as nodes join and shrinks as they leave, and calls that survive a node's
death: the call runs again on another lane, and only the call that returned counts.

Ray is an optional extra (pip install 'hipgenerator[ray]'); this module imports it when a run asks for
it, and a run without --ray never does."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from tools.errors import ConfigError, PlatformError, UserError
from tools.harness.ray_lanes import IN_FLIGHT, LaneHost

log = logging.getLogger("hipgen.ray")

RAY_MISSING = "--ray needs Ray, which is not installed here: pip install 'hipgenerator[ray]' (on every node too)."
START_TIMEOUT_S = 300.0  # a lane's actor: start, import the harness, probe its device, start its spares
NO_LANE_WAIT_S = 600.0  # with every lane gone, how long a call waits for a node to join
MAX_RERUNS = 3  # lanes lost in a row under one call before the call itself is failed


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_MISSING) from None
    return ray


def connect(address: str) -> bool:
    """Join the cluster at `address` ('auto': RAY_ADDRESS, else the cluster this machine runs); one line
    when it cannot be reached. Ray itself retries an address that does not answer for minutes, so a
    plain TCP connection to it is tried first. False when this process was connected already."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    target = os.environ.get("RAY_ADDRESS", "").strip() if address == "auto" else address
    why = _unreachable(target) if target and target != "auto" else None
    if why is None:
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False, namespace="hipgenerator")
            return True
        except Exception as e:  # noqa: BLE001 - whatever Ray raises, the user gets one line
            why = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
    shown = address if target == address else f"{address} ({target})"
    raise PlatformError(
        f"Could not reach the Ray cluster at {shown}: {why.rstrip('.')}. "
        f"Start it with `ray start --head`, or check --ray."
    )


def _unreachable(address: str, timeout: float = 10.0) -> str | None:
    """Why nothing answers at HOST:PORT (a ray:// address too), or None when a connection opens."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return f"'{address}' is not HOST:PORT (such as 10.0.0.5:6379) or auto"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__


def driver_paths() -> list[str]:
    """What Ray adds to every worker's sys.path from this process: its working folder and its script's."""
    return [os.path.abspath(os.curdir), os.path.dirname(os.path.realpath(sys.argv[0]))]


def lost_lane_errors() -> tuple[type[BaseException], ...]:
    """What a call raises when its lane, its worker process or its node is gone."""
    from ray import exceptions as rx

    return tuple(
        getattr(rx, name)
        for name in ("RayActorError", "ActorUnavailableError", "WorkerCrashedError", "NodeDiedError", "OwnerDiedError")
        if hasattr(rx, name)
    )


@dataclass
class Lane:
    name: str  # <node id, 8 characters>/<lane on that node>
    node: str  # Ray's node id
    host: str
    actor: Any
    info: dict
    in_flight: int = 0
    dead: bool = False


def offered_lanes(platform) -> int:
    """The lanes the cluster's live nodes offer now, before any lane actor starts."""
    import ray

    return sum(platform.ray_lanes(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive"))


class LanePool:
    def __init__(self, platform, config_json: str, depth: int = IN_FLIGHT, refresh_s: float = 10.0):
        """`depth`: evaluations each lane takes at once (tools.harness.ray_lanes.lane_depth)."""
        self.platform, self.config_json, self.depth, self.refresh_s = platform, config_json, depth, refresh_s
        self.lanes: dict[str, Lane] = {}
        self.dropped: list[dict] = []  # {"lane", "node", "why"} for every lane lost during the run
        self.unfit: dict[str, str] = {}  # node -> why it cannot evaluate (asked again only if it rejoins)
        self.on_new_lane = None  # called with each lane that joins
        self._cond = threading.Condition()
        self._refreshing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_refresh = 0.0

    # ---- growing and shrinking with the cluster ----
    def start(self) -> None:
        """The cluster's lanes now, and a thread that follows nodes joining and leaving."""
        self.refresh()
        if not self.alive():
            raise PlatformError(self._no_lane_reason())
        self._thread = threading.Thread(target=self._follow, name="hipgen-ray-pool", daemon=True)
        self._thread.start()

    def _no_lane_reason(self) -> str:
        if self.unfit:
            node, why = next(iter(self.unfit.items()))
            return (
                f"No node of the Ray cluster can evaluate for the {self.platform.name} platform; node {node[:8]}: {why}"
            )
        needs = ", ".join(f"{k}={v:g}" for k, v in self.platform.ray_lane_options().items() if v)
        return (
            f"The Ray cluster offers no lane for the {self.platform.name} platform: a lane holds {needs} of a "
            f"node; start the nodes with those (ray start --num-gpus N, --num-cpus N)."
        )

    def _follow(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception as e:  # noqa: BLE001 - a failed look at the cluster is tried again later
                log.warning("ray pool refresh failed: %s", e)

    def refresh(self) -> None:
        """Drop the lanes of nodes that left; start lane actors for what nodes offer beyond their live
        lanes (a new node's, or in place of a lane whose actor died while its node lives on)."""
        import ray

        with self._refreshing:
            self._last_refresh = time.monotonic()
            nodes = {n["NodeID"]: n for n in ray.nodes() if n.get("Alive")}
            for lane in list(self.alive()):
                if lane.node not in nodes:
                    self.drop(lane, "its node left the cluster")
            self.unfit = {node: why for node, why in self.unfit.items() if node in nodes}
            starting = []
            for node_id, node in nodes.items():
                if node_id in self.unfit:
                    continue
                have = {lane.name for lane in self.alive() if lane.node == node_id}
                for k in range(self.platform.ray_lanes(node.get("Resources", {}))):
                    name = f"{node_id[:8]}/{k}"
                    if name not in have:
                        starting.append((name, node_id, self._start_actor(node_id)))
            if starting:
                self._admit(starting)

    def _start_actor(self, node_id: str):
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options = dict(self.platform.ray_lane_options())
        actor = ray.remote(LaneHost).options(
            **options,
            max_concurrency=self.depth + 2,  # and its info and close calls
            max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        )
        return actor.remote(self.config_json, driver_paths())

    def _admit(self, starting: list[tuple[str, str, Any]]) -> None:
        """Wait for new lane actors to describe their node; keep those that can evaluate."""
        import ray

        refs = {actor.info.remote(): (name, node, actor) for name, node, actor in starting}
        ready, pending = ray.wait(list(refs), num_returns=len(refs), timeout=START_TIMEOUT_S)
        for ref in pending:  # the node never gave the actor what it holds (a GPU taken by another job)
            ray.kill(refs[ref][2], no_restart=True)
        for ref in ready:
            name, node, actor = refs[ref]
            try:
                info = ray.get(ref)
            except lost_lane_errors() as e:  # its start failed: no harness there, say, or the node died
                log.warning("ray node %s: a lane actor did not start: %s", node[:8], _first_line(e))
                self.unfit[node] = _first_line(e)
                continue
            if info.get("error"):
                log.warning("ray node %s (%s) cannot evaluate: %s", node[:8], info.get("host"), info["error"])
                self.unfit[node] = info["error"]
                ray.kill(actor, no_restart=True)
                continue
            lane = Lane(name, node, info["host"], actor, info)
            with self._cond:
                self.lanes[name] = lane
                self._cond.notify_all()
            if self.on_new_lane is not None:
                self.on_new_lane(lane)

    def alive(self) -> list[Lane]:
        with self._cond:
            return [lane for lane in self.lanes.values() if not lane.dead]

    def drop(self, lane: Lane, why: str) -> None:
        import ray

        with self._cond:
            if lane.dead:
                return
            lane.dead = True
            self.dropped.append({"lane": lane.name, "node": lane.node, "why": why})
            self._cond.notify_all()
        log.warning("ray lane %s on %s dropped: %s", lane.name, lane.host, why)
        try:
            ray.kill(lane.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - it is gone already
            pass

    # ---- calls ----
    def _acquire(self, prefer: str | None) -> Lane:
        """The preferred lane if it has room, else the lane with the fewest evaluations in flight."""
        deadline = time.monotonic() + NO_LANE_WAIT_S
        with self._cond:
            while True:
                open_ = [lane for lane in self.lanes.values() if not lane.dead and lane.in_flight < self.depth]
                if open_:
                    pick = next((lane for lane in open_ if lane.name == prefer), None)
                    pick = pick or min(open_, key=lambda lane: lane.in_flight)
                    pick.in_flight += 1
                    return pick
                if not any(not lane.dead for lane in self.lanes.values()):
                    if time.monotonic() > deadline:
                        raise PlatformError(
                            f"Every lane of the Ray cluster is gone ({len(self.dropped)} dropped, the last: "
                            f"{self.dropped[-1]['why'] if self.dropped else '-'}), and no node joined for "
                            f"{NO_LANE_WAIT_S:.0f} s."
                        )
                    threading.Thread(target=self._refresh_quietly, daemon=True).start()
                self._cond.wait(timeout=5.0)

    def _refresh_quietly(self) -> None:
        if time.monotonic() - self._last_refresh < 2.0:
            return
        try:
            self.refresh()
        except Exception as e:  # noqa: BLE001
            log.warning("ray pool refresh failed: %s", e)

    def _release(self, lane: Lane) -> None:
        with self._cond:
            lane.in_flight -= 1
            self._cond.notify_all()

    def call(self, method: str, *args, prefer: str | None = None) -> tuple[Lane, Any]:
        """Run a LaneHost method on a lane and return (the lane that answered, its answer). A lane lost
        under the call is dropped and the call runs again on another; an error of the harness itself
        (a UserError raised on the node) comes back as that error."""
        import ray

        lost = lost_lane_errors()
        for _ in range(MAX_RERUNS + 1):
            lane = self._acquire(prefer)
            try:
                return lane, ray.get(getattr(lane.actor, method).remote(*args))
            except lost as e:
                self.drop(lane, _first_line(e))
                prefer = None
            except ray.exceptions.RayTaskError as e:
                cause = e.cause if isinstance(getattr(e, "cause", None), UserError) else None
                if cause is not None:
                    raise cause from None
                raise
            finally:
                self._release(lane)
        raise PlatformError(f"{MAX_RERUNS + 1} lanes of the Ray cluster were lost in a row under one evaluation.")

    def close(self) -> None:
        import ray

        self._stop.set()
        for lane in self.alive():
            try:
                ray.get(lane.actor.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001 - closing: a lane that does not answer is killed anyway
                pass
            ray.kill(lane.actor, no_restart=True)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300] if text else ''}"
