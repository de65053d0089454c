"""A KernelBench problem: a plain Python file defining Model, get_inputs and get_init_inputs."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from tools.errors import UserError

# The seed's critical rule: matrix products must be written, not delegated to a vendor library.
DEFAULT_BANNED_OPS = ["torch.mm", "torch.matmul", "torch.bmm", "F.linear", "@", "torch.einsum"]

_NAME_RE = re.compile(r"^(\d+)_")


class Problem(BaseModel):
    name: str = Field(description="file stem, e.g. 19_ReLU")
    id: int | None = Field(default=None, description="the number before the first underscore")
    level: int | None = None
    path: Path
    banned_ops: list[str] = Field(default_factory=lambda: list(DEFAULT_BANNED_OPS))

    @classmethod
    def from_file(cls, path: str | Path, level: int | None = None) -> Problem:
        path = Path(path).resolve()
        m = _NAME_RE.match(path.stem)
        if level is None and path.parent.name.startswith("level"):
            tail = path.parent.name[len("level") :]
            level = int(tail) if tail.isdigit() else None
        return cls(name=path.stem, id=int(m.group(1)) if m else None, level=level, path=path)

    @property
    def source(self) -> str:
        return self.path.read_text()

    @property
    def key(self) -> str:
        return f"level{self.level}/{self.name}" if self.level is not None else self.name


def read_source(path: Path, what: str) -> str:
    """A Python file the user named, as text; anything else is their mistake, in one sentence."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(
            f"{what} {path} is not text (byte {e.object[e.start]:#04x} at offset {e.start} is not UTF-8): "
            "give a Python source file."
        ) from None
    except OSError as e:
        raise UserError(f"{what} {path} cannot be read ({e.strerror}).") from None
