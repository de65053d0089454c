import pytest

from tools.harness.source_extract import extract_sources, kernel_names_in


def test_module_constants_concatenation_and_lists():
    source = '''
from torch.utils.cpp_extension import load_inline
HEADER = "#include <torch/extension.h>\\n"
KERNEL = r"""
__global__ void add_one(float* x, int n) { int i = threadIdx.x; if (i < n) x[i] += 1.0f; }
"""
HOST = "torch::Tensor run(torch::Tensor x) { return x; }"
cuda_src = HEADER + KERNEL
cuda_src += HOST
FUNCS = ["run"]
ext = load_inline("ext", cpp_sources=["torch::Tensor run(torch::Tensor x);"], cuda_sources=[cuda_src], functions=FUNCS)
'''
    ext = extract_sources(source)
    assert ext.calls == 1 and not ext.unresolved
    assert ext.cuda.startswith("#include <torch/extension.h>\n")
    assert "add_one" in ext.cuda and ext.cuda.endswith("return x; }")
    assert ext.cpp == "torch::Tensor run(torch::Tensor x);"
    assert ext.functions == ["run"] and ext.kernel_names == ["add_one"]


def test_positional_arguments_join_dedent_and_fstring():
    source = '''
import textwrap
import torch.utils.cpp_extension as ce
BLOCK = 256
parts = ["__global__ void a(float* x) {}", f"__global__ void __launch_bounds__({BLOCK}) b(float* x) {{}}"]
cuda = "\\n".join(parts)
cpp = textwrap.dedent("""
    torch::Tensor f(torch::Tensor x);
""")
m = ce.load_inline("m", cpp, cuda, "f")
'''
    ext = extract_sources(source)
    assert not ext.unresolved
    assert ext.cuda == "__global__ void a(float* x) {}\n__global__ void __launch_bounds__(256) b(float* x) {}"
    assert ext.cpp.strip() == "torch::Tensor f(torch::Tensor x);"
    assert ext.functions == ["f"] and ext.kernel_names == ["a", "b"]


def test_unresolved_sources_are_marked():
    source = """
from torch.utils.cpp_extension import load_inline
def make(n):
    return "__global__ void k() {}" * n
ext = load_inline(name="e", cpp_sources="", cuda_sources=make(2), functions=["k"])
"""
    ext = extract_sources(source)
    assert ext.unresolved and ext.cuda == "" and ext.calls == 1


def test_pybind_module_functions_and_cpp_only():
    source = '''
from torch.utils.cpp_extension import load_inline
src = """
#include <torch/extension.h>
torch::Tensor twice(torch::Tensor x) { return x * 2; }
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("twice", &twice, "doc"); }
"""
ext = load_inline(name="e", cpp_sources=src)
'''
    ext = extract_sources(source)
    assert ext.functions == ["twice"] and ext.cuda == "" and ext.kernel_names == []


def test_cpp_extension_load_counts_but_is_unresolved():
    source = """
from torch.utils.cpp_extension import load
import torch.utils.cpp_extension
a = load(name="a", sources=["a.cu"])
b = torch.utils.cpp_extension.load(name="b", sources=["b.cu"])
"""
    ext = extract_sources(source)
    assert ext.calls == 2 and ext.unresolved


def test_no_calls():
    ext = extract_sources("import torch\nx = torch.ones(3)\n")
    assert ext.calls == 0 and not ext.unresolved and ext.functions == []


def test_bare_load_without_cpp_extension_import_is_not_a_build():
    assert extract_sources("import json\nload = json.loads\nx = load('1')\n").calls == 0


def test_syntax_error_propagates():
    with pytest.raises(SyntaxError):
        extract_sources("def f(:\n")


@pytest.mark.parametrize(
    "text,names",
    [
        ("__global__ void relu(float* x) {}", ["relu"]),
        ("template <typename T, int N>\n__global__ void gemm(const T* a) {}", ["gemm"]),
        ("template<typename T> __global__ void __launch_bounds__(256, 2) tiled(T* x);", ["tiled"]),
        ("__global__ __launch_bounds__((16 * 16)) void lb(float* x) {}", ["lb"]),
        ('extern "C" __global__ void c_kernel(float* x) {}', ["c_kernel"]),
        ("static __global__ void s(float* x) {}\n__global__ void s(float* x);", ["s"]),
        ("__global__ void\nmulti_line\n(float* x) {}", ["multi_line"]),
        ("// __global__ void commented(float* x) {}\n/* __global__ void block(int) */", []),
        ("__device__ float helper(float x) { return x; }", []),
        ("__global__ void a(int) {}\n__global__ void b(int) {}", ["a", "b"]),
    ],
)
def test_kernel_names_in(text, names):
    assert kernel_names_in(text) == names
