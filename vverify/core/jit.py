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

if jit_enabled():
    from numba import njit  # noqa: F401
else:
    njit = _identity
