"""`agent export DIR --kernelbench OUT`: a results folder in the files KernelBench's own scripts read.

OUT mirrors the top of a KernelBench checkout, so it can be copied into one or named by the scripts'
path overrides:

    OUT/runs/<run_name>/level_<L>_problem_<ID>_sample_<S>_kernel.py   one kernel per sample
    OUT/runs/<run_name>/eval_results.json                              {"<ID>": [entry per sample]}
    OUT/results/timing/<hardware>/baseline_time_torch.json             {"level<L>": {"<ID>_<Name>.py": stats}}

An entry holds sample_id, compiled, correctness, metadata, runtime (ms) and runtime_stats, as
KernelBench's eval_from_generations.py writes them; benchmark_eval_analysis.py divides the baseline's
"mean" by an entry's "runtime". Our harness reports medians (its speedup is the reference's median over
the candidate's), so both places carry the median, marked `"statistic": "median"`: the ratio KernelBench
computes is then the speedup our run reported for the kernel whose reference timing the baseline holds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.store import read_results, write_atomic, write_json
from tools.errors import UserError
from tools.harness.results import best_of

BASELINE_NAME = "baseline_time_torch"
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_TRACE = re.compile(r"^trace_(\d+)\.jsonl$")
# Where KernelBench's eval puts the message for each kind of failure (src/kernelbench/eval.py).
FAILURE_KEY = {
    "static_error": "static_check_error",
    "build_error": "compilation_error",
    "incorrect": "correctness_issue",
    "rejected": "rejected",
    "timeout": "runtime_error",
    "crashed": "runtime_error",
}


class ExportError(UserError):
    pass


class KernelBenchEntry(BaseModel):
    """One sample of one problem, as eval_results.json holds it."""

    sample_id: int
    compiled: bool
    correctness: bool
    metadata: dict[str, Any] = Field(default_factory=dict)
    runtime: float = Field(-1.0, description="ms; -1 where the kernel was not timed")
    runtime_stats: dict[str, Any] = Field(default_factory=dict)


class ExportReport(BaseModel):
    run_dir: Path
    baseline_file: Path
    run_name: str
    level: int
    hardware: str
    problems: int
    samples: int
    kernels: int
    correct: int
    untimed: list[str] = Field(
        default_factory=list, description="problems with no reference timing: their baseline mean is null"
    )
    left_out: list[str] = Field(
        default_factory=list, description="problems with no reference timing but a correct kernel: not in the baseline"
    )


def problem_id(name: str) -> int:
    """KernelBench's id of a problem: the leading number of its file name (`19_ReLU` -> 19)."""
    head = name.split("_", 1)[0]
    if not head.isdigit():
        raise ExportError(f"Problem folder {name} does not start with a KernelBench id such as 19_: cannot name it.")
    return int(head)


def folder_name(value: str, flag: str) -> str:
    if not _FOLDER_NAME.match(value):
        raise ExportError(f"Bad {flag} '{value}': use one folder name of letters, digits and . _ + - (e.g. H200_lab).")
    return value


def hardware_name(config: dict, override: str | None) -> str:
    """The timing folder's name: --hardware, else the run's device name with spaces made underscores."""
    if override is not None:
        return folder_name(override, "--hardware")
    device = str((config.get("device") or {}).get("device_name") or "")
    name = re.sub(r"[^A-Za-z0-9.+-]+", "_", device).strip("_.")
    if not name:
        raise ExportError("The run does not name its device: pass --hardware NAME for the timing folder.")
    return name


def read_run(run: Path) -> dict:
    """run_config.json of a results folder written by `agent solve`."""
    path = Path(run) / "run_config.json"
    if not Path(run).is_dir() or not path.is_file():
        raise ExportError(
            f"{run} is not a results folder (no run_config.json): point agent export at the --out of agent solve."
        )
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise ExportError(f"{path} is not readable JSON: the results folder is damaged.") from None
    level = (config.get("settings") or {}).get("level")
    if not isinstance(level, int):
        raise ExportError(f"{path} does not say which KernelBench level the run solved.")
    return config


def problem_dirs(run: Path, config: dict) -> list[Path]:
    """The problems that ran at least one sample, in id order."""
    names = set(config.get("problems") or []) | {d.name for d in run.iterdir() if d.is_dir()}
    dirs = [run / n for n in names if (run / n).is_dir()]
    dirs = [d for d in dirs if any(d.glob("result_*.json")) or any(d.glob("trace_*.jsonl"))]
    return sorted(dirs, key=lambda d: (problem_id(d.name), d.name))


def samples_of(problem_dir: Path, results: list[dict]) -> list[int]:
    """Every sample that started: it wrote a trace or evaluated a kernel."""
    traced = {int(m.group(1)) for f in problem_dir.iterdir() if (m := _TRACE.match(f.name))}
    return sorted(traced | {int(r.get("sample", 0)) for r in results})


def pick(results: list[dict]) -> tuple[dict | None, str]:
    """The kernel a sample hands KernelBench: its best correct one (by speedup), else its last that
    compiled, else its last; and why that one."""
    best = best_of(results)
    if best is not None:
        return best, "best correct kernel"
    compiled = [r for r in results if r.get("compiled")]
    if compiled:
        return compiled[-1], "last compiled kernel (none was correct)"
    if results:
        return results[-1], "last kernel written (none compiled)"
    return None, "no kernel written"


def timing_stats(t: dict, hardware: str, device: str) -> dict:
    """KernelBench's runtime_stats keys (ms) from one side of our timing; `mean` holds our median."""
    return {
        "mean": t["median_ms"],
        "std": None,
        "min": t["min_ms"],
        "max": t["max_ms"],
        "num_trials": t["trials"],
        "hardware": hardware,
        "device": device,
        "statistic": "median",
        "median": t["median_ms"],
        "q25": t["q25_ms"],
        "q75": t["q75_ms"],
    }


def entry_for(sample: int, result: dict | None, why: str, problem: str) -> KernelBenchEntry:
    if result is None:
        return KernelBenchEntry(
            sample_id=sample,
            compiled=False,
            correctness=False,
            metadata={"error": "the sample wrote no kernel", "hipgen": {"status": "no_kernel", "picked": why}},
        )
    hardware, device = str(result.get("device") or ""), str(result.get("platform") or "")
    metadata: dict[str, Any] = {"hardware": hardware, "device": device}
    trials = (result.get("check") or {}).get("trials") or []
    if trials:
        metadata["correctness_trials"] = f"({sum(bool(t.get('passed')) for t in trials)} / {len(trials)})"
    if result.get("status") in FAILURE_KEY:
        metadata[FAILURE_KEY[result["status"]]] = str(result.get("reason") or result["status"])
    timing = result.get("timing") if result.get("correct") else None
    metadata["hipgen"] = {
        "picked": why,
        "status": result.get("status"),
        "result_file": f"{problem}/result_{result.get('n')}.json",
        "speedup": result.get("speedup"),
        "reference_ms": timing["reference"]["median_ms"] if timing else None,
        "fragile": bool(result.get("fragile")),
    }
    return KernelBenchEntry(
        sample_id=sample,
        compiled=bool(result.get("compiled")),
        correctness=bool(result.get("correct")),
        metadata=metadata,
        runtime=timing["candidate"]["median_ms"] if timing else -1.0,
        runtime_stats=timing_stats(timing["candidate"], hardware, device) if timing else {},
    )


def baseline_of(picked: list[dict | None], results: list[dict], problem: str) -> dict | None:
    """The problem's reference timing: the one measured beside the exported kernel of its lowest timed
    sample (so that sample's KernelBench speedup is the one our run reported), else any timed result's."""
    for r in [*(p for p in picked if p and p.get("correct")), *results]:
        if r and r.get("timing"):
            stats = timing_stats(r["timing"]["reference"], str(r.get("device") or ""), str(r.get("platform") or ""))
            return stats | {"hipgen_result": f"{problem}/result_{r.get('n')}.json"}
    return None


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file: give agent export --kernelbench a new folder.")
    if out.is_dir() and any(out.iterdir()):
        raise ExportError(f"{out} already exists and is not empty: give agent export --kernelbench a new folder.")
    out.mkdir(parents=True, exist_ok=True)


def export_kernelbench(run: Path, out: Path, hardware: str | None = None, run_name: str | None = None) -> ExportReport:
    """Write the kernels, eval_results.json and the baseline timing of results folder `run` under `out`."""
    run, out = Path(run), Path(out)
    config = read_run(run)
    level = int(config["settings"]["level"])
    hw = hardware_name(config, hardware)
    name = folder_name(run_name, "--run-name") if run_name is not None else folder_name(run.resolve().name, "run name")
    dirs = problem_dirs(run, config)
    if not dirs:
        raise ExportError(f"{run} holds no sample yet: nothing to export.")
    _prepare_out(out)
    run_dir = out / "runs" / name
    baseline_file = out / "results" / "timing" / hw / f"{BASELINE_NAME}.json"
    eval_results: dict[str, list[dict]] = {}
    baselines: dict[str, dict] = {}
    report = ExportReport(
        run_dir=run_dir, baseline_file=baseline_file, run_name=name, level=level, hardware=hw,
        problems=len(dirs), samples=0, kernels=0, correct=0,
    )  # fmt: skip
    for d in dirs:
        pid = problem_id(d.name)
        entries, picked = _export_problem(d, run_dir, level, pid, report)
        eval_results[str(pid)] = [e.model_dump() for e in entries]
        baseline = baseline_of(picked, read_results(d), d.name)
        if baseline is not None:
            baselines[f"{d.name}.py"] = baseline
        elif any(e.correctness for e in entries):
            report.left_out.append(d.name)  # KernelBench's analysis would divide a null mean by its runtime
        else:
            report.untimed.append(d.name)
            baselines[f"{d.name}.py"] = {"mean": None, "num_trials": 0, "hipgen_note": "no kernel reached timing"}
    write_json(run_dir / "eval_results.json", eval_results)
    write_json(baseline_file, {f"level{level}": baselines})
    return report


def _export_problem(
    d: Path, run_dir: Path, level: int, pid: int, report: ExportReport
) -> tuple[list[KernelBenchEntry], list[dict | None]]:
    results = read_results(d)
    entries, picked = [], []
    for sample in samples_of(d, results):
        chosen, why = pick([r for r in results if int(r.get("sample", 0)) == sample])
        entries.append(entry_for(sample, chosen, why, d.name))
        picked.append(chosen)
        report.samples += 1
        if chosen is not None and (d / str(chosen.get("code_file"))).is_file():
            source = (d / chosen["code_file"]).read_text()
            write_atomic(run_dir / f"level_{level}_problem_{pid}_sample_{sample}_kernel.py", source)
            report.kernels += 1
        report.correct += entries[-1].correctness
    return entries, picked


def summary_text(report: ExportReport) -> str:
    runs = report.run_dir.parent
    lines = [
        f"Exported {report.kernels} kernel(s) of {report.samples} sample(s) in {report.problems} level-{report.level} "
        f"problem(s) ({report.correct} correct) to {report.run_dir}, with eval_results.json; "
        f"baseline timing in {report.baseline_file}.",
        "Score it from a KernelBench checkout: python scripts/benchmark_eval_analysis.py "
        f"run_name={report.run_name} level={report.level} hardware={report.hardware} baseline={BASELINE_NAME} "
        f"eval_results_dir={runs} baseline_file={report.baseline_file}",
        "Runtimes are our harness's medians (ms), in the places KernelBench reads its means. To re-time the kernels "
        "with KernelBench's eval_from_generations.py, move eval_results.json aside first: it skips every problem "
        "that file lists.",
    ]
    if report.untimed:
        lines.append(
            f"No kernel of {', '.join(report.untimed)} reached timing, so the run has no reference time for it: its "
            "baseline mean is null, and benchmark_eval_analysis.py counts it as failed."
        )
    if report.left_out:
        lines.append(
            f"{', '.join(report.left_out)}: a correct kernel that was never timed and no reference time, so the "
            "baseline file leaves it out and benchmark_eval_analysis.py skips it: time it with agent eval."
        )
    return "\n".join(lines)
