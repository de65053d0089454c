"""Batch throughput of `agent solve` on real GPUs, without an LLM: the scripted model
(tests.scripted_solver) writes each problem's honest CUDA fixture, one variant per sample
(HIPGEN_SCRIPT_VARY=1: a different block size, or a comment, so every sample is a distinct candidate),
over problems of tests/data/gpu/level1 (tests/benchmarks/gpu_problems.json maps each to its fixture),
copied into a temporary folder laid out like KernelBench (level1/*.py).

After the run it reads the run folder: summary.json, result_*.json, trace_*.jsonl and lanes.jsonl (one
line per GPU-lane busy interval: {"lane", "start", "end", "problem", "source_hash", "phases", "worker_wait", "lane_wait"}), and
prints: gpus, problems x samples, candidates evaluated, wall seconds, candidates per hour, each lane's
busy seconds and busy fraction (busy / wall), the overall GPU busy fraction, the time before the first
and after the last interval, what evaluations waited for (a worker's imports, a lane), and whether anything was
lost or duplicated (every problem has one trace per sample and results for each sample; no two result
files of one sample with the same source hash). Exit status 1 when a check fails, 2 on a usage error
or a missing file.

Run on a GPU machine:
  python -m tests.benchmarks.batch_throughput --gpus 0,1 --cache DIR --out DIR [--problems 10 --samples 3]
--cache is HIPGEN_CACHE_DIR (reuse it for a warm-cache run); --out must be a new or empty folder;
--report-only reads an earlier --out again without running anything; --prewarm-only builds the
fixtures into --cache first, so that two runs compared with each other both start warm."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GPU_LEVEL1 = ROOT / "tests" / "data" / "gpu" / "level1"
PROBLEMS_FILE = Path(__file__).resolve().parent / "gpu_problems.json"
META_FILE = "benchmark_throughput.json"  # what this script knows about the run, kept in --out
LANES_FILE = "lanes.jsonl"


class UsageError(Exception):
    pass


def parse_gpus(spec: str) -> list[str]:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise UsageError(f"--gpus takes distinct device indices separated by commas, such as 0 or 0,1 (got '{spec}')")
    return parts


def pick_problems(n: int) -> list[dict]:
    table = json.loads(PROBLEMS_FILE.read_text())["problems"]
    if not 1 <= n <= len(table):
        raise UsageError(f"--problems must be between 1 and {len(table)} (the problems listed in {PROBLEMS_FILE.name})")
    picked = table[:n]
    for p in picked:
        if not (GPU_LEVEL1 / f"{p['problem']}.py").is_file():
            raise UsageError(f"{PROBLEMS_FILE.name} names {p['problem']}, which is not in {GPU_LEVEL1}")
        if not (ROOT / "tests" / "kernels" / p["fixture"]).is_file():
            raise UsageError(f"{PROBLEMS_FILE.name} names fixture {p['fixture']}, which is not in tests/kernels")
    names = [p["problem"] for p in picked]
    for a in names:  # the scripted solver matches a plan key as a substring of the task message
        clash = [b for b in names if a != b and a in b]
        if clash:
            raise UsageError(f"problem name {a} is a substring of {clash[0]}: the scripted solver could mix them up")
    return picked


def cli_has_gpus_flag(env: dict) -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli", "solve", "--help"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "--gpus" in proc.stdout


def run_agent(args, gpus: list[str], picked: list[dict], out: Path) -> dict:
    """Run `agent solve` once; returns the metadata saved as META_FILE in the run folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HIPGEN_SCRIPT"] = json.dumps({p["problem"]: [p["fixture"]] for p in picked})
    env["HIPGEN_SCRIPT_VARY"] = "1"
    env["HIPGEN_CACHE_DIR"] = str(args.cache)
    env["HIPGEN_GPUS"] = ",".join(gpus)  # Settings.gpus from the environment, for a CLI without --gpus
    if args.spares is not None:
        env["HIPGEN_SPARES"] = str(args.spares)
    if args.unsafe_no_sandbox:
        env["HIPGEN_SANDBOX"] = "false"  # Settings.sandbox, for a CLI without --unsafe-no-sandbox
    dataset = Path(tempfile.mkdtemp(prefix="hipgen-throughput-data-"))
    try:
        (dataset / "level1").mkdir()
        for p in picked:
            shutil.copy2(GPU_LEVEL1 / f"{p['problem']}.py", dataset / "level1" / f"{p['problem']}.py")
        cmd = [
            sys.executable,
            "-m",
            "agent.cli",
            "solve",
            "--dataset",
            str(dataset),
            "--level1",
            "--samples",
            str(args.samples),
            "--concurrency",
            str(args.concurrency),
            "--model",
            "tests.scripted_solver:factory",
            "--platform",
            "cuda",
            "--out",
            str(out),
        ]
        if cli_has_gpus_flag(env):
            cmd += ["--gpus", ",".join(gpus)]
        print("running:", " ".join(cmd), flush=True)
        start = time.time()
        try:
            proc = subprocess.run(cmd, check=False, cwd=ROOT, env=env, timeout=args.timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
        end = time.time()
    finally:
        shutil.rmtree(dataset, ignore_errors=True)
    meta = {
        "gpus": gpus,
        "problems": [p["problem"] for p in picked],
        "fixtures": {p["problem"]: p["fixture"] for p in picked},
        "samples": args.samples,
        "concurrency": args.concurrency,
        "spares": args.spares,
        "sandbox": not args.unsafe_no_sandbox,
        "cache": str(args.cache),
        "command": cmd,
        "start": start,
        "end": end,
        "returncode": rc,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    if rc is None:
        print(
            f"error: agent solve did not finish within {args.timeout:.0f} s (killed); what it left in {out}:",
            file=sys.stderr,
        )
    elif rc != 0:
        print(
            f"error: agent solve exited with status {rc}; see its output above and {out}/batch_run.log", file=sys.stderr
        )
    return meta


def prewarm(cache: Path, picked: list[dict], sandbox: bool = True) -> int:
    """Build every picked fixture into the cache, all at once, so that a later run measures evaluation
    rather than nvcc. The scripted variants differ only in Python, so they reuse these builds."""
    from concurrent.futures import ThreadPoolExecutor

    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache, sandbox=sandbox))

    def build(p: dict):
        t0 = time.time()
        r = ev.evaluate(
            Problem.from_file(GPU_LEVEL1 / f"{p['problem']}.py", level=1),
            (ROOT / "tests" / "kernels" / p["fixture"]).read_text(),
            "build",
        )
        return p["problem"], r, time.time() - t0

    bad = 0
    with ThreadPoolExecutor(len(picked)) as pool:
        for name, r, secs in pool.map(build, picked):
            bad += r.status.value != "ok"
            print(f"prewarm {name}: {r.status.value} in {secs:.1f} s {r.reason[:200]}", flush=True)
    ev.close()
    return 1 if bad else 0


# ---- reading the run folder ----


def read_lanes(out: Path) -> list[dict]:
    path = out / LANES_FILE
    if not path.is_file():
        raise UsageError(
            f"{path} is missing: this agent does not record GPU-lane busy intervals yet, "
            f"so busy fractions cannot be computed (rerun with --report-only once it does)"
        )
    lanes = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            rec["lane"], rec["start"], rec["end"] = str(rec["lane"]), float(rec["start"]), float(rec["end"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise UsageError(
                f"{path} line {i} is not a lane interval ({type(e).__name__}: {e}): {line[:120]}"
            ) from None
        lanes.append(rec)
    return lanes


def busy_seconds(intervals: list[tuple[float, float]], lo: float, hi: float) -> tuple[float, int]:
    """Seconds covered by the union of the intervals inside [lo, hi], and how many intervals overlapped
    an earlier one (a lane is exclusive, so that should be none)."""
    total, overlaps, cur_s, cur_e = 0.0, 0, None, None
    for s, e in sorted(intervals):
        s, e = max(s, lo), min(e, hi)
        if e <= s:
            continue
        if cur_e is None or s >= cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            if s < cur_e - 1e-3:
                overlaps += 1
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total, overlaps


def check_run(out: Path, problems: list[str], samples: int) -> tuple[list[str], list[str], list[dict]]:
    """(failures, warnings, results): nothing lost, nothing duplicated, each sample's own variant."""
    from tests.scripted_solver import VARY_BLOCKS

    failures, warnings, results = [], [], []
    for name in problems:
        d = out / name
        if not d.is_dir():
            failures.append(f"{name}: no folder in the run")
            continue
        traces = {f.stem.removeprefix("trace_") for f in d.glob("trace_*.jsonl")}
        want = {str(s) for s in range(samples)}
        if traces != want:
            failures.append(f"{name}: trace files for samples {sorted(traces)}, expected {sorted(want)}")
        for s in sorted(want & traces):
            records = [json.loads(x) for x in (d / f"trace_{s}.jsonl").read_text().splitlines() if x.strip()]
            if not any(r.get("type") == "end" for r in records):
                failures.append(
                    f"{name}: sample {s}'s thread never ended"
                    + ("".join(f" ({r.get('error', '')[:160]})" for r in records if r.get("type") == "error"))
                )
        mine = []
        for f in sorted(d.glob("result_*.json")):
            data = json.loads(f.read_text())
            data["_file"] = f.name
            mine.append(data)
            if not (d / data.get("code_file", f"code_{data.get('n')}.py")).is_file():
                failures.append(f"{name}/{f.name}: its code file is missing")
        seen: dict[tuple, str] = {}
        for r in mine:
            key = (r.get("sample"), r.get("source_hash"))
            if key in seen:
                failures.append(f"{name}: {seen[key]} and {r['_file']} are the same source of sample {key[0]}")
            seen[key] = r["_file"]
        for s in range(samples):
            got = [r for r in mine if r.get("sample") == s]
            if not got:
                failures.append(f"{name}: no result for sample {s}")
            for r in got:
                code = (d / r.get("code_file", "")).read_text() if (d / r.get("code_file", "")).is_file() else ""
                block = re.search(r"^BLOCK = (\d+)", code, re.MULTILINE)
                expected = VARY_BLOCKS[s % len(VARY_BLOCKS)]
                if block is not None and int(block.group(1)) != expected:
                    failures.append(
                        f"{name}/{r['_file']}: sample {s} holds BLOCK = {block.group(1)}, "
                        f"expected {expected} (another sample's source?)"
                    )
                if block is None and f"# sample {s}" not in code:
                    failures.append(f"{name}/{r['_file']}: sample {s}'s code lacks its '# sample {s}' mark")
                if r.get("status") != "ok" or not r.get("correct"):
                    warnings.append(
                        f"{name}/{r['_file']} (sample {s}): {r.get('status')}: {str(r.get('reason', ''))[:160]}"
                    )
        results += mine
    return failures, warnings, results


def report(out: Path) -> int:
    meta_path = out / META_FILE
    if not meta_path.is_file():
        raise UsageError(f"{meta_path} is missing: {out} was not made by this benchmark")
    meta = json.loads(meta_path.read_text())
    config_path = out / "run_config.json"
    run_config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    kept = run_config.get("spares", "?")
    jailed = (run_config.get("settings") or {}).get("sandbox")
    gpus, problems, samples = meta["gpus"], meta["problems"], int(meta["samples"])
    start, end = float(meta["start"]), float(meta["end"])
    wall = end - start
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    failures, warnings, results = check_run(out, problems, samples)
    attempts = sum(int(p.get("attempts", 0)) for p in (summary.get("problems") or {}).values())
    if not summary:
        failures.insert(0, "summary.json is missing: the run did not finish its reports")
    elif attempts != len(results):
        failures.append(f"summary.json counts {attempts} attempts, the run folder holds {len(results)} result files")
    device = ((summary.get("config") or {}).get("device") or {}).get("device_name", "?")
    totals = summary.get("totals") or {}

    rows = [
        ("device", device),
        ("gpus", f"{','.join(gpus)} ({len(gpus)} lane{'s' if len(gpus) != 1 else ''})"),
        (
            "problems x samples",
            f"{len(problems)} x {samples} (concurrency {meta.get('concurrency')}, "
            f"spares {kept}{'' if meta.get('spares') else ' by default'}; "
            f"sandbox {'on' if jailed else 'off' if jailed is False else '?'})",
        ),
        (
            "candidates evaluated",
            (
                f"{len(results)} result files; summary: {attempts} attempts, "
                f"success {totals.get('success', '?')}, partial {totals.get('partial', '?')}, "
                f"failed {totals.get('failed', '?')}"
            ),
        ),
        ("wall s", f"{wall:.1f}"),
        ("candidates/hour", f"{len(results) / wall * 3600:.0f}" if wall > 0 else "-"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"batch throughput: {out}")
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")

    lanes_error = None
    try:
        intervals = read_lanes(out)
    except UsageError as e:
        intervals, lanes_error = [], str(e)
    if lanes_error is None:
        names = list(gpus) + sorted({r["lane"] for r in intervals} - set(gpus))
        lw = max([4] + [len(n) for n in names])
        print()
        print(f"  {'lane':<{lw}} {'intervals':>9} {'busy s':>9} {'busy/wall':>9} {'overlaps':>8}")
        busy_total = 0.0
        for lane in names:
            mine = [(r["start"], r["end"]) for r in intervals if r["lane"] == lane]
            busy, overlaps = busy_seconds(mine, start, end)
            if lane in gpus:
                busy_total += busy
            else:
                failures.append(f"lanes.jsonl has lane {lane}, which is not among --gpus {','.join(gpus)}")
            if overlaps:
                failures.append(
                    f"lane {lane}: {overlaps} busy interval(s) overlap an earlier one (lanes are exclusive)"
                )
            print(f"  {lane:<{lw}} {len(mine):>9} {busy:>9.1f} {busy / wall if wall > 0 else 0:>9.2f} {overlaps:>8}")
        frac = busy_total / (len(gpus) * wall) if wall > 0 else 0.0
        print(f"  overall GPU busy fraction: {frac:.2f} ({busy_total:.1f} busy s over {len(gpus)} x {wall:.1f} s)")
        if intervals:
            first, last = min(r["start"] for r in intervals), max(r["end"] for r in intervals)
            print(
                f"  before the first interval {first - start:.1f} s, lane span {last - first:.1f} s, "
                f"after the last {end - last:.1f} s"
            )
            for key, what in (("worker_wait", "waited for a worker's imports"), ("lane_wait", "waited for a lane")):
                waits = [float(r[key]) for r in intervals if key in r]
                if waits:
                    print(
                        f"  {what}: mean {sum(waits) / len(waits):.2f} s, max {max(waits):.2f} s, "
                        f"total {sum(waits):.1f} s over {len(waits)} evaluations"
                    )
        lane_hashes = {(r.get("problem"), r.get("source_hash")) for r in intervals}
        unseen = [
            f"{r['problem']}/{r['_file']}"
            for r in results
            if r.get("check") is not None and (r.get("problem"), r.get("source_hash")) not in lane_hashes
        ]
        if unseen:
            warnings.append(
                f"{len(unseen)} checked candidate(s) have no lane interval with their problem and source "
                f"hash, e.g. {unseen[0]}"
            )

    print()
    for w in warnings:
        print(f"  warning: {w}")
    if failures:
        print(f"  checks: FAILED ({len(failures)})")
        for f in failures:
            print(f"    {f}")
    else:
        print(
            f"  checks: OK: {len(problems)} problems, {len(problems) * samples} traces, results for every sample, "
            f"no duplicates"
        )
    if lanes_error is not None:
        print(f"error: {lanes_error}", file=sys.stderr)
        return 2
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.batch_throughput",
        description="Throughput and GPU-lane occupancy of `agent solve` with the scripted "
        "model and honest CUDA fixtures. Needs CUDA GPUs.",
    )
    ap.add_argument("--gpus", default="0", help="device indices for the evaluation lanes, e.g. 0 or 0,1 (default 0)")
    ap.add_argument("--cache", type=Path, help="build cache folder (HIPGEN_CACHE_DIR); reuse it for a warm run")
    ap.add_argument("--out", type=Path, help="run folder: new or empty (or an earlier one with --report-only)")
    ap.add_argument("--problems", type=int, default=10, help="how many problems of gpu_problems.json (default 10)")
    ap.add_argument("--samples", type=int, default=3, help="samples per problem (default 3)")
    ap.add_argument("--concurrency", type=int, default=12, help="threads at once (default 12)")
    ap.add_argument("--spares", type=int, help="spare workers kept waiting (HIPGEN_SPARES; default: the agent's)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds the agent run may take (default 3600)")
    ap.add_argument("--report-only", action="store_true", help="read the run in --out again; run nothing")
    ap.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="evaluate outside bubblewrap (to measure what the sandbox costs; builds have their own cache entries)",
    )
    ap.add_argument(
        "--prewarm-only",
        action="store_true",
        help="only build the picked fixtures into --cache (no run; --out is not used)",
    )
    args = ap.parse_args(argv)
    try:
        if args.prewarm_only:
            if args.cache is None:
                raise UsageError("--cache DIR is required with --prewarm-only")
            return prewarm(args.cache.expanduser().resolve(), pick_problems(args.problems), not args.unsafe_no_sandbox)
        if args.out is None:
            raise UsageError(
                "--out DIR is required: the run folder (new or empty, or an earlier one with --report-only)"
            )
        out = args.out.expanduser().resolve()
        if not args.report_only:
            gpus = parse_gpus(args.gpus)
            if args.cache is None:
                raise UsageError("--cache DIR is required (the build cache; reuse it for a warm run)")
            if args.samples < 1 or args.concurrency < 1 or (args.spares is not None and args.spares < 1):
                raise UsageError("--samples, --concurrency and --spares must be at least 1")
            if out.exists() and any(out.iterdir()):
                raise UsageError(f"--out {out} is not empty: give a new folder (or add --report-only to read it)")
            args.cache = args.cache.expanduser().resolve()
            args.cache.mkdir(parents=True, exist_ok=True)
            meta = run_agent(args, gpus, pick_problems(args.problems), out)
            if meta["returncode"] != 0:
                report(out)  # what the unfinished run left, for the record
                return 1
        return report(out)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
