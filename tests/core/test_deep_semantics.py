"""Any expression the spec language accepts makes a valid core, and that core agrees with the interpreter.

The generated core wrote each level of an expression as one or more nested
parentheses, and Python's parser refuses more than 200: a 120-term sum,
which then linted and checked clean, generated a core that was not valid
Python ("too many nested parentheses").  The loader now refuses semantics
nested more than 100 levels (vverify.spec.limits.MAX_NESTING), and code
generation also cuts deep expressions into locals, so that no spec the
loader accepts depends on how much nesting Python's parser allows.  What still cannot be compiled (semantics nested past Python's
100 levels of indentation, a numba typing error) is refused at construction
with one line naming the spec and the instruction, never a traceback.
"""

import random

import pytest

from tests.core.tinyspec import run_both, state_with, tiny_spec
from vverify.core import Core, CoreUnsupported
from vverify.core import codegen
from vverify.errors import SpecError

BUILDS = pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
STATES = [(0x1234, 0x5678, 0x9ABC, 0xDEF0), (0, 1, 2, 3), (0xFFFF, 0x8000, 0x7FFF, 0x0F0F)]


def sum_of(n: int) -> str:
    return " + ".join(f"r[{i % 4}]" for i in range(n))


def deepest_sum(tmp_path):
    """The longest sum the spec language accepts, trying 1,000 terms first.

    The loader bounds nesting (vverify.spec.limits.MAX_NESTING: 100 levels);
    whatever it accepts, the core must run.
    """
    for n in (1000, 600, 300, 200, 150, 120, *range(110, 89, -1)):
        try:
            return n, tiny_spec(tmp_path, semantics=f"r[rd] = {sum_of(n)}")
        except SpecError as e:
            assert "nest too deeply" in str(e)
    pytest.fail("the spec language accepts no sum of 90 terms")


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
def test_the_longest_sum_the_language_accepts_runs_and_agrees(tmp_path, jit):
    n, spec = deepest_sum(tmp_path)
    assert n >= 95
    agree(spec, jit)



@BUILDS
def test_a_deep_expression_of_every_kind_agrees(tmp_path, jit):
    """Cutting an expression evaluates parts of conditionals and short-circuits early: still exact.

    As deep as the loader accepts (each operation is a few levels of nesting), at least 25 operations."""
    for depth in range(90, 24, -5):
        try:
            spec = tiny_spec(tmp_path, semantics=f"r[rd] = {random_expression(depth, seed=13)}")
            break
        except SpecError as e:
            assert "nest too deeply" in str(e)
    else:
        pytest.fail("the loader accepts no 25-operation expression")
    agree(spec, jit)


def test_nested_shift_amounts_keep_the_source_linear(tmp_path):
    """A shift's amount is written twice in the source (the guard and the shift):
    nesting amounts doubled the source per level."""
    e = "r[rd]"
    for i in range(20):
        e = f"(r[{i % 4}] << {e})"
    spec = tiny_spec(tmp_path, semantics=f"r[rd] = {e}")
    plain = tiny_spec(tmp_path, semantics="r[rd] = r[rd]", name="plain")
    assert len(codegen.generate(spec)) - len(codegen.generate(plain)) < 20 * 400  # was 2**20 copies of the innermost
    agree(spec, jit=False)


def nested_ifs(n: int, inner: str, indent: int = 0) -> str:
    lines = ["    " * (indent + i) + f"if r[{i % 4}] != {i}:" for i in range(n)]
    return "\n".join(lines + ["    " * (indent + n) + inner])


@BUILDS
def test_semantics_nested_past_pythons_indentation_limit_are_refused_in_one_line(tmp_path, jit):
    """Helpers inline into each other: four levels of 30 nested ifs lint clean, and nest 120 deep."""
    helpers, inner = [], "r[0] = r[0] + 1"
    for k in range(3):
        helpers.append(f"def h{k}():\n{nested_ifs(30, inner, 1)}")
        inner = f"h{k}()"
    spec = tiny_spec(tmp_path, semantics=nested_ifs(30, inner), helpers="\n\n".join(helpers))
    with pytest.raises(CoreUnsupported) as e:
        Core(spec, jit=jit)
    message = str(e.value)
    assert "spec 'tiny'" in message and "instruction 't'" in message and "indentation" in message
    assert "\n" not in message


def test_a_generation_failure_is_refused_in_one_line(tmp_path, monkeypatch):
    spec = tiny_spec(tmp_path)

    def deep(*_):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(codegen.Generator, "source", deep)
    with pytest.raises(CoreUnsupported, match=r"^spec 'tiny': generating its core failed \(RecursionError: maximum"):
        Core(spec, jit=False)


def test_a_numba_typing_error_is_refused_at_construction(tmp_path, monkeypatch):
    """numba compiles the run loop on its first call, so a typing error was a traceback from Core.run;
    now the constructor compiles it and refuses, naming the instruction the error points into."""
    monkeypatch.setenv("VVERIFY_CORE_CACHE_DIR", str(tmp_path / "cores"))  # keep the broken core out of the shared cache
    spec = tiny_spec(tmp_path, semantics="r[rd] = r[rd] + 1")
    source = codegen.Generator.source

    def untypable(self, jit):
        text = source(self, jit)
        assert "i0o0 = DECF[row + K1]" in text  # instruction t's first operand, inline in the run loop
        return text.replace("i0o0 = DECF[row + K1]", "i0o0 = DECF[row + K1] + 'x'")

    monkeypatch.setattr(codegen.Generator, "source", untypable)
    with pytest.raises(CoreUnsupported) as e:
        Core(spec, jit=True)
    message = str(e.value)
    assert message.startswith("spec 'tiny': compiling instruction 't' failed (TypingError")
    assert "\n" not in message
