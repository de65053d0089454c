"""`os.environ["CXX"] = "hipcc"` at the top of a candidate (as KernelBench's HIP examples write it) has no
effect on our build: the harness takes the line out before the candidate is built or imported, and says
so in the build result. Without that, torch's load_inline would rebuild the extension with the named host
compiler in every worker that imports the candidate."""

import ast

import pytest

from tests.conftest import KERNELS, problem
from tools.feedback import status_text
from tools.harness.compiler_env import strip_compiler_settings


def test_strip_keeps_every_line_and_notes_each_setting():
    source = (
        "import os; os.environ['CC'] = 'amdclang'; os.environ['CXX'] = '/opt/rocm/bin/hipcc'  # KernelBench style\n"
        "os.environ['PATH'] = '/tmp'\n"
        "def f():\n"
        "    os.environ['CXX'] = 'hipcc'\n"
    )
    stripped, notes = strip_compiler_settings(source)
    lines = stripped.splitlines()
    assert lines[0] == "import os; pass; pass  # KernelBench style"
    assert lines[1:] == source.splitlines()[1:]  # the rest is the static check's to reject, untouched
    ast.parse(stripped)
    assert notes == [
        "os.environ['CC'] = 'amdclang' ignored: the harness picks the compiler",
        "os.environ['CXX'] = '/opt/rocm/bin/hipcc' ignored: the harness picks the compiler",
    ]
    assert strip_compiler_settings("x = 'é'; import os; os.environ['CXX'] = 'g++'\n")[0] == "x = 'é'; import os; pass\n"
    assert strip_compiler_settings("def broken(:\n") == ("def broken(:\n", [])


@pytest.mark.slow
def test_a_compiler_the_candidate_names_is_not_used(cpu_evaluator):
    """amdclang++ is not installed here: had the line reached load_inline, the import in the check worker
    would rebuild main.cpp with it and fail."""
    good = (KERNELS / "cpu" / "good" / "relu.py").read_text()
    assert "import os\n" not in good
    source = good.replace(
        "from torch.utils.cpp_extension import load_inline\n",
        'from torch.utils.cpp_extension import load_inline\nimport os\n\nos.environ["CXX"] = "amdclang++"\n',
        1,
    )
    result = cpu_evaluator.evaluate(problem("KernelBench/level1/1_Small_ReLU.py"), source, "check")
    assert result.correct, result.reason + result.log_tail[-2000:]
    assert result.build.notes == ["os.environ['CXX'] = 'amdclang++' ignored: the harness picks the compiler"]
    built = cpu_evaluator.evaluate(problem("KernelBench/level1/1_Small_ReLU.py"), source, "build")
    assert status_text(built, "build").endswith(
        "\nnote: os.environ['CXX'] = 'amdclang++' ignored: the harness picks the compiler"
    )
