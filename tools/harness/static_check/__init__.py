"""Phase 1 of an evaluation: AST rules that reject candidates which cheat or cannot be a real kernel.

Only the Python code is parsed; the extension's C++/CUDA/HIP strings are scanned for a few tokens
(side streams) and for `__global__` kernels. Each violation's message says what to do instead, since the
LLM reads it.
"""

from __future__ import annotations

import ast

from tools.harness.results import Violation
from tools.harness.static_check.banned import Banned
from tools.harness.static_check.checker import Checker
from tools.harness.static_check.rules import MESSAGES
from tools.problem import DEFAULT_BANNED_OPS

__all__ = ["MESSAGES", "check_source", "format_violations"]


def check_source(source: str, platform: str, banned_ops: list[str] | None = None) -> list[Violation]:
    """Violations of the source rules in a candidate file, sorted by line; empty when it may be built."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [
            Violation(
                line=e.lineno or 1, rule="syntax", message=f"Python syntax error: {e.msg}; fix it so the file parses."
            )
        ]
    from tools.platforms import platform_class

    rules = platform_class(platform)()
    banned = Banned(DEFAULT_BANNED_OPS if banned_ops is None else banned_ops)
    violations = Checker(tree, source, rules, banned).run() + rules.source_rules(source)
    return sorted(violations, key=lambda v: v.line)


def format_violations(vs: list[Violation]) -> str:
    lines = [f"rejected by the source rules: {len(vs)} problem(s)"]
    lines += [str(v) for v in vs]
    return "\n".join(lines)
