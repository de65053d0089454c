"""Rebuild summary.json, the detailed reports and report.html from what is on disk (after a run, or any
time with `agent report`)."""

from __future__ import annotations

import json
from pathlib import Path

from agent.fast_p import speed_figures
from agent.report_html import sample_outcome, write_report_html
from agent.report_plots import STATUS_LABELS
from agent.store import is_problem_dir, read_results, status_of, write_atomic, write_json
from agent.trace_records import records, sample_of, traces_in
from tools.harness.results import best_of


def trace_stats(problem_dir: Path) -> dict:
    tokens = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    ended: dict[str, str | None] = {}
    for f in traces_in(problem_dir):
        sample = sample_of(f)
        ended[sample] = None
        for rec in records(f):
            for k in tokens:
                tokens[k] += int((rec.get("usage") or {}).get(k, 0) or 0)
            if rec.get("type") == "end":
                why = rec.get("finish_reason")
                ended[sample] = f"{rec.get('reason')}: {str(why)[:200]}" if why else rec.get("reason")
            elif rec.get("type") == "error":
                ended[sample] = "error: " + str(rec.get("error", ""))[:200]
    return {"tokens": tokens, "ended": ended}


def lane_stats(out: Path) -> dict:
    """Busy seconds and evaluations per device lane, from lanes.jsonl."""
    path = out / "lanes.jsonl"
    lanes: dict[str, dict] = {}
    if not path.exists():
        return lanes
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        row = lanes.setdefault(str(rec.get("lane")), {"busy_s": 0.0, "runs": 0})
        row["busy_s"] = round(row["busy_s"] + float(rec["end"]) - float(rec["start"]), 3)
        row["runs"] += 1
    return lanes


def _cost(tokens: dict, prices: dict | None) -> float | None:
    if not prices:
        return None
    return (tokens.get("input_tokens", 0) * prices["input"] + tokens.get("output_tokens", 0) * prices["output"]) / 1e6


def problem_report(problem_dir: Path, target: float, compile_only: bool = False) -> dict:
    """One problem's figures. `compile_only`: nothing ran, so a problem whose kernel built is `built`
    (not run) rather than failed, and so is each sample that built one (`built_samples`)."""
    results = read_results(problem_dir)
    correct = [r for r in results if r.get("correct")]
    best = best_of(results)
    robust = best_of([r for r in results if not r.get("fragile")])
    stats = trace_stats(problem_dir)
    built = [r for r in results if r.get("compiled")] if compile_only else []
    status = "built" if built and not correct else status_of(best, target)
    return {
        "problem": problem_dir.name,
        "status": status,
        "best_speedup": best.get("speedup") if best else None,
        # the best may be fragile (wrong on inputs beyond the benchmark's); the best that is not:
        "fragile": _fragile_reason(best),
        "status_without_fragile": status if robust is best else status_of(robust, target),
        "best_speedup_without_fragile": robust.get("speedup") if robust else None,
        "best_code": best.get("code_file") if best else (built[-1].get("code_file") if built else None),
        "best_result": f"result_{(best or built[-1])['n']}.json" if best or built else None,
        "attempts": len(results),
        "correct_attempts": len(correct),
        # None where kernels ran (a GPU or CPU run): there, building is not an outcome of its own
        "built_samples": sorted({str(r.get("sample", 0)) for r in built}) if compile_only else None,
        "samples": stats["ended"],
        "tokens": stats["tokens"],
        "errors": [
            f"code_{r['n']}: {r.get('status')}: {str(r.get('reason', ''))[:300]}"
            for r in results
            if not r.get("correct") and r not in built
        ],
    }


def _fragile_reason(result: dict | None) -> str | None:
    if not result or not result.get("fragile"):
        return None
    trial = next(
        (t for t in (result.get("robustness") or {}).get("trials", []) if t.get("counted") and not t.get("passed")),
        {},
    )
    return f"wrong on {trial.get('describe', 'other inputs')}: {trial.get('problem', '')}"[:300]


def build_reports(out: Path) -> dict:
    out = Path(out)
    config = json.loads((out / "run_config.json").read_text()) if (out / "run_config.json").exists() else {}
    target = float((config.get("settings") or {}).get("target", 1.0))
    compile_only = bool((config.get("device") or {}).get("compile_only"))
    names = list(config.get("problems") or [])
    names += sorted(d.name for d in out.iterdir() if d.name not in names and is_problem_dir(d))
    problems = [problem_report(out / n, target, compile_only) if (out / n).is_dir() else _never_ran(n) for n in names]
    n_samples = int((config.get("settings") or {}).get("samples", 1))
    for r in problems:
        r["cost_usd"] = _cost(r["tokens"], config.get("prices"))
        r["unfinished"] = unfinished(r["samples"], n_samples)
    statuses = ("success", "partial", "failed") + (("built",) if compile_only else ())
    totals = {k: sum(1 for r in problems if r["status"] == k) for k in statuses}
    tokens = {
        k: sum((r.get("tokens") or {}).get(k, 0) for r in problems)
        for k in ("input_tokens", "output_tokens", "total_tokens")
    }
    totals["fragile"] = sum(1 for r in problems if r["fragile"])
    fast_p, geomean = speed_figures(problems)
    robust_fast_p, _ = speed_figures(problems, "status_without_fragile", "best_speedup_without_fragile")
    summary = {
        "config": config,
        "totals": totals,
        "problems_count": len(problems),
        "fast_p": fast_p,
        "fast_p_without_fragile": robust_fast_p,
        "geomean_speedup_correct": geomean,
        "tokens": tokens,
        "cost_usd": _cost(tokens, config.get("prices")),
        "prices": config.get("prices"),
        "lanes": lane_stats(out),
        # threads that could not run to their end (model down, harness crash, a run limit, Ctrl-C, kill):
        "unfinished_threads": [{"problem": r["problem"], **u} for r in problems for u in r["unfinished"]],
        "problems": {
            r["problem"]: {k: r[k] for k in ("status", "best_speedup", "fragile", "attempts", "tokens", "cost_usd")}
            for r in problems
        },
    }
    write_json(out / "summary.json", summary)
    write_json(out / "detailed_report.json", {"target": target, "problems": problems})
    write_atomic(out / "detailed_report.txt", render_text(problems, summary, target))
    write_report_html(out, summary, problems)
    return summary


def _never_ran(name: str) -> dict:
    return {
        "problem": name,
        "status": "failed",
        "best_speedup": None,
        "fragile": None,
        "status_without_fragile": "failed",
        "best_speedup_without_fragile": None,
        "attempts": 0,
        "correct_attempts": 0,
        "samples": {},
        "tokens": {},
        "errors": ["never ran"],
    }


def unfinished(samples: dict, n_samples: int) -> list[dict]:
    """The samples that did not end on the kernel's merits, each with why: an error, a run-wide limit
    (run_*), a run stopped mid-thread (no end record), or never started."""
    out = []
    for i in range(n_samples):
        if str(i) not in samples:
            out.append({"sample": i, "reason": "never started"})
            continue
        why = samples[str(i)]
        if why is None or why.startswith(("error", "run_")):
            out.append({"sample": i, "reason": why or "did not finish: the run stopped during this thread"})
    return out


def render_text(problems: list[dict], summary: dict, target: float) -> str:
    totals = summary["totals"]
    lines = [
        f"HipGenerator report: {len(problems)} problem(s), target speedup {target:g}x",
        f"success {totals['success']}  partial {totals['partial']}  failed {totals['failed']}"
        + (f"  built (not run) {totals['built']}" if "built" in totals else ""),
        *([compile_only_line(summary)] if "built" in totals else []),
        "fast_p: " + "  ".join(f"{k}={v:.2f}" for k, v in summary["fast_p"].items()),
        "fast_p without fragile kernels: "
        + "  ".join(f"{k}={v:.2f}" for k, v in summary["fast_p_without_fragile"].items())
        + f"  ({summary['totals']['fragile']} problem(s) whose best is fragile)",
        f"tokens: {summary['tokens'].get('total_tokens', 0)}"
        + (f"  cost: ${summary['cost_usd']:.2f}" if summary.get("cost_usd") is not None else ""),
        "",
    ]
    for r in problems:
        sp = f"{r['best_speedup']:.3f}x" if r["best_speedup"] else "-"
        lines.append(
            f"{r['problem']:<40} {status_label(r['status']):<8} best {sp:<9} attempts {r['attempts']} "
            f"(correct {r['correct_attempts']})  {r.get('best_code') or ''}"
        )
        if "built" in totals:
            lines += [f"    sample {k}: {sample_outcome(r, k)}" for k in sorted(r["samples"], key=int)]
        if r["fragile"]:
            robust = r["best_speedup_without_fragile"]
            lines.append(
                f"    FRAGILE: {r['fragile']} (best without fragile kernels: {f'{robust:.3f}x' if robust else 'none'})"
            )
        for u in r["unfinished"]:
            lines.append(f"    sample {u['sample']} did not run to its end: {u['reason']}")
        for e in r["errors"][:5]:
            lines.append(f"    {e}")
    return "\n".join(lines) + "\n"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def compile_only_line(summary: dict) -> str:
    device = (summary.get("config") or {}).get("device") or {}
    return (
        f"compile-only run for {device.get('arch', '?')} ({device.get('compile_only')}): a built kernel "
        "compiled for the target with the resources its result reports; correctness and speed are unknown."
    )
