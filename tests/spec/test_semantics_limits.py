"""Hostile semantics text: refused with one line naming the instruction and line, never a crash or a hang.

Each case here used to end in a traceback (MemoryError, RecursionError, or
ValueError from printing a huge integer), hours of inlining or constant
folding, or an error pointing into a helper instead of at the instruction.
The limits are those of :mod:`vverify.spec.limits`.  Work is bounded by
counting it (the compiler's node budget), never by timing it.
"""

from __future__ import annotations

import subprocess
import sys
import pytest

from tests.conftest import ROOT, SPEC_FILES, spec_path
from vverify.errors import SpecError
from vverify.spec import limits
from vverify.spec.loader import load_spec

SEMANTICS_LINE = 10  # first line of the instruction's semantics in the file spec_file() writes


def spec_file(tmp_path, semantics, helpers="", extra="", name="t.toml"):
    """A spec extending pg74 with one instruction ``t`` (and helpers, and more TOML)."""
    (tmp_path / "pg74.toml").write_text(spec_path("pg74").read_text())
    text = '[isa]\nname = "t"\nextends = "pg74.toml"\n\n'
    text += f'[instructions.t]\nencoding = "1111 rd:2 a:10"\nsyntax = "t"\n\nsemantics = """\n{semantics}\n"""\n\n'
    if helpers:
        text += f'[helpers]\ncode = """\n{helpers}\n"""\n\n'
    text += extra
    p = tmp_path / name
    p.write_text(text)
    assert text.split("\n")[SEMANTICS_LINE - 2] == 'semantics = """'
    return p


def refused(path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert len(str(err).splitlines()) == 1 and str(err).isprintable(), repr(str(err))
    return err


def lint_in_subprocess(path, timeout=300):
    """``vverify lint`` in a child process; the timeout only guards against a hang."""
    return subprocess.run([sys.executable, "-m", "vverify", "lint", str(path)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


# ------------------------------------------------------------------ nesting

@pytest.mark.parametrize("semantics", [
    "r[rd] = " + "-" * 10_000 + "l",
    "r[rd] = " + "~" * 10_000 + "l",
    "r[rd] = " + "+" * 10_000 + "l",
    "if " + "not " * 10_000 + "(l == 0):\n    r[rd] = l",
    "r[rd] = " + " + ".join(["l"] * 100_000),
    "r[rd] = " + "(" * 250 + "l" + ")" * 250,
    "r[rd] = l" + "[15:0]" * 10_000,
    "r[rd] = " + "l if l == 0 else " * 10_000 + "l",
], ids=["minus", "invert", "plus", "not", "sum", "parentheses", "slices", "conditional"])
def test_deep_nesting_is_refused_at_its_line(tmp_path, semantics):
    p = spec_file(tmp_path, "r[rd] = l\n" + semantics)
    err = refused(p)
    assert "nest too deeply" in err.message
    assert err.where == "instruction 't'"
    assert err.line == SEMANTICS_LINE + 1


@pytest.mark.parametrize("place", ["helper", "trap entry", "invariant", "virtualization"])
def test_deep_nesting_is_refused_everywhere_semantics_are_written(tmp_path, place):
    deep = "-" * 10_000 + "x"
    if place == "helper":
        p = spec_file(tmp_path, "r[rd] = f(l)", helpers=f"def f(x: 16) -> 16:\n    return {deep}")
        where = "helpers"
    elif place == "trap entry":
        p = spec_file(tmp_path, "r[rd] = l", extra=f'[traps]\nentry = """\nx: 16 = 1\npc = {deep}\n"""\n')
        where = "trap entry"
    elif place == "invariant":
        p = spec_file(tmp_path, "r[rd] = l", extra=f'[state]\ninvariants = ["{deep.replace("x", "l")} == 0"]\n')
        where = "invariant"
    else:
        p = spec_file(tmp_path, "r[rd] = l", extra=f'[virtualization.relocate]\nl = "{deep}"\n')
        where = "virtualization relocate.l"
    err = refused(p)
    assert "nest too deeply" in err.message
    assert err.where == where
    assert err.line > 0


def test_nesting_below_the_limit_and_long_elif_chains_load(tmp_path):
    """The limit is not absurdly low, and an elif chain (a CSR decoder) adds no nesting."""
    near = "-" * (limits.MAX_NESTING - 2) + "l"  # the assignment and the name are levels too
    chain = "if a == 0:\n    r[rd] = 0\n" + "".join(f"elif a == {i}:\n    r[rd] = {i}\n" for i in range(1, 250))
    assert load_spec(spec_file(tmp_path, f"r[rd] = {near}\n{chain}")).instructions["t"]
    err = refused(spec_file(tmp_path, "r[rd] = -" + near))
    assert f"more than {limits.MAX_NESTING} levels" in err.message


# --------------------------------------------------------- integer literals

HUGE = "0x" + "f" * 1100  # 4,400 bits: more than any width, and too long for str() in decimal
DECIMAL = "9" * 5000  # past Python's 4,300-digit limit for int(), so past the parser's


@pytest.mark.parametrize("semantics", [
    f"r[rd] = {HUGE}",
    f"r[rd] = {DECIMAL}",
    f"r[rd] = l << {HUGE}",
    f"r[rd] = l >> {HUGE}",
    f"for i in range({HUGE}):\n    r[rd] = l",
    f"r[rd] = bits(1, {HUGE})",
    f"r[rd] = l[{HUGE}:0]",
    f"r[rd] = zext(l, {HUGE})",
    f"t: {HUGE} = l\nr[rd] = t",
], ids=["hex", "decimal", "shl", "lshr", "range", "bits", "slice", "zext", "annotation"])
def test_huge_literals_are_refused_without_printing_them(tmp_path, semantics):
    err = refused(spec_file(tmp_path, semantics))
    assert f"wider than {limits.MAX_LITERAL_BITS} bits" in err.message
    assert err.where == "instruction 't'"
    assert err.line == SEMANTICS_LINE


def test_huge_literal_in_a_helper_annotation(tmp_path):
    err = refused(spec_file(tmp_path, "r[rd] = f(l)", helpers=f"def f(x: {HUGE}) -> 16:\n    return 0"))
    assert f"wider than {limits.MAX_LITERAL_BITS} bits" in err.message
    assert err.where == "helper 'f'"


def test_error_messages_never_print_a_whole_wide_constant(tmp_path):
    wide = "0x" + "f" * 1000  # 4,000 bits: a legal literal, that fits no 16-bit register
    err = refused(spec_file(tmp_path, f"r[rd] = {wide}"))
    assert "does not fit in 16 bits" in err.message and "(4000 bits)" in err.message
    assert len(err.message) < 200


# ------------------------------------------------------------ constant folding

WIDEST = "0x" + "f" * 1024  # a 4,096-bit literal: allowed


def _product_tree(leaves):
    """((L * L) * (L * L)) * ...: balanced, so its text doubles at each level and its value squares."""
    expr = WIDEST
    while leaves > 1:
        expr, leaves = f"({expr}) * ({expr})", leaves // 2
    return expr


def test_folding_a_product_of_wide_literals_is_refused(tmp_path):
    """Sixteen 4,096-bit literals multiplied are 65,536 bits: refused at the first product too wide,
    where it used to be multiplied out and then crash printing the result."""
    err = refused(spec_file(tmp_path, f"r[rd] = bits({_product_tree(16)}, 16)"))
    assert f"grows past {limits.MAX_CONSTANT_BITS} bits" in err.message
    assert err.where == "instruction 't'" and err.line == SEMANTICS_LINE
    assert len(err.message) < 300


def test_a_44kb_product_tree_is_refused_in_a_child_process(tmp_path):
    """The red team's case: a 44 KB product tree took more than 150 s to fold."""
    text = f"r[rd] = bits({_product_tree(32)}, 16)\n" + "\n".join(
        f"l = bits(({WIDEST} << {k}) * ({WIDEST} << {k}) * ({WIDEST} << {k}), 16)" for k in range(5))
    p = spec_file(tmp_path, text)
    assert p.stat().st_size > 44_000
    run = lint_in_subprocess(p)
    assert run.returncode == 2, run.stderr
    assert f"instruction 't': the constant" in run.stdout and f"grows past {limits.MAX_CONSTANT_BITS} bits" in run.stdout
    assert len(run.stdout.splitlines()) == 1 and "Traceback" not in run.stderr


def test_a_product_of_two_widest_literals_still_folds(tmp_path):
    s = load_spec(spec_file(tmp_path, f"r[rd] = bits(({WIDEST} * {WIDEST}) & 0xffff, 16)"))
    assert s.instructions["t"].body[0].value.value == (((1 << 4096) - 1) ** 2) & 0xFFFF


# ------------------------------------------------------------- helper inlining

def _doubling_chain(depth):
    """h_k(x) = h_{k-1}(h_{k-1}(x)): 2**depth copies of h0 once inlined, from a few lines of text."""
    lines = ["def h0(x: 16) -> 16:\n    return x + 1"]
    lines += [f"def h{k}(x: 16) -> 16:\n    return h{k - 1}(h{k - 1}(x))" for k in range(1, depth + 1)]
    return "\n".join(lines)


def test_an_exponential_helper_chain_is_refused_at_the_instruction(tmp_path):
    err = refused(spec_file(tmp_path, "r[rd] = l\nr[rd] = h20(l)", helpers=_doubling_chain(20)))
    assert f"grow past {limits.MAX_BODY_NODES} nodes" in err.message
    assert err.where == "instruction 't'"  # not somewhere inside h0
    assert err.line == SEMANTICS_LINE + 1
    assert "(inlining h20 -> h19 -> h18" in err.message


def test_many_instructions_each_inlining_a_big_chain_exhaust_the_spec_budget(tmp_path, monkeypatch):
    """Each body is under its own limit, together they are not: the spec-wide budget stops them
    (lowered here, so that the test needs a few instructions, not a few hundred)."""
    monkeypatch.setattr(limits, "MAX_SPEC_NODES", 60_000)
    one = load_spec(spec_file(tmp_path, "r[rd] = h10(l)", helpers=_doubling_chain(10), name="one.toml"))
    assert one.instructions["t"]  # one body of a 2,048-fold chain is within MAX_BODY_NODES
    extra = "".join(f'[instructions.u{k}]\nencoding = "1110 {k:02b} rd:2 a:8"\nsemantics = "r[rd] = h10(l)"\n\n'
                    for k in range(4))
    err = refused(spec_file(tmp_path, "r[rd] = h10(l)", helpers=_doubling_chain(10), extra=extra))
    assert "the spec's semantics grow past 60000 nodes in all" in err.message
    assert err.where.startswith("instruction 'u")


def test_returns_copied_into_branches_cannot_grow_exponentially(tmp_path):
    """Code after an `if` that may return is copied into both branches when neither always
    returns: 40 such `if`s asked for 2**40 copies before a single statement was counted."""
    step = "    if x == {k}:\n        if l == 0:\n            return 1\n    else:\n        if l == 1:\n            return 2\n"
    helper = "def f(x: 16) -> 16:\n" + "".join(step.format(k=k) for k in range(40)) + "    return x"
    p = spec_file(tmp_path, "r[rd] = f(l)", helpers=helper)
    run = lint_in_subprocess(p)
    assert run.returncode == 2, run.stderr
    assert f"{p}:{SEMANTICS_LINE}: instruction 't': the semantics grow past" in run.stdout
    assert "(inlining f)" in run.stdout


# ------------------------------------------------------------------- names

@pytest.mark.parametrize("helpers", [
    "def h\u00e9(x: 16) -> 16:\n    return x",
    "def h(\u00e9: 16) -> 16:\n    return \u00e9",
])
def test_helper_and_parameter_names_are_plain_identifiers(tmp_path, helpers):
    """Like every other name in a spec: ASCII letters, digits and underscores, checked whole."""
    err = refused(spec_file(tmp_path, "r[rd] = l", helpers=helpers))
    assert "is not a valid name" in err.message
    assert err.where.startswith("helper ")


def test_bundled_specs_still_load():
    """The bundled specs keep loading (they are all well inside every limit)."""
    for p in SPEC_FILES:
        assert load_spec(p).instructions
