"""Shadow paging's hidden page faults, served in compiled code.

In the steady state of a shadow-paged guest most exits of the real core are
*hidden* page faults (vverify/vmm/shadow_paging.py): the guest's own walk
allows the access, the shadow lacks the entry, the VMM fills it and the
instruction runs again.  Served from Python, each is a return from the real
core's run loop, a composed view, three calls of the compiled walk and a few
dict operations.  :func:`make_serve_loop` builds one compiled function that
runs the real core and serves those faults itself, going back to Python only
for an exit it does not serve.  Trap-and-emulate calls it in place of the
real core's ``run`` (``TrapAndEmulate.direct``), so a hidden fault served
here costs no crossing.

It serves a fault only when the Python path (``ShadowPager.classify``) would
do exactly this and nothing else, which it can decide without the pager's
dicts:

* the fault is a page fault (an access fault goes to Python);
* the guest's walk (the spec's translation helper, the same compiled function
  the pager calls, on the guest's view composed as ``PlacedGuest.view_array``
  composes it) succeeds inside guest RAM;
* every frame the walk read is already traced (``TRACED``, the pager's
  bitmap of ``traced``): classify would trace nothing new;
* it is not a store to a traced frame (a traced write);
* the shadow loaded is the guest's view's (the caller checks the key before
  the call: direct execution cannot change the view, every write to
  ``satp``/``mstatus`` and every mode change traps) and a paged one; the
  pager has a free frame (else classify flushes); the shadow has a level-0
  table for the address's VPN[1] (read from the real root table: its entry
  is valid exactly when the pager's ``Shadow.l0`` has it, and then
  ``Shadow.src`` has it too, so classify's ``src`` update is a no-op);
* the shadow's entry there is empty (filling it changes no leaf the reverse
  map ``leaves`` holds), and the leaf the walks give serves the access.

The leaf's permissions are the pager's ``_perms``: one walk per access kind,
the faulting one reused.  Counters move as the Python path moves them
(``walk_refs`` for the faulting walk only, ``hidden_faults``, the trap and
the exit); each fill is logged as ``(guest frame, host word)`` in ``LOG`` so
that the pager adds it to ``leaves`` (:meth:`ShadowPager.drain_fills`)
before Python reads that map again.  Everything else (true faults, traced
writes, new traces, new level-0 tables, flushes) returns to Python with the
state untouched, and the Python path serves it as before.  The Python path
is the reference: tests/vmm/test_shadow_paging_compiled.py compares them.
"""

from __future__ import annotations

import numpy as np

from ..core.closures import cached
from ..core.jit import njit
from ..core.protocol import R_TRAP, ST_BUDGET, ST_CAUSE, ST_STEPS, ST_TRAP_EXITS, ST_TVAL
from .registers import compose_view

RAN_OUT = -1  # the budget ended on a served fault
LOG_FULL = -2  # the fill log is full: Python drains it and calls again

# the slots of the scalar array
STEPS, SERVED, WALK_REFS, FILLS = range(4)

PAGE_SHIFT = 12
V, R, W, X, U, A, D = 1, 2, 4, 8, 16, 64, 128


def make_serve_loop(layout, run, translate, order, acc_consts, acc_of_cause, ram: int, store_acc: int,
                    fetch_acc: int, load_acc: int):
    """The compiled loop (see the module docstring).

    ``run`` is the host core's compiled run loop (``Core.kernels()[0]``), ``translate`` the spec's
    compiled translation helper (``CompiledHelper.function``), ``order`` where ``(address, access,
    privilege)`` go among its parameters, ``acc_consts`` the spec's value of each access kind (by the
    pager's ACC_FETCH, ACC_LOAD, ACC_STORE), ``acc_of_cause`` the access kind of each cause index that
    is a page fault (-1 for every other cause), ``ram`` guest RAM in bytes."""
    st = layout.st_base
    all_traps = np.uint64((1 << len(acc_of_cause)) - 1)
    i0, i1, i2 = order
    ACC = np.array(acc_consts, dtype=np.uint64)
    ACC_OF = np.array(acc_of_cause, dtype=np.int64)
    RAM = np.uint64(ram)
    NEED = np.array([X if k == fetch_acc else R if k == load_acc else W for k in range(3)], dtype=np.uint64)
    BIT_ORDER = np.array([load_acc, store_acc, fetch_acc], dtype=np.int64)  # _perms's order: R, W, X
    BITS = np.array([R, W, X], dtype=np.uint64)
    STORE = store_acc
    SH, S22, T10, M10 = np.uint64(PAGE_SHIFT), np.uint64(22), np.uint64(10), np.uint64(0x3FF)  # unsigned: numba
    UV, URX, LEAF, NOT_W = np.uint64(V), np.uint64(R | X), np.uint64(V | U | A | D), ~np.uint64(W)  # mixes no signs

    @njit
    def guest_walk(E, GMEM, READS, va, acc, priv):
        """The guest's walk: ``(exc, pa, refs)`` as ShadowPager.walk calls the helper."""
        args = (np.uint64(va), ACC[acc], np.uint64(priv))
        exc, _, pa, refs = translate(E, GMEM, READS, args[i0], args[i1], args[i2])
        return exc, pa, refs

    @njit
    def serve_hidden(E, GMEM, READS, TRACED, W32, root, va, acc, priv):
        """Fill the shadow entry for this fault if the Python path would do just that: the guest frame
        mapped (>= 0), with the host word filled in ``W32[word]`` and the faulting walk's PTE reads;
        ``(-1, 0, 0)`` when Python must serve it (then nothing has changed)."""
        va = np.uint64(va)
        exc, pa, refs = guest_walk(E, GMEM, READS, va, acc, priv)
        if exc >= 0 or pa >= RAM:
            return -1, 0, 0
        for k in range(refs):
            t = np.int64(READS[2 * k] >> SH)
            if t >= TRACED.shape[0] or TRACED[t] == 0:  # classify would trace a new table
                return -1, 0, 0
        frame = np.int64(pa >> SH)
        if acc == STORE and TRACED[frame] != 0:  # a traced write
            return -1, 0, 0
        vpn1 = np.int64(va >> S22)
        top = np.uint64(W32[root * 1024 + vpn1])
        if top & UV == 0:  # no level-0 table yet: classify allocates one
            return -1, 0, 0
        word = np.int64(top >> T10) * 1024 + np.int64((va >> SH) & M10)
        if W32[word] != 0:  # an entry already there: classify rewrites a leaf ``leaves`` holds
            return -1, 0, 0
        perms = np.uint64(0)
        for j in range(3):
            k = BIT_ORDER[j]
            if k == acc:
                ok = True
                to = frame
            else:
                e2, pa2, _ = guest_walk(E, GMEM, READS, va, k, priv)
                ok = e2 < 0
                to = np.int64(pa2 >> SH)
            if ok and to == frame:
                perms |= BITS[j]
        if TRACED[frame] != 0:
            perms &= NOT_W
        if perms & URX == 0 or perms & NEED[acc] == 0:  # classify would fail loudly: let it
            return -1, 0, 0
        W32[word] = np.uint32((np.uint64(frame) << T10) | perms | LEAF)
        return frame, word, refs

    @njit
    def serve_loop(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, TRACED, W32, LOG, root, priv, budget, scalars, traps):
        """Run the real core until an exit this loop does not serve, the budget ends on a served fault
        (RAN_OUT) or LOG fills (LOG_FULL).  Otherwise returns the core's reason code, with the exit's
        steps, cause and value left in R_'s status slots as the core left them.  ``scalars``: the steps
        run before the served faults, the faults served, their walks' PTE reads, the fills logged."""
        scalars[:] = 0
        traps[:] = 0
        steps = np.int64(0)
        saved_budget = R_[st + ST_BUDGET]
        saved_mask = R_[st + ST_TRAP_EXITS]
        cap = LOG.shape[0]
        outcome = np.int64(RAN_OUT)
        while steps < budget:
            if scalars[FILLS] >= cap:
                outcome = np.int64(LOG_FULL)
                break
            R_[st + ST_BUDGET] = np.uint64(budget - steps)
            R_[st + ST_TRAP_EXITS] = all_traps
            reason = run(R_, MEM, DECF)
            if reason != R_TRAP:
                outcome = np.int64(reason)
                break
            cause = np.int64(R_[st + ST_CAUSE])
            acc = ACC_OF[cause]
            if acc < 0:
                outcome = np.int64(reason)
                break
            compose_view(E, R_, V_, DM, CM, n_regs, st)
            frame, word, refs = serve_hidden(E, GMEM, READS, TRACED, W32, root, R_[st + ST_TVAL], acc, priv)
            if frame < 0:
                outcome = np.int64(reason)
                break
            n = scalars[FILLS]
            LOG[n, 0] = frame
            LOG[n, 1] = word
            scalars[FILLS] = n + 1
            steps += np.int64(R_[st + ST_STEPS])
            scalars[SERVED] += 1
            scalars[WALK_REFS] += refs
            traps[cause] += 1
        R_[st + ST_BUDGET] = saved_budget
        R_[st + ST_TRAP_EXITS] = saved_mask
        scalars[STEPS] = steps
        return outcome

    return serve_loop


def serve_loop_for(pager):
    """The compiled loop for ``pager``'s guest (made once per spec), or None where it cannot be built:
    the host core's kernels are not handed out (plain-Python build), or the walk is not compiled."""
    from .shadow_paging import ACC_FETCH, ACC_LOAD, ACC_STORE, FAULT_ACCESS, PAGE_FAULTS

    host = pager.g.core
    kernels = host.kernels()
    translate = pager._translate
    if kernels is None or not hasattr(translate, "py_func"):
        return None
    spec = host.spec
    names = host.cause_names
    acc_of = tuple(FAULT_ACCESS[c] if c in PAGE_FAULTS else -1 for c in names)
    order = tuple(pager._order) if pager._order is not None else (0, 1, 2)
    # the helper's parameter k takes args[order[k]] of (address, access, privilege)
    return spec.memo(("shadow_serve_loop", order), lambda s: cached(s, "shadow_serve", make_serve_loop(
        host.layout, kernels[0], translate, order, pager._acc, acc_of, pager.ram,
        ACC_STORE, ACC_FETCH, ACC_LOAD)))


__all__ = ["LOG_FULL", "RAN_OUT", "make_serve_loop", "serve_loop_for"]
