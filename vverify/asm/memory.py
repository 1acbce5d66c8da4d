"""Putting an assembled program into an array or a machine's memory."""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from .assembler import Program
from .errors import AsmError


def unit_dtype(unit: int):
    """The numpy dtype that holds one memory unit (object beyond 64 bits)."""
    for bits, dt in ((8, np.uint8), (16, np.uint16), (32, np.uint32), (64, np.uint64)):
        if unit <= bits:
            return np.dtype(dt)
    return np.dtype(object)


def to_memory(spec, program: Program) -> np.ndarray:
    """A zero-filled array of the spec's memory units holding ``program``.

    Its length is ``min(memory size, highest address written + 1)``.
    """
    size = spec.memory.size if spec.memory else 1 << spec.pc_width
    unit = spec.memory.unit if spec.memory else 8
    n = min(size, max(program.memory) + 1) if program.memory else 0
    arr = np.zeros(n, dtype=unit_dtype(unit))
    return load_into(arr, program)


def load_into(target, program: Program):
    """Write ``program``'s units into ``target`` and return it.

    ``target`` is a sequence with item assignment (a numpy array, a list), a
    mutable mapping address -> unit, or anything with a ``mem`` mapping (a
    :class:`vverify.interp.MachineState`).  A sequence must be long enough,
    and a numpy array's dtype wide enough, for every unit: otherwise an
    :class:`AsmError` names the source line that wrote the offending unit.
    """
    if hasattr(target, "mem") and isinstance(target.mem, MutableMapping):
        target.mem.update(program.memory)
        return target
    if isinstance(target, MutableMapping):
        target.update(program.memory)
        return target
    n = len(target)
    limit = None
    dt = getattr(target, "dtype", None)
    if dt is not None and dt.kind in "ui":
        limit = np.iinfo(dt).max
    for a, v in sorted(program.memory.items()):
        if a >= n or (limit is not None and v > limit):
            src = program.source_of(a)
            line = src.line if src else 0
            why = (f"address 0x{a:x} is past the end of the target ({n} units)" if a >= n
                   else f"value 0x{v:x} at address 0x{a:x} does not fit the target's {dt}")
            raise AsmError(f"cannot load the program: {why}", line, 0, program.file)
        target[a] = v
    return target
