"""Report formats for ``vverify check --format``: text, json, junit, sarif, github.

Each formatter turns the whole run (one :class:`~vverify.check.run.SpecReport`
per spec, or a :class:`BadSpec` for a spec that did not load) into one
string, so the CLI can write it in one atomic step: a CI job never uploads
half a report.  Paths are written relative to ``base`` (the working
directory), which is what code-scanning and annotation consumers resolve
against the checkout.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote

from ..check.verdicts import UNDECIDED
from ..vocabulary import NO, UNKNOWN, YES
from ..errors import printable as one_line
from .text import (claim_failure_text, display_path, report_text, unit_failure_text, unit_problems)

FORMATS = ("text", "json", "junit", "sarif", "github")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_HOLDS = {YES: "holds", NO: "fails", UNKNOWN: "unknown"}
_TITLE = {"theorem1": "Theorem 1", "theorem2": "Theorem 2", "theorem3": "Theorem 3"}


@dataclass
class BadSpec:
    """A spec that could not be loaded: reported as one error at its line."""

    path: str
    line: int
    message: str  # the SpecError's one line

    @classmethod
    def from_error(cls, path, err):
        return cls(str(err.path or path), err.line, one_line(err.one_line()))


def render(fmt: str, entries: list, *, status: int, verbose: bool = False, base=None,
           allow_unknown: bool = False) -> str:
    """The whole run as one report.  ``status`` is the exit status; ``allow_unknown`` (the user's
    ``--allow-unknown``) turns what is only undecided from a failure into a warning or a skip, so the
    report agrees with the exit status."""
    return {"text": text, "json": to_json, "junit": junit, "sarif": sarif, "github": github}[fmt](
        entries, status=status, verbose=verbose, base=base, allow_unknown=allow_unknown)


# ------------------------------------------------------------------ text, json


def text(entries, *, status, verbose=False, base=None, allow_unknown=False) -> str:
    parts = []
    for e in entries:
        parts.append(f"vverify: {e.message}" if isinstance(e, BadSpec) else report_text(e, verbose=verbose))
        parts.append("")
    return "\n".join(parts) + ("\n" if parts else "")


def to_json(entries, *, status, verbose=False, base=None, allow_unknown=False) -> str:
    reports = [{"path": e.path, "error": e.message} if isinstance(e, BadSpec) else e.to_dict() for e in entries]
    return json.dumps({"reports": reports, "exit": status, "allow_unknown": allow_unknown}, indent=2) + "\n"


# ------------------------------------------------------------------ findings
#
# JUnit, SARIF and GitHub annotations share one list of findings: what failed, where, how badly.


@dataclass
class Finding:
    rule: str  # a SARIF rule id
    level: str  # error | warning
    path: str
    line: int
    title: str
    message: str  # one line
    detail: str = ""  # further lines: expected vs derived, the evidence

    @property
    def full(self) -> str:
        return f"{self.message}\n{self.detail}" if self.detail else self.message


def _rest(text: str) -> str:
    """The lines after the first (which repeats the location the finding already carries)."""
    return text.partition("\n")[2]


RULES = {
    "claim-failed": ("ClaimFailed", "error", "An instruction claim of the spec does not hold.",
                     "The verdict vverify derived for an instruction (privileged, sensitive, safe under the map...) "
                     "differs from the spec's claim, or is unknown. The message shows the expected and derived "
                     "verdicts and the witness states or proofs behind them."),
    "theorem-failed": ("TheoremFailed", "error", "A Popek & Goldberg theorem does not come out as claimed.",
                       "A theorem claim of the spec (theorem1, theorem2, theorem3) does not hold, or a theorem the "
                       "spec makes no claim about fails or is undecided. The violating instructions are named with "
                       "witnesses. The theorems are sufficient conditions, not necessary ones."),
    "backend-disagreement": ("BackendDisagreement", "error", "A solver witness does not replay on the reference "
                             "interpreter.",
                             "z3 and the reference interpreter disagree about the spec's semantics, so none of the "
                             "instruction's verdicts can be trusted."),
    "unknown-verdict": ("UnknownVerdict", "error", "A solver query timed out.",
                        "At least one question about the instruction was not answered (solver timeout). An unknown "
                        "answer is never read as a pass: the run exits 3 (a warning only under --allow-unknown); "
                        "raise --timeout or simplify the semantics."),
    "spec-error": ("SpecError", "error", "The spec file does not load.",
                   "The spec failed schema or semantic validation; nothing in it was checked."),
}


def findings(entries, base=None, allow_unknown=False) -> list:
    """What failed, where: a refuted claim or a backend disagreement is an error; what is only undecided
    (solver timeouts) is an error too, since it fails the gate, unless the user allowed unknowns."""
    undecided_level = "warning" if allow_unknown else "error"
    out = []
    for e in entries:
        if isinstance(e, BadSpec):
            out.append(Finding("spec-error", "error", display_path(e.path, base), e.line, "spec does not load",
                               e.message))
            continue
        spec = e.spec
        claimed = set()
        for c in e.claims:
            claimed.add(c.name)
            if c.ok:
                continue
            theorem = c.name in e.theorems
            level = undecided_level if c.status == UNDECIDED else "error"
            out.append(Finding("theorem-failed" if theorem else "claim-failed", level, display_path(c.path, base),
                               c.line, f"{spec.name}: claim {c.name} does not hold", f"claim '{c.name}': {c.message}",
                               _rest(claim_failure_text(e, c, base))))
        for name, t in e.theorems.items():
            if name in claimed or t.status == YES:
                continue
            first = (t.violators or t.undecided)[0]
            instr = spec.instructions[first.partition(".")[0]]
            what = "fails" if t.status == NO else "is undecided (solver timeout)"
            msg = (f"{_TITLE[name]} ({t.statement}) {what}; "
                   + (f"violators: {', '.join(t.violators)}" if t.violators else f"undecided: {', '.join(t.undecided)}")
                   + "; the spec makes no claim about it")
            # a theorem nobody claimed that fails is a fact about the ISA; one that is undecided fails the gate
            level = undecided_level if t.status == UNKNOWN else "warning"
            out.append(Finding("theorem-failed", level, display_path(instr.path, base), instr.line,
                               f"{spec.name}: {_TITLE[name]} {_HOLDS[t.status]}", msg))
        for u in e.units:
            instr = spec.instructions[u.instruction]
            where = display_path(instr.path, base)
            if u.replay_errors:
                out.append(Finding("backend-disagreement", "error", where, instr.line,
                                   f"{spec.name}: backend disagreement on {u.id}",
                                   f"{u.id}: " + "; ".join(u.replay_errors), _rest(unit_failure_text(e, u, base))))
            unknown = [p for p in unit_problems(u) if "UNKNOWN" in p]
            if unknown:
                out.append(Finding("unknown-verdict", undecided_level, where, instr.line,
                                   f"{spec.name}: unknown verdict for {u.id}",
                                   f"{u.id}: " + "; ".join(unknown), _rest(unit_failure_text(e, u, base))))
    return out


# ------------------------------------------------------------------ junit


def junit(entries, *, status, verbose=False, base=None, allow_unknown=False) -> str:
    """One testsuite per spec; one testcase per claim and per classified unit.

    What is only undecided (a solver timeout) is a failure, or a skipped test
    under ``--allow-unknown``: never a pass.
    """
    root = ET.Element("testsuites", name="vverify")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for e in entries:
        if isinstance(e, BadSpec):
            path = display_path(e.path, base)
            suite = ET.SubElement(root, "testsuite", name=path, file=path)
            case = ET.SubElement(suite, "testcase", classname=path, name="load", file=path, line=str(e.line))
            ET.SubElement(case, "error", message=e.message, type="spec-error").text = e.message
            _count(suite, totals, tests=1, failures=0, errors=1, skipped=0, seconds=0.0)
            continue
        spec = e.spec
        path = display_path(spec.path, base)
        suite = ET.SubElement(root, "testsuite", name=spec.name, file=path)
        props = ET.SubElement(suite, "properties")
        for k, t in e.theorems.items():
            ET.SubElement(props, "property", name=k, value=_HOLDS[t.status])
        for k, v in sorted(e.versions.items()):
            ET.SubElement(props, "property", name=f"version.{k}", value=str(v))
        failures = skipped = 0
        for c in e.claims:
            case = ET.SubElement(suite, "testcase", classname=f"{spec.name}.claim", name=c.name,
                                 file=display_path(c.path, base), line=str(c.line), time="0")
            if c.ok:
                continue
            kind = "theorem" if c.name in e.theorems else "claim"
            if c.status == UNDECIDED and allow_unknown:
                skipped += 1
                ET.SubElement(case, "skipped", message=f"undecided (solver timeout), allowed: {c.message}")
            else:
                failures += 1
                f = ET.SubElement(case, "failure", message=c.message,
                                  type=f"{kind}-undecided" if c.status == UNDECIDED else f"{kind}-failed")
                f.text = claim_failure_text(e, c, base)
        for u in e.units:
            instr = spec.instructions[u.instruction]
            case = ET.SubElement(suite, "testcase", classname=f"{spec.name}.instr", name=u.id,
                                 file=display_path(instr.path, base), line=str(instr.line), time="0")
            problems = unit_problems(u)
            if not problems:
                continue
            message = f"{u.id}: " + "; ".join(problems)
            if allow_unknown and not u.replay_errors:
                skipped += 1
                ET.SubElement(case, "skipped", message=f"undecided (solver timeout), allowed: {message}")
            else:
                failures += 1
                kind = "backend-disagreement" if u.replay_errors else "unknown-verdict"
                f = ET.SubElement(case, "failure", message=message, type=kind)
                f.text = unit_failure_text(e, u, base)
        _count(suite, totals, tests=len(e.claims) + len(e.units), failures=failures, errors=0, skipped=skipped,
               seconds=e.seconds)
    for k, v in totals.items():
        root.set(k, str(v))
    xml_safe_tree(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _count(suite, totals, *, tests, failures, errors, skipped, seconds):
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{seconds:.3f}")
    totals["tests"] += tests
    totals["failures"] += failures
    totals["errors"] += errors
    totals["skipped"] += skipped


# XML 1.0 allows only these characters (its production Char); a NUL or an ESC from a TOML escape
# in a name, note or doc would make the whole report unreadable to every JUnit consumer.
_XML_BAD = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(s: str) -> str:
    """``s`` with every character XML 1.0 forbids written as its Python escape (``\\x00``, ``\\ufffe``)."""
    return _XML_BAD.sub(lambda m: repr(m.group())[1:-1], s)


def xml_safe_tree(root) -> None:
    """Make every string of an ElementTree (tags, attributes, text, tails) XML 1.0 text, in place."""
    for el in root.iter():
        for attr in (k for k in ("text", "tail") if getattr(el, k)):
            setattr(el, attr, xml_safe(getattr(el, attr)))
        el.attrib = {xml_safe(k): xml_safe(v) for k, v in el.attrib.items()}


# ------------------------------------------------------------------ sarif


def _uri(path: str) -> dict:
    """A SARIF artifactLocation: relative to the source root when possible, else a file: URI."""
    from pathlib import Path

    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def sarif(entries, *, status, verbose=False, base=None, allow_unknown=False) -> str:
    """SARIF 2.1.0: one run of vverify, a result per finding, located at the claim or instruction line."""
    from pathlib import Path

    import vverify

    rule_ids = list(RULES)
    rules = []
    for rid in rule_ids:
        name, level, short, full = RULES[rid]
        rules.append({"id": rid, "name": name, "shortDescription": {"text": short},
                      "fullDescription": {"text": full}, "defaultConfiguration": {"level": level}})
    results = []
    for f in findings(entries, base, allow_unknown):
        loc = {"artifactLocation": _uri(f.path)}
        if f.line > 0:
            loc["region"] = {"startLine": f.line}
        results.append({
            "ruleId": f.rule, "ruleIndex": rule_ids.index(f.rule), "level": f.level,
            "message": {"text": f.full},
            "locations": [{"physicalLocation": loc}],
        })
    srcroot = Path(base) if base else Path.cwd()
    run = {
        "tool": {"driver": {"name": "vverify", "version": vverify.__version__, "semanticVersion": vverify.__version__,
                            "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": srcroot.resolve().as_uri() + "/"}},
        # the run itself succeeded: a failed claim or a bad spec is a result, not a crash
        "invocations": [{"executionSuccessful": True, "exitCode": status}],
        "results": results,
        "properties": {"specs": [_spec_summary(e, base) for e in entries], "allowUnknown": allow_unknown},
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _spec_summary(e, base):
    if isinstance(e, BadSpec):
        return {"path": display_path(e.path, base), "error": e.message}
    return {"spec": e.spec.name, "path": display_path(e.spec.path, base), "ok": e.ok, "outcome": e.outcome,
            "theorems": {k: t.status for k, t in e.theorems.items()},
            "claims": {"confirmed": sum(c.ok for c in e.claims), "total": len(e.claims)}}


# ------------------------------------------------------------------ github


# GitHub's escapes for workflow commands: % CR LF in the message, and also : , in properties.  Any
# other control character or line separator (NUL, ESC, VT, U+2028...) is shown as its Python escape,
# so an annotation stays one line of plain text whatever the spec's names and paths hold.
_GH_OTHER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _data(s: str) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _GH_OTHER.sub(lambda m: repr(m.group())[1:-1], s)


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def github(entries, *, status, verbose=False, base=None, allow_unknown=False) -> str:
    """GitHub Actions workflow commands: an annotation per finding, a notice per spec."""
    lines = []
    for f in findings(entries, base, allow_unknown):
        loc = f"file={_prop(f.path)}" + (f",line={f.line}" if f.line > 0 else "")
        lines.append(f"::{f.level} {loc},title={_prop(f.title)}::{_data(f.full)}")
    for e in entries:
        if isinstance(e, BadSpec):
            continue
        t = e.theorems
        ok = sum(c.ok for c in e.claims)
        summary = (f"{e.spec.name}: {ok}/{len(e.claims)} claims confirmed; "
                   + ", ".join(f"{_TITLE[k]} {_HOLDS[t[k].status]}" for k in ("theorem1", "theorem3", "theorem2"))
                   + f"; {len(e.units)} units, {'cached' if e.cached else 'solved'} in {e.seconds:.2f} s"
                   + ("; UNDECIDED (solver timeouts): not a pass" if e.outcome == "undecided" else ""))
        lines.append(f"::notice file={_prop(display_path(e.spec.path, base))},title={_prop('vverify ' + e.spec.name)}"
                     f"::{_data(summary)}")
    return "\n".join(lines) + ("\n" if lines else "")
