"""Compile a generated core's functions ahead of its run loop, on both cores.

numba compiles a function when it is first called, one after another.  On a
cold cache the out-of-line instruction functions (and ``decode`` and the trap
entry) do not depend on each other, so a helper process compiles half of
them into numba's on-disk cache while this process compiles the other half;
``run`` then finds them all in the cache.  It changes when work happens,
never what is compiled.

Run as ``python -m vverify.core.precompile MODULE_PATH MEM_DTYPE NAME...``
(that is how the helper process is started).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def signature(module, name: str, mem_dtype: str):
    """The exact argument types ``run`` calls ``name`` with."""
    from numba import types as T

    u64 = T.uint64
    R = T.Array(u64, 1, "C")
    MEM = T.Array(getattr(T, mem_dtype), 1, "C")
    DECF = T.Array(u64, 1, "C")
    if name == "decode":
        return (u64, DECF, u64)
    nargs = getattr(module, name).py_func.__code__.co_argcount
    return (R, MEM, DECF) + (u64,) * (nargs - 3)


def precompilable(module) -> list:
    """The functions ``run`` calls, largest first."""
    names = [n for n in vars(module) if n == "decode" or n == "trap_entry" or (n[:1] == "i" and n[1:2].isdigit())]
    return sorted(names, key=lambda n: -len(getattr(module, n).py_func.__code__.co_code))


def compile_in_parallel(module, path: Path, mem_dtype: str):
    names = precompilable(module)
    mine, theirs = names[0::2], names[1::2]
    worker = None
    if theirs:
        worker = subprocess.Popen([sys.executable, "-m", "vverify.core.precompile", str(path), mem_dtype, *theirs],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        for n in mine:
            getattr(module, n).compile(signature(module, n, mem_dtype))
    except BaseException:  # this core will not compile: the helper's half is wasted work
        if worker is not None:
            worker.kill()
            worker.wait()
        raise
    if worker is not None:
        _, err = worker.communicate()
        if worker.returncode != 0:  # the run loop will compile what is missing itself
            import warnings

            warnings.warn(f"vverify: parallel core compilation failed; compiling serially ({err.decode()[-300:]})")


def main(argv):
    path, mem_dtype, *names = argv
    module = _import(Path(path))
    for n in names:
        getattr(module, n).compile(signature(module, n, mem_dtype))


if __name__ == "__main__":
    main(sys.argv[1:])
