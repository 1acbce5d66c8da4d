"""The run loop's fetch cache (vverify/core/codegen.py, fetch_cache_inputs) is exact.

riscv32_sv32's fetch walks the page tables before every instruction; the
loop remembers per pc where the last walk found the instruction, tagged with
the registers the fetch reads and the code-write generation, which a store
to a page the walk read advances.  Each test changes one input of the walk
between two fetches of the same pc, the way a guest or a host does it, and
the core must fetch what the interpreter fetches: a stale entry would run
the old page's instruction again.
"""

import pytest

from tests.agreement.same_run import assert_core_runs_as_interpreter
from tests.conftest import load
from tests.sv32 import A, D, PAGE, R, V, W, X, paged_state, pte, satp, write_word
from vverify.core import Core
from vverify.core.codegen import FETCH_CACHE_ENTRIES, fetch_cache_inputs

SPEC = "riscv32_sv32"
C1, C2 = 0x20, 0x21          # two code frames the page at virtual 0 is mapped to in turn
A1, A2, T1, T2, T3 = 11, 12, 6, 7, 28
CODE = R | X | A | V         # a supervisor code page
DATA = R | W | A | D | V


@pytest.fixture(scope="module")
def spec():
    return load(SPEC)


@pytest.fixture(scope="module", params=[True, False], ids=["numba", "python"])
def core(request, spec):
    return Core(spec, jit=request.param)


def enc(spec, name, **ops):
    return spec.instructions[name].encoding.encode({o: ops.get(o, 0) for o in spec.instructions[name].operands})


def put(s, frame, words):
    for i, w in enumerate(words):
        write_word(s, frame * PAGE + 4 * i, w)


KERNEL = 0x22                # the frame of the page at virtual 0x2000, which changes the mapping
K = 0x2100                   # where in that page: its pcs share no fetch-cache entry with virtual 0 and 4


def jal_to(spec, here, target):
    return enc(spec, "jal", rd=0, joff=(target - here) & 0x1FFFFF)


def paged(spec, change):
    """S-mode, Sv32: virtual 0 maps to frame C1, 0x1000 to the level-0 table (so the guest can
    write its own PTEs), 0x2000 to KERNEL.  C1 adds 1 to a1 and jumps to K, which runs
    ``change`` and jumps back to virtual 0: a second fetch of pcs the loop has cached.  C2 adds 1
    to a2 and ends with ecall.  Returns the state and the level-0 table's frame."""
    s, t = paged_state(spec, "S")
    for va, frame, flags in ((0, C1, CODE), (0x2000, KERNEL, CODE)):
        t.map(va, frame * PAGE, flags)
    level0 = t.level0[0]
    t.map(0x1000, level0 * PAGE, DATA)
    put(s, C1, [enc(spec, "addi", rd=A1, rs1=A1, imm=1), jal_to(spec, 4, K)])
    put(s, KERNEL, [0] * ((K - 0x2000) // 4) + [change, jal_to(spec, K + 4, 0)])
    put(s, C2, [enc(spec, "addi", rd=A2, rs1=A2, imm=1), enc(spec, "ecall")])
    s.regs["pc"] = 0
    return s, level0


def test_only_a_fetch_that_reads_memory_is_cached():
    assert fetch_cache_inputs(load("riscv32")) is None and fetch_cache_inputs(load("x86_32")) is None
    assert set(fetch_cache_inputs(load(SPEC))) == {"mode", "satp", "mstatus"}


def test_a_paged_run_fills_the_cache_with_where_each_pc_was_found(spec, core):
    s, _ = paged(spec, enc(spec, "ecall"))
    assert_core_runs_as_interpreter(core, spec, s, 20, spec.causes)
    lay = core.layout
    entries = core.DECF[lay.fetch_cache_base:lay.fetch_cache_base + lay.fetch_entry * FETCH_CACHE_ENTRIES]
    entries = entries.reshape(-1, lay.fetch_entry)
    found = {int(e[0]): int(e[-1]) for e in entries if e[1]}  # pc -> physical address, where filled
    assert found == {0: C1 * PAGE, 4: C1 * PAGE + 4, K: KERNEL * PAGE + K - 0x2000}


def test_a_guest_store_to_its_own_pte_remaps_the_next_fetch_of_a_cached_pc(spec, core):
    # the kernel page stores the PTE of virtual 0 -> C2: the second pass runs C2 (a1 = a2 = 1)
    s, _ = paged(spec, enc(spec, "sw", rs1=T2, rs2=T1, imm=0))
    s.files["x"][T1], s.files["x"][T2] = pte(C2, CODE), 0x1000
    end = assert_core_runs_as_interpreter(core, spec, s, 20, spec.causes)
    assert end.reason == "trap" and core.F["x"][A1] == 1 and core.F["x"][A2] == 1


def test_a_satp_write_switches_what_a_cached_pc_fetches(spec, core):
    # a second root maps virtual 0 to C2 (and the kernel page as before); the kernel page switches to it
    s, _ = paged(spec, enc(spec, "csrrw", rd=0, csrno=384, rs1=T3))
    root2 = 0x30
    write_word(s, root2 * PAGE, pte(root2 + 1, V))
    write_word(s, (root2 + 1) * PAGE, pte(C2, CODE))
    write_word(s, (root2 + 1) * PAGE + (K >> 12) * 4, pte(KERNEL, CODE))
    s.files["x"][T3] = satp(root2)
    end = assert_core_runs_as_interpreter(core, spec, s, 20, spec.causes)
    assert end.reason == "trap" and core.F["x"][A1] == 1 and core.F["x"][A2] == 1


def test_a_permission_taken_away_faults_the_next_fetch_of_a_cached_pc(spec, core):
    # the kernel page clears X in the PTE of virtual 0: the jump back is an instruction page fault
    s, _ = paged(spec, enc(spec, "sw", rs1=T2, rs2=T1, imm=0))
    s.files["x"][T1], s.files["x"][T2] = pte(C1, CODE & ~X), 0x1000
    end = assert_core_runs_as_interpreter(core, spec, s, 20, spec.causes, every_tval=True)
    assert (end.reason, end.cause, end.tval) == ("trap", "instruction_page_fault", 0)
    assert core.F["x"][A1] == 1


def test_a_host_that_loads_other_tables_between_runs_is_not_served_old_entries(spec, core):
    # the same pcs, first through C1, then with the host's state mapping virtual 0 to C2
    s, level0 = paged(spec, enc(spec, "ecall"))
    assert_core_runs_as_interpreter(core, spec, s, 20, spec.causes)
    assert core.F["x"][A1] == 1
    write_word(s, level0 * PAGE, pte(C2, CODE))
    assert_core_runs_as_interpreter(core, spec, s, 20, spec.causes)
    assert core.F["x"][A1] == 0 and core.F["x"][A2] == 1
