"""The symbolic executor's memory log and lazy trap state are exact.

Reads go through the log of stores made since the root array, skipping
stores whose index provably differs; memories are compared cell by cell
over the logged indices; the post-trap state is built only on demand.  Each
must mean exactly what the plain array terms mean.
"""

import z3

from tests.conftest import load
from vverify.formal import symexec as sx


def valid(claim) -> bool:
    s = z3.Solver()
    s.add(z3.Not(claim))
    return s.check() == z3.unsat


def two_stores(tag):
    """A riscv32 state after `sw` then `sb`, both at symbolic addresses."""
    spec = load("riscv32")
    st = sx.fresh_state(spec, tag)
    r1 = sx.step(spec, st, "sw", {"rs1": z3.BitVec("a", 5), "rs2": z3.BitVec("b", 5), "imm": z3.BitVec("i", 12)})
    r2 = sx.step(spec, r1.body, "sb", {"rs1": z3.BitVec("c", 5), "rs2": z3.BitVec("d", 5), "imm": z3.BitVec("j", 12)})
    return spec, st, r2.body


def test_reads_through_the_log_are_the_array_reads():
    _, st, after = two_stores("m")
    assert len(after.writes) == 5  # four bytes, then one
    k = z3.BitVec("k", 32)
    assert valid(after.read(k) == z3.Select(after.mem, k))
    for _, idx, _ in after.writes:
        assert valid(after.read(idx) == z3.Select(after.mem, idx))


def test_cellwise_difference_is_array_disequality():
    _, st, after = two_stores("m")
    assert valid(sx.mem_differs(st, after) == (st.mem != after.mem))
    assert sx.mem_differs(st, st) is False


def test_states_from_different_roots_fall_back_to_arrays():
    _, st, after = two_stores("m")
    other = sx.fresh_state(load("riscv32"), "other")
    d = sx.mem_differs(after, other)
    assert z3.is_expr(d) and valid(d == (after.mem != other.mem))


def test_trap_state_is_built_on_demand_and_agrees_with_the_body():
    spec = load("riscv32")
    st = sx.fresh_state(spec, "t")
    r = sx.step(spec, st, "lw", {"rd": z3.BitVec("rd", 5), "rs1": z3.BitVec("rs1", 5), "imm": z3.BitVec("imm", 12)})
    assert r._state is None  # lw may trap: the entry has not run yet
    merged = r.state
    assert r._state is merged
    same = z3.And(*[sx.const(merged.regs[n], spec.registers[n].width) == sx.const(r.body.regs[n], spec.registers[n].width)
                    for n in spec.registers])
    assert valid(z3.Implies(z3.Not(r.stopped), same))


def test_a_local_assigned_only_on_pruned_branches_is_read_on_a_dead_path(tmp_path):
    """`if sel == 1: v = ... / elif r[rd] == 0: trap / else: trap` then a read of v: with sel known to
    be 0 the executor prunes the only assignment, and the second trap's guard is symbolic (a register
    file read), so the read after it runs on a path whose guard is false.  The executor must not fail
    there, and must agree with the interpreter (mips32's TLB lookup has this shape)."""
    from tests.agreement.test_z3_vs_interp import _check
    from tests.core.tinyspec import state_with, tiny_spec

    spec = tiny_spec(tmp_path, semantics="""
if sel == 1:
    v = r[rd] + 1
elif r[rd] == 0:
    trap(svc)
else:
    trap(svc, 1)
r[rd] = v
""")
    for value in (0, 5):
        _check(spec, spec.instructions["t"], state_with(spec, [], files=[value, 0, 0, 0], regs={"sel": 0}),
               {"rd": 0, "a": 0})
    _check(spec, spec.instructions["t"], state_with(spec, [], files=[7, 0, 0, 0], regs={"sel": 1}), {"rd": 0, "a": 0})


def test_a_read_leaves_out_the_stores_of_the_other_arm():
    """A store logged under ``c`` is invisible to a read on a path holding ``Not(c)``, however
    the two conditions are conjoined or rewritten; elsewhere the read still goes through it, and
    on its own path the read is always the array's."""
    _, st, _ = two_stores("arm")
    c, d, e = z3.Bools("c d e")
    i, v, k = z3.BitVec("i", 32), z3.BitVec("v", 8), z3.BitVec("k", 32)
    for guard, path in [(c, z3.Not(c)), (z3.And(d, c), z3.And(z3.Not(c), e)),
                        (z3.And(c, d), z3.And(e, z3.Not(z3.And(c, d))))]:  # the else of `if c and d`
        after = sx.ZState(st.regs, st.files, z3.If(guard, z3.Store(st.mem, i, v), st.mem), 0, st.root,
                          ((z3.simplify(guard), i, v),))
        sx._remember_simplified(z3.simplify(guard), guard)
        assert after.read(k, path).eq(z3.Select(st.root, k))
        assert z3.is_app_of(after.read(k, e), z3.Z3_OP_ITE)  # not excluded: kept
        assert valid(z3.Implies(path, after.read(k, path) == z3.Select(after.mem, k)))
    # no contradiction, or only a partial one: kept
    after = sx.ZState(st.regs, st.files, z3.If(c, z3.Store(st.mem, i, v), st.mem), 0, st.root, ((c, i, v),))
    assert z3.is_app_of(after.read(k, z3.Not(z3.And(c, d))), z3.Z3_OP_ITE)

