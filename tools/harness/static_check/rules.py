"""The rule names with the message each violation carries, and the name tables the checks match against."""

from __future__ import annotations

MESSAGES = {
    "no-modelnew": "no `class ModelNew(nn.Module)` was found; define it, with a forward that calls your extension.",
    "inherits-reference": "{what}: the candidate must not use, subclass or import the reference `Model`; "
    "write ModelNew as its own nn.Module that owns its parameters.",
    "fallback": "{what}: no try/except or suppressed errors; a fallback to PyTorch hides a broken kernel. "
    "Let errors surface and fix the kernel instead.",
    "banned-op": "`{what}` is banned for this problem; compute it in your own kernel instead.",
    "no-kernel": "{what}",
    "concurrency": "`{what}`: no threads, processes, signals or sockets; do all the work in forward, in your kernels.",
    "timer-patch": "{what}: do not modify torch, time or the timers, and do not use tensor subclasses or "
    "torch dispatch hooks; return plain tensors computed by your kernels.",
    "introspection": "`{what}`: no introspection, file access, dynamic code or imports; the candidate may only "
    "build its extension and call it.",
    "os-use": "`{what}`: only os.path and reading os.environ are allowed; the harness sets build flags "
    "and architecture itself.",
    "stream": "`{what}`: launch on the current stream (at::cuda::getCurrentCUDAStream() or the default stream); "
    "do not create or switch streams.",
    "caching": "{what}: forward must recompute its output on every call; do not cache results or key on "
    "tensor identity. Allocate outputs fresh (torch::empty) each call.",
    "precision": "`{what}`: keep the reference's dtypes and precision settings; do not downcast or change "
    "global numeric modes.",
}

CONCURRENCY_MODULES = {
    "threading",
    "_thread",
    "multiprocessing",
    "concurrent",
    "subprocess",
    "asyncio",
    "signal",
    "socket",
    "selectors",
    "torch.multiprocessing",
}
OS_PROCESS = {
    "os.fork",
    "os.forkpty",
    "os.system",
    "os.popen",
    "os.kill",
    "os.killpg",
    "os._exit",
    "os.abort",
    "os.register_at_fork",
    "os.setpgid",
    "os.setsid",
}
OS_PROCESS_PREFIXES = ("os.spawn", "os.exec", "os.posix_spawn", "os.wait")
OS_ALLOWED = {"os.path", "os.getenv", "os.cpu_count", "os.sep", "os.linesep", "os.name", "os.pathsep"}
INTROSPECTION_MODULES = {
    "gc",
    "inspect",
    "ctypes",
    "importlib",
    "pickle",
    "marshal",
    "weakref",
    "pathlib",
    "builtins",
    "dis",
    "atexit",
    "mmap",
    "tracemalloc",
    "__main__",
    "shutil",
    "tempfile",
    "glob",
    "runpy",
    "pkgutil",
    "code",
    "copyreg",
    "faulthandler",
    "resource",
}
INTROSPECTION_NAMES = {"globals", "locals", "vars", "eval", "exec", "__import__", "__builtins__", "breakpoint"}
INTROSPECTION_CALLS = {"compile", "open", "input"}
INTROSPECTION_ATTRS = {
    "__globals__",
    "__code__",
    "__closure__",
    "__subclasses__",
    "__builtins__",
    "f_back",
    "f_locals",
    "f_globals",
    "tb_frame",
    "gi_frame",
    "cr_frame",
}
SYS_ALLOWED = {
    "sys.version",
    "sys.version_info",
    "sys.platform",
    "sys.maxsize",
    "sys.byteorder",
    "sys.float_info",
    "sys.int_info",
}
PATCH_ROOTS = {"torch", "time", "timeit", "builtins", "sys"}
TIMER_MODULES = {"time", "timeit"}
TENSOR_BASES = {
    "torch.Tensor",
    "torch._C.TensorBase",
    "torch._C._TensorBase",
    "torch._tensor.Tensor",
    "torch.utils._python_dispatch.TorchDispatchMode",
    "torch.overrides.TorchFunctionMode",
}
DISPATCH_NAMES = {
    "__torch_function__",
    "__torch_dispatch__",
    "_make_subclass",
    "_make_wrapper_subclass",
    "TorchDispatchMode",
    "TorchFunctionMode",
}
STREAM_QUALS = {
    "torch.cuda.Stream",
    "torch.cuda.stream",
    "torch.cuda.set_stream",
    "torch.cuda.ExternalStream",
    "torch.cuda.StreamContext",
    "torch.Stream",
    "torch.stream",
    "torch.cuda.streams.Stream",
}
STREAM_TOKENS = (
    "cudaStreamCreate",
    "hipStreamCreate",
    "getStreamFromPool",
    "cudaStreamPerThread",
    "hipStreamPerThread",
    "setCurrentCUDAStream",
    "setCurrentHIPStream",
    "cudaStreamNonBlocking",
    "hipStreamNonBlocking",
    "default-stream",
)
PRECISION_QUALS = {
    "torch.set_float32_matmul_precision",
    "torch.set_default_dtype",
    "torch.set_default_tensor_type",
    "torch.autocast",
    "torch.cuda.amp.autocast",
    "torch.amp.autocast",
    "torch.cpu.amp.autocast",
}
LOW_DTYPES = {"torch.float16", "torch.half", "torch.bfloat16"}
CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}
MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "__setitem__", "pop", "popitem"}
KEY_CALLS = {"get", "setdefault", "pop", "__contains__", "__getitem__", "hash"}
LINEAR_MODULES = {"torch.nn.Linear", "torch.nn.LazyLinear", "torch.nn.Bilinear"}
DEFAULT_ALIASES = {"F": "torch.nn.functional", "nn": "torch.nn"}
