"""From solver answers to Popek & Goldberg verdicts, theorems and claims.

Verdicts are three-valued: ``yes``, ``no`` or ``unknown``.  Unknown (a
timeout) propagates: a theorem resting on an unknown answer is unknown, and
a claim that meets an unknown verdict is not confirmed.  A claim is
*confirmed* (a definite verdict equal to the claim), *refuted* (a definite
verdict that contradicts it) or *undecided* (it rests on an unknown verdict
and nothing definite contradicts it): a gate must tell "the spec is wrong"
from "the solver gave up", and must take neither for a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import SpecError
from ..vocabulary import NO, PROPERTIES, UNKNOWN, YES, Answer



def any3(values) -> str:
    values = list(values)
    if YES in values:
        return YES
    if UNKNOWN in values:
        return UNKNOWN
    return NO


CONFIRMED, REFUTED, UNDECIDED = "confirmed", "refuted", "undecided"
_SEVERITY = (CONFIRMED, UNDECIDED, REFUTED)


def worst(*statuses) -> str:
    """The claim status that wins: refuted over undecided over confirmed."""
    return max(statuses, key=_SEVERITY.index)


def all3(values) -> str:
    values = list(values)
    if NO in values:
        return NO
    if UNKNOWN in values:
        return UNKNOWN
    return YES


def not3(v) -> str:
    return {YES: NO, NO: YES}.get(v, UNKNOWN)


@dataclass
class UnitVerdict:
    id: str
    instruction: str
    member: str | None
    answers: list  # [Answer]
    replay_errors: list = field(default_factory=list)
    props: dict = field(default_factory=dict)

    def answer(self, question, mode=None):
        for a in self.answers:
            if a.question == question and (mode is None or mode in a.modes):
                return a
        return None

    def to_dict(self):
        d = asdict(self)
        d["answers"] = [a.to_dict() for a in self.answers]
        return d

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["answers"] = [Answer.from_dict(a) for a in d["answers"]]
        return cls(**d)

    @property
    def classes(self) -> list:
        """Human-readable class names, as in Popek & Goldberg."""
        p = self.props
        out = []
        if p["privileged"] == YES:
            out.append("privileged")
        for k, name in (("control_sensitive", "control-sensitive"), ("mode_sensitive", "mode-sensitive"),
                        ("location_sensitive", "location-sensitive")):
            if p[k] == YES:
                out.append(name)
        if p["user_sensitive"] == YES:
            out.append("user-sensitive")
        if not out and all(p[k] == NO for k in ("privileged", "sensitive")):
            out.append("innocuous")
        if any(p[k] == UNKNOWN for k in PROPERTIES):
            out.append("unknown")
        return out


def derive(spec, uv: UnitVerdict) -> dict:
    """Compute the unit's properties from its answers (see docs/theory.md)."""
    by = {}
    for a in uv.answers:
        by.setdefault(a.question, []).append(a)
    user = set(spec.user)

    def st(q, pred=lambda a: True):
        return [a.status for a in by.get(q, []) if pred(a)]

    runs_user = any3(st("runs_in_user"))
    runs_sup = any3(st("runs_in_supervisor"))
    if runs_user == NO:
        privileged = runs_sup
    elif runs_user == YES:
        privileged = NO
    else:
        privileged = NO if runs_sup == NO else UNKNOWN
    in_user = lambda a: bool(set(a.modes) & user)  # noqa: E731
    control = any3(st("control"))
    mode = any3(st("mode"))
    location = any3(st("location"))
    props = {
        "privileged": privileged,
        "control_sensitive": control,
        "mode_sensitive": mode,
        "location_sensitive": location,
        "sensitive": any3([control, mode, location]),
        # Popek & Goldberg: control- or location-sensitive in some user-mode state.  Mode-sensitivity
        # does not count: a hybrid VMM runs virtual user code in real user mode, so it cannot show.
        "user_sensitive": any3(st("control", in_user) + st("location", in_user)),
        "safe_supervisor": not3(any3(st("placement", lambda a: not in_user(a)))) if "placement" in by else UNKNOWN,
        "safe_user": not3(any3(st("placement", in_user))) if "placement" in by else UNKNOWN,
        "timing": any3(st("timing")),
    }
    if uv.replay_errors:  # a witness that does not replay: no verdict of this unit can be trusted
        props = {k: UNKNOWN for k in props}
    return props


@dataclass
class TheoremVerdict:
    name: str
    status: str  # yes | no | unknown
    statement: str
    violators: list = field(default_factory=list)
    undecided: list = field(default_factory=list)
    detail: str = ""


def theorems(spec, units: list) -> dict:
    def subset(prop):
        violators, undecided = [], []
        for u in units:
            s, p = u.props[prop], u.props["privileged"]
            if s == YES and p == NO:
                violators.append(u.id)
            elif (s == UNKNOWN and p != YES) or (s == YES and p == UNKNOWN):
                undecided.append(u.id)
        status = NO if violators else (UNKNOWN if undecided else YES)
        return status, violators, undecided

    out = {}
    s, v, und = subset("sensitive")
    out["theorem1"] = TheoremVerdict(
        "theorem1", s, "sensitive ⊆ privileged: a trap-and-emulate VMM can be built", v, und)
    s3, v3, und3 = subset("user_sensitive")
    out["theorem3"] = TheoremVerdict(
        "theorem3", s3, "user-sensitive ⊆ privileged: a hybrid VMM can be built", v3, und3)
    timing_regs = [r.name for r in spec.timing_registers]
    observers = [u.id for u in units if u.props["timing"] == YES]
    t_und = [u.id for u in units if u.props["timing"] == UNKNOWN]
    if s == NO:
        detail = "its first condition (virtualizable: Theorem 1) fails"
        if observers:
            detail += f"; also, placed guest code observes timing state untrapped in: {', '.join(observers)}"
    elif not timing_regs:
        detail = "the spec declares no timing state, so no VMM can have a timing dependency"
    else:
        detail = (f"timing state: {', '.join(timing_regs)}; an instruction is a timing dependency when guest code "
                  "placed by the virtualization map observes timing state without trapping to the VMM")
    if s == NO or observers:
        s2 = NO
    elif s == UNKNOWN or t_und:
        s2 = UNKNOWN
    else:
        s2 = YES
    out["theorem2"] = TheoremVerdict(
        "theorem2", s2, "Theorem 1 holds and no timing dependency under the map: recursively virtualizable",
        v + [o for o in observers if o not in v], und + t_und, detail)
    return out


def disagreements(spec, units: list) -> list:
    """Instructions where Popek & Goldberg's classes and the trap-or-commute check part ways."""
    out = []
    if spec.virtualization is None:
        return out
    for u in units:
        p = u.props
        unsafe = [m for m, k in (("supervisor", "safe_supervisor"), ("user", "safe_user")) if p[k] == NO]
        if p["sensitive"] == NO and unsafe:
            out.append(f"{u.id}: innocuous by Popek & Goldberg's classes, yet unsafe to run directly from "
                       f"guest {' and '.join(unsafe)} mode under the map (its behaviour depends on state the map changes)")
        if p["sensitive"] == YES and p["privileged"] == YES and unsafe:
            out.append(f"{u.id}: privileged, yet the placed run does not trap from guest {' and '.join(unsafe)} "
                       "mode (the map does not deprivilege it)")
        if p["sensitive"] == YES and p["privileged"] == NO and not unsafe and p["safe_supervisor"] == YES:
            out.append(f"{u.id}: sensitive and unprivileged, yet safe under the map "
                       "(the map's placement makes it trap or commute)")
    return out


@dataclass
class ClaimResult:
    name: str
    ok: bool
    expected: dict
    derived: dict
    path: str
    line: int
    source: str = ""
    message: str = ""
    status: str = CONFIRMED  # confirmed | refuted | undecided; ok is status == confirmed


def check_claims(spec, units: list, theorem_verdicts: dict) -> list:
    results = []
    by_id = {u.id: u for u in units}
    for name, c in spec.theorem_claims.items():
        tv = theorem_verdicts[name]
        derived = tv.status
        ok = derived == (YES if c.holds else NO)
        status = CONFIRMED if ok else (UNDECIDED if derived == UNKNOWN else REFUTED)
        msg = "" if ok else (f"{name} expected to {'hold' if c.holds else 'fail'}, derived: "
                             f"{ {YES: 'holds', NO: 'fails', UNKNOWN: 'unknown (solver timeout)'}[derived]}"
                             + (f"; violators: {', '.join(tv.violators)}" if tv.violators else ""))
        expected, got = {"holds": c.holds}, {"holds": derived}
        if c.violators is not None:
            bad, got["violators"], vstatus = _violator_mismatch(c.violators, tv, by_id)
            expected["violators"] = sorted(c.violators)
            if bad:
                status = worst(status, vstatus)
                msg = "; ".join(filter(None, (msg, bad)))
        results.append(ClaimResult(name, status == CONFIRMED, expected, got, c.path, c.line, c.source, msg, status))
    for name, c in spec.instruction_claims.items():
        if name in by_id:
            props = by_id[name].props
        else:  # a claim on an instruction with variants: aggregate its units
            group = [u for u in units if u.instruction == name]
            if not group:  # all3 of nothing is yes: a claim on no unit would confirm anything
                raise SpecError(c.path, c.line, f"claim {name!r}", "the claim selects no classified unit")
            props = {}
            for k in PROPERTIES:
                vals = [u.props[k] for u in group]
                props[k] = all3(vals) if k in ("privileged", "safe_supervisor", "safe_user") else any3(vals)
        bad, status = [], CONFIRMED
        for k, want in c.expect.items():
            got = props[k]
            if got != (YES if want else NO):
                bad.append(f"{k}: expected {str(want).lower()}, derived {got}")
                status = worst(status, UNDECIDED if got == UNKNOWN else REFUTED)
        results.append(ClaimResult(name, status == CONFIRMED, dict(c.expect), {k: props[k] for k in c.expect},
                                   c.path, c.line, c.source, "; ".join(bad), status))
    return results


def _violator_mismatch(claimed: frozenset, tv: TheoremVerdict, by_id: dict):
    """Compare a claimed set of violating instructions with the derived one.

    Units are folded into their instructions (a claim names ``mov_to_sreg``,
    the verdict its variants).  Returns ``(message, derived instructions, status)``;
    the message is empty only when the sets are equal and no unit is
    undecided, since an instruction whose verdict is unknown might belong to
    either side.  The status is refuted when the sets differ whatever the
    undecided units turn out to be, else undecided when any unit is.
    """
    derived = {by_id[v].instruction for v in tv.violators}
    undecided = {by_id[v].instruction for v in tv.undecided}
    refuted = (claimed - derived - undecided) or (derived - claimed)
    status = REFUTED if refuted else (UNDECIDED if undecided else CONFIRMED)
    parts = []
    if claimed - derived:
        parts.append(f"claimed violators not derived: {', '.join(sorted(claimed - derived))}")
    if derived - claimed:
        parts.append(f"derived violators not claimed: {', '.join(sorted(derived - claimed))}")
    if undecided:
        parts.append(f"undecided (solver timeout): {', '.join(sorted(undecided))}")
    return "; ".join(parts), sorted(derived), status
