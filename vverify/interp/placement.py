"""The spec's virtualization map, applied to concrete states.

How a VMM places a guest on the real machine: relocate (Popek & Goldberg's
R + x, storage moved up by x), then shadow (the VMM's values for the control
state it owns), then deprivilege (the real mode for the guest's mode), and
put the guest's current copy of each banked register where the real machine
looks (vverify.spec.banks).  The z3 model applies the same map symbolically
(vverify.formal.classify); this is the concrete side, used to replay
witnesses and by the VMMs.
"""

from __future__ import annotations

from ..spec.banks import exchange, moves
from ..spec.ir import mask
from .machine import MachineState, eval_pure


def memory_offset(spec, state: MachineState, params: dict) -> int:
    vm = spec.virtualization
    if vm is None or vm.memory_offset is None:
        return 0
    return eval_pure(spec, state, vm.memory_offset, params)


def relocated_regs(spec, state: MachineState, params: dict) -> dict:
    return _relocated(spec, state, params, banks=True)


def _relocated(spec, state: MachineState, params: dict, banks: bool) -> dict:
    regs = dict(state.regs)
    for reg, pe in spec.virtualization.relocate.items():
        regs[reg] = eval_pure(spec, state, pe, params)
    return exchange(regs, moves(spec, state.regs, regs)) if banks else regs


def placed_regs(spec, state: MachineState, params: dict, guest_mode: str) -> dict:
    """The real registers for guest state ``state`` (memory aside)."""
    vm = spec.virtualization
    regs = _relocated(spec, state, params, banks=False)
    rel = MachineState(regs, state.files, state.mem, state.mem_default, state.backing)
    out = dict(regs)
    for reg, pe in vm.shadow.items():
        out[reg] = eval_pure(spec, rel, pe, params)
    out["mode"] = spec.modes[vm.modes[guest_mode]]
    return exchange(out, moves(spec, state.regs, out))


def view_back(spec, guest: MachineState, placed: MachineState, result: MachineState) -> MachineState:
    """The guest's view of ``result``, a run from ``placed`` (guest state ``guest`` placed,
    relocated, or put in another mode), memory aside: its banked registers' copies exchanged
    back (vverify.spec.banks)."""
    pairs = moves(spec, guest.regs, placed.regs)
    if not pairs:
        return result
    out = result.copy()
    out.regs = exchange(result.regs, pairs)
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
