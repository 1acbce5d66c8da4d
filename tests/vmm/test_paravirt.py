"""Paravirtualization (vverify/vmm/paravirt.py): load-time rewriting, batching, the shared page."""

from tests.conftest import load, report_of
from vverify import guests as G
from vverify.formal.reads import control_reads
from vverify.fuzz.equivalence import compare_views, make_vmm
from vverify.vmm import Native, Paravirtualization, requirements_unmet, translation_set

USER = """
user_main:
        li    r0, 5
        svc   3                 # the kernel code below
        svc   1                 # putc r0
        svc   0
"""

# Kernel code reached by syscall 3.  Two privileged instructions in a row (a
# batch), a read of the relocation base (a shared-page load), and a load of the
# kernel's own text where the rewriter patched it.
KERNEL = """
sys_extra:
        li    r2, 0
        li    r3, -1
        setr  r2                # R = (0, 0xFFFF): the kernel's own, so harmless
        setr  r2
        getr  r1
        st    r1, 0x3F0
        ld    r0, patched       # the kernel reads its own text: it must see the original
        st    r0, 0x3F1
        jmp   k_return
patched:
        setr  r2
"""


def boot(spec_name, user, kernel=""):
    spec = load(spec_name)
    prog = G.build(spec, user, kernel)
    return spec, prog, G.boot_state(spec, prog)


def pv_for(spec, prog, guest):
    return make_vmm(spec, "paravirtualization", guest, translation_set(report_of(spec)), code=prog.code_map())


def test_pure_control_reads_are_derived_by_z3():
    spec = load("pg74_rdbase")
    ts = translation_set(report_of(spec))
    # getr (privileged) and rdbase (not) only copy l into a register; lpsw and setr do more
    assert control_reads(spec, ts["supervisor"] | ts["user"]) == {"getr": ("rd", "l"), "rdbase": ("rd", "l")}


def test_rewriting_batching_and_the_shared_page():
    spec, prog, guest = boot("pg74", USER, KERNEL)
    pv = pv_for(spec, prog, guest)
    syms = prog.symbols
    setr1 = syms["sys_extra"] + 2
    assert pv.counts[setr1] == 2 and pv.counts[setr1 + 1] == 1  # one hypercall stands for both setr
    assert syms["patched"] in pv.counts
    assert set(pv.slots) == {"l"}  # getr became a load from the shared page
    native = Native(spec, guest)
    a, b = native.run(3000), pv.run(3000)
    assert compare_views(spec, native, pv, a, b) == []
    mem = pv.guest_memory()
    assert int(mem[0x3F1]) == prog.memory[syms["patched"]]  # the original word, not the hypercall
    assert int(mem[0x3F0]) == 0  # getr, as a shared-page load, read the kernel's virtual l
    c = pv.counters
    assert c.exits["hypercall"] == c.hypercalls > 0
    assert c.traps["svc"] == 3  # system calls still trap: they are not rewritten
    # without batching, the second setr needs a hypercall of its own
    unbatched = pv_for(spec, prog, guest)
    unbatched.counts = dict.fromkeys(unbatched.counts, 1)
    unbatched.run(3000)
    assert unbatched.counters.hypercalls == c.hypercalls + 1
    assert unbatched.counters.emulated == c.emulated
    # without the shared page, getr would trap: the rewrite saved that exit
    assert c.traps["privileged"] == 0


def test_pdp10_monitor_return_gate_written_at_run_time_is_emulated():
    """The monitor builds its JRST 1 at run time, where no load-time rewrite reaches it:
    the dispatcher emulates it instead of resuming on it (trap-and-emulate diverges there)."""
    spec, prog, guest = boot("pdp10", "user_main:\n        movei 1, 7(0)\n        muuo 7, 0, 1(0)\n        muuo 7, 0, 0(0)\n")
    pv = pv_for(spec, prog, guest)
    native = Native(spec, guest)
    a, b = native.run(3000), pv.run(3000)
    assert compare_views(spec, native, pv, a, b) == []
    assert G.read_output(spec, pv.guest_memory()) == [7]


def test_a_rewrite_the_interpreter_routines_meet_runs_the_instruction_it_stands_for():
    """mips32's kernel lives in kseg0, which user mode cannot reach: deprivileged, every kernel fetch is an
    address error, so the routines run each kernel instruction and meet the rewrites the loader made for
    direct execution.  They run the guest's instruction there (no hypercall happens), in the Python
    dispatcher and in the compiled loop alike, and the guest ends as on bare metal."""
    user = "user_main:\n        addiu v0, zero, 1\n        addiu a0, zero, 5\n        syscall 0\n" \
           "        addiu v0, zero, 0\n        syscall 0\n"
    spec, prog, guest = boot("mips32", user)
    runs = []
    for compiled in (False, True):
        pv = pv_for(spec, prog, guest)
        pv.compiled = compiled
        assert pv.counts  # the boot code's and the handler's CP0 instructions are rewritten
        native = Native(spec, guest)
        a, b = native.run(3000), pv.run(3000)
        assert b.reason == "halt" and compare_views(spec, native, pv, a, b) == []
        assert G.read_output(spec, pv.guest_memory()) == [5]
        c = pv.counters
        assert c.hypercalls == 0 and c.exits["hypercall"] == 0  # the kernel never ran a rewrite directly
        assert c.emulated > c.direct  # it ran almost nothing directly: kseg0 is closed to user mode
        runs.append({k: v for k, v in c.as_dict().items() if k != "crossings"})
    assert runs[0] == runs[1]


def test_requirements():
    assert requirements_unmet(Paravirtualization, report_of("pg74")) == []
    assert requirements_unmet(Paravirtualization, report_of("pg74_vt"))  # its map has no paravirtual interface


def test_x86_hypercalls_stand_for_instructions_of_any_length():
    """x86's instructions are 1 to 7 bytes and its hypercall 4: the rewrite goes into the
    instruction stream only, so every flagged instruction of the boot stub is replaced whatever
    its length, a batch runs over neighbours of different lengths, and the guest behaves as on
    bare metal (trap-and-emulate diverges on this same boot, at its first segment load)."""
    user = "user_main:\n        movi eax, 1\n        movi ebx, 9\n        int 0x80\n        movi eax, 0\n        int 0x80\n"
    spec, prog, guest = boot("x86_32", user)
    pv = pv_for(spec, prog, guest)
    hc = spec.instructions[spec.virtualization.paravirt.hypercall].units
    lengths = {a: n for a, n in prog.code_map()["supervisor"].items() if a in pv.counts}
    assert {n for n in lengths.values()} - {hc}  # instructions shorter or longer than the hypercall
    assert any(c > 1 and lengths[a] != lengths.get(pv.after[a], lengths[a]) for a, c in pv.counts.items())
    native = Native(spec, guest)
    a, b = native.run(5000), pv.run(5000)
    assert compare_views(spec, native, pv, a, b) == []
    assert a.reason == "halt" and G.read_output(spec, pv.guest_memory()) == [9]
    assert pv.counters.hypercalls > 0


# Kernel code that stores next to, or over, a rewritten `push cs` (1 byte) and runs on into
# it with no exit in between.  The core forgets every instruction a store may overlap, up to 6
# bytes before the stored one on x86, so both stores make it forget the rewrite.
STORE_NEAR = """
sys_extra:
        movi  ecx, 0x5A
        mov   [pv_gap], ecx     # 4 bytes from 3 after `push cs`: within an x86 instruction's reach of it
pv_site:
        push  cs                # rewritten: must push the guest's CS (RPL 0), not the real one
        jmp8  pv_over - . - 2
pv_gap: .space 4
pv_over:
        pop   ecx
        mov   [0x1F00], ecx
        jmp   (k_return - . - 5) & 0xFFFFFFFF
"""

STORE_OVER = """
sys_extra:
        movi  ecx, 0x0001EB51
        mov   [pv_site], ecx    # `push ecx` over `push cs`, the same jmp8 after it
pv_site:
        push  cs
        jmp8  pv_over - . - 2
        .space 1
pv_over:
        pop   ecx
        mov   [0x1F00], ecx
        jmp   (k_return - . - 5) & 0xFFFFFFFF
"""


def _run_x86_kernel(kernel):
    user = "user_main:\n        movi eax, 3\n        int 0x80\n        movi eax, 0\n        int 0x80\n"
    spec, prog, guest = boot("x86_32", user, kernel)
    pv = pv_for(spec, prog, guest)
    site = prog.symbols["pv_site"]
    assert site in pv.counts  # the loader rewrote push cs
    native = Native(spec, guest)
    a, b = native.run(5000), pv.run(5000)
    assert a.reason == "halt"
    assert compare_views(spec, native, pv, a, b) == []
    return pv, site, int.from_bytes(bytes(int(u) for u in pv.guest_memory()[0x1F00:0x1F04]), "little")


def test_x86_store_next_to_a_rewrite_cannot_let_the_original_run():
    """Before the core kept its patch marks, the dropped rewrite let `push cs` run natively and
    push the deprivileged CPL (0xB where the guest expects 0x8)."""
    pv, site, pushed = _run_x86_kernel(STORE_NEAR)
    assert pushed == 0x8  # the guest's kernel code selector, RPL 0
    assert pv.counters.exits["patch"] == 1  # the store made the machine forget the rewrite ...
    assert site in pv.patches  # ... and the VMM put it back


def test_x86_store_over_a_rewrite_undoes_it():
    pv, site, pushed = _run_x86_kernel(STORE_OVER)
    assert pushed == 0x0001EB51  # the guest's new instruction ran: push ecx
    assert pv.counters.exits["patch"] == 1
    assert site not in pv.patches and site not in pv.counts


def test_rewritten_read_reached_right_after_an_exit_once_a_store_dropped_it():
    """The kernel stores getr's own word back over it (memory unchanged, but the machine forgets
    the shared-page rewrite) and then reaches it straight after a hypercall: the dispatcher,
    which emulates what comes next, must put the rewrite back rather than stop on it."""
    kernel = """
sys_extra:
        li    r2, 0
        li    r3, -1
        ld    r0, again
        st    r0, again         # the same word: the instruction is unchanged
        setr  r2                # a hypercall; the next instruction is emulated before resuming
again:
        getr  r1
        st    r1, 0x3F0
        jmp   k_return
"""
    spec, prog, guest = boot("pg74", USER, kernel)
    pv = pv_for(spec, prog, guest)
    assert prog.symbols["again"] in pv.patches and prog.symbols["again"] not in pv.counts  # a shared-page read
    native = Native(spec, guest)
    a, b = native.run(3000), pv.run(3000)
    assert b.reason == a.reason
    assert compare_views(spec, native, pv, a, b) == []
    assert prog.symbols["again"] in pv.patches


def test_user_code_a_kernel_returns_to_in_a_supervisor_mode_runs_as_natively():
    """armv7a's kernel may end a system call in SVC mode on user code (here it sets the SPSR's mode
    to SVC when Z is clear), where SRS stores the LR and SPSR on the SVC stack.  Deprivileged, an
    SRS that was not rewritten is a NOP (the spec's choice for User mode), so the loader rewrites
    in user code what misbehaves in a supervisor mode too (found by the fuzzer, shrunk to this)."""
    user = """
user_main:
        movw al, r7, 3
        svc al, 0
        add eq, r0, r0, 0
        srs da, 1, 0
        movw al, r7, 0
        svc al, 0
"""
    kernel = """
sys_extra:
        msr ne, spsr, 1, r0
        b al, k_return - . - 8
"""
    spec, prog, guest = boot("armv7a", user, kernel)
    srs = prog.user.symbols["user_main"] + 12 + prog.user_base
    pv = pv_for(spec, prog, guest)
    assert srs in pv.counts  # rewritten, although User mode alone would not need it
    native = Native(spec, guest)
    a, b = native.run(400), pv.run(400)
    assert a.reason == b.reason and compare_views(spec, native, pv, a, b) == []
    assert native.guest_state().regs["sp_svc"] != guest.regs["sp_svc"]  # SRS ran in SVC mode: it wrote back
