"""The VMM's copy of a guest's control registers, and the register moves done at every exit.

A VMM touches the guest's registers after every exit: it composes the
guest's view (real data bits, virtual control bits) for its interpreter
routines, writes the emulated view back, and places the guest again (the
map's real control values, or the virtual ones where the map leaves them
be).  Done register by register in Python, that was most of an exit's cost,
so the virtual registers live in an array laid out as the core's, and the
moves are small compiled loops over it.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from ..core.jit import njit


class VirtualRegisters(MutableMapping):
    """Control registers by name, as the guest believes them to be, held in ``array``.

    ``array`` has one slot per register of the spec in the core's order;
    only the control registers' slots are used (and are the mapping's keys).
    """

    def __init__(self, index: dict, size: int, values: dict):
        self.index = index  # control register name -> slot
        self.array = np.zeros(size, dtype=np.uint64)
        for name, v in values.items():
            self[name] = v

    def __getitem__(self, name):
        return int(self.array[self.index[name]])

    def __setitem__(self, name, value):
        self.array[self.index[name]] = value

    def __delitem__(self, name):
        raise TypeError("a guest's control registers cannot be removed")

    def __iter__(self):
        return iter(self.index)

    def __len__(self):
        return len(self.index)

    def __repr__(self):
        return f"VirtualRegisters({dict(self)})"


@njit(cache=True)
def compose_view(E, R, V, DM, CM, n, end):
    """E := the guest's view: registers' real data bits with virtual control bits, then the files."""
    for i in range(n):
        E[i] = (R[i] & DM[i]) | (V[i] & CM[i])
    for i in range(n, end):
        E[i] = R[i]


@njit(cache=True)
def write_view_back(R, E, V, DM, CM, n, end):
    """Write view E back: files and data bits to the machine R, control registers to V."""
    for i in range(n, end):
        R[i] = E[i]
    for i in range(n):
        if CM[i]:
            V[i] = E[i]
        if DM[i]:
            R[i] = (R[i] & CM[i]) | (E[i] & DM[i])


def bank_table(spec, layout) -> np.ndarray:
    """The banked registers as :func:`bank_pairs` reads them: a row per bank of ``[index in R of
    the selecting register, its field's low bit, the field's mask, the index of the first copy,
    the number of listed values, value, copy index, value, copy index, ...]`` (uint64, so that
    compiled code compares it with register values without converting)."""
    rows = []
    for b in spec.banks.values():
        row = [layout.reg_index[b.by], b.lo, (1 << (b.hi - b.lo + 1)) - 1, layout.reg_index[b.default],
               len(b.selects)]
        for value, reg in b.selects.items():
            row += [value, layout.reg_index[reg]]
        rows.append(row)
    width = max([5] + [len(r) for r in rows])
    return np.array([r + [0] * (width - len(r)) for r in rows], dtype=np.uint64).reshape(len(rows), width)


@njit(cache=True)
def _copy_index(BT, k, field):
    c = BT[k, 3]
    for j in range(BT[k, 4]):
        if BT[k, 5 + 2 * j] == field:
            c = BT[k, 6 + 2 * j]
    return c


@njit(cache=True)
def bank_pairs(R, V, DM, CM, BT, base):
    """After a placement: for each banked register, the copy the guest's view selects and the copy
    the real registers select, into R's bank slots (codegen.Layout.bank_base), which the core's run
    exchanges on its way in and out (vverify.spec.banks).  The guest's selecting field is its view's
    (real data bits, virtual control bits); the real one is R's as placed."""
    for k in range(BT.shape[0]):
        i = BT[k, 0]
        lo = BT[k, 1]
        fm = BT[k, 2]
        guest = (((R[i] & DM[i]) | (V[i] & CM[i])) >> lo) & fm
        real = (R[i] >> lo) & fm
        R[base + 2 * k] = _copy_index(BT, k, guest)
        R[base + 2 * k + 1] = _copy_index(BT, k, real)


@njit(cache=True)
def apply_placement(R, V, PM, P, DM, CM, n):
    """The real control bits: the map's value P where it sets one (PM), else the virtual one.

    A data register the map sets (relocated or shadowed) takes the map's value whole.
    """
    for i in range(n):
        if CM[i]:
            v = P[i] if PM[i] else V[i]
            R[i] = (R[i] & DM[i]) | (v & CM[i])
        elif PM[i]:
            R[i] = P[i]


@njit(cache=True)
def place_real(R, V, PM, P, DM, CM, n, BT, base):
    """The whole placement of the real registers from the virtual ones: the control bits
    (:func:`apply_placement`), then the banked copies the core's runs exchange (:func:`bank_pairs`).
    One routine, so that no technique's loop places a guest without its banks."""
    apply_placement(R, V, PM, P, DM, CM, n)
    bank_pairs(R, V, DM, CM, BT, base)
