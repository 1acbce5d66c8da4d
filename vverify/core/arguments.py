"""The checks :class:`~vverify.core.machine.Core` makes on what its callers hand it.

The generated run loop has no bounds checks (numba compiles none), and it
trusts every value in its arrays to fit its width, as the loop itself keeps
them.  So nothing that crosses the Python API may break those assumptions:
an array too short or of the wrong type, a count or address out of range, a
value wider than its register, an unknown name.  Each check here is O(1) in
the size of memory (at most a pass over the registers, or over the values a
call copies anyway) and none runs inside the loop.  A refusal is one line.
"""

from __future__ import annotations

import operator

import numpy as np

from ..errors import VVerifyError
from ..spec.ir import mask

U64 = np.dtype(np.uint64)


class CoreArgumentError(VVerifyError, ValueError):
    """A call into the core with an argument it refuses: a malformed context array, a value that
    does not fit, an unknown register or cause name, a count out of range."""


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def integer(value, what: str) -> int:
    """``value`` as an int: Python and numpy integers only (a float or a bool is a mistake, not a count)."""
    if isinstance(value, (bool, np.bool_)):
        raise CoreArgumentError(f"{what} must be an integer, not {_show(value)}")
    try:
        return operator.index(value)
    except TypeError:
        raise CoreArgumentError(f"{what} must be an integer, not {_show(value)}") from None


def fits(value, width: int, what: str) -> int:
    """``value`` as an int of ``width`` bits (0 .. 2**width - 1)."""
    v = integer(value, what)
    if not 0 <= v <= mask(width):
        raise CoreArgumentError(f"{what} {v:#x} does not fit in {width} bits")
    return v


def named(name, table: dict, what: str):
    """``table[name]``, or a refusal naming the unknown ``name``."""
    if not isinstance(name, str) or name not in table:
        raise CoreArgumentError(f"no {what} {_show(name)} in this spec")
    return table[name]


def units(values, unit: int, what: str) -> np.ndarray:
    """``values`` as a one-dimensional array of ``unit``-bit values (memory units, file entries)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fO" and arr.ndim == 1 and not isinstance(values, np.ndarray):
        arr = _exactly(values, what)  # Python ints past 2**63 make numpy guess float64 or object
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "ui"):
        raise CoreArgumentError(f"{what} must be a sequence of integers, not {_describe(arr)}")
    if arr.size and not (arr.dtype.kind == "u" and arr.dtype.itemsize * 8 <= unit):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > mask(unit):
            raise CoreArgumentError(f"{what} holds {lo if lo < 0 else hi:#x}, which does not fit in {unit} bits")
    return arr


def _exactly(values, what: str) -> np.ndarray:
    """A sequence of Python ints as uint64, without numpy's guess through float64."""
    out = np.empty(len(values), dtype=np.uint64)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= mask(64):
            raise CoreArgumentError(f"{what} holds {_show(v)}, not an unsigned 64-bit integer")
        out[i] = v
    return out


def _describe(arr: np.ndarray) -> str:
    kind = type(arr).__name__
    return f"a {kind} of {arr.dtype} with shape {arr.shape}"


class ContextCheck:
    """Checks an array handed to :meth:`Core.run_context` or :meth:`Core.enter_trap`.

    It must be laid out as ``Core.R``: a writable, contiguous uint64 array of
    exactly ``layout.size`` elements (the loop writes its status slots and
    reads the cause codes at the end).  And where a register, file or cause
    code can reach a file index unmasked (:func:`codegen.index_sources`,
    none in the bundled specs), its value must fit, or the index would run
    past the array.  Called once per emulated instruction, so :meth:`check`
    is a handful of attribute reads in the common case.
    """

    def __init__(self, spec, layout, sources):
        self.n = layout.size
        self.shape = (layout.size,)
        self.slots = []  # (first, end, largest allowed value)
        for kind, name in sorted(sources, key=str):
            if kind == "reg":
                i = layout.reg_index[name]
                self.slots.append((i, i + 1, mask(spec.registers[name].width)))
            elif kind == "file":
                f = spec.files[name]
                base = layout.file_offset[name]
                self.slots.append((base, base + (1 << f.index_width), mask(f.width)))
            else:
                self.slots.append((layout.cc_base, layout.cc_base + len(spec.causes), mask(spec.code_width)))

    def check(self, context):
        try:  # attribute reads only: anything that is not an ndarray fails them or numba's own typing
            ok = (context.dtype is U64 and context.shape == self.shape and context.strides == (8,)
                  and context.flags.writeable)
        except AttributeError:
            ok = False
        if not ok:
            raise CoreArgumentError(f"a context must be a writable, contiguous uint64 array of {self.n} elements "
                                    f"laid out as Core.R, not {_describe(np.asarray(context))}")
        if self.slots:
            self._check_values(context)

    def _check_values(self, context):
        for first, end, largest in self.slots:
            if int(context[first:end].max()) > largest:
                raise CoreArgumentError(f"context slots {first}..{end - 1} hold a value wider than their "
                                        f"{largest.bit_length()} bits, which would index past the array")


def state_values(context, masks: np.ndarray, hardwired: dict) -> np.ndarray:
    """``context`` (a :meth:`Core.save_context`) as uint64, refusing any value wider than its slot
    or a hardwired file entry that differs from its constant."""
    arr = np.asarray(context)
    if arr.shape != masks.shape or (arr.size and arr.dtype.kind not in "ui"):
        raise CoreArgumentError(f"a saved context is an integer array of {masks.shape[0]} elements, "
                                f"not {_describe(arr)}")
    if arr.dtype.kind == "i" and arr.size and int(arr.min()) < 0:
        raise CoreArgumentError(f"a saved context holds the negative value {int(arr.min())}")
    arr = arr.astype(np.uint64)
    wide = np.flatnonzero(arr & ~masks)
    if wide.size:
        raise CoreArgumentError(f"context slot {int(wide[0])} holds {int(arr[wide[0]]):#x}, wider than its register")
    for i, v in hardwired.items():
        if int(arr[i]) != v:
            raise CoreArgumentError(f"context slot {i} is hardwired to {v:#x}, not {int(arr[i]):#x}")
    return arr
