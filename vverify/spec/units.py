"""Classified units: an instruction, or one value of its ``variants`` operand.

Kept apart from the solver so that tools that only enumerate units (the
pytest plugin's collection, say) do not import z3.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir


@dataclass
class Unit:
    """One classified unit: an instruction, or one value of its variants operand."""

    instruction: str
    member: str | None = None  # enum member name, "other", or None
    value: int | None = None  # the operand value for a member

    @property
    def id(self):
        return self.instruction if self.member is None else f"{self.instruction}.{self.member}"


def units_of(spec) -> list:
    out = []
    for name, instr in spec.instructions.items():
        if instr.variants is None:
            out.append(Unit(name))
            continue
        enum = spec.enums[spec.operands[instr.variants].enum]
        width = instr.operands[instr.variants]
        excluded = set(instr.encoding.excluded.get(instr.variants, ()))  # no word encodes those
        for member, value in enum.items():
            if value <= ir.mask(width) and value not in excluded:
                out.append(Unit(name, member, value))
        if len({v for v in enum.values() if v <= ir.mask(width)} | excluded) < (1 << width):
            out.append(Unit(name, "other"))
    return out


def unit_id(spec, name: str, operands: dict) -> str:
    """The classified unit an instruction belongs to (``csrrs.mstatus``, ``add``, ...)."""
    instr = spec.instructions[name]
    if instr.variants is None:
        return name
    value = operands[instr.variants]
    for member, v in spec.enums[spec.operands[instr.variants].enum].items():
        if v == value:
            return f"{name}.{member}"
    return f"{name}.other"
