"""Shadow paging: the VMM owns the real page tables, the guest's are virtual (Sv32).

A guest kernel that runs deprivileged cannot be given the real root pointer:
its own tables would then govern the real machine, with the guest's
supervisor pages refused to the real user mode it runs in and its user
pages open to its kernel whatever ``SUM`` says.  So the VMM keeps the
guest's ``satp`` virtual and points the real one at *shadow* tables of its
own, built from the guest's as the guest touches memory (VMware's software
MMU, Xen's shadow mode; Adams & Agesen 2006, section 4):

* a **shadow** is one real two-level table per *view*: the guest's root
  with the privilege the guest runs at (S or U) and, for S, ``SUM``, and
  ``MXR``; or the identity view (guest M-mode, or ``satp`` Bare), which maps
  guest RAM one to one.  Every shadow leaf is a real U page (the guest runs
  in real U-mode) with the permissions the guest would have in that view;
* the guest's walk is **the spec's own**: its translation helper
  (``[virtualization.mmu] translate``), compiled by the core's generator
  (vverify.core.helpergen) and run on the guest's view of its registers
  (virtual ``satp`` and ``mstatus``) over guest RAM.  The trap it raises is
  the guest's fault; the entries it reads are the tables walked, the last
  one the leaf.  No Sv32 rule is written here: what this module knows of
  Sv32 is the format of the real tables it writes and which ``mstatus``
  bits key a view (:func:`unsupported`);
* shadows start empty and are filled on **hidden page faults**: the real
  machine faults where the guest's own walk succeeds, the VMM copies the
  entry and the instruction runs again.  A shadow leaf's R, W and X are
  whether the walk for a load, a store and a fetch in that view reaches the
  same frame.  A **true page fault** (the guest's
  walk faults too) goes to the interpreter routines, which raise it on the
  virtual state with the spec's cause and trap value and deliver it;
* every frame the VMM walked through as a guest page table is mapped
  read-only in every shadow, so a guest store to it faults: a **traced
  write**.  The VMM emulates the store and drops the shadow entries that
  came from the entry written; they are filled again on the next touch.
  The model has no TLB (docs/paging.md), so the shadow must follow the
  guest's tables at once, not at the next ``SFENCE.VMA``;
* a guest ``satp`` write, an ``sstatus``/``mstatus`` write that changes SUM
  or MXR, and a change of the guest's mode (trap, ``sret``, ``mret``) only
  switch the real root to another shadow, kept coherent by the traces.

Where the shadows live.  The spec bounds every physical address, a PTE's
included, by ``MEM_SIZE``: guest RAM is the whole of it, and a guest in
M-mode reaches all of it.  So the real machine is the spec with a memory
twice as large (:func:`host_spec`: the same text plus one table that
doubles ``[state.memory] size`` and ``MEM_SIZE``): the lower half is guest
RAM, the upper half the VMM's frames for shadow tables.  Shadows map only
guest RAM, so every guest access past its RAM faults on the real machine
and the VMM's walk finds the access fault the guest gets natively.  The
interpreter routines run the spec itself (its own core, whose memory is a
view of the host's lower half), so everything emulated sees guest RAM as
natively.  No spec and no other technique changes: the larger core is built
only here, from the spec's own text.

The events are few kinds (:meth:`ShadowPager.classify`), served here in
Python, the walk compiled.  The commonest, a hidden fault whose tables are
already traced and whose shadow already has the level-0 table, a traced
write whose emulation stores the traced word only, and a trapped
instruction that is no fault or a true fault whose emulation (and
reflection to the guest) keeps the view, are also served by a
compiled loop around the real core (vverify/vmm/shadow_paging_loop.py) that
trap-and-emulate runs in place of the core's ``run``; it decides from
:attr:`ShadowPager.TRACED` (the traced frames as a bitmap), the shadows'
``src`` as arrays (``SROOT``, ``GROOT``, ``SRC``, kept with the dicts) and
the real tables, and logs what it changes in ``leaves`` for
:meth:`ShadowPager.drain_fills`.  Everything else returns to Python.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..core import Core
from ..spec.loader import load_spec
from .base import PlacedGuest
from .emulation import Emulator
from .shadow_paging_loop import (MISSED_INVALIDATION, RESUME_EMULATE, RESUME_TRACED, SERVE_EMULATE, SERVE_HIDDEN,
                                 SERVE_TRACED)

PAGE = 4096
V, R, W, X, U, G, A, D = (1 << i for i in range(8))
M_MODE, S_MODE, U_MODE = 3, 1, 0
ACC_FETCH, ACC_LOAD, ACC_STORE = 0, 1, 2  # the pager's access kinds (indexes of ACC_NAMES)
ACC_NAMES = ("ACC_FETCH", "ACC_LOAD", "ACC_STORE")  # the spec's constants: the value the walk is called with
SUM, MXR, MPRV = 1 << 18, 1 << 19, 1 << 17

# the privileged architecture's memory faults by name, per access kind
PAGE_FAULTS = ("instruction_page_fault", "load_page_fault", "store_page_fault")
ACCESS_FAULTS = ("instruction_access_fault", "load_access_fault", "store_access_fault")
# real causes by name -> the access they come from
FAULT_ACCESS = {**{c: k for k, c in enumerate(PAGE_FAULTS)}, **{c: k for k, c in enumerate(ACCESS_FAULTS)}}

MAX_SHADOWS = 8  # views kept at once; past that, all are dropped (a flush) and rebuilt on demand
FILL_LOG = 1024  # changes to ``leaves`` the compiled path logs before Python makes them (drain_fills)
LOG_ADD, LOG_DISCARD = 1, 0  # what a row of the log does to ``leaves``

DEFECTS = ("missed_invalidation", "user_bit", "stale_root")
"""Defects a test may plant (``ShadowPager.defect``) to show that the equivalence tests catch them:
a traced PTE write that drops no shadow entry; the U bit's meaning lost (guest user code runs on the
shadow the kernel filled, so an S page the kernel touched stays open to user code); a satp switch
that keeps using the previous root's shadow.  Leave it None."""


def walks_page_tables(spec) -> bool:
    from ..spec import ir

    return any(isinstance(s, ir.Load) for s in ir.walk_stmts(spec.fetch_body or ()))


def mmu_kind(spec):
    """How the spec's map virtualizes its MMU: ``[virtualization.mmu] kind`` ("shadow", "nested"), or None."""
    vm = spec.virtualization
    mmu = vm.mmu if vm is not None else None
    return mmu.kind if mmu is not None else None


def unsupported(spec) -> str | None:
    """Why this pager cannot shadow ``spec``'s tables, or None.

    The guest's walk is the spec's own translation helper (``[virtualization.mmu] translate``), so
    what a spec must still share with Sv32 is only what the pager does itself, around the walk: it
    writes real Sv32 shadow tables (two levels of 1024 four-byte entries, V R W X U A D in bits 0-7,
    the frame from bit 10) into byte memory past the guest's (``MEM_SIZE`` doubled), points the real
    ``satp`` at them (MODE in bit 31, the root's frame in bits 21:0), keys its views on the modes
    M/S/U and on ``mstatus``'s MPRV, MPP, SUM and MXR, calls the helper as ``(address, access,
    privilege)`` with the access kinds ``ACC_FETCH``/``ACC_LOAD``/``ACC_STORE``, and tells page
    faults from access faults by the privileged architecture's cause names."""
    mmu = getattr(spec.virtualization, "mmu", None) if spec.virtualization is not None else None
    h = spec.namespace.helpers.get(mmu.helper) if mmu is not None else None
    c = spec.constants
    if not (walks_page_tables(spec) and h is not None and len(h.params) == 3
            and set(PAGE_FAULTS + ACCESS_FAULTS) <= set(spec.causes) and set(ACC_NAMES) <= set(c)
            and "MEM_SIZE" in c and c["MEM_SIZE"] == spec.memory.size and spec.memory.unit == 8
            and {"satp", "mstatus", "mode"} <= set(spec.registers)
            and getattr(spec, "modes", None) == {"U": U_MODE, "S": S_MODE, "M": M_MODE}):
        return ("its shadow pager writes Sv32 shadow tables and keys them on satp and mstatus's MPRV/SUM/MXR "
                "(vverify/vmm/shadow_paging.py): the spec must share Sv32's formats, causes and modes around "
                "its own translate(address, access, privilege)")
    return None


def host_spec(spec):
    """The real machine of a shadow-paging VMM: ``spec`` with twice its memory (see the module
    docstring).  Loaded from the very text ``spec`` was loaded from, plus a table of its own."""
    def make(s):
        from pathlib import Path

        size = 2 * s.memory.size
        m = s.memory
        text = (f'[isa]\nname = "{s.name}_shadow_host"\nextends = "{Path(s.path).name}"\n'
                f'[state.memory]\nunit = {m.unit}\naddress = {m.address}\nsize = {size}\n'
                f'fault = "{m.fault}"\n[constants]\nMEM_SIZE = {size}\n').encode()
        path = (Path(s.path).parent / f"{Path(s.path).stem}.shadow-host.toml").resolve()
        return load_spec(path, {**s.sources, str(path): text})

    return spec.memo("shadow_host_spec", make)


_machines = weakref.WeakKeyDictionary()
"""A caller's core (a reusable one per role) -> the pair of machines a shadow pager uses in its place:
the host core and the spec's core for the interpreter routines.  Reusing them as the caller reuses its
core keeps a fuzz run from allocating both for every program."""


def machines_for(spec, core: Core | None):
    """``(host core, routines core)``: the real machine and the core whose memory is a view of the
    host's lower half, for the interpreter routines (see the module docstring)."""
    if core is not None and core in _machines:
        return _machines[core]
    host = Core(host_spec(spec))
    routines = Core(spec)
    routines.MEM = host.MEM[:spec.memory.size]  # guest RAM, shared
    # Mark every page as holding code, so that every store the routines make advances their
    # code-write generation: the pager learns that an emulated instruction wrote memory.
    routines.CODE_PAGES[:] = 1
    pair = (host, routines)
    if core is not None:
        _machines[core] = pair
    return pair


class Walk:
    """What the guest's own walk gives for one access: the spec's translation helper, run on the
    guest's registers as it sees them (:meth:`ShadowPager.walk`)."""

    __slots__ = ("fault", "cause", "pa", "pte", "tables", "refs")

    def __init__(self, fault, pa=0, pte=0, tables=(), refs=0, cause=None):
        self.fault = fault  # None, "page" or "access" (or the cause, for a trap that is neither)
        self.cause = cause  # the cause the walk trapped with (None: it translated, or pa is past guest RAM)
        self.pa = pa
        self.pte = pte  # the leaf: the last entry read
        self.tables = tables  # the guest frames read as page tables, in walk order (root first)
        self.refs = refs  # PTE reads


class Shadow:
    """One real page table: a root frame and, per VPN[1], a level-0 frame of the VMM's."""

    def __init__(self, key, root):
        self.key = key
        self.root = root  # host frame number
        self.l0 = {}  # vpn1 -> host frame of the level-0 table
        self.src = {}  # vpn1 -> guest level-0 frame it was filled from, or None (a superpage, or identity)
        self.slot = 0  # its row in the pager's arrays for the compiled path (ShadowPager.SRC)


class ShadowPager:
    """The shadow tables of one guest, and the events that keep them (see the module docstring)."""

    defect = None  # one of DEFECTS, planted by a test; leave it None
    loop_defect = None  # "missed_invalidation" planted in the compiled loop only (tests/fuzz/quality); leave it None

    def __init__(self, placed: "ShadowPlacedGuest", counters):
        self.g = placed
        self.counters = counters
        spec = placed.spec
        self.ram = spec.memory.size  # guest RAM, bytes
        self.ram_frames = self.ram // PAGE
        host = placed.core
        self.W32 = host.MEM.view("<u4")  # the host's memory as words: guest tables and shadows
        self.free = list(range(self.ram_frames, host.spec.memory.size // PAGE))
        self.shadows = {}
        self.current = None
        self.traced = set()  # guest frames walked as page tables: read-only in every shadow
        self.leaves = {}  # guest frame -> {(shadow key, host word index)} of shadow leaves mapping it
        # for the compiled path (vverify.vmm.shadow_paging_loop): ``traced`` as a bitmap over guest
        # frames; the shadows by slot (their order in ``shadows``): the host root frame, the guest root
        # frame of a paged one (-1: the identity view, or no shadow) and ``src`` (-1: None, or absent);
        # and the changes it made to ``leaves``, (LOG_ADD or LOG_DISCARD, guest frame, host word, slot),
        # until drain_fills makes them
        self.TRACED = np.zeros(self.ram_frames, dtype=np.uint8)
        self.SROOT = np.full(MAX_SHADOWS, -1, dtype=np.int64)
        self.GROOT = np.full(MAX_SHADOWS, -1, dtype=np.int64)
        self.SRC = np.full((MAX_SHADOWS, 1024), -1, dtype=np.int64)
        self.by_slot = []  # the shadows by slot
        self.LOG = np.zeros((FILL_LOG, 4), dtype=np.int64)
        self._serve_loop = None  # the compiled loop, made on first use; False where it cannot be built
        self.served_compiled = 0  # events the compiled path served: hidden faults, traced writes, emulations
        self.traced_compiled = 0  # of them, traced writes (counted in traced_writes too)
        self.emulated_compiled = 0  # of them, other trapped instructions emulated (privileged ones...) and
        #   true faults delivered to the guest, where the result keeps the view
        self.true_compiled = 0  # of those, true faults (counted in true_faults too)
        self.traced_resumed = 0  # traced writes it emulated and handed back to Python to finish
        self.emulated_resumed = 0  # other trapped instructions it began to emulate and handed back
        # runs whose budget ended on a traced write the compiled path served: it returns then, once, as
        # the run ends, where the Python path had returned for the write itself (one crossing not saved)
        self.budget_ends_compiled = 0
        self.traced_in_compiled = True  # let the compiled path serve traced writes (False: hidden faults only)
        self.resume_traced = False  # tests: hand every traced write back after emulating it (the rare path)
        # let the compiled path emulate the other trapped instructions (classify's "other": privileged
        # instructions, ecall...) where the view stays; tests: hand each back after the routines' run
        self.emulate_in_compiled = True
        self.resume_emulated = False
        self._satp = placed.core.layout.reg_index["satp"]
        # the guest's walk: the spec's translation helper, compiled, on the routines' core (guest RAM)
        mmu = spec.virtualization.mmu
        h = placed.routines.compiled_helper(mmu.helper)
        self._translate, self._mem, self._reads = h.function, placed.routines.MEM, h.reads
        rest = [p for p in h.params if p != mmu.privilege]  # (address, access), in the helper's order
        order = [rest.index(p) if p != mmu.privilege else 2 for p in h.params]
        self._order = None if order == [0, 1, 2] else order
        self._acc = tuple(spec.constants[n] for n in ACC_NAMES)
        # the fault a trap of the walk is, by the compiled helper's cause index
        self._fault = [("page" if c in PAGE_FAULTS else "access" if c in ACCESS_FAULTS else c, c) for c in h.causes]

    # ------------------------------------------------------------ views

    def view_key(self):
        """The shadow the guest's state selects: ("id",), ("paged", root, priv, sum, mxr), or
        ("interpret",) where no one table serves it (M-mode with MPRV translating its data)."""
        g = self.g
        mode = g.virtual["mode"]
        satp = g.reg_view("satp")
        ms = g.reg_view("mstatus")
        paged = satp >> 31 == 1
        if mode == M_MODE:
            mpp = (ms >> 11) & 3
            if paged and ms & MPRV and mpp != M_MODE:
                return ("interpret",)
            return ("id",)
        if not paged:
            return ("id",)
        if self.defect == "user_bit":  # the planted defect: user code gets the kernel's shadow
            return ("paged", satp & 0x3FFFFF, S_MODE, 0, 0)
        return ("paged", satp & 0x3FFFFF, *self._paged_view(mode, ms))

    @staticmethod
    def _paged_view(mode: int, ms: int) -> tuple:
        """``(privilege, SUM, MXR)``: what a shadow's permissions depend on besides the guest's tables
        (SUM only matters to S-mode)."""
        priv = U_MODE if mode == U_MODE else S_MODE
        return priv, int(bool(ms & SUM)) if priv == S_MODE else 0, int(bool(ms & MXR))

    def must_interpret(self) -> bool:
        return self.view_key()[0] == "interpret"

    def real_satp(self) -> int:
        """The real satp for the guest as it is now: the root of its view's shadow (made if new)."""
        key = self.view_key()
        if key[0] == "interpret":
            key = ("id",)  # not run directly (must_interpret); any valid root will do
        if self.defect == "stale_root" and key[0] == "paged" and self.current is not None \
                and self.current.key[0] == "paged" and self.current.key[2:] == key[2:]:
            key = self.current.key  # the planted defect: the old root's shadow after a switch
        s = self.shadows.get(key)
        if s is None:
            s = self._build(key)
        self.current = s
        return (1 << 31) | s.root

    def _alloc(self) -> int:
        f = self.free.pop()  # callers make sure there is one (classify, _build)
        self.W32[f * 1024:(f + 1) * 1024] = 0
        return f

    def _build(self, key) -> Shadow:
        if len(self.shadows) >= MAX_SHADOWS or len(self.free) < 2:
            self.flush()
        s = Shadow(key, self._alloc())
        s.slot = len(self.shadows)  # < MAX_SHADOWS: shadows are dropped only all at once (flush)
        self.shadows[key] = s
        self.by_slot.append(s)
        self.SROOT[s.slot] = s.root
        self.GROOT[s.slot] = key[1] if key[0] == "paged" else -1
        self.SRC[s.slot] = -1
        self.counters.shadow_builds += 1
        if key[0] == "id":
            # guest RAM one to one, eagerly: one level-0 table covers it (256 KiB < 4 MiB)
            for va in range(0, self.ram, PAGE):
                self._fill(s, va, va >> 12, R | W | X)
        else:
            self._trace(key[1])
        return s

    def flush(self):
        """Drop every shadow (out of frames or views, or after emulated stores whose addresses are
        unknown); they are rebuilt on demand."""
        for s in self.shadows.values():
            self.free.append(s.root)
            self.free.extend(s.l0.values())
        self.shadows.clear()
        self.by_slot.clear()
        self.SROOT[:] = -1
        self.GROOT[:] = -1
        self.SRC[:] = -1
        self.current = None
        self.traced.clear()
        self.TRACED[:] = 0
        self.leaves.clear()
        self.counters.shadow_flushes += 1

    # ------------------------------------------------------------ the guest's walk

    def walk(self, va: int, acc: int, priv: int, view=None) -> Walk:
        """The guest's own walk for an access of kind ``acc`` (ACC_FETCH...) to ``va`` at privilege
        ``priv``: the spec's translation helper on the guest's registers as it sees them (``view``,
        :meth:`PlacedGuest.view_array`, composed if None), reading the guest's tables in guest RAM.
        The trap it raises is the fault; the entries it reads are the tables walked, the last the
        leaf.  A physical address past guest RAM is the access fault the caller checks for, as the
        spec's loads and stores do after translating."""
        if view is None:
            view = self.g.view_array()
        args = (va, self._acc[acc], priv)
        if self._order is not None:
            args = [args[k] for k in self._order]
        exc, _, pa, refs = self._translate(view, self._mem, self._reads, *args)
        reads = self._reads[:2 * refs].tolist()
        tables = tuple(a // PAGE for a in reads[::2])  # read up to the fault too: a write there may cure it
        if exc >= 0:
            kind, cause = self._fault[exc]
            return Walk(kind, tables=tables, refs=refs, cause=cause)
        if pa >= self.ram:
            return Walk("access", tables=tables, refs=refs)
        return Walk(None, pa, reads[-1] if refs else 0, tables, refs)

    def _perms(self, va: int, frame: int, priv: int, view, known: dict) -> int:
        """The R/W/X of the shadow leaf for ``va``: R where the guest's walk for a load at ``priv`` (and
        the guest's mstatus: SUM, MXR) reaches ``frame``, W for a store, X for a fetch -- exactly the
        accesses the guest's tables allow there (docs/paging.md, "Shadow paging").  ``known``: walks
        already made, by access kind."""
        perms = 0
        for acc, bit in ((ACC_LOAD, R), (ACC_STORE, W), (ACC_FETCH, X)):
            w = known.get(acc) or self.walk(va, acc, priv, view)
            if w.fault is None and w.pa // PAGE == frame:
                perms |= bit
        return perms

    # ------------------------------------------------------------ events

    def classify(self, cause: str, va: int) -> str:
        """A real trap the guest took: "hidden" (filled; run the instruction again), "traced" (a
        store to a guest page table the guest may make: emulate it, then :meth:`emulated`),
        "true" (the guest's own walk faults: the routines deliver it) or "other" (not a memory
        fault)."""
        acc = FAULT_ACCESS.get(cause)
        if acc is None:
            return "other"
        g = self.g
        mode = g.virtual["mode"]
        ms = g.reg_view("mstatus")
        key = self.view_key()
        priv = mode
        if acc != ACC_FETCH and mode == M_MODE and ms & MPRV:
            priv = (ms >> 11) & 3
        view = g.view_array()
        w = self.walk(va, acc, priv, view)
        self.counters.walk_refs += w.refs
        if w.fault is not None:
            self.counters.true_faults += 1
            return "true"
        frame = w.pa >> 12
        if not self.free:  # no frame for a level-0 table: start again from empty shadows
            self.flush()
            self.g.place()
        if key[0] == "paged":  # the tables this walk went through are page tables from now on
            for t in w.tables:
                if t is not None:
                    self._trace(t)
        if acc == ACC_STORE and frame in self.traced:
            self.traced_write(w.pa)
            return "traced"
        s = self.current
        if s is None or (s.key != key and self.defect is None):
            raise RuntimeError(f"shadow paging: a fault in view {key} while shadow {s and s.key} is loaded")
        if key[0] == "paged":
            l0 = w.tables[-1] if len(w.tables) > 1 else None  # None: a superpage, read from the root
            vpn1 = va >> 22
            if vpn1 not in s.src:
                self._set_src(s, vpn1, l0)
            perms = self._perms(va, frame, self._paged_view(mode, ms)[0], view, {acc: w})
        else:
            perms = R | W | X
        self._fill(s, va, frame, perms)
        if not self._entry(s, va) & (X, R, W)[acc]:
            raise RuntimeError(f"shadow paging: a hidden fault at {va:#x} ({cause}) that filling does not serve")
        self.counters.hidden_faults += 1
        return "hidden"

    # ------------------------------------------------------------ the compiled path

    def serve_loop(self):
        """The compiled loop that serves hidden faults (vverify.vmm.shadow_paging_loop) for this
        guest's spec, or None where it cannot be built.  A planted defect keeps it: each lives in
        what the loop takes from Python (the view's key and root: ``user_bit``, ``stale_root``,
        where a stale shadow makes :meth:`compiled_view` refuse) or is planted in the loop too
        (``missed_invalidation``: its flag), so it takes effect on both paths."""
        if self._serve_loop is None:
            from .shadow_paging_loop import serve_loop_for

            self._serve_loop = serve_loop_for(self) or False
        return self._serve_loop or None

    def compiled_view(self, key):
        """``(root, privilege, slot, real satp, flags)`` for the compiled path as the guest is now, in
        view ``key`` (:meth:`view_key`, a paged one or the identity), or None where it must not
        serve: the shadow loaded is not the view's (classify would refuse), no frame is free
        (classify would flush), or guest M-mode with MPRV (classify walks its loads and stores at
        MPP's privilege, the loop at the mode's).  The real satp is the one :meth:`real_satp` gives
        while the view stays; the flags (vverify.vmm.shadow_paging_loop) say what is served there
        (hidden faults in a paged view only: the identity view is filled whole; traced writes, and
        the emulations and true faults whose result keeps the view, in both) and carry the planted
        ``missed_invalidation``, whose logic the compiled path repeats."""
        s = self.current
        if s is None or not self.free or s.key != key:
            return None
        mode = self.g.virtual["mode"]
        if mode == M_MODE and self.g.reg_view("mstatus") & MPRV:
            return None
        flags = (SERVE_HIDDEN if key[0] == "paged" else 0) | (SERVE_TRACED if self.traced_in_compiled else 0) \
            | (RESUME_TRACED if self.resume_traced else 0) \
            | (SERVE_EMULATE if self.emulate_in_compiled else 0) | (RESUME_EMULATE if self.resume_emulated else 0) \
            | (MISSED_INVALIDATION if "missed_invalidation" in (self.defect, self.loop_defect) else 0)
        return s.root, mode, s.slot, (1 << 31) | s.root, flags

    def drain_fills(self, n: int):
        """Make the ``n`` changes to ``leaves`` the compiled path logged, in its order: a fill adds
        the leaf as :meth:`_fill` would have, a dropped entry discards it as :meth:`_unleaf` would
        have.  Called as the compiled path returns, before any other entry point of the pager runs."""
        if n:
            leaves, shadows = self.leaves, self.by_slot
            for op, frame, word, slot in self.LOG[:n].tolist():
                key = shadows[slot].key
                if op == LOG_ADD:
                    leaves.setdefault(frame, set()).add((key, word))
                else:
                    leaves.get(frame, set()).discard((key, word))

    def traced_write(self, pa: int):
        """A store to guest physical ``pa`` in a traced frame: counted, and its word noted for
        :meth:`emulated` (classify's "traced", also the compiled path's on a hand-back)."""
        self.counters.traced_writes += 1
        self.pending = pa & ~3

    pending = None  # the guest word a traced store is about to write
    _gen = 0

    def emulating(self, pa):
        """Before the routines emulate the instruction at guest physical ``pa`` (None: its fetch
        faults).  Their core decodes from guest RAM, which the real machine's stores change without
        telling it: forget what it decoded there.  And note its code-write generation: every page
        of the routines is marked (:func:`machines_for`), so every store they make advances it and
        is logged (Core.stores_since)."""
        rc = self.g.routines
        if pa is not None:
            w = rc.layout.row_width
            rc.DECF[max(pa - rc.spec.max_ilen_units + 1, 0) * w:(pa + 1) * w:w] = 0
        self._gen = rc.code_generation()

    def emulated(self):
        """After the routines emulated an instruction: each guest word it stored drops the real
        machine's decoded code there and, in a traced frame, the shadow entries made from it.  A
        store other than the traced one :meth:`classify` found (binary translation and
        paravirtualization emulate the guest kernel's stores; an M-mode store with MPRV) is an
        ``inline_pte_write``: the VMM emulated it anyway, so it took no fault.  Stores the log
        cannot name (more than it holds) may be anywhere: every shadow and decoded instruction goes.
        A store undone by a precise trap is still listed (no riscv32 instruction can be undone)."""
        pending, self.pending = self.pending, None
        stores = self.g.routines.stores_since(self._gen)
        if stores is None:
            self.g.core.flush_code_cache()
            self.flush()
            self.g.place()
            return
        core = self.g.core
        shift = core.layout.page_shift
        for first, units in stores:
            for pa in range(first & ~3, first + units, 4):
                if pa // PAGE in self.traced:
                    if pa != pending:
                        self.counters.inline_pte_writes += 1
                    self.word_written(pa)
                elif core.CODE_PAGES[pa >> shift]:
                    core.invalidate(max(pa - 3, 0), pa + 4)

    def word_written(self, pa: int):
        """A store the VMM emulated changed the guest page-table word at ``pa``: drop the real
        machine's decoded code there and the shadow entries made from the word."""
        self.g.core.invalidate(max(pa - 3, 0), pa + 4)
        if self.defect == "missed_invalidation":
            return
        self.pte_written(pa)

    def pte_written(self, pa: int):
        frame, index = pa >> 12, (pa >> 2) & 0x3FF
        for s in list(self.shadows.values()):
            if s.key[0] != "paged":
                continue
            if s.key[1] == frame and index in s.l0:
                self._drop_table(s, index)
            for vpn1, src in list(s.src.items()):
                if src == frame and vpn1 in s.l0:
                    w = s.l0[vpn1] * 1024 + index
                    self._unleaf(s, w)
                    self.W32[w] = 0

    def _drop_table(self, s: Shadow, vpn1: int):
        t = s.l0.pop(vpn1)
        s.src.pop(vpn1, None)
        self.SRC[s.slot, vpn1] = -1
        self.W32[s.root * 1024 + vpn1] = 0
        base = t * 1024
        for w in np.flatnonzero(self.W32[base:base + 1024]).tolist():
            self._unleaf(s, base + w)
        self.free.append(t)

    def _set_src(self, s: Shadow, vpn1: int, l0):
        s.src[vpn1] = l0
        self.SRC[s.slot, vpn1] = -1 if l0 is None else l0

    def _unleaf(self, s: Shadow, word: int):
        pte = int(self.W32[word])
        if pte & V:
            self.leaves.get(pte >> 10, set()).discard((s.key, word))

    # ------------------------------------------------------------ shadow entries

    def _entry(self, s: Shadow, va: int) -> int:
        t = s.l0.get(va >> 22)
        return 0 if t is None else int(self.W32[t * 1024 + ((va >> 12) & 0x3FF)])

    def _fill(self, s: Shadow, va: int, frame: int, perms: int):
        vpn1 = va >> 22
        t = s.l0.get(vpn1)
        if t is None:
            t = s.l0[vpn1] = self._alloc()
            if vpn1 not in s.src:
                self._set_src(s, vpn1, None)
            self.W32[s.root * 1024 + vpn1] = (t << 10) | V
        if frame in self.traced:
            perms &= ~W
        w = t * 1024 + ((va >> 12) & 0x3FF)
        self._unleaf(s, w)
        if perms & (R | X):
            self.W32[w] = (frame << 10) | perms | V | U | A | D
            self.leaves.setdefault(frame, set()).add((s.key, w))
        else:
            self.W32[w] = 0

    def _trace(self, frame: int):
        """Make ``frame`` (a guest page table) read-only in every shadow."""
        if frame in self.traced:
            return
        self.traced.add(frame)
        if frame < self.ram_frames:  # a table read past guest RAM faulted: the compiled path never serves it
            self.TRACED[frame] = 1
        for _, w in self.leaves.get(frame, ()):
            self.W32[w] = int(self.W32[w]) & ~W

    def check(self) -> list:
        """The real root is the shadow of the guest's view (resource control for the register the
        VMM owns); empty when it is."""
        key = self.view_key()
        s = self.shadows.get(("id",) if key[0] == "interpret" else key)
        real = int(self.g.core.R[self._satp])
        if s is None or real != (1 << 31) | s.root:
            return [f"real satp is {real:#x}, not the root of the shadow of the guest's view {key}"]
        return []


class ShadowEmulator(Emulator):
    """The interpreter routines on the spec's own core (guest RAM as natively), with the host's
    registers: the view is composed from, and written back to, the real machine."""

    def __init__(self, placed, routines: Core):
        super().__init__(placed)
        self.core = routines


class ShadowPlacedGuest(PlacedGuest):
    """A placed guest whose real ``satp`` is the VMM's: the root of a shadow (see the module
    docstring).  ``core`` is the caller's core for this role; the machines used are
    :func:`machines_for`'s."""

    owned = ("satp",)  # real control state the VMM sets itself, not through the map

    def __init__(self, spec, guest, params, core: Core | None = None, counters=None):
        why = unsupported(spec)
        if why:
            raise ValueError(f"spec {spec.name}: {why}")
        host, self.routines = machines_for(spec, core)
        if len(host.R) != len(self.routines.R):
            raise ValueError(f"spec {spec.name}: the host machine's register layout differs from the spec's")
        self.guest_spec = spec
        self.pager = None
        super().__init__(spec, guest, params, host)
        self.pager = ShadowPager(self, counters)
        self.place()

    def place(self):
        super().place()
        if self.pager is not None:
            self.core.R[self.pager._satp] = self.pager.real_satp()

    def _load_memory(self, guest):
        img = self.core.image_of(guest.mem, guest.mem_default)
        self.core.load_image(img)

    def emulator(self):
        if self._emulator is None:
            self._emulator = ShadowEmulator(self, self.routines)
        return self._emulator

    def fetch_pa(self):
        """Where the guest fetches its next instruction (guest physical), or None if it faults."""
        w = self.pager.walk(self.reg_view("pc"), ACC_FETCH, self.virtual["mode"])
        return None if w.fault else w.pa

    def memory(self):
        return self.core.MEM[:self.guest_spec.memory.size]

    def owned_violations(self) -> list:
        return self.pager.check()

    # -------------------------------------------------------- for techniques that remember code

    trace_fetches = False
    """Binary translation's: the VMM's own fetches (its translator's, and the check that a block is
    still fetched from where it was) trace the guest tables they read (:func:`fetch_walk`), so that
    a later write to one is seen.  Leave it False where nothing remembers a fetch."""

    def fetch_address(self, pc: int | None = None):
        """Where the guest fetches at ``pc`` (its own pc if None), or None if the fetch faults: the
        pager's walk of the guest's tables.  The host core's fetch cannot say it: it would read
        them with the host's MEM_SIZE, and find a page where the guest takes an access fault."""
        va = self.reg_view("pc") if pc is None else pc
        p = self.pager
        if self.trace_fetches:
            w = fetch_walk(p, va)
        else:
            w = p.walk(va, ACC_FETCH, self.virtual["mode"])
        return None if w.fault else w.pa

    def fetch_state(self) -> tuple:
        """The fetch's registers, and :func:`tables_epoch`: the fetch also reads the guest's tables,
        which registers do not show, and the epoch changes whenever they may have."""
        return (*super().fetch_state(), tables_epoch(self.pager))


# ------------------------------------------------------------ what other techniques ask of the pager
#
# Trap-and-emulate runs every store of the guest on the real machine but the few it emulates.
# Binary translation and paravirtualization emulate the guest kernel's loads and stores (they are
# unsafe in guest M-mode with MPRV, so the classifier flags them), and binary translation remembers
# where the guest fetched.  These functions serve them: tracing the tables a fetch reads, and an
# epoch that changes with those tables.  The stores they emulate are served by
# ShadowPager.emulated, which learns each word stored from the routines' store log.


def fetch_walk(pager: ShadowPager, va: int) -> Walk:
    """The guest's fetch at ``va`` in its current state, as the VMM's translator makes it: the
    guest's walk (its PTE reads counted in ``walk_refs``), with every table frame it read traced, so
    that a write to one is a traced write or a seen emulated store (:func:`tables_epoch` changes)."""
    w = pager.walk(va, ACC_FETCH, pager.g.virtual["mode"])
    pager.counters.walk_refs += w.refs
    for f in w.tables:  # the frames the walk read, up to its fault if it faulted
        pager._trace(f)
    return w


def tables_epoch(pager: ShadowPager) -> tuple:
    """A value that changes whenever a traced guest page-table word may have changed (a traced
    write, counted as it is classified and emulated before the guest goes on; an emulated store
    seen to change one) or the traces were lost (a flush: what was written since went unseen).
    While it stays, every table a traced walk read holds what it held then."""
    c = pager.counters
    return (c.traced_writes, c.inline_pte_writes, c.shadow_flushes)
