"""The sealed timers (tools.harness.seal): a replaced name, a function whose code was swapped in place,
and a builtin whose C function pointer was overwritten are all seen. The pointer write runs in a child
process: it rewrites a method table the whole interpreter shares."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tools.harness.seal import Seal, fingerprint


def test_a_replaced_name_is_seen_and_the_original_is_still_called():
    import tools.harness.timing as mod

    seal = Seal({"summarise": "tools.harness.timing.summarise"})
    original = mod.summarise
    try:
        mod.summarise = lambda samples: None
        assert seal.changed() == ["tools.harness.timing.summarise"]
        assert seal.summarise is original
    finally:
        mod.summarise = original
    assert seal.changed() == []


def test_code_swapped_into_the_same_function_is_seen():
    import tools.harness.timing as mod

    seal = Seal({"summarise": "tools.harness.timing.summarise"})
    code = mod.summarise.__code__
    try:
        mod.summarise.__code__ = (lambda samples: None).__code__
        assert seal.changed() == ["tools.harness.timing.summarise (rewritten in place)"]
    finally:
        mod.summarise.__code__ = code
    assert seal.changed() == []


def test_a_builtins_fingerprint_is_its_c_function():
    kind, mdef, meth, flags = fingerprint(time.perf_counter)
    assert kind == "c" and mdef and meth
    assert fingerprint(time.perf_counter) == (kind, mdef, meth, flags)
    assert fingerprint(time.monotonic)[2] != meth
    assert fingerprint(str.join)[0] == "c"  # a method descriptor
    assert fingerprint(object()) == ()


def test_a_c_pointer_written_into_a_builtins_method_table_is_seen():
    child = textwrap.dedent(
        """
        import ctypes, time
        from tools.harness.seal import Seal, fingerprint
        seal = Seal({"clock": "time.perf_counter"})
        mdef = fingerprint(time.perf_counter)[1]
        other = fingerprint(time.process_time)[2]
        ctypes.c_void_p.from_address(mdef + ctypes.sizeof(ctypes.c_void_p)).value = other
        print(time.perf_counter is seal.clock, seal.changed())
        """
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True ['time.perf_counter (rewritten in place)']"


def test_names_missing_from_this_build_are_neither_bound_nor_watched():
    seal = Seal({"clock": "time.perf_counter", "gone": "time.no_such_clock", "mod": "no_such_module.clock"})
    assert seal.changed() == []
    assert seal.clock is time.perf_counter
