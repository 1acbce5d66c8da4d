"""Binary translation: guest-supervisor code runs as translated blocks.

Before a guest-supervisor basic block runs, the VMM translates it: innocuous
instructions run directly on the real core (deprivileged, placed by the map),
and every instruction that would be unsafe there, or that would trap,
becomes a call into the VMM that acts on the virtual state with no trap.
Guest-user code runs directly, as in trap-and-emulate, unless the ISA has
instructions that are unsafe from user mode (Theorem 3 fails): then user
blocks are translated too.
Translations live in a translation cache keyed by guest pc and mode; a
translation remembers the code words it was made from and is thrown away
when they change (self-modifying code).  Consecutive blocks are chained, so
a hot loop finds its successor without a cache lookup.

What a pc means can change under a translation.  Where the spec's fetch
reads registers besides pc (pg74's relocation register, x86's CS base and
limit, mips32's TLB), a guest kernel can make the same (pc, mode) fetch
from elsewhere: it loads a PSW with another base, or writes a second code
descriptor into its GDT and far-jumps through it.  The old block's words
still match memory where they were fetched, so a check of the words alone
would reuse it, and the real core would run directly, at the new place,
instructions the translator never classified (a sensitive one among them),
while the emulated segments fell on the wrong instructions.  So a block
also remembers each fetch the translator made (the pc, and the address or
the fault: ``Block.fetched``) and the values of the fetch's other inputs
then (``Block.fetch``; :func:`~vverify.vmm.base.fetch_state_inputs`).  It
stands for its code only while each of its pcs is fetched from where it was
(:meth:`BinaryTranslation.fetches_same`):

* equal inputs answer at once: the lookup's only new cost is comparing those
  few registers (none on riscv32, three on x86);
* different inputs make every fetch of the block again: where all land where
  they did, the block remembers the new inputs and stays (mips32's kernel
  runs in kseg0, fetched from the same place whatever the TLB holds); where
  one does not, it is invalidated and translated again.

Keying the cache by the inputs' values, or requiring them equal, would be
as safe but not exact: it would translate mips32's kernel again for every
TLB state, and change what the VMM counts on the bundled workloads.  The
same check follows an emulated instruction that is not the block's last
(pg74's ``setr`` moves the relocation without writing pc, so the block
goes on), as the mode check does, and it guards chained successors as
cached ones.  An instruction that may write a fetch input whose data bits
the real core holds (mips32's c0_status, riscv32_sv32's mstatus) ends its
block where it runs directly: no check could follow it inside a direct
segment.

Where the fetch also reads memory (riscv32_sv32's page tables) the VMM
virtualizes the MMU by shadow paging, as trap-and-emulate does
(vverify/vmm/shadow_paging.py), and a block's fetches depend on the guest's
tables too, which no register shows.  So the translator's fetches are the
pager's walks of the guest's tables, each table frame they read is traced
(write-protected in every shadow, as the frames the pager fills shadows
from), and the fetch inputs a block remembers include the pager's epoch
(:func:`~vverify.vmm.shadow_paging.tables_epoch`), which changes with every
write to a traced frame, traced or emulated, and every flush.  A block
looked up after a change makes its fetches again: it stays where every pc
is fetched from where it was, and is invalidated where one moved (counted in
``tc_invalidations``).  That is exact and drops no more than it must: a
write to a PTE of a data page costs each block one walk per pc at its next
lookup, not a translation.  These guests run the Python loop.
The first block of pg74's boot is one this changes: it is
translated where the fetch faults (the reset bound b = 0), and once the
reset trap loads the kernel's bound it is translated again, not reused.

Which instructions to translate is data the caller passes in, per mode
(``{"supervisor": units, "user": units}``, from the classifier's verdicts:
see :func:`vverify.vmm.translation_set`): the VMM itself knows nothing of
the solver.
"""

from __future__ import annotations

from ..spec.exits import Exit

from dataclasses import dataclass, field

import numpy as np

from ..core import Core
from ..core.protocol import REASONS
from ..spec.decode import decode
from ..spec import ir
from ..spec.decode import unit_of_word
from ..memo import BoundedMemo
from .base import fetch_state_inputs, guest_mode_is_user
from .binary_translation_loop import CompiledTranslator, code_units, loop_for
from .trap_emulate import TrapAndEmulate

MAX_BLOCK = 32


def _writes_pc(spec) -> dict:
    """Per instruction, whether its semantics may set pc (so a basic block ends with it)."""
    return spec.memo("bt_writes_pc", lambda s: {
        n: any(isinstance(st, ir.SetReg) and st.name == "pc" for st in ir.walk_stmts(i.body))
        for n, i in s.instructions.items()})


def _moves_fetch(spec) -> dict:
    """Per instruction, whether its semantics may set a register the fetch reads whose data bits the
    real core holds (mips32's c0_status, riscv32_sv32's mstatus): run directly, it may make the real
    core fetch what follows from elsewhere, so a basic block ends with it.  The registers' control
    bits change only under emulation, after which the block is checked again (see run)."""
    def make(s):
        moving = {n for n in fetch_state_inputs(s) if s.registers[n].data_mask}
        return {n: any(isinstance(st, ir.SetReg) and st.name in moving for st in ir.walk_stmts(i.body))
                for n, i in s.instructions.items()}
    return spec.memo("bt_moves_fetch", make)


@dataclass
class Block:
    pc: int
    mode: int
    segments: list  # ("direct", n) or ("emulate", None)
    words: list  # (physical address, word) the translation was made from
    successors: dict = field(default_factory=dict)  # next pc -> Block (chaining)
    units: tuple | None = None  # the words as (indexes in the machine's memory, units), where known already
    fetched: tuple = ()  # (pc, guest address or None: a fault) of every fetch the translator made
    fetch: tuple | None = None  # the fetch's other inputs (PlacedGuest.fetch_state) they were made or last matched under


class BinaryTranslation(TrapAndEmulate):
    technique = "binary-translation"
    summary = "guest-supervisor blocks are translated; unsafe and privileged instructions become VMM calls"
    requires = ("virtualization map", "real MMU", "translation set")
    mmu_kinds = ("shadow",)  # trap-and-emulate's shadow pager, with the blocks following the tables (above)

    compiled = True
    """Run blocks in the compiled block loop (vverify.vmm.binary_translation_loop) where it applies;
    False runs the Python loop below, the compiled one's reference (the constructor's ``compiled``)."""
    translation_defect = False  # a planted defect for the compiled loop (tests/fuzz/quality): leave it False
    _PYTHON = ("run", "lookup", "still_valid", "fetches_same", "translate_block", "direct", "dispatch", "emulate")

    def __init__(self, spec, guest, params=None, core: Core | None = None, translate=None,
                 compiled: bool | None = None):
        super().__init__(spec, guest, params, core, compiled)
        translate = translate or {}
        if not isinstance(translate, dict):  # a plain set: supervisor code only
            translate = {"supervisor": translate}
        self.translate = {k: frozenset(translate.get(k, ())) for k in ("supervisor", "user")}
        self.cache: dict = {}
        self._writes_pc = _writes_pc(spec)
        self._moves_fetch = _moves_fetch(spec)
        if self.pager is not None:
            self.g.trace_fetches = True  # a block remembers its fetches: their tables must be traced

    # translation
    def translate_block(self, pc: int, mode: int) -> Block:
        """Translate the basic block at guest ``pc``, for guest ``mode``.

        A translation is a function of where the guest fetches (the fetch's
        registers at ``pc``), of the code words there, of the mode and of what
        is translated in it, so the spec remembers each one it made and a VMM
        that meets the same block again (every fresh VMM of a benchmark or a
        fuzz run boots the same kernel) checks the words with one gather
        instead of fetching, decoding and classifying them one by one.  It
        still counts as a translation: the cost model charges the translator's
        work per block, whoever did it first in this process.
        """
        spec, g = self.spec, self.g
        unsafe = self.translate["user" if guest_mode_is_user(spec, mode) else "supervisor"]
        key = g.fetch_key(pc)
        memo = None
        if key is not None:
            key = (key, mode, unsafe)
            memo = spec.memo("bt_translations", lambda s: BoundedMemo(1 << 12))
            made = memo.get(key)
            if made is not None:
                segments, words, fetched, placed = made
                # its code as units of the machine's memory, per placement: one gather checks them all.
                # A placement met for the first time compares words first, and works the units out only
                # for a hit: where the code differs on every visit (pdp10's forkwait writes the monitor's
                # return gate for each process), working them out for nothing made binary translation
                # slower than interpretation
                units = placed.get(g.offset)
                if units is not None:
                    same = np.array_equal(g.core.MEM[units[0]], units[1])
                else:
                    addrs = [a for a, _ in words]
                    got = g.words_at(addrs) if len(addrs) >= 8 else [g.word_at(a) for a in addrs]  # numpy from 8
                    same = list(got) == [w for _, w in words]
                    if same:
                        units = placed[g.offset] = code_units(g, words)
                if same:
                    self.counters.translations += 1
                    return Block(pc, mode, list(segments), list(words), units=units, fetched=fetched,
                                 fetch=g.fetch_state())
        block = self._translate(pc, mode, unsafe)
        if memo is not None:
            memo.remember(key, (tuple(block.segments), tuple(block.words), block.fetched, {}))
        return block

    def _translate(self, pc: int, mode: int, unsafe) -> Block:
        """The translator itself: fetch, decode and classify from ``pc`` to the block's end (the
        first instruction that may set pc, an undecodable word, a fault or MAX_BLOCK)."""
        spec, g = self.spec, self.g
        segments, words, fetched = [], [], []
        run, at = 0, pc
        for _ in range(MAX_BLOCK):
            nxt = g.next_instruction(at)
            fetched.append((at, None if nxt is None else nxt[0]))
            if nxt is None:
                break  # the fetch faults: let the real core find out
            addr, word = nxt
            words.append((addr, word))
            d = decode(spec, word)
            if d is None:  # the block ends at a word that encodes nothing; it is kept among the words, so
                break  # that an instruction written there later is translated, not run directly
            name = d[0]
            if unit_of_word(spec, word) in unsafe:
                if run:
                    segments.append(("direct", run))
                    run = 0
                segments.append(("emulate", None))
            else:
                run += 1
                if self._moves_fetch[name]:
                    break
            if self._writes_pc[name]:
                break
            at = (at + spec.instructions[name].units) & ((1 << spec.pc_width) - 1)
        if run:
            segments.append(("direct", run))
        self.counters.translations += 1
        return Block(pc, mode, segments or [("direct", 1)], words, fetched=tuple(fetched), fetch=g.fetch_state())

    def lookup(self, pc: int, mode: int, prev: Block | None) -> Block:
        """The translation of the block at ``pc`` in ``mode``: chained from ``prev``, cached, or made now."""
        blk = prev.successors.get(pc) if prev is not None and prev.mode == mode else None
        if blk is None:
            blk = self.cache.get((pc, mode))
        if blk is not None and self.still_valid(blk):
            self.counters.tc_hits += 1
        else:
            if blk is not None:
                self.counters.tc_invalidations += 1
            self.counters.tc_misses += 1
            blk = self.translate_block(pc, mode)
            self.cache[pc, mode] = blk
        if prev is not None:
            prev.successors[pc] = blk
        return blk

    def still_valid(self, blk: Block) -> bool:
        """Whether the guest's code is still what ``blk`` was translated from: fetched from the same
        places (see :meth:`fetches_same`) and the same words there (self-modifying code)."""
        return self.fetches_same(blk) and all(self.g.word_at(a) == w for a, w in blk.words)

    def fetches_same(self, blk: Block) -> bool:
        """Whether each pc of ``blk`` is still fetched from where it was translated from (or still
        faults; the module docstring says why it matters).  The fetch's other inputs as the block
        last matched them answer at once; where they changed, every fetch is made again, and where
        all agree the block remembers the new inputs."""
        now = self.g.fetch_state()
        if now == blk.fetch:
            return True
        if any(self.g.fetch_address(pc) != addr for pc, addr in blk.fetched):
            return False
        blk.fetch = now
        return True

    # execution
    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        self._start()
        self.stop_on = stop_on
        translator = self._compiled_translator(budget)
        self.path = "python" if translator is None else "compiled"
        if translator is not None:
            reason, cause, steps, (direct, emulated, exits, traps, reflected, hits) = \
                translator.run(budget, stop_on, self.trace)
            c = self.counters
            c.direct += direct
            c.emulated += emulated
            c.tc_hits += hits
            for i in np.flatnonzero(exits).tolist():
                c.exits[REASONS[i]] += int(exits[i])
            for i in np.flatnonzero(traps).tolist():
                c.traps[translator.causes[i]] += int(traps[i])
            for i in np.flatnonzero(reflected).tolist():
                c.reflected[translator.causes[i]] += int(reflected[i])
            return self._exit(reason, steps, cause)
        if self._translator is not None:  # the compiled path ran before: its chains go to the blocks
            self._translator.tc.export()
            self._translator = None
        steps = 0
        prev = None
        while steps < budget:
            if guest_mode_is_user(self.spec, self.g.virtual["mode"]) and not self.translate["user"]:
                prev = None
                n, end, _ = self.direct(budget - steps)
                steps += n
                if end is not None:
                    return self._exit(end.reason, steps, end.cause)
                continue
            blk = self.lookup(self.g.reg_view("pc"), self.g.virtual["mode"], prev)
            prev = blk
            last = len(blk.segments) - 1
            for i, (kind, n) in enumerate(blk.segments):
                if steps >= budget:
                    break
                if kind == "emulate":
                    mode = self.g.virtual["mode"]
                    done = self.emulate()
                    steps += done.steps
                    if done.reason != "budget":
                        return self._exit(done.reason, steps, done.cause)
                    # the rest of the block was translated for the old mode, or is fetched from elsewhere
                    if self.g.virtual["mode"] != mode or (i < last and not self.fetches_same(blk)):
                        prev = None
                        break
                    continue
                done, end, exited = self.direct(min(n, budget - steps))
                steps += done
                if end is not None:
                    return self._exit(end.reason, steps, end.cause)
                if exited:  # left the block early (a trap, emulated): no chaining from it
                    prev = None
                    break
        return self._exit("budget", steps)

    _translator = None

    def _compiled_translator(self, budget):
        """The compiled loop's side for this guest, or None where the Python path must serve: not
        asked for; a subclass that changes any part of the Python loop (lookup, validation,
        translation, execution: the planted defects, or a translator of its own) or a placed guest of
        a subclass; a core without compiled kernels; routines that cannot run the placement; a
        budget past int64."""
        if not self._may_compile(budget, BinaryTranslation, self._PYTHON):
            return None
        t = self._translator
        if t is None or len(t.TC) != max(int(self.trace_capacity), 1):
            loop = loop_for(self.g.core, self.translation_defect)
            if loop is None:
                return None
            if t is not None:
                t.tc.export()  # a new buffer: the translations carry over through the Python objects
            t = self._translator = CompiledTranslator(self, loop, self.trace_capacity)
        return t
