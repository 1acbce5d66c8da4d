"""The guest library (vverify.guests, specs/*/boot.s) on the interpreter and the core.

For every spec: a user program that makes syscalls and exits leaves the
expected output and a clean halt; a privileged instruction and an access
outside the user region end the program with the cause recorded; the
interpreter and the core agree on the final state; a loop runs to completion.
"""

import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import load
from tests.guests.engines import ENGINES, run_on
from vverify import guests as G
from vverify.asm import AsmError

SPECS = ["pg74", "pg74_rdbase", "pdp10", "riscv32", "mips32", "mips32_kuseg", "armv7a", "armv7a_undef"]
# Per-spec user programs.  Labels the tests read: `last` (the exit call),
# `bad` (the trapping instruction).  Each syscall program sets three
# registers the kernel uses as scratch, makes putc/yield calls, and then
# prints those registers to show that they survived.
PG74 = {
    "syscalls": """
user_main:
        li    r1, 11
        li    r2, 12
        li    r3, 13
        li    r0, 42
        svc   1                 # putc 42
        li    r0, -1
        svc   1                 # putc 0xFFFF
        svc   2                 # yield
        svc   9                 # an unknown number: like yield
        st    r1, tmp
        ld    r0, tmp
        svc   1
        st    r2, tmp
        ld    r0, tmp
        svc   1
        st    r3, tmp
        ld    r0, tmp
        svc   1
        li    r0, 3
last:   svc   0                 # exit 3
tmp:    .word 0
""",
    "privileged": """
user_main:
        li    r0, 1
bad:    getr  r0                # privileged: reads the relocation base
        svc   0
""",
    "memory": """
user_main:
        li    r1, -1            # virtual 0xFFFF, beyond the bound
bad:    ldx   r0, r1
        svc   0
""",
    "loop": """
        .equ  N, {n}
user_main:
        li    r0, 0
        ld    r2, count
loop:   add   r0, one
        sub   r2, one
        jz    r2, done
        jmp   loop
done:   svc   1                 # putc N
        li    r0, 0
last:   svc   0
one:    .word 1
count:  .word N
""",
}

PDP10 = {
    "syscalls": """
user_main:
        movei 2, 11(0)
        movei 3, 12(0)
        movei 4, 13(0)
        movei 1, 42(0)
        muuo  7, 0, 1(0)        ; CALLI putc: 42
        move  1, big(0)
        muuo  7, 0, 1(0)        ; putc a 36-bit word
        muuo  7, 0, 2(0)        ; yield
        muuo  1, 0, 9(0)        ; another MUUO opcode, an unknown number: like yield
        movem 2, tmp(0)
        move  1, tmp(0)
        muuo  7, 0, 1(0)
        movem 3, tmp(0)
        move  1, tmp(0)
        muuo  7, 0, 1(0)
        movem 4, tmp(0)
        move  1, tmp(0)
        muuo  7, 0, 1(0)
        movei 1, 3(0)
last:   muuo  7, 0, 0(0)        ; exit 3
tmp:    .word 0
big:    .word 0o777777000001
""",
    "privileged": """
user_main:
bad:    halt  0(0)              ; exec only
        muuo  7, 0, 0(0)
""",
    "memory": """
user_main:
bad:    move  1, 0o20000(0)     ; above prr = 017777
        muuo  7, 0, 0(0)
""",
    "loop": """
        .equ  N, {n}
user_main:
        movei 1, 0(0)
        move  2, count(0)
loop:   add   1, one(0)
        sub   2, one(0)
        jumpe 2, done(0)
        jrst  loop(0)
done:   muuo  7, 0, 1(0)        ; putc N
        movei 1, 0(0)
last:   muuo  7, 0, 0(0)
one:    .word 1
count:  .word N
""",
}

RISCV32 = {
    "syscalls": """
user_main:
        addi  t0, zero, 11
        addi  t1, zero, 12
        addi  t2, zero, 13
        addi  a7, zero, 1
        addi  a0, zero, 42
        ecall                   # putc 42
        lui   a0, 0x89abc000
        addi  a0, a0, 0x0de
        ecall                   # putc 0x89abc0de
        addi  a7, zero, 2
        ecall                   # yield
        addi  a7, zero, 99
        ecall                   # unknown: like yield
        addi  a7, zero, 1
        addi  a0, t0, 0
        ecall
        addi  a0, t1, 0
        ecall
        addi  a0, t2, 0
        ecall
        addi  a7, zero, 0
        addi  a0, zero, 3
last:   ecall                   # exit 3
""",
    "privileged": """
user_main:
bad:    csrrw zero, mstatus, zero
        addi  a7, zero, 0
        ecall
""",
    "memory": """
user_main:
        lui   t0, 0x10000       # the end of physical memory
bad:    lw    t1, 0(t0)
        addi  a7, zero, 0
        ecall
""",
    "loop": """
        .equ  N, {n}
user_main:
        addi  a0, zero, 0
        lui   t0, (N + 0x800) & 0xFFFFF000
        addi  t0, t0, N - ((N + 0x800) & 0xFFFFF000)
loop:   addi  a0, a0, 1
        bne   a0, t0, loop
        addi  a7, zero, 1
        ecall                   # putc N
        addi  a7, zero, 0
        addi  a0, zero, 0
last:   ecall
""",
}

# mips32 and mips32_kuseg: one kernel in two placements (kseg0, kuseg), the same user programs.
# k0 and k1 are the kernel's; every other register survives a system call.
MIPS32 = {
    "syscalls": """
user_main:
        addiu t0, zero, 11
        addiu t1, zero, 12
        addiu t2, zero, 13
        addiu v0, zero, 1
        addiu a0, zero, 42
        syscall 0               # putc 42
        aui   a0, zero, 0x89ab
        ori   a0, a0, 0xc0de
        syscall 0               # putc 0x89abc0de
        addiu v0, zero, 2
        syscall 0               # yield
        addiu v0, zero, 99
        syscall 0               # unknown: like yield
        addiu v0, zero, 1
        or    a0, t0, zero
        syscall 0
        or    a0, t1, zero
        syscall 0
        or    a0, t2, zero
        syscall 0
        addiu v0, zero, 0
        addiu a0, zero, 3
last:   syscall 0               # exit 3
""",
    "privileged": """
user_main:
bad:    mtc0  zero, status      # Coprocessor Unusable in user mode
        addiu v0, zero, 0
        syscall 0
""",
    "memory": """
user_main:
        aui   t0, zero, 1       # virtual 0x10000: no TLB entry maps it
bad:    lw    t1, 0(t0)         # a TLB refill (recorded as ExcCode 2 + 32: the refill vector)
        addiu v0, zero, 0
        syscall 0
""",
    "loop": """
        .equ  N, {n}
user_main:
        addiu a0, zero, 0
        aui   t0, zero, N >> 16
        ori   t0, t0, N & 0xFFFF
loop:   addiu a0, a0, 1
        bnec  a0, t0, loop - . - 4
        addiu v0, zero, 1
        syscall 0               # putc N
        addiu v0, zero, 0
        addiu a0, zero, 0
last:   syscall 0
""",
}

# armv7a and armv7a_undef: one kernel, the same user programs.  No MMU is modelled, so no access is out of
# a user's reach: the "memory" program's fault is the one ARMv7 has without an MMU, an LDM from an address
# that is not word-aligned (a Data Abort, alignment fault, recorded with DFAR).
ARMV7A = {
    "syscalls": """
user_main:
        movw  al, r1, 11
        movw  al, r2, 12
        movw  al, r3, 13
        movw  al, r7, 1
        movw  al, r0, 42
        svc   al, 0                     # putc 42
        movw  al, r0, 0xc0de
        movt  al, r0, 0x89ab
        svc   al, 0                     # putc 0x89abc0de
        movw  al, r7, 2
        svc   al, 0                     # yield
        movw  al, r7, 99
        svc   al, 0                     # unknown: like yield
        movw  al, r7, 1
        mov   al, r0, lsl(r1, 0)
        svc   al, 0
        mov   al, r0, lsl(r2, 0)
        svc   al, 0
        mov   al, r0, lsl(r3, 0)
        svc   al, 0
        movw  al, r7, 0
        movw  al, r0, 3
last:   svc   al, 0                     # exit 3
""",
    "privileged": """
user_main:
bad:    mcr   al, sctlr, r0             # Undefined in User mode
        movw  al, r7, 0
        svc   al, 0
""",
    "memory": """
user_main:
        movw  al, r0, 0x6001
bad:    ldm   al, ia, r0, 0, 0x0002     # not word-aligned: a Data Abort (alignment fault)
        movw  al, r7, 0
        svc   al, 0
""",
    "loop": """
        .equ  N, {n}
user_main:
        movw  al, r0, 0
        movw  al, r1, N & 0xFFFF
        movt  al, r1, N >> 16
loop:   add   al, r0, r0, 1
        cmp   al, r0, lsl(r1, 0)
        b     ne, loop - . - 8
        movw  al, r7, 1
        svc   al, 0                     # putc N
        movw  al, r7, 0
        movw  al, r0, 0
last:   svc   al, 0
""",
}

PROGRAMS = {"pg74": PG74, "pg74_rdbase": PG74, "pdp10": PDP10, "riscv32": RISCV32, "mips32": MIPS32,
            "mips32_kuseg": MIPS32, "armv7a": ARMV7A, "armv7a_undef": ARMV7A}

# The trap value each "memory" program's fault records (the faulting virtual address).
MEMORY_TVAL = {"pg74": 0xFFFF, "pg74_rdbase": 0xFFFF, "pdp10": 0o20000, "riscv32": 0x10000, "mips32": 0x10000,
               "mips32_kuseg": 0x10000, "armv7a": 0x6001, "armv7a_undef": 0x6001}
# The kind of the cause each "memory" program's fault has: a memory trap, but on armv7a (no MMU) an alignment fault.
MEMORY_KIND = {"armv7a": "fault", "armv7a_undef": "fault"}
BIG = {"pg74": 0xFFFF, "pg74_rdbase": 0xFFFF, "pdp10": 0o777777000001, "riscv32": 0x89ABC0DE, "mips32": 0x89ABC0DE,
       "mips32_kuseg": 0x89ABC0DE, "armv7a": 0x89ABC0DE, "armv7a_undef": 0x89ABC0DE}

_built = {}


def program(spec, kind, n=None):
    key = (spec.name, kind, n)
    if key not in _built:
        text = PROGRAMS[spec.name][kind]
        _built[key] = G.build(spec, text.format(n=n) if n is not None else text, file=f"{kind}.s")
    return _built[key]


def mode_of(target):
    return target.regs["mode"] if hasattr(target, "regs") else target.reg("mode")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spec_name", SPECS)
def test_syscalls_output_and_clean_halt(spec_name, engine):
    spec = load(spec_name)
    prog = program(spec, "syscalls")
    final, ex = run_on(engine, spec, prog, 2000)
    assert G.halt_convention(G.spec_of(spec_name)).ended(ex), ex
    assert G.read_output(spec, final) == [42, BIG[spec_name], 11, 12, 13]
    st = G.exit_status(spec, final)
    assert (st.status, st.code, st.pc) == ("exit", 3, prog.user.symbols["last"])
    modes = {v: k for k, v in spec.modes.items()}
    assert modes[mode_of(final)] in spec.supervisor  # the kernel halted


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spec_name", SPECS)
def test_privileged_instruction_is_reflected(spec_name, engine):
    spec = load(spec_name)
    prog = program(spec, "privileged")
    final, ex = run_on(engine, spec, prog, 1000)
    assert G.halt_convention(G.spec_of(spec_name)).ended(ex), ex
    st = G.exit_status(spec, final)
    assert st.status == "trap"
    assert "privilege" in {spec.causes[c].kind for c in st.causes}, st
    assert st.pc == prog.user.symbols["bad"]
    assert G.read_output(spec, final) == []


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spec_name", SPECS)
def test_access_outside_the_region_is_reflected(spec_name, engine):
    spec = load(spec_name)
    prog = program(spec, "memory")
    final, ex = run_on(engine, spec, prog, 1000)
    assert G.halt_convention(G.spec_of(spec_name)).ended(ex), ex
    st = G.exit_status(spec, final)
    assert st.status == "trap"
    assert [spec.causes[c].kind for c in st.causes] == [MEMORY_KIND.get(spec_name, "memory")], st
    assert (st.pc, st.tval) == (prog.user.symbols["bad"], MEMORY_TVAL[spec_name])


@pytest.mark.parametrize("spec_name", SPECS)
@pytest.mark.parametrize("kind", ["syscalls", "privileged", "memory", "loop"])
def test_interpreter_and_core_agree(spec_name, kind):
    spec = load(spec_name)
    prog = program(spec, kind, n=25 if kind == "loop" else None)
    want, want_ex = run_on("interp", spec, prog, 5000)
    core, got_ex = run_on("core", spec, prog, 5000)
    got = core.to_state(default=want.mem_default)
    assert (got_ex.reason, got_ex.cause, got_ex.tval, got_ex.steps) == \
        (want_ex.reason, want_ex.cause, want_ex.tval, want_ex.steps)
    assert got.regs == want.regs
    assert got.files == want.files
    assert got.normalized_mem() == want.normalized_mem()


@pytest.mark.parametrize("engine,n,budget", [("interp", 150, 2000), ("core", 50_000, 1_000_000)])
@pytest.mark.parametrize("spec_name", SPECS)
def test_loop_runs_to_completion(spec_name, engine, n, budget):
    spec = load(spec_name)
    prog = program(spec, "loop", n=n)
    final, ex = run_on(engine, spec, prog, budget)
    assert G.halt_convention(G.spec_of(spec_name)).ended(ex), ex
    assert ex.steps < budget
    assert G.read_output(spec, final) == [n]
    assert G.exit_status(spec, final) == G.ProgramOutcome("exit", code=0, pc=prog.user.symbols["last"])


# ------------------------------------------------------------------ the API itself


@pytest.mark.parametrize("spec_name", SPECS)
def test_boot_state_and_layout(spec_name):
    spec = load(spec_name)
    prog = program(spec, "syscalls")
    s = G.boot_state(spec, prog)
    assert s.regs["pc"] == prog.symbols["_start"] == prog.entry
    assert s.regs["mode"] == spec.modes[spec.initial_mode]
    lay = G.layout(spec)
    # the user image sits at USER_BASE + virtual address, inside the region
    assert prog.symbols["user_main"] == lay.user_base + prog.user_main
    assert lay.user_origin <= prog.user_main < lay.user_size
    assert G.exit_status(spec, s) == G.ProgramOutcome("running")
    assert G.read_output(spec, s) == []
    # the stub's own text, by name or by spec; with what it includes (mips32's two stubs include one
    # kernel, kernel.s, at two bases) it defines the reset entry
    src = G.guest_source(spec_name)
    assert src == G.guest_source(spec) == G.stub_path(spec).read_text()
    assert lay.symbols["_start"] == prog.entry


@pytest.mark.parametrize("spec_name", SPECS)
def test_user_code_outside_the_region_is_rejected(spec_name):
    spec = load(spec_name)
    lay = G.layout(spec)
    # below the origin (kernel memory on riscv32, reserved on pdp10) or past the bound
    addr = lay.user_origin - 1 if lay.user_origin else lay.user_size
    with pytest.raises(AsmError, match="outside the user region"):
        G.build(spec, f".org {addr}\n.word 0\n")


def test_sys_extra_hook_and_full_buffer():
    """kernel_extra can add syscalls; putc beyond the buffer's capacity drops values."""
    spec = load("riscv32")
    cap = G.layout(spec).constants["GUEST_OUT_CAP"]
    extra = """
sys_extra:                              # syscall 3: putc(a0 * 2)
        addi  t0, a0, 0
        add   a0, a0, t0
        jal   zero, k_sys_putc
"""
    user = f"""
user_main:
        addi  a7, zero, 3
        addi  a0, zero, 21
        ecall                   # 42 through the extra syscall
        addi  a7, zero, 1
        addi  s0, zero, {cap + 5}
again:  addi  a0, s0, 0
        ecall
        addi  s0, s0, -1
        bne   s0, zero, again
        addi  a7, zero, 0
        ecall
"""
    prog = G.build(spec, user, kernel_extra=extra)
    core, ex = run_on("core", spec, prog, 100_000)
    assert G.halt_convention(G.spec_of("riscv32")).ended(ex), ex
    out = G.read_output(spec, core)
    assert out == [42] + list(range(cap + 5, 0, -1))[:cap - 1]
    assert G.exit_status(spec, core).status == "exit"


def test_riscv32_halt_without_the_trap_exit_parks():
    """Without trap_exits={'ecall_from_m'} the kernel's halt is delivered and the hart parks in wfi."""
    spec = load("riscv32")
    s = G.boot_state(spec, program(spec, "syscalls"))
    from vverify.interp import run

    final, ex = run(spec, s, 300)
    assert ex.reason == "budget"
    assert G.exit_status(spec, final).code == 3
    assert G.read_output(spec, final)[:2] == [42, 0x89ABC0DE]


# ------------------------------------------------------------------ random user code


@st.composite
def user_words(draw, spec):
    """Random instructions with random operands, and some junk, as memory units (each instruction
    takes its own length: x86's are 1 to 7 bytes)."""
    names = sorted(spec.instructions)
    u = spec.memory.unit
    out = []
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.integers(0, 9)) == 0:
            out += [draw(st.integers(0, (1 << u) - 1)) for _ in range(draw(st.integers(1, spec.max_ilen_units)))]
            continue
        instr = spec.instructions[draw(st.sampled_from(names))]
        ops = {n: draw(st.one_of(st.sampled_from([0, 1, 2, (1 << w) - 1]), st.integers(0, (1 << w) - 1)))
               for n, w in instr.operands.items()}
        word = instr.encoding.encode(ops)
        out += [(word >> (k * u)) & ((1 << u) - 1) for k in range(instr.units)]
    return out


@pytest.mark.parametrize("spec_name", SPECS + ["x86_32"])
@settings(max_examples=12)
@given(data=st.data())
def test_random_user_code_ends_deterministically(spec_name, data):
    """Whatever the user runs, interpreter and core agree, and a kernel halt has a recorded outcome."""
    spec = load(spec_name)
    units = data.draw(user_words(spec))
    prog = G.build(spec, "user_main:\n" + "\n".join(f".word {x}" for x in units))
    want, want_ex = run_on("interp", spec, prog, 400)
    core, got_ex = run_on("core", spec, prog, 400)
    assert (got_ex.reason, got_ex.cause, got_ex.steps) == (want_ex.reason, want_ex.cause, want_ex.steps)
    got = core.to_state(default=want.mem_default)
    assert (got.regs, got.files, got.normalized_mem()) == (want.regs, want.files, want.normalized_mem())
    st_ = G.exit_status(spec, want)
    if G.halt_convention(G.spec_of(spec_name)).ended(want_ex):
        assert st_.status in ("exit", "trap")
    else:
        assert want_ex.reason in ("illegal", "budget", "hypercall")  # random words may hold the paravirtual hypercall
