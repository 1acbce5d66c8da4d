"""The words vverify's verdicts are made of, and the solver's answers as plain data.

A leaf every layer may import.  The checker derives verdicts from answers,
the faces print them, the cache stores them: none of those needs z3, so
the words, the questions, the properties and the answer records live here
rather than in the solver's module (importing the CLI or a report renderer
never loads z3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

YES, NO, UNKNOWN = "yes", "no", "unknown"

# The questions.  Each key is answered per mode (or per mode pair).
QUESTIONS = {
    "runs_in_user": "is there a user-mode state in which it neither traps for privilege nor memory-traps?",
    "runs_in_supervisor": "is there a supervisor-mode state in which it runs without trapping?",
    "control": "is there a state in which it runs without trapping and changes control state?",
    "mode": "are there two states differing only in mode, neither trapping, whose results differ?",
    "location": "is there a state and a relocation of it by the map's parameters, neither run trapping, "
                "whose results differ once relocated back?",
    "placement": "is there a guest state and a placement of it by the map's parameters under which the placed run "
                 "does not trap yet the guest's view differs from running it natively? (trap-or-commute)",
    "timing": "do two placed guest states differing only in timing state, neither trapping, give different results?",
}

MAP_PARAMETERS = "the map's parameters"
"""The words of QUESTIONS that stand for the virtualization map's parameters: a report names them
instead (question_text), so a reader sees "a relocation of it by aif", the spec's own name."""


def question_text(question: str, params=()) -> str:
    """QUESTIONS[question], the map's parameters called by their names (``params``; none: "the map")."""
    return QUESTIONS[question].replace(MAP_PARAMETERS, ", ".join(params) if params else "the map")


PROPERTIES = ("privileged", "sensitive", "control_sensitive", "mode_sensitive", "location_sensitive",
              "user_sensitive", "safe_supervisor", "safe_user", "timing")
"""A unit's derived properties, each yes, no or unknown (vverify.check.verdicts); the keys a claim may state."""

THEOREMS = ("theorem1", "theorem2", "theorem3")

PRESENTED_MODE = "mmu.mode"
"""The witness parameter of a *mode* answer under a virtualized MMU (``[virtualization.mmu]``): the mode
whose translation both runs were presented, which the replay presents again."""


@dataclass
class Witness:
    """A model, as plain data: the states, operands and parameters, and what differs."""

    question: str
    modes: list
    operands: dict
    states: list  # [state dict]; see state_to_dict
    params: dict = field(default_factory=dict)
    fields: list = field(default_factory=list)  # what the solver says differs
    outcomes: list = field(default_factory=list)  # solver's view of each run: ok/trap:cause/halt

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


@dataclass
class Answer:
    question: str
    status: str  # yes | no | unknown
    modes: list
    witness: Witness | None = None
    seconds: float = 0.0
    reason: str = ""

    def to_dict(self):
        d = asdict(self)
        d["witness"] = self.witness.to_dict() if self.witness else None
        return d

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["witness"] = Witness.from_dict(d["witness"]) if d.get("witness") else None
        return cls(**d)
