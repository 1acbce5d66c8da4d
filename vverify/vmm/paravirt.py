"""Paravirtualization: the guest is rewritten once, at load time, to call the VMM.

The loader rewrites every instruction the classifier flags (unsafe under the
map, or privileged) in the guest's code, using the spec's paravirtual
interface (``[virtualization.paravirt]``).  In user code it also rewrites
what would misbehave in a supervisor mode, because the guest kernel may
return there without leaving one (armv7a's SRS in user code, reached after
an exception return to SVC mode, was a NOP where it should have stored):

* an instruction that only copies a control register into a general
  register (z3 decides which: :mod:`vverify.formal.reads`) becomes a plain
  load from the **shared page**, where the VMM keeps the guest's virtual
  control registers up to date, so it costs no exit at all (Xen's
  shared_info page, which holds the virtual interrupt flag);
* every other flagged instruction becomes the **hypercall** instruction.
  Consecutive flagged instructions are **batched**: the hypercall at the
  first one says how many it stands for, and the VMM runs them all in one
  exit (Xen's multicalls).

The VMM keeps each original instruction and runs it, at a hypercall, through
the interpreter routines on the guest's view, exactly as trap-and-emulate
runs a trapping one; anything the rewriter did not reach (code the guest
writes later) still traps and is emulated, as under trap-and-emulate.

What the rewriter may patch is data the loader is given (``code``: the
address and length of every instruction, per kind of code), as a real
paravirtualized kernel is built from its own sources: the VMM never guesses
code from data.  The rewrite goes into the machine's instruction stream
(the core's pre-decoded code, :meth:`vverify.core.Core.predecode`), not into
the words the guest reads as data, so a guest that reads its own text (or
user code reading kernel text, which RISC-V without PMP allows) sees the
original; a store to a rewritten instruction undoes its rewrite, as
self-modifying code should, and a store that only comes near one costs an
exit that puts it back.  Kernel code is assumed to run in supervisor
mode (a load from the shared page is right only there), and the kernel
leaves its shared page to the VMM, as Xen's guests do: the guest's view for
the equivalence check shows the page as the guest left it at load time.

Where the spec's map virtualizes the MMU by shadow paging (riscv32_sv32),
this VMM runs on trap-and-emulate's shadow pager.  The rewrites need nothing
more: the code map gives physical addresses and the rewrite lives in the
machine's instruction stream at the physical address, so it is met through
whatever virtual address maps the code, and a guest store to it (through any
mapping) undoes it as above.  The classifier flags the kernel's loads and
stores there (unsafe in guest M-mode with MPRV), so they are rewritten, and
in user code too (a kernel may run it in a supervisor mode): at a hypercall
the VMM emulates them, and a store that changes a traced page table drops the
shadow entries made from it with no trace fault (``inline_pte_writes``;
vverify.vmm.shadow_paging.ShadowPager.emulated).  That is the part of Xen's batched
``mmu_update`` this interface has: a page-table store costs one hypercall,
shared with the flagged instructions next to it, instead of a trace fault.
A queue of updates handed over at once is not (docs/paging.md says why).
These guests run the Python dispatcher, not the compiled loop.
"""

from __future__ import annotations

from ..spec.exits import Exit

from ..core import Core
from ..memo import BoundedMemo
from ..spec.decode import decode
from ..spec.ir import mask
from ..spec.decode import unit_of_word
from .base import guest_mode_is_user
from .trap_emulate import TrapAndEmulate


class Paravirtualization(TrapAndEmulate):
    technique = "paravirtualization"
    summary = "the guest is rewritten at load time: flagged instructions become batched hypercalls or shared-page reads"
    requires = ("virtualization map", "real MMU", "paravirtual interface", "translation set")
    mmu_kinds = ("shadow",)  # trap-and-emulate's shadow pager: see the module docstring

    compiled = True
    """Serve exits in the compiled loop (vverify.vmm.paravirt_loop) where it applies; False runs the
    Python dispatcher below, the loop's reference (the constructor's ``compiled``)."""

    def __init__(self, spec, guest, params=None, core: Core | None = None, translate=None, code=None,
                 reads=None, shared: int | None = None, compiled: bool | None = None):
        super().__init__(spec, guest, params, core, compiled=compiled)
        self._pv_loop = None
        translate = translate or {}
        self.translate = {k: frozenset(translate.get(k, ())) for k in ("supervisor", "user")}
        # What the loader rewrites in each kind of code: what is unsafe there, and what would run wrongly
        # if the guest ran that code in the other kind of mode.  The guest kernel decides where its exception
        # returns land, and nothing exits on a plain branch, so a supervisor mode may meet user code (and
        # the other way round); a rewrite is emulated in whatever mode the guest is in, so it is always right.
        self.rewrite = {"supervisor": self.translate["supervisor"] | self.translate["user"],
                        "user": self.translate["user"] | frozenset(translate.get("supervisor_unsafe", ()))}
        self.pv = spec.virtualization.paravirt
        self.shared = shared if self.pv is not None and self.pv.read is not None else None
        self.slots: dict = {}  # control register -> its address on the shared page
        self.counts: dict = {}  # hypercall site -> how many original instructions it stands for
        self.after: dict = {}  # hypercall site -> the address of the original instruction after it
        self.patches: dict = {}  # rewritten address -> (what runs there, the original units)
        self._left = 0
        if self.pv is not None:
            self._rewrite(code or {}, reads or {})
        self._shared_original = self.g.units(self.shared, self._shared_size()) if self.slots else []
        self.publish()

    # ------------------------------------------------------------ load time
    def _rewrite(self, code: dict, reads: dict):
        spec, pv = self.spec, self.pv
        hc = spec.instructions[pv.hypercall]
        for kind in ("supervisor", "user"):
            flagged = []
            addrs = sorted(code.get(kind, {}))
            unsafe = self.rewrite[kind]
            # a word's unit, where it is one to rewrite (else None), remembered per spec: every guest
            # loaded brings the same kernel, and the loader looks at each of its instructions
            units = spec.memo(("pv_flagged_units", unsafe), lambda s: BoundedMemo(1 << 16))
            for addr, word in zip(addrs, self.g.words_at(addrs)):
                uid = units.get(word, units)
                if uid is units:
                    uid = unit_of_word(spec, word)
                    uid = units.remember(word, uid if uid is not None and uid in unsafe else None)
                if uid is None:
                    continue
                n = code[kind][addr]
                if kind == "supervisor" and uid in reads and self._patch_read(addr, n, decode(spec, word), reads[uid]):
                    continue
                # The hypercall replaces the instruction in the instruction stream only, so their
                # lengths need not match (x86): it exits before it runs, and the VMM runs the
                # original from memory, which advances pc by the original's own length.
                flagged.append((addr, n))
                self.after[addr] = addr + n
            calls = {}  # the hypercall word, by how many instructions it stands for
            for run in _runs(flagged):
                for i, addr in enumerate(run):
                    count = min(len(run) - i, mask(hc.operands[pv.count])) if pv.count else 1
                    if count not in calls:
                        ops = {o: 0 for o in hc.operands}
                        if pv.count:
                            ops[pv.count] = count
                        calls[count] = hc.encoding.encode(ops)
                    self._patch(addr, calls[count], self.after[addr] - addr)
                    self.counts[addr] = count

    def _patch(self, addr: int, word: int, n: int):
        self._predecode(addr, word)
        self.patches[addr] = (word, self.g.units(addr, n))  # what runs there, what it replaced

    def _emulate_original(self, addr: int) -> Exit:
        """Emulate the instruction the guest wrote at rewritten address ``addr``.

        The interpreter routines run over the machine's instruction stream,
        where they would meet the rewrite: it is taken out for the one
        instruction, and put back afterwards unless the guest's instruction
        changed meanwhile.
        """
        self.g.core.unpatch(self._slot(addr))
        try:
            return self.emulate()
        finally:
            self._repatch_at(addr)

    def _repatch_at(self, addr: int):
        """Put the rewrite at ``addr`` back if the guest's instruction there is unchanged, else drop it.

        The core forgets a pre-decoded instruction when a store may have
        touched it: any store to the ``max_ilen`` units from its start, on
        x86 up to 6 bytes of the data or code after it.  It then exits with
        ``patch`` instead of running what memory holds there, so a rewrite
        is never bypassed; only one whose instruction the guest really wrote
        over is dropped, as self-modifying code undoes any rewrite.
        """
        word, original = self.patches[addr]
        if self.g.units(addr, len(original)) == original:
            self._predecode(addr, word)
        else:
            self.g.core.unpatch(self._slot(addr))
            del self.patches[addr]
            self.counts.pop(addr, None)

    def emulate(self) -> Exit:
        """One guest instruction through the interpreter routines, which share the machine's
        instruction stream: where they meet a rewrite a store made it forget, they stop with
        ``patch`` as the machine does, and the rewrite is dealt with before they go on; where they
        meet a live rewrite, they run the instruction it stands for."""
        done = super().emulate()
        if done.reason == "patch":
            self._repatch_at(self._fetch_address())
            done = super().emulate()
        if done.reason == "hypercall":
            addr = self._fetch_address()
            if addr in self.patches and not self._is_hypercall(addr):
                # A rewrite is for code the machine runs directly; the routines meet one only where
                # the guest's code could not run there (mips32's kernel in kseg0 traps on every fetch
                # once deprivileged), and they run the guest's own instruction instead.
                self.g.core.unpatch(self._slot(addr))
                try:
                    done = super().emulate()
                finally:
                    self._repatch_at(addr)
        return done

    def _slot(self, addr: int) -> int:
        """Where guest address ``addr`` is in the machine's memory (the placement's offset)."""
        return (addr + self.g.offset) & self.g.amask

    def _predecode(self, addr: int, word: int):
        self.g.core.predecode(self._slot(addr), word)

    def _patch_read(self, addr, n, decoded, read) -> bool:
        """Rewrite a pure control read at ``addr`` into a shared-page load; False if it cannot be."""
        spec = self.spec
        name, ops = decoded
        op, reg = read
        load, load_reg, load_addr = self.pv.read
        li = spec.instructions[load]
        if self.shared is None or li.units != n:
            return False
        if reg not in self.slots:
            self.slots[reg] = self.shared + self._shared_size()
        where = self.slots[reg]
        if where > mask(li.operands[load_addr]):
            return False
        self._patch(addr, li.encoding.encode({load_reg: ops[op], load_addr: where}), n)
        return True

    def _shared_size(self) -> int:
        u = self.spec.memory.unit
        return sum(-(-self.spec.registers[r].width // u) for r in self.slots)

    def publish(self):
        """Write the guest's virtual control registers to the shared page (after every exit)."""
        if not self.slots:
            return
        g, u = self.g, self.spec.memory.unit
        mem, off, am = g.core.MEM, g.offset, g.amask
        for reg, addr in self.slots.items():
            v = g.virtual[reg]
            for k in range(-(-self.spec.registers[reg].width // u)):
                ra, unit = (addr + k + off) & am, (v >> (k * u)) & mask(u)
                if mem[ra] != unit:
                    mem[ra] = unit
                    g.core.invalidate(ra - self.spec.max_ilen_units + 1, ra + 1)  # keep the code cache coherent

    # ------------------------------------------------------------ run time
    def run(self, budget: int, stop_on=frozenset()) -> Exit:
        loop = self._paravirt_loop(budget)
        if loop is None:
            return super().run(budget, stop_on)  # the Python dispatcher (this class overrides it)
        self._start()
        self.stop_on = stop_on
        self.path = "compiled"
        return loop.run(self, budget, stop_on)

    _REFERENCE = ("dispatch", "emulate", "direct", "_serve", "_drain", "_emulate_original", "_repatch_at",
                  "publish", "_fetch_address", "_is_hypercall", "_predecode", "_slot", "run")

    def _paravirt_loop(self, budget):
        """The compiled loop's state for this guest, or None where the Python path must serve (the
        rules of TrapAndEmulate._compiled_dispatcher, for this class's methods)."""
        from .paravirt_loop import PVDispatcher, loop_for

        if not self._may_compile(budget, Paravirtualization, self._REFERENCE):
            return None
        d = self._pv_loop
        if d is None or len(d.TC) != max(int(self.trace_capacity), 1):
            loop = loop_for(self.g.core, self.loop_defect)
            if loop is None:
                return None
            try:
                d = PVDispatcher(self, loop)
            except ValueError:  # a rewrite word past 64 bits
                return None
            self._pv_loop = d
        return d

    def direct(self, budget: int):
        self._left = budget  # a batch must not run past the guest's budget
        out = super().direct(budget)
        self.publish()
        return out

    def dispatch(self, ex):
        if ex.reason == "patch":  # a store near a rewrite made the machine forget it: see _repatch_at
            self.counters.direct += ex.steps
            self.counters.exits["patch"] += 1
            self._repatch_at(self._fetch_address())
            return ex.steps, None, True
        steps, end, exited = self._serve(ex)
        if end is None and exited:
            more, end = self._drain(self._left - steps)
            steps += more
        return steps, end, exited

    def _drain(self, budget: int):
        """Before resuming the guest, emulate the flagged instructions it would run next.

        A rewrite covers the code the loader saw; an instruction the kernel
        writes at run time (pdp10's monitor builds its JRST 1 return gate
        that way) is reached right after an exit, and the dispatcher never
        resumes the guest on an instruction that is unsafe to run directly.
        """
        steps = 0
        while steps < budget:
            nxt = self.g.next_instruction()
            if nxt is None or nxt[0] in self.counts:  # a fetch fault, or rewritten: its hypercall will come
                break
            kind = "user" if guest_mode_is_user(self.spec, self.g.virtual["mode"]) else "supervisor"
            if unit_of_word(self.spec, nxt[1]) not in self.translate[kind]:
                break
            done = self.emulate()
            steps += done.steps
            if done.reason != "budget":
                return steps, done
        return steps, None

    def _serve(self, ex):
        if ex.reason != "hypercall":
            return super().dispatch(ex)
        c = self.counters
        c.direct += ex.steps
        c.exits["hypercall"] += 1
        addr = self._fetch_address()  # where the hypercall is in guest storage (pc may be relocated)
        if addr not in self.counts or self._is_hypercall(addr):  # memory holds a hypercall: the guest's own
            return ex.steps, Exit("hypercall"), True
        c.hypercalls += 1
        # the batch: the original instructions from here on, while control falls through them
        steps = ex.steps
        for _ in range(min(self.counts[addr], self._left - ex.steps)):
            done = self._emulate_original(addr)
            steps += done.steps
            if done.reason != "budget":
                return steps, done, True
            addr = self.after[addr]
            if addr not in self.counts or self._fetch_address() != addr:
                break
        return steps, None, True

    def _fetch_address(self):
        nxt = self.g.next_instruction()
        return None if nxt is None else nxt[0]

    def _is_hypercall(self, addr) -> bool:
        d = decode(self.spec, self.g.word_at(addr))
        return d is not None and d[0] == self.pv.hypercall

    def guest_memory(self):
        if not self.slots:
            return self.g.memory()
        mem = self.g.memory().copy()
        mem[self.shared:self.shared + len(self._shared_original)] = self._shared_original
        return mem


def _runs(instructions):
    """Maximal runs of adjacent instructions, from ``(address, length)`` pairs in address order."""
    out, end = [], None
    for a, n in instructions:
        if out and a == end:
            out[-1].append(a)
        else:
            out.append([a])
        end = a + n
    return out
