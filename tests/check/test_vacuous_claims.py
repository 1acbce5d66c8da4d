"""A claim that selects no classified unit is an error in the spec, never a confirmed claim.

A claim on an instruction with variants is checked against the units its
name selects; over no unit at all every property would "hold".  These
specs are the skeleton of `vverify new` plus `pick`, an instruction with a
2-bit enum operand, so they solve in well under a second.
"""

import dataclasses

import pytest

from vverify.check.run import check_spec
from vverify.cli.main import main
from vverify.cli.skeleton import skeleton
from vverify.errors import SpecError
from vverify.spec.loader import load_spec

PICK = '''[instructions.pick]
encoding = "0111 s:2 0000000000"
syntax = "pick {s}"
doc = "load the selector"
semantics = "acc = zext(s, 16)"
variants = "s"

'''


def write_spec(tmp_path, members: str, claims: str):
    """The skeleton with enumeration ``sel`` (``members``), the instruction ``pick`` and extra claim lines."""
    text = skeleton("vt")
    text = text.replace("[operands]\n", f'[enums.sel]\n{members}\n[operands]\ns = {{ kind = "enum", enum = "sel" }}\n', 1)
    text = text.replace("[virtualization]\n", PICK + "[virtualization]\n", 1)
    p = tmp_path / "vt.toml"
    p.write_text(text + claims)
    return p, len((text + claims).splitlines())


def assert_spec_error_at_last_line(p, nlines, capsys, *words):
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert (e.value.path, e.value.line) == (str(p), nlines)
    assert all(w in e.value.message for w in words), e.value.message
    assert main(["check", "--no-cache", str(p)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"vverify: {p}:{nlines}: claim "), err


def test_a_dot_without_a_member_selects_nothing(tmp_path, capsys):
    # ld is unprivileged (the skeleton claims so); "ld." used to confirm privileged = true
    p, n = write_spec(tmp_path, "zero = 0\none = 1\n", '"ld." = { privileged = true }\n')
    assert_spec_error_at_last_line(p, n, capsys, "'.' without a member")


def test_a_member_whose_value_does_not_fit_the_operand_selects_nothing(tmp_path, capsys):
    p, n = write_spec(tmp_path, "zero = 0\none = 1\nbig = 9\n", '"pick.big" = { privileged = true }\n')
    assert_spec_error_at_last_line(p, n, capsys, "'big' = 9", "2-bit operand 's'")


def test_other_when_the_enumeration_names_every_value_selects_nothing(tmp_path, capsys):
    p, n = write_spec(tmp_path, "a = 0\nb = 1\nc = 2\nd = 3\n", '"pick.other" = { privileged = true }\n')
    assert_spec_error_at_last_line(p, n, capsys, "every value of the 2-bit operand 's'")


def test_claims_that_select_units_are_still_checked(tmp_path, capsys):
    """The control: the same kinds of names, selecting units, load, and a wrong one fails (exit 1)."""
    p, _ = write_spec(tmp_path, "zero = 0\nbig = 9\n",
                      'pick = { privileged = false }\n"pick.zero" = { privileged = false }\n'
                      '"pick.other" = { privileged = true }\n')
    r = check_spec(p, use_cache=False)
    assert {c.name: c.ok for c in r.claims if c.name.startswith("pick")} == {
        "pick": True, "pick.zero": True, "pick.other": False}
    assert main(["check", "--no-cache", str(p)]) == 1


def test_check_claims_refuses_an_empty_group(tmp_path):
    """Even a claim that got past the loader (a spec built in code) never confirms over no unit."""
    p, _ = write_spec(tmp_path, "zero = 0\none = 1\n", "")
    spec = load_spec(p)
    ld = spec.instruction_claims["ld"]
    spec.instruction_claims["ld."] = dataclasses.replace(ld, name="ld.", expect={"privileged": True})
    with pytest.raises(SpecError, match="selects no classified unit"):
        check_spec(spec, use_cache=False)
