"""Paravirtualization's dispatcher, compiled: hypercalls (batched ones too) and traps served without Python.

The same split as :mod:`vverify.vmm.trap_emulate_loop`, for
:class:`~vverify.vmm.paravirt.Paravirtualization`: one compiled function runs
the real core, and at a hypercall emulates the original instruction(s) the
hypercall stands for on the guest's view (taking the rewrite out for each
and putting it back, or dropping it if the guest wrote over it), at a trap
emulates the trapping instruction, then drains the flagged instructions the
guest would run next, and publishes the shared page after every exit, as
``Paravirtualization.dispatch``/``_serve``/``_drain``/``publish`` do, in the
same order.  Python keeps the rare things: ``patch`` exits of the real core,
a hypercall whose memory no longer holds what the loader saw (the guest's own
hypercall, or rewritten code), and deciding whether an instruction word is
flagged (its answer is remembered per address and word in a small table the
loop reads).  The loop returns for those (``DEFER``, ``NEED_WORD``), Python
serves them with the reference methods, and calls the loop again; the loop
also keeps its place inside a batch or a drain when the trace buffer fills.
"""

from __future__ import annotations

import numpy as np

from ..core.closures import cached
from ..core.jit import njit
from ..memo import BoundedMemo
from ..core.protocol import (R_BUDGET, R_HALT, R_HYPERCALL, R_PATCH, R_TRAP, R_VMEXIT, REASONS, ST_BUDGET, ST_CAUSE,
                             ST_STEPS, ST_TRAP_EXITS, ST_TVAL)
from ..spec.decode import unit_of_word
from ..spec.ir import mask
from .emulate_one import STOP, make_emulate_one, make_emulate_recorded
from .registers import compose_view

RAN_OUT = -1  # the budget ended
TRACE_FULL = -2  # the trace buffer is full: drain it and call again (the loop keeps its place)
DEFER = -3  # the real core exited with something Python serves: scalars[RAN], scalars[REASON]
NEED_WORD = -4  # is the word at scalars[NEED_ADDR] flagged for kind scalars[NEED_KIND]? fill the table
ERROR = -5  # a patch exit the reference would fail on (a KeyError there): Python raises
# STOP (vverify.vmm.emulate_one): a trap in stop_on ended the run (its cause index in scalars[CAUSE])

# the slots of the loop's scalar array
(DIRECT, EMULATED, STEPS, CAUSE, TRACED, HYPERCALLS, PHASE, SITE, ITERS, CSTEPS, LEFT, RAN, REASON, NEED_ADDR,
 NEED_KIND, N_SCALARS) = range(16)
TOP, BATCH, DRAIN = range(3)  # where the loop is in an exit's service
WORD_TABLE = 1 << 12  # entries of the flagged-word table (by address, low bits)


def make_loop(spec, layout, run, trap_entry, map_place, fetch_at, decode, drop_control_bit=None):
    """The compiled loop for ``spec``.  ``drop_control_bit``, a ``(register, bit)``, plants a defect for
    tests/fuzz/quality: the emulated view loses that bit just before each write-back.  Leave it None."""
    U = np.uint64
    n = len(spec.registers)
    st = layout.st_base
    modei = layout.reg_index["mode"]
    all_traps = U((1 << len(spec.causes)) - 1)
    amask = mask(spec.memory.address)
    size = spec.memory.size
    full = layout.full_memory
    maxlen = spec.max_ilen_units
    rshift = layout.row_shift
    code_gen = layout.code_gen
    patch_base = layout.patch_base
    cp_base = layout.code_page_base
    pshift = layout.page_shift
    # TrapAndEmulate.emulate (Emulator.run, budget 1), the write-back and the placement
    emulate = make_emulate_recorded(make_emulate_one(spec, layout, run, trap_entry, map_place, drop_control_bit),
                                    EMULATED, CAUSE, TRACED)
    ubits = spec.memory.unit
    umask = U(mask(ubits))
    H = WORD_TABLE

    @njit
    def mark_code_pages(DECF, a):
        last = a + maxlen - 1
        if full:
            last = last % size
        else:
            last = min(last, size - 1)
        DECF[cp_base + (a >> pshift)] = U(1)
        DECF[cp_base + (last >> pshift)] = U(1)

    @njit
    def predecode(DECF, s, word):  # Core.predecode
        row = s << rshift
        tag = decode(word, DECF, U(row))
        DECF[row] = tag
        DECF[patch_base + s] = U(1)
        mark_code_pages(DECF, s)

    @njit
    def unpatch(DECF, s):  # Core.unpatch
        DECF[s << rshift] = U(0)
        DECF[patch_base + s] = U(0)

    @njit
    def units_equal(MEM, off, addr, want, count):
        """1 if the ``count`` units of guest storage at ``addr`` are ``want``'s, 0 if not, -1 if unreadable."""
        a = (addr + off) & amask
        for k in range(count):
            i = (a + k) & amask
            if i >= MEM.shape[0]:
                return -1
            if U(MEM[i]) != want[k]:
                return 0
        return 1

    @njit
    def fetch(S, R, V, DM, CM, MEM, DECF):  # PlacedGuest.next_instruction's address, or -1
        compose_view(S, R, V, DM, CM, n, st)
        exc, fa = fetch_at(S, MEM, DECF)
        if exc >= 0:
            return np.int64(-1)
        return np.int64(fa)

    @njit
    def lookup(SA, addr):
        if addr < 0:
            return -1
        i = np.searchsorted(SA, addr)
        if i < SA.shape[0] and SA[i] == addr:
            return i
        return -1

    @njit
    def publish(MEM, DECF, V, off, PUB_REG, PUB_ADDR, PUB_N):  # Paravirtualization.publish
        for j in range(PUB_REG.shape[0]):
            v = V[PUB_REG[j]]
            for k in range(PUB_N[j]):
                ra = (PUB_ADDR[j] + k + off) & amask
                unit = (v >> U(k * ubits)) & umask
                if U(MEM[ra]) != unit:
                    MEM[ra] = unit
                    DECF[code_gen] += U(1)  # Core.code_written
                    for a in range(ra - maxlen + 1, ra + 1):  # Core.invalidate
                        if a < 0:
                            if full:
                                DECF[(size + a) << rshift] = U(0)
                        else:
                            DECF[a << rshift] = U(0)

    @njit
    def repatch(i, MEM, DECF, off, SA, SLIVE, SWORD, SORIG, SOLEN):  # Paravirtualization._repatch_at
        a = SA[i]
        s = (a + off) & amask
        eq = units_equal(MEM, off, a, SORIG[i], SOLEN[i])
        if eq < 0:
            return False
        if eq == 1:
            predecode(DECF, s, SWORD[i])
        else:
            unpatch(DECF, s)
            SLIVE[i] = 0
        return True

    @njit
    def pv_emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, off, stop_mask, scalars, reflected, TC, TP,
                   SA, SLIVE, SWORD, SORIG, SOLEN, HCU, HCF):
        """Paravirtualization.emulate: a patch the routines meet is dealt with, then they go on; a live
        rewrite they meet stands for the guest's instruction, which they run."""
        done, end = emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP)
        if end == R_PATCH:
            i = lookup(SA, fetch(S, R, V, DM, CM, MEM, DECF))
            if i < 0 or SLIVE[i] == 0 or not repatch(i, MEM, DECF, off, SA, SLIVE, SWORD, SORIG, SOLEN):
                return done, ERROR
            done, end = emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected, TC, TP)
        if end == R_HYPERCALL:
            i = lookup(SA, fetch(S, R, V, DM, CM, MEM, DECF))
            if i >= 0 and SLIVE[i] != 0:
                # a live rewrite keeps the units it replaced (a store there would have made the machine
                # forget it): HCF says whether they are the guest's own hypercall
                if units_equal(MEM, off, SA[i], HCU[i], maxlen) != 1:
                    return done, ERROR
                if HCF[i] == 0:
                    unpatch(DECF, (SA[i] + off) & amask)
                    done, end = emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, stop_mask, scalars, reflected,
                                        TC, TP)
                    if not repatch(i, MEM, DECF, off, SA, SLIVE, SWORD, SORIG, SOLEN):
                        return done, ERROR
        return done, end

    @njit
    def loop(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, off, budget, stop_mask, scalars, exits, traps, reflected,
             TC, TP, SA, SLIVE, SCOUNT, SAFTER, SWORD, SORIG, SOLEN, HCU, HCF, CKA, CKU, CKF, USERMODE,
             PUB_REG, PUB_ADDR, PUB_N):
        steps = scalars[STEPS]
        cap = TC.shape[0]
        saved_budget = R[st + ST_BUDGET]
        saved_mask = R[st + ST_TRAP_EXITS]
        outcome = RAN_OUT
        while True:
            phase = scalars[PHASE]
            end = R_BUDGET
            finish = False
            if phase == TOP:
                if steps >= budget:
                    outcome = RAN_OUT
                    break
                if scalars[TRACED] >= cap:
                    outcome = TRACE_FULL
                    break
                left = budget - steps
                R[st + ST_BUDGET] = U(left)
                R[st + ST_TRAP_EXITS] = all_traps
                reason = run(R, MEM, DECF)
                ran = np.int64(R[st + ST_STEPS])
                serve = False
                i = -1
                defer = reason == R_PATCH
                if reason == R_HYPERCALL:
                    i = lookup(SA, fetch(S, R, V, DM, CM, MEM, DECF))
                    serve = i >= 0 and SLIVE[i] != 0 and SCOUNT[i] > 0
                    if serve:
                        if units_equal(MEM, off, SA[i], HCU[i], maxlen) != 1:
                            defer = True  # memory changed under the site: Python decodes it
                        elif HCF[i] != 0:
                            serve = False  # memory holds a hypercall: the guest's own
                if defer:
                    scalars[RAN] = ran
                    scalars[REASON] = np.int64(reason)
                    outcome = DEFER
                    break
                scalars[DIRECT] += ran
                exits[reason] += 1
                scalars[LEFT] = left
                scalars[CSTEPS] = ran
                if reason == R_BUDGET:
                    finish = True
                elif reason == R_HALT or reason == R_VMEXIT or (reason == R_HYPERCALL and not serve):
                    finish = True
                    end = reason
                elif reason == R_HYPERCALL:
                    scalars[HYPERCALLS] += 1
                    scalars[SITE] = i
                    scalars[ITERS] = min(SCOUNT[i], left - ran)
                    scalars[PHASE] = BATCH
                    continue
                else:
                    if reason == R_TRAP:
                        traps[R[st + ST_CAUSE]] += 1
                    done, end = pv_emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, off, stop_mask, scalars,
                                           reflected, TC, TP, SA, SLIVE, SWORD, SORIG, SOLEN, HCU, HCF)
                    if end == ERROR:
                        outcome = ERROR
                        break
                    scalars[CSTEPS] += done
                    if end != R_BUDGET:
                        finish = True
                    else:
                        scalars[PHASE] = DRAIN
                        continue
            elif phase == BATCH:  # Paravirtualization._serve: the originals the hypercall stands for
                if scalars[ITERS] <= 0:
                    scalars[PHASE] = DRAIN
                    continue
                if scalars[TRACED] >= cap:
                    outcome = TRACE_FULL
                    break
                i = scalars[SITE]
                a = SA[i]
                unpatch(DECF, (a + off) & amask)
                done, end = pv_emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, off, stop_mask, scalars,
                                       reflected, TC, TP, SA, SLIVE, SWORD, SORIG, SOLEN, HCU, HCF)
                if end == ERROR or not repatch(i, MEM, DECF, off, SA, SLIVE, SWORD, SORIG, SOLEN):
                    outcome = ERROR
                    break
                scalars[ITERS] -= 1
                scalars[CSTEPS] += done
                if end != R_BUDGET:
                    finish = True
                else:
                    nxt = SAFTER[i]
                    j = lookup(SA, nxt)
                    if j < 0 or SLIVE[j] == 0 or SCOUNT[j] <= 0 or fetch(S, R, V, DM, CM, MEM, DECF) != nxt:
                        scalars[ITERS] = 0
                    else:
                        scalars[SITE] = j
                    continue
            else:  # DRAIN: Paravirtualization._drain
                if scalars[CSTEPS] >= scalars[LEFT]:
                    finish = True
                else:
                    a = fetch(S, R, V, DM, CM, MEM, DECF)
                    j = lookup(SA, a)
                    if a < 0 or (j >= 0 and SLIVE[j] != 0 and SCOUNT[j] > 0):
                        finish = True
                    else:
                        kind = USERMODE[V[modei]]
                        h = a & (H - 1)
                        if CKA[h] != a or CKF[h, kind] < 0 or units_equal(MEM, off, a, CKU[h], maxlen) != 1:
                            scalars[NEED_ADDR] = a
                            scalars[NEED_KIND] = kind
                            outcome = NEED_WORD
                            break
                        if CKF[h, kind] == 0:
                            finish = True
                        else:
                            if scalars[TRACED] >= cap:
                                outcome = TRACE_FULL
                                break
                            done, end = pv_emulate(R, MEM, DECF, E, V, DM, CM, S, P, PM, PV, off, stop_mask,
                                                   scalars, reflected, TC, TP, SA, SLIVE, SWORD, SORIG, SOLEN,
                                                   HCU, HCF)
                            if end == ERROR:
                                outcome = ERROR
                                break
                            scalars[CSTEPS] += done
                            if end != R_BUDGET:
                                finish = True
                            else:
                                continue
            if finish:  # the exit is served (Paravirtualization.direct): publish, account, go on or end
                publish(MEM, DECF, V, off, PUB_REG, PUB_ADDR, PUB_N)
                steps += scalars[CSTEPS]
                scalars[CSTEPS] = 0
                scalars[PHASE] = TOP
                if end != R_BUDGET:
                    outcome = end
                    break
        R[st + ST_BUDGET] = saved_budget
        R[st + ST_TRAP_EXITS] = saved_mask
        scalars[STEPS] = steps
        return outcome

    return loop


def loop_for(core, drop_control_bit=None):
    """The compiled loop for ``core``'s spec (made once per spec and defect), or None where it cannot be
    made."""
    kernels = core.kernels()
    place = core.compiled_map().kernel()
    if kernels is None or place is None or not core.jit:
        return None
    spec = core.spec
    if spec.memory.address >= 62 or "mode" not in core.layout.reg_index:
        return None
    module = core.module
    return spec.memo(("paravirt_loop", drop_control_bit),
                     lambda s: cached(s, "pv_loop", make_loop(s, core.layout, *kernels, place, module.fetch_at,
                                                              module.decode, drop_control_bit)))


def _user_modes(spec) -> np.ndarray:
    """1 at each value of the mode register that is a user mode of ``spec``, else 0."""
    width = spec.registers["mode"].width
    if width > 16:
        raise ValueError("a mode register too wide for a table")
    user = []
    for v in range(1 << width):
        try:
            user.append(1 if spec.mode_name(v) in spec.user else 0)
        except Exception:  # not a mode: never reached by a guest the routines accept
            user.append(0)
    return np.array(user, dtype=np.int64)


class PVDispatcher:
    """One paravirtualized guest's arrays for the compiled loop, and the Python side of a run:
    draining the trace buffer, serving what the loop hands back, keeping the VMM's tables in step."""

    def __init__(self, vmm, loop):
        from ..spec.decode import decode

        g, spec = vmm.g, vmm.spec
        core = g.core
        em = g.emulator()
        self.vmm, self.loop, self.core = vmm, loop, core
        self._decode = decode
        self.causes = em.causes
        maxlen = spec.max_ilen_units
        self.maxlen = maxlen
        sites = sorted(vmm.patches)
        k = len(sites)
        self.SA = np.array(sites, dtype=np.int64)
        self.SLIVE = np.ones(k, dtype=np.int64)
        self.SCOUNT = np.array([vmm.counts.get(a, 0) for a in sites], dtype=np.int64)
        self.SAFTER = np.array([vmm.after.get(a, -1) for a in sites], dtype=np.int64)
        words = [vmm.patches[a][0] for a in sites]
        if any(w >> 64 for w in words):
            raise ValueError("a rewrite wider than 64 bits")
        self.SWORD = np.array(words, dtype=np.uint64)
        self.SORIG = np.zeros((k, maxlen), dtype=np.uint64)
        origs = [vmm.patches[a][1] for a in sites]
        self.SOLEN = np.array([len(o) for o in origs], dtype=np.int64)
        if k and all(len(o) == maxlen for o in origs):
            self.SORIG[:] = origs
        else:
            for i, orig in enumerate(origs):
                self.SORIG[i, :len(orig)] = orig
        # whether the storage at a site holds a hypercall (Paravirtualization._is_hypercall), by its units
        self.HCU = np.zeros((k, maxlen), dtype=np.uint64)
        self.HCF = np.zeros(k, dtype=np.int64)
        self._learn_sites()
        # whether the word at an address is flagged, per kind (0 supervisor, 1 user); -1 unknown
        # (an entry's units and flags are read only where CKA holds its address, which _learn_word
        # writes with them: left unfilled, a fresh guest's tables cost no pass over 200 KB)
        self.CKA = np.full(WORD_TABLE, -1, dtype=np.int64)
        self.CKU = np.empty((WORD_TABLE, maxlen), dtype=np.uint64)
        self.CKF = np.empty((WORD_TABLE, 2), dtype=np.int64)
        self.USERMODE = spec.memo("pv_user_modes", _user_modes)  # the same for every guest (read only)
        u = spec.memory.unit
        slots = list(vmm.slots.items())
        self.PUB_REG = np.array([core.layout.reg_index[r] for r, _ in slots], dtype=np.int64)
        self.PUB_ADDR = np.array([a for _, a in slots], dtype=np.int64)
        self.PUB_N = np.array([-(-spec.registers[r].width // u) for r, _ in slots], dtype=np.int64)
        self.args = (core.R, core.MEM, core.DECF, em.E, g.virtual.array, g.DM, g.CM, g.view_array(), g.P,
                     g.map.sets, np.zeros(len(g.names), dtype=np.uint64), np.int64(g.offset))
        self.TC = np.zeros(max(int(vmm.trace_capacity), 1), dtype=np.int64)
        self.TP = np.zeros(len(self.TC), dtype=np.uint64)

    def _learn_sites(self):
        """:meth:`_learn_site` for every site: their units in one gather, and whether a word is a
        hypercall remembered per spec (a fresh VMM's sites hold the kernel's flagged instructions)."""
        vmm = self.vmm
        g, spec, n = vmm.g, vmm.spec, self.maxlen
        u = spec.memory.unit
        if not len(self.SA) or n * u > 64:
            for i in range(len(self.SA)):
                self._learn_site(i)
            return
        where = (self.SA[:, None] + np.arange(n) + g.offset) & g.amask  # PlacedGuest.units' addressing
        units = g.core.MEM[where].astype(np.uint64)
        self.HCU[:] = units
        words = (units << (np.arange(n, dtype=np.uint64) * np.uint64(u))).sum(axis=1, dtype=np.uint64).tolist()
        hc = vmm.pv.hypercall
        known = spec.memo(("pv_is_hypercall", hc), lambda s: BoundedMemo(1 << 12))
        flags = []
        for w in words:
            f = known.get(w)
            if f is None:
                d = self._decode(spec, w)  # Paravirtualization._is_hypercall, on the word it reads
                f = known.remember(w, 1 if d is not None and d[0] == hc else 0)
            flags.append(f)
        self.HCF[:] = flags

    def _learn_site(self, i):
        vmm = self.vmm
        a = int(self.SA[i])
        self.HCU[i] = vmm.g.units(a, self.maxlen)
        self.HCF[i] = 1 if vmm._is_hypercall(a) else 0

    def _sync(self):
        """The loop dropped rewrites (SLIVE 0) or Python did: make both agree with the dicts' view."""
        vmm = self.vmm
        if self.SLIVE.all():  # after almost every return: nothing dropped
            return
        for i in np.flatnonzero(self.SLIVE == 0).tolist():
            a = int(self.SA[i])
            if a in vmm.patches:
                del vmm.patches[a]
                vmm.counts.pop(a, None)

    def _relive(self):
        vmm = self.vmm
        for i, a in enumerate(self.SA.tolist()):
            self.SLIVE[i] = 1 if a in vmm.patches else 0

    def _learn_word(self, a, kind):
        vmm = self.vmm
        units = vmm.g.units(a, self.maxlen)
        u = vmm.spec.memory.unit
        word = sum(v << (k * u) for k, v in enumerate(units))  # PlacedGuest.word_at, from the units read
        flagged = unit_of_word(vmm.spec, word) in vmm.translate["user" if kind else "supervisor"]
        h = a & (WORD_TABLE - 1)
        if self.CKA[h] != a or self.CKU[h].tolist() != units:
            self.CKA[h] = a
            self.CKU[h] = units
            self.CKF[h] = -1
        self.CKF[h, kind] = 1 if flagged else 0

    def run(self, vmm, budget: int, stop_on):
        from ..spec.exits import Exit

        causes = self.causes
        stop_mask = np.uint64(sum(1 << i for i, c in enumerate(causes) if c in stop_on))
        scalars = np.zeros(N_SCALARS, dtype=np.int64)
        exits = np.zeros(len(REASONS), dtype=np.int64)
        traps = np.zeros(len(causes), dtype=np.int64)
        reflected = np.zeros(len(causes), dtype=np.int64)
        TC, TP = self.TC, self.TP
        tables = (self.SA, self.SLIVE, self.SCOUNT, self.SAFTER, self.SWORD, self.SORIG, self.SOLEN, self.HCU,
                  self.HCF, self.CKA, self.CKU, self.CKF, self.USERMODE, self.PUB_REG, self.PUB_ADDR, self.PUB_N)
        end = None
        outcome = RAN_OUT
        if budget > 0:  # nothing to run: as the Python dispatcher, never enter compiled code
            while True:
                outcome = self.loop(*self.args, budget, stop_mask, scalars, exits, traps, reflected, TC, TP, *tables)
                self.core.returns += 1
                k = int(scalars[TRACED])
                if k:
                    vmm.trace.extend_codes(TC[:k], TP[:k])
                    scalars[TRACED] = 0
                self._sync()
                if outcome == TRACE_FULL:
                    continue
                if outcome == NEED_WORD:
                    self._learn_word(int(scalars[NEED_ADDR]), int(scalars[NEED_KIND]))
                    continue
                if outcome == ERROR:
                    raise RuntimeError("the paravirtual loop met a patch exit away from any rewrite")
                if outcome == DEFER:  # Paravirtualization.direct, for this one exit of the real core
                    code, ran = int(scalars[REASON]), int(scalars[RAN])
                    st = self.core.ST
                    ex = Exit(REASONS[code], None, int(st[ST_TVAL]) if code == R_HYPERCALL else 0, ran)
                    vmm._left = budget - int(scalars[STEPS])
                    n, end, _ = vmm.dispatch(ex)
                    vmm.publish()
                    scalars[STEPS] += n
                    self._relive()
                    if code == R_HYPERCALL:
                        for i in range(len(self.SA)):  # what memory holds at the sites, as _is_hypercall sees it
                            if self.SLIVE[i] and self.HCU[i].tolist() != vmm.g.units(int(self.SA[i]), self.maxlen):
                                self._learn_site(i)
                    if end is not None:
                        break
                    continue
                break
        c = vmm.counters
        c.direct += int(scalars[DIRECT])
        c.emulated += int(scalars[EMULATED])
        c.hypercalls += int(scalars[HYPERCALLS])
        for i in np.flatnonzero(exits).tolist():
            c.exits[REASONS[i]] += int(exits[i])
        for i in np.flatnonzero(traps).tolist():
            c.traps[causes[i]] += int(traps[i])
        for i in np.flatnonzero(reflected).tolist():
            c.reflected[causes[i]] += int(reflected[i])
        steps = int(scalars[STEPS])
        if end is not None:
            return vmm._exit(end.reason, steps, end.cause)
        if outcome == RAN_OUT:
            return vmm._exit("budget", steps)
        if outcome == STOP:
            return vmm._exit("stop", steps, causes[int(scalars[CAUSE])])
        return vmm._exit(REASONS[outcome], steps)


__all__ = ["PVDispatcher", "loop_for", "make_loop"]
