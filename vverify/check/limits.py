"""The range of the solver timeout, checked wherever a timeout comes in (CLI, pytest plugin, API).

z3 keeps a query's timeout as a whole number of milliseconds in an unsigned
32-bit integer, and reads 0 as "no timeout": ``--timeout 0.0009`` truncated
to 0 ms, or 2**32 ms wrapped to 0, would silently turn a bounded gate into
one that can hang, and 2**32 + 5 ms would wrap to 5 ms.  So a timeout is a
finite number of at least 1 ms and at most 2**32 - 1 ms (about 49.7 days).

Kept free of z3 and of the checker, so that the pytest plugin can check its
options when pytest starts, in runs that never solve anything.
"""

from __future__ import annotations

import math
import numbers

from ..errors import UsageError

MIN_TIMEOUT_MS = 1
MAX_TIMEOUT_MS = 2**32 - 1
RANGE = f"from 0.001 (1 ms) to {MAX_TIMEOUT_MS / 1000} seconds"


def timeout_ms(seconds) -> int:
    """Seconds (as given on a command line or in an ini file) to z3's milliseconds, or UsageError."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise UsageError(f"'{seconds}' is not a number of seconds") from None
    ms = s * 1000
    if not math.isfinite(ms) or ms < MIN_TIMEOUT_MS or round(ms) > MAX_TIMEOUT_MS:
        raise UsageError(f"the timeout must be a finite number of seconds {RANGE}, not {seconds}")
    return round(ms)


def check_timeout_ms(ms) -> int:
    """A timeout given to the API in milliseconds: a whole number from 1 to 2**32 - 1, or UsageError."""
    if isinstance(ms, bool) or not isinstance(ms, numbers.Integral):
        raise UsageError(f"timeout_ms must be a whole number of milliseconds, not {ms!r}")
    if not MIN_TIMEOUT_MS <= ms <= MAX_TIMEOUT_MS:
        raise UsageError(f"timeout_ms must be from {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS} (z3 reads 0 as no timeout "
                         f"and wraps larger values), not {ms}")
    return int(ms)


__all__ = ["MAX_TIMEOUT_MS", "MIN_TIMEOUT_MS", "check_timeout_ms", "timeout_ms"]
