"""Which HipKittens branch a checkout is, told from its headers, and the arch each branch builds for.
main is CDNA4-only (gfx950: bf16 MFMA builtins of gfx950 with no guard, shared tiles with a shape
parameter); MI300X/MI325X (gfx942) need the cdna3 branch, whose util.cuh picks its limits by
KITTENS_CDNA3."""

from __future__ import annotations

import re
from pathlib import Path

from tools.errors import PlatformError

ARCH_OF_BRANCH = {"main": "gfx950", "cdna3": "gfx942"}
BRANCH_FOR_ARCH = {arch: branch for branch, arch in ARCH_OF_BRANCH.items()}


def branch_of(include: Path) -> str | None:
    """'main', 'cdna3', or None when the headers look like neither."""
    util = include / "common" / "util.cuh"
    if not util.is_file():
        return None
    text = util.read_text(errors="replace")
    if re.search(r"#\s*elif\s+defined\(\s*KITTENS_CDNA3\s*\)", text):
        return "cdna3"
    if (include / "types" / "shared" / "st_shape.cuh").is_file() and "MAX_SHARED_MEMORY = 160000" in text:
        return "main"
    return None


def check_branch(root: Path, arch: str) -> str:
    """The checkout's branch, when it builds for `arch`; else one line naming the fix."""
    branch = branch_of(root / "include")
    wanted = BRANCH_FOR_ARCH.get(arch)
    if branch is None:
        raise PlatformError(
            f"Cannot tell which HipKittens branch {root} is (its include/common/util.cuh is not main's or "
            f"cdna3's): point HIPKITTENS_ROOT at a checkout of main (for gfx950) or cdna3 (for gfx942)."
        )
    if wanted is not None and branch != wanted:
        raise PlatformError(
            f"HIPKITTENS_ROOT {root} is HipKittens' {branch} branch, which builds for {ARCH_OF_BRANCH[branch]}, "
            f"not {arch}: check out its {wanted} branch (git -C {root} checkout {wanted}), or build for "
            f"--arch {ARCH_OF_BRANCH[branch]}."
        )
    return branch
