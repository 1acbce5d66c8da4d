"""Placing a guest moves its banked registers' copies: the z3 model and the interpreter agree.

vverify.spec.banks states the rule (the guest's current copy goes into the
real current copy, the two exchanged; the guest's view exchanges them back);
vverify.formal.classify applies it to symbolic states and
vverify.interp.placement to concrete ones, and witness replay relies on the
two doing the same thing.  Here they are held to each other directly, on the
language spec (tests/agreement/data/lang.toml), with the selecting field
known (the mode, fixed in every query) and unknown (a bit of a control
register the map leaves alone).
"""

from __future__ import annotations

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load
from tests.strategies import states
from vverify.formal import symexec as sx
from vverify.formal.classify import UnitClassifier, move_banks, view
from vverify.interp import step
from vverify.interp.placement import place, view_back
from vverify.spec.units import Unit


def _zstate(spec, s):
    return sx.ZState(dict(s.regs), {}, None, 0)


def test_placing_a_supervisor_guest_in_user_mode_exchanges_its_copies():
    spec = load("lang")
    g = _guest(spec, "sup")
    p, _ = place(spec, g, {"x": 0}, "sup")
    assert p.regs["mode"] == spec.modes["usr"]
    assert (p.regs["sp_usr"], p.regs["sp_sup"], p.regs["sp_irq"]) == (0x100, 0x200, 0x300)
    assert p.regs["lr_usr"] == g.regs["lr_usr"]  # sup and usr share lr: nothing to move
    back = view_back(spec, g, p, p).regs  # the copies as the guest had them (its mode is the VMM's to keep)
    assert {n: back[n] for n in spec.registers if n != "mode"} == {n: g.regs[n] for n in spec.registers if n != "mode"}
    irq, _ = place(spec, _guest(spec, "irq"), {"x": 0}, "irq")
    assert (irq.regs["sp_usr"], irq.regs["sp_irq"], irq.regs["lr_usr"], irq.regs["lr_irq"]) == (0x300, 0x200, 2, 1)


def _guest(spec, mode):
    from vverify.interp import initial_state

    g = initial_state(spec)
    g.regs.update(mode=spec.modes[mode], sp_sup=0x100, sp_usr=0x200, sp_irq=0x300, lr_usr=1, lr_irq=2)
    return g


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_z3_placement_is_the_interpreters(data):
    spec = load("lang")
    s = data.draw(states(spec))
    mode = spec.mode_name(s.regs["mode"])
    uc = UnitClassifier(spec, Unit("getsp"))
    params = {"x": data.draw(st.integers(0, 0xFFFF))}
    want, _ = place(spec, s, params, mode)
    got = uc.place(_zstate(spec, s), params, mode)
    assert {n: sx.simplify_value(v) for n, v in got.regs.items()} == want.regs
    assert {n: sx.simplify_value(v) for n, v in view(got).regs.items()} == \
        view_back(spec, s, want, want).regs


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_field_the_solver_does_not_know_moves_the_copies_the_same_way(data):
    """With the selecting field a term (here psr, which selects k's copy), the exchange is a
    choice between copies; under any value of the field it is the concrete exchange."""
    spec = load("lang")
    s = data.draw(states(spec))
    target = dict(s.regs, psr=data.draw(st.integers(0, 15)))
    psr = z3.BitVec("psr", 4)
    src = sx.ZState(dict(s.regs, psr=psr), {}, None, 0)
    dst = sx.ZState(dict(target), {}, None, 0)
    moved = move_banks(spec, src, dst)
    value = z3.BitVecVal(s.regs["psr"], 4)

    def concrete(regs):
        return {n: sx.simplify_value(z3.substitute(sx.const(v, spec.registers[n].width), (psr, value)))
                for n, v in regs.items()}
    from vverify.spec.banks import exchange, moves

    pairs = moves(spec, s.regs, target)
    assert concrete(moved.regs) == exchange(target, pairs)
    assert concrete(view(moved).regs) == target


def test_the_mode_question_moves_the_copies_with_the_mode():
    """Two states "identical but for the mode" hold the same value in the copy each mode reads:
    so getsp is not mode-sensitive, and spusr (user mode's copy, named) is."""
    spec = load("lang")
    for name, sensitive in (("getsp", False), ("addsp", False), ("spusr", True), ("ldmu", True)):
        answer = UnitClassifier(spec, Unit(name)).mode_pair("usr", "sup")
        assert answer.status == ("yes" if sensitive else "no"), (name, answer)


def test_a_placed_run_seen_back_is_the_native_run_for_an_innocuous_instruction():
    spec = load("lang")
    g = _guest(spec, "sup")
    g.regs["acc"] = 5
    native, _ = step(spec, g, "addsp", {"imm": 9})
    p, _ = place(spec, g, {"x": 0}, "sup")
    placed, _ = step(spec, p, "addsp", {"imm": 9})
    back = view_back(spec, g, p, placed)
    assert back.regs["sp_sup"] == native.regs["sp_sup"] == 0x109
    assert {n: back.regs[n] for n in ("sp_usr", "sp_irq")} == {n: native.regs[n] for n in ("sp_usr", "sp_irq")}
