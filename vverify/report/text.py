"""Text rendering of check reports for people (JSON is for machines)."""

from __future__ import annotations

from ..errors import printable
from ..vocabulary import NO, QUESTIONS, UNKNOWN, YES

_CELL = {YES: "yes", NO: "-", UNKNOWN: "?"}
_COLUMNS = (("priv", "privileged"), ("ctrl", "control_sensitive"), ("mode", "mode_sensitive"),
            ("loc", "location_sensitive"), ("user", "user_sensitive"), ("timing", "timing"))
_THEOREM_TITLE = {"theorem1": "Theorem 1", "theorem2": "Theorem 2", "theorem3": "Theorem 3"}
_STATUS = {YES: "HOLDS", NO: "FAILS", UNKNOWN: "UNKNOWN (solver timeout; not a pass)"}


def _safe(v):
    return {YES: "ok", NO: "UNSAFE", UNKNOWN: "?"}[v]


def report_text(r, verbose: bool = False) -> str:
    s = r.spec
    lines = []
    from_cache = r.from_cache
    state = ("cached" if r.cached else
             f"{len(r.units) - from_cache} solved, {from_cache} from the cache," if from_cache else "solved")
    lines.append(printable(f"{s.name} — {s.title}  ({s.path})"))  # a path may hold a newline: one line
    lines.append(f"  {len(s.instructions)} instructions, {len(r.units)} classified units, {state} in {r.seconds:.2f} s")
    lines.append("")
    head = ["instruction"] + [c for c, _ in _COLUMNS] + ["safe:S", "safe:U", "classes"]
    rows = []
    quiet = {"innocuous": 0, "privileged": 0}
    for u in r.units:
        plain = len(u.classes) == 1 and u.classes[0] in quiet
        if not verbose and plain and all(u.props[k] == YES for k in ("safe_supervisor", "safe_user")):
            quiet[u.classes[0]] += 1
            continue
        rows.append([u.id] + [_CELL[u.props[k]] for _, k in _COLUMNS]
                    + [_safe(u.props["safe_supervisor"]), _safe(u.props["safe_user"]), ", ".join(u.classes)])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    lines.append(fmt.format(*head).rstrip())
    for row in rows:
        lines.append(fmt.format(*row).rstrip())
    if any(quiet.values()):
        lines.append(f"  (+{quiet['privileged']} privileged units that are not sensitive, +{quiet['innocuous']} innocuous "
                     "units, all safe under the map; --verbose lists them)")
    lines.append("")
    for name in ("theorem1", "theorem3", "theorem2"):
        t = r.theorems[name]
        lines.append(f"  {_THEOREM_TITLE[name]} ({t.statement}): {_STATUS[t.status]}")
        if t.violators:
            lines.append(f"    violated by: {', '.join(t.violators)}")
            for uid in t.violators[:8]:
                w = _first_witness(r, uid, name)
                if w:
                    lines.append(f"      {uid}: {w}")
        if t.undecided:
            lines.append(f"    undecided (solver timeout): {', '.join(t.undecided)}")
        if t.detail:
            lines.append(f"    {t.detail}")
    lines.append("  These are sufficient conditions (Popek & Goldberg 1974), not necessary ones.")
    if r.disagreements:
        lines.append("")
        lines.append("  Where the classes and the trap-or-commute check under the map disagree:")
        for d in r.disagreements:
            lines.append(f"    {d}")
    lines.append("")
    ok = sum(c.ok for c in r.claims)
    lines.append(f"  Claims: {ok}/{len(r.claims)} confirmed")
    for c in r.claims:
        if not c.ok:
            word = "UNDECIDED" if c.status == "undecided" else "FAILED"
            lines.append(f"    {word} {c.path}:{c.line}: claim '{c.name}': {c.message}")
    for e in r.replay_errors:
        lines.append(f"    BACKEND DISAGREEMENT {e}")
    if r.outcome == "undecided":
        und = r.undecided
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in und.items() if v)
        lines.append(f"  UNDECIDED (solver timeout; not a pass, exit 3 unless --allow-unknown): {what}")
    not_cached = r.not_cached
    if not_cached:
        lines.append(f"  Not cached ({len(not_cached)} of {len(r.units)} units; the others are, and a re-run "
                     "solves only these):")
        for uid, why in not_cached.items():
            lines.append(f"    {uid}: {why}")
    return "\n".join(lines)


def _first_witness(r, uid, theorem) -> str:
    u = r.unit(uid)
    user = set(r.spec.user)
    for q in ("control", "mode", "location"):
        for a in u.answers:
            if a.question == q and a.status == YES and (theorem != "theorem3" or set(a.modes) & user):
                return _witness_line(r.spec, a)
    for a in u.answers:
        if a.question == "timing" and a.status == YES:
            return _witness_line(r.spec, a)
    return ""


def _witness_line(spec, a) -> str:
    w = a.witness
    kind = {"control": "control-sensitive", "mode": "mode-sensitive", "location": "location-sensitive",
            "timing": "observes timing state", "placement": "unsafe under the map"}.get(a.question, a.question)
    ops = ", ".join(f"{k}={v}" for k, v in w.operands.items())
    params = (" with " + ", ".join(f"{k}={v:#x}" for k, v in w.params.items())) if w.params else ""
    return f"{kind} in mode {'/'.join(w.modes)}{params} ({ops or 'no operands'}): differs in {', '.join(w.fields)}"


def explain_text(r, uid: str) -> str:
    spec = r.spec
    units = [u for u in r.units if u.id == uid or u.instruction == uid]
    lines = []
    for u in units:
        instr = spec.instructions[u.instruction]
        lines.append(f"{spec.name} {u.id}: {', '.join(u.classes)}   ({instr.path}:{instr.line})")
        if instr.doc:
            lines.append(f"  {instr.doc}")
        lines.append(f"  encoding {instr.encoding.pattern}")
        for a in u.answers:
            lines.append("")
            lines.append(f"  {a.question} [{', '.join(a.modes)}]: {QUESTIONS[a.question]}")
            if a.status == NO:
                lines.append(f"    no — z3 proved the query unsatisfiable ({a.seconds * 1000:.0f} ms): no such state exists")
            elif a.status == UNKNOWN:
                lines.append(f"    UNKNOWN — the solver gave up ({a.reason}); this is not a pass")
            else:
                lines.extend("    " + x for x in _witness_block(spec, a))
        if u.replay_errors:
            lines.append("")
            for e in u.replay_errors:
                lines.append(f"  BACKEND DISAGREEMENT: {e}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _witness_block(spec, a):
    w = a.witness
    out = [f"yes — witness (replayed on the reference interpreter): outcomes {', '.join(w.outcomes)}"]
    if w.operands:
        out.append("operands: " + ", ".join(f"{k}={v:#x}" for k, v in w.operands.items()))
    if w.params:
        out.append("placement: " + ", ".join(f"{k}={v:#x}" for k, v in w.params.items()))
    labels = {"mode": ["state 1", "state 2"], "timing": ["state 1", "state 2"]}.get(a.question, ["state"])
    for label, st in zip(labels, w.states):
        regs = ", ".join(f"{k}={_reg(spec, k, v)}" for k, v in st["regs"].items())
        out.append(f"{label}: {regs}")
        for f, vals in st["files"].items():
            nz = [f"{f}[{i}]={v:#x}" for i, v in enumerate(vals) if v]
            if nz:
                out.append("  " + ", ".join(nz[:16]) + (" ..." if len(nz) > 16 else ""))
        mem = st["mem"]
        if mem or st["mem_default"]:
            cells = [f"[{int(k):#x}]={v:#x}" for k, v in list(mem.items())[:12]]
            out.append(f"  memory (default {st['mem_default']:#x}): " + (", ".join(cells) or "all default")
                       + (" ..." if len(mem) > 12 else ""))
    if w.fields:
        out.append(f"differs in: {', '.join(w.fields)}")
    return out


def _reg(spec, name, v):
    if name == "mode":
        return spec.mode_name(v)
    return f"{v:#x}"


# ------------------------------------------------------------ failures, for the CI faces
#
# The pytest plugin, JUnit, SARIF and GitHub annotations all say the same thing about a
# failure: where it is (the claim's or instruction's line), what was expected and derived,
# and the evidence (witness states, or the unsat proofs, or the timeouts) behind the verdict.

# property -> (questions that decide it, which modes count: None = all, "user", "supervisor")
_DECIDED_BY = {
    "privileged": (("runs_in_user", "runs_in_supervisor"), None),
    "control_sensitive": (("control",), None),
    "mode_sensitive": (("mode",), None),
    "location_sensitive": (("location",), None),
    "sensitive": (("control", "mode", "location"), None),
    "user_sensitive": (("control", "location"), "user"),
    "safe_supervisor": (("placement",), "supervisor"),
    "safe_user": (("placement",), "user"),
    "timing": (("timing",), None),
}
_WORD = {YES: "yes", NO: "no", UNKNOWN: "unknown"}
_HOLDS = {YES: "holds", NO: "fails", UNKNOWN: "unknown (solver timeout or backend disagreement)"}
_MAX_UNITS = 3  # evidence shown for at most this many units of a variant claim


def display_path(path, base=None) -> str:
    """``path`` relative to ``base`` (default: the working directory) when it lies below it."""
    import os
    from pathlib import Path

    p = Path(path)
    try:
        return Path(os.path.abspath(p)).relative_to(Path(os.path.abspath(base or os.getcwd()))).as_posix()
    except ValueError:
        return str(p)


def _value(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def instruction_location(spec, uid: str, base=None) -> str:
    instr = spec.instructions[uid.partition(".")[0]]
    return f"{display_path(instr.path, base)}:{instr.line}"


def evidence_lines(spec, unit, prop: str) -> list:
    """The answers behind ``unit.props[prop]``: witnesses for yes, proofs for no, timeouts for unknown."""
    questions, modes = _DECIDED_BY[prop]
    user = set(spec.user)
    if prop == "privileged" and unit.props.get(prop) == NO and any(
            a.question == "runs_in_user" and a.status == YES for a in unit.answers):
        questions = ("runs_in_user",)  # it runs in user mode: that alone makes it unprivileged

    def counts(a):
        if modes is None:
            return True
        return bool(set(a.modes) & user) == (modes == "user")

    relevant = [a for a in unit.answers if a.question in questions and counts(a)]
    out, proved = [], []
    for a in relevant:
        head = f"{a.question} [{', '.join(a.modes)}]"
        if a.status == YES:
            out.append(f"{head}: {QUESTIONS[a.question]}")
            out.extend("  " + x for x in _witness_block(spec, a))
        elif a.status == UNKNOWN:
            out.append(f"{head}: UNKNOWN, the solver gave up ({a.reason or 'no reason given'}); not a pass")
        else:
            proved.append(head)
    if proved:
        out.append(f"no (z3 proved unsatisfiable): {', '.join(proved)}")
    for e in unit.replay_errors:
        out.append(f"BACKEND DISAGREEMENT {e}")
    return out


def claim_failure_text(r, claim, base=None) -> str:
    """Why one claim failed, several lines: the message, expected vs derived, and the evidence."""
    spec = r.spec
    lines = [f"{display_path(claim.path, base)}:{claim.line}: claim '{claim.name}' does not hold: {claim.message}"]
    if claim.name in r.theorems:  # {"holds": bool[, "violators"]} vs {"holds": yes/no/unknown[, "violators"]}
        lines.append(f"  expected: {'holds' if claim.expected['holds'] else 'fails'}"
                     + _violator_list(claim.expected))
        lines.append(f"  derived:  {_HOLDS[claim.derived['holds']]}" + _violator_list(claim.derived))
    else:
        lines.append("  expected: " + ", ".join(f"{k} = {_value(v)}" for k, v in claim.expected.items()))
        lines.append("  derived:  " + ", ".join(f"{k} = {_WORD.get(v, v)}" for k, v in claim.derived.items()))
    if claim.source:
        cite = (spec.references.get(claim.source) or {}).get("cite")
        lines.append(f"  source: {claim.source}" + (f" ({cite})" if cite else ""))
    if claim.name in r.theorems:
        t = r.theorems[claim.name]
        lines.append(f"  {_THEOREM_TITLE[claim.name]}: {t.statement}: {_STATUS[t.status]}")
        if t.violators:
            lines.append("  violated by:")
            for uid in t.violators[:8]:
                w = _first_witness(r, uid, claim.name) or "(see vverify explain)"
                lines.append(f"    {uid} ({instruction_location(spec, uid, base)}): {w}")
        if t.undecided:
            lines.append(f"  undecided (solver timeout or backend disagreement): {', '.join(t.undecided)}")
        if not t.violators and not t.undecided:
            lines.append("  no unit violates it: every query behind it was answered and none found a violator")
        return "\n".join(lines)
    units = [u for u in r.units if u.id == claim.name or (u.instruction == claim.name and u.member is not None)]
    wanted = {k: (YES if v else NO) for k, v in claim.expected.items()}
    for prop, want in wanted.items():
        bad = [u for u in units if u.props[prop] != want]
        for u in bad[:_MAX_UNITS]:
            lines.append(f"  {prop} of {u.id} ({instruction_location(spec, u.id, base)}) is {u.props[prop]}:")
            lines.extend("    " + x for x in evidence_lines(spec, u, prop))
        if len(bad) > _MAX_UNITS:
            lines.append(f"  ... and {len(bad) - _MAX_UNITS} more units of {claim.name}")
    return "\n".join(lines)


def _violator_list(side: dict) -> str:
    if "violators" not in side:
        return ""
    return ", violated by exactly: " + (", ".join(side["violators"]) or "none")


def unit_problems(unit) -> list:
    """What makes a unit's verdicts untrustworthy: unknown answers and witnesses that do not replay."""
    out = [f"{a.question} [{', '.join(a.modes)}]: UNKNOWN, the solver gave up ({a.reason or 'no reason given'})"
           for a in unit.answers if a.status == UNKNOWN]
    out += [f"BACKEND DISAGREEMENT {e}" for e in unit.replay_errors]
    return out


def unit_failure_text(r, unit, base=None) -> str:
    """Why a unit's verdicts cannot be relied on (empty when they can)."""
    problems = unit_problems(unit)
    if not problems:
        return ""
    what = []
    if any(a.status == UNKNOWN for a in unit.answers):
        what.append("rest on unknown answers (solver timeout; never read as a pass)")
    if unit.replay_errors:
        what.append("have a witness the reference interpreter does not reproduce")
    lines = [f"{instruction_location(r.spec, unit.id, base)}: instruction '{unit.id}': its verdicts "
             + " and ".join(what)]
    lines.append("  verdicts: " + ", ".join(f"{k} = {v}" for k, v in unit.props.items()))
    lines.extend("  " + p for p in problems)
    return "\n".join(lines)
