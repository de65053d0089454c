"""Problem sets: find a KernelBench checkout (either layout) and pick problems by level, id range and
name substring."""

from __future__ import annotations

from pathlib import Path

from tools.errors import DatasetError
from tools.problem import Problem, read_source


def level_dir(dataset: Path | None, level: int) -> Path:
    if dataset is None:
        raise DatasetError("No dataset given: pass --dataset DIR (a KernelBench checkout) or set DATASET_BASE.")
    root = Path(dataset).expanduser()
    if not root.is_dir():
        raise DatasetError(f"Dataset folder {root} does not exist: pass --dataset pointing at a KernelBench checkout.")
    for candidate in (root / "KernelBench" / f"level{level}", root / f"level{level}"):
        if candidate.is_dir():
            return candidate
    raise DatasetError(
        f"No level{level} folder under {root}: expected {root}/KernelBench/level{level} or "
        f"{root}/level{level} (a KernelBench checkout)."
    )


def parse_range(spec: str) -> set[int]:
    ids: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                ids.update(range(lo, hi + 1))
            else:
                ids.add(int(part))
        except ValueError:
            raise DatasetError(f"Bad --range '{spec}': use ids like 1-10 or 3,5,7-9.") from None
    return ids


def load_problems(
    dataset: Path | None, level: int, id_range: str | None = None, name: str | None = None
) -> list[Problem]:
    folder = level_dir(dataset, level)
    problems = [Problem.from_file(p, level=level) for p in folder.glob("*.py") if not p.name.startswith("_")]
    problems = [p for p in problems if p.id is not None]
    if id_range:
        wanted = parse_range(id_range)
        problems = [p for p in problems if p.id in wanted]
    if name:
        problems = [p for p in problems if name.lower() in p.name.lower()]
    if not problems:
        what = (
            " and ".join(
                x for x in (f"--range {id_range}" if id_range else "", f"--problem {name}" if name else "") if x
            )
            or "anything"
        )
        raise DatasetError(f"No level{level} problem in {folder} matches {what}: run `agent problems` to list them.")
    return sorted(problems, key=lambda p: (p.id, p.name))


def resolve_problem(spec: str, dataset: Path | None) -> Problem:
    """For `agent eval --problem`: a file path, or LEVEL/ID (e.g. 1/19), or LEVEL/NAME-SUBSTRING."""
    path = Path(spec).expanduser()
    if path.is_dir():
        raise DatasetError(f"Problem {path} is a folder: give a problem file or LEVEL/ID such as 1/19.")
    if path.suffix == ".py":
        if not path.is_file():
            raise DatasetError(f"Problem file {path} does not exist.")
        read_source(path, "Problem file")
        return Problem.from_file(path)
    lvl, _, rest = spec.partition("/")
    lvl = lvl.removeprefix("level")
    if lvl.isdigit() and rest:
        return _pick(dataset, int(lvl), rest)
    raise DatasetError(f"Bad --problem '{spec}': give a problem file or LEVEL/ID such as 1/19.")


def _pick(dataset: Path | None, level: int, rest: str) -> Problem:
    """Level `level`'s problem with id `rest`, or the first whose name holds it."""
    found = load_problems(dataset, level)
    if rest.isdigit():
        found, what = [p for p in found if p.id == int(rest)], f"problem {int(rest)}"
    else:
        found, what = [p for p in found if rest.lower() in p.name.lower()], f"problem named like '{rest}'"
    if not found:
        raise DatasetError(
            f"Level {level} has no {what} in {level_dir(dataset, level)}: "
            f"run `agent problems --level{level} --dataset {dataset}` to list them."
        )
    return found[0]
