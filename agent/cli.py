"""The `agent` command. User mistakes end in one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console

from tools.errors import UserError
from tools.platforms import names as platform_names

PLATFORMS = ", ".join(platform_names())

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="HipGenerator: an LLM agent that writes fast, correct HIP and CUDA kernels for KernelBench problems.",
)
err = Console(stderr=True, soft_wrap=True)
console = Console(soft_wrap=True)


def _level(level1: bool, level2: bool, level3: bool, level4: bool, level: int | None) -> int | None:
    picked = [n for n, on in ((1, level1), (2, level2), (3, level3), (4, level4)) if on]
    if len(picked) > 1:
        raise UserError("Pick one level: --level1, --level2, --level3 or --level4.")
    return picked[0] if picked else level


def _settings(assign: list[str] | None = None, **flags):
    """Settings from the flags given (None: not given), after any `--set NAME=VALUE`s, which flags beat."""
    from agent.settings import assignments, resolve

    return resolve(assignments(assign or []), {k: v for k, v in flags.items() if v is not None})


def _version(asked: bool) -> None:
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        typer.echo(f"hipgenerator {version('hipgenerator')}")
    except PackageNotFoundError:
        raise UserError(
            "hipgenerator is not installed, so it has no version: pip install -e . in its checkout."
        ) from None
    raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help="print the version and exit"
    ),
) -> None:
    pass


UNSAFE_OPT = typer.Option(
    False,
    "--unsafe-no-sandbox",
    help="run candidate code outside bubblewrap, with your rights: it can then read your files and keys, "
    "write the harness and the results, and reach the network (see README)",
)
STRICT_OPT = typer.Option(
    False,
    "--strict",
    help="count a fragile kernel (correct on the benchmark's inputs, wrong on others) as incorrect",
)
SET_OPT = typer.Option(
    None,
    "--set",
    metavar="NAME=VALUE",
    help="any setting by name, e.g. --set max_tokens=500000 (repeatable; see README)",
)


def _default(name: str):
    from agent.settings import Settings

    return Settings.model_fields[name].default


def _opt(flag: str, help: str):
    """An option whose absence leaves the setting to the environment, the config file or its default."""
    return typer.Option(None, flag, help=help)


LEVEL_OPTS = dict(
    level1=typer.Option(False, "--level1", help="KernelBench level 1 (single operators)"),
    level2=typer.Option(False, "--level2", help="level 2 (fusion chains)"),
    level3=typer.Option(False, "--level3", help="level 3 (whole models)"),
    level4=typer.Option(False, "--level4", help="level 4"),
)


@app.command()
def solve(
    level1: bool = LEVEL_OPTS["level1"],
    level2: bool = LEVEL_OPTS["level2"],
    level3: bool = LEVEL_OPTS["level3"],
    level4: bool = LEVEL_OPTS["level4"],
    range_: str | None = _opt("--range", "problem ids, e.g. 1-10 or 3,5,7-9"),
    problem: str | None = _opt("--problem", "problem name substring, e.g. 76_Gemm"),
    dataset: Path | None = _opt("--dataset", "KernelBench checkout (default: $DATASET_BASE)"),
    model: str | None = _opt("--model", "provider:name (openai:gpt-4.1, anthropic:claude-...) or module:factory"),
    base_url: str | None = _opt("--base-url", "OpenAI-compatible server (vLLM, SGLang, Ollama, a gateway)"),
    samples: int | None = _opt(
        "--samples", f"independent threads per problem (default $NUM_SAMPLES or {_default('samples')})"
    ),
    max_attempts: int | None = _opt(
        "--max-attempts", f"distinct kernels evaluated per thread (default $MAX_ATTEMPTS or {_default('max_attempts')})"
    ),
    target: float | None = _opt("--target", f"speedup that counts as a success (default {_default('target')})"),
    until: str | None = _opt(
        "--until", "keep optimising until the best reaches this speedup (2.0) or share of speed-of-light (sol:0.9)"
    ),
    platform: str | None = _opt("--platform", f"{PLATFORMS} (default: detected from torch)"),
    arch: str | None = _opt("--arch", "gfx950, gfx942, sm_90a... (default: the device's)"),
    out: Path | None = _opt("--out", "results folder (default: results)"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out where it stopped"),
    concurrency: int | None = _opt("--concurrency", "threads at once (default: samples)"),
    search: str | None = _opt(
        "--search", "seeded (later samples start from the best kernels so far; default) or independent (best-of-k)"
    ),
    max_turns: int | None = _opt("--max-turns", f"LLM turns per thread (default {_default('max_turns')})"),
    gpus: str | None = _opt("--gpus", "GPUs to evaluate on, one lane each, e.g. 0,1 (default: all visible)"),
    ray: str | None = _opt(
        "--ray", "evaluate on the Ray cluster at ADDRESS (auto: $RAY_ADDRESS or this machine's), one lane per GPU"
    ),
    cache_dir: Path | None = _opt(
        "--cache-dir", "builds, candidates and worker folders (default ~/.cache/hipgenerator; on Ray, every node's)"
    ),
    max_run_tokens: int | None = _opt("--max-run-tokens", "stop asking the LLM once the run has used this many tokens"),
    max_cost: float | None = _opt("--max-cost", "stop asking the LLM once the run has cost this many USD"),
    price_input: float | None = _opt("--price-input", "USD per million input tokens (default: agent/prices.json)"),
    price_output: float | None = _opt("--price-output", "USD per million output tokens"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no live display, one line per finished thread"),
    strict: bool = STRICT_OPT,
    unsafe_no_sandbox: bool = UNSAFE_OPT,
    assign: list[str] | None = SET_OPT,
    level: int | None = typer.Option(None, "--level", hidden=True),
):
    """Run the agent on KernelBench problems; results, kernels and traces land in --out."""
    flags = dict(locals())  # the options are named as the settings they set, but for those fixed below
    for name in ("level1", "level2", "level3", "level4", "range_", "no_progress", "assign", "unsafe_no_sandbox"):
        flags.pop(name)
    flags.update(
        level=_level(level1, level2, level3, level4, level),
        range=range_,
        resume=resume or None,
        progress=False if no_progress else None,
        strict=strict or None,
        sandbox=False if unsafe_no_sandbox else None,
    )
    s = _settings(assign, **flags)
    _run_solve(s)


def _run_solve(s) -> None:
    """Exit 0 when every thread ran, 1 when some could not run to their end, 130 when interrupted."""
    from agent.interrupts import Interrupted
    from agent.runner import solve as run_solve

    try:
        summary = run_solve(s, display=_display(s.progress), say=_say)
    except Interrupted as stop:
        console.print(_summary_line(stop.summary, s.out))
        _say(f"interrupted: the reports in {s.out}/ are written; the same command with --resume continues.")
        if stop.hard:  # the abandoned threads cannot be joined: leave without waiting for them
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise typer.Exit(130) from None
    console.print(_summary_line(summary, s.out))
    unfinished = summary.get("unfinished_threads") or []
    if unfinished:
        u = unfinished[0]
        _say(
            f"{len(unfinished)} thread(s) could not run to their end (first: {u['problem']}/{u['sample']}: "
            f"{str(u['reason'])[:200]}); each one's reason is in {s.out}/detailed_report.txt."
        )
        raise typer.Exit(1)


def _say(line: str) -> None:
    err.print(line, markup=False, highlight=False)


def _summary_line(summary: dict, out: Path) -> str:
    t = summary["totals"]
    cost = f"; cost ${summary['cost_usd']:.2f}" if summary.get("cost_usd") is not None else ""
    fragile = f" ({summary['fast_p_without_fragile']['fast_1']:.2f} without {t['fragile']} fragile)"
    built = f", built (not run) {t['built']}" if "built" in t else ""
    return (
        f"{summary['problems_count']} problem(s): success {t['success']}, partial {t['partial']}, failed "
        f"{t['failed']}{built}; fast_1 = {summary['fast_p']['fast_1']:.2f}{fragile if t['fragile'] else ''}{cost}. "
        f"Results in {out}/"
    )


def _display(live: bool):
    """A live table on a terminal; elsewhere (a log file, CI) one line on stderr per finished thread."""
    from agent.progress import line_display, live_display

    return live_display(err) if live and err.is_terminal else line_display(err)


@app.command("eval")
def eval_(
    kernel: Path = typer.Argument(..., help="a ModelNew Python file"),
    problem: str = typer.Option(..., "--problem", help="problem file, or LEVEL/ID such as 1/19"),
    dataset: Path | None = typer.Option(None, "--dataset", help="KernelBench checkout for LEVEL/ID"),
    platform: str | None = typer.Option(None, "--platform", help=PLATFORMS),
    arch: str | None = typer.Option(None, "--arch"),
    upto: str = typer.Option("profile", "--upto", help="build, check or profile (times too)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    counters: bool = typer.Option(
        False, "--counters", help="add the vendor profiler's counters (ncu, rocprofv3) for a correct kernel"
    ),
    ray: str | None = _opt("--ray", "evaluate on a GPU of the Ray cluster at ADDRESS (auto: $RAY_ADDRESS)"),
    strict: bool = STRICT_OPT,
    unsafe_no_sandbox: bool = UNSAFE_OPT,
    assign: list[str] | None = SET_OPT,
):
    """Evaluate one kernel file with the same harness, no LLM. Exit 0 when correct, 1 when not."""
    from agent.dataset import resolve_problem
    from agent.runner import make_evaluator
    from tools.feedback import status_text
    from tools.harness.protocol import UPTO
    from tools.platforms import detect

    if upto not in UPTO:
        raise UserError(f"Bad --upto '{upto}': use {', '.join(UPTO)}.")
    source = _kernel_source(kernel)
    s = _settings(
        assign,
        dataset=dataset,
        platform=platform,
        arch=arch,
        sandbox=False if unsafe_no_sandbox else None,
        strict=strict or None,
        ray=ray,
    )
    prob = resolve_problem(problem, s.dataset)
    plat = s.platform or detect()
    evaluator = make_evaluator(s, plat, build_only=upto == "build" and not counters)
    upto = "profile" if counters else upto  # counters are read from a timed, correct kernel
    result = evaluator.evaluate(prob, source, upto)
    counter_text, counter_data = evaluator.counters(prob, source) if counters and result.correct else ("", {})
    if as_json:
        data = {
            "compiled": result.compiled,
            "correct": result.correct,
            "speedup": result.speedup,
            "fragile": result.fragile,
            "status": result.status.value,
            "reason": result.reason,
            "result": result.model_dump(mode="json"),
        }
        if counters:
            data["counters"] = {"text": counter_text, "data": counter_data}
        typer.echo(json.dumps(data, indent=2))
    else:
        console.print(status_text(result, upto), markup=False, highlight=False)
        if counter_text:
            console.print("\n" + counter_text, markup=False, highlight=False)
    ok = result.compiled if upto == "build" else result.correct
    raise typer.Exit(0 if ok else 1)


def _kernel_source(kernel: Path) -> str:
    from tools.problem import read_source

    if kernel.is_dir():
        raise UserError(f"{kernel} is a folder: give agent eval a kernel file (a Python file defining ModelNew).")
    if not kernel.is_file():
        raise UserError(f"Kernel file {kernel} does not exist.")
    return read_source(kernel, "Kernel file")


@app.command()
def trace(
    path: Path = typer.Argument(..., help="a problem folder of a results directory, or the whole directory"),
    full: bool = typer.Option(False, "--full", help="do not abbreviate prompts, code or results"),
    sample: int | None = typer.Option(None, "--sample"),
):
    """A readable transcript of a problem's threads: reasoning, tool calls, results, tokens."""
    from agent.trace_view import render_traces

    if not path.exists():
        raise UserError(f"{path} does not exist: point agent trace at a results folder.")
    render_traces(path, console, full=full, sample=sample)


@app.command()
def report(path: Path = typer.Argument(Path("results"), help="a results directory")):
    """Rebuild summary.json, the detailed reports and report.html from what is on disk."""
    from agent.report import build_reports
    from agent.report_html import REPORT
    from agent.store import holds_run

    if not path.is_dir():
        raise UserError(f"{path} is not a results directory.")
    if not holds_run(path):
        raise UserError(
            f"{path} holds no run (no run_config.json, no problem folder with results or traces): "
            "point agent report at the --out of agent solve."
        )
    build_reports(path)
    console.print((path / "detailed_report.txt").read_text(), markup=False, highlight=False)
    console.print(f"Figures, problems and traces: {path / REPORT}", markup=False, highlight=False)


@app.command()
def status(path: Path = typer.Argument(Path("results"), help="a results directory, running or finished")):
    """Where a run stands: threads done, running and queued, best speedups, tokens, cost, time."""
    from agent.progress import read_status, render

    if not (path / "run_config.json").exists():
        raise UserError(f"{path} holds no run (no run_config.json): point agent status at the --out of agent solve.")
    data = read_status(path)
    if data is None:
        raise UserError(
            f"{path} has no status.json yet (a run from before status files, or one that has not "
            f"started a thread): run agent report {path} for what is on disk."
        )
    console.print(render(data, max_rows=1000))


@app.command()
def export(
    path: Path = typer.Argument(..., help="a results folder written by agent solve"),
    kernelbench: Path = typer.Option(..., "--kernelbench", help="a new folder for KernelBench's runs/ and results/"),
    hardware: str | None = typer.Option(None, "--hardware", help="timing folder name (default: the run's device)"),
    run_name: str | None = typer.Option(None, "--run-name", help="the run's name under runs/ (default: DIR's name)"),
):
    """Write a run as KernelBench's scripts read it: kernels, eval_results.json and baseline timing."""
    from agent.export_kernelbench import export_kernelbench, summary_text

    report = export_kernelbench(path, kernelbench, hardware=hardware, run_name=run_name)
    console.print(summary_text(report), markup=False, highlight=False)


@app.command()
def problems(
    level1: bool = LEVEL_OPTS["level1"],
    level2: bool = LEVEL_OPTS["level2"],
    level3: bool = LEVEL_OPTS["level3"],
    level4: bool = LEVEL_OPTS["level4"],
    range_: str | None = typer.Option(None, "--range"),
    problem: str | None = typer.Option(None, "--problem"),
    dataset: Path | None = typer.Option(None, "--dataset"),
):
    """List the problems a solve with these flags would run."""
    from agent.dataset import load_problems
    from graphs.prompting import family_for

    s = _settings(level=_level(level1, level2, level3, level4, None), dataset=dataset)
    for p in load_problems(s.dataset, s.level, range_, problem):
        typer.echo(f"{p.id:>4}  {p.name:<50} {family_for(p.name) or ''}")


def main() -> None:
    try:
        code = app(standalone_mode=False)  # outside standalone mode click returns typer.Exit's code
        sys.exit(code if isinstance(code, int) else 0)
    except UserError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        sys.exit(e.exit_code)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "settings"
        err.print(f"error: bad value for {where}: {first.get('msg')}", markup=False, highlight=False)
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:
        # click's usage errors (typer vendors click) arrive here outside standalone mode.
        if hasattr(e, "show") and isinstance(getattr(e, "exit_code", None), int):
            e.show()
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":
    main()
