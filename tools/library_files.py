"""Reading the library folders the model may look into (HipKittens' include/, the HIP or CUDA include
folder): every path is resolved, symlinks included, and must land inside its root; listings and reads
are capped so one call cannot flood the context."""

from __future__ import annotations

import os
from pathlib import Path

from tools.errors import UserError

MAX_LINES = 300  # one read
MAX_BYTES = 24_000  # one read, and the largest line-numbered answer
MAX_ENTRIES = 200  # one listing
MAX_HITS = 60  # one search
MAX_FILE_BYTES = 4_000_000  # a search skips larger files


class LibraryError(UserError):
    """A path the model asked for that cannot be shown; the tool answers with the message."""


def resolve(roots: dict[str, Path], path: str) -> tuple[str, Path, Path]:
    """(root name, the root's real path, the target's real path) for "root/sub/path"; refuses what
    would leave the root, through `..` or a symlink."""
    name, _, rest = path.strip().strip("/").partition("/")
    if name not in roots:
        raise LibraryError(f"no library root '{name}': the roots are {', '.join(sorted(roots)) or 'none'}.")
    root = Path(os.path.realpath(roots[name]))
    target = Path(os.path.realpath(root / rest))
    if target != root and root not in target.parents:
        raise LibraryError(f"'{path}' leads outside the library root '{name}'; give a path inside it.")
    if not target.exists():
        raise LibraryError(f"'{path}' does not exist; list its folder first (read_library path='{name}').")
    return name, root, target


def listing(roots: dict[str, Path], path: str) -> str:
    name, root, folder = resolve(roots, path)
    if not folder.is_dir():
        raise LibraryError(f"'{path}' is a file: read it with read_library(path='{path}').")
    rows = []
    for entry in sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name)):
        real = Path(os.path.realpath(entry))
        if real != root and root not in real.parents:
            continue  # a symlink out of the root is not shown
        rel = f"{name}/{real.relative_to(root)}" if real != root else name
        rows.append(f"{rel}/" if real.is_dir() else f"{rel}  ({real.stat().st_size} bytes)")
    more = f"\n... and {len(rows) - MAX_ENTRIES} more" if len(rows) > MAX_ENTRIES else ""
    return f"{path.strip('/') or name}/ ({len(rows)} entries):\n" + "\n".join(rows[:MAX_ENTRIES]) + more


def read_lines(roots: dict[str, Path], path: str, start: int, count: int) -> str:
    _, _, target = resolve(roots, path)
    if target.is_dir():
        return listing(roots, path)
    lines = target.read_text(errors="replace").splitlines()
    first = max(1, start)
    if first > len(lines):
        raise LibraryError(f"'{path}' has {len(lines)} lines; start at or before line {len(lines)}.")
    out, size = [], 0
    for n in range(first, min(len(lines), first + max(1, min(count, MAX_LINES)) - 1) + 1):
        row = f"{n:>5}  {lines[n - 1]}"
        if size + len(row) > MAX_BYTES and out:
            break
        out.append(row)
        size += len(row) + 1
    last = first + len(out) - 1
    tail = f"\n[lines {first}-{last} of {len(lines)}"
    tail += f"; read on with start={last + 1}]" if last < len(lines) else "]"
    return f"{path.strip('/')}:\n" + "\n".join(out) + tail


def search(roots: dict[str, Path], path: str, text: str) -> str:
    """Lines containing `text` in the files under `path` (a folder or a file), as path:line: text."""
    name, root, start = resolve(roots, path)
    files = [start] if start.is_file() else _files_under(start)
    hits = []
    for f in files:
        real = Path(os.path.realpath(f))
        if (real != root and root not in real.parents) or real.stat().st_size > MAX_FILE_BYTES:
            continue
        for n, line in enumerate(real.read_text(errors="replace").splitlines(), 1):
            if text in line:
                hits.append(f"{name}/{real.relative_to(root)}:{n}: {line.strip()[:200]}")
                if len(hits) > MAX_HITS:
                    break
        if len(hits) > MAX_HITS:
            break
    if not hits:
        return f"no line under '{path}' contains {text!r}."
    more = f"\n[first {MAX_HITS} hits; narrow the path or the text]" if len(hits) > MAX_HITS else ""
    return "\n".join(hits[:MAX_HITS]) + more


def _files_under(folder: Path) -> list[Path]:
    """Every file below `folder`, not following symlinked folders (no loops, no way out)."""
    found = []
    for here, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        found += [Path(here) / n for n in sorted(names)]
    return found
