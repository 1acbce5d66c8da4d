"""Banked registers (`[state.banked]`): one name, a copy of storage per mode (or other control field).

What a banked name means, run on the reference interpreter, and the errors of
its declaration.  The other backends agree with the interpreter on
tests/agreement/data/lang.toml (tests/agreement); how a placement moves the
copies is in tests/spec/test_bank_placement.py.
"""

from __future__ import annotations

import pytest

from tests.conftest import load, spec_path
from vverify.errors import SpecError
from vverify.interp import initial_state, step
from vverify.spec import ir
from vverify.spec.loader import load_spec

BANKED = '''
[state.banked.sp]
width = 16
copies = {{ sup = ["s"], usr = ["u"] }}
doc = "a stack pointer per mode"
{more}
[instructions.getsp]
encoding = "1111 rd:2 0000000000"
semantics = "r[rd] = sp"

[instructions.tsp]
encoding = "1110 rd:2 0000000000"
semantics = """
{semantics}
"""
'''


def spec_with(tmp_path, semantics="sp = r[rd]", more="", extra=""):
    """pg74 with a banked ``sp`` (and whatever ``more`` declares), and an instruction ``tsp``."""
    (tmp_path / "pg74.toml").write_text(spec_path("pg74").read_text())
    p = tmp_path / "t.toml"
    p.write_text('[isa]\nname = "t"\nextends = "pg74.toml"\n' + extra + BANKED.format(semantics=semantics, more=more))
    return load_spec(p)


def run(spec, name, mode, rd=1, **regs):
    st = initial_state(spec)
    st.regs.update(b=0xFFFF, mode=spec.modes[mode], sp_sup=0x100, sp_usr=0x200, **regs)
    st.files["r"] = [0, 7, 0, 0]
    return step(spec, st, name, {"rd": rd})


def test_each_copy_is_a_data_register_of_the_state(tmp_path):
    s = spec_with(tmp_path)
    assert [n for n in s.registers if n.startswith("sp_")] == ["sp_sup", "sp_usr"]
    assert s.registers["sp_sup"].width == 16 and not s.registers["sp_sup"].control
    assert s.banks["sp"].default == "sp_sup"


@pytest.mark.parametrize("mode,reads", [("s", 0x100), ("u", 0x200)])
def test_the_name_reads_and_writes_the_current_modes_copy(tmp_path, mode, reads):
    s = spec_with(tmp_path)
    out, o = run(s, "getsp", mode)
    assert o.kind == "ok" and out.files["r"][1] == reads
    out, _ = run(s, "tsp", mode)
    mine, other = ("sp_sup", "sp_usr") if mode == "s" else ("sp_usr", "sp_sup")
    assert out.regs[mine] == 7 and out.regs[other] == (0x200 if mode == "s" else 0x100)


def test_a_mode_change_needs_no_swap(tmp_path):
    """Written after the mode in the same instruction, the name is the new mode's copy (an
    exception entry's `mode = svc; lr = ...` on ARM)."""
    s = spec_with(tmp_path, "t = sp\nmode = u\nsp = t + 1\nr[rd] = sp")
    out, _ = run(s, "tsp", "s")
    assert out.regs["mode"] == s.modes["u"] and out.regs["sp_usr"] == 0x101 and out.regs["sp_sup"] == 0x100
    assert out.files["r"][1] == 0x101


def test_a_copy_is_reached_by_its_own_name_in_any_mode(tmp_path):
    s = spec_with(tmp_path, "sp_usr = r[rd]\nr[0] = sp_sup")
    out, _ = run(s, "tsp", "s")
    assert out.regs["sp_usr"] == 7 and out.files["r"][0] == 0x100


def test_slices_bits_and_augmented_writes_go_to_the_copy(tmp_path):
    s = spec_with(tmp_path, "sp[3:0] = 0xF\nsp += 1\nsp[rd] = 1")
    out, _ = run(s, "tsp", "u", rd=3)
    assert out.regs["sp_usr"] == (0x20F + 1) | 0x8 and out.regs["sp_sup"] == 0x100


def test_a_register_file_entry_may_be_a_banked_register(tmp_path):
    """ARM's r13 is SP: `banked = { "3" = "sp" }` makes r[3] the current mode's sp."""
    s = spec_with(tmp_path, "r[rd] = r[3] + 1\nr[3] = r[rd]", extra="\n[state.files.r]\ncount = 4\nwidth = 16\nbanked = { \"3\" = \"sp\" }\n")
    out, _ = run(s, "tsp", "u")
    assert out.files["r"][1] == 0x201 and out.regs["sp_usr"] == 0x201 and out.files["r"][3] == 0
    out, _ = run(s, "tsp", "s", rd=3)  # r[3] = r[3] + 1, then r[3] = r[3]: both sp_sup
    assert out.regs["sp_sup"] == 0x101 and out.files["r"][3] == 0
    # a constant index picks the copy when the body is compiled: no choice is left for the run
    reads = [e for e in ir.walk_exprs(s.instructions["tsp"].body) if isinstance(e, ir.FileRead)]
    assert all(not isinstance(e.index, ir.Const) for e in reads)


def test_the_field_may_be_bits_of_a_control_register(tmp_path):
    more = '[state.banked.k]\nwidth = 16\nby = "l[15]"\ncopies = { lo = [0], hi = [1] }\n'
    s = spec_with(tmp_path, "r[rd] = k\nk = 5", more=more)
    out, _ = run(s, "tsp", "s", l=0x8000, k_lo=1, k_hi=2)
    assert out.files["r"][1] == 2 and (out.regs["k_lo"], out.regs["k_hi"]) == (1, 5)


def test_values_no_copy_lists_select_the_first(tmp_path):
    more = '[state.banked.k]\nwidth = 16\nby = "l[1:0]"\ncopies = { a = [1], b = [2, 3] }\n'
    s = spec_with(tmp_path, "r[rd] = k", more=more)
    for l, want in ((0, 10), (1, 10), (2, 20), (3, 20)):
        assert run(s, "tsp", "s", l=l, k_a=10, k_b=20)[0].files["r"][1] == want


def test_the_language_spec_loads_its_banks():
    s = load("lang")
    assert set(s.banks) == {"sp", "lr", "k"} and s.files["r"].banked == {3: "sp"}
    assert s.banks["lr"].selects == {s.modes["usr"]: "lr_usr", s.modes["sup"]: "lr_usr", 2: "lr_irq"}


@pytest.mark.parametrize("change,message", [
    ('by = "l[16]"', "banked register 'k': bits [16:16] of 'l' are outside its 16 bits"),
    ('by = "nosuch"', "banked register 'k': by names 'nosuch', which is not a declared register (pc excluded)"),
    ('by = "pc"', "by names 'pc', which is not a declared register (pc excluded)"),
    ('by = "l + 1"', "banked register 'k': by = 'l + 1' is not a register or bits of one"),
    ('by = "r"', "by names 'r', which is not a declared register"),
    ('copies = { a = ["nosuch"] }', "copy 'a' lists 'nosuch', which is neither a mode nor a constant"),
    ('copies = { a = [2] }', "copy 'a' lists 2, which the 1-bit field 'l[15]' cannot hold"),
    ('copies = { a = [1], b = [0, 1] }', "banked register 'k': 1 selects both copy 'a' and copy 'b'"),
    ('copies = { a = [1.5] }', "expected an integer, got 1.5"),
    ('copies = { "a-b" = [1] }', "'k_a-b' is not a valid name"),
    ('reset = 0x10000', "reset value of 'k' does not fit in 16 bits"),
])
def test_declaration_errors(tmp_path, change, message):
    key = change.split(" =", 1)[0]
    lines = {"by": 'by = "l[15]"', "copies": "copies = { lo = [0], hi = [1] }", "reset": ""}
    lines[key] = change
    more = "[state.banked.k]\nwidth = 16\n" + "\n".join(v for v in lines.values() if v) + "\n"
    with pytest.raises(SpecError) as info:
        spec_with(tmp_path, more=more)
    assert message in info.value.message, str(info.value)
    assert info.value.line > 0 and "\n" not in str(info.value)


def test_the_field_must_be_control_state(tmp_path):
    with pytest.raises(SpecError, match="the bits of 'a' that select its copy must be control state"):
        spec_with(tmp_path, more='[state.banked.k]\nwidth = 16\nby = "a[0]"\ncopies = { x = [0] }\n',
                  extra="\n[state.registers]\na = 4\n")


@pytest.mark.parametrize("extra,message", [
    ('\n[state.files.r]\ncount = 4\nwidth = 16\nbanked = { "4" = "sp" }\n', "banked entry '4' of 'r' is not an index below 4"),
    ('\n[state.files.r]\ncount = 4\nwidth = 16\nbanked = { "1" = "nosuch" }\n', "entry 1 of 'r' names 'nosuch', which is not a [state.banked]"),
    ('\n[state.files.r]\ncount = 4\nwidth = 16\nbanked = { "0" = "sp" }\nhardwired = { "0" = 0 }\n', "entry 0 of 'r' is both hardwired and banked"),
    ('\n[state.registers]\nsp_usr = 16\n', "'sp_usr' is already declared as a register"),
    ('\n[constants]\nsp = 1\n', "'sp' is already declared as a constant"),
    ('\n[virtualization.relocate]\nsp_usr = "sp_usr + x"\n', "relocate entry 'sp_usr' is a copy of banked register 'sp'"),
])
def test_other_errors(tmp_path, extra, message):
    with pytest.raises(SpecError) as info:
        spec_with(tmp_path, extra=extra)
    assert message in info.value.message, str(info.value)


def test_a_file_entry_is_as_wide_as_its_banked_register(tmp_path):
    more = '[state.banked.w]\nwidth = 8\ncopies = { a = ["s"] }\n'
    with pytest.raises(SpecError, match="entry 2 of 'r' is 16 bits but banked register 'w' is 8"):
        spec_with(tmp_path, more=more, extra='\n[state.files.r]\ncount = 4\nwidth = 16\nbanked = { "2" = "w" }\n')


@pytest.mark.parametrize("semantics,message", [
    ("sp: 16 = 1", "'sp' is a banked register"),
    ("for sp in range(2):\n    pass", "'sp' is a banked register"),
])
def test_a_banked_name_is_not_a_local(tmp_path, semantics, message):
    with pytest.raises(SpecError, match=message):
        spec_with(tmp_path, semantics)


def test_the_choices_a_bank_lowers_to_are_bounded(tmp_path, monkeypatch):
    from vverify.spec import limits

    monkeypatch.setattr(limits, "MAX_BANK_CHOICES", 2)
    spec_with(tmp_path)  # two values: within
    with pytest.raises(SpecError, match="banked register 'k': its copies list 3 values; the limit is 2"):
        spec_with(tmp_path, more='[state.banked.k]\nwidth = 16\nby = "l[1:0]"\ncopies = { a = [1], b = [2, 3] }\n')
    with pytest.raises(SpecError, match="register file 'r' has 3 banked entries; the limit is 2"):
        spec_with(tmp_path, extra='\n[state.files.r]\ncount = 4\nwidth = 16\nbanked = { "1" = "sp", "2" = "sp", "3" = "sp" }\n')
