"""Compiled closures re-homed in a generated module (vverify.core.closures): the same functions,
cached on disk, named by what they were made from; left alone where they cannot be written out."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load
from vverify.core import closures
from vverify.core.jit import jit_enabled, njit

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="numba is off: closures stay plain Python")


@njit(cache=True)
def scaled(x, k):
    return x * k


def make(k: int, table, extra=None):
    """A factory as the VMM loops' are: constants, an array, a module-level kernel and a closure in cells."""
    K = np.uint64(k)
    U = np.uint64

    @njit
    def inner(x):
        return scaled(x, K) + table[x & U(3)]

    @njit
    def top(x):
        if extra is not None:
            return U(0)
        return inner(x) + U(1)

    return top


def test_the_rehomed_closures_compute_what_the_closures_do():
    spec = load("riscv32")
    table = np.array([10, 20, 30, 40], dtype=np.uint64)
    top = make(3, table)
    again = closures.cached(spec, "test_closure", top)
    assert again is not top and again.py_func.__module__.startswith("vverify_test_closure_")
    for x in (0, 1, 7, 1000):
        assert again(np.uint64(x)) == top(np.uint64(x)) == np.uint64(3 * x + table[x & 3] + 1)


def test_the_module_is_named_by_what_it_was_made_from():
    spec = load("riscv32")
    table = np.array([1, 2, 3, 4], dtype=np.uint64)
    a = closures._module_source(spec, "test_closure", make(3, table))
    assert a == closures._module_source(spec, "test_closure", make(3, table.copy()))  # same cells, same text
    assert a != closures._module_source(spec, "test_closure", make(4, table))
    assert a != closures._module_source(spec, "test_closure", make(3, table + 1))


def test_a_cell_it_cannot_write_out_leaves_the_closures_alone():
    spec = load("riscv32")
    top = make(3, np.zeros(4, dtype=np.uint64), extra={"not": "a number"})
    assert closures.cached(spec, "test_closure", top) is top


def test_a_second_process_loads_the_compiled_code_instead_of_compiling(tmp_path):
    """What the module is for: each benchmark, test or fuzz process used to compile every loop again."""
    script = textwrap.dedent("""
        import numpy as np
        from tests.conftest import load
        from tests.core.test_closures import make
        from vverify.core import closures
        f = closures.cached(load("riscv32"), "test_closure", make(5, np.arange(4, dtype=np.uint64)))
        assert f(np.uint64(2)) == np.uint64(13)
        print("compiled" if f.stats.cache_misses else "loaded")
    """)
    env = dict(os.environ, VVERIFY_CORE_CACHE_DIR=str(tmp_path))
    root = Path(__file__).resolve().parents[2]
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                           cwd=root) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert [r.stdout.split()[-1] for r in runs] == ["compiled", "loaded"]


def test_closures_of_several_modules_are_written_out_with_each_module_s_globals():
    """The VMM loops inline a cycle made in vverify.vmm.emulate_one: the module must import each
    closure's globals from that closure's own module, or the loops would fall back to compiling
    in every process."""
    from vverify.context import context_of
    from vverify.vmm import trap_emulate_loop

    spec = load("riscv32")
    core = context_of(spec).core("closures-test")
    loop = trap_emulate_loop.make_loop(spec, core.layout, *core.kernels(), core.compiled_map().kernel())
    source = closures._module_source(spec, "te_loop", loop)
    assert "from vverify.vmm.emulate_one import " in source
    assert "from vverify.vmm.trap_emulate_loop import " in source
    assert "def emulate_one(" in source and "def emulate(" in source and "def loop(" in source


def test_a_process_that_needs_a_core_another_is_compiling_waits_and_loads_it(tmp_path):
    """pytest-xdist's workers (or two CLI runs) that need the same cold core compile it once: while the
    compile lock of its module is held, a second process building that core waits, and once the lock
    is released it goes on (and finds in numba's cache what the holder compiled)."""
    import fcntl

    from vverify.core import codegen

    spec = load("pdp10")
    name = f"vverify_core_{codegen.source_key(codegen.generate(spec, True))}"
    (tmp_path / f"{name}.py").write_text(codegen.generate(spec, True))
    script = textwrap.dedent("""
        from tests.conftest import load
        from vverify.core import Core
        Core(load("pdp10"))
    """)
    env = dict(os.environ, VVERIFY_CORE_CACHE_DIR=str(tmp_path))
    root = Path(__file__).resolve().parents[2]
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600, cwd=root)
    assert first.returncode == 0, first.stderr[-2000:]
    for f in (tmp_path / "__pycache__").glob(f"{name}.run-*"):  # cold again for `run` alone: the lock decides
        f.unlink()
    with open(tmp_path / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiting = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env, cwd=root)
        try:
            waiting.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        assert waiting.poll() is None, "the second process built the core while the compile lock was held"
        fcntl.flock(lock, fcntl.LOCK_UN)
    out, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err[-2000:]
