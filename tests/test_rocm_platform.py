"""RocmPlatform without a GPU: arch selection, the build environment (HipKittens), visible devices,
and the extra_cuda_cflags rule for rocm sources."""

from pathlib import Path

import pytest

from tools.errors import PlatformError
from tools.platforms import get_platform, rocm
from tools.platforms.hipkittens_branch import branch_of
from tools.platforms.rocm import RocmPlatform, hipkittens_env, normalise_rocm_arch, resolve_arch
from tools.platforms.rocm_flags import RULE_NVCC_FLAG, RULE_OFFLOAD_ARCH, check_rocm_flags

SHARED_HK = Path(__file__).resolve().parents[2] / "shared" / "third_party" / "hipkittens"


def no_device():
    raise AssertionError("the device must not be probed when the arch is known")


def test_normalise_arch():
    assert normalise_rocm_arch("gfx942:sramecc+:xnack-") == "gfx942"
    assert normalise_rocm_arch("gfx942;gfx950") == "gfx942;gfx950"
    assert normalise_rocm_arch(" GFX950 gfx950 ") == "gfx950"
    with pytest.raises(PlatformError):
        normalise_rocm_arch("sm_90")
    with pytest.raises(PlatformError):
        normalise_rocm_arch(" ; ")


def test_arch_explicit_then_env_then_device_then_default():
    env = {"PYTORCH_ROCM_ARCH": "gfx942"}
    assert resolve_arch("gfx950", env, no_device) == "gfx950"
    assert resolve_arch(None, env, no_device) == "gfx942"
    assert resolve_arch("", {"PYTORCH_ROCM_ARCH": "  "}, lambda: "gfx90a:sramecc+:xnack-") == "gfx90a"
    assert resolve_arch(None, {}, lambda: None) == "gfx950"
    assert resolve_arch(None, {}, None) == rocm.DEFAULT_ARCH == "gfx950"


def test_build_env_sets_arch(monkeypatch):
    monkeypatch.delenv("HIPKITTENS_ROOT", raising=False)
    monkeypatch.setenv("PYTORCH_ROCM_ARCH", "gfx942")
    p = RocmPlatform()
    assert p.prompt_variant is None
    assert p.build_env("gfx950:xnack-") == {"PYTORCH_ROCM_ARCH": "gfx950"}
    assert p.build_env(None) == {"PYTORCH_ROCM_ARCH": "gfx942"}
    monkeypatch.delenv("PYTORCH_ROCM_ARCH")
    monkeypatch.setattr(rocm, "detect_device_arch", lambda: None)
    monkeypatch.setattr(RocmPlatform, "resolve_arch", lambda self, a: resolve_arch(a, device_arch=None))
    assert p.build_env(None) == {"PYTORCH_ROCM_ARCH": "gfx950"}


def fake_hipkittens(root: Path, branch: str) -> Path:
    """The two markers our branch check reads, as each branch's headers have them."""
    common = root / "include" / "common"
    common.mkdir(parents=True)
    if branch == "cdna3":
        (common / "util.cuh").write_text(
            "#if defined(KITTENS_CDNA2)\nconstexpr int MAX_SHARED_MEMORY = 65536;\n"
            "#elif defined(KITTENS_CDNA3)\nconstexpr int MAX_SHARED_MEMORY = 65536;\n"
            "#else\nconstexpr int MAX_SHARED_MEMORY = 160000;\n#endif\n"
        )
    else:
        (common / "util.cuh").write_text("constexpr int MAX_SHARED_MEMORY = 160000;\n")
        (root / "include" / "types" / "shared").mkdir(parents=True)
        (root / "include" / "types" / "shared" / "st_shape.cuh").write_text("namespace st_shape {}\n")
    return root


@pytest.fixture
def hk_root(tmp_path):
    return fake_hipkittens(tmp_path / "hk", "main")


@pytest.mark.parametrize(
    "arch, define, branch", [("gfx942", "-DKITTENS_CDNA3", "cdna3"), ("gfx950", "-DKITTENS_CDNA4", "main")]
)
def test_hipkittens_env(tmp_path, arch, define, branch):
    hk_root = fake_hipkittens(tmp_path / "hk", branch)
    env = hipkittens_env(hk_root, arch, {"ROCM_PATH": str(tmp_path / "norocm")})
    assert env["CPLUS_INCLUDE_PATH"] == str(hk_root / "include")
    undo = " -U__HIP_NO_HALF_CONVERSIONS__" if branch == "cdna3" else ""  # cdna3's headers need half conversions
    assert env["HIPCC_COMPILE_FLAGS_APPEND"] == define + undo
    assert env["HIPKITTENS_ROOT"] == str(hk_root)
    # existing values are kept, after ours
    (tmp_path / "rocm" / "include" / "hip").mkdir(parents=True)
    env2 = hipkittens_env(
        hk_root,
        arch,
        {"ROCM_PATH": str(tmp_path / "rocm"), "CPLUS_INCLUDE_PATH": "/x", "HIPCC_COMPILE_FLAGS_APPEND": "-O3"},
    )
    assert env2["CPLUS_INCLUDE_PATH"].split(":") == [str(hk_root / "include"), str(tmp_path / "rocm/include/hip"), "/x"]
    assert env2["HIPCC_COMPILE_FLAGS_APPEND"] == f"-O3 {define}{undo}"


def test_hipkittens_errors(hk_root, tmp_path):
    with pytest.raises(PlatformError, match="gfx942"):
        hipkittens_env(hk_root, "gfx90a", {})
    with pytest.raises(PlatformError, match="one arch"):
        hipkittens_env(hk_root, "gfx942;gfx950", {})
    with pytest.raises(PlatformError, match="does not exist"):
        hipkittens_env(tmp_path / "missing", "gfx950", {})


def test_platform_hipkittens_from_env_or_argument(hk_root, monkeypatch):
    monkeypatch.setenv("HIPKITTENS_ROOT", str(hk_root))
    p = RocmPlatform()
    assert p.prompt_variant == "hipkittens-main" and p.hipkittens_root == hk_root
    env = p.build_env("gfx950")
    assert env["PYTORCH_ROCM_ARCH"] == "gfx950" and env["HIPCC_COMPILE_FLAGS_APPEND"].endswith("-DKITTENS_CDNA4")
    assert str(hk_root / "include") in env["CPLUS_INCLUDE_PATH"]
    monkeypatch.delenv("HIPKITTENS_ROOT")
    assert RocmPlatform().prompt_variant is None
    cdna3 = fake_hipkittens(hk_root.parent / "hk3", "cdna3")
    assert RocmPlatform(hipkittens_root=cdna3).prompt_variant == "hipkittens-cdna3"
    flags = RocmPlatform(hipkittens_root=cdna3).build_env("gfx942")["HIPCC_COMPILE_FLAGS_APPEND"]
    assert flags == "-DKITTENS_CDNA3 -U__HIP_NO_HALF_CONVERSIONS__"


@pytest.mark.parametrize("branch, arch, other", [("main", "gfx942", "gfx950"), ("cdna3", "gfx950", "gfx942")])
def test_a_hipkittens_branch_built_for_the_other_arch_is_refused_with_the_fix(tmp_path, branch, arch, other):
    root = fake_hipkittens(tmp_path / "hk", branch)
    with pytest.raises(PlatformError) as e:
        hipkittens_env(root, arch, {})
    wanted = "cdna3" if branch == "main" else "main"
    assert str(e.value) == (
        f"HIPKITTENS_ROOT {root} is HipKittens' {branch} branch, which builds for {other}, not {arch}: check out "
        f"its {wanted} branch (git -C {root} checkout {wanted}), or build for --arch {other}."
    )


def test_headers_that_are_neither_branch_are_refused(tmp_path):
    (tmp_path / "hk" / "include").mkdir(parents=True)
    with pytest.raises(PlatformError, match="Cannot tell which HipKittens branch"):
        hipkittens_env(tmp_path / "hk", "gfx950", {})


@pytest.mark.skipif(not SHARED_HK.is_dir(), reason="the shared HipKittens headers are not beside this checkout")
def test_the_real_branches_are_told_apart():
    assert branch_of(SHARED_HK / "main" / "include") == "main"
    assert branch_of(SHARED_HK / "cdna3" / "include") == "cdna3"


def test_visible_devices():
    p = get_platform("rocm")
    assert isinstance(p, RocmPlatform)
    assert p.visible_devices_env(None) == {}
    assert p.visible_devices_env(3) == {"HIP_VISIBLE_DEVICES": "3"}
    assert "CUDA_VISIBLE_DEVICES" not in p.visible_devices_env(0)
    assert p.flush_min_bytes >= 512 << 20


FLAGS_SRC = """import torch
from torch.utils.cpp_extension import load_inline

FLAGS = ["-O3", "--use_fast_math"]
ext = load_inline(name="x", cpp_sources="", cuda_sources="",
                  extra_cuda_cflags=FLAGS + ["-Xptxas -v", "-arch=sm_90",
                                             "--expt-relaxed-constexpr", "-gencode=arch=compute_90,code=sm_90"])
"""


def test_flags_rule_flags_nvcc_only_flags():
    vs = check_rocm_flags(FLAGS_SRC)
    found = {v.message.split("`")[1]: v for v in vs}
    assert set(found) == {
        "--use_fast_math",
        "-Xptxas -v",
        "-arch=sm_90",
        "--expt-relaxed-constexpr",
        "-gencode=arch=compute_90,code=sm_90",
    }
    assert all(v.rule == RULE_NVCC_FLAG for v in vs)
    assert found["--use_fast_math"].line == 4 and "-ffast-math" in found["--use_fast_math"].message
    assert found["-arch=sm_90"].line == 6


def test_flags_rule_accepts_clang_flags_and_sees_offload_arch():
    ok = FLAGS_SRC.replace('FLAGS + ["-Xptxas -v", "-arch=sm_90",\n', '["-O3", "-ffast-math", "-std=c++20",\n').replace(
        '"--expt-relaxed-constexpr", "-gencode=arch=compute_90,code=sm_90"]', '"-DKITTENS_CDNA4"]'
    )
    assert check_rocm_flags(ok) == []
    arch = 'from torch.utils.cpp_extension import load_inline\nx = load_inline("n", "", "", extra_cuda_cflags=["--offload-arch=gfx942"])\n'
    vs = check_rocm_flags(arch)
    assert [v.rule for v in vs] == [RULE_OFFLOAD_ARCH] and vs[0].line == 2


def test_flags_rule_unresolvable_flags_still_checked():
    src = (
        "from torch.utils.cpp_extension import load_inline\nimport os\n"
        'extra = ["--use_fast_math"] if os.environ.get("X") else ["-O3"]\n'
        'x = load_inline("n", "", "", extra_cuda_cflags=extra)\n'
    )
    vs = check_rocm_flags(src)
    assert len(vs) == 1 and vs[0].line == 3 and "--use_fast_math" in vs[0].message
    assert check_rocm_flags("this is not python(") == []


@pytest.mark.parametrize("platform, var", [("cuda", "CUDA_VISIBLE_DEVICES"), ("rocm", "HIP_VISIBLE_DEVICES")])
def test_a_lane_counts_the_devices_the_user_left_visible(platform, var, monkeypatch):
    monkeypatch.setenv(var, "2,3")
    assert get_platform(platform).visible_devices_env(1) == {var: "3"}
    monkeypatch.delenv(var)
    assert get_platform(platform).visible_devices_env(1) == {var: "1"}
