"""The worker: runs in a fresh process per evaluation, loads the reference and the candidate, and runs
the requested phases (build, check, profile, time), reporting each on the private channel.

Started by tools.harness.sandbox as `python -m tools.harness.worker`, with the request on stdin. Everything here
assumes the candidate is hostile: it gets its own input copies, poisoned memory, fresh seeds it
cannot see, and the process ends with os._exit so no candidate hook runs after the verdict."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
import traceback
import types
from contextlib import contextmanager

from tools.harness.protocol import WorkerRequest
from tools.harness.spares import READY


class Channel:
    def __init__(self, fd: int):
        self._fd = fd

    def send(self, **record) -> None:
        data = (json.dumps(record, default=str) + "\n").encode()
        while data:
            n = os.write(self._fd, data)
            data = data[n:]


class PhaseFailure(Exception):
    def __init__(self, status: str, reason: str, **data):
        super().__init__(reason)
        self.status, self.reason, self.data = status, reason, data


def _load_module(path: str, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_SRC_LINE = [(re.compile(r"\S*cuda\.cu\((\d+)\)"), "cuda", 3), (re.compile(r"\S*cuda\.cu:(\d+)"), "cuda", 3),
             (re.compile(r"\S*hip\.hip:(\d+)"), "cuda", 3), (re.compile(r"\S*main\.cpp:(\d+)"), "cpp", 1)]


def trim_build_errors(text: str, limit: int = 4000) -> str:
    """Keep the compiler's first errors, with line numbers turned into lines of the candidate's
    cuda_sources / cpp_sources (load_inline prepends a few #include lines)."""
    for rx, which, offset in _SRC_LINE:
        text = rx.sub(lambda m: f"{which}_sources line {max(1, int(m.group(1)) - offset)}", text)
    text = re.sub(r"\S*/(main\.cpp|cuda\.cu|hip\.hip)\b", r"\1", text)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first_err = next((i for i, ln in enumerate(lines) if re.search(r"\berror\b", ln, re.I)), 0)
    picked = lines[max(0, first_err - 2):]
    keep = [ln for ln in picked if not ln.startswith(("[", "FAILED:", "ninja: build stopped"))
            and "-DTORCH_EXTENSION_NAME" not in ln]
    out = "\n".join(keep or lines)
    return out if len(out) <= limit else out[:limit] + "\n... (truncated)"


class Worker:
    def __init__(self, req: WorkerRequest, channel: Channel):
        import torch

        from tools.platforms import get_platform

        self.req, self.ch, self.torch = req, channel, torch
        self.platform = get_platform(req.platform)
        self.platform.prepare()
        self.device = self.platform.device()
        self.reference = _load_module(req.problem_path, "reference_problem")
        self.candidate = None
        self.ref_model = self.cand_model = None
        self.flops = self.min_bytes = None
        self.dtype = "float32"
        self.steps: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        """Seconds spent per step of a phase, summed: where an evaluation's time goes."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - t0

    # ---- helpers ----
    def sync(self):
        self.platform.synchronize()

    def make_inputs(self, seed: int) -> list:
        torch = self.torch
        torch.manual_seed(seed)
        with torch.device(self.device):
            inputs = list(self.reference.get_inputs())
        return [x.to(self.device) if isinstance(x, torch.Tensor) else x for x in inputs]

    def clone(self, inputs: list) -> list:
        return [x.clone() if isinstance(x, self.torch.Tensor) else x for x in inputs]

    def models(self):
        if self.ref_model is None:
            torch = self.torch
            torch.manual_seed(self.req.init_seed)
            init = list(self.reference.get_init_inputs())
            torch.manual_seed(self.req.init_seed)
            self.ref_model = self.reference.Model(*init).to(self.device)
            if self.candidate is not None:
                torch.manual_seed(self.req.init_seed)
                try:
                    self.cand_model = self.candidate.ModelNew(*init).to(self.device)
                except Exception as e:  # noqa: BLE001 - the candidate's constructor is untrusted code
                    raise PhaseFailure("crashed", f"ModelNew(*get_init_inputs()) raised {_exc_line(e)}")
                self._align_parameters()
        return self.ref_model, self.cand_model

    def _align_parameters(self):
        """Where ModelNew declares exactly the reference's parameters, give it the reference's values:
        seeded construction usually matches already, but declaration order must not matter."""
        ref_sd, cand_sd = self.ref_model.state_dict(), self.cand_model.state_dict()
        if ref_sd.keys() == cand_sd.keys() and all(ref_sd[k].shape == cand_sd[k].shape for k in ref_sd):
            self.cand_model.load_state_dict(ref_sd)

    # ---- phases ----
    def build(self) -> dict:
        ext_dir = os.environ.get("TORCH_EXTENSIONS_DIR", "")
        cached = bool(ext_dir) and os.path.exists(os.path.join(ext_dir, ".built"))
        t0 = time.perf_counter()
        try:
            self.candidate = _load_module(self.req.candidate_path, "candidate_kernel")
        except Exception as e:  # noqa: BLE001
            text = f"{type(e).__name__}: {e}"
            if not isinstance(e, SyntaxError) and "Error building extension" not in text:
                text += "\n" + "".join(traceback.format_exception(e)[-3:])
            raise PhaseFailure("build_error", "build failed", build={"ok": False, "seconds": time.perf_counter() - t0,
                                                                    "errors": trim_build_errors(text)})
        seconds = time.perf_counter() - t0
        model_new = getattr(self.candidate, "ModelNew", None)
        if model_new is None or not isinstance(model_new, type) or not issubclass(model_new, self.torch.nn.Module):
            raise PhaseFailure("build_error", "the file defines no ModelNew(nn.Module) class",
                               build={"ok": True, "seconds": seconds})
        if issubclass(model_new, self.reference.Model) or any(b.__name__ == "Model" for b in model_new.__mro__):
            raise PhaseFailure("static_error", "ModelNew inherits from the reference Model",
                               build={"ok": True, "seconds": seconds})
        if ext_dir:
            open(os.path.join(ext_dir, ".built"), "w").close()
        return {"ok": True, "seconds": seconds, "cached": cached}

    def check(self) -> dict:
        from tools.harness.correctness import compare, modified_inputs, snapshot, tolerance_for
        from tools.harness.speed_of_light import tensor_bytes

        torch = self.torch
        self.steps = {}
        t0 = time.perf_counter()
        with self.step("device"):
            self.sync()  # the first device call creates the context
        with self.step("models"):
            ref, cand = self.models()
        seeds = self.req.check_seeds
        # Every trial has fresh inputs; the candidate goes first on odd ones; the last trial repeats the
        # first one's inputs with other bytes in free memory, so reads of memory nobody wrote show up.
        plan = [(seed, i % 2 == 1, 0xFF) for i, seed in enumerate(seeds)] + ([(seeds[0], True, 0x3F)] if seeds else [])
        trials = []
        for i, (seed, cand_first, byte) in enumerate(plan):
            with self.step("inputs"):
                inputs = self.make_inputs(seed)
                pristine = snapshot(inputs)
                cand_in = self.clone(inputs)
            with torch.no_grad():
                if cand_first:
                    out_c = self._run_candidate(cand_in, tensor_bytes(inputs) * 2 + (64 << 20), byte)
                    with self.step("reference"):
                        out_r = ref(*self.clone(inputs))
                        self.sync()
                else:
                    with self.step("reference"):
                        out_r = self._count_work(ref, inputs) if self.flops is None else ref(*self.clone(inputs))
                        self.sync()
                    out_c = self._run_candidate(cand_in, tensor_bytes(out_r) * 4 + (64 << 20), byte, out_r)
            with self.step("compare"):
                result = compare(out_c, out_r, self.req.tolerance)
                result.trial, result.candidate_first = i, cand_first
                changed = modified_inputs(pristine, cand_in)
            if changed and result.passed:
                result.passed = False
                result.problem = f"input(s) {changed} were modified in place; inputs are read-only"
            if i == len(seeds) and not result.passed:
                result.problem = ("different results for the same inputs as trial 1 once free memory held other "
                                  f"bytes: the kernel reads memory it never wrote (uninitialised scratch, shared "
                                  f"memory or out of bounds); {result.problem}")
            trials.append(result.model_dump())
            del out_c, out_r, inputs, pristine, cand_in
            if not result.passed:
                break
        passed = bool(trials) and all(t["passed"] for t in trials) and len(trials) == len(plan)
        info = {"passed": passed, "trials": trials, "seconds": time.perf_counter() - t0,
                "steps": {k: round(v, 4) for k, v in self.steps.items()}, "flops": self.flops}
        info["atol"], info["rtol"] = tolerance_for(getattr(torch, self.dtype, torch.float32), self.req.tolerance)
        if not passed:
            bad = next(t for t in trials if not t["passed"])
            order = "candidate ran first" if bad["candidate_first"] else "reference ran first"
            label = f"trial {bad['trial'] + 1}/{len(plan)}"
            raise PhaseFailure("incorrect", f"{label} ({order}): {bad['problem']}", check=info)
        return info

    def _count_work(self, ref, inputs: list):
        """One reference call that also counts its FLOPs and minimal bytes (for the speed-of-light
        floor); returns its output."""
        from tools.harness.speed_of_light import count_flops, main_dtype, tensor_bytes

        torch = self.torch
        if self.req.flops is not None:  # counted once per problem: a dispatch mode's first use costs seconds
            self.flops, out_r = float(self.req.flops), ref(*self.clone(inputs))
        else:
            self.flops, out_r = count_flops(lambda x=inputs: ref(*self.clone(x)))
        self.dtype = main_dtype([out_r] if isinstance(out_r, torch.Tensor) else inputs)
        params = sum(tensor_bytes(p) for p in ref.parameters())
        self.min_bytes = float(tensor_bytes(inputs) + tensor_bytes(out_r) + params)
        return out_r

    def _run_candidate(self, inputs: list, poison_bytes: int, byte: int = 0xFF, out_like=None):
        from tools.harness.speed_of_light import tensor_bytes

        likely = out_like if out_like is not None else inputs
        sizes = tuple(sorted({tensor_bytes(t) for t in (likely if isinstance(likely, (list, tuple)) else [likely])
                              if isinstance(t, self.torch.Tensor)}))
        with self.step("poison"):
            self.platform.poison_free_memory(poison_bytes, byte, sizes)
        try:
            with self.step("candidate"), self.platform.poisoned_allocations(byte):
                out = self.cand_model(*inputs)
                self.sync()
        except Exception as e:  # noqa: BLE001
            raise PhaseFailure("crashed", f"ModelNew.forward raised {_exc_line(e)}")
        return out

    def profile(self) -> dict:
        from tools.harness.device_peaks import peaks_for
        from tools.harness.profilers.torch_profiler import mark_own, run_profiled
        from tools.harness.speed_of_light import floor_ms

        torch = self.torch
        ref, cand = self.models()
        inputs = self.make_inputs(self.req.timing_seed)
        t0 = time.perf_counter()
        with torch.no_grad():
            if self.flops is None:  # the check ran in an earlier worker
                self._count_work(ref, inputs)
            cand(*self.clone(inputs))
            self.sync()
            plain = []
            for _ in range(3):
                w0 = time.perf_counter()
                cand(*inputs)
                self.sync()
                plain.append(time.perf_counter() - w0)
            records = run_profiled(self.platform, lambda: cand(*inputs), repeats=3)
            ref_records = run_profiled(self.platform, lambda: ref(*inputs), repeats=1)
        if self.platform.device_type == "cpu":
            # ATen's self time per call against the unprofiled time per call: what is not ATen is the
            # candidate's own code (and the binding's small overhead).
            aten_us = sum(r.total_us for r in records) / 3
            own_share = max(0.0, 1.0 - aten_us / max(sorted(plain)[1] * 1e6, 1.0))
        else:
            own_share = mark_own(records, self.req.kernel_names)
        info = {"kernels": [r.model_dump() for r in records[:12]], "own_share": own_share,
                "reference_kernels": [r.model_dump() for r in ref_records[:6]],
                "flops": self.flops, "min_bytes": self.min_bytes}
        desc = self.platform.describe()
        if self.flops is not None:
            info["floor_ms"], info["bound"] = floor_ms(self.flops, self.min_bytes, peaks_for(desc.get("device_name", ""), desc.get("arch", "")), self.dtype)
        info["seconds"] = time.perf_counter() - t0
        self._judge_profile(records, own_share, info)
        return info

    def replay(self) -> dict:
        """The candidate alone, a few calls and nothing else, for an outside profiler to watch."""
        torch = self.torch
        _, cand = self.models()
        inputs = self.make_inputs(self.req.timing_seed)
        t0 = time.perf_counter()
        with torch.no_grad():
            for _ in range(3):
                cand(*inputs)
            self.sync()
        return {"calls": 3, "seconds": time.perf_counter() - t0}

    def _judge_profile(self, records, own_share: float, info: dict) -> None:
        """Reject from what actually executed: the work must be the candidate's own code."""
        top = ", ".join(f"{r.name.split('(')[0][:60]} {100 * r.share:.0f}%" for r in records if not r.own)[:300]
        if self.platform.device_type == "cpu":
            if records and own_share < 0.5:
                raise PhaseFailure("rejected", f"ATen ops did most of the work ({100 * (1 - own_share):.0f}% of the "
                                   f"forward's time: {top}); compute it in your own C++ code", profile=info)
            return
        if not self.req.kernel_names or not records:
            return
        if own_share == 0.0:
            raise PhaseFailure("rejected", f"none of the kernels in your source ran ({', '.join(self.req.kernel_names)}); "
                               f"the device time went to {top}", profile=info)
        if own_share < 0.5:
            raise PhaseFailure("rejected", f"library kernels did most of the work: only {100 * own_share:.0f}% of the "
                               f"device time was in your kernels; the rest went to {top}", profile=info)

    def time(self) -> dict:
        from tools.harness.correctness import compare
        from tools.harness.timing import interleaved, summarise

        torch = self.torch
        ref, cand = self.models()

        def make_inputs(i: int):
            x = self.make_inputs(self.req.timing_seed + 7919 * i)
            return x, self.clone(x)

        def verify(out_c, out_r):
            res = compare(out_c, out_r, self.req.tolerance)
            return None if res.passed else res.problem

        t0 = time.perf_counter()
        with torch.no_grad():
            run = interleaved(self.platform, lambda x: ref(*x), lambda x: cand(*x), make_inputs, verify,
                              warmup=self.req.warmup, budget_s=self.req.time_budget_s,
                              min_trials=self.req.min_timing_trials, max_trials=self.req.max_timing_trials)
        if run.mismatch:
            raise PhaseFailure("rejected", f"outputs during timing did not match the reference ({run.mismatch}): "
                               f"every timed call gets fresh inputs, so cached or replayed results fail")
        r, c = summarise(run.ref_ms), summarise(run.cand_ms)
        excess = run.excess_gap_ms()
        info = {"reference": r.model_dump(), "candidate": c.model_dump(), "speedup": r.median_ms / c.median_ms,
                "excess_gap_ms": excess, "seconds": time.perf_counter() - t0}
        if excess > max(0.02, 0.25 * c.median_ms):
            raise PhaseFailure("rejected", f"work ran outside the current stream: the device stayed busy {excess:.3g} ms "
                               f"per call after your stream's last kernel (your stream's time was {c.median_ms:.3g} ms); "
                               f"launch on at::cuda::getCurrentCUDAStream() and join any other stream before returning",
                               time=info)
        return info

    def baseline(self) -> dict:
        """The reference alone: its time and its speed-of-light floor, for read_reference."""
        from tools.harness.device_peaks import peaks_for
        from tools.harness.speed_of_light import count_flops, floor_ms, main_dtype, tensor_bytes
        from tools.harness.timing import interleaved, summarise

        torch = self.torch
        ref, _ = self.models()
        inputs = self.make_inputs(self.req.timing_seed)
        with torch.no_grad():
            flops, out = count_flops(lambda: ref(*inputs))
            min_bytes = float(tensor_bytes(inputs) + tensor_bytes(out) + sum(tensor_bytes(p) for p in ref.parameters()))
            del out
            run = interleaved(self.platform, lambda x: ref(*x), lambda x: ref(*x), lambda i: (inputs, inputs),
                              lambda c, r: None, warmup=2, budget_s=self.req.time_budget_s / 2, min_trials=5,
                              max_trials=50)
        r = summarise(run.ref_ms)
        desc = self.platform.describe()
        floor, bound = floor_ms(flops, min_bytes, peaks_for(desc.get("device_name", ""), desc.get("arch", "")), main_dtype(inputs))
        shapes = [f"{tuple(x.shape)} {str(x.dtype).removeprefix('torch.')}" if isinstance(x, torch.Tensor) else repr(x) for x in inputs]
        return {"reference": r.model_dump(), "flops": flops, "min_bytes": min_bytes, "floor_ms": floor, "bound": bound,
                "inputs": shapes, "device": desc}


def _exc_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    first = msg[0] if msg else ""
    return f"{type(e).__name__}: {first[:400]}"


def _limit_resources() -> None:
    """A candidate that prints without end or dumps core must not fill the disk."""
    import resource

    for what, value in ((resource.RLIMIT_FSIZE, 4 << 30), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(what, (value, value))
        except (ValueError, OSError):
            pass


def probe() -> dict:
    from tools.platforms import get_platform

    req_platform = sys.argv[2] if len(sys.argv) > 2 else None
    index = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    return get_platform(req_platform).describe(index)


def preload() -> None:
    """What every evaluation imports, done by a spare before its request exists. No device use, and no
    driver initialisation: the request names the lane's device afterwards, and the driver reads
    CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES once, when it starts."""
    before = os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")
    # Should an import ask torch.cuda.is_available(), NVML answers it without starting the driver.
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    try:
        import torch  # noqa: F401
        # torch.profiler and dispatch modes (the FLOP counter) import it on first use: 5-6 s on the H100s
        import torch._dynamo  # noqa: F401
        import torch.profiler  # noqa: F401
        import torch.utils.flop_counter  # noqa: F401
        # Not torch.utils.cpp_extension: importing it asks torch.cuda.is_available() (45 ms to leave).

        import tools.harness.correctness  # noqa: F401
        import tools.harness.device_peaks  # noqa: F401
        import tools.platforms  # noqa: F401
        import tools.harness.profilers.torch_profiler  # noqa: F401
        import tools.harness.timing  # noqa: F401
    finally:
        if before is None:
            os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
        else:
            os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = before


def adopt(req: WorkerRequest) -> None:
    """Take on the evaluation's folder, log, build folder and device (a spare was started without them;
    no CUDA/HIP call has been made yet, so the visible-devices variable still takes effect)."""
    if req.workdir:
        os.chdir(req.workdir)
    if req.log_path:
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(req.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.environ.update(req.env)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        print(json.dumps(probe()))
        sys.stdout.flush()
        os._exit(0)
    if len(sys.argv) > 2 and sys.argv[1] == "--spare":
        preload()
        fd = int(sys.argv[2])
        os.write(fd, READY)
    raw = sys.stdin.read()
    if not raw.strip():  # the agent closed this spare without work (it is shutting down, or died)
        os._exit(0)
    req = WorkerRequest.model_validate_json(raw)
    sys.stdin.close()
    adopt(req)
    _limit_resources()
    ch = Channel(req.channel_fd)
    phase = "setup"
    try:
        w = Worker(req, ch)
        for phase in req.phases:
            ch.send(event="start", phase=phase, t=time.time())
            data = getattr(w, phase)()
            ch.send(event="end", phase=phase, data=data)
        ch.send(event="done")
    except PhaseFailure as f:
        ch.send(event="fail", phase=phase, status=f.status, reason=f.reason, data=f.data)
    except BaseException as e:  # noqa: BLE001 - any escape from candidate code is a failed evaluation
        ch.send(event="fail", phase=phase, status="crashed", reason=f"{phase} failed: {_exc_line(e)}",
                data={"traceback": traceback.format_exc()[-3000:]})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
