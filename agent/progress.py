"""Where a run stands: a tracker the runner feeds, saved as status.json, and one rendering of it used by
the live display of `agent solve` and by `agent status DIR`."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from agent.store import write_json
from tools.harness.results import score

STATUS_FILE = "status.json"


class Progress:
    """Thread states ('queued', 'running', 'done', 'failed', 'skipped'), each thread's best and each
    problem's best."""

    def __init__(self, out: Path, threads: list[tuple[str, int]], ledger, lane_busy: dict[str, float]):
        self.path = Path(out) / STATUS_FILE
        self.ledger = ledger
        self.lane_busy = lane_busy
        self.started = time.time()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.state = "running"
        self.threads = {f"{p}/{s}": {"state": "queued", "ended": None, "attempts": 0, "best": None} for p, s in threads}
        self.best: dict[str, float | None] = {p: None for p, _ in threads}
        self.evals: dict[tuple[str, int], tuple[int, str]] = {}  # (problem, n) -> (sample, latest verdict)
        self.listeners: list = []  # called with (thread key, its state) when a thread finishes

    def thread(self, problem: str, sample: int, state: str, ended: str | None = None) -> None:
        key = f"{problem}/{sample}"
        with self._lock:
            t = self.threads[key]
            t["state"] = state
            if ended is not None:
                t["ended"] = ended
            info = dict(t)
        self.save()
        if state != "running":
            for listener in list(self.listeners):
                listener(key, info)

    def result(self, problem: str, sample: int, n: int, result) -> None:
        """One evaluation of candidate n (compile, check and profile of one source share an n)."""
        verdict = _verdict(bool(result.correct), result.status.value)
        with self._lock:
            self.evals[(problem, n)] = (sample, verdict)
            self.threads[f"{problem}/{sample}"]["attempts"] = sum(
                1 for (p, _), (s, _) in self.evals.items() if p == problem and s == sample
            )
            if score(result):
                self._better(f"{problem}/{sample}", problem, score(result))
        self.save()

    def _better(self, key: str, problem: str, speedup: float) -> None:
        self.best[problem] = max(self.best[problem] or 0.0, speedup)
        if key in self.threads:
            self.threads[key]["best"] = max(self.threads[key]["best"] or 0.0, speedup)

    def seed(self, out: Path) -> None:
        """A resumed run starts from the candidates already on disk."""
        from agent.store import read_results

        for problem in self.best:
            d = Path(out) / problem
            if not d.is_dir():
                continue
            for r in read_results(d):
                sample, n = int(r.get("sample", 0)), int(r["n"])
                verdict = _verdict(bool(r.get("correct")), str(r.get("status")))
                self.evals[(problem, n)] = (sample, verdict)
                key = f"{problem}/{sample}"
                if key in self.threads:
                    self.threads[key]["attempts"] += 1
                if score(r):
                    self._better(key, problem, score(r))

    def finish(self, state: str = "finished") -> None:
        self.state = state
        self.save()

    def snapshot(self) -> dict:
        with self._lock:
            threads = {k: dict(v) for k, v in self.threads.items()}
            best = dict(self.best)
            statuses: dict[str, int] = {}
            for _, verdict in self.evals.values():
                statuses[verdict] = statuses.get(verdict, 0) + 1
        counts = {
            s: sum(1 for t in threads.values() if t["state"] == s)
            for s in ("queued", "running", "done", "failed", "skipped")
        }
        elapsed = time.time() - self.started
        finished = counts["done"] + counts["failed"] + counts["skipped"]
        remaining = counts["queued"] + counts["running"]
        eta = elapsed / finished * remaining if finished and remaining else None
        return {
            "state": self.state,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started,
            "updated_at": time.time(),
            "elapsed_s": elapsed,
            "eta_s": eta,
            "threads": threads,
            "thread_counts": counts,
            "best": best,
            "eval_statuses": statuses,
            "tokens": self.ledger.totals(),
            "cost_usd": self.ledger.cost(),
            "lane_busy_s": dict(self.lane_busy),
        }

    def save(self) -> None:
        """Every change is written at once (a thread may then run for minutes without news); the
        snapshot is taken under the write lock, so an older one never replaces a newer one."""
        with self._write_lock:
            write_json(self.path, self.snapshot())


def _verdict(correct: bool, status: str) -> str:
    """An evaluation in a word: correct, built (ok so far, not yet checked), or its failure status."""
    return "correct" if correct else ("built" if status == "ok" else status)


def read_status(out: Path) -> dict | None:
    """status.json of a run, with 'stopped' for a run whose process is gone without finishing."""
    path = Path(out) / STATUS_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("state") == "running" and data.get("host") == socket.gethostname() and not _alive(data.get("pid")):
        data["state"] = "stopped"
        # the clock stopped with the process: measure from the last update, not from now
        data["elapsed_s"] = data.get("updated_at", time.time()) - data.get("started_at", time.time())
        data["eta_s"] = None
    return data


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def lanes_text(busy: dict[str, float]) -> str:
    """Busy seconds per lane; a Ray run's lanes (named node/lane) grouped by their node."""
    nodes: dict[str, list[str]] = {}
    for name, s in sorted(busy.items()):
        node, sep, lane = name.rpartition("/")
        nodes.setdefault(node if sep else "", []).append(f"{lane if sep else name}: {s:.0f} s")
    parts = [
        (f"node {node} ({len(lanes)} lane{'s' if len(lanes) != 1 else ''}) " if node else "") + ", ".join(lanes)
        for node, lanes in nodes.items()
    ]
    return "; ".join(parts) or "-"


def render(status: dict, max_rows: int = 30):
    """A headline and a per-problem table."""
    c = status["thread_counts"]
    problems: dict[str, dict] = {}
    for key, t in status["threads"].items():
        name = key.rsplit("/", 1)[0]
        row = problems.setdefault(name, {"done": 0, "running": 0, "queued": 0, "failed": 0, "attempts": 0, "ended": []})
        state = "done" if t["state"] == "skipped" else t["state"]
        row[state] = row.get(state, 0) + 1
        row["attempts"] += t["attempts"]
        if t.get("ended"):
            row["ended"].append(str(t["ended"]).split(":", 1)[0])
    finished = sum(1 for r in problems.values() if not r["running"] and not r["queued"])
    best = [v for v in status["best"].values() if v]
    tokens = status["tokens"].get("total_tokens", 0)
    cost = f"  cost ${status['cost_usd']:.2f}" if status.get("cost_usd") is not None else ""
    evals = ", ".join(f"{k} {v}" for k, v in sorted(status["eval_statuses"].items())) or "none yet"
    lanes = lanes_text(status.get("lane_busy_s", {}))
    head = Text.assemble(
        (f"{status['state']}", "bold"),
        f"  problems {finished}/{len(problems)} finished  |  threads: {c['done']} done, {c['running']} running, "
        f"{c['queued']} queued, {c['failed']} failed" + (f", {c['skipped']} skipped" if c.get("skipped") else ""),
        f"\nbest speedup so far {max(best):.2f}x over {len(best)} problem(s)" if best else "\nno correct kernel yet",
        f"  |  evaluations: {evals}\ntokens {tokens:,}{cost}  |  elapsed {_clock(status['elapsed_s'])}  "
        f"ETA {_clock(status.get('eta_s'))}  |  GPU lanes busy: {lanes}",
    )
    table = Table(box=None, pad_edge=False)
    for col in ("problem", "samples", "attempts", "best", "ended"):
        table.add_column(col)
    order = sorted(problems.items(), key=lambda kv: (not kv[1]["running"], kv[0]))
    for name, r in order[:max_rows]:
        samples = (
            f"{r['done']} done"
            + (f" {r['running']} running" if r["running"] else "")
            + (f" {r['queued']} queued" if r["queued"] else "")
            + (f" {r['failed']} failed" if r["failed"] else "")
        )
        b = status["best"].get(name)
        table.add_row(name, samples, str(r["attempts"]), f"{b:.3f}x" if b else "-", ", ".join(sorted(set(r["ended"]))))
    if len(order) > max_rows:
        table.add_row(f"... {len(order) - max_rows} more", "", "", "", "")
    return Group(head, table)


def live_display(console):
    """For runner.solve: a rich Live view of the Progress, redrawn twice a second."""
    from contextlib import contextmanager

    from rich.live import Live

    @contextmanager
    def show(progress: Progress):
        class View:
            def __rich__(self):
                return render(progress.snapshot())

        with Live(View(), console=console, refresh_per_second=2, transient=False):
            yield

    return show


def line_display(console):
    """For runner.solve off a terminal: a line as each thread finishes."""
    from contextlib import contextmanager

    @contextmanager
    def show(progress: Progress):
        def tell(key: str, info: dict) -> None:
            snap = progress.snapshot()
            c = snap["thread_counts"]
            mine, problem_best = info.get("best"), snap["best"].get(key.rsplit("/", 1)[0])
            # the thread's own best; the problem's too where another sample did better
            others = f" (problem {problem_best:.3f}x)" if problem_best and problem_best != mine else ""
            console.print(
                f"[{c['done'] + c['failed'] + c['skipped']}/{len(snap['threads'])}] {key}: {info['state']}"
                f" ({info.get('ended') or '-'}), {info['attempts']} attempt(s), best "
                f"{f'{mine:.3f}x' if mine else '-'}{others}; tokens {snap['tokens'].get('total_tokens', 0):,}, "
                f"elapsed {_clock(snap['elapsed_s'])}, ETA {_clock(snap['eta_s'])}",
                markup=False,
                highlight=False,
            )

        progress.listeners.append(tell)
        try:
            yield
        finally:
            progress.listeners.remove(tell)

    return show
