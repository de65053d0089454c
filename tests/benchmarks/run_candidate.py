"""Runs one candidate's forward N times on its problem's inputs, for an external profiler (ncu) to
watch: python -m tests.benchmarks.run_candidate KERNEL.py PROBLEM.py N"""

import importlib.util
import sys

import torch


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main():
    kernel, problem, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ref = load(problem, "reference_problem")
    cand = load(kernel, "candidate_kernel")
    torch.manual_seed(0)
    model = cand.ModelNew(*ref.get_init_inputs()).cuda()
    with torch.device("cuda"):
        inputs = [x.cuda() if isinstance(x, torch.Tensor) else x for x in ref.get_inputs()]
    with torch.no_grad():
        for _ in range(n):
            model(*inputs)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
