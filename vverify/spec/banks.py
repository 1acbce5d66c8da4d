"""Banked registers under a placement: the guest's current copy goes where the real machine looks.

A banked register (``[state.banked]``, :class:`~vverify.spec.model.Bank`) has one copy of storage
per group of values of a control field, usually the mode: ARM's SP is SP_usr in User mode and
SP_svc in Supervisor mode.  A VMM that runs a guest's supervisor code in real user mode must
therefore move the guest's copies: while the guest believes it runs in svc, the real SP_usr
(the copy the real machine reaches) holds the guest's SP_svc.  That is what a trap-and-emulate
VMM for ARM does on every change of the guest's mode, and it is part of the placement here:

* placing a guest state whose field selects copy *g* onto a real state whose field selects copy
  *r* exchanges the contents of *g* and *r* (when they differ);
* the guest's view of a real state is the same exchange again (an exchange undoes itself).

So the guest's current copy is in the real current copy, and the copy the real mode would
otherwise hold is kept where the guest's current copy was: nothing is lost, and the guest's
view is a function of the real state.  An instruction that reaches a copy by name (ARM's
LDM with ``^`` writes SP_usr from a supervisor mode) reaches the exchanged one when placed,
which is exactly why such instructions are sensitive.

The same exchange defines "two states that differ only in the mode" for the mode question:
the copies follow the mode.  The z3 classifier (vverify.formal.classify), the interpreter's
placement (vverify.interp.placement), the witness replay and the VMMs (which exchange the
copies in the real machine around its runs: vverify.vmm.registers.bank_pairs and the core's
run loop) all use this rule; docs/theory.md states it.
"""

from __future__ import annotations


def moves(spec, before: dict, after: dict) -> tuple:
    """The exchanges that carry banked registers from concrete registers ``before`` to ``after``
    (the same state with its control changed: placed, or in another mode): ``((a, b), ...)``, the
    two copies' register names, for each bank whose field selects another copy in ``after``."""
    out = []
    for b in spec.banks.values():
        a, c = b.register_for(b.selector(before)), b.register_for(b.selector(after))
        if a != c:
            out.append((a, c))
    return tuple(out)


def exchange(regs: dict, pairs) -> dict:
    """``regs`` with the contents of each pair of registers exchanged (a new dict)."""
    out = dict(regs)
    for a, b in pairs:
        out[a], out[b] = out[b], out[a]
    return out
