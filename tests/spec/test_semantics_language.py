"""The semantics language: what it means, run on the reference interpreter."""

import pytest

from tests.conftest import spec_path
from vverify.errors import SpecError
from vverify.interp import initial_state, step
from vverify.spec import ir
from vverify.spec.loader import load_spec


def spec_with(tmp_path, semantics, helpers="", extra=""):
    (tmp_path / "pg74.toml").write_text((spec_path("pg74")).read_text())
    text = '[isa]\nname = "t"\nextends = "pg74.toml"\n\n'
    if helpers:
        text += f'[helpers]\ncode = """\n{helpers}\n"""\n\n'
    text += f'[instructions.t]\nencoding = "1111 rd:2 a:10"\nsemantics = """\n{semantics}\n"""\n{extra}'
    p = tmp_path / "t.toml"
    p.write_text(text)
    return load_spec(p)


def run(spec, rd=1, a=5, regs=None, r=None, mode="s"):
    st = initial_state(spec)
    st.regs["b"] = 0xFFFF
    st.regs["mode"] = spec.modes[mode]
    st.regs.update(regs or {})
    if r:
        st.files["r"] = list(r)
    return step(spec, st, "t", {"rd": rd, "a": a})


def test_literals_adapt_and_wrap(tmp_path):
    s = spec_with(tmp_path, "r[rd] = r[rd] + 0xFFFF")
    out, o = run(s, r=[0, 3, 0, 0])
    assert o.kind == "ok" and out.files["r"][1] == 2


def test_slices_read_and_write(tmp_path):
    s = spec_with(tmp_path, "t = r[rd]\nt[15:8] = t[7:0]\nt[0] = 1\nr[rd] = t")
    out, _ = run(s, r=[0, 0x12AC, 0, 0])
    assert out.files["r"][1] == 0xACAD


def test_signed_operations(tmp_path):
    s = spec_with(tmp_path, "r[rd] = 1 if slt(r[rd], 0) else 2\nr[0] = sra(r[2], 4)")
    out, _ = run(s, r=[0, 0x8000, 0xF000, 0])
    assert out.files["r"][1] == 1 and out.files["r"][0] == 0xFF00


def test_helper_early_return_skips_the_rest(tmp_path):
    helpers = "def pick(x: 16) -> 16:\n    if x == 0:\n        return 7\n    y = x + 1\n    return y * 2"
    s = spec_with(tmp_path, "r[rd] = pick(r[rd])", helpers)
    assert run(s, r=[0, 0, 0, 0])[0].files["r"][1] == 7
    assert run(s, r=[0, 4, 0, 0])[0].files["r"][1] == 10


def test_trap_is_precise(tmp_path):
    s = spec_with(tmp_path, "r[rd] = 99\nl = 5\nif r[0] == 0:\n    trap(svc)")
    out, o = run(s, r=[0, 1, 2, 3])
    assert o.trapped and o.cause == "svc"
    assert out.files["r"] == [0, 1, 2, 3]  # the write before the trap was discarded
    assert out.regs["l"] == 0  # the entry loaded the new PSW from E[6] (zero)
    assert out.mem[3] == 0xFFFF  # the old PSW (b) was saved


def test_loop_unrolls(tmp_path):
    s = spec_with(tmp_path, "acc: 16 = 0\nfor i in range(4):\n    acc = acc + r[i]\nr[rd] = acc")
    assert run(s, r=[1, 2, 3, 4])[0].files["r"][1] == 10


def test_pc_reads_current_and_writes_next(tmp_path):
    s = spec_with(tmp_path, "r[rd] = pc\npc = pc + 10")
    out, _ = run(s, regs={"pc": 100})
    assert out.files["r"][1] == 100 and out.regs["pc"] == 110
    s2 = spec_with(tmp_path, "r[rd] = pc")
    assert run(s2, regs={"pc": 100})[0].regs["pc"] == 101


@pytest.mark.parametrize("semantics,message", [
    ("r[rd] = zext(a, 8)", "zext to 8 bits from a wider"),
    ("l = a", "width mismatch"),
    ("r[rd] = nosuch", "undeclared name 'nosuch'"),
    ("r[rd] = open(1)", "undeclared function 'open'"),
    ("import os", "imports are not allowed"),
    ("while True:\n    pass", "unbounded loop"),
    ("r[rd] = a.__class__", "attribute access is not allowed"),
    ("r[rd] = r[rd] / 2", "not allowed"),
    ("if a == 1:\n    t = 1\nr[rd] = zext(t, 16)", "cannot infer the width"),
    ("if a == 1:\n    t: 16 = 1\nr[rd] = t", "may be used before it is assigned"),
    ("r[rd] = load(zext(a, 16), 1) if a == 0 else 0", "not allowed inside a conditional expression"),
    ("trap(nosuch)", "unknown trap cause"),
    ("halt()\nr[rd] = 1", "unreachable statement"),
    ("return", "only allowed inside a helper"),
    ("r[rd] = 70000", "does not fit in 16 bits"),
])
def test_errors_name_the_instruction_and_line(tmp_path, semantics, message):
    with pytest.raises(SpecError) as e:
        spec_with(tmp_path, semantics)
    err = e.value
    assert message in err.message
    assert err.where == "instruction 't'"
    assert str(err).startswith(str(tmp_path / "t.toml"))
    assert "\n" not in str(err)
    # the line points into the semantics text, whose first line is line 8 of t.toml
    assert 8 <= err.line <= 8 + semantics.count("\n")


def test_recursive_helper_is_rejected(tmp_path):
    helpers = "def f(x: 16) -> 16:\n    return f(x)"
    with pytest.raises(SpecError, match="recursive helper call"):
        spec_with(tmp_path, "r[rd] = f(r[rd])", helpers)


def test_lowered_ir_has_no_helper_calls(tmp_path):
    s = spec_with(tmp_path, "r[rd] = read(zext(a, 16))")
    kinds = {type(x).__name__ for x in ir.walk_stmts(s.instructions["t"].body)}
    assert "Load" in kinds and "Trap" in kinds  # phys() was inlined, with its bound check


# ---------------------------------------------------------------- loop indices and bit indices


def test_a_loop_index_is_a_constant_that_compares_with_constants(tmp_path):
    """`i == 2` inside an unrolled loop is decided at each iteration, like a helper's constant argument."""
    s = spec_with(tmp_path, "acc: 16 = 0\nfor i in range(4):\n    if i == 2 or (0 < i < 2 and not (i != 1)):\n"
                            "        acc = acc + 100\n    elif slt(i, 3):\n        acc = acc + r[i]\n"
                            "    else:\n        acc = acc + (5 if i == 3 else 7)\nr[rd] = acc")
    assert run(s, r=[1, 2, 3, 4])[0].files["r"][1] == 1 + 100 + 100 + 5
    # every comparison was of constants: no branch is left for a backend to take
    assert not any(isinstance(st, ir.If) for st in ir.walk_stmts(s.instructions["t"].body))


def test_a_negative_constant_is_not_ordered_without_a_width(tmp_path):
    with pytest.raises(SpecError, match="orders a negative constant"):
        spec_with(tmp_path, "for i in range(-2, 2):\n    if i < 0:\n        r[rd] = 1")
    s = spec_with(tmp_path, "for i in range(-2, 2):\n    if slt(i, 0):\n        r[i + 2] = 1")
    assert run(s, r=[0, 0, 0, 0])[0].files["r"] == [1, 1, 0, 0]


@pytest.mark.parametrize("a,bit", [(0, 1), (3, 1), (4, 0), (15, 1), (16, 0), (700, 0)])
def test_an_operand_indexes_bits(tmp_path, a, bit):
    """`x[a]` with `a` an operand is bit a of x, as a shift and mask: 0 past the top bit."""
    s = spec_with(tmp_path, "r[rd] = zext(l[a], 16)")
    assert run(s, a=a, regs={"l": 0x8009}, r=[0, 7, 0, 0])[0].files["r"][1] == bit


@pytest.mark.parametrize("rd,a,after", [(0, 4, 0x01), (1, 4, 0x02), (3, 0, 0x18), (2, 3, 0x14),
                                         (2, 500, 0x14)])  # a = 500 is past the top bit: nothing is cleared
def test_an_operand_indexes_the_bit_written(tmp_path, rd, a, after):
    s = spec_with(tmp_path, "t = r[0]\nt[rd] = 1\nt[a] = 0\nr[2] = t")
    assert run(s, rd=rd, a=a, r=[0x10, 0, 0, 0])[0].files["r"][2] == after


@pytest.mark.parametrize("semantics,message", [
    ("r[rd] = zext(5[a], 16)", "has no width to take bit"),
    ("r[rd] = zext(l[a == 1], 16)", "is a condition, not a number"),
    ("r[rd] = l[a:0]", "must be a constant integer"),
])
def test_bit_index_errors(tmp_path, semantics, message):
    with pytest.raises(SpecError, match=message):
        spec_with(tmp_path, semantics)


def test_an_error_in_a_helper_an_extending_spec_writes_names_that_file(tmp_path):
    """A spec that extends another may redefine a helper the parent's instructions call: an error in it
    is reported in the file that wrote it, at its line, not in the parent's file (where the call is)."""
    from pathlib import Path

    child = tmp_path / "child.toml"
    child.write_text(f'[isa]\nname = "child"\nextends = "{spec_path("riscv32_sv32")}"\n\n[helpers]\ncode = """\n'
                     "def translate(va: 32, acc: 2, priv: 2) -> 34:\n    return undefined_name\n"
                     '"""\n')
    with pytest.raises(SpecError) as info:
        load_spec(child)
    err = info.value
    assert "undeclared name 'undefined_name'" in err.message, str(err)
    assert Path(err.path) == child and err.line == 8, str(err)
