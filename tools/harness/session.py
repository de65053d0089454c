"""What a worker holds while it runs phases: the request, the platform's device side, the reference and
candidate modules and models, and the figures one phase leaves for the next. Everything here assumes
the candidate is hostile: it gets its own input copies and fresh seeds it cannot see."""

from __future__ import annotations

import importlib.util
import sys
import types

from tools.harness.protocol import WorkerRequest
from tools.harness.results import Status
from tools.harness.timing import timed_step


class PhaseFailure(Exception):
    """A phase's verdict against the candidate, with what the phase measured before it."""

    def __init__(self, status: Status, reason: str, **data):
        super().__init__(reason)
        self.status, self.reason, self.data = status, reason, data


def exc_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    first = msg[0] if msg else ""
    return f"{type(e).__name__}: {first[:400]}"


def load_module(path: str, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Session:
    def __init__(self, req: WorkerRequest):
        import torch

        from tools.platforms import get_platform

        self.req, self.torch = req, torch
        self.platform = get_platform(req.platform)
        self.platform.prepare()
        self.platform.seal_timers()  # before any candidate code runs: the build phase imports it
        self.device = self.platform.device()
        self.reference = load_module(req.problem_path, "reference_problem")
        self.candidate = None
        self.ref_model = self.cand_model = None
        self.flops = self.min_bytes = None
        self.dtype = "float32"
        self.steps: dict[str, float] = {}
        self.notify = None  # the worker's channel: what a phase is about to try, in case it never returns

    def step(self, name: str):
        """Seconds spent per step of a phase, summed: where an evaluation's time goes."""
        return timed_step(self.steps, name)

    def note(self, **data) -> None:
        if self.notify is not None:
            self.notify(data)

    def sync(self) -> None:
        self.platform.synchronize()

    def check_timers(self, phase: str, data: dict) -> None:
        """After each phase: the timing primitives' public names still point at what was sealed."""
        changed = self.platform.timers.changed()
        if changed:
            reason = f"the candidate modified the timers ({', '.join(changed)}), so its times cannot be trusted"
            raise PhaseFailure(Status.rejected, reason, **{phase: data})

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
            self.ref_model = self._construct(self.reference.Model, init)
            if self.candidate is not None:
                try:
                    self.cand_model = self._construct(self.candidate.ModelNew, init)
                except Exception as e:  # noqa: BLE001 - the candidate's constructor is untrusted code
                    raise PhaseFailure(Status.crashed, f"ModelNew(*get_init_inputs()) raised {exc_line(e)}") from e
                self._align_parameters()
        return self.ref_model, self.cand_model

    def _construct(self, cls, init: list):
        """cls(*init) on the device, seeded: its parameters are drawn there, not on the host and copied
        (an 8192 x 8192 Linear takes 0.3-0.6 s to draw on the host). A constructor that needs the host
        (a .numpy() of a fresh tensor, say) is built there instead, seeded the same."""
        torch = self.torch
        torch.manual_seed(self.req.init_seed)
        try:
            with torch.device(self.device):
                return cls(*init).to(self.device)
        except Exception:  # noqa: BLE001 - built on the host below; its error, if any, is the one shown
            torch.manual_seed(self.req.init_seed)
        return cls(*init).to(self.device)

    def _align_parameters(self) -> None:
        """Where ModelNew declares exactly the reference's parameters, give it the reference's values:
        seeded construction usually matches already, but declaration order must not matter."""
        ref_sd, cand_sd = self.ref_model.state_dict(), self.cand_model.state_dict()
        if ref_sd.keys() == cand_sd.keys() and all(ref_sd[k].shape == cand_sd[k].shape for k in ref_sd):
            self.cand_model.load_state_dict(ref_sd)

    def count_work(self, ref, inputs: list):
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

    def run_candidate(self, inputs: list, poison_bytes: int, byte: int = 0xFF, out_like=None):
        """One candidate call on poisoned memory: freed blocks and (where the allocator allows) its own
        allocations start out as `byte`."""
        from tools.harness.speed_of_light import tensor_bytes

        likely = out_like if out_like is not None else inputs
        sizes = tuple(
            sorted(
                {
                    tensor_bytes(t)
                    for t in (likely if isinstance(likely, (list, tuple)) else [likely])
                    if isinstance(t, self.torch.Tensor)
                }
            )
        )
        with self.step("poison"):
            self.platform.poison_free_memory(poison_bytes, byte, sizes)
        try:
            with self.step("candidate"), self.platform.poisoned_allocations(byte):
                out = self.cand_model(*inputs)
                self.sync()
        except Exception as e:  # noqa: BLE001
            raise PhaseFailure(Status.crashed, f"ModelNew.forward raised {exc_line(e)}") from e
        return out

    def floor(self, flops: float, min_bytes: float, dtype: str) -> tuple[float | None, str | None]:
        """The speed-of-light floor on this device: (ms, what bounds it)."""
        from tools.harness.device_peaks import peaks_for
        from tools.harness.speed_of_light import floor_ms

        desc = self.platform.describe()
        return floor_ms(flops, min_bytes, peaks_for(desc.get("device_name", ""), desc.get("arch", "")), dtype)
