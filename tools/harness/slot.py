"""A sandboxed worker's slot: the one folder it may write. It holds the worker's log and whatever a
profiler writes there, tmp/ (its HOME and TMPDIR), build/ (seen inside at jail.INSIDE_BUILD: a copy
of the cached build, or where a new one is made) and copies of the two files it reads, the problem and
the candidate. The build cache itself is written only here, by the harness, from a slot whose build
succeeded, so no candidate can reach another's entry."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tools.harness.protocol import WorkerRequest

BUILT = ".built"  # in a cache entry: the build finished and its output was kept


def make(slot: Path) -> Path:
    for sub in ("tmp", "build"):
        (slot / sub).mkdir(parents=True, exist_ok=True)
    return slot


def env(slot: Path) -> dict[str, str]:
    return {"HOME": str(slot / "tmp"), "TMPDIR": str(slot / "tmp")}


def take_inputs(req: WorkerRequest, slot: Path) -> WorkerRequest:
    """The request with its problem and candidate read from copies in the slot."""
    update = {}
    for field, name in (("problem_path", "problem.py"), ("candidate_path", "candidate.py")):
        src = getattr(req, field)
        if src:
            shutil.copyfile(src, slot / name)
            update[field] = str(slot / name)
    return req.model_copy(update=update)


def take_build(entry: Path, slot: Path) -> None:
    """A finished cache entry, copied with its times, so ninja finds it up to date and only loads it."""
    if (entry / BUILT).exists():
        shutil.copytree(entry, slot / "build", symlinks=True, dirs_exist_ok=True)


def give_build(slot: Path, entry: Path) -> None:
    """The slot's build becomes the cache entry, whole or not at all."""
    staging = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(slot / "build", staging, symlinks=True)
    (staging / BUILT).touch()
    shutil.rmtree(entry, ignore_errors=True)
    os.replace(staging, entry)


def clear(slot: Path) -> None:
    """What a finished worker leaves but its log and profiler output: tmp, build and the input copies."""
    for sub in ("tmp", "build"):
        shutil.rmtree(slot / sub, ignore_errors=True)
    for name in ("problem.py", "candidate.py"):
        (slot / name).unlink(missing_ok=True)
