"""Mutation test of the spec loader: broken specs give one-line SpecErrors, never crashes.

Every valid spec under ``specs/`` is mutated (lines deleted, duplicated or
swapped, characters replaced, tricky fragments inserted, numbers changed,
identifiers renamed) and loaded.  The loader must either return a Spec or
raise a :class:`~vverify.errors.SpecError` whose text is one line and whose
line number lies inside the file it names.  Any other exception is a bug.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vverify.errors import SpecError
from vverify.spec.loader import load_spec
from vverify.spec.model import Spec

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _valid_specs() -> tuple:
    out, spent = [], 0.0
    for p in sorted(SPECS.rglob("*.toml")):
        t = time.perf_counter()
        try:
            load_spec(p)
        except Exception:  # a spec being edited right now: not a mutation seed
            continue
        spent += time.perf_counter() - t
        out.append(p)
    return out, spent / max(1, len(out))


VALID, _LOAD_SECONDS = _valid_specs()
# about 30 s of loading at most, whatever specs/ holds (a mutant rarely costs more than its seed)
EXAMPLES = max(100, min(600, int(30 / (_LOAD_SECONDS + 0.01))))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in VALID}

FRAGMENTS = [
    "]", "[", '"""', "'''", "= {", "}", "=", "import os", "__import__('os')", "().__class__", "__class__",
    "while True:", "0x", "0x_", "-1", "999999999999999999999", "1e9", "1 << 99999999999", "\u00e9\u00df\u2603",
    "\u2028", "\u0085", "\ufeff", "\t", "\x00", "\\", "\\n", "#", "'", '"', ".", ":", "[x]", "[[x]]",
    "a.b.c = 1", "zext(", "r[", "x[3:0]", "if x:\n", "\n    ", "\n", "for i in range(10**20):",
    "def f():", "lambda: 0", "return", "trap(", "halt()", "inf", "nan", "true", "1979-05-27",
    "{ width = 0 }", "width = -1", "= \"\"\"\n", "extends = \"missing.toml\"", "extends = \".\"",
    "extends = \"pg74.toml\"", "\u0661\u0662", "\u00b2",
]
NUMBERS = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 256, 4095, 4096, 4097,
           -1, 10 ** 6, 2 ** 63, 999999999999999999999]
_NUM = re.compile(r"(?<![A-Za-z0-9_.])[0-9]+(?![A-Za-z0-9_.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@st.composite
def mutation(draw, text: str) -> str:
    """One mutation of ``text``."""
    lines = text.split("\n")
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "insert", "number", "rename"]))
    n = len(lines)
    if kind == "delete":
        i = draw(st.integers(0, n - 1))
        del lines[i]
        return "\n".join(lines)
    if kind == "duplicate":
        i = draw(st.integers(0, n - 1))
        lines.insert(i, lines[i])
        return "\n".join(lines)
    if kind == "swap":
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if kind == "char":
        if not text:
            return text
        pos = draw(st.integers(0, len(text) - 1))
        ch = draw(st.one_of(st.characters(codec="utf-8"), st.sampled_from(list("[]{}=\"'#.:,\\ \t\n0123456789_-"))))
        return text[:pos] + ch + text[pos + 1:]
    if kind == "insert":
        frag = draw(st.sampled_from(FRAGMENTS))
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):  # at the start of a line
            pos = text.rfind("\n", 0, pos) + 1
        return text[:pos] + frag + text[pos:]
    if kind == "number":
        nums = list(_NUM.finditer(text))
        if not nums:
            return text
        m = draw(st.sampled_from(nums))
        new = draw(st.one_of(st.sampled_from(NUMBERS), st.integers(-5, 5000)))
        return text[:m.start()] + str(new) + text[m.end():]
    # rename one occurrence of an identifier
    ids = list(_IDENT.finditer(text))
    if not ids:
        return text
    m = draw(st.sampled_from(ids))
    new = draw(st.one_of(st.sampled_from(sorted({x.group() for x in ids})), st.sampled_from(["zz_undeclared", "_x", "pc", "mode", "trap", "range", "open"])))
    return text[:m.start()] + new + text[m.end():]


@st.composite
def mutated_spec(draw) -> tuple:
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name]
    for _ in range(draw(st.integers(1, 3))):
        text = draw(mutation(text))
    return name, text


def _n_lines(text: str) -> int:
    """Lines as TOML counts them (newline-terminated; a final unterminated line counts)."""
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def check_mutant(name: str, text: str):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for p in VALID:
            shutil.copy(p, d / p.name)
        target = d / name
        target.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            spec = load_spec(target)
        except SpecError as e:
            s = str(e)
            assert len(s.splitlines()) == 1 and "\n" not in s and "\r" not in s, repr(s)
            assert s.startswith(e.path), (s, e.path)
            assert e.message, s
            err_file = Path(e.path)
            assert err_file.exists() or e.line == 0, s
            n = _n_lines(err_file.read_text(encoding="utf-8", errors="replace")) if err_file.is_file() else 0
            assert 0 <= e.line <= n, f"line {e.line} outside 0..{n}: {s}"
        else:
            assert isinstance(spec, Spec)


pytestmark = pytest.mark.skipif(not VALID, reason="no loadable spec under specs/")


def _pg74(old: str, new: str) -> tuple:
    """pg74.toml with one replacement: each example below once crashed the loader (or broke the one-line rule)."""
    return "pg74.toml", TEXTS.get("pg74.toml", "").replace(old, new, 1)


_LD = 'semantics = "r[rd] = read(zext(a, 16))"'


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_spec())
@example(_pg74('"0010 rs:2 a:10"', '"0010 rs:999999999999999999999 a:10"'))  # OverflowError in parse_encoding
@example(_pg74('"0001 rd:2 a:10"', '"0001 rd:2 a:9223372036854775808"'))  # MemoryError in parse_encoding
@example(_pg74('"0001 rd:2 a:10"', '"0001 rd:2 a[9:8:0]"'))  # ValueError from int('8:0')
@example(_pg74('"0001 rd:2 a:10"', '"0001 rd:2 a[' + "9" * 5000 + ']"'))  # int() digit limit
@example(_pg74("count = 4", "count = " + "4" * 5000))  # int() digit limit inside tomllib
@example(_pg74(_LD, 'semantics = "r[rd] = bits(1, 99999999999)"'))  # MemoryError in _coerce
@example(_pg74(_LD, 'semantics = "r[rd] = bits(1 << 99999999999, 16)"'))  # MemoryError folding <<
@example(_pg74(_LD, 'semantics = "for i in range(0, 4, 0):\\n    pass"'))  # ValueError from range()
@example(_pg74(_LD, 'semantics = "for i in range(99999999999999999999):\\n    pass"'))  # OverflowError from len()
@example(_pg74("count = 4", 'count = 4\nhardwired = { "\u00b2" = 0 }'))  # ValueError from int('²')
@example(_pg74("[instructions.ld]", '[instructions."l\\nd"]'))  # a newline in `where`: two-line error
@example(_pg74('fetch = "fetch_address"', 'extends = "/dev/zero"'))  # read an endless file
@example(_pg74('fetch = "fetch_address"', 'extends = "' + "a" * 5000 + '"'))  # OSError: name too long
@example(("pg74.toml", TEXTS.get("pg74.toml", "") + '\n[instructions.zz]\nencoding = "1111 000000000000"\n'
          'semantics = "r[0] = 1\\nr[0] = 2\\nr[0] = 3\\nr[0] = zz"\n'))  # line past the end of the file
def test_mutated_specs_load_or_raise_spec_error(case):
    check_mutant(*case)


def test_seeds_are_valid():
    assert any(p.name == "pg74.toml" for p in VALID)
