"""The verdict matrix: for every spec and technique, what z3 predicts and what fuzzing observes.

Predictions come from the spec's derived verdicts:

* trap-and-emulate is correct when Theorem 1 holds;
* the hybrid VMM is correct when Theorem 3 holds;
* full interpretation and binary translation (translating what the
  classifier flags) are correct on any ISA with a software virtualization
  map, and so is paravirtualization (rewriting what the classifier flags)
  where the spec declares a paravirtual interface;
* hardware assist is correct when the spec's extension makes every
  instruction safe under its map (it exits, or it acts on guest copies).

A theorem that fails predicts a divergence (it is a sufficient condition,
but the culprits it names are instructions a guest can run), unless the
map makes every unit that trap-and-emulate (or, for the hybrid, user code)
runs directly safe: then each one traps to the VMM, which emulates it, or
commutes with the placement, and the technique is equivalent even though
the theorem fails (mips32, whose kernel in kseg0 cannot run deprivileged at
all: every access of it to kseg0 traps).  The theorem's failure then shows
as efficiency, the share run directly, not as a divergence.  A technique
whose structural requirements the spec does not meet (no hardware-assist
extension, no paravirtual interface) is recorded as not applicable, with
the reason, rather than run.  The matrix records predictions and
observations, whether they agree, and whether the culprit of every
divergence is an instruction the classifier flagged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .. import guests as G
from ..vmm import TECHNIQUES as VMMS
from ..vmm import requirements_unmet, translation_set
from .equivalence import core_problem
from .search import search

TECHNIQUES = tuple(t for t in VMMS if t != "native")
THEOREM = {"trap-and-emulate": "theorem1", "hybrid": "theorem3"}
# the trap-or-commute answers that decide whether what a technique runs directly is safe
DIRECT = {"trap-and-emulate": ("safe_supervisor", "safe_user"), "hybrid": ("safe_user",)}


@dataclass
class Cell:
    spec: str
    technique: str
    predicted: str  # equivalent | diverges | unknown | n/a
    why: str
    observed: str  # equivalent | diverges | not run
    agree: bool
    examples: int
    seconds: float
    direct_fraction: float
    culprit: str = ""
    culprit_flagged: bool | None = None
    counterexample: str = ""
    differences: list = None


def predict(report, technique: str) -> tuple:
    t = THEOREM.get(technique)
    if technique == "hardware-assisted":
        props = [(u.id, u.props["safe_supervisor"], u.props["safe_user"]) for u in report.units]
        unsafe = [uid for uid, s, us in props if "no" in (s, us)]
        undecided = [uid for uid, s, us in props if "unknown" in (s, us)]
        if unsafe:
            return "diverges", f"unsafe under the extension's map: {', '.join(unsafe)}"
        if undecided:
            return "unknown", f"safety undecided for {', '.join(undecided)}"
        return "equivalent", "every instruction exits or acts on guest copies under the extension's map"
    if technique == "paravirtualization":
        return "equivalent", "the guest is rewritten where the classifier flags it"
    if t is None:
        return "equivalent", "correct on any ISA with a virtualization map"
    tv = report.theorems[t]
    name = t.replace("theorem", "Theorem ")
    if tv.status == "yes":
        return "equivalent", f"{name} holds"
    if tv.status == "no":
        why = f"{name} fails ({', '.join(tv.violators)})"
        answers = [u.props[k] for u in report.units for k in DIRECT[technique]]
        if all(a == "yes" for a in answers):
            return "equivalent", (f"{why}, but the map makes every one of them trap or commute: the VMM "
                                  "emulates what traps, so they cost efficiency, not equivalence")
        if "no" not in answers:
            return "unknown", f"{why}; safety under the map undecided"
        return "diverges", why
    return "unknown", f"{name} undecided"


def not_applicable(report, technique: str) -> list:
    """What the spec lacks that the technique needs by construction (theorems aside: those are predictions)."""
    out = requirements_unmet(VMMS[technique], report, theorems=False)
    if not G.has_guest_library(report.spec):
        out.append(f"no guest library for {report.spec.name} (a [guest] table with a boot stub), so no programs to fuzz")
    elif not out:  # only then: building a core costs a compilation
        problem = core_problem(report.spec)
        if problem:
            out.append(f"{problem}; no programs to fuzz")
    return out


def flagged(report, uid: str, mode: str) -> bool:
    """Whether the classifier flags ``uid`` as a threat when run from ``mode``."""
    for u in report.units:
        if u.id == uid:
            key = "safe_user" if mode in report.spec.user else "safe_supervisor"
            return u.props[key] == "no" or (u.props["sensitive"] == "yes" and u.props["privileged"] == "no")
    return False


def cell(spec, report, technique: str, examples: int, seed: int) -> Cell:
    lacking = not_applicable(report, technique)
    if lacking:
        return Cell(spec.name, technique, "n/a", "; ".join(lacking), "not run", True, 0, 0.0, 0.0, differences=[])
    pred, why = predict(report, technique)
    r = search(spec, technique, examples=examples, seed=seed, report=report, translate=translation_set(report))
    observed = "diverges" if r.diverged else "equivalent"
    c = Cell(spec.name, technique, pred, why, observed, pred == observed, r.examples, round(r.seconds, 2),
             round(r.direct_fraction, 3), differences=[])
    if r.counterexample:
        ce = r.counterexample
        c.counterexample = ce.program.assembly(spec)
        c.differences = ce.differences
        if ce.culprit:
            uid, mode, pc, step = ce.culprit
            c.culprit = f"{uid} (guest {mode} mode, pc {pc:#x}, step {step})"
            c.culprit_flagged = flagged(report, uid, mode)
    return c


def matrix(specs_and_reports, examples: int = 100, seed: int = 0, progress=None) -> list:
    cells = []
    for spec, report in specs_and_reports:
        for t in TECHNIQUES:
            if spec.virtualization is None:
                continue
            cells.append(cell(spec, report, t, examples, seed))
            if progress is not None:
                progress(cells[-1])
    return cells


def to_markdown(cells, examples: int, seed: int, command: str) -> str:
    lines = ["# Verdict matrix: predicted by the theorems, observed by fuzzing", "",
             f"Each cell ran up to {examples} generated guest programs (Hypothesis seed {seed}) natively and under "
             "the technique, comparing the guest's final view, its exit and the traps delivered to it.", "",
             "| spec | technique | predicted | observed | agree | culprit (flagged by z3?) | programs | direct |",
             "|---|---|---|---|---|---|---|---|"]
    for c in cells:
        cul = f"{c.culprit} ({'yes' if c.culprit_flagged else 'NO'})" if c.culprit else ""
        if c.predicted == "n/a":
            lines.append(f"| {c.spec} | {c.technique} | n/a: {c.why} | not run | — | | | |")
            continue
        lines.append(f"| {c.spec} | {c.technique} | {c.predicted}: {c.why} | {c.observed} | "
                     f"{'yes' if c.agree else '**NO**'} | {cul} | {c.examples} | {c.direct_fraction:.0%} |")
    lines += ["", "`direct` is the share of guest instructions that ran directly on the core rather than through "
              "the VMM's interpreter routines (Popek & Goldberg's efficiency).", ""]
    for c in cells:
        if c.counterexample:
            lines += [f"## {c.spec} under {c.technique}: minimal counterexample", "", "```asm", c.counterexample, "```",
                      "", "Differences: " + "; ".join(c.differences), ""]
    lines += ["Regenerate with:", "", "```sh", command, "```", ""]
    return "\n".join(lines)


def to_json(cells, examples: int, seed: int, command: str) -> str:
    return json.dumps({"examples": examples, "seed": seed, "command": command,
                       "cells": [asdict(c) for c in cells]}, indent=2) + "\n"
