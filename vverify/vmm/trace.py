"""The traps a guest was delivered, in order: what equivalence with native execution compares.

A run can deliver a trap every few dozen instructions, millions in a
benchmark.  Kept as a list of ``(cause, pc)`` tuples, each trap cost an
allocation in Python, and the garbage collector scanned the growing list
again and again: the native riscv32 ``syscall`` benchmark spent two thirds
of its time there, and more the longer it ran.  Here the trace is two
numpy arrays, cause codes and pcs, that grow by doubling: a buffer the
compiled loop filled is taken in with one copy (:meth:`TrapTrace.extend_codes`),
and comparing two traces compares arrays.

It still reads as the sequence of ``(cause name, pc)`` pairs it always
was (``len``, indexing, iteration, ``in``, and equality with a list or
tuple of pairs), so code that appends one trap at a time, or compares a
trace with a literal, is unchanged.
"""

from __future__ import annotations

import numpy as np

PC_MASK = 0xFFFF_FFFF_FFFF_FFFF


def cause_names(spec) -> tuple:
    """The spec's cause names in code order (``Cause.index``): the codes the core and the loops record.
    Made once per spec: every VMM's trace starts from them."""
    return spec.memo("trace_cause_names", lambda s: tuple(c.name for c in sorted(s.causes.values(), key=lambda c: c.index)))


class TrapTrace:
    """An append-only trace of delivered traps: ``(cause name, pc)`` pairs held as arrays.

    ``names`` maps a cause code to its name.  :meth:`freeze` gives an
    immutable copy (hashable, as an :class:`~vverify.spec.exits.Exit`'s
    field must be).
    """

    __slots__ = ("names", "_code", "_c", "_p", "_n", "_frozen")

    def __init__(self, names):
        self.names = tuple(names)
        self._code = {n: i for i, n in enumerate(self.names)}
        self._c = np.empty(16, dtype=np.int32)
        self._p = np.empty(16, dtype=np.uint64)
        self._n = 0
        self._frozen = False

    # ------------------------------------------------------------------ adding
    def _room(self, k: int) -> None:
        if self._frozen:
            raise TypeError("a frozen trap trace cannot grow")
        need = self._n + k
        if need > len(self._c):
            size = max(need, 2 * len(self._c))
            self._c = np.resize(self._c, size)
            self._p = np.resize(self._p, size)

    def append(self, item) -> None:
        """Add one ``(cause name, pc)`` pair."""
        cause, pc = item
        code = self._code.get(cause)
        if code is None:
            raise ValueError(f"'{cause}' is not one of the spec's trap causes")
        self._room(1)
        self._c[self._n] = code
        self._p[self._n] = int(pc) & PC_MASK
        self._n += 1

    def extend(self, items) -> None:
        """Add pairs in order (another trace with the same causes is copied as arrays)."""
        if isinstance(items, TrapTrace) and items.names == self.names:
            self.extend_codes(items._c[:items._n], items._p[:items._n])
            return
        for item in items:
            self.append(item)

    def extend_codes(self, codes, pcs) -> None:
        """Add the traps a compiled loop recorded: ``codes`` index :attr:`names`, ``pcs`` as recorded."""
        k = len(codes)
        if k != len(pcs):
            raise ValueError(f"{k} cause codes but {len(pcs)} pcs")
        if not k:
            return
        codes = np.asarray(codes)
        if codes.min() < 0 or codes.max() >= len(self.names):
            raise ValueError(f"a cause code outside 0 .. {len(self.names) - 1}")
        self._room(k)
        self._c[self._n:self._n + k] = codes
        self._p[self._n:self._n + k] = np.asarray(pcs).astype(np.uint64, copy=False)
        self._n += k

    def counts(self, start: int = 0) -> dict:
        """``{cause name: traps}`` from the ``start``-th trap on (causes with none left out)."""
        got = np.bincount(self._c[start:self._n], minlength=len(self.names))
        return {self.names[i]: int(got[i]) for i in np.flatnonzero(got)}

    def freeze(self) -> "TrapTrace":
        """An immutable copy, trimmed to its length."""
        t = TrapTrace.__new__(TrapTrace)
        t.names, t._code, t._n, t._frozen = self.names, self._code, self._n, True
        t._c, t._p = self._c[:self._n].copy(), self._p[:self._n].copy()
        return t

    # ------------------------------------------------------------ reading it
    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        names = self.names
        return iter([(names[c], p) for c, p in zip(self._c[:self._n].tolist(), self._p[:self._n].tolist())])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self)[i]
        n = self._n
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("trap trace index out of range")
        return self.names[int(self._c[i])], int(self._p[i])

    def __eq__(self, other) -> bool:
        if isinstance(other, TrapTrace):
            if self._n != other._n:
                return False
            if self.names == other.names:
                # the same dtypes on both sides (this class's own), so equal bytes are equal entries;
                # the fuzzer compares two traces per program, and array_equal costs microseconds each
                n = self._n
                return self._c[:n].tobytes() == other._c[:n].tobytes() and self._p[:n].tobytes() == other._p[:n].tobytes()
            return list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return len(other) == self._n and list(self) == [tuple(x) for x in other]
        return NotImplemented

    def __hash__(self):
        if not self._frozen:
            raise TypeError("a growing trap trace is not hashable; freeze() it")
        return hash((self.names, self._c.tobytes(), self._p.tobytes()))

    def __repr__(self) -> str:
        shown = [self[i] for i in range(min(self._n, 8))]
        more = f", ... +{self._n - 8} more" if self._n > 8 else ""
        return f"TrapTrace({shown}{more})"


__all__ = ["TrapTrace", "cause_names"]
