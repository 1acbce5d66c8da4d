"""Text rendering of check reports for people (JSON is for machines)."""

from __future__ import annotations

from ..check.explain import view
from ..errors import printable
from ..vocabulary import NO, UNKNOWN, YES, question_text

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
            # Theorem 2's violators are Theorem 1's (its first condition), whose reasons are above, and
            # the units that observe timing state
            shown_above = set(r.theorems["theorem1"].violators) if name == "theorem2" else set()
            both = len(shown_above & set(t.violators))
            if both == len(t.violators):
                lines.append("      reasons: as under Theorem 1, above")
            elif both:
                lines.append(f"      {both} of them: as under Theorem 1, above; the others observe timing state:")
            for uid in t.violators:
                if uid not in shown_above:
                    lines.append(f"      {uid}: {_first_witness(r, uid, name) or _NO_WITNESS}")
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
    if verbose:
        lines.extend(solver_times(r))
    not_cached = r.not_cached
    if not_cached:
        lines.append(f"  Not cached ({len(not_cached)} of {len(r.units)} units; the others are, and a re-run "
                     "solves only these):")
        for uid, why in not_cached.items():
            lines.append(f"    {uid}: {why}")
    return "\n".join(lines)


_NO_WITNESS = "(no witness to show: see vverify explain)"


def _evidence(r, uid, theorem):
    """The answer that makes unit ``uid`` violate ``theorem``, or None.

    Theorem 1 (and 2): sensitivity, a witness of the control, mode or
    location question; else, for Theorem 2, one of timing.  Theorem 3:
    user-sensitivity, which only the control and location questions in a
    user mode show (docs/theory.md: mode-sensitivity does not count, a hybrid
    VMM runs virtual user code in real user mode), so the evidence is such a
    witness and never the mode question's.
    """
    u = r.unit(uid)
    user = set(r.spec.user)
    asked = ("control", "location") if theorem == "theorem3" else ("control", "mode", "location")
    for q in asked:
        for a in u.answers:
            if a.question == q and a.status == YES and (theorem != "theorem3" or set(a.modes) & user):
                return a
    if theorem == "theorem2":
        for a in u.answers:
            if a.question == "timing" and a.status == YES:
                return a
    return None


def solver_times(r) -> list:
    """Lines of the seconds the solver spent per unit, slowest first, and per question (``--verbose``).

    A unit whose verdicts came from the proof cache was not solved in this
    run: it is named as cached, with no time (its stored one is another run's).
    """
    solved = [u for u in r.units if u.id not in r.cached_ids]
    cached = [u.id for u in r.units if u.id in r.cached_ids]
    lines = ["", f"  Solver time per unit, slowest first ({len(solved)} solved in this run):"]
    if solved:
        width = max(len(u.id) for u in solved)
        for u in sorted(solved, key=lambda u: -r.solver_seconds(u)):
            per = ", ".join(f"{a.question}[{','.join(a.modes)}] {a.seconds:.2f}"
                            + ("" if a.status != UNKNOWN else " (timeout)") for a in u.answers)
            lines.append(f"    {u.id:<{width}}  {r.solver_seconds(u):7.2f} s   {per}")
    if cached:
        lines.append(f"    from the proof cache, not solved in this run ({len(cached)}): {', '.join(cached)}")
    return lines


def _first_witness(r, uid, theorem) -> str:
    a = _evidence(r, uid, theorem)
    return _witness_line(r.spec, r.unit(uid).instruction, a) if a is not None else ""


_KIND = {"control": "control-sensitive", "mode": "mode-sensitive", "location": "location-sensitive",
         "timing": "observes timing state", "placement": "unsafe under the map"}
_SHOWN_IN_A_LINE = 2  # differences a one-line reason spells out; the rest are counted


def _witness_line(spec, instruction, a) -> str:
    """One line: what the witness shows, where, and what differs after the instruction, with both values."""
    w = a.witness
    kind = _KIND.get(a.question, a.question)
    ops = ", ".join(f"{k}={v}" for k, v in w.operands.items())
    params = (" with " + ", ".join(f"{k}={v:#x}" for k, v in w.params.items())) if w.params else ""
    v = view(spec, instruction, w)
    if v is None or not v.differences:
        what = ", ".join(w.fields)
    else:
        shown = [_difference(spec, v, d) for d in v.differences[:_SHOWN_IN_A_LINE]]
        rest = len(v.differences) - _SHOWN_IN_A_LINE + v.more
        what = ", ".join(f"{name} ({values})" for name, values in shown) + (f", +{rest} more" if rest > 0 else "")
    return f"{kind} in mode {'/'.join(w.modes)}{params} ({ops or 'no operands'}): differs in {what}"


def _shown(spec, register, v) -> str:
    if isinstance(v, str):
        return v
    return _reg(spec, register, v) if register else f"{v:#x}"


def _difference(spec, v, d) -> tuple:
    """``(field, "native 0x0, relocated 0xffff")``: a difference with both sides named."""
    a, b = v.labels
    return d.name, f"{a} {_shown(spec, d.register, d.a)}, {b} {_shown(spec, d.register, d.b)}"


def explain_text(r, uid: str, full: bool = False) -> str:
    """Every question asked of ``uid`` (an instruction or one unit of it), with the witness or proof
    behind each answer.  A witness's states show the fields its runs read or write, those the question
    reads and those that differ (``full``: every field), and after them what differs once the
    instruction ran, with both values."""
    spec = r.spec
    units = [u for u in r.units if u.id == uid or u.instruction == uid]
    params = list(spec.virtualization.params) if spec.virtualization else []
    lines = []
    for u in units:
        instr = spec.instructions[u.instruction]
        cached = u.id in r.cached_ids
        lines.append(f"{spec.name} {u.id}: {', '.join(u.classes)}   ({instr.path}:{instr.line})")
        if instr.doc:
            lines.append(f"  {instr.doc}")
        lines.append(f"  encoding {instr.encoding.pattern}")
        why: dict = {}  # reason -> the theorems it makes this unit violate (one line when they share it)
        for name in ("theorem1", "theorem3", "theorem2"):
            if u.id in r.theorems[name].violators:
                why.setdefault(_first_witness(r, u.id, name) or _NO_WITNESS, []).append(_THEOREM_TITLE[name])
        for reason, names in why.items():
            lines.append(f"  violates {', '.join(names)}: {reason}")
        if cached:
            lines.append("  (verdicts from the proof cache: proved in an earlier run, witnesses replayed now)")
        for a in u.answers:
            lines.append("")
            lines.append(f"  {a.question} [{', '.join(a.modes)}]: {question_text(a.question, params)}")
            if a.status == NO:
                when = "from the proof cache" if cached else f"{a.seconds * 1000:.0f} ms"
                lines.append(f"    no — z3 proved the query unsatisfiable ({when}): no such state exists")
            elif a.status == UNKNOWN:
                lines.append(f"    UNKNOWN — the solver gave up ({a.reason}); this is not a pass")
            else:
                lines.extend("    " + x for x in _witness_block(spec, u.instruction, a, full))
        if u.replay_errors:
            lines.append("")
            for e in u.replay_errors:
                lines.append(f"  BACKEND DISAGREEMENT: {e}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _witness_block(spec, instruction, a, full=False):
    """A witness, in lines: operands, the map's parameters, the state(s) before (the fields that matter,
    or every one with ``full``), each run's outcome, and what differs after the instruction."""
    w = a.witness
    v = view(spec, instruction, w)
    out = ["yes — witness (replayed on the reference interpreter)"]
    if w.operands:
        out.append("operands: " + ", ".join(f"{k}={x:#x}" for k, x in w.operands.items()))
    if w.params:
        out.append("map parameters: " + ", ".join(f"{k}={x:#x}" for k, x in w.params.items()))
    if v is None or full:
        out.extend(_full_states(spec, w))
    else:
        out.extend(_compact_states(spec, w, v))
    if v is None:
        out.append(f"outcomes: {', '.join(w.outcomes)}")
        if w.fields:
            out.append(f"differs in: {', '.join(w.fields)} (the interpreter could not re-run the witness)")
        return out
    if len(v.outcomes) == 2:
        out.append(f"outcomes: {v.labels[0]} {v.outcomes[0]}, {v.labels[1]} {v.outcomes[1]}")
    else:
        out.append(f"outcome: {v.outcomes[0]}")
    if v.differences:
        out.append("differs in, after the instruction:")
        out.extend(f"  {name}: {values}" for name, values in (_difference(spec, v, d) for d in v.differences))
        if v.more:
            out.append(f"  +{v.more} more memory units")
    return out


def _state_labels(question):
    return ["state 1", "state 2"] if question in ("mode", "timing") else ["state"]


def _compact_states(spec, w, v):
    """The state(s) by the fields that matter: one line each; a second state by what it changes."""
    out = []
    first = None
    for label, st in zip(_state_labels(w.question), w.states):
        fields = _fields_of(spec, st, v)
        if first is None:
            out.append(f"{label}: " + (", ".join(f"{k}={x}" for k, x in fields) or "(no field matters)"))
            first = dict(fields)
        else:
            changed = [(k, x) for k, x in fields if first.get(k) != x]
            out.append(f"{label}: as state 1 but " + (", ".join(f"{k}={x}" for k, x in changed) or "nothing shown"))
    return out


def _fields_of(spec, st, v) -> list:
    """``[(name, value)]`` of state ``st`` for the registers, file entries and memory units in ``v``."""
    out = [(k, _reg(spec, k, st["regs"][k])) for k in v.registers if k in st["regs"]]
    for f, idxs in v.entries.items():
        out += [(f"{f}[{i}]", f"{st['files'][f][i]:#x}") for i in idxs if i < len(st["files"].get(f, ()))]
    out += _memory_runs([(m, st["mem"].get(str(m), st["mem_default"])) for m in v.cells])
    return out


def _memory_runs(cells) -> list:
    """``[(address, value)]`` (sorted) as ``memory[a]=v`` or, for consecutive units, ``memory[a..b]=v v v``."""
    out, run = [], []
    for m, x in cells + [(None, None)]:
        if run and (m is None or m != run[-1][0] + 1):
            if len(run) == 1:
                out.append((f"memory[{run[0][0]:#x}]", f"{run[0][1]:#x}"))
            else:
                out.append((f"memory[{run[0][0]:#x}..{run[-1][0]:#x}]", " ".join(f"{y:#x}" for _, y in run)))
            run = []
        if m is not None:
            run.append((m, x))
    return out


def _full_states(spec, w):
    out = []
    for label, st in zip(_state_labels(w.question), w.states):
        regs = ", ".join(f"{k}={_reg(spec, k, x)}" for k, x in st["regs"].items())
        out.append(f"{label}: {regs}")
        for f, vals in st["files"].items():
            nz = [f"{f}[{i}]={x:#x}" for i, x in enumerate(vals) if x]
            if nz:
                out.append("  " + ", ".join(nz[:16]) + (" ..." if len(nz) > 16 else ""))
        mem = st["mem"]
        if mem or st["mem_default"]:
            cells = [f"[{int(k):#x}]={x:#x}" for k, x in list(mem.items())[:12]]
            out.append(f"  memory (default {st['mem_default']:#x}): " + (", ".join(cells) or "all default")
                       + (" ..." if len(mem) > 12 else ""))
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
    params = list(spec.virtualization.params) if spec.virtualization else []
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
            out.append(f"{head}: {question_text(a.question, params)}")
            out.extend("  " + x for x in _witness_block(spec, unit.instruction, a))
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
            for uid in t.violators:
                w = _first_witness(r, uid, claim.name) or _NO_WITNESS
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
