"""The spec's virtualization map, applied to concrete states.

How a VMM places a guest on the real machine: relocate (Popek & Goldberg's
R + x, storage moved up by x), then shadow (the VMM's values for the control
state it owns), then deprivilege (the real mode for the guest's mode).  The
z3 model applies the same map symbolically (vverify.formal.classify); this
is the concrete side, used to replay witnesses and by the VMMs.
"""

from __future__ import annotations

from ..spec.ir import mask
from .machine import MachineState, eval_pure


def memory_offset(spec, state: MachineState, params: dict) -> int:
    vm = spec.virtualization
    if vm is None or vm.memory_offset is None:
        return 0
    return eval_pure(spec, state, vm.memory_offset, params)


def relocated_regs(spec, state: MachineState, params: dict) -> dict:
    regs = dict(state.regs)
    for reg, pe in spec.virtualization.relocate.items():
        regs[reg] = eval_pure(spec, state, pe, params)
    return regs


def placed_regs(spec, state: MachineState, params: dict, guest_mode: str) -> dict:
    """The real registers for guest state ``state`` (memory aside)."""
    vm = spec.virtualization
    regs = relocated_regs(spec, state, params)
    rel = MachineState(regs, state.files, state.mem, state.mem_default, state.backing)
    out = dict(regs)
    for reg, pe in vm.shadow.items():
        out[reg] = eval_pure(spec, rel, pe, params)
    out["mode"] = spec.modes[vm.modes[guest_mode]]
    return out


def shift_memory(spec, st: MachineState, offset: int) -> MachineState:
    """The state with its storage moved up by ``offset`` units (modulo the address space)."""
    out = st.copy()
    m = mask(spec.memory.address)
    out.mem = {(a + offset) & m: v for a, v in st.mem.items()}
    return out


def relocate(spec, st: MachineState, params: dict):
    """Popek & Goldberg's relocation by the map's parameters; returns (state, memory offset)."""
    out = st.copy()
    out.regs = relocated_regs(spec, st, params)
    offset = memory_offset(spec, st, params)
    return (shift_memory(spec, out, offset) if offset else out), offset


def place(spec, st: MachineState, params: dict, guest_mode: str):
    """The real state a VMM builds for guest state ``st``; returns (state, memory offset)."""
    offset = memory_offset(spec, st, params)
    out = st.copy()
    out.regs = placed_regs(spec, st, params, guest_mode)
    return (shift_memory(spec, out, offset) if offset else out), offset
