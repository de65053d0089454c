"""Source rules for the rocm platform: on ROCm, load_inline hands `extra_cuda_cflags` to hipcc
(clang) verbatim, so nvcc-only flags break the build, and an explicit offload arch overrides the
PYTORCH_ROCM_ARCH the harness sets. Static (AST), no subprocess; the static check calls
`check_rocm_flags` for rocm candidates."""

from __future__ import annotations

import ast
import re

from tools.harness.results import Violation
from tools.harness.source_extract import _UNKNOWN, _Env, load_calls

FLAG_KEYWORDS = ("extra_cuda_cflags",)
RULE_NVCC_FLAG = "rocm-nvcc-flag"
RULE_OFFLOAD_ARCH = "rocm-offload-arch"

# (pattern on one flag, what to do instead)
_NVCC_ONLY: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^-{1,2}use_fast_math$"),
        "clang's spelling is -ffast-math (and fast math can break the 1e-4 fp32 tolerance)",
    ),
    (re.compile(r"^-{1,2}(Xptxas|ptxas-options)\b"), "there is no ptxas on AMD: drop it"),
    (
        re.compile(r"^-{1,2}(arch|gpu-architecture)[= ]?(sm|compute)_"),
        "the harness sets the AMD target through PYTORCH_ROCM_ARCH: drop it",
    ),
    (
        re.compile(r"^-{1,2}(gencode|generate-code)\b"),
        "the harness sets the AMD target through PYTORCH_ROCM_ARCH: drop it",
    ),
    (re.compile(r"^-code[= ]?(sm|compute)_"), "the harness sets the AMD target through PYTORCH_ROCM_ARCH: drop it"),
    (re.compile(r"^-{1,2}expt-(relaxed-constexpr|extended-lambda)$"), "clang needs no such flag: drop it"),
    (re.compile(r"^-{1,2}(Xcompiler|compiler-options)\b"), "hipcc is clang: pass host flags directly"),
    (re.compile(r"^-{1,2}maxrregcount\b"), "use __launch_bounds__ (and amdgpu_waves_per_eu) in the source instead"),
    (
        re.compile(r"^-{1,2}(ftz|prec-div|prec-sqrt|fmad)=(true|false)$"),
        "an nvcc math switch; clang has -ffast-math / -fno-fast-math",
    ),
    (re.compile(r"^-lineinfo$|^--generate-line-info$"), "an nvcc switch; use -g if you need line info"),
    (re.compile(r"^-{1,2}(relocatable-device-code|rdc)[= ]?(true|false)$|^-dc$"), "an nvcc switch: drop it"),
    (re.compile(r"^-{1,2}(resource-usage|keep|source-in-ptx)$"), "an nvcc switch: drop it"),
]
_OFFLOAD_ARCH = re.compile(r"^-{1,2}(offload-arch|amdgpu-target)[= ]|^-{1,2}offload-arch$|^-arch[= ]?gfx")


def _strings_in(node: ast.AST) -> list[ast.Constant]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _flag_constants(tree: ast.Module, node: ast.expr) -> list[ast.Constant]:
    """Every string constant that may end up in the flag list: the expression itself, and for a name,
    every value assigned to it."""
    found = _strings_in(node)
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if names:
        for stmt in ast.walk(tree):
            if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id in names for t in targets):
                    found += _strings_in(stmt.value)
    return found


def flag_problem(flag: str) -> tuple[str, str] | None:
    """(rule, advice) when `flag` does not belong on hipcc's command line, else None."""
    f = flag.strip()
    for pattern, advice in _NVCC_ONLY:
        if pattern.search(f):
            return RULE_NVCC_FLAG, advice
    if _OFFLOAD_ARCH.search(f):
        return RULE_OFFLOAD_ARCH, "the harness sets the target through PYTORCH_ROCM_ARCH; an explicit one overrides it"
    return None


def check_rocm_flags(source: str) -> list[Violation]:
    """Violations for nvcc-only (or arch-overriding) flags in load_inline's extra_cuda_cflags."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    env = _Env(tree)
    out: list[Violation] = []
    seen: set[tuple[int, str]] = set()
    for call in load_calls(tree):
        for kw in call.keywords:
            if kw.arg not in FLAG_KEYWORDS:
                continue
            value = env.eval(kw.value)
            if value is not _UNKNOWN and isinstance(value, (list, str)):
                flags = [value] if isinstance(value, str) else value
                consts = _flag_constants(tree, kw.value)
                items = []
                for flag in flags:
                    line = next((c.lineno for c in consts if c.value == flag), kw.value.lineno)
                    items.append((flag, line))
            else:  # not statically resolvable: judge every string that could be part of it
                items = [(c.value, c.lineno) for c in _flag_constants(tree, kw.value)]
            for flag, line in items:
                piece, problem = flag.strip(), flag_problem(flag)
                if problem is None:
                    for part in flag.split():
                        if (problem := flag_problem(part)) is not None:
                            piece = part
                            break
                if problem is None or (line, piece) in seen:
                    continue
                seen.add((line, piece))
                rule, advice = problem
                msg = (
                    f"`{piece}` in {kw.arg} is an nvcc flag hipcc does not accept: {advice}."
                    if rule == RULE_NVCC_FLAG
                    else f"`{piece}` in {kw.arg}: {advice}."
                )
                out.append(Violation(line=line, rule=rule, message=msg))
    return sorted(out, key=lambda v: v.line)
