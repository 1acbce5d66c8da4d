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

Which instructions to translate is data the caller passes in, per mode
(``{"supervisor": units, "user": units}``, from the classifier's verdicts:
see :func:`vverify.vmm.translation_set`): the VMM itself knows nothing of
the solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core import Core
from ..interp.machine import _fetch, _Trap, decode
from ..spec import ir
from ..spec.units import unit_id
from .base import GuestExit, guest_mode_is_user
from .trap_emulate import TrapAndEmulate

MAX_BLOCK = 32


def _writes_pc(body) -> bool:
    return any(isinstance(s, ir.SetReg) and s.name == "pc" for s in ir.walk_stmts(body))


@dataclass
class Block:
    pc: int
    mode: int
    segments: list  # ("direct", n) or ("emulate", None)
    words: list  # (physical address, word) the translation was made from
    successors: dict = field(default_factory=dict)  # next pc -> Block (chaining)


class BinaryTranslation(TrapAndEmulate):
    technique = "binary-translation"
    summary = "guest-supervisor blocks are translated; unsafe and privileged instructions become VMM calls"
    requires = ("virtualization map", "translation set")

    def __init__(self, spec, guest, params=None, core: Core | None = None, translate=None):
        super().__init__(spec, guest, params, core)
        translate = translate or {}
        if not isinstance(translate, dict):  # a plain set: supervisor code only
            translate = {"supervisor": translate}
        self.translate = {k: frozenset(translate.get(k, ())) for k in ("supervisor", "user")}
        self.cache: dict = {}
        self._writes_pc = {n: _writes_pc(i.body) for n, i in spec.instructions.items()}

    # translation
    def translate_block(self, st) -> Block:
        spec = self.spec
        unsafe = self.translate["user" if guest_mode_is_user(spec, st.regs["mode"]) else "supervisor"]
        s = st.copy()
        segments, words = [], []
        run = 0
        for _ in range(MAX_BLOCK):
            try:
                addr, word = _fetch(spec, s)
            except _Trap:
                break  # the fetch faults: let the real core find out
            d = decode(spec, word)
            if d is None:
                break
            words.append((addr, word))
            name, ops = d
            if unit_id(spec, name, ops) in unsafe:
                if run:
                    segments.append(("direct", run))
                    run = 0
                segments.append(("emulate", None))
            else:
                run += 1
            if self._writes_pc[name]:
                break
            s.regs["pc"] = (s.regs["pc"] + spec.instructions[name].units) & ((1 << spec.pc_width) - 1)
        if run:
            segments.append(("direct", run))
        self.counters.translations += 1
        return Block(st.regs["pc"], st.regs["mode"], segments or [("direct", 1)], words)

    def lookup(self, st, prev: Block | None) -> Block:
        key = (st.regs["pc"], st.regs["mode"])
        blk = prev.successors.get(key[0]) if prev is not None and prev.mode == key[1] else None
        if blk is None:
            blk = self.cache.get(key)
        if blk is not None and all(self._word_at(st, a) == w for a, w in blk.words):
            self.counters.tc_hits += 1
        else:
            if blk is not None:
                self.counters.tc_invalidations += 1
            self.counters.tc_misses += 1
            blk = self.translate_block(st)
            self.cache[key] = blk
        if prev is not None:
            prev.successors[key[0]] = blk
        return blk

    def _word_at(self, st, addr):
        spec = self.spec
        m = spec.memory
        w = 0
        for k in range(spec.max_ilen_units):
            w |= st.read_mem((addr + k) & ((1 << m.address) - 1)) << (k * m.unit)
        return w

    # execution
    def run(self, budget: int, stop_on=frozenset()) -> GuestExit:
        self.stop_on = stop_on
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
            blk = self.lookup(self.g.view(), prev)
            prev = blk
            for kind, n in blk.segments:
                if steps >= budget:
                    break
                if kind == "emulate":
                    mode = self.g.virtual["mode"]
                    done = self.emulate()
                    steps += done.steps
                    if done.reason != "budget":
                        return self._exit(done.reason, steps, done.cause)
                    if self.g.virtual["mode"] != mode:  # the rest of the block was translated for the old mode
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
