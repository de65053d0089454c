"""The results layout on disk, written as it happens. Every file is written whole and renamed into
place, so a killed run never leaves a half-written file."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.harness.results import EvalResult, Status, improves


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class TraceWriter:
    """trace_<sample>.jsonl: one record a line; rewritten whole on each append (atomic)."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: list[str] = path.read_text().splitlines() if path.exists() else []
        self.t0 = time.monotonic()
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        record = {"t": now_iso(), **record}
        with self._lock:
            self.lines.append(json.dumps(record, default=str))
            write_atomic(self.path, "\n".join(self.lines) + "\n")


class ProblemStore:
    def __init__(self, root: Path, name: str, target: float):
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name, self.target = name, target
        self._lock = threading.Lock()
        self._numbers: dict[tuple[int, str], int] = {}
        self._best: dict | None = None
        for f in self.dir.glob("result_*.json"):
            data = json.loads(f.read_text())
            self._numbers[(data.get("sample", 0), data.get("source_hash", ""))] = data["n"]
            self._consider_best(data)

    def next_n(self) -> int:
        return max(self._numbers.values(), default=-1) + 1

    def record(self, sample: int, source: str, result: EvalResult, note: str = "") -> int:
        """Save code_<n>.py and result_<n>.json; a later evaluation of the same source in the same
        sample (compile, then check, then profile) updates result_<n>.json in place."""
        with self._lock:
            key = (sample, result.source_hash)
            n = self._numbers.get(key)
            if n is None:
                n = self._numbers[key] = self.next_n()
                write_atomic(self.dir / f"code_{n}.py", source)
            data = {
                "n": n,
                "problem": self.name,
                "sample": sample,
                "code_file": f"code_{n}.py",
                "note": note,
                "evaluated_at": now_iso(),
                **result.model_dump(mode="json"),
            }
            write_json(self.dir / f"result_{n}.json", data)
            if self._consider_best(data):
                write_atomic(self.dir / "best_code.py", source)
                write_json(self.dir / "best_result.json", data)
            return n

    def _consider_best(self, data: dict) -> bool:
        if improves(data, self._best):
            self._best = data
            return True
        return False

    def trace(self, sample: int) -> TraceWriter:
        return TraceWriter(self.dir / f"trace_{sample}.jsonl")


class RunStore:
    def __init__(self, out: Path, target: float):
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.target = target
        self._problems: dict[str, ProblemStore] = {}
        self._lock = threading.Lock()
        # A run killed mid-write leaves its hidden temporary file beside the intact old file; only one
        # run writes a folder at a time, so any such file is a dead run's.
        for stale in self.out.rglob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def problem(self, name: str) -> ProblemStore:
        with self._lock:
            if name not in self._problems:
                self._problems[name] = ProblemStore(self.out, name, self.target)
            return self._problems[name]

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoints.sqlite"

    @property
    def config_path(self) -> Path:
        return self.out / "run_config.json"

    @property
    def log_path(self) -> Path:
        return self.out / "batch_run.log"


def status_of(best: dict | None, target: float) -> str:
    if not best or not best.get("correct"):
        return "failed"
    return "success" if (best.get("speedup") or 0.0) >= target else "partial"


def is_problem_dir(d: Path) -> bool:
    """A problem folder of a run: it holds an evaluation or a thread's trace."""
    return d.is_dir() and (any(d.glob("result_*.json")) or any(d.glob("trace_*.jsonl")))


def holds_run(out: Path) -> bool:
    """Whether agent solve wrote to `out`: run_config.json (written before any thread starts), or a
    problem folder (a run from before that file, or one whose config was lost)."""
    return (out / "run_config.json").is_file() or any(is_problem_dir(d) for d in out.iterdir())


_RESULT = re.compile(r"^result_(\d+)\.json$")


def read_results(problem_dir: Path) -> list[dict]:
    out = []
    for f in problem_dir.iterdir():
        if _RESULT.match(f.name):
            try:
                out.append(json.loads(f.read_text()))
            except (OSError, json.JSONDecodeError):
                continue
    return sorted(out, key=lambda d: d.get("n", 0))


__all__ = [
    "RunStore",
    "ProblemStore",
    "TraceWriter",
    "write_atomic",
    "write_json",
    "status_of",
    "read_results",
    "is_problem_dir",
    "holds_run",
    "Status",
]
