"""Binary translation when what a pc means changes (vverify/vmm/binary_translation.py and
binary_translation_loop.py): a translation stands for the places its instructions were fetched from.

Where a spec's fetch reads registers besides pc (pg74's relocation register, x86's CS base and
limit), a guest kernel can make the same (pc, mode) fetch from elsewhere.  The old block's words
still match memory where they were fetched, so a check of the words alone reuses it, and the real
core runs, directly, instructions the translator never classified.  Each guest below does that with
a sensitive unprivileged instruction at the new place (one the VMM must emulate); binary
translation, in the Python loop and in the compiled one, must end as on bare metal, and the two
loops must count the same events.
"""

import pytest

from tests.conftest import load, report_of
from vverify import guests as G
from vverify.context import context_of
from vverify.fuzz.equivalence import compare_views
from vverify.vmm import BinaryTranslation, Native, translation_set

from .test_binary_translation_loop import run_both

PATHS = [False, True]  # BinaryTranslation(compiled=...): the Python loop, the compiled one

# pg74_rdbase.  The kernel runs t_x where it is (l = 0), then loads the PSW <s, t_x, FAR, 0xFFFF>:
# pc t_x again, in supervisor mode, now fetched from FAR + t_x, where `rdbase` reads the relocation
# base (sensitive, unprivileged: run directly it reads the real base, FAR + the VMM's offset).
PG74_USER = """
user_main:
        svc   3
        li    r0, 0
        svc   0
"""
PG74_FAR_JUMP = """
        .equ  FAR, 0x2000
        .equ  T_X, 0x300
        .equ  PSW_HOME, 0x310
        .equ  T_SEEN, 0x318
sys_extra:
        jmp   T_X                 # t_x with l = 0: translated as two direct instructions
t_back:
        lpsw  psw_far             # the same pc, fetched from FAR + t_x
t_done:
        jmp   k_return
psw_far:
        .word 0, T_X, FAR, 0xFFFF
        .org  T_X
        li    r1, 5
        jmp   t_back
        .org  FAR + T_X           # what pc t_x means once l = FAR
        rdbase r1
        st    r1, T_SEEN          # at FAR + T_SEEN
        lpsw  PSW_HOME            # the PSW at FAR + PSW_HOME: back to t_done with l = 0
        .org  FAR + PSW_HOME
        .word 0, t_done, 0, 0xFFFF
"""

# pg74_rdbase, through a chain.  The same block (lpsw psw_far, at t_go with l = 0) enters t_x twice:
# first with l = A, where the block at t_x is made and chained to it, then with l = B (the kernel
# rewrote the PSW's base: data, not code), where `rdbase` is.  The chained block's words still match
# at A + t_x.
PG74_CHAINED = """
        .equ  A, 0x2000
        .equ  B, 0x3000
        .equ  T_X, 0x300
        .equ  PSW_HOME, 0x310
        .equ  T_SEEN, 0x318
sys_extra:
t_go:
        lpsw  psw_far             # <s, t_x, base, 0xFFFF>: base A, then B
t_done:
        ld    r1, c_b
        sub   r1, psw_base
        jz    r1, k_return        # the second round is over
        ld    r1, c_b
        st    r1, psw_base
        jmp   t_go
c_b:    .word B
psw_far: .word 0, T_X
psw_base: .word A, 0xFFFF
        .org  A + T_X             # pc t_x with l = A
        li    r1, 5
        lpsw  PSW_HOME
        .org  A + PSW_HOME
        .word 0, t_done, 0, 0xFFFF
        .org  B + T_X             # pc t_x with l = B
        rdbase r1
        st    r1, T_SEEN
        lpsw  PSW_HOME
        .org  B + PSW_HOME
        .word 0, t_done, 0, 0xFFFF
"""

# pg74_rdbase, within one block: `setr` (privileged, emulated) moves l, and the block goes on
# (setr does not write pc).  What follows it in the block was translated from l = 0; the real core
# runs what is at the new place, FAR + pc: there, `rdbase`.
PG74_SETR_MID_BLOCK = """
        .equ  FAR, 0x2000
        .equ  T_SET, 0x300
        .equ  T_SEEN, 0x318
sys_extra:
        ld    r2, c_far
        ld    r3, c_bound
        jmp   T_SET
t_done:
        jmp   k_return
c_far:  .word FAR
c_bound: .word 0xFFFF
        .org  T_SET
        setr  r2                  # l = FAR: the next fetch is at FAR + T_SET + 1
        li    r1, 5               # (l = 0: what the block was translated from)
        li    r1, 6
        jmp   t_done
        .org  T_SET + 5           # where the fetch goes on once l = 0 again (below)
        jmp   t_done
        .org  FAR + T_SET + 1
        rdbase r1
        st    r1, T_SEEN          # at FAR + T_SEEN
        li    r2, 0
        setr  r2                  # l = 0 again (b = r3 = 0xFFFF): the next fetch is at T_SET + 5
"""

# x86_32.  The kernel runs t_x through its flat code segment (0x08, base 0), then writes a second
# DPL-0 code descriptor (0x30, base FAR) into its GDT, loads the longer GDT and far-jumps to 0x30:t_x:
# the same pc at CPL 0, fetched from FAR + t_x, where `str` reads the task register (sensitive,
# unprivileged: run directly it reads the VMM's TSS selector).
X86_USER = """
user_main:
        movi  eax, 3
        int   0x80
        movi  eax, 0
        movi  ebx, 0
        int   0x80
"""
X86_FAR_JUMP = """
        .equ  FAR, 0x2000
        .equ  T_X, 0x1900
        .equ  T_SEEN, 0x1A00
sys_extra:
        jmp   (T_X - . - 5) & 0xFFFFFFFF    # t_x through CS 0x08: translated as direct instructions
t_back:
        movi  eax, 0x2000FFFF               # descriptor 0x30: limit 15:0, base FAR ...
        mov   [K_GDT + 0x30], eax
        movi  eax, 0x00CF9B00               # ... present, DPL 0, execute/read, 4 GiB
        mov   [K_GDT + 0x34], eax
        lgdt  [t_gdtr]
        jmpf  0x30, T_X                     # the same pc, fetched from FAR + t_x
t_done:
        jmp   (k_return - . - 5) & 0xFFFFFFFF
t_gdtr: .word 0x37, 0, K_GDT & 0xFF, (K_GDT >> 8) & 0xFF, 0, 0
        .org  T_X
        movi  ecx, 5
        jmp   (t_back - . - 5) & 0xFFFFFFFF
        .org  FAR + T_X                     # what pc t_x means through CS 0x30
        str   eax
        mov   [T_SEEN], eax
        jmpf  0x08, t_done
"""

CASES = {
    "pg74_far_jump": ("pg74_rdbase", PG74_USER, PG74_FAR_JUMP),
    "pg74_chained": ("pg74_rdbase", PG74_USER, PG74_CHAINED),
    "pg74_setr_mid_block": ("pg74_rdbase", PG74_USER, PG74_SETR_MID_BLOCK),
    "x86_far_jump": ("x86_32", X86_USER, X86_FAR_JUMP),
}


def _guest(case):
    name, user, kernel = CASES[case]
    spec = load(name)
    return spec, G.boot_state(spec, G.build(spec, user, kernel))


def _bt(spec, state, compiled):
    return BinaryTranslation(spec, state, translate=translation_set(report_of(spec)), compiled=compiled)


@pytest.mark.parametrize("compiled", PATHS, ids=["python", "compiled"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_binary_translation_follows_what_a_pc_means(case, compiled):
    spec, state = _guest(case)
    stop = context_of(spec).stop_causes()
    native, bt = Native(spec, state), _bt(spec, state, compiled)
    a, b = native.run(5_000, stop_on=stop), bt.run(5_000, stop_on=stop)
    assert bt.path == ("compiled" if compiled else "python")
    assert a.reason == "halt" and G.exit_status(spec, native.guest_memory()).status == "exit"
    assert compare_views(spec, native, bt, a, b) == []
    if case != "pg74_setr_mid_block":  # the block at t_x was found again, under the new base, and not reused
        assert bt.counters.tc_invalidations >= 1


@pytest.mark.parametrize("compiled", PATHS, ids=["python", "compiled"])
def test_a_block_made_where_the_fetch_faulted_is_not_reused_once_it_does_not(compiled):
    """pg74 resets with the bound b = 0, so the first fetch, at _start, faults: the translator makes a
    block of no words there.  The reset trap then loads the kernel's bound and returns to _start in
    the same mode: that block must not stand for the kernel's first instructions (it would run them
    directly, whatever they are); the one cached at _start is the translator's, made from them."""
    spec = load("pg74_rdbase")
    prog = G.build(spec, PG74_USER)
    bt = _bt(spec, G.boot_state(spec, prog), compiled)
    bt.run(200, stop_on=context_of(spec).stop_causes())
    start, s = prog.symbols["_start"], spec.modes["s"]
    blk = bt.cache[start, s]
    made = bt._translate(start, s, bt.translate["supervisor"])
    assert blk.words and (blk.segments, blk.words, blk.fetched) == (made.segments, made.words, made.fetched)


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_loops_agree(case):
    """The compiled loop against the Python one (tests/vmm/test_binary_translation_loop.py's judge:
    exits, traps, every counter but crossings, guest and real state): in one run, in runs cut into
    pieces, and in runs that switch loops between pieces (the blocks' fetch inputs go both ways)."""
    spec, state = _guest(case)
    run_both(spec, state, 5_000)
    run_both(spec, state, 5_000, chunks=7)
    run_both(spec, state, 5_000, chunks=7, path=lambda vmm, k: setattr(vmm, "compiled", bool(k % 2)))
