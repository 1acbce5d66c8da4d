"""The x86_32 guest library (specs/x86_32/boot.s) on the interpreter and the core.

The stub starts from the spec's reset state, which is what a 386 holds once
real-mode boot code has set CR0.PE (usable flat CS, SS and DS caches), loads
its GDT, IDT and TSS, and enters CPL 3 with IRET.  x86_32 and x86_32_cpl1 are
one machine with two virtualization maps, so they share the stub.
"""

import pytest

from tests.conftest import load
from tests.guests.engines import ENGINES, run_on
from vverify import guests as G
from vverify.bench import workloads as W

X86 = ["x86_32", "x86_32_cpl1"]  # one machine, two virtualization maps: the same stub

@pytest.fixture(scope="module")
def x86():
    return load("x86_32")


def final_state(engine, target):
    return target if engine == "interp" else target.to_state(default=0)


def word_at(target, addr):
    """The little-endian 32-bit word at physical ``addr`` of a MachineState or a Core."""
    read = target.read_mem if hasattr(target, "read_mem") else (lambda a: int(target.MEM[a]))
    return sum(read(addr + k) << (8 * k) for k in range(4))


SYSCALLS = """
user_main:
        movi  ecx, 11
        movi  edx, 12
        movi  ebp, 13
        movi  esi, 14
        movi  edi, 15
        movi  eax, 1
        movi  ebx, 42
        int   0x80              # putc 42
        movi  ebx, 0x89abc0de
        int   0x80              # putc a 32-bit word
        movi  eax, 2
        int   0x80              # yield
        movi  eax, 99
        int   0x80              # an unknown number: like yield
        movi  eax, 1
        mov   ebx, ecx
        int   0x80              # the registers the kernel uses survived
        mov   ebx, edx
        int   0x80
        mov   ebx, ebp
        int   0x80
        mov   ebx, esi
        int   0x80
        mov   ebx, edi
        int   0x80
        mov   ebx, eax          # eax too: still 1
        int   0x80
        movi  eax, 0
        movi  ebx, 3
last:   int   0x80              # exit 3
"""

SYSCALL_OUTPUT = [42, 0x89ABC0DE, 11, 12, 13, 14, 15, 1]


@pytest.mark.parametrize("name", X86)
def test_putc_and_exit_agree_on_interpreter_and_core(name):
    spec = load(name)
    prog = G.build(spec, SYSCALLS, file="syscalls.s")
    results = {}
    for engine in ENGINES:
        target, ex = run_on(engine, spec, prog, 5000)
        assert G.halt_convention(G.spec_of(name)).ended(ex), (engine, ex)
        results[engine] = (ex, G.read_output(spec, target), G.exit_status(spec, target),
                           final_state(engine, target))
    (iex, iout, ist, ifinal), (cex, cout, cst, cfinal) = results["interp"], results["core"]
    assert iout == cout == SYSCALL_OUTPUT
    assert ist == cst == G.ProgramOutcome("exit", code=3, pc=prog.user.symbols["last"])
    assert (iex.reason, iex.steps) == (cex.reason, cex.steps)
    assert cfinal.regs == ifinal.regs
    assert cfinal.files == ifinal.files
    assert cfinal.normalized_mem() == ifinal.normalized_mem()
    assert ifinal.regs["mode"] == spec.modes["cpl0"]  # the kernel halted


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("instr", ["hlt", "cli", "lgdt [0]", "movcr eax, cr0", "in 0x40"])
def test_privileged_instruction_is_a_recorded_gp(x86, engine, instr):
    prog = G.build(x86, f"""
user_main:
        movi  eax, 1
        movi  ebx, 7
        int   0x80
bad:    {instr}
        movi  eax, 0
        int   0x80
""")
    target, ex = run_on(engine, x86, prog, 1000)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    st_ = G.exit_status(x86, target)
    assert st_.status == "trap"
    assert st_.cause_code == x86.causes["gp_privilege"].code == 13  # #GP
    assert "gp_privilege" in st_.causes
    assert (st_.pc, st_.tval) == (prog.user.symbols["bad"], 0)
    assert G.read_output(x86, target) == [7]


@pytest.mark.parametrize("engine", ENGINES)
def test_access_beyond_the_user_segment_is_a_memory_trap(x86, engine):
    lay = G.layout(x86)
    prog = G.build(x86, f"""
user_main:
bad:    mov   eax, [{lay.user_size}]    # one past the user data segment's limit
        movi  eax, 0
        int   0x80
""")
    target, ex = run_on(engine, x86, prog, 1000)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    st_ = G.exit_status(x86, target)
    assert (st_.status, st_.cause_code, st_.tval, st_.pc) == ("trap", 13, 0, prog.user.symbols["bad"])
    assert "memory" in {x86.causes[c].kind for c in st_.causes}


def test_int_to_a_kernel_gate_is_a_gp_naming_the_vector(x86):
    """Only vector 0x80 has a DPL-3 gate: int 13 from CPL 3 is #GP(13*8+2), as on the 386."""
    prog = G.build(x86, "user_main:\nbad:    int 13\n        movi eax, 0\n        int 0x80\n")
    target, ex = run_on("interp", x86, prog, 1000)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    st_ = G.exit_status(x86, target)
    assert (st_.status, st_.cause_code, st_.tval, st_.pc) == ("trap", 13, 13 * 8 + 2, prog.user.symbols["bad"])


def test_undefined_opcode_is_a_recorded_ud(x86):
    """#UD has no error code: the trap value is 0 ([esp+disp8] needs a SIB byte, which the spec does not decode)."""
    prog = G.build(x86, "user_main:\nbad:    mov eax, [esp+0]\n        movi eax, 0\n        int 0x80\n")
    target, ex = run_on("interp", x86, prog, 1000)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    st_ = G.exit_status(x86, target)
    assert (st_.status, st_.causes, st_.tval, st_.pc) == ("trap", ("ud",), 0, prog.user.symbols["bad"])


@pytest.mark.parametrize("engine", ENGINES)
def test_sys_extra_is_reached_and_returns(x86, engine):
    """Syscall 3 reaches kernel_extra's sys_extra at CPL 0, which returns a value through the frame."""
    extra = """
sys_extra:                              # eax = ebx * 2 + 1 in the caller; record that we ran at CPL 0
        mov   eax, ebx
        add   eax, ebx
        inc   eax
        mov   [ebp+F_EAX], eax
        mov   eax, cs
        mov   [x_cs], eax
        jmp   (k_return - . - 5) & 0xFFFFFFFF
x_cs:   .space 4
"""
    prog = G.build(x86, """
user_main:
        movi  esi, 5
        movi  eax, 3
        movi  ebx, 20
        int   0x80              # sys_extra: eax = 41
        mov   ebx, eax
        movi  eax, 1
        int   0x80              # putc 41
        mov   ebx, esi
        int   0x80              # putc 5: esi survived
        movi  eax, 0
        movi  ebx, 0
        int   0x80
""", kernel_extra=extra)
    assert prog.symbols["sys_extra"] == G.layout(x86).constants["K_EXTRA"]
    target, ex = run_on(engine, x86, prog, 2000)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    assert G.read_output(x86, target) == [41, 5]
    assert G.exit_status(x86, target).status == "exit"
    assert word_at(target, prog.symbols["x_cs"]) == 0x08  # the kernel's code selector, RPL 0


def test_full_buffer_drops_values(x86):
    cap = G.layout(x86).constants["GUEST_OUT_CAP"]
    prog = G.build(x86, f"""
user_main:
        movi  eax, 1
        movi  ebx, {cap + 5}
again:  int   0x80
        dec   ebx
        jcc   ne, again - . - 2
        movi  eax, 0
        int   0x80
""")
    core, ex = run_on("core", x86, prog, 100_000)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    assert G.read_output(x86, core) == list(range(cap + 5, 0, -1))[:cap]
    assert G.exit_status(x86, core).status == "exit"


def test_boot_enters_cpl3_in_the_user_segments(x86):
    lay = G.layout(x86)
    c = lay.constants
    assert (lay.user_base, lay.user_origin, lay.user_size, lay.out_cap, lay.word_units) == (0x8000, 0, 0x8000, 256, 4)
    prog = G.build(x86, "user_main:\n        nop\n        movi eax, 0\n        int 0x80\n")
    s = G.boot_state(x86, prog)
    assert s.regs["pc"] == prog.entry == prog.symbols["_start"]
    assert s.regs["mode"] == x86.modes[x86.initial_mode] == x86.modes["cpl0"]
    from vverify.interp import run

    s, ex = run(x86, s, 27)  # the boot: 27 steps, the last one the iret
    assert ex.reason == "budget"
    r = s.regs
    assert r["mode"] == x86.modes["cpl3"] and r["pc"] == prog.user_main
    assert (r["cs"], r["cs_base"], r["cs_limit"], r["cs_attr"]) == (c["UCODE_SEL"] & ~3, 0x8000, 0x7FFF, 0xFB)
    assert (r["ss"], r["ss_base"], r["ss_limit"], r["ss_attr"]) == (c["UDATA_SEL"] & ~3, 0x8000, 0x7FFF, 0xF3)
    assert (r["ds"], r["ds_base"], r["ds_limit"], r["ds_attr"]) == (c["UDATA_SEL"], 0x8000, 0x7FFF, 0xF3)
    assert (r["fs"], r["fs_attr"], r["gs"], r["gs_attr"]) == (0, 0, 0, 0)
    assert (r["eflags"], r["tr"], r["tr_base"]) == (c["USER_EFLAGS"], c["TSS_SEL"], c["K_TSS"])
    assert s.files["r"] == [0, 0, 0, 0, c["USER_STACK"], 0, 0, 0]
    s, ex = G.run(x86, s, 100)
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex) and G.exit_status(x86, s).status == "exit"


def test_the_bundled_spec_boots():
    """From the spec's own reset state, a program that only exits runs to the halt convention."""
    spec = load("x86_32")
    prog = G.build(spec, "user_main:\n        movi eax, 0\n        movi ebx, 0\nlast:   int 0x80\n")
    s, ex = G.run(spec, G.boot_state(spec, prog), 1000)
    assert s.regs["shutdown"] == 0
    assert G.halt_convention(G.spec_of("x86_32")).ended(ex), ex
    assert G.exit_status(spec, s) == G.ProgramOutcome("exit", code=0, pc=prog.user.symbols["last"])


# ------------------------------------------------------------------ workloads


@pytest.mark.parametrize("workload", [w for w in W.WORKLOADS if W.source("x86_32", w).applicable])
def test_workload_runs_to_exit(x86, workload):
    """Every x86 workload exits with status 0 on the core, in steps linear in N."""
    steps = []
    for n in (0, 3, 7):
        core, ex = run_on("core", x86, W.build(x86, workload, n), 200_000)
        assert G.halt_convention(G.spec_of("x86_32")).ended(ex), (workload, n, ex)
        st_ = G.exit_status(x86, core)
        assert (st_.status, st_.code) == ("exit", 0), (workload, n, st_)
        steps.append(ex.steps)
    s0, s3, s7 = steps
    assert (s7 - s3) * 3 == (s3 - s0) * 4 and s3 > s0


def test_not_applicable_workloads_say_why():
    for w in ("pgfault", "ptemod"):
        assert "paging" in W.source("x86_32", w).na
        assert W.source("x86_32_cpl1", w).na == W.source("x86_32", w).na
