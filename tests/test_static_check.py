from pathlib import Path

import pytest

from tools.harness.static_check import check_source, format_violations
from tools.problem import DEFAULT_BANNED_OPS

STATIC = Path(__file__).parent / "kernels" / "static"

# Line 1 is the first line of HEAD; the candidate's own lines follow from line 15.
HEAD = '''import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cuda_src = r"""
__global__ void k(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i];
}
torch::Tensor run(torch::Tensor x) { auto y = torch::empty_like(x); return y; }
"""
ext = load_inline(name="e", cpp_sources="torch::Tensor run(torch::Tensor x);",
                  cuda_sources=cuda_src, functions=["run"])
'''


def candidate(forward: str = "return ext.run(x)", module: str = "", init: str = "") -> str:
    """HEAD, then `module` (line 15 on), then ModelNew with `init` and `forward` bodies (one line each)."""
    return (
        HEAD
        + "\n"
        + module
        + "\n"
        + "class ModelNew(nn.Module):\n"
        + "    def __init__(self):\n"
        + "        super().__init__()\n"
        + (f"        {init}\n" if init else "")
        + "    def forward(self, x):\n"
        + f"        {forward}\n"
    )


def rules(source: str, platform: str = "cuda", banned=None) -> set[str]:
    return {v.rule for v in check_source(source, platform, banned)}


def lines_of(source: str, rule: str, platform: str = "cuda") -> list[int]:
    return [v.line for v in check_source(source, platform) if v.rule == rule]


def forward_line(source: str) -> int:
    return source.splitlines().index("    def forward(self, x):") + 2


# --- honest candidates ---


@pytest.mark.parametrize("name,platform", [("relu_cuda", "cuda"), ("relu_cuda", "rocm"), ("matmul_cpu", "cpu")])
def test_honest_candidates_pass(name, platform):
    source = (STATIC / f"{name}.py").read_text()
    assert check_source(source, platform) == []


def test_template_itself_is_clean():
    assert check_source(candidate(), "cuda") == []


def test_extension_kept_on_self_and_environ_read_are_fine():
    source = candidate(
        forward="return self.ext.run(x)",
        init="self.ext = ext",
        module='import os\nDEBUG = os.environ.get("DEBUG") or os.environ["HOME"]\nP = os.path.join("a", "b")\n',
    )
    assert check_source(source, "cuda") == []


def test_extension_function_named_matmul_is_not_a_banned_method():
    source = (
        HEAD.replace('"run"', '"matmul"').replace("run(", "matmul(")
        + "\nclass ModelNew(nn.Module):\n    def forward(self, a, b):\n        return ext.matmul(a, b)\n"
    )
    assert check_source(source, "cuda") == []


# --- syntax ---


def test_syntax_error_is_one_violation_with_line():
    vs = check_source("import torch\n\ndef f(:\n    pass\n", "cuda")
    assert len(vs) == 1 and vs[0].rule == "syntax" and vs[0].line == 3


# --- rules ---


def test_no_modelnew():
    source = HEAD + "\nclass Something(nn.Module):\n    def forward(self, x):\n        return ext.run(x)\n"
    assert "no-modelnew" in rules(source)


@pytest.mark.parametrize(
    "module,forward",
    [
        ("from reference import Model", "return ext.run(x)"),
        ("import reference_problem", "return ext.run(x)"),
        ("", "return Model()(x)"),
        ("class Model(nn.Module):\n    pass", "return ext.run(x)"),
    ],
)
def test_inherits_reference_uses(module, forward):
    assert "inherits-reference" in rules(candidate(forward=forward, module=module))


def test_inherits_reference_subclass_line():
    source = HEAD + "\nimport ref\nclass ModelNew(ref.Model):\n    def forward(self, x):\n        return ext.run(x)\n"
    assert lines_of(source, "inherits-reference") == [16]


def test_fallback_try_except_line():
    source = candidate(forward="try:\n            return ext.run(x)\n        except Exception:\n            return x")
    assert lines_of(source, "fallback") == [forward_line(source)]


def test_fallback_contextlib_suppress():
    source = candidate(
        module="import contextlib", forward="with contextlib.suppress(RuntimeError):\n            return ext.run(x)"
    )
    assert "fallback" in rules(source)


@pytest.mark.parametrize(
    "forward,module",
    [
        ("return torch.matmul(x, x)", ""),
        ("return torch.mm(x, x)", ""),
        ("return torch.bmm(x, x)", ""),
        ("return x @ x", ""),
        ("x @= x; return x", ""),
        ("return x.matmul(x)", ""),
        ("return x.mm(x)", ""),
        ("return self.w.bmm(x)", ""),
        ("return torch.Tensor.matmul(x, x)", ""),
        ("return torch.ops.aten.mm.default(x, x)", ""),
        ("return torch.ops.aten.addmm(x, x, x)", ""),
        ("return torch.addmm(x, x, x)", ""),
        ("return torch.baddbmm(x, x, x)", ""),
        ("return torch._C._nn.linear(x, x)", ""),
        ("return torch.einsum('ij,jk->ik', x, x)", ""),
        ("return mm(x, x)", "from torch import matmul as mm"),
        ("return Fn.linear(x, x)", "import torch.nn.functional as Fn"),
        ("return F.linear(x, x)", "import torch.nn.functional as F"),
        ("return torch.nn.functional.linear(x, x)", ""),
        ("return nn.functional.linear(x, x)", ""),
        ("return getattr(torch, 'matmul')(x, x)", ""),
    ],
)
def test_banned_ops(forward, module):
    assert "banned-op" in rules(candidate(forward=forward, module=module))


def test_banned_op_line_and_message():
    source = candidate(forward="return torch.matmul(x, x)")
    vs = [v for v in check_source(source, "cuda") if v.rule == "banned-op"]
    assert [v.line for v in vs] == [forward_line(source)]
    assert "torch.matmul" in vs[0].message and "your own kernel" in vs[0].message


def test_linear_layer_call_is_banned():
    source = candidate(init="self.fc = nn.Linear(4, 4)", forward="return self.fc(x)")
    assert "banned-op" in rules(source)
    # keeping nn.Linear only for its initialized weights is fine
    source = candidate(init="self.fc = nn.Linear(4, 4)", forward="return ext.run(self.fc.weight)")
    assert "banned-op" not in rules(source)


def test_banned_ops_follow_the_problem():
    source = candidate(forward="return torch.matmul(x, x) @ x")
    assert "banned-op" not in rules(source, banned=[])
    assert "banned-op" in rules(candidate(forward="return torch.relu(x)"), banned=["torch.relu"])
    assert DEFAULT_BANNED_OPS and "banned-op" in rules(source, banned=None)


def test_banned_ops_ignore_cpp_strings():
    source = HEAD.replace("return y; }", "return torch::matmul(x, x); }") + candidate()[len(HEAD) :]
    assert "banned-op" not in rules(source)


def test_no_kernel_without_load_inline():
    source = (
        "import torch\nimport torch.nn as nn\n\nclass ModelNew(nn.Module):\n"
        "    def forward(self, x):\n        return torch.relu(x)\n"
    )
    vs = [v for v in check_source(source, "cpu") if v.rule == "no-kernel"]
    assert [v.line for v in vs] == [4]


def test_no_kernel_without_global_on_gpu():
    source = candidate().replace("__global__ ", "")
    assert "no-kernel" in rules(source, "cuda")
    assert "no-kernel" in rules(source, "rocm")
    assert "no-kernel" not in rules(source, "cpu")


def test_no_kernel_when_extension_unused():
    source = candidate(forward="return torch.relu(x)")
    assert lines_of(source, "no-kernel") == [12]


def test_no_kernel_not_flagged_for_unresolved_sources():
    source = candidate().replace("cuda_sources=cuda_src", "cuda_sources=build_source()")
    assert "no-kernel" not in rules(source)


def test_extension_used_through_helper_function():
    source = candidate(module="def act(x):\n    return ext.run(x)", forward="return act(x)")
    assert check_source(source, "cuda") == []


@pytest.mark.parametrize(
    "module,forward",
    [
        ("import threading", "return ext.run(x)"),
        ("from concurrent.futures import ThreadPoolExecutor", "return ext.run(x)"),
        ("import multiprocessing as mp", "return ext.run(x)"),
        ("import subprocess", "return ext.run(x)"),
        ("import asyncio", "return ext.run(x)"),
        ("import signal", "return ext.run(x)"),
        ("import socket", "return ext.run(x)"),
        ("import os", "os.fork(); return ext.run(x)"),
        ("import os", "os.system('true'); return ext.run(x)"),
        ("import os", "os.spawnl(0, 'a'); return ext.run(x)"),
        ("import os", "os.kill(1, 9); return ext.run(x)"),
    ],
)
def test_concurrency(module, forward):
    assert "concurrency" in rules(candidate(forward=forward, module=module))


def test_concurrency_line():
    source = candidate(module="import threading")
    assert lines_of(source, "concurrency") == [15]


@pytest.mark.parametrize(
    "module",
    [
        "torch.cuda.synchronize = lambda: None",
        "torch.cuda.Event.elapsed_time = lambda self, other: 1.0",
        "torch.Tensor.__add__ = lambda a, b: a",
        "torch.relu = lambda x: x",
        "import time\ntime.perf_counter = lambda: 0.0",
        "import timeit",
        "setattr(torch.cuda, 'synchronize', print)",
        "from torch.cuda import Event\nEvent.record = print",
        "class Lazy(torch.Tensor):\n    pass",
        "class T:\n    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n        pass",
        "import builtins\nbuiltins.print = None",
    ],
)
def test_timer_patch(module):
    assert "timer-patch" in rules(candidate(module=module))


def test_timer_patch_line():
    source = candidate(module="x = 1\ntorch.cuda.synchronize = lambda: None")
    assert lines_of(source, "timer-patch") == [16]


@pytest.mark.parametrize(
    "module,forward",
    [
        ("import gc", "gc.get_objects(); return ext.run(x)"),
        ("import inspect", "return ext.run(x)"),
        ("import sys", "sys._getframe(1); return ext.run(x)"),
        ("import sys", "sys.modules['m']; return ext.run(x)"),
        ("", "globals()['x'] = 1; return ext.run(x)"),
        ("", "return vars(self)"),
        ("", "return eval('ext.run(x)')"),
        ("", "exec('pass'); return ext.run(x)"),
        ("", "__import__('os'); return ext.run(x)"),
        ("", "open('/proc/self/maps').read(); return ext.run(x)"),
        ("import ctypes", "return ext.run(x)"),
        ("import importlib", "return ext.run(x)"),
        ("import pickle", "return ext.run(x)"),
        ("import marshal", "return ext.run(x)"),
        ("import weakref", "return ext.run(x)"),
        ("from pathlib import Path", "return ext.run(x)"),
        ("import builtins", "return ext.run(x)"),
        ("", "return __builtins__"),
        ("", "return self.forward.__globals__"),
    ],
)
def test_introspection(module, forward):
    assert "introspection" in rules(candidate(forward=forward, module=module))


@pytest.mark.parametrize(
    "module",
    [
        "import os\nos.environ['TORCH_CUDA_ARCH_LIST'] = '9.0'",
        "import os\nos.environ.setdefault('MAX_JOBS', '4')",
        "import os\nos.makedirs('/tmp/x', exist_ok=True)",
        "import os\nos.remove('/tmp/x')",
        "from os import getpid\ngetpid()",
    ],
)
def test_os_use(module):
    assert "os-use" in rules(candidate(module=module))


@pytest.mark.parametrize(
    "module",
    [
        'import os\nos.environ["CXX"] = "hipcc"',
        "import os\nos.environ['CC'] = 'amdclang'; os.environ['CXX'] = '/opt/rocm/bin/amdclang++'",
        'import os\nos.environ["CXX"] = "g++-12"',
    ],
)
def test_compiler_set_at_the_top_as_kernelbench_writes_it_is_tolerated(module):
    """KernelBench's HIP examples open with os.environ["CXX"] = "hipcc"; the harness strips the line."""
    assert check_source(candidate(module=module), "rocm") == []


@pytest.mark.parametrize(
    "module",
    [
        'import os\nCOMPILER = "hipcc"\nos.environ["CXX"] = COMPILER',  # not a constant
        'import os\nos.environ["CXX"] = f"{os.sep}hipcc"',
        'import os\nos.environ["CXX"] = "hipcc -include /tmp/x.h"',  # not a compiler's name
        'import os\nos.environ["PATH"] = "/tmp/bin"',
        'import os\nos.environ["LD_PRELOAD"] = "/tmp/timer_patch.so"',
        'import os\ndef setup():\n    os.environ["CXX"] = "hipcc"\nsetup()',  # not at the top level
        'import os\nif True:\n    os.environ["CXX"] = "hipcc"',
        'import os\nos.environ["CXX"] = os.environ["CC"] = "hipcc"',
        'import os\nos.environ["CXX"] = (\n    "hipcc"\n)',  # over two lines
        'from os import environ\nenviron["CXX"] = "hipcc"',
        'import os\nos.environ.update(CXX="hipcc")',
    ],
)
def test_every_other_environ_write_is_rejected(module):
    assert "os-use" in rules(candidate(module=module), "rocm")


def test_local_variable_named_like_a_module_is_not_flagged():
    source = candidate(forward="code = ext.run(x); signal = code; return signal")
    assert check_source(source, "cuda") == []


@pytest.mark.parametrize(
    "module,forward",
    [
        ("", "s = torch.cuda.Stream(); return ext.run(x)"),
        ("", "with torch.cuda.stream(torch.cuda.Stream()):\n            return ext.run(x)"),
        ("", "torch.cuda.set_stream(None); return ext.run(x)"),
    ],
)
def test_stream_python(module, forward):
    assert "stream" in rules(candidate(forward=forward, module=module))


def test_stream_in_cuda_source_line():
    source = candidate().replace("{ auto y", "{ cudaStream_t s; cudaStreamCreate(&s); auto y")
    assert lines_of(source, "stream") == [10]
    hip = candidate().replace("{ auto y", "{ hipStream_t s; hipStreamCreateWithFlags(&s, 1); auto y")
    assert "stream" in rules(hip, "rocm")


def test_stream_default_stream_flag():
    source = candidate().replace(
        'functions=["run"]', 'functions=["run"], extra_cuda_cflags=["--default-stream", "per-thread"]'
    )
    assert "stream" in rules(source)


@pytest.mark.parametrize(
    "module,forward",
    [
        ("", "self.cache = ext.run(x); return self.cache"),
        ("", "self._out[0] = ext.run(x); return self._out[0]"),
        ("CACHE = {}", "CACHE[0] = ext.run(x); return CACHE[0]"),
        ("CACHE = []", "CACHE.append(ext.run(x)); return CACHE[-1]"),
        ("import functools\n@functools.lru_cache(None)\ndef f(n):\n    return n", "return ext.run(x)"),
        ("from functools import cache\n@cache\ndef f(n):\n    return n", "return ext.run(x)"),
        ("", "key = id(x); return ext.run(x)"),
        ("D = {}", "return D.get(x.data_ptr()) or ext.run(x)"),
        ("D = {}", "return D[(x.data_ptr(), x.shape)]"),
        ("", "v = x._version; return ext.run(x)"),
        ("", "global ext; return ext.run(x)"),
    ],
)
def test_caching(module, forward):
    assert "caching" in rules(candidate(forward=forward, module=module))


def test_caching_line_and_init_is_fine():
    source = candidate(forward="self.last = ext.run(x); return self.last")
    assert lines_of(source, "caching") == [forward_line(source)]
    assert check_source(candidate(init="self.scale = 2.0"), "cuda") == []


def test_caching_in_helper_called_from_forward():
    source = (
        HEAD + "\nclass ModelNew(nn.Module):\n    def _run(self, x):\n        self.out = ext.run(x)\n"
        "        return self.out\n    def forward(self, x):\n        return self._run(x)\n"
    )
    assert lines_of(source, "caching") == [17]


@pytest.mark.parametrize(
    "module,forward",
    [
        ("", "return ext.run(x.half())"),
        ("", "return ext.run(x.bfloat16())"),
        ("", "return ext.run(x.to(torch.float16))"),
        ("", "return ext.run(x.to(dtype=torch.bfloat16))"),
        ("torch.backends.cuda.matmul.allow_tf32 = True", "return ext.run(x)"),
        ("torch.backends.cudnn.allow_tf32 = True", "return ext.run(x)"),
        ("torch.set_float32_matmul_precision('medium')", "return ext.run(x)"),
        ("torch.set_default_dtype(torch.float16)", "return ext.run(x)"),
    ],
)
def test_precision(module, forward):
    assert "precision" in rules(candidate(forward=forward, module=module))


def test_violations_sorted_and_deduplicated():
    source = candidate(
        module="import threading, multiprocessing\nimport gc", forward="return torch.matmul(x, x) @ torch.mm(x, x)"
    )
    vs = check_source(source, "cuda")
    assert [v.line for v in vs] == sorted(v.line for v in vs)
    assert len({(v.line, v.rule) for v in vs}) == len(vs)
    assert [(v.line, v.rule) for v in vs if v.line == 15] == [(15, "concurrency")]


def test_format_violations():
    source = candidate(module="import threading", forward="return ext.run(torch.mm(x, x))")
    text = format_violations(check_source(source, "cuda"))
    lines = text.splitlines()
    assert lines[0] == "rejected by the source rules: 2 problem(s)"
    assert lines[1].startswith("line 15: [concurrency]")
    assert "[banned-op]" in lines[2]
