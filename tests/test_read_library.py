"""read_library (issue 14): the model lists, reads and searches header folders, and nothing outside
them: not through `..`, not through a symlink to a file or a folder outside the root. Reads are capped
and numbered, and a call goes through the graph into the trace like any other tool call."""

from pathlib import Path

import pytest

from agent.settings import Settings
from tests.conftest import ROOT
from tools.platforms.rocm import RocmPlatform
from tools.registry import CandidateState, Workbench, call

HIPKITTENS = ROOT.parent / "shared" / "third_party" / "hipkittens"


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    lib = tmp_path / "lib" / "include"
    (lib / "ops").mkdir(parents=True)
    (lib / "kittens.h").write_text('#pragma once\n#include "ops/mma.h"\n')
    (lib / "ops" / "mma.h").write_text("".join(f"// line {n}\n" for n in range(1, 1001)) + "void mma_ABt(int);\n")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("sk-do-not-show\n")
    (lib / "escape_dir").symlink_to(secret)
    (lib / "escape_file.h").symlink_to(secret / "key.txt")
    (lib / "inside_link.h").symlink_to(lib / "kittens.h")
    return {"kit": lib}


def ask(roots, **args) -> str:
    wb = Workbench(problem=None, evaluator=None, max_attempts=1, target=1.0, library_roots=roots)
    return call(wb, CandidateState(), "read_library", args).text


def test_roots_folders_and_files_are_listed_and_read_with_line_numbers(tree):
    assert ask(tree).startswith("library roots:\nkit/  (")
    listing = ask(tree, path="kit")
    assert "kit/ops/" in listing and "kit/kittens.h  (" in listing and "kit/kittens.h  (" in listing
    assert "escape" not in listing and "secret" not in listing  # links out of the root are not shown
    text = ask(tree, path="kit/ops/mma.h", start=995, lines=10)
    assert text.splitlines()[1] == "  995  // line 995"
    assert text.rstrip().endswith("[lines 995-1001 of 1001]") and "void mma_ABt(int);" in text
    capped = ask(tree, path="kit/ops/mma.h")
    assert "[lines 1-300 of 1001; read on with start=301]" in capped and "  301  " not in capped
    assert ask(tree, path="kit/inside_link.h").splitlines()[1] == "    1  #pragma once"


def test_search_finds_a_name_with_its_file_and_line(tree):
    assert ask(tree, path="kit", find="mma_ABt") == "kit/ops/mma.h:1001: void mma_ABt(int);"
    assert ask(tree, path="kit", find="sk-do-not").startswith("no line under 'kit' contains")
    assert "[first 60 hits" in ask(tree, path="kit", find="// line")


@pytest.mark.parametrize(
    "path, needle",
    [
        ("kit/../../secret/key.txt", "leads outside the library root 'kit'"),
        ("kit/escape_file.h", "leads outside the library root 'kit'"),
        ("kit/escape_dir/key.txt", "leads outside the library root 'kit'"),
        ("/etc/passwd", "no library root 'etc'"),
        ("kit/nope.h", "does not exist"),
    ],
)
def test_nothing_outside_the_roots_is_shown(tree, path, needle):
    text = ask(tree, path=path)
    assert text.startswith("ERROR: ") and needle in text and "sk-do-not-show" not in text


def test_no_roots_is_said_plainly():
    assert ask({}).startswith("ERROR: there are no library folders to read on this platform")


def test_the_rocm_platform_offers_hipkittens_include_and_settings_add_roots(tmp_path):
    kit = tmp_path / "hk"
    (kit / "include").mkdir(parents=True)
    assert RocmPlatform(hipkittens_root=kit).library_roots()["hipkittens"] == kit / "include"
    s = Settings(library_roots=f"mine={tmp_path}")
    assert s.extra_library_roots() == {"mine": tmp_path}
    with pytest.raises(ValueError, match="is not a folder"):
        Settings(library_roots=f"mine={tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="is not NAME=PATH"):
        Settings(library_roots="just/a/path")


@pytest.mark.skipif(not HIPKITTENS.is_dir(), reason="the shared HipKittens headers are not beside this checkout")
def test_the_real_hipkittens_headers_can_be_searched_and_read():
    roots = RocmPlatform(hipkittens_root=HIPKITTENS / "main").library_roots()
    hit = ask(roots, path="hipkittens", find="mma_ABt").splitlines()[0]
    file, line = hit.split(":")[0], int(hit.split(":")[1])
    assert file.startswith("hipkittens/") and line > 0
    assert "mma_ABt" in ask(roots, path=file, start=line, lines=1)


def test_without_rocm_the_hip_root_is_the_compile_only_toolchains_headers(tmp_path, monkeypatch):
    unpacked = tmp_path / "hip-toolchain"
    (unpacked / "usr" / "include" / "hip").mkdir(parents=True)
    (unpacked / "usr" / "include" / "hip" / "hip_runtime.h").write_text("// the unpacked HIP headers\n")
    monkeypatch.setenv("ROCM_PATH", str(tmp_path / "no-rocm-here"))
    monkeypatch.setenv("HIP_TOOLCHAIN_ROOT", str(unpacked))
    assert RocmPlatform().library_roots()["hip"] == unpacked / "usr" / "include"
    rocm = tmp_path / "rocm"
    (rocm / "include" / "hip").mkdir(parents=True)
    monkeypatch.setenv("ROCM_PATH", str(rocm))
    assert RocmPlatform().library_roots()["hip"] == rocm / "include"  # an installed ROCm comes first
