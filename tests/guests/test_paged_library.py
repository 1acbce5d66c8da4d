"""riscv32_sv32's guest library (specs/riscv32/boot_sv32.s): the user program runs through page tables.

The boot turns Sv32 on over two roots before it enters user mode, and four more system calls let
guest code change the translation it runs on (rewrite a window entry, switch root, flush) or run
the kernel's S-mode part through it (peek).  Each
is shown on the interpreter and on the core, by what reaches physical memory and by the fault the
kernel records; the expected frames and faults follow the stub's documented map, not its code.
"""

import pytest

from tests.conftest import load
from tests.guests.engines import ENGINES, run_on
from tests.sv32 import read_word
from vverify import guests as G

SPEC = "riscv32_sv32"
WINDOW_VA, WINDOW_FRAME = 0x00400000, 0x28

# a7 = 8 pte(a0), 9 root(a0), 10 flush(), 11 peek(a0); putc (1) shows a loaded value, exit (0) ends the program
PROGRAMS = {
    # root A: window page i is frame WINDOW_FRAME + i
    "root A": ("""
user_main:
        addi  t0, zero, 0x55
        sw    t0, 4(s0)             # page 0
        lui   t1, 0x1000
        add   t2, s0, t1
        addi  t0, zero, 0x66
        sw    t0, 4(t2)             # page 1
        lw    a0, 4(t2)
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {(WINDOW_FRAME, 4): 0x55, (WINDOW_FRAME + 1, 4): 0x66}, [0x66], None),
    # root B: window page i is frame WINDOW_FRAME + 7 - i
    "root B": ("""
user_main:
        addi  a0, zero, 1
        addi  a7, zero, 9
        ecall
        addi  t0, zero, 0x77
        sw    t0, 8(s0)
        addi  a7, zero, 10          # flush: nothing changes
        ecall
        lw    a0, 8(s0)
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {(WINDOW_FRAME + 7, 8): 0x77}, [0x77], None),
    # pte(page 0, set 1): read-only, frame WINDOW_FRAME + 1; a store then faults and the kernel skips it
    "read-only": ("""
user_main:
        addi  a0, zero, 8
        addi  a7, zero, 8
        ecall
        addi  t0, zero, 0x99
        sw    t0, 0(s0)             # store page fault: skipped, nothing written
        lw    a0, 0(s0)
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {(WINDOW_FRAME + 1, 0): 0}, [0], ("store_page_fault", WINDOW_VA)),
    # pte(page 3 of root B's table, set 2): A clear, so even a load faults; root A's page 3 is untouched
    "A clear": ("""
user_main:
        addi  a0, zero, 64 + 16 + 3
        addi  a7, zero, 8
        ecall
        lui   t0, 0x3000
        add   s0, s0, t0
        lw    a0, 0(s0)             # root A: fine
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 1
        addi  a7, zero, 9
        ecall
        lw    a0, 0(s0)             # root B: A clear, a load page fault; skipped, a0 stays 1
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {}, [0, 1], ("load_page_fault", WINDOW_VA + 0x3000)),
    # root(2): Bare, so the window's virtual address is a physical one beyond memory
    "Bare": ("""
user_main:
        addi  a0, zero, 2
        addi  a7, zero, 9
        ecall
        lw    a0, 0(s0)             # load access fault: skipped, a0 stays 2
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {}, [2], ("load_access_fault", WINDOW_VA)),
    # peek(page 4): window entry 4 made supervisor-only (set 4, frame WINDOW_FRAME + 0); the kernel's S
    # part reads it, the user's own load of it faults and is skipped
    "peek S-only": ("""
user_main:
        addi  t0, zero, 0x5A
        sw    t0, 0(s0)             # page 0: frame WINDOW_FRAME
        addi  a0, zero, 32 + 4      # pte(page 4, set 4): S-only, frame WINDOW_FRAME + ((4 + 4) & 7)
        addi  a7, zero, 8
        ecall
        addi  a0, zero, 4
        addi  a7, zero, 11          # peek(page 4), root A, no SUM
        ecall
        addi  a7, zero, 1
        ecall
        lw    a0, 0(s4)             # s4 = page 4: S-only, a load page fault; skipped, a0 stays
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {(WINDOW_FRAME, 0): 0x5A}, [0x5A, 0x5A], None),
    # peek(root B, SUM, page 7): S switches satp to root B and reads a user page; satp stays on B
    "peek root B": ("""
user_main:
        addi  t0, zero, 0x77
        sw    t0, 0(s0)             # root A page 0: frame WINDOW_FRAME
        addi  a0, zero, 64 + 8 + 7  # root B page 7 is frame WINDOW_FRAME too
        addi  a7, zero, 11
        ecall
        addi  a7, zero, 1
        ecall
        lw    a0, 0(s0)             # root B now: page 0 is frame WINDOW_FRAME + 7
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {}, [0x77, 0], None),
    # peek(page 1) without SUM: a user page, so S's load faults; a0 stays 1
    "peek no SUM": ("""
user_main:
        addi  a0, zero, 1
        addi  a7, zero, 11
        ecall
        addi  a7, zero, 1
        ecall
        addi  a0, zero, 0
        addi  a7, zero, 0
        ecall
""", {}, [1], None),
}


def test_the_boot_enters_user_mode_translated_with_its_registers_on_the_window():
    spec = load(SPEC)
    prog = G.build(spec, "user_main:\n        addi a0, zero, 0\n        addi a7, zero, 0\n        ecall\n")
    state = G.boot_state(spec, prog)
    from vverify.interp import step_once
    while state.regs["mode"] != 0:  # until mret enters U-mode
        state, _ = step_once(spec, state)
    assert state.regs["satp"] == 0x80000000 | 0x20  # Sv32, root A
    assert state.files["x"][8] == WINDOW_VA  # s0: page 0
    assert [state.files["x"][i] for i in (1, 3, 15, 31)] == [WINDOW_VA + (i & 7) * 0x1000 for i in (1, 3, 15, 31)]
    assert state.files["x"][2] == 0x10000  # sp
    assert state.regs["pc"] == prog.symbols["user_main"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_call_changes_the_translation_as_documented(engine, name):
    """Each program exits normally; a fault it takes is the kernel's to skip, and shows in what the
    program printed afterwards and in what did not reach memory."""
    spec = load(SPEC)
    text, frames, output, _ = PROGRAMS[name]
    target, _ = run_on(engine, spec, G.build(spec, text), 5000)
    out = G.exit_status(spec, target)
    assert (out.status, out.code) == ("exit", 0), out
    assert G.read_output(spec, target) == output
    mem = target if engine == "interp" else None
    for (frame, offset), value in frames.items():
        addr = frame * 0x1000 + offset
        got = read_word(mem, addr) if mem is not None else int.from_bytes(bytes(target.MEM[addr:addr + 4]), "little")
        assert got == value, hex(addr)


@pytest.mark.parametrize("name", sorted(n for n, p in PROGRAMS.items() if p[3]))
def test_the_kernel_skips_the_users_faults_and_no_other_trap(name):
    """The fault is delivered to the guest kernel (it is in the trace of traps a run delivers) and the
    program goes on; so does a privileged instruction, while a fetch fault halts it."""
    from vverify.vmm import Native

    spec = load(SPEC)
    text, _, _, (cause, _) = PROGRAMS[name]
    vm = Native(spec, G.boot_state(spec, G.build(spec, text)))
    ex = vm.run(5000, stop_on={"ecall_from_m"})
    assert ex.reason == "stop"
    faults = [t for t in vm.trace if t[0] != "ecall_from_u"]
    assert [t[0] for t in faults] == [cause]
    skipped = G.build(spec, "user_main:\n        csrrw zero, satp, zero\n        addi a0, zero, 0\n"
                               "        addi a7, zero, 0\n        ecall\n")
    state, _ = G.run(spec, G.boot_state(spec, skipped), 5000)
    assert G.exit_status(spec, state).status == "exit"
    halting = G.build(spec, "user_main:\n        jal zero, 0x2000\n")  # kernel memory: not mapped for the user
    state, _ = G.run(spec, G.boot_state(spec, halting), 5000)
    assert G.exit_status(spec, state).causes == ("instruction_page_fault",)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_program_runs_as_natively_on_shadow_page_tables(name):
    """What the calls do to the translation, a shadow pager follows (trap-and-emulate on the spec's
    shadow map); peek's S part gets a shadow of its own (an S view besides the kernel's identity and
    the user's), so what S may touch never becomes the user's."""
    from vverify.fuzz.equivalence import compare_views, core_for, resource_violations, stop_causes
    from vverify.vmm import Native, TrapAndEmulate

    spec = load(SPEC)
    state = G.boot_state(spec, G.build(spec, PROGRAMS[name][0]))
    native = Native(spec, state, core=core_for(spec, "native"))
    vmm = TrapAndEmulate(spec, state, core=core_for(spec, "vmm"))
    stop = stop_causes(spec)
    a, b = native.run(5000, stop_on=stop), vmm.run(5000, stop_on=stop)
    assert compare_views(spec, native, vmm, a, b) == [] and resource_violations(spec, vmm) == []
    views = {s[0] if s[0] != "paged" else ("paged", s[2]) for s in vmm.pager.shadows}
    assert (("paged", 1) in views) == name.startswith("peek"), views  # privilege 1: S
