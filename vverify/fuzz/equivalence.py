"""Popek & Goldberg's three properties, checked by running a guest two ways.

* **equivalence**: the guest's final view (registers, files, memory), the
  exit, and the sequence of traps delivered to the guest are the same under
  the technique as on bare metal (``native``);
* **resource control**: after the run, the real control state is exactly
  what the VMM derives from the guest's virtual state (the guest never set
  real control state itself), and the guest's memory is its own allocation
  (each guest runs in a core of its own: the VMM maps nothing else);
* **efficiency**: the fraction of guest instructions that ran directly.

When runs differ, :func:`culprit` replays both a step at a time and names
the first instruction after which the guest's views part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import Core
from ..interp import LeaveGuest, Trap, fetch
from ..spec.decode import decode
from ..interp.placement import placed_regs
from ..spec.units import unit_id
from ..context import context_of
from ..vmm import VMM, Native

def core_for(spec, slot: str) -> Core:
    """A reusable core per spec and role (see :meth:`vverify.context.SpecContext.core`)."""
    return context_of(spec).core(slot)


def core_problem(spec) -> str:
    """Why the core cannot run ``spec``, or "" (see :meth:`vverify.context.SpecContext.core_problem`)."""
    return context_of(spec).core_problem()


def make_vmm(spec, technique: str, guest, translate=None, slot="vmm", params=None, code=None):
    """A VMM of ``technique`` for ``guest`` (see :meth:`vverify.context.SpecContext.make_vmm`)."""
    return context_of(spec).make_vmm(technique, guest, translate, slot, params, code)


@dataclass
class Comparison:
    equal: bool
    differences: list = field(default_factory=list)
    native_exit: object = None
    vmm_exit: object = None
    counters: dict = field(default_factory=dict)
    direct_fraction: float = 0.0
    resource_violations: list = field(default_factory=list)


def stop_causes(spec) -> frozenset:
    """Traps that end a run instead of reaching the guest (see :meth:`vverify.context.SpecContext.stop_causes`)."""
    return context_of(spec).stop_causes()


def compare_views(spec, a_vmm, b_vmm, a_exit, b_exit, b_registers=None) -> list:
    """How the guest's views after the two runs differ (empty: they are the same).  ``b_registers``:
    ``b_vmm.guest_registers()`` where the caller has it already."""
    diffs = []
    if (a_exit.reason, a_exit.steps, a_exit.cause) != (b_exit.reason, b_exit.steps, b_exit.cause):
        diffs.append(f"exit: native {a_exit.reason}/{a_exit.steps} steps, virtualized {b_exit.reason}/{b_exit.steps} steps")
    if a_exit.trace != b_exit.trace:
        diffs.append(f"traps delivered: native {list(a_exit.trace)}, virtualized {list(b_exit.trace)}")
    (ar, af), (br, bf) = a_vmm.guest_registers(), (b_registers or b_vmm.guest_registers())
    for n in spec.registers:
        if ar[n] != br[n]:
            diffs.append(f"{n}: native {ar[n]:#x}, virtualized {br[n]:#x}")
    for n in spec.files:
        if af[n] != bf[n]:
            idx = [i for i, (x, y) in enumerate(zip(af[n], bf[n])) if x != y]
            diffs.append(f"{n}[{idx[0]}]: native {af[n][idx[0]]:#x}, virtualized {bf[n][idx[0]]:#x}")
    ma, mb = a_vmm.guest_memory(), b_vmm.guest_memory()
    if not _same_memory(ma, mb):
        where = int(np.nonzero(ma != mb)[0][0])
        diffs.append(f"memory[{where:#x}]: native {int(ma[where]):#x}, virtualized {int(mb[where]):#x}")
    return diffs


def _same_memory(a, b) -> bool:
    """``np.array_equal(a, b)``; where both are integer arrays of one dtype and shape (two cores of one spec),
    as a comparison of their bytes, which costs half as much on a fuzzed program's 64 KiB."""
    if (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and a.dtype.kind in "ui"
            and a.shape == b.shape):
        return a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def resource_violations(spec, vmm, view=None) -> list:
    """Real control state that is not what the map derives from the virtual state.  ``view``: the
    placed guest's ``view()``, where the caller has it already."""
    g = getattr(vmm, "g", None)
    if g is None:
        return []
    view = view or g.view()
    want = placed_regs(spec, view, g.params, spec.mode_name(g.virtual["mode"]))
    real, index = g.core.R.tolist(), g.core.layout.reg_index
    owned = getattr(g, "owned", ())  # set by the VMM itself (a shadow pager's satp), which checks them
    out = [] if not owned else list(g.owned_violations())
    for n, r in spec.registers.items():
        if r.control_mask and n not in owned and (real[index[n]] & r.control_mask) != (want[n] & r.control_mask):
            out.append(f"real {n} is {real[index[n]]:#x}; the map gives {want[n]:#x}")
    return out


def run_pair(spec, technique: str, guest, budget: int, translate=None, params=None, code=None) -> Comparison:
    stop = stop_causes(spec)
    native = Native(spec, guest, core=core_for(spec, "native"))
    n_exit = native.run(budget, stop_on=stop)
    vmm = make_vmm(spec, technique, guest, translate, params=params, code=code)
    v_exit = vmm.run(budget, stop_on=stop)
    # a placed guest's view, once for both checks (what VMM.guest_registers gives, where a VMM keeps it)
    g = getattr(vmm, "g", None)
    view = g.view() if g is not None and type(vmm).guest_registers is VMM.guest_registers else None
    diffs = compare_views(spec, native, vmm, n_exit, v_exit, None if view is None else (view.regs, view.files))
    c = vmm.counters
    total = max(c.guest_instructions, 1)
    return Comparison(not diffs, diffs, n_exit, v_exit, c.as_dict(), c.direct / total,
                      resource_violations(spec, vmm, view))


def culprit(spec, technique: str, guest, budget: int, translate=None, params=None, code=None):
    """The first instruction after which the native and virtualized guests differ.

    Returns ``(unit id, guest mode name, pc, step index)``, or None when the
    runs never differ step by step.
    """
    stop = stop_causes(spec)
    native = Native(spec, guest, core=core_for(spec, "native-step"))
    vmm = make_vmm(spec, technique, guest, translate, slot="vmm-step", params=params, code=code)
    for i in range(budget):
        before = native.guest_state()
        a = native.run(1, stop_on=stop)
        b = vmm.run(1, stop_on=stop)
        if compare_views(spec, native, vmm, a, b):
            try:
                _, word = fetch(spec, before)
                d = decode(spec, word)
            except (Trap, LeaveGuest):
                d = None
            uid = unit_id(spec, *d) if d else "(instruction fetch)"
            return uid, spec.mode_name(before.regs["mode"]), before.regs["pc"], i
        if a.reason != "budget":
            return None
    return None
