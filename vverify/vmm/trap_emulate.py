"""Trap-and-emulate: the classic VMM of Popek & Goldberg's Theorem 1.

Guest code, supervisor and user alike, runs directly on the real machine,
deprivileged and placed by the spec's virtualization map.  Every trap comes
to the VMM's dispatcher; the VMM emulates the trapping instruction on the
guest's virtual state with its interpreter routines (the spec's semantics),
which also delivers the traps the guest itself should see to the guest's
own handler (reflection).  Correct exactly when every instruction that is
unsafe under the map traps: Theorem 1.

On a spec whose MMU is virtualized by shadow paging (riscv32_sv32) the
placed guest is a :class:`~vverify.vmm.shadow_paging.ShadowPlacedGuest`:
the real root pointer is the VMM's, and the dispatcher first asks its pager
about every memory fault (hidden, traced, true: vverify/vmm/shadow_paging.py).
Those guests run the Python dispatcher, around a compiled loop that serves
the common hidden faults and traced writes, and emulates the trapped
instructions and true faults whose result keeps the guest's view (the
kernel's CSR accesses, a fault reflected from S to S), without leaving
compiled code (vverify/vmm/shadow_paging_loop.py,
:meth:`TrapAndEmulate._direct_serving`).
"""

from __future__ import annotations

import numpy as np

from ..spec.exits import Exit

from ..core import Core
from ..core.protocol import R_TRAP, REASONS
from .base import VMM, PlacedGuest
from . import shadow_paging
from .shadow_paging import ShadowPlacedGuest, mmu_kind
from .shadow_paging_loop import (BACK_CODE, BACK_ENTERED, BACK_GEN, BACK_NEXT, BACK_OK, BACK_PA, BACK_REFS, DIRECT,
                                 EMULATED, HIDDEN, LOGGED, N_SCALARS, OTHER_E, RAN_OUT, RESUME, STEPS, TRACED_N,
                                 TRACED_W, TRUE_F, WALK_REFS)
from .trap_emulate_loop import CompiledDispatcher, loop_for


class TrapAndEmulate(VMM):
    technique = "trap-and-emulate"
    summary = "all guest code runs directly, deprivileged; every trap is emulated on the virtual state"
    requires = ("virtualization map", "real MMU", "theorem1")

    compiled = True
    """Serve exits in the compiled dispatcher loop (vverify.vmm.trap_emulate_loop) where it applies;
    False runs the Python dispatcher below, the loop's reference (the constructor's ``compiled``)."""
    trace_capacity = 4096  # reflected traps the compiled loop records before Python drains them
    loop_defect = None  # a planted defect for the compiled loop (tests/fuzz/quality): leave it None
    mmu_kinds = ("shadow",)
    """A spec whose map virtualizes the MMU by shadow paging gets shadow page tables
    (vverify.vmm.shadow_paging).  Hybrid, built on this class, runs only user code directly, on the
    guest's own tables, and implements none."""

    @classmethod
    def mmu_unsupported(cls, spec):
        return shadow_paging.unsupported(spec) if "shadow" in cls.mmu_kinds else None

    def __init__(self, spec, guest, params=None, core: Core | None = None, compiled: bool | None = None):
        super().__init__(spec, guest, params)
        if "shadow" in self.mmu_kinds and mmu_kind(spec) == "shadow":
            self.g = ShadowPlacedGuest(spec, guest, self.params, core, self.counters)
            self.pager = self.g.pager
        else:
            self.g = PlacedGuest(spec, guest, self.params, core)
            self.pager = None
        if compiled is not None:
            self.compiled = compiled
        self.path = None  # "compiled" or "python": how the last run() was served
        self._dispatcher = None

    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        self._start()
        self.stop_on = stop_on
        dispatcher = self._compiled_dispatcher(budget)
        self.path = "python" if dispatcher is None else "compiled"
        if dispatcher is not None:
            reason, cause, steps, (direct, emulated, exits, traps, reflected) = \
                dispatcher.run(budget, stop_on, self.trace)
            c = self.counters
            c.direct += direct
            c.emulated += emulated
            for i in np.flatnonzero(exits).tolist():
                c.exits[REASONS[i]] += int(exits[i])
            for i in np.flatnonzero(traps).tolist():
                c.traps[dispatcher.causes[i]] += int(traps[i])
            for i in np.flatnonzero(reflected).tolist():
                c.reflected[dispatcher.causes[i]] += int(reflected[i])
            return self._exit(reason, steps, cause)
        steps = 0
        while steps < budget:
            n, end, _ = self.direct(budget - steps)
            steps += n
            if end is not None:
                return self._exit(end.reason, steps, end.cause)
        return self._exit("budget", steps)

    def _compiled_dispatcher(self, budget):
        """The compiled loop's dispatcher for this guest, or None where the Python path must serve:
        not asked for; a subclass that changes the dispatcher, the interpreter routines or direct
        execution (a planted defect, another technique built on this one) or a placed guest of a
        subclass (an allocator of its own); a core without compiled kernels; a budget past int64."""
        if not self._may_compile(budget, TrapAndEmulate, ("dispatch", "emulate", "direct")):
            return None
        d = self._dispatcher
        if d is None or len(d.TC) != max(int(self.trace_capacity), 1):
            loop = loop_for(self.g.core, self.loop_defect)
            if loop is None:
                return None
            d = self._dispatcher = CompiledDispatcher(self.g, loop, self.g.emulator().causes, self.trace_capacity)
        return d

    def _may_compile(self, budget, reference, methods) -> bool:
        """Whether a technique's compiled loop may serve this run, by the rules every technique built
        on this one shares: it is asked for (``compiled``); the budget fits numba's int64; the placed
        guest is a plain :class:`PlacedGuest` (not an allocator of its own); no subclass of
        ``reference`` changes any of ``methods`` (a planted defect, another technique); and the
        interpreter routines can run the placement (where they cannot, the Python path says so when
        it must)."""
        if not self.compiled or not 0 <= budget < 1 << 63 or type(self.g) is not PlacedGuest:
            return False
        cls = type(self)
        if any(getattr(cls, m) is not getattr(reference, m) for m in methods):
            return False
        try:
            self.g.emulator()
        except ValueError:
            return False
        return True

    def direct(self, budget: int):
        """Run guest code directly on the real core until it exits, then dispatch the exit.

        Returns ``(guest steps, an Exit if the guest's run ended else None,
        whether the core exited before the budget)``.
        """
        p = self.pager
        if p is not None:
            key = p.view_key()
            if key[0] == "interpret":  # p.must_interpret()
                done = self.emulate()  # no one real table serves M-mode with MPRV: interpret it
                return done.steps, (done if done.reason != "budget" else None), True
            if self.compiled:  # a paged view or the identity view
                served = self._direct_serving(budget, key)
                if served is not None:
                    return served
        return self.dispatch(self.g.core.run(budget, trap_exits="all"))

    _serving = None  # the compiled hidden-fault loop and its arguments, made on first use; False: none

    def _direct_serving(self, budget: int, key):
        """:meth:`direct` under shadow paging in view ``key`` (a paged one or the identity), with the hidden faults,
        traced writes and view-keeping emulations the compiled loop can serve served there, without
        returning to Python (vverify.vmm.shadow_paging_loop); the exit it does not serve is dispatched
        here as :meth:`direct` dispatches it, and an emulation it began but did not finish is finished
        here (:meth:`_resume_emulation`).  None where the Python path must run instead: a subclass that
        changes how exits are run or dispatched (binary translation and paravirtualization act at
        every exit); no compiled loop; a shadow it does not serve (ShadowPager.compiled_view); a
        budget outside 1 .. 2**63 - 1.  Counters move exactly as the Python path moves them."""
        sv = self._serving
        if sv is None:
            sv = self._serving = self._make_serving()
        if not sv or not 0 < budget < 1 << 63:
            return None
        p, g = self.pager, self.g
        view = p.compiled_view(key)
        if view is None:
            return None
        loop, args, scalars, traps, reflected = sv
        root, priv, slot, satp, flags = view
        stop = self.stop_on
        if stop != self._stop_key:
            causes = g.emulator().causes
            self._stop_key, self._stop_mask = stop, np.uint64(sum(1 << i for i, c in enumerate(causes) if c in stop))
        outcome = loop(*args, root, priv, slot, np.uint64(satp), flags, self._stop_mask, budget, scalars, traps,
                       reflected)
        core = g.core
        core.returns += 1  # a return into Python, as the core's own entry points count it
        hidden, traced, steps = int(scalars[HIDDEN]), int(scalars[TRACED_W]), int(scalars[STEPS])
        other, true = int(scalars[OTHER_E]), int(scalars[TRUE_F])
        p.drain_fills(int(scalars[LOGGED]))
        if hidden or traced or other or true:
            c = self.counters
            c.direct += int(scalars[DIRECT])
            c.emulated += int(scalars[EMULATED])
            c.exits["trap"] += hidden + traced + other + true
            c.hidden_faults += hidden
            c.traced_writes += traced
            c.true_faults += true
            p.served_compiled += hidden + traced + other + true
            p.traced_compiled += traced
            p.emulated_compiled += other + true
            p.true_compiled += true
            c.walk_refs += int(scalars[WALK_REFS])
            names = core.cause_names
            for i in np.flatnonzero(traps).tolist():
                c.traps[names[i]] += int(traps[i])
            k = int(scalars[TRACED_N])
            if k:  # the traps reflected to the guest, in order, before any Python appends after this return
                TC, TP = args[-2], args[-1]
                self.trace.extend_codes(TC[:k], TP[:k])
                causes = g.emulator().causes
                for i in np.flatnonzero(reflected).tolist():
                    c.reflected[causes[i]] += int(reflected[i])
        if outcome == RESUME:
            pa = int(scalars[BACK_PA])
            if pa >= 0:
                p.traced_resumed += 1
            else:
                p.emulated_resumed += 1
            entered = (np.uint64(scalars[BACK_NEXT]), bool(scalars[BACK_OK])) if scalars[BACK_ENTERED] else None
            n, end, exited = self._resume_emulation(core.exit_of(R_TRAP), int(scalars[BACK_REFS]), pa,
                                                    int(scalars[BACK_GEN]), int(scalars[BACK_CODE]), entered)
            return steps + n, end, exited
        if outcome == RAN_OUT:  # the budget ended on a served emulation's step (a traced write's or another
            p.budget_ends_compiled += 1  # trapped instruction's): the run's end, whose return the Python
            #   path did not make after that event
        if outcome < 0:  # the budget ended on a served event, or the log is full: nothing to dispatch
            return steps, None, True
        n, end, exited = self.dispatch(core.exit_of(outcome))
        return steps + n, end, exited

    _stop_key, _stop_mask = None, np.uint64(0)  # stop_on, and as a mask over cause indexes for the loop

    def _resume_emulation(self, ex, refs: int, pa: int, gen: int, code: int, entered=None):
        """Finish an emulation the compiled loop began but did not finish (its run did not end as the
        loop finishes them, or it changed the view: vverify.vmm.shadow_paging_loop): what
        :meth:`dispatch` and :meth:`emulate` do for it after the routines' run, which returned
        ``code`` (the view in the routines' registers).  ``ex`` is the real core's exit; for a traced
        write (``pa`` >= 0) ``refs`` and ``pa`` are what the faulting walk gave; for a true fault (``pa``
        -2) ``refs`` is the walk's; for another trapped instruction (``pa`` -1: classify's "other",
        which walks nothing) they are unused.  ``gen`` is the routines' code-write generation before
        their run (their decoded code at the fetch address already forgotten, as
        ShadowPager.emulating does); ``entered`` what the trap entry gave where it already ran on the
        view (Emulator.run's)."""
        c = self.counters
        c.direct += ex.steps
        c.exits[ex.reason] += 1
        c.traps[ex.cause] += 1
        p = self.pager
        if pa >= 0:
            c.walk_refs += refs  # classify's walk, and its "traced"
            p.traced_write(pa)
        elif pa == -2:
            c.walk_refs += refs  # classify's walk, and its "true"
            c.true_faults += 1
        p._gen = gen
        done = self.g.emulator().run(self, 1, stop_on=self.stop_on, ran=code, entered=entered)
        p.emulated()
        return ex.steps + done.steps, (done if done.reason != "budget" else None), True

    def _make_serving(self):
        """``(loop, its fixed arguments, scalars, traps)`` for :meth:`_direct_serving`, or False."""
        cls = type(self)
        if any(getattr(cls, m) is not getattr(TrapAndEmulate, m) for m in ("run", "direct", "dispatch", "emulate")):
            return False
        p, g = self.pager, self.g
        loop = p.serve_loop()
        if loop is None:
            return False
        core = g.core
        em = g.emulator()  # the routines' registers: the guest's view, budget 1, every trap exiting
        cap = max(int(self.trace_capacity), 1)
        args = (core.R, core.MEM, core.DECF, g._scratch, g.virtual.array, g.DM, g.CM, len(g.names),
                p._mem, p._reads, p.TRACED, p.W32, p.LOG, em.E, g.routines.DECF, g.P, g.map.sets,
                np.zeros(len(g.names), dtype=np.uint64), p.SROOT, p.GROOT, p.SRC,
                np.zeros(cap, dtype=np.int64), np.zeros(cap, dtype=np.uint64))  # TC, TP: traps reflected
        n = len(core.cause_names)
        return (loop, args, np.zeros(N_SCALARS, dtype=np.int64), np.zeros(n, dtype=np.int64),
                np.zeros(len(em.causes), dtype=np.int64))

    def dispatch(self, ex):
        """The dispatcher: account for one exit of the real core and serve it (see :meth:`direct`)."""
        self.counters.direct += ex.steps
        self.counters.exits[ex.reason] += 1
        if ex.reason == "budget":
            return ex.steps, None, False
        if ex.reason in ("halt", "hypercall", "vmexit"):  # no hypervisor service here: the run ends
            return ex.steps, Exit(ex.reason), True
        if ex.reason == "trap":
            self.counters.traps[ex.cause] += 1
            if self.pager is not None and self.pager.classify(ex.cause, ex.tval) == "hidden":
                return ex.steps, None, True  # the shadow has the entry now: run the instruction again
        done = self.emulate()  # the dispatcher: the instruction at pc, on the virtual state
        return ex.steps + done.steps, (done if done.reason != "budget" else None), True

    def emulate(self) -> Exit:
        """One guest instruction through the interpreter routines (vverify.vmm.emulation).  Under
        shadow paging the pager learns afterwards which guest words it stored (ShadowPager.emulated),
        so that binary translation and paravirtualization, which emulate every store of the guest
        kernel, drop only the shadow entries and decoded code those words made."""
        if self.pager is None:
            return self.g.emulator().run(self, 1, stop_on=self.stop_on)
        self.pager.emulating(self.g.fetch_pa())
        done = self.g.emulator().run(self, 1, stop_on=self.stop_on)
        self.pager.emulated()
        return done

    def guest_state(self):
        return self.g.snapshot()

    def guest_memory(self):
        return self.g.memory()
