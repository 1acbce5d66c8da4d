"""Quality tests for the fuzzer: plant known defects in the VMMs and require the fuzzer to find them.

In Hypothesis's sense, a property-based test is only as good as the bugs its
generator can reach.  Each test here subclasses a real technique with one
deliberate defect, registers the subclass under a name of its own (pytest's
``monkeypatch`` on ``vverify.vmm.TECHNIQUES``, so nothing outlives the test),
and requires :func:`vverify.fuzz.search` to find a divergence from bare metal
within the CI example budget, on a bundled spec where the defect can show.
The controls run the very same searches (spec, seed, budget, weights,
translation set) on the un-planted techniques and require them to find none,
so a divergence is the defect's doing and not the harness's.

The defects:

* **dropped control bit** (trap-and-emulate): writing an emulated state back
  loses one bit of a control register.  On pg74: the top bit of the bound
  ``b`` (set in every kernel PSW, so every run shows it), and the top bit of
  the relocation base ``l`` (set only when generated kernel code loads such a
  base with ``setr`` or ``lpsw``).
* **off-by-one reflection** (trap-and-emulate): when a trap is delivered to
  the guest, the pc the trap entry saves (pg74's old PSW, E[1]) is one
  instruction too far, or the guest's handler is entered one instruction
  past its first.
* **stale translation cache** (binary translation): translations never
  revalidate the code they were made from, so pg74's putc, which rewrites the
  store at ``k_patch`` before running it, runs the store it built for an
  earlier call.  See :class:`StaleTranslationCache` for why the translations
  carry their code here.
* **lazy re-placement** (trap-and-emulate): the allocator re-derives the real
  control state only when the guest's mode changed, so a ``setr`` in guest
  supervisor mode leaves the real relocation-bounds register stale.
* **early return to user** (hybrid): the hybrid interprets virtual-supervisor
  code but hands the instruction that returns to user mode to the real
  machine.  On pdp10 that is ``jrst 1,``, which the real machine (running the
  guest deprivileged) executes as a plain jump: Popek & Goldberg's example.

Specs are pg74 and pdp10 only: checking riscv32 costs ~20 s of solving per
session on a cold proof cache (and conftest gives every test a cold one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pytest

import vverify.vmm as vmm
from tests.conftest import load
from vverify.check.run import check_spec
from vverify.fuzz import search
from vverify.interp import step_once
from vverify.vmm import BinaryTranslation, Hybrid, PlacedGuest, TrapAndEmulate, translation_set
from vverify.vmm.base import guest_mode_is_user
from vverify.vmm.interpret import interpret

EXAMPLES = 300  # the CI budget per search
SEED = 0


# ---------------------------------------------------------------- planting helpers

class _FilteredGuest(PlacedGuest):
    """A placed guest whose ``commit`` passes each emulated state through ``self.planted`` first."""

    planted = staticmethod(lambda st: None)

    def commit(self, st):
        st.regs = dict(st.regs)
        self.planted(st)
        super().commit(st)


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
    """Turn an already placed guest into a planted subclass (no new state to initialise)."""
    g.__class__ = cls
    g.__dict__.update(attrs)
    return g


# ---------------------------------------------------------------- 1. a dropped control bit

def dropped_bit(register: str, bit: int):
    class DroppedControlBit(TrapAndEmulate):
        """Trap-and-emulate that loses ``register``'s bit ``bit`` when it writes an emulated state back."""

        def __init__(self, spec, guest, params=None, core=None):
            super().__init__(spec, guest, params, core)
            assert spec.registers[register].control_mask >> bit & 1, f"{register}[{bit}] is not control state"
            _adopt(self.g, _FilteredGuest, planted=self._drop)

        def _drop(self, st):
            st.regs[register] &= ~(1 << bit)

    DroppedControlBit.technique = f"planted: trap-and-emulate drops {register}[{bit}]"
    return DroppedControlBit


# ---------------------------------------------------------------- 2. an off-by-one in reflection

class _Reflecting(TrapAndEmulate):
    """Trap-and-emulate whose ``_reflect(st, trap_pc)`` sees every state that delivers a trap to the guest."""

    def __init__(self, spec, guest, params=None, core=None):
        super().__init__(spec, guest, params, core)
        self._seen = 0
        _adopt(self.g, _FilteredGuest, planted=self._filter)

    def _filter(self, st):
        # emulate() records a reflected trap in the trace just before it commits the state
        if len(self.trace) != self._seen:
            self._seen = len(self.trace)
            self._reflect(st, self.trace[-1][1])

    def _ilen(self):
        return min(i.units for i in self.spec.instructions.values())


class SavedPcOffByOne(_Reflecting):
    """The pc saved for the guest's handler is the next instruction's (as if every trap were a call)."""

    technique = "planted: reflection saves pc + 1"
    saved_pc_at = 1  # pg74's trap entry: store(1, 1, pc), the old PSW's P

    def _reflect(self, st, trap_pc):
        assert st.read_mem(self.saved_pc_at) == trap_pc, "not a pg74-style trap entry"
        st.mem[self.saved_pc_at] = (trap_pc + self._ilen()) & ((1 << self.spec.pc_width) - 1)


class HandlerPcOffByOne(_Reflecting):
    """The guest's handler is entered one instruction past its first."""

    technique = "planted: reflection enters the handler at pc + 1"

    def _reflect(self, st, trap_pc):
        st.regs["pc"] = (st.regs["pc"] + self._ilen()) & ((1 << self.spec.pc_width) - 1)


# ---------------------------------------------------------------- 3. a translation cache never invalidated

class StaleTranslationCache(BinaryTranslation):
    """Binary translation whose translations carry their code, and whose lookup never revalidates it.

    vverify's translator runs a block's direct segments in place, on the
    guest's current memory: a Block only records how many instructions to run
    directly and where to call the VMM.  A stale Block therefore goes wrong
    only if the shape of the code changed (an innocuous instruction became an
    unsafe one, or a jump), which no guest the fuzzer generates does: pg74's
    putc rewrites a ``st`` into another ``st``.  So with only the word check
    removed the defect cannot be observed (a real translator's cache holds a
    *copy* of the code).  This subclass models that copy: a block runs the
    words it was translated from (installed over the live ones while it runs,
    the live ones put back after), so a block that is not revalidated runs
    the old code.  With ``validate`` it is a correct translator (the control).
    """

    technique = "planted: binary translation never invalidates"
    validate = False

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._installed: dict = {}  # real address -> (live unit, installed unit)

    def lookup(self, st, prev):
        self._restore()
        key = (st.regs["pc"], st.regs["mode"])
        blk = prev.successors.get(key[0]) if prev is not None and prev.mode == key[1] else None
        if blk is None:
            blk = self.cache.get(key)
        if blk is not None and (not self.validate or all(self._word_at(st, a) == w for a, w in blk.words)):
            self.counters.tc_hits += 1
        else:
            if blk is not None:
                self.counters.tc_invalidations += 1
            self.counters.tc_misses += 1
            blk = self.translate_block(st)
            self.cache[key] = blk
        if prev is not None:
            prev.successors[key[0]] = blk
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
        mem = self.g.core.MEM
        for ra, (live, installed) in self._installed.items():
            if int(mem[ra]) == installed:  # else the block rewrote it: keep what it wrote
                mem[ra] = live
        if self._installed:
            self._installed.clear()
            self.g.core.flush_code_cache()

    def run(self, budget, stop_on=frozenset()):
        try:
            return super().run(budget, stop_on)
        finally:
            self._restore()


class RevalidatingCodeCache(StaleTranslationCache):
    technique = "control: binary translation with code-carrying translations, revalidated"
    validate = True


# ---------------------------------------------------------------- 4. lazy re-placement

class LazyReplacement(TrapAndEmulate):
    """Trap-and-emulate whose allocator re-places the guest only when an emulated instruction changed its mode."""

    technique = "planted: trap-and-emulate re-places only on a mode change"

    def __init__(self, spec, guest, params=None, core=None):
        super().__init__(spec, guest, params, core)
        _adopt(self.g, _LazyGuest, _placed_mode=self.g.virtual["mode"])


# ---------------------------------------------------------------- 5. an early return to user mode

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
            if not guest_mode_is_user(self.spec, self.g.virtual["mode"]):
                nxt, step = step_once(self.spec, self.g.view())
                if step.kind == "ok" and guest_mode_is_user(self.spec, nxt.regs["mode"]):
                    direct = 1  # the defect
                else:
                    done = interpret(self, 1, until_user=True, stop_on=stop_on)
                    steps += done.steps
                    if done.reason != "budget":
                        return self._exit(done.reason, steps, done.cause)
                    continue
            else:
                direct = budget - steps
            ex = self.g.core.run(direct, trap_exits="all")
            steps += ex.steps
            self.counters.direct += ex.steps
            self.counters.exits[ex.reason] += 1
            if ex.reason == "budget":
                continue
            if ex.reason == "halt":
                return self._exit("halt", steps)
            if ex.reason == "trap":
                self.counters.traps[ex.cause] += 1
            done = self.emulate()
            steps += done.steps
            if done.reason != "budget":
                return self._exit(done.reason, steps, done.cause)
        return self._exit("budget", steps)


# ---------------------------------------------------------------- the defects and what a find must say

@dataclass(frozen=True)
class Defect:
    id: str
    spec: str
    cls: type
    control: str  # the un-planted technique
    expect: object  # (counterexample) -> None, asserting the differences/culprit are sensible


def _diff(ce, *needles):
    text = "; ".join(ce.differences)
    assert any(n in text for n in needles), f"expected a difference in {needles}, got: {text}"


def _culprit(ce, uids=None, mode=None):
    assert ce.culprit is not None, "the step-by-step replay found no culprit"
    uid, m, pc, step = ce.culprit
    if uids is not None:
        assert uid in uids, f"culprit {uid} (guest {m} mode, pc {pc:#x}, step {step}), expected one of {uids}"
    if mode is not None:
        assert m == mode, f"culprit {uid} in guest {m} mode, expected {mode}"


def _expect_b(ce):
    # the very first commit is the reset trap, which loads the kernel's bound 0xFFFF
    _diff(ce, "b: native 0xffff, virtualized 0x7fff")
    _culprit(ce, uids={"(instruction fetch)"})


def _expect_l(ce):
    # only privileged code the fuzzer wrote can set l's top bit: setr, or lpsw of a PSW it found in memory
    _culprit(ce, uids={"setr", "lpsw"}, mode="s")


def _expect_saved_pc(ce):
    _diff(ce, "memory[0x1]:", "pc:")
    _culprit(ce)


def _expect_handler_pc(ce):
    # the handler's first instruction (st r0, k_save0) is skipped: the user's r0 comes back stale
    _diff(ce, "r[0]:", "memory[0x18]:", "pc:")
    _culprit(ce)


def _expect_stale(ce):
    # the second putc stores through the first putc's store: the output buffer differs
    _diff(ce, "memory[0x10", "memory[0x11")  # guest_out (0x100...) or the info block's count (0x15)
    _culprit(ce, uids={"st"}, mode="s")


def _expect_lazy(ce):
    _culprit(ce, mode="s")


def _expect_early_return(ce):
    # jrst 1, run as a plain jump leaves the virtual mode exec: the next trap saves a PC word without USER
    _culprit(ce, uids={"jrst1"}, mode="exec")


DEFECTS = [
    Defect("dropped-flag-b15", "pg74", dropped_bit("b", 15), "trap-and-emulate", _expect_b),
    Defect("dropped-flag-l15", "pg74", dropped_bit("l", 15), "trap-and-emulate", _expect_l),
    Defect("reflection-saved-pc", "pg74", SavedPcOffByOne, "trap-and-emulate", _expect_saved_pc),
    Defect("reflection-handler-pc", "pg74", HandlerPcOffByOne, "trap-and-emulate", _expect_handler_pc),
    Defect("stale-translation", "pg74", StaleTranslationCache, "binary-translation", _expect_stale),
    Defect("lazy-replacement", "pg74", LazyReplacement, "trap-and-emulate", _expect_lazy),
    Defect("hybrid-early-return", "pdp10", EarlyReturnHybrid, "hybrid", _expect_early_return),
]

# Each (spec, un-planted technique) pair once, plus the code-carrying translator with its check restored.
CONTROLS = sorted({(d.spec, d.control) for d in DEFECTS}) + [("pg74", RevalidatingCodeCache)]


@lru_cache(maxsize=None)
def _report(name):
    return check_spec(load(name))


def _search(spec_name, technique):
    spec, report = load(spec_name), _report(spec_name)
    return search(spec, technique, examples=EXAMPLES, seed=SEED, report=report, translate=translation_set(report))


def _shown(ce) -> str:
    cul = "none"
    if ce.culprit:
        uid, mode, pc, step = ce.culprit
        cul = f"{uid} (guest {mode} mode, pc {pc:#x}, step {step})"
    return (f"minimal program:\n{ce.program.assembly()}\ndifferences: {'; '.join(ce.differences)}\n"
            f"culprit: {cul}")


def _register(monkeypatch, cls) -> str:
    monkeypatch.setitem(vmm.TECHNIQUES, cls.technique, cls)
    return cls.technique


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.id)
def test_fuzzer_finds_planted_defect(defect, monkeypatch):
    name = _register(monkeypatch, defect.cls)
    r = _search(defect.spec, name)
    assert r.counterexample is not None, (
        f"{defect.id}: no divergence on {defect.spec} in {r.examples} examples (seed {SEED}); "
        f"events {r.events}, direct fraction {r.direct_fraction:.2f}")
    print(f"{defect.id} on {defect.spec}:\n{_shown(r.counterexample)}")
    try:
        defect.expect(r.counterexample)
    except AssertionError as e:
        raise AssertionError(f"{defect.id}: {e}\n{_shown(r.counterexample)}") from None


@pytest.mark.parametrize("spec_name,technique", CONTROLS,
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_control_finds_nothing(spec_name, technique, monkeypatch):
    if not isinstance(technique, str):
        technique = _register(monkeypatch, technique)
    r = _search(spec_name, technique)
    assert r.counterexample is None, (
        f"the un-planted {technique} diverges on {spec_name}:\n{_shown(r.counterexample)}")
    assert r.examples == EXAMPLES
