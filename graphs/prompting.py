"""Prompt assembly: reads the templates in prompts/ (data, never Python strings) and fills them in.

Routing lives in prompts/config.json. A problem's family is the first entry of ``families`` whose
case-insensitive regex ``pattern`` is found in the problem name; the list order therefore matters
(GEMM comes before elementwise so that ``76_Gemm_Add_ReLU`` gets GEMM advice). When no family
matches, ``default_family`` (a family name or null) is used.

Templates use :class:`string.Template` syntax (``$name`` / ``${name}``, a literal dollar is ``$$``)
and are filled with ``substitute``: a missing variable raises ``KeyError`` instead of leaving a blank.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from string import Template
from typing import Any


@functools.cache
def _read(filename: str) -> str:
    """The text of one file in the prompts package (read once)."""
    return resources.files("prompts").joinpath(filename).read_text(encoding="utf-8")


@functools.cache
def _config() -> dict[str, Any]:
    return json.loads(_read("config.json"))


@functools.cache
def _family_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((fam["name"], re.compile(fam["pattern"], re.IGNORECASE)) for fam in _config()["families"])


def load_config() -> dict:
    """prompts/config.json as a dict (a fresh copy each call; the file is read once)."""
    return json.loads(json.dumps(_config()))


def family_for(problem_name: str) -> str | None:
    """The op family whose pattern first matches ``problem_name``, else the configured default."""
    for name, pattern in _family_patterns():
        if pattern.search(problem_name):
            return name
    return _config().get("default_family")


def family_prompt_file(family: str, platform: str | None = None, variant: str | None = None) -> str:
    """The advice file of ``family``: a family's optional ``platforms`` map names a file per platform
    and per ``PLATFORM+VARIANT``; the most specific entry wins, ``prompt`` is the fallback."""
    for fam in _config()["families"]:
        if fam["name"] == family:
            variants = fam.get("platforms", {})
            if platform is not None:
                if variant and f"{platform}+{variant}" in variants:
                    return variants[f"{platform}+{variant}"]
                if platform in variants:
                    return variants[platform]
            return fam["prompt"]
    raise KeyError(f"family {family!r} is not in prompts/config.json")


def system_prompt(platform: str, problem_name: str, *, variant: str | None = None, **vars: Any) -> str:
    """The system prompt for ``platform`` plus the advice of the problem's family.

    ``platform``, ``problem_name`` and ``tool_list`` are filled in automatically; the templates also
    need ``arch``, ``device_name``, ``target_speedup``, ``goal`` and ``max_attempts`` (missing ones raise
    KeyError). ``variant`` picks a family's variant file (``hipkittens``: GEMM on rocm with HipKittens).
    """
    from tools.registry import tool_list_text

    systems = _config()["system"]
    if platform not in systems:
        raise ValueError(f"unknown platform {platform!r}; expected one of {sorted(systems)}")
    text = _read(systems[platform])
    family = family_for(problem_name)
    if family is not None:
        advice = _read(family_prompt_file(family, platform, variant))
        text = text.rstrip("\n") + "\n\n" + advice.strip("\n") + "\n"
    values = {"platform": platform, "problem_name": problem_name, "tool_list": tool_list_text(), **vars}
    return Template(text).substitute(values)


def task_prompt(problem_name: str, level: int | None, sample: int) -> str:
    """The first user message of a thread."""
    values = {
        "problem_name": problem_name,
        "level": "unknown" if level is None else level,
        "sample": sample,
    }
    return Template(_read(_config()["task"])).substitute(values)


def rules_text(banned_ops: list[str]) -> str:
    """The rules returned by read_reference, naming the problem's banned ops."""
    banned = ", ".join(f"`{op}`" for op in banned_ops) if banned_ops else "(no extra ops)"
    return Template(_read(_config().get("rules", "rules.md"))).substitute(banned_ops=banned)


def pushback_prompt(attempts_left: int, goal: str, best: str, bottleneck: str) -> str:
    """What a reply without a tool call gets back while the thread is below its goal with attempts left."""
    values = {"attempts_left": attempts_left, "goal": goal, "best": best, "bottleneck": bottleneck}
    return Template(_read(_config().get("pushback", "pushback.md"))).substitute(values)


def seeded_prompt(kernels: str, best_speedup: str) -> str:
    """Added to the task of a thread that starts from other samples' best kernels (agent.seeding)."""
    text = _read(_config().get("seeded", "seeded.md"))
    return Template(text).substitute(kernels=kernels, best_speedup=best_speedup)


def compile_only_prompt(arch: str) -> str:
    """Added to the system prompt when nothing can run (no device): the goal is a kernel that builds."""
    return Template(_read(_config().get("compile_only", "compile_only.md"))).substitute(arch=arch)


def compile_only_pushback_prompt() -> str:
    """What a reply without a tool call gets back in a compile-only thread where nothing has built yet."""
    return _read(_config().get("compile_only_pushback", "pushback_compile_only.md"))
