"""Shadow paging's hidden page faults, traced writes and trapped instructions, served in compiled code.

In the steady state of a shadow-paged guest most exits of the real core are
*hidden* page faults and *traced writes* (vverify/vmm/shadow_paging.py): a
fault the shadow lacked an entry for, or a store to a guest page table the
shadow maps read-only.  Served from Python, each is a return from the real
core's run loop, a composed view, compiled walks and a few dict operations,
and for a traced write the interpreter routines' run and the drop of the
shadow entries made from the word stored.  :func:`make_serve_loop` builds one
compiled function that runs the real core and serves those events itself,
going back to Python only for an exit it does not serve.  Trap-and-emulate
calls it in place of the real core's ``run`` (``TrapAndEmulate.direct``),
so an event served here costs no crossing.

It serves an event only when the Python path (``ShadowPager.classify`` and,
for a traced write, ``TrapAndEmulate.emulate``) would do exactly the same,
which it decides from arrays the pager keeps beside its dicts.  Both kinds
need:

* the fault is a page fault (an access fault goes to Python);
* the guest's walk (the spec's translation helper, the same compiled function
  the pager calls, on the guest's view composed as ``PlacedGuest.view_array``
  composes it) succeeds inside guest RAM;
* every frame the walk read is already traced (``TRACED``, the pager's
  bitmap of ``traced``): classify would trace nothing new;
* the shadow loaded is the guest's view's (the caller checks the key before
  the call: direct execution cannot change the view, every write to
  ``satp``/``mstatus`` and every mode change traps), a paged one or the
  identity (not guest M-mode with MPRV, whose loads and stores classify
  walks at another privilege), and the pager has a free frame (else
  classify flushes).

A **hidden fault** (not a store to a traced frame; in a paged view only,
the identity view being filled whole when it is made) is filled here when
besides the shadow has a level-0 table for the address's VPN[1] (read from
the real root table: its entry is valid exactly when the pager's
``Shadow.l0`` has it, and then ``Shadow.src`` has it too, so classify's
``src`` update is a no-op), the shadow's entry there is empty (filling it
changes no leaf the reverse map ``leaves`` holds), and the leaf the walks
give serves the access.  The leaf's permissions are the pager's ``_perms``:
one walk per access kind, the faulting one reused.

A **traced write** (a store to a traced frame, in either kind of view: the
guest library's kernel writes its tables from M-mode) is served here when besides
the word stored is no entry of a paged shadow's root table that has a
level-0 table (``pte_written`` would drop that table: Python), and the log
has room for every leaf the write drops.  The loop then does what
``TrapAndEmulate.emulate`` does: forgets the routines' decoded code at the
instruction's fetch address (``ShadowPager.emulating``: the guest's fetch
walk), runs the interpreter routines' core on the guest's view for one
instruction (``Emulator.run``), and, where that run completed one
instruction, left ``satp``, ``mstatus`` and the mode as they were (the
shadow loaded stays the view's) and stored into the traced word only (its
store log, as ``Core.stores_since`` reads it), writes the view back and
places the guest again (``PlacedGuest.write_back``: the compiled map, the
real ``satp`` the shadow's root) and, per store, does ``word_written``: the
host core's decoded code at the word is forgotten (``Core.invalidate``) and
every shadow entry made from the word is dropped.  Which those are is the
pager's reverse map kept as arrays: per shadow (``SROOT``, ``GROOT``, its
slot), the guest level-0 frame each VPN[1] was filled from (``SRC``, the
dict ``Shadow.src``); an entry is made from word ``index`` of guest frame
``f`` where ``SRC[slot, vpn1] == f``.  Where the run ended any other way
(a trap, a store elsewhere, a register of the view's key changed: none of
them happens to a correct pager's guest, a planted defect can make them) the
loop returns ``RESUME`` and Python finishes the emulation from the run's
result (``TrapAndEmulate._resume_emulation``), so the result is still exactly
the Python path's.

A **trapped instruction** that is no memory fault (classify's "other": the
deprivileged kernel's CSR accesses, ``sret``/``mret``, ``ecall``...) and a
**true fault** (classify's "true": the guest's own walk faults, and the
routines deliver the fault to the guest) are emulated here too, where the
Python path (``TrapAndEmulate.emulate``) would do the same and the result
keeps the view.  Each used to cost a crossing (syscall's kernel makes ten
per operation), though the cycle is the traced write's without its store:
the fetch walk and the routines' decoded code forgotten there, the
routines' run on the view, the write-back and the placement with the
view's root.  Where the routines' run raised a trap (a true fault raises
the guest's), it is reflected to the guest's handler as ``Emulator.run``
does: the spec's trap entry (the routines' core's compiled one) on the
view, the trap recorded in ``TC``/``TP`` and counted by cause for Python to
add to the VMM's ``trace`` and ``reflected`` as the loop returns (a full
buffer is a return, as a full ``LOG``).  The loop finishes it only where
the routines stored nothing (their code-write generation did not move:
``ShadowPager.emulated`` has nothing to do), the run completed one
instruction or raised a trap outside ``stop_on`` that the trap entry
entered without a fault, and the result left the view's key as it was:
``satp`` and the mode unchanged, and ``mstatus``'s SUM, MXR and MPRV, with
MPP too where MPRV is set (the bits ``ShadowPager.view_key`` reads; a
stricter test than the key itself: a mode change that keeps the key, as
between M and U with ``satp`` Bare, goes to Python, since the loop walks
at the mode it was called with).  Otherwise (a trap in ``stop_on``, a
store, a double fault, a view changed: an ``sstatus`` write of SUM, a
``satp`` write, ``mret`` to another mode, an ecall from U entering M) the
loop hands it back as it hands back a traced write: RESUME, the view in
the routines' registers as their run (and the trap entry, if it ran: its
result is handed back too, ``Emulator.run(entered=...)``) left it, and
Python finishes the emulation from there, one crossing as before.
``sfence.vma`` is served like any CSR access: the model caches no
translation and the pager keeps every shadow exact at every traced write,
so the Python path only emulates it (a no-op on the view) too.

Counters move as the Python path moves them (the trap and its exit; a
hidden fault's ``hidden_faults`` and its faulting walk's ``walk_refs``; a
traced write's ``walk_refs``, ``traced_writes`` and ``emulated``; another
trapped instruction's ``emulated``, classify walking nothing for it; a
true fault's ``walk_refs``, ``true_faults``, ``emulated`` and ``reflected``).  Every
change the loop makes to the reverse map ``leaves`` (a fill adds a leaf, a
dropped entry discards one) is logged in ``LOG`` in order, and the pager
makes them (:meth:`ShadowPager.drain_fills`) before Python reads that map
again.  Everything else (true faults, new traces, new level-0 tables,
flushes, a traced write to a root table) returns to Python with the state
untouched, and the Python path serves it as before.  The Python path is the
reference: tests/vmm/test_shadow_paging_compiled.py compares them.  The
planted ``missed_invalidation`` (shadow_paging.DEFECTS) is repeated here
(``MISSED_INVALIDATION``), and can be planted here alone
(``ShadowPager.loop_defect``) for the fuzzer's quality tests.
"""

from __future__ import annotations

import numpy as np

from ..core.closures import cached
from ..core.codegen import STORE_LOG, STORE_LOG_UNITS
from ..core.jit import njit
from ..core.protocol import R_BUDGET, R_TRAP, ST_BUDGET, ST_CAUSE, ST_STEPS, ST_TRAP_EXITS, ST_TVAL
from .registers import bank_table, compose_view, place_real, write_view_back

RAN_OUT = -1  # the budget ended on a served event
LOG_FULL = -2  # the log of changes to ``leaves`` (or of reflected traps) is full: Python drains it and calls again
RESUME = -3  # an emulation begun but not finished: Python finishes it (TrapAndEmulate._resume_emulation)

# the slots of the scalar array: guest steps (direct + emulated), steps run directly, steps emulated,
# hidden faults served, traced writes served, their walks' PTE reads, rows of LOG in use; and for
# RESUME, the walk's PTE reads, the store's guest physical address (-1: not a traced write, a trapped
# instruction), the routines' code-write generation before the emulation and the reason code their run
# returned (the BACK_ slots: what Python needs to finish an emulation handed back); then the trapped
# instructions emulated (other than traced writes) and finished here
(STEPS, DIRECT, EMULATED, HIDDEN, TRACED_W, WALK_REFS, LOGGED, BACK_REFS, BACK_PA, BACK_GEN, BACK_CODE,
 OTHER_E) = range(12)
# then true faults served (their reflection included), rows of TC/TP in use (reflected traps), and for
# RESUME, whether the trap entry already ran on the view (1) with the next pc and ok it gave
TRUE_F, TRACED_N, BACK_ENTERED, BACK_NEXT, BACK_OK = range(12, 17)
N_SCALARS = 17

# the loop's flags (ShadowPager.compiled_view)
SERVE_TRACED = 1  # serve traced writes
SERVE_HIDDEN = 8  # serve hidden faults (a paged view: the identity view is filled whole when it is made)
RESUME_TRACED = 2  # tests: hand every traced write back to Python after emulating it
MISSED_INVALIDATION = 4  # the planted defect (shadow_paging.DEFECTS): a traced write drops no shadow entry
SERVE_EMULATE = 16  # emulate the other trapped instructions (privileged ones, ecall...) that keep the view
RESUME_EMULATE = 32  # tests: hand every such emulation back to Python after the routines' run

SERVED, BAIL = 0, 1  # what serve_traced did (or RESUME)

PAGE_SHIFT = 12
V, R, W, X, U, A, D = 1, 2, 4, 8, 16, 64, 128
LOG_ADD, LOG_DISCARD = 1, 0  # as ShadowPager's
UNLOGGED = (1 << 64) - 1  # a store-log entry for a write the run loop did not make (vverify.core.machine)
SUM_B, MXR_B, MPRV_B, MPP_B = 1 << 18, 1 << 19, 1 << 17, 3 << 11  # mstatus's bits the pager keys views on


def make_serve_loop(layout, run, translate, order, acc_consts, acc_of_cause, ram: int, store_acc: int,
                    fetch_acc: int, load_acc: int, routines_layout, routines_run, map_place, banks, regs,
                    max_ilen: int, other_of_cause=None, routines_entry=None, tval_width: int = 0):
    """The compiled loop (see the module docstring).

    ``run`` is the host core's compiled run loop (``Core.kernels()[0]``), ``translate`` the spec's
    compiled translation helper (``CompiledHelper.function``), ``order`` where ``(address, access,
    privilege)`` go among its parameters, ``acc_consts`` the spec's value of each access kind (by the
    pager's ACC_FETCH, ACC_LOAD, ACC_STORE), ``acc_of_cause`` the access kind of each cause index that
    is a page fault (-1 for every other cause), ``ram`` guest RAM in bytes.  For traced writes:
    ``routines_run`` is the interpreter routines' core's run loop (its layout ``routines_layout``),
    ``map_place`` the host's compiled map (``CompiledMap.kernel()``), ``banks`` the spec's bank table
    (vverify.vmm.registers.bank_table), ``regs`` the indexes of ``(pc, satp, mstatus, mode)`` in a
    register array, ``max_ilen`` the spec's longest instruction in memory units.  ``other_of_cause``:
    1 for each cause index classify calls "other" (no memory fault: the instruction is emulated), else
    0; None serves none of them.  ``routines_entry``: the routines' core's compiled trap entry
    (``Core.kernels()[1]``), for the traps it reflects (None: it reflects none), ``tval_width`` the
    spec's trap-value width."""
    st = layout.st_base
    all_traps = np.uint64((1 << len(acc_of_cause)) - 1)
    i0, i1, i2 = order
    ACC = np.array(acc_consts, dtype=np.uint64)
    ACC_OF = np.array(acc_of_cause, dtype=np.int64)
    RAM = np.uint64(ram)
    NEED = np.array([X if k == fetch_acc else R if k == load_acc else W for k in range(3)], dtype=np.uint64)
    BIT_ORDER = np.array([load_acc, store_acc, fetch_acc], dtype=np.int64)  # _perms's order: R, W, X
    BITS = np.array([R, W, X], dtype=np.uint64)
    STORE, FETCH = store_acc, fetch_acc
    SH, S22, T10, M10 = np.uint64(PAGE_SHIFT), np.uint64(22), np.uint64(10), np.uint64(0x3FF)  # unsigned: numba
    UV, URX, LEAF, NOT_W = np.uint64(V), np.uint64(R | X), np.uint64(V | U | A | D), ~np.uint64(W)  # mixes no signs
    PCI, SATP, MSTATUS, MODE = regs
    BT, BB = banks, layout.bank_base
    HW, HGEN, HLOG = layout.row_width, layout.code_gen, layout.store_log  # the host core's decoded code
    RW, RGEN, RLOG = routines_layout.row_width, routines_layout.code_gen, routines_layout.store_log
    BACK = max_ilen - 1
    LOG_SLOTS = np.uint64(STORE_LOG)
    LOG_MASK = np.uint64(STORE_LOG - 1)  # unsigned, for the host's generation
    FIRST_MASK = np.uint64((1 << STORE_LOG_UNITS) - 1)
    UNITS_SHIFT = np.uint64(STORE_LOG_UNITS)
    NOT_LOGGED = np.uint64(UNLOGGED)
    OTHER = np.zeros(len(acc_of_cause), dtype=np.int64) if other_of_cause is None \
        else np.array(other_of_cause, dtype=np.int64)
    KEY_BITS, MPRV_BIT, MPP_BITS = np.uint64(SUM_B | MXR_B | MPRV_B), np.uint64(MPRV_B), np.uint64(MPP_B)
    REFLECT = routines_entry is not None

    @njit
    def no_entry(E, MEM, DECF, pc, cause, tval):
        """In place of the trap entry where none is given (REFLECT False: never called)."""
        return pc, False

    entry = routines_entry if REFLECT else no_entry
    CC = routines_layout.cc_base
    TVAL_MASK = np.uint64((1 << tval_width) - 1)

    @njit
    def keeps_view(EM, E):
        """Whether the routines' result ``EM`` has the view key of ``E`` (see the module docstring)."""
        ms = EM[MSTATUS]
        keyed = KEY_BITS | (MPP_BITS if ms & MPRV_BIT != 0 else np.uint64(0))
        return EM[SATP] == E[SATP] and EM[MODE] == E[MODE] and (ms ^ E[MSTATUS]) & keyed == 0

    @njit
    def guest_walk(E, GMEM, READS, va, acc, priv):
        """The guest's walk: ``(exc, pa, refs)`` as ShadowPager.walk calls the helper."""
        args = (np.uint64(va), ACC[acc], np.uint64(priv))
        exc, _, pa, refs = translate(E, GMEM, READS, args[i0], args[i1], args[i2])
        return exc, pa, refs

    @njit
    def fault_walk(E, GMEM, READS, TRACED, va, acc, priv):
        """``(pa, refs)``: the faulting access's guest walk, its PTE reads, and the guest physical
        address it reaches, or -2 where classify would find a true fault (the guest's walk faults), -1
        where it would trace a new table."""
        exc, pa, refs = guest_walk(E, GMEM, READS, va, acc, priv)
        if exc >= 0 or pa >= RAM:
            return np.int64(-2), refs
        for k in range(refs):
            t = np.int64(READS[2 * k] >> SH)
            if t >= TRACED.shape[0] or TRACED[t] == 0:  # classify would trace a new table
                return np.int64(-1), refs
        return np.int64(pa), refs

    @njit
    def serve_hidden(E, GMEM, READS, TRACED, W32, root, va, acc, priv, pa):
        """Fill the shadow entry for this fault (the walk reached ``pa``) if the Python path would do
        just that: the guest frame mapped (>= 0), with the host word filled in ``W32[word]``;
        ``(-1, 0)`` when Python must serve it (then nothing has changed)."""
        va = np.uint64(va)
        frame = pa >> PAGE_SHIFT
        vpn1 = np.int64(va >> S22)
        top = np.uint64(W32[root * 1024 + vpn1])
        if top & UV == 0:  # no level-0 table yet: classify allocates one
            return -1, 0
        word = np.int64(top >> T10) * 1024 + np.int64((va >> SH) & M10)
        if W32[word] != 0:  # an entry already there: classify rewrites a leaf ``leaves`` holds
            return -1, 0
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
            return -1, 0
        W32[word] = np.uint32((np.uint64(frame) << T10) | perms | LEAF)
        return frame, word

    @njit
    def drops(W32, SROOT, GROOT, SRC, frame, index, LOG, n):
        """ShadowPager.pte_written for word ``index`` of guest frame ``frame``: with ``LOG`` None,
        only the number of leaves it would discard from ``leaves``, or -1 where it would drop a
        level-0 table (Python must); else it drops the entries, logs the discards from row ``n`` on
        and returns the rows in use after them."""
        for s in range(SROOT.shape[0]):
            g = GROOT[s]
            if g < 0:  # no shadow in this slot, or the identity view's
                continue
            base = SROOT[s] * 1024
            if g == frame and np.uint64(W32[base + index]) & UV != 0:  # a root entry with a level-0 table
                return np.int64(-1)
            for vpn1 in range(1024):
                if SRC[s, vpn1] != frame:
                    continue
                top = np.uint64(W32[base + vpn1])
                if top & UV == 0:
                    continue
                w = np.int64(top >> T10) * 1024 + index
                pte = np.uint64(W32[w])
                if pte & UV != 0:
                    if LOG is not None:
                        LOG[n, 0] = LOG_DISCARD
                        LOG[n, 1] = np.int64(pte >> T10)
                        LOG[n, 2] = w
                        LOG[n, 3] = s
                    n += 1
                if LOG is not None:
                    W32[w] = 0
        return np.int64(n)

    @njit
    def stored_words(RDECF, gen, now, word):
        """How many guest words the routines stored since generation ``gen``, as
        ``ShadowPager.emulated`` goes through them (``Core.stores_since``), where every store is
        known and wrote into the guest word at ``word`` only; -1 otherwise."""
        if now - gen > LOG_SLOTS:
            return -1
        count = 0
        for g in range(np.int64(gen) + 1, np.int64(now) + 1):
            entry = RDECF[RLOG + (g & (STORE_LOG - 1))]
            if entry == NOT_LOGGED:
                return -1
            first = np.int64(entry & FIRST_MASK)
            units = np.int64(entry >> UNITS_SHIFT)
            for pa in range(first & ~3, first + units, 4):
                if pa != word:
                    return -1
                count += 1
        return count

    @njit
    def serve_traced(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, W32, LOG, EM, RDECF, P, PM, PV,
                     SROOT, GROOT, SRC, pa, satp, priv, flags, scalars):
        """The traced write of a store that reached guest physical ``pa`` (see the module docstring):
        SERVED; BAIL where Python must serve it from the start (nothing has changed); or RESUME where
        the routines ran and Python must finish (``scalars[BACK_GEN]``, ``scalars[BACK_CODE]`` set)."""
        word = pa & ~3
        frame = word >> PAGE_SHIFT
        index = (word >> 2) & 0x3FF
        missed = flags & MISSED_INVALIDATION != 0
        n = scalars[LOGGED]
        if not missed:
            need = drops(W32, SROOT, GROOT, SRC, frame, index, None, 0)
            if need < 0 or n + need > LOG.shape[0]:
                return BAIL
        # ShadowPager.emulating: forget what the routines decoded at the instruction's fetch address
        exc, fpa, _ = guest_walk(E, GMEM, READS, E[PCI], FETCH, priv)
        if exc < 0 and fpa < RAM:
            at = np.int64(fpa)
            for u in range(max(at - BACK, 0), at + 1):
                RDECF[u * RW] = 0
        gen = RDECF[RGEN]
        # Emulator.run: the routines, one instruction on the guest's view
        compose_view(EM, R_, V_, DM, CM, n_regs, st)
        code = routines_run(EM, GMEM, RDECF)
        now = RDECF[RGEN]
        words = stored_words(RDECF, gen, now, word)
        if (code != R_BUDGET or EM[st + ST_STEPS] != 1 or flags & RESUME_TRACED != 0 or words < 0
                or EM[SATP] != E[SATP] or EM[MSTATUS] != E[MSTATUS] or EM[MODE] != E[MODE]):
            scalars[BACK_GEN] = np.int64(gen)
            scalars[BACK_CODE] = np.int64(code)
            scalars[BACK_PA] = pa
            return RESUME
        # Emulator.store: the view written back, the guest placed again (PlacedGuest.write_back), the
        # real satp the root of the view's shadow, as before (ShadowPlacedGuest.place)
        write_view_back(R_, EM, V_, DM, CM, n_regs, st)
        compose_view(E, R_, V_, DM, CM, n_regs, st)
        map_place(E, MEM, DECF, P, PV)
        place_real(R_, V_, PM, PV, DM, CM, n_regs, BT, BB)
        R_[SATP] = satp
        # ShadowPager.emulated: per word stored (each the traced word), word_written
        for _ in range(words):
            for u in range(max(word - 3, 0), word + 4):  # Core.invalidate on the host
                DECF[u * HW] = 0
            DECF[HGEN] += np.uint64(1)
            DECF[HLOG + np.int64(DECF[HGEN] & LOG_MASK)] = NOT_LOGGED
            if not missed:
                n = drops(W32, SROOT, GROOT, SRC, frame, index, LOG, n)
        scalars[LOGGED] = n
        return SERVED

    @njit
    def serve_emulated(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, EM, RDECF, P, PM, PV, satp, priv, flags,
                       stop_mask, scalars):
        """An instruction the real core trapped on, emulated as ``TrapAndEmulate.emulate`` does it (the
        guest's view composed in ``E``): ``(SERVED, steps, cause reflected or -1, its pc)`` where the
        routines' run completed the instruction and stored nothing, or raised a trap that the spec's
        trap entry reflected to the guest without a store or a fault, and the result keeps the view's
        key; else ``(RESUME, ...)`` with ``scalars[BACK_GEN]``, ``scalars[BACK_CODE]`` and, where the trap
        entry ran, ``scalars[BACK_ENTERED]``, ``BACK_NEXT``, ``BACK_OK`` set, the view in ``EM`` as they left
        it, nothing written back, and Python finishes it."""
        # ShadowPager.emulating: forget what the routines decoded at the instruction's fetch address
        exc, fpa, _ = guest_walk(E, GMEM, READS, E[PCI], FETCH, priv)
        if exc < 0 and fpa < RAM:
            at = np.int64(fpa)
            for u in range(max(at - BACK, 0), at + 1):
                RDECF[u * RW] = 0
        gen = RDECF[RGEN]
        # Emulator.run: the routines, one instruction on the guest's view
        compose_view(EM, R_, V_, DM, CM, n_regs, st)
        code = routines_run(EM, GMEM, RDECF)
        scalars[BACK_GEN] = np.int64(gen)
        scalars[BACK_CODE] = np.int64(code)
        scalars[BACK_PA] = -1
        scalars[BACK_ENTERED] = 0
        cause = np.int64(-1)
        pc = np.uint64(0)
        if flags & RESUME_EMULATE != 0 or RDECF[RGEN] != gen:
            return RESUME, 0, cause, pc
        if code == R_TRAP and REFLECT and EM[st + ST_STEPS] == 0:
            cause = np.int64(EM[st + ST_CAUSE])
            if (stop_mask >> np.uint64(cause)) & np.uint64(1) != 0:  # it ends the run: Python
                return RESUME, 0, cause, pc
            pc = EM[PCI]
            next_pc, ok = entry(EM, GMEM, RDECF, pc, EM[CC + cause], EM[st + ST_TVAL] & TVAL_MASK)
            if not ok or RDECF[RGEN] != gen or not keeps_view(EM, E):
                scalars[BACK_ENTERED] = 1
                scalars[BACK_NEXT] = np.int64(next_pc)
                scalars[BACK_OK] = 1 if ok else 0
                return RESUME, 0, cause, pc
            EM[PCI] = next_pc
        elif code != R_BUDGET or EM[st + ST_STEPS] != 1 or not keeps_view(EM, E):
            return RESUME, 0, cause, pc
        # Emulator.store, as for a traced write; ShadowPager.emulated has no store to go through
        write_view_back(R_, EM, V_, DM, CM, n_regs, st)
        compose_view(E, R_, V_, DM, CM, n_regs, st)
        map_place(E, MEM, DECF, P, PV)
        place_real(R_, V_, PM, PV, DM, CM, n_regs, BT, BB)
        R_[SATP] = satp
        return SERVED, 1, cause, pc

    @njit
    def serve_loop(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, TRACED, W32, LOG, EM, RDECF, P, PM, PV,
                   SROOT, GROOT, SRC, TC, TP, root, priv, slot, satp, flags, stop_mask, budget, scalars, traps,
                   reflected):
        """Run the real core until an exit this loop does not serve, the budget ends on a served event
        (RAN_OUT), LOG fills (LOG_FULL) or a traced write must be finished in Python (RESUME).
        Otherwise returns the core's reason code, with the exit's steps, cause and value left in R_'s
        status slots as the core left them (as they are for RESUME too).  ``scalars``: see its slots."""
        scalars[:] = 0
        traps[:] = 0
        reflected[:] = 0
        steps = np.int64(0)
        saved_budget = R_[st + ST_BUDGET]
        saved_mask = R_[st + ST_TRAP_EXITS]
        cap = LOG.shape[0]
        outcome = np.int64(RAN_OUT)
        while steps < budget:
            if scalars[LOGGED] >= cap or scalars[TRACED_N] >= TC.shape[0]:
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
                if OTHER[cause] == 0 or flags & SERVE_EMULATE == 0:
                    outcome = np.int64(reason)
                    break
                ran = np.int64(R_[st + ST_STEPS])
                compose_view(E, R_, V_, DM, CM, n_regs, st)
                done, n_em, exc, at = serve_emulated(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, EM, RDECF,
                                                     P, PM, PV, satp, priv, flags, stop_mask, scalars)
                if done == RESUME:
                    scalars[BACK_REFS] = 0
                    outcome = np.int64(RESUME)
                    break
                if exc >= 0:  # reflected to the guest's handler: recorded
                    k = scalars[TRACED_N]
                    TC[k] = exc
                    TP[k] = at
                    scalars[TRACED_N] = k + 1
                    reflected[exc] += 1
                scalars[EMULATED] += n_em
                scalars[OTHER_E] += 1
                scalars[DIRECT] += ran
                steps += ran + n_em
                traps[cause] += 1
                continue
            compose_view(E, R_, V_, DM, CM, n_regs, st)
            va = R_[st + ST_TVAL]
            pa, refs = fault_walk(E, GMEM, READS, TRACED, va, acc, priv)
            ran = np.int64(R_[st + ST_STEPS])
            if pa == -2 and REFLECT and flags & SERVE_EMULATE != 0:
                # a true fault: classify counts it and its walk, and the routines deliver it to the guest
                done, n_em, exc, at = serve_emulated(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, EM, RDECF,
                                                     P, PM, PV, satp, priv, flags, stop_mask, scalars)
                if done == RESUME:
                    scalars[BACK_REFS] = refs
                    scalars[BACK_PA] = -2
                    outcome = np.int64(RESUME)
                    break
                if exc >= 0:
                    k = scalars[TRACED_N]
                    TC[k] = exc
                    TP[k] = at
                    scalars[TRACED_N] = k + 1
                    reflected[exc] += 1
                scalars[EMULATED] += n_em
                scalars[TRUE_F] += 1
                scalars[DIRECT] += ran
                scalars[WALK_REFS] += refs
                steps += ran + n_em
                traps[cause] += 1
                continue
            if pa < 0:
                outcome = np.int64(reason)
                break
            if acc == STORE and TRACED[pa >> PAGE_SHIFT] != 0:  # a traced write
                if flags & SERVE_TRACED == 0:
                    outcome = np.int64(reason)
                    break
                done = serve_traced(R_, MEM, DECF, E, V_, DM, CM, n_regs, GMEM, READS, W32, LOG, EM, RDECF,
                                    P, PM, PV, SROOT, GROOT, SRC, pa, satp, priv, flags, scalars)
                if done == BAIL:
                    outcome = np.int64(reason)
                    break
                if done == RESUME:
                    scalars[BACK_REFS] = refs
                    outcome = np.int64(RESUME)
                    break
                scalars[EMULATED] += 1
                scalars[TRACED_W] += 1
                steps += ran + 1
            else:
                frame, word = -1, 0
                if flags & SERVE_HIDDEN != 0:
                    frame, word = serve_hidden(E, GMEM, READS, TRACED, W32, root, va, acc, priv, pa)
                if frame < 0:
                    outcome = np.int64(reason)
                    break
                n = scalars[LOGGED]
                LOG[n, 0] = LOG_ADD
                LOG[n, 1] = frame
                LOG[n, 2] = word
                LOG[n, 3] = slot
                scalars[LOGGED] = n + 1
                scalars[HIDDEN] += 1
                steps += ran
            scalars[DIRECT] += ran
            scalars[WALK_REFS] += refs
            traps[cause] += 1
        R_[st + ST_BUDGET] = saved_budget
        R_[st + ST_TRAP_EXITS] = saved_mask
        scalars[STEPS] = steps
        return outcome

    return serve_loop


def serve_loop_for(pager):
    """The compiled loop for ``pager``'s guest (made once per spec), or None where it cannot be built:
    the host core's or the routines' kernels are not handed out (plain-Python build), the walk or the
    map is not compiled."""
    from .shadow_paging import ACC_FETCH, ACC_LOAD, ACC_STORE, FAULT_ACCESS, PAGE_FAULTS

    host = pager.g.core
    routines = pager.g.routines
    kernels, rkernels = host.kernels(), routines.kernels()
    place = host.compiled_map().kernel()
    translate = pager._translate
    if kernels is None or rkernels is None or place is None or not hasattr(translate, "py_func"):
        return None
    spec = host.spec
    names = host.cause_names
    acc_of = tuple(FAULT_ACCESS[c] if c in PAGE_FAULTS else -1 for c in names)
    other_of = tuple(0 if c in FAULT_ACCESS else 1 for c in names)  # classify's "other"
    order = tuple(pager._order) if pager._order is not None else (0, 1, 2)
    lay = host.layout
    regs = tuple(lay.reg_index[r] for r in ("pc", "satp", "mstatus", "mode"))
    # the helper's parameter k takes args[order[k]] of (address, access, privilege)
    return spec.memo(("shadow_serve_loop", order), lambda s: cached(s, "shadow_serve", make_serve_loop(
        lay, kernels[0], translate, order, pager._acc, acc_of, pager.ram, ACC_STORE, ACC_FETCH, ACC_LOAD,
        routines.layout, rkernels[0], place, bank_table(s, lay), regs, pager.g.guest_spec.max_ilen_units,
        other_of, rkernels[1], pager.g.guest_spec.tval_width)))


__all__ = ["LOG_FULL", "RAN_OUT", "RESUME", "make_serve_loop", "serve_loop_for"]
