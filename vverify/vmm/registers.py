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
