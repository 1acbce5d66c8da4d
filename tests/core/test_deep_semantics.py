"""Any expression the spec language accepts makes a valid core, and that core agrees with the interpreter.

The generated core wrote each level of an expression as one or more nested
parentheses, and Python's parser refuses more than 200: a 120-term sum,
which lints and checks clean, generated a core that was not valid Python
("too many nested parentheses").  Code generation now cuts deep expressions
into locals.
"""

import random

import pytest

from tests.core.tinyspec import run_both, state_with, tiny_spec
from vverify.core import codegen
from vverify.errors import SpecError

BUILDS = pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
STATES = [(0x1234, 0x5678, 0x9ABC, 0xDEF0), (0, 1, 2, 3), (0xFFFF, 0x8000, 0x7FFF, 0x0F0F)]


def sum_of(n: int) -> str:
    return " + ".join(f"r[{i % 4}]" for i in range(n))


def deepest_sum(tmp_path):
    """The longest sum the spec language accepts, trying 1,000 terms first.

    Its checker recurses once per term, so Python's recursion limit bounds
    it (about 330 terms today); whatever it accepts, the core must run.
    """
    for n in (1000, 600, 400, 330, 300, 250):
        try:
            return n, tiny_spec(tmp_path, semantics=f"r[rd] = {sum_of(n)}")
        except SpecError as e:
            assert "nest too deeply" in str(e)
    pytest.fail("the spec language accepts no sum of 250 terms")


def random_expression(depth: int, seed: int) -> str:
    """A 16-bit expression ``depth`` operations deep mixing every kind of node the IR has.

    Each level holds the one below once, so the text grows with ``depth``, not exponentially.
    """
    rnd = random.Random(seed)
    e = "r[rd]"
    for i in range(depth):
        leaf, other = f"r[{rnd.randrange(4)}]", f"r[{rnd.randrange(4)}]"
        kind = rnd.randrange(8)
        if kind == 0:
            e = f"({leaf} if {e} > {rnd.randrange(1 << 16)} else ~{other})"
        elif kind == 1:
            e = f"sext({e}[{rnd.randrange(8, 16)}:{rnd.randrange(0, 8)}], 16)"
        elif kind == 2:
            e = f"concat({e}[7:0], {leaf}[15:8])"
        elif kind == 3:
            e = f"(zext({e}, 32) * zext({leaf}, 32))[23:8]"
        elif kind == 4:
            e = f"sra({e}, {leaf} & 15)"
        elif kind == 5:
            e = f"({e} if slt({leaf}, {other}) and not ({leaf} == 0) else {other})"
        else:
            op = rnd.choice(["+", "-", "^", "&", "|", "*", "<<", ">>"])
            e = f"({e} {op} {leaf})" if rnd.random() < 0.5 else f"({leaf} {op} {e})"
    return e


def agree(spec, jit):
    word = spec.instructions["t"].encoding.encode({"rd": 1, "a": 0})
    for files in STATES:
        (want, want_exit), (got, got_exit) = run_both(spec, state_with(spec, [word], files=files), jit=jit)
        assert (got_exit.reason, got_exit.steps) == (want_exit.reason, want_exit.steps)
        assert got.files == want.files and got.regs == want.regs


@BUILDS
def test_a_120_term_sum_runs_and_agrees(tmp_path, jit):
    spec = tiny_spec(tmp_path, semantics=f"r[rd] = {sum_of(120)}")
    agree(spec, jit)


@BUILDS
def test_the_longest_sum_the_language_accepts_runs_and_agrees(tmp_path, jit):
    n, spec = deepest_sum(tmp_path)
    assert n >= 250
    agree(spec, jit)


@BUILDS
def test_a_deep_expression_of_every_kind_agrees(tmp_path, jit):
    """Cutting an expression evaluates parts of conditionals and short-circuits early: still exact."""
    spec = tiny_spec(tmp_path, semantics=f"r[rd] = {random_expression(90, seed=13)}")
    agree(spec, jit)


def test_nested_shift_amounts_keep_the_source_linear(tmp_path):
    """A shift's amount is written twice in the source (the guard and the shift): nesting amounts doubled it per level."""
    e = "r[rd]"
    for i in range(20):
        e = f"(r[{i % 4}] << {e})"
    spec = tiny_spec(tmp_path, semantics=f"r[rd] = {e}")
    plain = tiny_spec(tmp_path, semantics="r[rd] = r[rd]", name="plain")
    assert len(codegen.generate(spec)) - len(codegen.generate(plain)) < 20 * 400  # was 2**20 copies of the innermost
    agree(spec, jit=False)
