"""`agent solve`: problems x samples, each a checkpointed graph thread, everything saved as it happens."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, message_to_dict

from agent import logs
from agent.dataset import load_problems
from agent.interrupts import HardStop, Interrupted, StopFlag, stop_on_signals
from agent.ledger import Ledger, prices_for
from agent.progress import Progress
from agent.report import build_reports, trace_stats
from agent.run_lock import RunLock
from agent.seeding import seed_text, starting_kernels
from agent.settings import Settings
from agent.store import RunStore, TraceWriter, now_iso, write_json
from graphs.budget import Budget
from graphs.kernel_graph import ThreadContext, build_graph
from graphs.llm import LLMConfig, reasoning_text, usage_of
from graphs.llm_preflight import preflight
from graphs.prompting import compile_only_prompt, rules_text, system_prompt, task_prompt
from graphs.state import KernelState, checkpointer
from tools.errors import ConfigError
from tools.harness.evaluator import Evaluator
from tools.platforms import detect, get_platform
from tools.problem import Problem
from tools.registry import Workbench

log = logs.get("runner")


@dataclass
class Bench:
    """Where the run's kernels are evaluated: the platform, its evaluator, the device it found, its lanes."""

    platform: str
    evaluator: Evaluator
    device: dict
    lanes: list


@dataclass
class Run:
    settings: Settings
    platform: str
    store: RunStore
    evaluator: Evaluator
    llm: BaseChatModel
    budget: Budget
    graph: object
    ledger: Ledger
    progress: Progress
    stop: StopFlag


def make_evaluator(
    s: Settings, platform: str, lane_log=None, build_only: bool = False, arch_required: bool = False
) -> Evaluator:
    """`build_only`: builds alone will do where nothing can run, so rocm with no AMD GPU compiles with the
    HIP compile-only toolchain instead of refusing; `arch_required`: then only for a target named."""
    config = s.eval_config().model_copy(update={"platform": platform})
    if s.ray:  # the cluster's nodes evaluate: this machine needs neither the device nor the compiler
        from tools.harness.ray_evaluator import RayEvaluator

        if s.gpus:
            raise ConfigError("--gpus does not apply with --ray: Ray gives every GPU of the cluster a lane.")

        return RayEvaluator(config, s.ray, lane_log, "cache_dir" in s.model_fields_set, s.threads(), s.spares)
    offline = get_platform(platform).build_only_evaluator(config, arch_required) if build_only else None
    return offline or Evaluator(config, lane_log=lane_log)


def make_ledger(s: Settings) -> Ledger:
    prices = prices_for(s.model, s.price_input, s.price_output)
    if s.max_cost is not None and prices is None:
        raise ConfigError(
            f"--max-cost needs the price of '{s.model}', which prices.json does not list: "
            f"pass --price-input and --price-output (USD per million tokens)."
        )
    ledger = Ledger(prices, s.max_run_tokens, s.max_cost)
    for d in (p for p in (s.out.iterdir() if s.out.is_dir() else []) if p.is_dir()):
        ledger.add(d.name, trace_stats(d)["tokens"])  # a resumed run counts what it spent before
    return ledger


def solve(s: Settings, display=None, say=None) -> dict:
    """display: None, or a function taking the Progress and giving a context manager that shows it; say:
    where the run's few lines for the user go (the platform, the model check, Ctrl-C). Raises
    Interrupted, its reports written, when the user stopped the run."""
    say = say or (lambda line: None)
    problems = load_problems(s.dataset, s.level, s.range, s.problem)
    platform = s.platform or detect()
    lock = RunLock(s.out).acquire()
    started = False
    try:
        config_path = s.out / "run_config.json"
        if config_path.exists() and not s.resume:
            raise ConfigError(f"{s.out} already holds a run: pass --resume to continue it, or --out another folder.")
        if s.resume and not config_path.exists():
            raise ConfigError(f"Nothing to resume in {s.out}: run without --resume to start a new run there.")
        ledger = make_ledger(s)
        llm = s.section(LLMConfig).chat_model()
        bench = _start_evaluator(s, platform)
        try:
            checked = preflight(s.model, llm, s.base_url)
        except BaseException:
            bench.evaluator.close()
            raise
        started = True
        say(platform_line(platform, bench.device, bench.lanes) + (f"; model: {checked}" if checked else ""))
        return _run(s, bench, problems, ledger, llm, display, say)
    finally:
        lock.release(keep_dir=started)


def platform_line(platform: str, device: dict, lanes: list) -> str:
    """e.g. "platform cuda: NVIDIA H200 sm_90, 1 lane"."""
    name, arch = device.get("device_name"), device.get("arch")
    if device.get("compile_only"):
        return f"platform {platform}: compile-only for {arch} ({device['compile_only']})"
    what = " ".join(dict.fromkeys(x for x in (name, arch) if x)) or "this machine"
    nodes = device.get("ray_nodes")
    where = f" on {nodes} Ray node{'s' if nodes != 1 else ''}" if nodes else ""
    return f"platform {platform}: {what}, {len(lanes)} lane{'s' if len(lanes) != 1 else ''}{where}"


def _run(s: Settings, bench: Bench, problems: list[Problem], ledger: Ledger, llm, display, say) -> dict:
    platform, evaluator, device, lanes = bench.platform, bench.evaluator, bench.device, bench.lanes
    store = RunStore(s.out, s.target)
    logs.configure(store.log_path)
    write_json(
        store.config_path,
        {
            "settings": s.public(),
            "platform": platform,
            "device": device,
            "lanes": [("default" if d is None else d) for d in lanes],
            "spares": evaluator.spares.depth if evaluator.spares is not None else 0,
            "ray": {"address": s.ray, "lanes": evaluator.lanes_per_node(), "depth": evaluator.depth} if s.ray else None,
            "prices": ledger.prices.model_dump() if ledger.prices else None,
            "problems": [p.name for p in problems],
            "started_at": now_iso(),
        },
    )
    structlog.contextvars.bind_contextvars(run=str(s.out))
    log.info("run_start", platform=platform, device=device.get("device_name"), problems=len(problems),
             samples=s.samples, model=s.model, lanes=len(lanes))  # fmt: skip
    progress = Progress(
        s.out, [(p.name, i) for p in problems for i in range(s.samples)], ledger, evaluator.lanes.busy_s
    )
    progress.seed(store.out)
    conn = sqlite3.connect(store.checkpoint_path, check_same_thread=False)
    stop = StopFlag()
    graph = build_graph(checkpointer(conn))
    run = Run(s, platform, store, evaluator, llm, s.section(Budget), graph, ledger, progress, stop)
    hard = False
    with stop_on_signals(stop, lambda: say(stopping_line(progress))):
        try:
            with display(progress) if display else nullcontext():
                hard = _threads(run, _job_order(problems, s))
        finally:
            if not hard:
                conn.close()  # abandoned threads may still hold it; the process is about to end
            evaluator.close()
        progress.finish("interrupted" if stop.is_set() else "finished")
        summary = build_reports(s.out)
    log.info(
        "run_end", interrupted=stop.is_set(), **{k: summary["totals"][k] for k in ("success", "partial", "failed")}
    )
    if stop.is_set():
        raise Interrupted(summary, hard)
    return summary


def _threads(run: Run, jobs: list[tuple[Problem, int]]) -> bool:
    """Run every thread; True when a second Ctrl-C left some of them behind."""
    pool = ThreadPoolExecutor(max_workers=run.settings.threads())
    hard = False
    try:
        for f in [pool.submit(run_thread, run, *job) for job in jobs]:
            f.result()
    except HardStop:
        hard = True
    finally:
        pool.shutdown(wait=not hard, cancel_futures=True)
    return hard


def stopping_line(progress: Progress) -> str:
    n = progress.snapshot()["thread_counts"]["running"]
    what = "1 thread finishes its" if n == 1 else f"{n} threads finish their"
    return f"stopping: {what} current step; Ctrl-C again to stop now"


def _start_evaluator(s: Settings, platform: str) -> Bench:
    """The run's evaluator, its spares started (their imports overlap the probe and the model's first
    turn), and the device and lanes it found; closed again if the probe fails. Where the platform
    cannot run kernels here but can build them for a named target, a compile-only one."""
    evaluator = make_evaluator(s, platform, lane_log=s.out / "lanes.jsonl", build_only=True, arch_required=True)
    try:
        evaluator.start_spares()
        return Bench(platform, evaluator, evaluator.device_info(), evaluator.lane_devices())
    except BaseException:
        evaluator.close()
        raise


def _job_order(problems: list[Problem], s: Settings) -> list[tuple[Problem, int]]:
    """Seeded search runs every problem's first sample before any second, so later samples have seeds."""
    if s.search == "seeded":
        return [(p, i) for i in range(s.samples) for p in problems]
    return [(p, i) for p in problems for i in range(s.samples)]


def run_thread(run: Run, problem: Problem, sample: int) -> str | None:
    """One sample of one problem; the Progress hears of its start and end however it ends. After a
    Ctrl-C a thread that has not started stays unstarted (and untouched on disk)."""
    if run.stop.is_set():
        return "run_interrupted"
    run.progress.thread(problem.name, sample, "running")
    ended, state = None, "failed"
    try:
        ended = _run_thread(run, problem, sample)
        state = "done" if ended and not ended.startswith("run_") else ("skipped" if ended else "failed")
    finally:
        run.progress.thread(problem.name, sample, state, ended)
    return ended


def _run_thread(run: Run, problem: Problem, sample: int) -> str | None:
    thread_id = f"{problem.name}/{sample}"
    structlog.contextvars.bind_contextvars(thread=thread_id)
    config = _thread_config(run, problem, sample)
    pstore = run.store.problem(problem.name)
    existing = run.graph.get_state(config).values
    if existing.get("ended"):
        log.info("thread_already_done", ended=existing["ended"])
        return existing["ended"]
    trace = pstore.trace(sample)
    spent = run.ledger.exhausted()
    if spent:
        return _stop_for_limit(trace, spent, "thread_not_started")
    ctx = _context(run, problem, pstore, sample)
    if existing:
        inputs = None
        trace.append({"type": "resume", "node": "runner"})
    else:
        seeds = starting_kernels(pstore.dir, run.settings.seed_kernels) if run.settings.search == "seeded" else []
        inputs = _first_state(run, problem, sample, seeds)
        if seeds:
            trace.append(
                {
                    "type": "seeded",
                    "node": "runner",
                    "from": [{k: v for k, v in x.items() if k != "source"} for x in seeds],
                }
            )
        for m in inputs.messages:
            _trace_message(trace, "input", m)
    log.info("thread_start", resumed=bool(existing))
    try:
        ended = _stream(run, problem, trace, inputs, config, ctx)
    except Exception as e:  # noqa: BLE001 - one thread's failure (LLM down, recursion limit) must not end the run
        log.error("thread_failed", error=f"{type(e).__name__}: {e}")
        trace.append({"type": "error", "node": "runner", "error": f"{type(e).__name__}: {str(e)[:2000]}"})
        return None
    if ended is not None and ended.startswith("run_"):
        return ended
    final = KernelState.model_validate(run.graph.get_state(config).values)
    best = final.best.model_dump() if final.best else None
    trace.append(
        {
            "type": "end",
            "node": "judge",
            "reason": ended,
            "finish_reason": final.finished,
            "attempts": len(final.evaluated),
            "best": best,
            "turns": final.turns,
            "tokens": final.tokens,
        }
    )
    log.info("thread_end", reason=ended, best=best)
    return ended


def _thread_config(run: Run, problem: Problem, sample: int) -> dict:
    """The thread's checkpoint address, step limit, and its trace's name and tags in LangSmith (when
    LANGSMITH_TRACING=true)."""
    thread_id = f"{problem.name}/{sample}"
    return {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": run.budget.max_turns * 3 + 10,
        "run_name": thread_id,
        "metadata": {"problem": problem.name, "sample": sample, "run": str(run.settings.out)},
    }


def _context(run: Run, problem: Problem, pstore, sample: int) -> ThreadContext:
    record = lambda source, result, note: _record(run, pstore, sample, source, result, note)
    return thread_context(run.settings, run.evaluator, run.llm, run.budget, problem, record)


def thread_context(
    s: Settings, evaluator: Evaluator, llm: BaseChatModel, budget: Budget, problem: Problem, record
) -> ThreadContext:
    """What a thread's graph nodes work with; `record(source, result, note)` saves each evaluation."""
    wb = Workbench(
        problem=problem,
        evaluator=evaluator,
        max_attempts=budget.max_attempts,
        target=budget.target,
        rules=rules_text(problem.banned_ops),
        record=record,
        counters_for_best=s.counters_for_best,
        library_roots={**evaluator.platform.library_roots(), **s.extra_library_roots()},
    )
    return ThreadContext(llm=llm, workbench=wb, budget=budget, retry=s.section(LLMConfig).retry_policy())


def _stream(run: Run, problem: Problem, trace: TraceWriter, inputs, config: dict, ctx: ThreadContext) -> str | None:
    """Run the graph, tracing every message as it comes; why it ended, or the run-wide limit that
    stopped it between steps (then --resume with a higher limit continues from there)."""
    ended = None
    for chunk in run.graph.stream(inputs, config, context=ctx, stream_mode="updates"):
        for node, update in chunk.items():
            if not isinstance(update, dict):
                continue
            for m in update.get("messages", []) or []:
                _trace_message(trace, node, m)
                if isinstance(m, AIMessage):
                    run.ledger.add(problem.name, usage_of(m))
            ended = update.get("ended") or ended
        spent = run.ledger.exhausted() or ("run_interrupted: stopped by Ctrl-C" if run.stop.is_set() else None)
        if spent and not ended:
            return _stop_for_limit(trace, spent, "thread_stopped")
    return ended


def _first_state(run: Run, problem: Problem, sample: int, seeds: list[dict]) -> KernelState:
    messages = first_messages(run.evaluator, run.budget, problem, sample, seed_text(seeds) if seeds else "")
    return KernelState(messages=messages, problem=problem.name, sample=sample, started_at=time.time())


def first_messages(
    evaluator: Evaluator, budget: Budget, problem: Problem, sample: int, seeds: str = ""
) -> list[SystemMessage | HumanMessage]:
    """A thread's opening: the system prompt for the platform and device, and the task."""
    dev = evaluator.device_info()
    system = system_prompt(
        evaluator.platform.name,
        problem.name,
        variant=evaluator.platform.prompt_variant,
        arch=dev.get("arch", ""),
        device_name=dev.get("device_name", ""),
        target_speedup=f"{budget.target:g}",
        goal=budget.goal_text(),
        max_attempts=budget.max_attempts,
    )
    if evaluator.compile_only:
        system = system.rstrip("\n") + "\n\n" + compile_only_prompt(dev.get("arch", ""))
    return [SystemMessage(system), HumanMessage(task_prompt(problem.name, problem.level, sample) + seeds)]


def _stop_for_limit(trace: TraceWriter, spent: str, event: str) -> str:
    """End a thread's turn at a run-wide limit; the reason is the limit's name (run_token_limit, ...)."""
    reason = spent.split(":", 1)[0]
    log.warning(event, reason=spent)
    trace.append({"type": "end", "node": "runner", "reason": reason, "detail": spent})
    return reason


def _record(run: Run, pstore, sample: int, source: str, result, note: str) -> int:
    n = pstore.record(sample, source, result, note)
    run.progress.result(pstore.name, sample, n, result)
    return n


def _trace_message(trace: TraceWriter, node: str, m) -> None:
    rec = {
        "type": "message",
        "node": node,
        "elapsed_s": round(time.monotonic() - trace.t0, 3),
        "message": message_to_dict(m),
    }
    if isinstance(m, AIMessage):
        rec["reasoning"] = reasoning_text(m)
        rec["usage"] = usage_of(m)
    trace.append(rec)
