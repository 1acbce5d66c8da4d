"""Every backend runs riscv32_sv32's page walk as the interpreter does, on states that page.

The generic agreement tests draw random states, in which a valid page table is rare.  Here the
states are built to translate: an Sv32 root with random mappings (4 KiB pages and superpages,
aligned or not, any permission bits, frames inside and outside memory), registers that point into
the mapped pages, a random mode and random SUM, MXR and MPRV, and a program where the pc
translates to.  On them:

* the compiled core, in both builds (numba, and the same source as plain Python), runs programs
  to the same exit and state as the interpreter;
* the z3 model executes each instruction to the interpreter's state, outcome, cause and value;
* the compiled fetch and the z3 model's fetch find the interpreter's address, or fault with it.
"""

import pytest
from hypothesis import event, given, settings, strategies as st

from tests.agreement.same_run import assert_core_runs_as_interpreter
from tests.agreement.test_z3_vs_interp import _check, concrete, to_zstate
from tests.conftest import load
from tests.strategies import place, programs, word
from tests.sv32 import A, D, MODES, PAGE, R, U, V, W, X, Tables, satp, write_word
from vverify.core import Core
from vverify.core.protocol import ST_MEMORY_OFFSET
from vverify.formal import symexec as sx
from vverify.interp import LeaveGuest, Trap, fetch, initial_state, run as interp_run, step_once

SPEC = "riscv32_sv32"
ROOT = 0x10                        # the root table's frame; second-level tables follow it
VPN1S = [0, 1, 0x100, 0x3FF]       # the 4 MiB regions the mappings fall in
FRAMES = list(range(0x20, 0x40))   # 4 KiB frames inside memory (0x20000-0x3FFFF)
CODE_VA, CODE_FRAME = 0x00800000, 0x1F  # where the program usually is: its own region and frame
MEMORY_ACCESS = ["lb", "lbu", "lh", "lhu", "lw", "sb", "sh", "sw"]
_cores: dict = {}


def core(jit: bool) -> Core:
    if jit not in _cores:
        _cores[jit] = Core(load(SPEC), jit=jit)
    return _cores[jit]


@st.composite
def flags(draw, mode):
    """PTE flag bits: mostly a valid, accessed leaf that ``mode`` may use, sometimes anything."""
    if draw(st.integers(0, 7)) == 0:
        return draw(st.integers(0, 0xFF))
    own = U if mode == "U" else 0
    rwx = [R, R | W, R | W, R | W, X, R | X, R | W | X][draw(st.integers(0, 6))]
    u = own if draw(st.integers(0, 3)) else U - own
    return V | A | rwx | u | (D if draw(st.integers(0, 2)) else 0)


def frame(draw) -> int:
    """A 4 KiB frame: mostly one inside memory."""
    return FRAMES[draw(st.integers(0, len(FRAMES) - 1))] if draw(st.integers(0, 3)) else draw(st.integers(0, (1 << 22) - 1))


@st.composite
def paged_states(draw):
    """A state whose satp (usually) selects Sv32 over random mappings, and the virtual addresses mapped."""
    spec = load(SPEC)
    s = initial_state(spec)
    s.mem_default = draw(st.sampled_from([0, 0, 0xFF, 0x0F]))
    mode = draw(st.sampled_from(["S", "S", "U", "U", "M"]))
    t = Tables(s, ROOT, range(ROOT + 1, ROOT + 2 + len(VPN1S)))
    vas = []
    for vpn1 in VPN1S:
        kind = draw(st.sampled_from(["pages", "pages", "super", "none"]))
        if kind == "super":
            ppn = draw(st.sampled_from([0, 0x400, 0x25, 0x400000 - 0x400]))  # aligned in memory, beyond, misaligned
            t.map_super(vpn1 << 22, ppn * PAGE, draw(flags(mode)))
            vas.append((vpn1 << 22) | draw(st.integers(0, 0x3FFFF)) & ~3)
        elif kind == "pages":
            for vpn0 in draw(st.lists(st.integers(0, 7), min_size=1, max_size=4, unique=True)):
                f = frame(draw)
                va = (vpn1 << 22) | (vpn0 << 12)
                t.map(va, f * PAGE, draw(flags(mode)))
                vas.append(va)
    if draw(st.integers(0, 9)) == 0:  # sometimes a root entry that is anything at all
        t.set_root_entry(draw(st.sampled_from(VPN1S)) << 22, draw(word(32)))
    for _ in range(draw(st.integers(0, 6))):  # data in the mapped frames
        write_word(s, draw(st.sampled_from(FRAMES)) * PAGE + draw(st.integers(0, 63)) * 4, draw(word(32)))
    s.regs["mode"] = MODES[mode]
    mstatus = draw(st.sampled_from([0, 1 << 18, 1 << 19, (1 << 18) | (1 << 19)]))
    mpp = draw(st.sampled_from([0, 1, 3]))
    mstatus |= mpp << 11
    if mode == "M" and draw(st.booleans()):
        mstatus |= 1 << 17  # MPRV, only ever set in M (the spec's invariant)
    s.regs["mstatus"] = mstatus
    s.regs["satp"] = satp(draw(st.sampled_from([ROOT, ROOT, ROOT, 0x3FFFFF])), draw(st.integers(0, 0x1FF)),
                          sv32=draw(st.sampled_from([True, True, True, False])))
    s.regs["medeleg"] = draw(st.sampled_from([0, 0xB000]))  # page faults to S, or to M
    s.regs["mtvec"], s.regs["stvec"] = 0x100, 0x200
    pool = vas or [0]
    for i in range(1, 32):
        s.files["x"][i] = (draw(st.sampled_from(pool)) + 4 * draw(st.integers(0, 255))) & 0xFFFFFFFF \
            if draw(st.integers(0, 7)) else draw(word(32))  # mostly inside a mapped page, aligned
    if draw(st.integers(0, 3)):  # mostly a code page the mode may execute, so that programs run
        k = 4 * draw(st.integers(0, 8))
        t.map(CODE_VA, CODE_FRAME * PAGE, V | A | X | draw(st.sampled_from([0, R])) | (U if mode == "U" else 0))
        translated = mode != "M" and s.regs["satp"] >> 31
        s.regs["pc"] = (CODE_VA if translated else CODE_FRAME * PAGE) + k
    else:
        s.regs["pc"] = (draw(st.sampled_from(pool)) + 4 * draw(st.integers(0, 8))) & 0xFFFFFFFF
    event(f"pc translates: {_fetches(spec, s)}")
    return s, pool


def _fetches(spec, s) -> bool:
    try:
        fetch(spec, s)
        return True
    except (Trap, LeaveGuest):
        return False


def _paged_accesses(spec, s, budget) -> str:
    """How many loads and stores of the run completed through the page tables (for the statistics)."""
    n = 0
    for _ in range(budget):
        translated = s.regs["satp"] >> 31 and s.regs["mode"] != MODES["M"]
        s, st_ = step_once(spec, s)
        if st_.kind == "ok" and st_.instruction in MEMORY_ACCESS and translated:
            n += 1
        if st_.kind not in ("ok", "trap"):
            break
    return "0" if not n else "1-3" if n < 4 else "4+"


def memory_programs(spec):
    """Programs of mostly loads and stores with small offsets, and any instruction now and then."""
    def one(name, rs1, rd, imm):
        ops = {"rs1": rs1, "imm": imm}
        ops.update({"rs2": rd} if name.startswith("s") else {"rd": rd})
        return spec.instructions[name].encoding.encode(ops)
    access = st.builds(one, st.sampled_from(MEMORY_ACCESS), st.integers(1, 31), st.integers(1, 31),
                       st.integers(0, 63).map(lambda k: 4 * k))
    return st.one_of(st.lists(access, min_size=1, max_size=12), programs(spec))


@pytest.mark.parametrize("jit", [True, False], ids=["numba", "python"])
@settings(max_examples=150)
@given(data=st.data())
def test_core_runs_paged_programs_as_the_interpreter(jit, data):
    spec = load(SPEC)
    s, _ = data.draw(paged_states(), label="paged state")
    place(spec, s, data.draw(memory_programs(spec), label="program"))
    exits = data.draw(st.sampled_from([set(), set(spec.causes)]), label="trap exits")
    budget = data.draw(st.integers(1, 30), label="budget")

    want_exit = assert_core_runs_as_interpreter(core(jit), spec, s, budget, exits, every_tval=True)
    event(f"exit: {want_exit.reason} {want_exit.cause or ''}")
    event(f"paged accesses that completed: {_paged_accesses(spec, s, budget)}")


@settings(max_examples=300)
@given(data=st.data())
def test_z3_model_walks_as_the_interpreter(data):
    spec = load(SPEC)
    s, pool = data.draw(paged_states(), label="paged state")
    name = data.draw(st.sampled_from(MEMORY_ACCESS + ["addi", "jal", "csrrw", "sfence_vma"]), label="instruction")
    instr = spec.instructions[name]
    ops = {k: data.draw(word(w)) for k, w in instr.operands.items()}
    if "rs1" in ops:
        ops["rs1"] = data.draw(st.integers(1, 31))  # a register holding an address, mostly a mapped one
    if "imm" in ops:
        ops["imm"] = data.draw(st.integers(0, 63)) * data.draw(st.sampled_from([1, 4]))
    if name == "csrrw":
        ops["csrno"] = spec.enums["csr"][data.draw(st.sampled_from(["satp", "sstatus", "mstatus"]))]
    event(f"outcome: {_outcome(spec, s, name, ops)}")
    _check(spec, instr, s, ops)


def _outcome(spec, s, name, ops) -> str:
    from vverify.interp import step
    out = step(spec, s, name, ops)[1]
    translated = s.regs["satp"] >> 31 and (s.regs["mode"] != MODES["M"] or s.regs["mstatus"] >> 17 & 1)
    return f"{out.cause or out.kind}{' (translated)' if translated and name in MEMORY_ACCESS else ''}"


@settings(max_examples=300)
@given(data=st.data())
def test_compiled_and_z3_fetch_find_the_interpreters_address(data):
    spec = load(SPEC)
    s, _ = data.draw(paged_states(), label="paged state")
    try:
        want = fetch(spec, s)[0]
    except Trap as t:
        want = (t.cause, t.tval)
    for jit in (True, False):
        c = core(jit)
        c.load_state(s)
        view = c.context_of(s)
        view[c.layout.st_base + ST_MEMORY_OFFSET] = 0
        got = c.fetch_address(view)
        assert got == (want if isinstance(want, int) else None)
    ex = sx._Exec(spec, to_zstate(spec, s), {}, s.regs["pc"])
    ex.run(spec.fetch_body)
    if isinstance(want, int):
        assert not concrete(ex.trapped) and concrete(ex.locals[spec.fetch_local]) == want
    else:
        assert concrete(ex.trapped) and spec.cause_by_index(concrete(ex.cause)).name == want[0]
        assert concrete(ex.tval) == want[1]


def test_the_walk_is_exercised_both_ways():
    """The states above reach both outcomes of a fetch: not a vacuous agreement on faults alone."""
    spec = load(SPEC)
    seen = set()

    @settings(max_examples=200, database=None)
    @given(paged_states())
    def collect(sv):
        seen.add(_fetches(spec, sv[0]))

    collect()
    assert seen == {True, False}


PERMISSIONS = [rwx | u for rwx in (R, R | W, X, R | X, R | W | X, W, 0) for u in (0, U)]


@pytest.mark.parametrize("mode, mstatus", [("S", 0), ("S", (1 << 18) | (1 << 19)), ("U", 0), ("U", 1 << 19)])
def test_every_permission_combination_agrees(mode, mstatus):
    """A page of each combination of R, W, X and U (valid, A and D set), reached by loads and stores,
    in S and U with and without SUM and MXR: z3 (one instruction) and the core (fetching it from a
    mapped code page) against the interpreter.  Deterministic, so the successful paged accesses the
    random states reach less often are all here."""
    spec = load(SPEC)
    base = initial_state(spec)
    base.regs["mode"], base.regs["mstatus"], base.regs["satp"] = MODES[mode], mstatus, satp(ROOT)
    base.regs["mtvec"] = 0x100
    t = Tables(base, ROOT, [ROOT + 1, ROOT + 2])
    t.map(CODE_VA, CODE_FRAME * PAGE, V | A | X | (U if mode == "U" else 0))
    for i, perm in enumerate(PERMISSIONS):
        t.map(0x40000000 + i * PAGE, FRAMES[i] * PAGE, V | A | D | perm)
        write_word(base, FRAMES[i] * PAGE + 8, 0x80000000 | i)
    c = core(True)
    outcomes = set()
    for i, _ in enumerate(PERMISSIONS):
        for name in ("lw", "lbu", "sw", "sh"):
            s = base.copy()
            s.files["x"][5], s.files["x"][6] = 0x40000000 + i * PAGE, 0x1234567
            instr = spec.instructions[name]
            ops = {"rs1": 5, "imm": 8, ("rs2" if name.startswith("s") else "rd"): 6}
            _check(spec, instr, s, ops)
            s.regs["pc"] = CODE_VA
            write_word(s, CODE_FRAME * PAGE, instr.encoding.encode(ops))
            want, want_exit = interp_run(spec, s, 1)
            outcomes.add(want_exit.reason if want.regs["mode"] == s.regs["mode"] else want.regs["mcause"])
            c.load_state(s)
            got_exit = c.run(1)
            got = c.to_state(default=s.mem_default)
            assert (got_exit.reason, got_exit.steps) == (want_exit.reason, want_exit.steps)
            assert (got.regs, got.files) == (want.regs, want.files), (name, i)
            assert got.normalized_mem() == want.normalized_mem(), (name, i)
    assert {"budget", 13, 15} <= outcomes  # completed accesses, and load and store page faults
