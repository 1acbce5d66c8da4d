"""Reading a proof-cache payload back into unit verdicts, checking its whole shape first.

A payload is JSON from a directory other people and other runs write to.
Building ``UnitVerdict``s from it with ``from_dict`` raised KeyError or
TypeError on a well-formed file with a bad payload; here every field is
checked for presence and type before anything is built, and the one error a
bad payload raises is :class:`BadEntry`.
"""

from __future__ import annotations

import math

from ..vocabulary import NO, QUESTIONS, YES, Answer, Witness
from .verdicts import UnitVerdict


class BadEntry(ValueError):
    """A payload that is not what :func:`vverify.check.run.store` writes."""


UNIT_KEYS = {"id", "instruction", "member", "answers", "replay_errors", "props"}
ANSWER_KEYS = {"question", "status", "modes", "witness", "seconds", "reason"}
WITNESS_KEYS = {"question", "modes", "operands", "states", "params", "fields", "outcomes"}
STATE_KEYS = {"regs", "files", "mem", "mem_default"}


def _need(cond, where, what):
    if not cond:
        raise BadEntry(f"{where}: {what}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _obj(v, keys, where) -> dict:
    _need(isinstance(v, dict), where, "not an object")
    _need(set(v) == keys, where, f"fields {sorted(v)}, expected {sorted(keys)}")
    return v


def _strs(v, where) -> list:
    _need(isinstance(v, list) and all(isinstance(x, str) for x in v), where, "not a list of strings")
    return v


def _ints(v, where) -> dict:
    _need(isinstance(v, dict) and all(_is_int(x) for x in v.values()), where, "not a map to integers")
    return v


def _state(v, where) -> dict:
    _obj(v, STATE_KEYS, where)
    _ints(v["regs"], f"{where}.regs")
    files = v["files"]
    _need(isinstance(files, dict) and all(isinstance(f, list) and all(_is_int(x) for x in f) for f in files.values()),
          f"{where}.files", "not a map to lists of integers")
    _ints(v["mem"], f"{where}.mem")
    _need(all(a.isdigit() and a.isascii() for a in v["mem"]), f"{where}.mem", "an address that is not a number")
    _need(_is_int(v["mem_default"]), f"{where}.mem_default", "not an integer")
    return v


def _witness(v, answer: dict, where) -> Witness:
    _obj(v, WITNESS_KEYS, where)
    _need(v["question"] == answer["question"] and v["modes"] == answer["modes"], where,
          "the witness is of another question")
    _ints(v["operands"], f"{where}.operands")
    _ints(v["params"], f"{where}.params")
    _need(isinstance(v["states"], list) and v["states"], f"{where}.states", "not a list of states")
    for i, s in enumerate(v["states"]):
        _state(s, f"{where}.states[{i}]")
    _strs(v["fields"], f"{where}.fields")
    _strs(v["outcomes"], f"{where}.outcomes")
    return Witness(**v)


def _answer(v, where) -> Answer:
    _obj(v, ANSWER_KEYS, where)
    _need(v["question"] in QUESTIONS, where, f"unknown question {v['question']!r}")
    # an entry is only written without timeouts (run.store), so 'unknown' is not a stored status
    _need(v["status"] in (YES, NO), where, f"status {v['status']!r}")
    _need(bool(_strs(v["modes"], f"{where}.modes")), f"{where}.modes", "no mode")
    _need(isinstance(v["seconds"], float) or (_is_int(v["seconds"]) and abs(v["seconds"]) < 1 << 53),
          f"{where}.seconds", "not a number")  # an int past a float's range makes isfinite() overflow
    _need(math.isfinite(v["seconds"]), f"{where}.seconds", "not a finite number")
    _need(isinstance(v["reason"], str), f"{where}.reason", "not a string")
    if v["status"] == YES:  # a yes is only ever believed with the witness that shows it
        witness = _witness(v["witness"], v, f"{where}.witness")
    else:
        _need(v["witness"] is None, f"{where}.witness", "a witness for a 'no'")
        witness = None
    return Answer(v["question"], v["status"], list(v["modes"]), witness, v["seconds"], v["reason"])


def _unit(v, where) -> UnitVerdict:
    _obj(v, UNIT_KEYS, where)
    _need(isinstance(v["id"], str) and isinstance(v["instruction"], str), where, "id or instruction not a string")
    _need(v["member"] is None or isinstance(v["member"], str), where, "member not a string")
    _need(v["replay_errors"] == [], where, "replay errors (such verdicts are never stored)")
    _need(isinstance(v["props"], dict), where, "props not an object")
    _need(isinstance(v["answers"], list), where, "answers not a list")
    answers = [_answer(a, f"{where}.answers[{i}]") for i, a in enumerate(v["answers"])]
    return UnitVerdict(v["id"], v["instruction"], v["member"], answers)


def units_from_payload(payload, spec_units, plan) -> list:
    """The unit verdicts of ``payload``: some of ``spec_units`` (units_of(spec)), in their order, each
    once (an entry holds the units that were decided: run.store leaves out those that timed out),
    each answering exactly the questions of ``plan`` (vverify.formal.plan.question_plan), in order:
    a missing answer would be read as a "no".  Raises :class:`BadEntry` for anything else.
    Properties are left for ``derive``."""
    _obj(payload, {"units"}, "payload")
    _need(isinstance(payload["units"], list), "payload.units", "not a list")
    units = [_unit(u, f"unit {i}") for i, u in enumerate(payload["units"])]
    got = [(u.id, u.instruction, u.member) for u in units]
    order = {(u.id, u.instruction, u.member): i for i, u in enumerate(spec_units)}
    _need(all(g in order for g in got), "payload.units", "a unit the spec does not have")
    _need([order[g] for g in got] == sorted({order[g] for g in got}), "payload.units",
          "units out of the spec's order, or twice")
    asked = [(q, tuple(m)) for q, m in plan]
    for u in units:
        _need([(a.question, tuple(a.modes)) for a in u.answers] == asked, f"unit {u.id}",
              "not an answer to each of the classifier's questions")
    return units
