"""Every rule the loader and the semantics compiler enforce is listed in docs/spec-format.md.

The rules are read from the code itself: every message the loader
(vverify/spec/loader.py), the semantics compiler (semantics.py) and the
encoding parser (encoding.py) can give, as the f-string it is written as.
Each must match a message in the "Rules" section of the reference, and each
message there must be one the code gives, so the list is complete and has
nothing stale.  (Messages are compared as patterns: an f-string's
placeholders match any text, so the page shows them with example values.)
"""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

MODULES = [ROOT / "vverify" / "spec" / n for n in ("loader.py", "semantics.py", "encoding.py")]
# the calls that carry a message, and the position of the message among their arguments
CALLS = {"fail": 2, "_fail": 1, "SpecError": 3, "EncodingError": 0, "_ExcludeError": 1, "_too_big": 1}
WHOLE = ".+?"  # what a placeholder matches


def _patterns(node, consts) -> list:
    """The regular expressions of the messages ``node`` can evaluate to ([] when it is not a message)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.JoinedStr):
        return ["".join(re.escape(v.value) if isinstance(v, ast.Constant) else WHOLE for v in node.values)]
    if isinstance(node, ast.Name) and node.id in consts:
        return _patterns(consts[node.id], consts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _patterns(node.left, consts) for b in _patterns(node.right, consts)]
    if isinstance(node, ast.IfExp):
        return _patterns(node.body, consts) + _patterns(node.orelse, consts)
    return []


def code_messages() -> dict:
    """pattern -> where in the code it is given."""
    out = {}
    for path in MODULES:
        tree = ast.parse(path.read_text())
        consts = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                  if isinstance(t, ast.Name)}
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
                k = CALLS.get(name)
                if k is not None and len(node.args) > k:
                    found += [(p, node.lineno) for p in _patterns(node.args[k], consts)]
            if isinstance(node, ast.FunctionDef) and node.name in ("_validate", "_selects_nothing"):
                # the schema's messages (assigned to msg), and why a claim selects nothing (returned)
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "msg" for t in sub.targets):
                        found += [(p, sub.lineno) for p in _patterns(sub.value, consts)]
                    if isinstance(sub, ast.Return) and sub.value is not None:
                        found += [(p, sub.lineno) for p in _patterns(sub.value, consts)]
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_FORBIDDEN_STMT"
                                                    for t in node.targets):
                found += [(p, v.lineno) for v in node.value.values for p in _patterns(v, consts)]
        if path.name == "encoding.py":  # the loader gives these after the key they are about
            found = [(r"(?:encoding|exclude):\ " + p, line) for p, line in found]
        for p, line in found:
            if p.replace(WHOLE, ""):  # a message that is all placeholder (a wrapped error's text) says nothing
                out.setdefault(p, f"{path.name}:{line}")
    return out


def documented() -> list:
    """The messages the Rules section lists: the code span in the last cell of each table row."""
    text = (ROOT / "docs" / "spec-format.md").read_text()
    section = text.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| rule"):
            continue
        cell = line.rstrip().rstrip("|").rsplit(" | ", 1)[-1].strip()
        m = re.fullmatch(r"(`+)(.+?)\1", cell)  # a code span: delimited by equal runs of backticks
        assert m, f"a row of the Rules section whose message is not one code span: {line}"
        text = m.group(2)
        if text.startswith(" ") and text.endswith(" ") and text.strip():  # CommonMark strips one space each side
            text = text[1:-1]
        out.append(text.replace("\\|", "|"))  # a pipe inside a table cell is written \|
    return out


def test_the_messages_are_found_in_the_code():
    assert len(code_messages()) > 150


def test_every_rule_the_code_enforces_is_documented():
    docs = documented()
    missing = [f"{where}: {p}" for p, where in code_messages().items()
               if not any(re.fullmatch(p, d) for d in docs)]
    assert not missing, "not in docs/spec-format.md's Rules section:\n" + "\n".join(missing)


def test_every_documented_rule_is_one_the_code_enforces():
    patterns = list(code_messages())
    stale = [d for d in documented() if not any(re.fullmatch(p, d) for p in patterns)]
    assert not stale, "docs/spec-format.md lists messages the code does not give:\n" + "\n".join(stale)
