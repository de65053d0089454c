"""Search across samples: a thread that starts after other samples of its problem have correct kernels
begins from the best of them (their source, speedup, share of the speed-of-light floor and note), so
later samples refine instead of starting over. Read from the results on disk when the thread starts,
so a resumed run seeds exactly as a fresh one would, and samples that start together explore apart."""

from __future__ import annotations

from pathlib import Path

from agent.store import read_results
from tools.harness.results import score


def starting_kernels(problem_dir: Path, k: int) -> list[dict]:
    """The top k correct kernels of the problem so far, one per distinct source, fastest first; fragile
    ones only where no robust kernel is faster."""
    ranked = sorted(
        (r for r in read_results(problem_dir) if score(r) is not None and r.get("speedup")),
        key=lambda r: (not r.get("fragile"), score(r)),
        reverse=True,
    )
    out, seen = [], set()
    for r in ranked:
        h = r.get("source_hash")
        code = problem_dir / str(r.get("code_file", ""))
        if h in seen or not code.is_file():
            continue
        seen.add(h)
        profile = r.get("profile") or {}
        out.append(
            {
                "n": r["n"],
                "sample": r.get("sample", 0),
                "speedup": r["speedup"],
                "sol_pct": profile.get("sol_pct"),
                "bound": profile.get("bound"),
                "note": r.get("note") or "",
                "fragile": bool(r.get("fragile")),
                "source": code.read_text(),
            }
        )
        if len(out) == k:
            break
    return out


def describe(kernel: dict) -> str:
    """One line: which candidate, how fast, how close to the floor, what it was."""
    sol = (
        f", {kernel['sol_pct']:.0f}% of the speed-of-light floor ({kernel['bound']}-bound)" if kernel["sol_pct"] else ""
    )
    fragile = ", FRAGILE (wrong on inputs beyond the benchmark's)" if kernel["fragile"] else ""
    note = f"; note: {kernel['note']}" if kernel["note"] else ""
    return f"candidate {kernel['n']} of sample {kernel['sample']}: {kernel['speedup']:.3f}x{sol}{fragile}{note}"


def seed_text(kernels: list[dict]) -> str:
    from graphs.prompting import seeded_prompt

    blocks = "\n".join(f"\n### {describe(k)}\n```python\n{k['source'].rstrip()}\n```" for k in kernels)
    return seeded_prompt(blocks, f"{kernels[0]['speedup']:.3f}x")
