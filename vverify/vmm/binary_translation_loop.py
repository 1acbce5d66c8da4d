"""Binary translation's block loop, compiled: translated blocks run without returning to Python.

``BinaryTranslation.run`` (vverify/vmm/binary_translation.py) runs each
translated block as a Python loop over its segments, checks the block's
code words one by one in Python on every lookup and chains through Python
dicts.  This module holds the translation cache in numpy arrays and runs the
whole block cycle in one compiled function, over the same compiled pieces
trap-and-emulate's loop uses (vverify/vmm/trap_emulate_loop.py): the real
core's run loop, the interpreter routines on the guest's view, the spec's
trap entry, the write-back and the compiled map.

The arrays (:class:`TranslationArrays`):

* the **blocks**, by id: their guest mode, their segments (a count ``n > 0``
  runs ``n`` instructions directly, ``0`` emulates one) and the memory units
  they were translated from, as real indexes into ``MEM`` and values (a code
  word is ``max_ilen`` units; comparing its units is comparing the word);
* the **cache**, an open-addressing hash table from (guest pc, mode) to a
  block id: ``BinaryTranslation.cache``;
* the **chains**, a second such table from (block id, next pc) to a block id:
  every ``Block.successors``.  A chained successor may be a block the cache
  has since replaced (a stale translation): it stays in the chain, is found
  there and fails its check, exactly as the Python objects do.  Each block
  also remembers the last successor it chained to, so a loop's lookup is one
  comparison, not a hash probe (a jump patched in place, in a translator's
  terms);
* the **fetches** each block stands for: the values of the fetch's other
  inputs it last matched (``Block.fetch``, K per block) and each fetch the
  translator made, its pc and address (``Block.fetched``; -1: it faulted).
  A lookup, and an emulated instruction that leaves the block going on,
  compare the K registers; where they moved, the block's fetches are made
  again with the core's compiled fetch, in the loop
  (``BinaryTranslation.fetches_same``; the module docstring of
  binary_translation.py says why);
* the **direct segments** call the core's run loop from the block loop
  itself: what follows an exit is apart (``after_exit``), so the common
  path hands the core three arrays rather than twenty to a helper.

The loop does what ``BinaryTranslation.run``, ``lookup``, ``still_valid``,
``fetches_same``, ``TrapAndEmulate.dispatch`` and ``Emulator.run`` do, in the same order, so
the Python path (``BinaryTranslation(compiled=False)``) is its reference
(tests/vmm/test_binary_translation_loop.py).  It returns to Python only
when the run ends, the trace buffer is full, the chain table needs room, or
a lookup misses (nothing cached or chained, or the block found is no longer
valid): Python then translates the block with ``translate_block``, counts
the miss (and the invalidation) as ``lookup`` does, stores the block in the
arrays and calls again.  Where it stopped (the block, the segment, the
previous block) is kept in ``scalars``, so a call resumes mid-block.

``skip_validity`` plants a defect (lookups never check a block's code, so a
stale translation runs) for the fuzzer's quality tests
(tests/fuzz/quality/test_planted_defects.py).  Leave it False.
"""

from __future__ import annotations

import numpy as np

from ..core.closures import cached
from ..core.jit import njit
from ..core.protocol import (R_BUDGET, R_HALT, R_HYPERCALL, R_TRAP, R_VMEXIT, REASONS, ST_BUDGET, ST_CAUSE, ST_STEPS,
                             ST_TRAP_EXITS)
from .base import fetch_state_inputs
from .emulate_one import STOP, make_emulate_one, make_emulate_recorded
from .registers import compose_view

RAN_OUT = -1  # the budget ended
TRACE_FULL = -2  # the trace buffer is full: drain it and call again
MISS = -3  # a lookup missed: translate (scalars[MISS_PC], [MISS_MODE]; [MISS_BLK] the invalid block or -1)
GROW = -4  # the chain table needs room before the next lookup
# STOP (vverify.vmm.emulate_one): a trap in stop_on ended the run (its cause index in scalars[CAUSE])

# the slots of the loop's scalar array
(DIRECT, EMULATED, STEPS, CAUSE, TRACED, HITS, PREV, CUR, SEGI, MISS_PC, MISS_MODE, MISS_BLK,
 CHAINS) = range(13)
N_SCALARS = 13
NEVER = np.uint64(2**64 - 1)  # a block not yet checked: no code-write generation reaches it

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)


@njit(cache=True)
def _slot(a, b, cap):
    h = (a * _M1) ^ (b * _M2)
    h ^= h >> np.uint64(29)
    return np.int64(h & np.uint64(cap - 1))


@njit(cache=True)
def table_get(K1, K2, VAL, a, b):
    """The value stored under key (a, b), or -1."""
    cap = VAL.shape[0]
    i = _slot(a, b, cap)
    while True:
        v = VAL[i]
        if v < 0:
            return np.int64(-1)
        if K1[i] == a and K2[i] == b:
            return v
        i = (i + 1) & (cap - 1)


@njit(cache=True)
def table_put(K1, K2, VAL, a, b, v):
    """Store ``v`` under (a, b); 1 if the key is new, else 0.  The caller keeps the table at most half full."""
    cap = VAL.shape[0]
    i = _slot(a, b, cap)
    while True:
        if VAL[i] < 0:
            K1[i] = a
            K2[i] = b
            VAL[i] = v
            return 1
        if K1[i] == a and K2[i] == b:
            VAL[i] = v
            return 0
        i = (i + 1) & (cap - 1)


class Table:
    """An open-addressing hash table of uint64 key pairs to int64 values (>= 0), held in numpy arrays."""

    def __init__(self, capacity: int = 64):
        self.K1 = np.zeros(capacity, dtype=np.uint64)
        self.K2 = np.zeros(capacity, dtype=np.uint64)
        self.VAL = np.full(capacity, -1, dtype=np.int64)
        self.count = 0

    def room(self, more: int = 1) -> bool:
        return 2 * (self.count + more) <= len(self.VAL)

    def put(self, a: int, b: int, v: int):
        if not self.room():
            self.grow()
        self.count += table_put(self.K1, self.K2, self.VAL, np.uint64(a), np.uint64(b), np.int64(v))

    def get(self, a: int, b: int) -> int:
        return int(table_get(self.K1, self.K2, self.VAL, np.uint64(a), np.uint64(b)))

    def grow(self):
        K1, K2, VAL = self.K1, self.K2, self.VAL
        cap = 2 * len(VAL)
        while 2 * (self.count + 1) > cap:
            cap *= 2
        self.K1 = np.zeros(cap, dtype=np.uint64)
        self.K2 = np.zeros(cap, dtype=np.uint64)
        self.VAL = np.full(cap, -1, dtype=np.int64)
        for i in np.flatnonzero(VAL >= 0).tolist():
            table_put(self.K1, self.K2, self.VAL, K1[i], K2[i], VAL[i])


class _Growing:
    """One growable numpy array and its used length."""

    def __init__(self, dtype, capacity=64):
        self.a = np.zeros(capacity, dtype=dtype)
        self.n = 0

    def extend(self, values) -> int:
        start, k = self.n, len(values)
        if start + k > len(self.a):
            self._grow(start + k)
        self.a[start:start + k] = values
        self.n += k
        return start

    def append(self, value) -> int:
        """``extend([value])`` without a slice: a block adds eight single values, on every miss."""
        i = self.n
        if i == len(self.a):
            self._grow(i + 1)
        self.a[i] = value
        self.n = i + 1
        return i

    def _grow(self, need: int):
        new = np.zeros(max(2 * len(self.a), need), dtype=self.a.dtype)
        new[:self.n] = self.a[:self.n]
        self.a = new


def code_units(g, words, arrays: bool = True):
    """``(where, values)``: the index in the machine's memory of every unit of ``words`` (``(guest
    address, word)`` pairs, each ``max_ilen`` units, in PlacedGuest.units' addressing) and the unit
    it holds, as arrays; where ``arrays`` is False a small block's come as lists (numpy pays off from
    a few dozen units, as in words_at)."""
    spec = g.spec
    n, u = spec.max_ilen_units, spec.memory.unit
    size = len(g.core.MEM)
    if n * u <= 64 and (arrays or len(words) * n >= 32):
        addrs = np.array([a for a, _ in words], dtype=np.int64)
        start = (addrs + g.offset) & g.amask
        where = start[:, None] + np.arange(n)
        wrap = start + n > size  # PlacedGuest.units' addressing: only a word past the end wraps
        where[wrap] &= g.amask
        shifts = np.arange(n, dtype=np.uint64) * np.uint64(u)
        values = (np.array([w for _, w in words], dtype=np.uint64)[:, None] >> shifts) & np.uint64((1 << u) - 1)
        return where.ravel(), values.ravel()
    where, values = [], []
    for addr, word in words:  # PlacedGuest.units' addressing, unit by unit
        a = (addr + g.offset) & g.amask
        for k in range(n):
            where.append(a + k if a + n <= size else (a + k) & g.amask)
            values.append((word >> (k * u)) & ((1 << u) - 1))
    if arrays:
        return np.array(where, dtype=np.int64), np.array(values, dtype=np.uint64)
    return where, values


class TranslationArrays:
    """The translation cache and chains of one VMM in arrays, and the Block objects they stand for."""

    def __init__(self, placed):
        self.g = placed
        self.blocks: list = []  # block id -> Block
        self.ids: dict = {}  # id(Block) -> block id
        self.mode = _Growing(np.uint64)
        self.seg0 = _Growing(np.int64)
        self.nseg = _Growing(np.int64)
        self.w0 = _Growing(np.int64)
        self.nw = _Growing(np.int64)
        self.checked = _Growing(np.uint64)  # the code-write generation its code last matched memory at
        self.succ_pc = _Growing(np.uint64)  # the last successor chained to: its pc (NEVER: none yet) ...
        self.succ_b = _Growing(np.int64)  # ... and its block id
        self.K = len(fetch_state_inputs(placed.spec))
        self.fk = _Growing(np.uint64)  # per block, K values: the fetch's other inputs (Block.fetch) ...
        self.f0 = _Growing(np.int64)  # ... and its fetches (Block.fetched): where they start in fpc, faddr ...
        self.nf = _Growing(np.int64)  # ... how many
        self.fpc = _Growing(np.uint64)  # the pc fetched
        self.faddr = _Growing(np.int64)  # the guest address it was fetched from, or -1: it faulted
        self.seg = _Growing(np.int64)
        self.wa = _Growing(np.int64)
        self.wv = _Growing(np.uint64)
        self.cache = Table()
        self.chains = Table()

    def add(self, blk) -> int:
        """Store ``blk`` (a Block) in the arrays; its id."""
        if blk.units is not None:  # a remembered translation brings them (BinaryTranslation.translate_block)
            where, values = blk.units
        else:
            where, values = code_units(self.g, blk.words, arrays=False)
        b = len(self.blocks)
        self.blocks.append(blk)
        self.ids[id(blk)] = b
        self.mode.append(blk.mode)
        self.seg0.append(self.seg.extend([n if kind == "direct" else 0 for kind, n in blk.segments]))
        self.nseg.append(len(blk.segments))
        self.w0.append(self.wa.extend(where))
        self.wv.extend(values)
        self.nw.append(len(where))
        self.checked.append(NEVER)
        self.succ_pc.append(NEVER)
        self.succ_b.append(-1)
        if self.K:
            self.fk.extend(blk.fetch if blk.fetch is not None else [NEVER] * self.K)  # unknown: fetch again
        self.f0.append(self.fpc.extend([pc for pc, _ in blk.fetched]))
        self.faddr.extend([-1 if a is None else a for _, a in blk.fetched])
        self.nf.append(len(blk.fetched))
        return b

    def chain(self, prev: int, pc: int, b: int):
        """Chain block ``prev`` to block ``b`` at ``pc``, in the table and as its last successor."""
        if not self.chains.room():
            self.chains.grow()
        c = self.chains
        c.count += table_put(c.K1, c.K2, c.VAL, np.uint64(prev), np.uint64(pc), np.int64(b))
        self.succ_pc.a[prev] = pc
        self.succ_b.a[prev] = b

    def adopt(self, cache: dict):
        """Take in the translations the Python path made (``BinaryTranslation.cache`` and the chains
        from its blocks), so that a VMM whose runs change path keeps counting as one path would."""
        stack = list(cache.values())
        while stack:
            blk = stack.pop()
            if id(blk) not in self.ids:
                self.add(blk)
                stack.extend(blk.successors.values())
        for (pc, mode), blk in cache.items():
            self.cache.put(pc, mode, self.ids[id(blk)])
        for b, blk in enumerate(self.blocks):
            for pc, nxt in blk.successors.items():
                self.chain(b, pc, self.ids[id(nxt)])

    def export(self):
        """Give the chains made in compiled code to the Block objects, for the Python path."""
        s = self.chains
        for i in np.flatnonzero(s.VAL >= 0).tolist():
            self.blocks[int(s.K1[i])].successors[int(s.K2[i])] = self.blocks[int(s.VAL[i])]
        if self.K:  # and the fetch inputs each block last matched (the compiled fetches_same moves them)
            for b, blk in enumerate(self.blocks):
                blk.fetch = tuple(self.fk.a[b * self.K:(b + 1) * self.K].tolist())

    def arrays(self):
        c, s = self.cache, self.chains
        return (c.K1, c.K2, c.VAL, s.K1, s.K2, s.VAL, self.mode.a, self.seg0.a, self.nseg.a, self.w0.a, self.nw.a,
                self.checked.a, self.seg.a, self.wa.a, self.wv.a, self.succ_pc.a, self.succ_b.a, self.fk.a, self.f0.a,
                self.nf.a, self.fpc.a, self.faddr.a)


def make_loop(spec, layout, run, trap_entry, map_place, fetch_at, skip_validity=False):
    """The compiled block loop for a spec's core (see the module docstring): ``run`` and
    ``trap_entry`` are ``Core.kernels()``, ``map_place`` is ``CompiledMap.kernel()``, ``fetch_at``
    the core's compiled fetch (``Core.fetch_address``)."""
    U = np.uint64
    n = len(spec.registers)
    st = layout.st_base
    pci = layout.reg_index["pc"]
    modei = layout.reg_index["mode"]
    all_traps = U((1 << len(spec.causes)) - 1)
    check = not skip_validity
    code_gen = layout.code_gen
    cp_base = layout.code_page_base
    pshift = U(layout.page_shift)
    # TrapAndEmulate.emulate: the instruction at pc on the guest's view, the write-back and the placement
    emulate = make_emulate_recorded(make_emulate_one(spec, layout, run, trap_entry, map_place), EMULATED, CAUSE,
                                    TRACED)
    # the registers the fetch reads besides pc (their layout slots): a block stands for its code as
    # fetched under the values it remembers of them (BFK, K per block)
    FI = np.array([layout.reg_index[r] for r in fetch_state_inputs(spec)], dtype=np.int64)
    K = len(FI)

    @njit
    def fetches_same(S, R, V, DM, CM, MEM, DECF, BFK, BF0, BNF, FPC, FADDR, b):
        """BinaryTranslation.fetches_same: whether each pc of block ``b`` is still fetched from where it
        was (or still faults).  Equal fetch inputs (other than pc) answer at once; else every fetch
        is made again on the guest's view (PlacedGuest.fetch_address), and where all agree the block
        takes the new inputs."""
        k0 = b * K
        moved = False
        for j in range(K):
            i = FI[j]
            if ((R[i] & DM[i]) | (V[i] & CM[i])) != BFK[k0 + j]:
                moved = True
                break
        if not moved:
            return True
        compose_view(S, R, V, DM, CM, n, st)
        f0 = BF0[b]
        for j in range(f0, f0 + BNF[b]):
            S[pci] = FPC[j]
            exc, fa = fetch_at(S, MEM, DECF)
            if (np.int64(-1) if exc >= 0 else np.int64(fa)) != FADDR[j]:
                return False
        for j in range(K):
            i = FI[j]
            BFK[k0 + j] = (R[i] & DM[i]) | (V[i] & CM[i])
        return True

    @njit
    def after_exit(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, reason, stop_mask, scalars, traps, reflected, TC, TP):
        """The rest of TrapAndEmulate.direct(k) once the real core exited before its budget: the
        dispatcher.  Returns (steps emulated, R_BUDGET or how the run ends).  Apart from the run
        itself so the loop's common path (a segment that ran to its end) passes three arrays to
        the core rather than twenty to a helper: each array argument is seven words per call."""
        if reason == R_HALT or reason == R_HYPERCALL or reason == R_VMEXIT:  # no service here: the run ends
            return np.int64(0), np.int64(reason)
        if reason == R_TRAP:
            traps[R[st + ST_CAUSE]] += 1
        return emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP)

    @njit
    def loop(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, budget, stop_mask, scalars, exits, traps, reflected, TC, TP,
             CK1, CK2, CV, SK1, SK2, SV, BMODE, BSEG0, BNSEG, BW0, BNW, BCHECKED, SEG, WA, WV, SUCC_PC, SUCC_B,
             BFK, BF0, BNF, FPC, FADDR, USER_DIRECT):
        """Run the guest until the run ends, TC/TP fill, a lookup misses or the chain table needs room;
        returns the outcome and leaves the counts and where it stopped in the arrays."""
        steps = scalars[STEPS]
        cap = TC.shape[0]
        scap = SV.shape[0]
        prev = scalars[PREV]
        cur = scalars[CUR]
        segi = scalars[SEGI]
        saved_budget = R[st + ST_BUDGET]  # Core.run_raw remembers what it last wrote there
        saved_mask = R[st + ST_TRAP_EXITS]
        R[st + ST_TRAP_EXITS] = all_traps  # direct runs exit on every trap (emulate_one runs E, not R)
        outcome = RAN_OUT
        known_mode = ~U(0)
        user_direct = False
        while True:
            if cur < 0:  # BinaryTranslation.run's outer loop
                if steps >= budget:
                    break
                vmode = V[modei]
                if vmode != known_mode:
                    known_mode = vmode
                    user_direct = False
                    for m in USER_DIRECT:
                        if U(m) == vmode:
                            user_direct = True
                if user_direct:  # guest-user code runs directly
                    prev = -1
                    if scalars[TRACED] >= cap:
                        outcome = TRACE_FULL
                        break
                    R[st + ST_BUDGET] = U(budget - steps)
                    reason = run(R, MEM, DECF)
                    ran = np.int64(R[st + ST_STEPS])
                    scalars[DIRECT] += ran
                    exits[reason] += 1
                    steps += ran
                    if reason != R_BUDGET:
                        done, end = after_exit(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, reason, stop_mask, scalars,
                                               traps, reflected, TC, TP)
                        steps += done
                        if end != R_BUDGET:
                            outcome = end
                            break
                    continue
                # BinaryTranslation.lookup
                if 2 * (scalars[CHAINS] + 1) > scap:
                    outcome = GROW
                    break
                pc = (R[pci] & DM[pci]) | (V[pci] & CM[pci])
                b = np.int64(-1)
                if prev >= 0 and BMODE[prev] == vmode:
                    # each block remembers the last successor it chained to (a jump patched in place,
                    # as a translator chains direct branches); the chain table holds all of them
                    if SUCC_PC[prev] == pc and SUCC_B[prev] >= 0:
                        b = SUCC_B[prev]
                    else:
                        b = table_get(SK1, SK2, SV, U(prev), pc)
                        if b >= 0:
                            SUCC_PC[prev] = pc
                            SUCC_B[prev] = b
                chained = b >= 0  # then the chain below is already there
                if not chained:
                    b = table_get(CK1, CK2, CV, pc, vmode)
                valid = b >= 0
                # BinaryTranslation.still_valid: the block's pcs fetched from where they were ...
                if valid and K > 0:
                    valid = fetches_same(S, R, V, DM, CM, MEM, DECF, BFK, BF0, BNF, FPC, FADDR, b)
                # ... and the same code there, compared unit by unit only when memory that may hold
                # code was written since the block last matched (Layout.code_gen); its pages are then
                # marked as code, so that a store to them advances the generation from now on
                if valid and check and BCHECKED[b] != DECF[code_gen]:
                    w0 = BW0[b]
                    for j in range(w0, w0 + BNW[b]):
                        if U(MEM[WA[j]]) != WV[j]:
                            valid = False
                            break
                    if valid:
                        for j in range(w0, w0 + BNW[b]):
                            DECF[cp_base + (U(WA[j]) >> pshift)] = U(1)
                        BCHECKED[b] = DECF[code_gen]
                if not valid:
                    outcome = MISS
                    scalars[MISS_PC] = np.int64(pc)
                    scalars[MISS_MODE] = np.int64(vmode)
                    scalars[MISS_BLK] = b
                    break
                scalars[HITS] += 1
                if prev >= 0 and not chained:
                    scalars[CHAINS] += table_put(SK1, SK2, SV, U(prev), pc, b)
                    SUCC_PC[prev] = pc
                    SUCC_B[prev] = b
                prev = b
                cur = b
                segi = 0
            # the block's segments
            if segi >= BNSEG[cur]:
                cur = -1
                continue
            if steps >= budget:
                break
            if scalars[TRACED] >= cap:  # a segment records at most one reflected trap
                outcome = TRACE_FULL
                break
            k = SEG[BSEG0[cur] + segi]
            if k == 0:  # emulate
                mode = V[modei]
                done, end = emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP)
                steps += done
                if end != R_BUDGET:
                    outcome = end
                    break
                if V[modei] != mode:  # the rest of the block was translated for the old mode
                    prev = -1
                    cur = -1
                    continue
                segi += 1
                # the rest of the block may be fetched from elsewhere now (BinaryTranslation.run)
                if K > 0 and segi < BNSEG[cur] and not fetches_same(S, R, V, DM, CM, MEM, DECF, BFK, BF0, BNF, FPC,
                                                                    FADDR, cur):
                    prev = -1
                    cur = -1
                continue
            R[st + ST_BUDGET] = U(min(k, budget - steps))  # TrapAndEmulate.direct(k)
            reason = run(R, MEM, DECF)
            ran = np.int64(R[st + ST_STEPS])
            scalars[DIRECT] += ran
            exits[reason] += 1
            steps += ran
            if reason == R_BUDGET:
                segi += 1
                continue
            done, end = after_exit(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, reason, stop_mask, scalars, traps,
                                   reflected, TC, TP)
            steps += done
            if end != R_BUDGET:
                outcome = end
                break
            # left the block early (a trap, emulated): no chaining from it
            prev = -1
            cur = -1
        R[st + ST_BUDGET] = saved_budget
        R[st + ST_TRAP_EXITS] = saved_mask
        scalars[STEPS] = steps
        scalars[PREV] = prev
        scalars[CUR] = cur
        scalars[SEGI] = segi
        return outcome

    return loop


def loop_for(core, skip_validity=False):
    """The compiled loop for ``core``'s spec (made once per spec and defect), or None where the
    core's kernels cannot be handed out (see ``Core.kernels``)."""
    kernels = core.kernels()
    place = core.compiled_map().kernel()
    if kernels is None or place is None:
        return None
    spec = core.spec
    return spec.memo(("binary_translation_loop", bool(skip_validity)),
                     lambda s: cached(s, "bt_loop", make_loop(s, core.layout, *kernels, place, core.module.fetch_at,
                                                              bool(skip_validity))))


class CompiledTranslator:
    """One VMM's side of the compiled loop: its arrays, and a run (draining the trace buffer,
    translating on misses, growing the chain table, returning the counts)."""

    def __init__(self, vmm, loop, trace_capacity: int):
        placed = vmm.g
        core = placed.core
        em = placed.emulator()
        self.vmm = vmm
        self.loop = loop
        self.core = core
        self.causes = em.causes
        self.tc = TranslationArrays(placed)
        self.tc.adopt(vmm.cache)
        self.args = (core.R, core.MEM, core.DECF, em.E, placed.virtual.array, placed.DM, placed.CM,
                     placed.view_array(), placed.P, placed.map.sets,
                     np.zeros(len(placed.names), dtype=np.uint64))
        spec = vmm.spec
        from .base import guest_mode_is_user

        user = [] if vmm.translate["user"] else [v for v in spec.modes.values() if guest_mode_is_user(spec, v)]
        self.user_direct = np.array(user, dtype=np.int64)
        self.TC = np.zeros(max(int(trace_capacity), 1), dtype=np.int64)
        self.TP = np.zeros(len(self.TC), dtype=np.uint64)

    def _miss(self, scalars):
        """BinaryTranslation.lookup's miss: count it, translate, cache, chain."""
        vmm, tc = self.vmm, self.tc
        pc, mode, b = int(scalars[MISS_PC]), int(scalars[MISS_MODE]), int(scalars[MISS_BLK])
        c = vmm.counters
        if b >= 0:
            c.tc_invalidations += 1
        c.tc_misses += 1
        blk = vmm.translate_block(pc, mode)
        vmm.cache[pc, mode] = blk
        nb = tc.add(blk)
        tc.cache.put(pc, mode, nb)
        prev = int(scalars[PREV])
        if prev >= 0:
            tc.chain(prev, pc, nb)
        scalars[PREV] = scalars[CUR] = nb
        scalars[SEGI] = 0

    def run(self, budget: int, stop_on, trace):
        """Run for ``budget`` guest instructions; appends reflected traps to ``trace``.  Returns
        ``(reason, cause, steps, counts)`` as ``CompiledDispatcher.run`` does, ``counts`` with the hits."""
        causes = self.causes
        stop_mask = np.uint64(sum(1 << i for i, c in enumerate(causes) if c in stop_on))
        scalars = np.zeros(N_SCALARS, dtype=np.int64)
        scalars[PREV] = scalars[CUR] = -1
        exits = np.zeros(len(REASONS), dtype=np.int64)
        traps = np.zeros(len(causes), dtype=np.int64)
        reflected = np.zeros(len(causes), dtype=np.int64)
        TC, TP, tc = self.TC, self.TP, self.tc
        while True:
            scalars[CHAINS] = tc.chains.count
            outcome = self.loop(*self.args, budget, stop_mask, scalars, exits, traps, reflected, TC, TP,
                                *tc.arrays(), self.user_direct)
            tc.chains.count = int(scalars[CHAINS])
            self.core.returns += 1  # a return into Python, as the core's own entry points count it
            k = int(scalars[TRACED])
            if k:
                trace.extend_codes(TC[:k], TP[:k])
                scalars[TRACED] = 0
            if outcome == MISS:
                self._miss(scalars)
            elif outcome == GROW:
                tc.chains.grow()
            elif outcome != TRACE_FULL:
                break
        counts = (int(scalars[DIRECT]), int(scalars[EMULATED]), exits, traps, reflected, int(scalars[HITS]))
        steps = int(scalars[STEPS])
        if outcome == RAN_OUT:
            return "budget", None, steps, counts
        if outcome == STOP:
            return "stop", causes[int(scalars[CAUSE])], steps, counts
        return REASONS[outcome], None, steps, counts


__all__ = ["CompiledTranslator", "TranslationArrays", "Table", "code_units", "loop_for", "make_loop"]
