"""Whether the core is compiled by numba or runs as plain Python.

The generated run loop is ordinary Python over numpy arrays.  With numba
available (and ``VVERIFY_NO_JIT`` unset) it is compiled with ``@njit``;
otherwise the very same source runs in the interpreter.  numba makes the
core fast; it is never what makes it correct.
"""

from __future__ import annotations

import os


def jit_enabled() -> bool:
    if os.environ.get("VVERIFY_NO_JIT", "") not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency, but optional at run time
        return False
    return True


def _identity(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


plain = _identity
"""The decorator of ``Core(spec, jit=False)``'s build: plain Python even where numba is installed,
so that numpy checks every index the core computes (tests/core/test_wild_guests.py relies on it)."""

JUMP_TARGET_ALIGNMENT = 64
"""Bytes to which LLVM aligns every block of compiled code that is only ever jumped to.

The run loop's instructions are such blocks: the dispatch jumps to them
through a jump table, and the loop is bound by how fast the front end
fetches them, so where they start matters more than what they hold.  Left
to itself LLVM packs them wherever the previous block ends, and an
unrelated change (one more instruction in a spec, one more branch in a cold
path) moved the RV32I loop 25-30 % in wall-clock speed with the very same
instructions (docs/core.md, "What keeps the hot path fast").  Aligned, each
starts a cache line: measured at 16, 32 and 64 bytes on three layouts of the
riscv32 core, 64 was the fastest for each and the least sensitive to the
layout.  The padding goes where nothing falls through, so it never runs; the
riscv32 run loop grows from 34 to 56 kB of code.
"""


def _align_jump_targets():
    """LLVM's ``-align-all-nofallthru-blocks``, which every numba compilation in this process reads.

    A process-wide setting (LLVM's options are), so it also applies to any
    other numba code the process compiles; it changes where code is placed,
    never what it does.  An LLVM that lacks the option ignores it.
    """
    import llvmlite.binding as llvm

    llvm.set_option("vverify", f"-align-all-nofallthru-blocks={JUMP_TARGET_ALIGNMENT.bit_length() - 1}")


def _without_runtime(numba_njit):
    """numba's ``njit``, compiling without numba's runtime (NRT) unless asked otherwise.

    With the runtime, a compiled function takes a reference to each array it
    is passed and drops it on return: an atomic (``lock``-prefixed) increment
    and decrement per array per call.  The VMMs' compiled loops call the
    core's run loop and their handlers with up to twenty arrays, once per
    translated block or event: perf found 56 % of binary translation's time
    on x86_32 ``compute`` in ``NRT_incref``/``NRT_decref``, and the core's
    own out-of-line instructions paid it too.  No compiled function here
    allocates an array or returns one (the arrays are made in Python and
    passed in), which is all the runtime is for; one that did would fail to
    compile, loudly, rather than run differently.
    """

    def njit(*args, **kwargs):
        kwargs.setdefault("_nrt", False)
        if len(args) == 1 and callable(args[0]):
            return numba_njit(**kwargs)(args[0])
        return numba_njit(*args, **kwargs)

    return njit


if jit_enabled():
    import numba

    njit = _without_runtime(numba.njit)
    _align_jump_targets()
else:
    njit = _identity
