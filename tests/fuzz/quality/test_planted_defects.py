"""Quality tests for the fuzzer: plant known defects in the VMMs and require the fuzzer to find them.

In Hypothesis's sense, a property-based test is only as good as the bugs its
generator reaches.  Each test here subclasses a real technique with one
deliberate defect, registers the subclass under a name of its own (pytest's
``monkeypatch`` on ``vverify.vmm.TECHNIQUES``, so nothing outlives the test),
and requires :func:`vverify.fuzz.search` to find a divergence from bare metal
within a fixed example budget, on a bundled spec where the defect can show.
The controls run the very same searches (spec, seed, budget, weights,
translation set) on the un-planted techniques and require them to find none,
so a divergence is the defect's doing and not the harness's.

The defects:

* **dropped control bit** (trap-and-emulate, pg74): writing an emulated state
  back loses the top bit of the bound ``b``.
* **dropped control bit, compiled** (trap-and-emulate, pg74): the same
  defect planted in the compiled dispatcher loop (``loop_defect``), which
  serves trap-and-emulate's exits unless a subclass changes its dispatcher
  or its placed guest (the other trap-and-emulate defects do, so they run
  the Python dispatcher): the fuzzer must find defects on either path.
* **dropped control bit, compiled hardware assist** (hardware-assisted,
  pg74_vt): the same defect in hardware assist's compiled VM-exit loop
  (vverify/vmm/hardware_loop.py), shown by the kernel's final halt, which
  exits and is emulated there.
* **off-by-one reflection** (trap-and-emulate, pg74): when a trap is delivered
  to the guest, the pc its trap entry saves (the old PSW's P, E[1]) is one
  instruction too far; or the guest's handler is entered one instruction past
  its first.
* **stale translation cache** (binary translation, pg74_rdbase): translations
  never revalidate the code they were made from, so code that is rewritten
  after it was translated and then runs again runs the old code.  On
  pg74_rdbase user code is translated too, so a user program that stores over
  its own code and jumps back shows it, and so does kernel code that does
  the same.  (pg74's putc rewrites the store at ``k_patch`` too, but in the
  very block that runs it, whose own writes the code-carrying translator
  keeps: putc alone never shows the defect.)  See
  :class:`StaleTranslationCache` for why the translations carry their code
  here.
* **stale translation, compiled** (binary translation, pg74_rdbase): the
  compiled block loop never checks a block's code before running it
  (``translation_defect``); see :class:`CompiledStaleTranslation`.  The
  stale-translation defect above and its control override ``lookup`` and
  ``run``, so they run the Python loop.
* **lazy re-placement** (trap-and-emulate, pg74): the allocator re-derives the
  real control state only when an emulated instruction changed the guest's
  mode, so after a ``setr`` (or an ``lpsw`` that stays in supervisor mode) in
  guest supervisor code, direct execution uses a stale relocation and bound.
* **early return to user** (hybrid, pdp10): the hybrid interprets
  virtual-supervisor code but hands the instruction that returns to user mode
  to the real machine.  On pdp10 that is the kernel's ``jrst 1,``, which the
  deprivileged guest runs as a plain jump: Popek & Goldberg's example.
* **missed invalidation** (trap-and-emulate with shadow paging,
  riscv32_sv32): a traced write to a guest page-table entry drops no shadow
  entry, so the user program goes on through the old mapping.  The paged
  guest library's pte() call is the guest kernel's write, and its user
  programs start with every register pointing into the window whose entries
  pte() rewrites (docs/guests.md); a find still needs a page touched, its
  entry rewritten and the page touched again, so its budget is 2,500 (seed 0
  finds it at about 1,700).  The same defect is planted in the compiled loop
  alone too (**missed invalidation, compiled**: the Python path drops the
  entries, the loop's traced write does not; the kernel's pte() store is one
  the loop serves), so that the fuzzer must find it there.
* **the U bit lost** and **a stale root** (trap-and-emulate with shadow
  paging, riscv32_sv32): the pager's two other planted defects.  They show
  only where guest code runs paged in S-mode: the user's code on the shadow
  S filled (an S-only page open to the user), and a satp switch made in S
  that keeps the old root's shadow.  The library's kernel runs in M, but its
  peek() call (system call 11) runs a short S part that switches satp and
  loads from a window page, so the fuzzer's programs reach both with the
  same budget.

Budgets.  Most defects show on every program (the boot already reflects a
trap), so the first example finds them.  The other two need a particular
program.

The stale cache needs code rewritten after it ran, then run again.  Random
programs almost never do that: 2-3% of them did, and on Hypothesis 6.155
seeds 0-19 found it in none of 300 examples and in 3 of 20 runs of 1,000.
So the fuzzer aims at it: generated programs contain a self-modifying item
(:class:`vverify.fuzz.programs._SelfModifying`) that copies a jump over the
first instruction of its code and jumps back there.  With it every seed from
0 to 19 finds the stale cache within the normal budget, by example 64 at the
latest (most by example 11), and the revalidating translator finds nothing
on any of them: :func:`test_stale_translation_is_found_on_every_seed`, marked
slow (shrinking is slow here: each shrink step runs the defective translator
to the end of its budget).

The lazy allocator needs kernel code with ``setr`` that system call 3
reaches: 2-3% of generated programs, and no item aims at it.  At 300
examples seeds 0-19 all found it, but the latest only at example 187 (and
earlier versions of the generator missed it on some seeds), so it keeps a
budget of 1000, where ``search`` also steers with ``target()``.  The seed
alone does not pin the examples down: Hypothesis also draws constants from
the source of the local modules loaded in the process, so the programs
depend on what else was imported (this file alone or the whole suite); the
budgets are chosen for that, not for one lucky seed.

Specs are pg74, pg74_rdbase and pdp10 only: checking riscv32 costs ~20 s of
solving on a cold proof cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

import vverify.vmm as vmm
from tests.conftest import load, report_of
from vverify.fuzz import search
from vverify.interp import step_once
from vverify.vmm import (BinaryTranslation, HardwareAssisted, Hybrid, Paravirtualization, PlacedGuest, TrapAndEmulate,
                         translation_set)
from vverify.vmm.base import guest_mode_is_user
from vverify.vmm.interpret import interpret

SEED = 0
SEEDS = range(20)  # for the checks that a find does not depend on the seed
EASY = 300  # the CI budget per defect
HARD = 1000  # for the defect that needs a particular program no item aims at (see the module's docstring)
SHADOW = 2500  # a shadow pager's missed invalidation: a window page touched, its entry rewritten, touched again


# ---------------------------------------------------------------- planting helpers

class _FilteredGuest(PlacedGuest):
    """A placed guest that passes each emulated state through ``self.planted`` before writing it back.

    The interpreter routines hand back their registers as an array
    (``write_back``); the defect is planted on the state that array stands
    for, then written back as any emulated state is (``commit``).
    """

    def planted(self, st):
        pass

    def write_back(self, view):
        lay = self.core.layout
        st = self.view()
        st.regs = {n: int(view[lay.reg_index[n]]) for n in self.spec.registers}
        st.files = {n: [int(v) for v in view[lay.file_offset[n]:lay.file_offset[n] + f.count]]
                    for n, f in self.spec.files.items()}
        self.planted(st)
        self.commit(st)


class _LazyGuest(PlacedGuest):
    """The defective allocator: re-derives the real control state only when the guest's mode changed."""

    _placed_mode = None

    def place(self):
        mode = self.virtual["mode"]
        if mode == self._placed_mode:
            return
        self._placed_mode = mode
        super().place()


def _adopt(g: PlacedGuest, cls, **attrs) -> PlacedGuest:
    """Make an already placed guest an instance of a planted subclass (which adds no state to initialise)."""
    g.__class__ = cls
    g.__dict__.update(attrs)
    return g


# ---------------------------------------------------------------- 1. a dropped control bit

def dropped_bit(register: str, bit: int):
    class DroppedControlBit(TrapAndEmulate):
        """Trap-and-emulate that loses ``register``'s bit ``bit`` whenever it writes an emulated state back."""

        def __init__(self, spec, guest, params=None, core=None):
            super().__init__(spec, guest, params, core)
            assert spec.registers[register].control_mask >> bit & 1, f"{register}[{bit}] is not control state"
            _adopt(self.g, _FilteredGuest, planted=self._drop)

        def _drop(self, st):
            st.regs[register] &= ~(1 << bit)

    DroppedControlBit.technique = f"planted: trap-and-emulate drops {register}[{bit}]"
    return DroppedControlBit


class CompiledDroppedBit(TrapAndEmulate):
    """The dropped control bit planted in the compiled dispatcher loop (vverify/vmm/trap_emulate_loop.py):
    the emulated view loses ``b``'s bit 15 just before the loop writes it back.  Nothing is overridden
    in Python, so this VMM runs compiled (:func:`test_compiled_defect_runs_in_the_compiled_loop`)."""

    technique = "planted: compiled trap-and-emulate drops b[15]"
    loop_defect = ("b", 15)


class CompiledHardwareDroppedBit(HardwareAssisted):
    """The dropped control bit planted in hardware assist's compiled VM-exit loop
    (vverify/vmm/hardware_loop.py): the view an exit was emulated on loses ``b``'s bit 15 just
    before the loop writes it back.  On pg74_vt ``b`` is the guest's own (guest-held), and the
    kernel's final halt exits (HALT exiting), so every program that halts shows it.  Nothing is
    overridden in Python, so this VMM runs compiled."""

    technique = "planted: compiled hardware assist drops b[15]"
    loop_defect = ("b", 15)


class CompiledParavirtDroppedBit(Paravirtualization):
    """The dropped control bit planted in the paravirtual VMM's compiled loop (vverify/vmm/paravirt_loop.py):
    the view an instruction was emulated on (a trap served, or a hypercall's original) loses ``b``'s
    bit 15 just before the loop writes it back.  Nothing is overridden in Python, so this VMM runs
    compiled; the reset trap that boots pg74 shows it, as for trap-and-emulate."""

    technique = "planted: compiled paravirtualization drops b[15]"
    loop_defect = ("b", 15)


# ---------------------------------------------------------------- 2. an off-by-one in reflection

class _Reflecting(TrapAndEmulate):
    """Trap-and-emulate whose ``_reflect(st, trap_pc)`` edits every state that delivers a trap to the guest."""

    def __init__(self, spec, guest, params=None, core=None):
        super().__init__(spec, guest, params, core)
        self._seen = 0
        self._ilen = min(i.units for i in spec.instructions.values())
        self._pc_mask = (1 << spec.pc_width) - 1
        _adopt(self.g, _FilteredGuest, planted=self._filter)

    def _filter(self, st):
        # emulate() appends a reflected trap to the trace just before it commits the state
        if len(self.trace) != self._seen:
            self._seen = len(self.trace)
            self._reflect(st, self.trace[-1][1])

    def _reflect(self, st, trap_pc):
        raise NotImplementedError


class SavedPcOffByOne(_Reflecting):
    """The pc saved for the guest's handler is the next instruction's (as if every trap were a call)."""

    technique = "planted: reflection saves pc + 1"
    saved_pc_at = 1  # pg74's trap entry: store(1, 1, pc), the old PSW's P

    def _reflect(self, st, trap_pc):
        assert st.read_mem(self.saved_pc_at) == trap_pc, "not pg74's trap entry"
        st.mem[self.saved_pc_at] = (trap_pc + self._ilen) & self._pc_mask


class HandlerPcOffByOne(_Reflecting):
    """The guest's handler is entered one instruction past its first."""

    technique = "planted: reflection enters the handler at pc + 1"

    def _reflect(self, st, trap_pc):
        st.regs["pc"] = (st.regs["pc"] + self._ilen) & self._pc_mask


# ---------------------------------------------------------------- 3. a translation cache never invalidated

class StaleTranslationCache(BinaryTranslation):
    """Binary translation whose translations carry their code, and whose lookup never revalidates it.

    vverify's translator runs a block's direct segments in place, on the
    guest's current memory: a Block records only how many instructions to
    run directly and where to call the VMM.  So removing the word check alone
    is harmless unless the *shape* of the code changes (an innocuous
    instruction becomes an unsafe one or a jump); pg74's putc rewrites a
    ``st`` into another ``st``, and with the check simply removed the fuzzer
    found nothing in 2,000 programs on each of pg74, pg74_rdbase and pdp10.
    A real translator's cache holds a copy of the code, and that is what
    makes a stale entry wrong.  This subclass models the copy: while a block
    runs, the words it was translated from are installed over the live ones
    (the live ones go back when it is left, unless the block itself rewrote
    them), so a block that is not revalidated runs the old code.  With
    ``validate`` it is a correct translator (a control).
    """

    technique = "planted: binary translation never invalidates"
    validate = False

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._installed: dict = {}  # real address -> (live unit, installed unit)

    def lookup(self, pc, mode, prev):
        self._restore()
        blk = prev.successors.get(pc) if prev is not None and prev.mode == mode else None
        if blk is None:
            blk = self.cache.get((pc, mode))
        if blk is not None and (not self.validate or self.still_valid(blk)):
            self.counters.tc_hits += 1
        else:
            if blk is not None:
                self.counters.tc_invalidations += 1
            self.counters.tc_misses += 1
            blk = self.translate_block(pc, mode)
            self.cache[pc, mode] = blk
        if prev is not None:
            prev.successors[pc] = blk
        self._install(blk)
        return blk

    def _install(self, blk):
        g, spec = self.g, self.spec
        u = spec.memory.unit
        for addr, word in blk.words:
            for k in range(spec.max_ilen_units):
                ra = (addr + k + g.offset) & g.amask
                want = (word >> (k * u)) & ((1 << u) - 1)
                live = int(g.core.MEM[ra])
                if live != want:
                    self._installed[ra] = (live, want)
                    g.core.MEM[ra] = want
        if self._installed:
            g.core.flush_code_cache()

    def _restore(self):
        if not self._installed:
            return
        mem = self.g.core.MEM
        for ra, (live, installed) in self._installed.items():
            if int(mem[ra]) == installed:
                mem[ra] = live
        self._installed.clear()
        self.g.core.flush_code_cache()

    def run(self, budget, stop_on=frozenset()):
        try:
            return super().run(budget, stop_on)
        finally:
            self._restore()


class RevalidatingCodeCache(StaleTranslationCache):
    """The same code-carrying translator with the check restored: the control for the planting itself."""

    technique = "control: binary translation with code-carrying translations, revalidated"
    validate = True


class CompiledStaleTranslation(BinaryTranslation):
    """The stale translation planted in the compiled block loop (vverify/vmm/binary_translation_loop.py):
    lookups never compare a block's code with memory.  That loop runs blocks in place (it carries no
    copy of the code), so a stale block shows only where the code's shape changed: the fuzzer's
    self-modifying item puts a jump where a block began, and the stale block's direct segment runs on
    past it into code it would have emulated (pg74_rdbase's ``rdbase``, say).  Nothing is overridden
    in Python, so this VMM runs compiled (:func:`test_compiled_translation_defect_runs_compiled`)."""

    technique = "planted: compiled binary translation never checks a block's code"
    translation_defect = True


# ---------------------------------------------------------------- 4. lazy re-placement

class LazyReplacement(TrapAndEmulate):
    """Trap-and-emulate whose allocator re-places the guest only when an emulated instruction changed its mode."""

    technique = "planted: trap-and-emulate re-places only on a mode change"

    def __init__(self, spec, guest, params=None, core=None):
        super().__init__(spec, guest, params, core)
        _adopt(self.g, _LazyGuest, _placed_mode=self.g.virtual["mode"])


# ---------------------------------------------------------------- 5. an early return to user mode

class MissedInvalidation(TrapAndEmulate):
    """Shadow paging that misses an invalidation: a guest write to a page-table entry is traced and
    emulated, but the shadow entry made from the old value stays (vverify/vmm/shadow_paging.py's
    planted ``missed_invalidation``)."""

    technique = "trap-and-emulate-missed-invalidation"

    def __init__(self, spec, guest, params=None, core=None, compiled=None):
        super().__init__(spec, guest, params, core, compiled)
        self.pager.defect = "missed_invalidation"


class CompiledMissedInvalidation(TrapAndEmulate):
    """The missed invalidation planted in the compiled loop only (vverify/vmm/shadow_paging_loop.py's
    traced write, the pager's ``loop_defect``): the Python path drops the entries, so only a traced
    write the loop serves misses them.  The library kernel's pte() is an M-mode store (the identity
    view's shadow), which the loop serves."""

    technique = "trap-and-emulate-compiled-missed-invalidation"

    def __init__(self, spec, guest, params=None, core=None, compiled=None):
        super().__init__(spec, guest, params, core, compiled)
        self.pager.loop_defect = "missed_invalidation"


class UserBitLost(TrapAndEmulate):
    """Shadow paging that loses the U bit's meaning: user code runs on the shadow the guest's S code
    filled, so an S-only page S touched is open to the user (the planted ``user_bit``)."""

    technique = "trap-and-emulate-user-bit-lost"

    def __init__(self, spec, guest, params=None, core=None, compiled=None):
        super().__init__(spec, guest, params, core, compiled)
        self.pager.defect = "user_bit"


class StaleRoot(TrapAndEmulate):
    """Shadow paging that keeps the previous root's shadow after a satp switch in the same view (the
    planted ``stale_root``)."""

    technique = "trap-and-emulate-stale-root"

    def __init__(self, spec, guest, params=None, core=None, compiled=None):
        super().__init__(spec, guest, params, core, compiled)
        self.pager.defect = "stale_root"


class EarlyReturnHybrid(Hybrid):
    """A hybrid VMM that lets the real machine run the instruction that returns the guest to user mode.

    Hybrid.run, except that in virtual-supervisor mode it looks one
    instruction ahead, and an instruction that would enter user mode runs
    directly (deprivileged, as placed) instead of through the interpreter.
    """

    technique = "planted: hybrid runs the return to user mode directly"

    def run(self, budget, stop_on=frozenset()):
        self.stop_on = stop_on
        steps = 0
        while steps < budget:
            if guest_mode_is_user(self.spec, self.g.virtual["mode"]):
                n, end, _ = self.direct(budget - steps)
            else:
                nxt, step = step_once(self.spec, self.g.view())
                if step.kind == "ok" and guest_mode_is_user(self.spec, nxt.regs["mode"]):
                    n, end, _ = self.direct(1)  # the defect: the return to user mode runs on the real machine
                else:
                    end = interpret(self, 1, until_user=True, stop_on=stop_on)
                    n, end = end.steps, (end if end.reason != "budget" else None)
            steps += n
            if end is not None:
                return self._exit(end.reason, steps, end.cause)
        return self._exit("budget", steps)


# ---------------------------------------------------------------- what a find must say

def _differences(ce, *needles):
    text = "; ".join(ce.differences)
    assert any(n in text for n in needles), f"expected a difference mentioning one of {needles}"


def _culprit(ce, uids=None, mode=None, step=None):
    assert ce.culprit is not None, "the step-by-step replay found no culprit"
    uid, m, _, i = ce.culprit
    if uids is not None:
        assert uid in uids, f"expected the culprit to be one of {sorted(uids)}"
    if mode is not None:
        assert m == mode, f"expected the culprit in guest {mode} mode"
    if step is not None:
        assert i == step, f"expected the culprit at step {step}"


def _asm(ce) -> str:
    return ce.program.assembly(load(ce.program.spec_name))


def _user(ce) -> str:
    return _asm(ce).split("# kernel code", 1)[0]


def _kernel(ce) -> str:
    return _asm(ce).split("# kernel code", 1)[1]


def expect_dropped_b15(ce):
    # the first commit is the reset trap that boots pg74, loading the kernel's bound 0xFFFF
    _differences(ce, "b: native 0xffff, virtualized 0x7fff")
    _culprit(ce, uids={"(instruction fetch)"}, mode="s", step=0)


def expect_dropped_b15_at_exit(ce):
    # the kernel's bound 0xFFFF loses its top bit when the final halt's VM exit is written back
    _differences(ce, "b: native 0xffff, virtualized 0x7fff")
    _culprit(ce, uids={"halt"}, mode="s")


def expect_reflection(ce):
    # the first trap reflected is the reset trap that boots pg74
    _culprit(ce, uids={"(instruction fetch)"}, mode="s", step=0)


def expect_stale(ce):
    # the code the culprit ran in (user or kernel) stored over itself, and the old code ran again
    _culprit(ce)
    code = _user(ce) if ce.culprit[1] == "u" else _kernel(ce)
    assert re.search(r"^\s+st ", code, re.M), f"expected the {ce.culprit[1]}-mode code to store over itself"


def expect_compiled_stale(ce):
    # code stored over itself and ran again; the old block ran an instruction directly that must be emulated
    _differences(ce, "native")
    assert re.search(r"^\s+st ", _asm(ce), re.M), "expected code that stores over itself"


def expect_lazy(ce):
    # only an emulated instruction that changes control state but not the mode is left unplaced
    _culprit(ce, mode="s")
    assert "svc 3" in _user(ce) and re.search(r"^\s+(setr|lpsw|svc)\b", _kernel(ce), re.M), \
        "expected kernel code reached by system call 3 that changes R without leaving supervisor mode"


def expect_missed_invalidation(ce):
    # the user program rewrote a window entry (pte(), system call 8) after touching the page
    assert re.search(r"addi a7, zero, 8\n\s+ecall", _user(ce)), "expected a pte() call in the user program"


def expect_peek(ce):
    # the defect shows only through the kernel's S part: the user program called peek() (system call 11)
    assert re.search(r"addi a7, zero, 11\n\s+ecall", _user(ce)), "expected a peek() call in the user program"


def expect_early_return(ce):
    # jrst 1, run as a plain jump leaves the guest in virtual exec mode
    _culprit(ce, uids={"jrst1"}, mode="exec")


@dataclass(frozen=True)
class Defect:
    id: str
    spec: str
    cls: type
    control: str  # the un-planted technique
    examples: int
    expect: object  # (counterexample) -> None, asserting the differences and culprit are sensible


DEFECTS = [
    Defect("dropped-flag", "pg74", dropped_bit("b", 15), "trap-and-emulate", EASY, expect_dropped_b15),
    Defect("compiled-dropped-flag", "pg74", CompiledDroppedBit, "trap-and-emulate", EASY, expect_dropped_b15),
    Defect("compiled-hardware-dropped-flag", "pg74_vt", CompiledHardwareDroppedBit, "hardware-assisted", EASY,
           expect_dropped_b15_at_exit),
    Defect("compiled-paravirt-dropped-flag", "pg74", CompiledParavirtDroppedBit, "paravirtualization", EASY,
           expect_dropped_b15),
    Defect("reflection-saved-pc", "pg74", SavedPcOffByOne, "trap-and-emulate", EASY, expect_reflection),
    Defect("reflection-handler-pc", "pg74", HandlerPcOffByOne, "trap-and-emulate", EASY, expect_reflection),
    Defect("stale-translation", "pg74_rdbase", StaleTranslationCache, "binary-translation", EASY, expect_stale),
    Defect("compiled-stale-translation", "pg74_rdbase", CompiledStaleTranslation, "binary-translation", EASY,
           expect_compiled_stale),
    Defect("lazy-replacement", "pg74", LazyReplacement, "trap-and-emulate", HARD, expect_lazy),
    Defect("hybrid-early-return", "pdp10", EarlyReturnHybrid, "hybrid", EASY, expect_early_return),
    Defect("shadow-missed-invalidation", "riscv32_sv32", MissedInvalidation, "trap-and-emulate", SHADOW,
           expect_missed_invalidation),
    Defect("shadow-compiled-missed-invalidation", "riscv32_sv32", CompiledMissedInvalidation, "trap-and-emulate",
           SHADOW, expect_missed_invalidation),
    Defect("shadow-user-bit-lost", "riscv32_sv32", UserBitLost, "trap-and-emulate", SHADOW, expect_peek),
    Defect("shadow-stale-root", "riscv32_sv32", StaleRoot, "trap-and-emulate", SHADOW, expect_peek),
]

# every search a defect ran, on the un-planted technique; and the code-carrying translator with its check
STALE = next(d for d in DEFECTS if d.id == "stale-translation")
CONTROLS = sorted({(d.spec, d.control, d.examples) for d in DEFECTS}) + [
    (STALE.spec, RevalidatingCodeCache, STALE.examples)]


def _search(spec_name, technique, examples, seed=SEED):
    spec, report = load(spec_name), report_of(spec_name)
    return search(spec, technique, examples=examples, seed=seed, report=report, translate=translation_set(report))


def _shown(ce) -> str:
    cul = "none"
    if ce.culprit:
        uid, mode, pc, step = ce.culprit
        cul = f"{uid} (guest {mode} mode, pc {pc:#x}, step {step})"
    return (f"minimal program:\n{_asm(ce)}\ndifferences: {'; '.join(ce.differences)}\n"
            f"culprit: {cul}")


def _register(monkeypatch, cls) -> str:
    monkeypatch.setitem(vmm.TECHNIQUES, cls.technique, cls)
    return cls.technique


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.id)
def test_fuzzer_finds_planted_defect(defect, monkeypatch):
    r = _search(defect.spec, _register(monkeypatch, defect.cls), defect.examples)
    assert r.counterexample is not None, (
        f"{defect.id}: no divergence on {defect.spec} in {r.examples} examples (seed {SEED}), "
        f"direct fraction {r.direct_fraction:.2f}")
    print(f"{defect.id} on {defect.spec}, {r.examples} examples run (shrinking included):\n{_shown(r.counterexample)}")
    try:
        defect.expect(r.counterexample)
    except AssertionError as e:
        raise AssertionError(f"{defect.id}: {e}\n{_shown(r.counterexample)}") from None


@pytest.mark.parametrize("spec_name,technique,examples", CONTROLS,
                         ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_control_finds_nothing(spec_name, technique, examples, monkeypatch):
    if isinstance(technique, type):
        technique = _register(monkeypatch, technique)
    r = _search(spec_name, technique, examples)
    assert r.counterexample is None, f"the un-planted {technique} diverges on {spec_name}:\n{_shown(r.counterexample)}"
    assert r.examples == examples


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_stale_translation_is_found_on_every_seed(seed, monkeypatch):
    """The stale cache is a find of the normal budget, not of a lucky seed: the self-modifying item
    aims at it.  And the same search on the revalidating translator finds nothing, so the item's
    programs are ones a correct translator runs as the machine does."""
    r = _search(STALE.spec, _register(monkeypatch, STALE.cls), STALE.examples, seed)
    assert r.counterexample is not None, f"no divergence on {STALE.spec} in {r.examples} examples (seed {seed})"
    STALE.expect(r.counterexample)
    control = _search(STALE.spec, _register(monkeypatch, RevalidatingCodeCache), STALE.examples, seed)
    assert control.counterexample is None, f"the revalidating translator diverges:\n{_shown(control.counterexample)}"


def test_compiled_defect_runs_in_the_compiled_loop():
    """The compiled defect is planted where the fuzzer reaches it: its VMM runs the compiled loop, and
    the defects planted by subclassing run the Python dispatcher."""
    from vverify import guests as G
    from vverify.bench import workloads as W

    spec = load("pg74")
    state = G.boot_state(spec, W.build(spec, "syscall", 1))
    for d in DEFECTS:
        if d.spec == "pg74" and issubclass(d.cls, TrapAndEmulate):
            v = d.cls(spec, state)
            v.run(2000)
            assert v.path == ("compiled" if d.id.startswith("compiled-") else "python"), d.id
    spec = load("pg74_vt")
    v = CompiledHardwareDroppedBit(spec, G.boot_state(spec, W.build(spec, "syscall", 1)))
    v.run(2000)
    assert v.path == "compiled"


def test_compiled_translation_defect_runs_compiled():
    """The compiled translation defect runs the compiled block loop; the code-carrying translators,
    which override lookup and run, run the Python one."""
    from vverify import guests as G
    from vverify.bench import workloads as W

    spec = load("pg74_rdbase")
    state = G.boot_state(spec, W.build(spec, "syscall", 1))
    translate = translation_set(report_of("pg74_rdbase"))
    for cls, path in ((CompiledStaleTranslation, "compiled"), (BinaryTranslation, "compiled"),
                      (StaleTranslationCache, "python"), (RevalidatingCodeCache, "python")):
        v = cls(spec, state, translate=translate)
        v.run(2000)
        assert v.path == path, cls
