"""Hostile spec files: `vverify lint` (and, for a few, `vverify check`) end well on any of them.

Part of the standing hostile-input campaign (tests/hostile).  Where
tests/spec/test_loader_mutation.py mutates the bundled specs' text line by
line, this campaign mutates their *structure*: each seed (every bundled spec
and a skeleton written by ``vverify new``) is parsed with tomllib, its data
mutated (types swapped, integers up to 10**5000, negative widths, names with
NUL, newline, RTL or terminal escapes, semantics nested past every limit,
renamed and duplicated keys, claims naming units that do not exist,
80-bit encodings, thousands of instructions) and written back as TOML by
tests/hostile/tomlw.py; then bytes are mutated (truncation, NUL, invalid
UTF-8, a BOM, CR line ends, duplicated lines); and ``extends`` is pointed
at cycles, long chains, FIFOs, directories, devices and missing files.

Every input must end with exit 0 or 2 from ``lint``, one line about the
file on stdout, nothing on stderr, an error's line inside the file it names,
and no input may take more than 60 s.  A few inputs that lint cleanly (from
the small seeds pg74, its variants, pdp10 and the skeleton) are also
checked (``check --timeout 1 -j 1``): exit 0, 1, 2 or 3, stderr only
vverify's lines, a one-line error, a well-formed report.  A handful go
through ``python -m vverify`` in a subprocess, to see what the interpreter
itself would print.

Default run: 234 inputs (110 structured, 80 byte-level, 40 extends, 4 through
the interpreter), derandomized (the ``ci`` profile); about 25 s.
Long run: ``pytest tests/hostile --hostile-examples N`` (or
``VVERIFY_HOSTILE_EXAMPLES=N``) runs the tests marked ``slow`` with N
randomized inputs per group.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from tests.hostile.harness import (SMALL_SPECS, SPECS, assert_error_is_one_line, assert_lint_result,
                                   assert_report_well_formed, assert_well_behaved, hostile_settings, run_inprocess,
                                   run_subprocess, subprocess_env)
from tests.hostile.tomlw import Raw, dumps
from vverify.spec.limits import MAX_WIDTH

BUNDLED = {p.stem: p for p in sorted(SPECS.rglob("*.toml"))}
FORMATS = ("text", "json", "junit", "sarif", "github")


def _skeleton_seed(tmp: Path) -> Path:
    """A skeleton written the way a user gets one: ``vverify new``."""
    r = run_inprocess(["new", "sk", "-o", str(tmp)])
    assert r.code == 0, str(r)
    return tmp / "sk" / "sk.toml"  # `vverify new` writes an ISA folder


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """name -> (the folder the seed lives in, its file name, its text): every bundled spec and a skeleton."""
    out = {name: (p.parent, p.name, p.read_text(encoding="utf-8")) for name, p in BUNDLED.items()}
    sk = _skeleton_seed(tmp_path_factory.mktemp("skeleton"))
    out["skeleton"] = (sk.parent, sk.name, sk.read_text(encoding="utf-8"))
    return out


def test_the_writer_round_trips_every_seed(seeds, tmp_path):
    """The mutants are honest only if the writer writes what it is given: every seed, parsed and written
    back (one-line and multi-line strings), parses to the same data and still lints."""
    for name, (folder, fname, text) in seeds.items():
        data = tomllib.loads(text)
        for multiline in (False, True):
            assert tomllib.loads(dumps(data, multiline)) == data, name
        d = _case_dir(tmp_path, folder)
        (d / fname).write_text(dumps(data, multiline=name in SMALL_SPECS), encoding="utf-8")
        r = run_inprocess(["lint", str(d / fname)])
        assert r.code == 0 and r.out.startswith(f"{d / fname}: ok"), str(r)


_serial = itertools.count()


def test_copies_get_patterns_of_their_own_only_at_widths_a_spec_may_have():
    """The "many" mutation writes each copy a fixed pattern only up to one bit past the language's widest
    encoding: an earlier mutation may have made the encoding ten billion bits wide."""
    assert _spread_width({"encoding": "0001 rd:2 a:10"}, 50) == 16
    assert _spread_width({"encoding": "0001 rd:2"}, 50) is None  # 64 patterns: too few to spread 50 copies
    assert _spread_width({"encoding": "0001 x[3:0]"}, 2) is None  # not written as digits and name:N fields
    assert _spread_width({"encoding": f"a:{MAX_WIDTH + 1}"}, 3000) == MAX_WIDTH + 1
    assert _spread_width({"encoding": f"a:{MAX_WIDTH + 2}"}, 3000) is None
    assert _spread_width({"encoding": "0001 rd:2 a:9999999999"}, 3000) is None


def _case_dir(base: Path, folder: Path) -> Path:
    """A fresh copy of a seed's folder (its variants, guest stub and workloads) to put a mutant in."""
    d = base / f"case{next(_serial)}"
    shutil.copytree(folder, d)
    return d


# ------------------------------------------------------------------------------ hostile material

HOSTILE_NAMES = [
    "", " ", "\x00", "a\x00b", "l\nd", "ld\r", "\u202eevil", "\u2028", "\u200f", "\x1b[31mred\x1b[0m", "\x7f",
    "ld.", ".other", "ld.nonexistent", "ld..x", ".", "..", "\u00e9", "ld\\", "x" * 5000, "1", "-", "_", "isa",
    "__class__", "zz_undeclared", "ld\t", "\ufeff", "\U0001f600", "\u0661\u0662", "\u00b2", "pc", "mode", "trap",
]
HUGE = [Raw("1" + "0" * 5000), Raw("-" + "9" * 5000), Raw("0x" + "f" * 1024), Raw("0x" + "f" * 1025),
        Raw("0b" + "1" * 5000), Raw("4" * 4300), Raw("4" * 4301)]
HOSTILE_INTS = [0, -1, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 80, 255, 256, 4095, 4096, 4097, 65536,
                2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64, -2 ** 63, 10 ** 19, 10 ** 100, 10 ** 1000] + HUGE
HOSTILE_FLOATS = [0.0, -0.0, 0.5, 16.0, 1e308, float("inf"), float("-inf"), float("nan"), 1e-300, 2.0 ** 64]
DEEP = [Raw("[" * d + "]" * d) for d in (50, 1000, 100_000)] + [Raw("{a = " * d + "1" + "}" * d) for d in (50, 1000, 100_000)]
TYPE_SWAPS = [True, False, [], {}, [1, 2], {"a": 1}, ["x", 1], [[]], {"": ""}, Raw("1979-05-27"), Raw("07:32:00")]


def _nested_ifs(k: int) -> str:
    return "".join("    " * i + "if r[0] == 0:\n" for i in range(k)) + "    " * k + "r[0] = 1\n"


SEMANTICS = [
    "", " ", "pass", "\x00", "r[rd] = r[rd]\x00", "(" * 99 + "1" + ")" * 99, "r[0] = " + "(" * 101 + "1" + ")" * 101,
    "r[0] = " + "(" * 100_000 + "1" + ")" * 100_000, "r[0] = " + "-" * 100_000 + "1", "r[0] = " + " + ".join(["1"] * 20_000),
    "r[0] = 1\n" * 20_000, _nested_ifs(50), _nested_ifs(101), _nested_ifs(300),
    "for i in range(256):\n    for j in range(256):\n        r[0] = r[0] + 1\n", "for i in range(257):\n    r[0] = 1\n",
    "for i in range(10**30):\n    pass\n", "for i in range(0, 4, 0):\n    pass\n",
    "r[0] = bits(1, 99999999999)", "r[0] = 1 << 99999999999", "r[0] = 0x" + "f" * 2000, "r[0] = " + "9" * 5000,
    "r[0] = 1 if r[0] is 1 else 0", "x = '\\d'", "r[0] = (1)(2)", "import os", "__import__('os')", "lambda: 0",
    "r[\u0661] = 1", "r[0] = 1\n\tr[0] = 2", "trap(nonexistent)", "halt()", "hypercall(1)", "r[0] = ld", "f()",
    "def f():\n    return f()\n", "while True:\n    pass\n", "r[0] = r[99999999999999999999]", "pc = pc",
    "mode = 99", "r[0] = zext(r[0], 0)", "r[0] = sext(r[0], 99999)", "r[0] = r[0][4096:0]", "r[0] = r[0][-1:0]",
    "r[0] = load(0, 0)", "r[0] = load(0, 99999999)", "store(0, 1, 1)\n" * 3000, "\u2028", "r[0] = 1 \\\n + 2",
]
ENCODINGS = [
    "0" * 80, "1" * 80, "0001 rd:2 a:74", "a:80", "1111 a:76", "0001 rd:2 a:99999", "0001 rd:2 a:9999999999",
    "0001 rd:0 a:12", "", " ", "x", "0001 rd:2 a[79:0]", "0001 rd:2 a[9:0|79:70]", "0001rd:2a:10", "0" * 4096,
    "0" * 4097, "0001 rd:2 a[" + "9" * 5000 + "]", "0001 rd:2 a:10 a:10", "0001 \x00 a:10", "0001 rd:2 a:-10",
    "0001 rd:2 a[9:8:0]", "____", "0x1", "01\n01",
]
TEXT_KEYS = ("doc", "title", "summary", "note", "cite", "url", "syntax")
HOSTILE_TEXT = ["", "\x00", "a\nb", "line\r\nbreak", "\u202eRTL override", "\x1b[2J\x1b[31mred", "::error::forged",
                "%0A%25", "]]>", "<script>&amp;", "\u2028\u2029", "\ufeff", "\ud7ff\ue000", "x" * 100_000,
                "\\", '"', "{rd} {a} {nosuch}", "\U0001f600" * 100, "\x85"]
THEOREMS = ("theorem1", "theorem2", "theorem3")
CLAIM_VALUES = [{"privileged": True}, {"privileged": 1}, {"privileged": "true"}, {"sensitive": True, "source": "nosuchref"},
                {}, {"nosuchproperty": True}, {"privileged": True, "note": "\x00\n\u202e"}, "privileged", [True]]


def _walk(node, path=()):
    """Every (path, value) below ``node`` (dict keys and list indexes), parents before children."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), v
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), v
            yield from _walk(v, path + (i,))


def _parent(data, path):
    node = data
    for k in path[:-1]:
        node = node[k]
    return node


def _copy(v):
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _hostile_value(draw, old):
    pools = [st.sampled_from(HOSTILE_INTS), st.sampled_from(HOSTILE_FLOATS), st.sampled_from(HOSTILE_NAMES),
             st.sampled_from(TYPE_SWAPS), st.sampled_from(DEEP), st.sampled_from(SEMANTICS)]
    if isinstance(old, int) and not isinstance(old, bool):
        pools += [st.just(float(old)), st.just(str(old)), st.just(-old), st.just(old * 2 ** 64)]
    if isinstance(old, str):  # repeated, up to some 20,000 characters (mutations compound: never old * 1000)
        longer = old * (1 + 20_000 // (len(old) + 1)) if len(old) < 20_000 else old + old[:100]
        pools += [st.just(old + "\x00"), st.just(longer), st.just(old.upper()), st.just(old[:-1]),
                  st.just(old + "."), st.just("." + old), st.just([old])]
    return draw(st.one_of(*pools))


def _instructions(data) -> list:
    ins = data.get("instructions")
    return list(ins) if isinstance(ins, dict) else []


def _width(encoding: str):
    """Bits in an encoding written as fixed digits and ``name:N`` fields (None for anything else)."""
    total = 0
    for tok in str(encoding).split():
        if re.fullmatch(r"[01_]+", tok):
            total += tok.count("0") + tok.count("1")
        elif re.fullmatch(r"[A-Za-z_]\w*:[0-9]+", tok):
            total += int(tok.split(":")[1])
        else:
            return None
    return total


def _spread_width(src, k: int):
    """The width of ``src``'s encoding when ``k`` copies of it can each get a fixed pattern of their own, else None.

    Only widths a spec may have, and one past (the language's MAX_WIDTH + 1): the patterns are written out
    digit by digit, and an earlier mutation may have made the encoding ``a:9999999999``, whose ``2 ** w``
    is a number of ten billion bits (a test worker grew to 24 GB computing it, and was killed)."""
    w = _width(src.get("encoding", "")) if isinstance(src, dict) else None
    if w is None or w > MAX_WIDTH + 1 or 2 ** w <= k * 4:
        return None
    return w


MANY = [2, 50, 500, 3000]  # copies of an instruction; the long run also tries one past the 20,000 limit
MANY_LONG = MANY + [20_001]


@st.composite
def structural_mutation(draw, data: dict, many=tuple(MANY)) -> str:
    """One structure-aware change to ``data`` (in place); returns what it did, for the report."""
    kind = draw(st.sampled_from(["replace", "replace", "rename", "delete", "semantics", "semantics", "encoding",
                                 "claim", "theorem", "many", "duplicate-table", "text", "text"]))
    paths = [p for p, _ in _walk(data)]
    instrs = _instructions(data)
    if kind == "replace" and paths:
        path = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        parent[path[-1]] = _hostile_value(draw, parent[path[-1]])
        return f"replace {path!r}"
    if kind == "rename":
        tables = [p for p, v in _walk(data) if isinstance(v, dict) and v] + ([()] if data else [])
        if not tables:
            return "nothing to rename"
        tpath = draw(st.sampled_from(tables))
        table = _parent(data, tpath + ("",)) if tpath else data
        old = draw(st.sampled_from(list(table)))
        new = draw(st.one_of(st.sampled_from(HOSTILE_NAMES), st.sampled_from(list(table)),
                             st.sampled_from(["isa", "state", "traps", "instructions", "claims", "extends", "name"])))
        items = [(new if k == old else k, v) for k, v in table.items()]
        table.clear()
        table.update(items)  # renamed onto a sibling: the later one wins, like a duplicated key in a dict
        return f"rename {tpath!r} {old!r} -> {new!r}"
    if kind == "delete" and paths:
        path = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        del parent[path[-1]]
        return f"delete {path!r}"
    if kind == "semantics":
        bodies = [("instructions", i, "semantics") for i in instrs if isinstance(data["instructions"][i], dict)]
        bodies += [p for p in (("helpers", "code"), ("traps", "entry")) if isinstance(data.get(p[0]), dict)]
        if not bodies:
            return "no body"
        path = draw(st.sampled_from(bodies))
        text = draw(st.sampled_from(SEMANTICS))
        parent = _parent(data, path)
        old = parent.get(path[-1], "")
        how = draw(st.sampled_from(["replace", "prepend", "append"]))
        if isinstance(old, str) and how != "replace":
            text = text + "\n" + old if how == "prepend" else old + "\n" + text
        parent[path[-1]] = text
        return f"semantics {how} {path!r}"
    if kind == "text":  # free text (docs, titles, notes, sources) that reports quote: often still a valid spec
        texts = [p for p, v in _walk(data) if isinstance(v, str) and p[-1] in TEXT_KEYS]
        if texts:
            path = draw(st.sampled_from(texts))
            _parent(data, path)[path[-1]] = draw(st.sampled_from(HOSTILE_TEXT))
            return f"text {path!r}"
        return "no text"
    if kind == "encoding" and instrs:
        i = draw(st.sampled_from(instrs))
        if isinstance(data["instructions"][i], dict):
            data["instructions"][i]["encoding"] = draw(st.sampled_from(ENCODINGS))
        return f"encoding of {i!r}"
    if kind == "claim":
        base = draw(st.sampled_from(instrs)) if instrs else "ld"
        name = draw(st.sampled_from([f"{base}.", f"{base}.nonexistent", ".other", f"{base}.other", "nonexistent",
                                     f"{base}..x", base.upper(), f"{base}.0", f"{base}.\n", "", ".", f"{base}.{base}"]))
        claims = data.setdefault("claims", {})
        if not isinstance(claims, dict):
            return "claims not a table"
        table = claims.setdefault("instructions", {})
        if isinstance(table, dict):
            table[name] = _copy(draw(st.sampled_from(CLAIM_VALUES)))
        return f"claim {name!r}"
    if kind == "theorem":
        claims = data.setdefault("claims", {})
        if isinstance(claims, dict):
            t = draw(st.sampled_from(THEOREMS + ("theorem4", "")))
            claims[t] = draw(st.sampled_from([
                {"holds": "yes"}, {"holds": True, "violators": ["", "nonexistent", "ld."]}, {"violators": instrs[:2]},
                {"holds": False, "violators": instrs * 3}, {"holds": 1}, True, [],
            ]))
        return "theorem claim"
    if kind == "many" and instrs:
        i = draw(st.sampled_from(instrs))
        k = draw(st.sampled_from(many))
        src = data["instructions"][i]
        w = _spread_width(src, k)
        distinct = draw(st.booleans()) and w is not None
        for n in range(k):
            c = _copy(src)
            if distinct and isinstance(c, dict):  # fixed patterns from the top of the opcode space down
                c["encoding"] = format(2 ** w - 1 - n, f"0{w}b")
            data["instructions"][f"{i}_{n}"] = c
        return f"{k} copies of {i!r}" + (" (distinct encodings)" if distinct else "")
    if kind == "duplicate-table" and instrs:
        i = draw(st.sampled_from(instrs))
        data["instructions"][draw(st.sampled_from(HOSTILE_NAMES))] = _copy(data["instructions"][i])
        return f"copy of {i!r} under a hostile name"
    return "no-op"


@st.composite
def structured_mutant(draw, seeds, many=tuple(MANY)) -> tuple:
    """(seed name, mutant text, what was done)."""
    name = draw(st.sampled_from(sorted(seeds)))
    data = tomllib.loads(seeds[name][2])
    done = [draw(structural_mutation(data, many)) for _ in range(draw(st.integers(1, 3)))]
    return name, dumps(data, multiline=draw(st.booleans())).encode("utf-8"), done


INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82"]


@st.composite
def byte_mutation(draw, raw: bytes) -> tuple:
    kind = draw(st.sampled_from(["truncate", "nul", "utf8", "bom", "utf16", "crlf", "cr", "dup-line", "dup-header",
                                 "delete-range", "byte", "empty", "huge"]))
    pos = draw(st.integers(0, len(raw)))
    if kind == "truncate":
        return raw[:pos], kind
    if kind == "nul":
        return raw[:pos] + b"\x00" + raw[pos:], kind
    if kind == "utf8":
        return raw[:pos] + draw(st.sampled_from(INVALID_UTF8)) + raw[pos:], kind
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw, kind
    if kind == "utf16":
        return raw.decode("utf-8", errors="replace").encode("utf-16"), kind
    if kind == "crlf":
        return raw.replace(b"\n", b"\r\n"), kind
    if kind == "cr":
        return raw[:pos] + b"\r" + raw[pos:], kind
    lines = raw.split(b"\n")
    if kind == "dup-line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return b"\n".join(lines), kind
    if kind == "dup-header":
        heads = [i for i, x in enumerate(lines) if x.startswith(b"[")]
        if heads:
            i = draw(st.sampled_from(heads))
            lines.append(lines[i])
        return b"\n".join(lines), kind
    if kind == "delete-range":
        end = draw(st.integers(pos, min(len(raw), pos + 200)))
        return raw[:pos] + raw[end:], kind
    if kind == "byte":
        if not raw:
            return raw, kind
        i = min(pos, len(raw) - 1)
        return raw[:i] + bytes([draw(st.integers(0, 255))]) + raw[i + 1:], kind
    if kind == "empty":
        return b"", kind
    # just over the 2 MiB limit, or just under it with a comment
    size = draw(st.sampled_from([2 * 1024 * 1024 - len(raw) - 2, 2 * 1024 * 1024 + 1 - len(raw)]))
    return raw + b"\n#" + b"x" * max(0, size - 2), kind


@st.composite
def byte_mutant(draw, seeds) -> tuple:
    """(seed name, mutant bytes, what was done): byte-level changes to a seed or to a structured mutant."""
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(seeds)))
        raw, done = seeds[name][2].encode("utf-8"), []
    else:
        name, raw, done = draw(structured_mutant(seeds))
    for _ in range(draw(st.integers(1, 3))):
        raw, kind = draw(byte_mutation(raw))
        done.append(kind)
    return name, raw, done


# ------------------------------------------------------------------------------------ the checks

def lint_and_maybe_check(tmp: Path, seeds, case, checking: bool, fmt: str):
    """Lint the mutant (and check it, when asked and it is small and lints): every property of each run."""
    name, raw, done = case
    folder, fname, _ = seeds[name]
    d = _case_dir(tmp, folder)
    target = d / fname
    target.write_bytes(raw)
    note(f"seed {name}: {done}")
    candidates = [p for p in d.iterdir() if p.suffix == ".toml"]
    r = run_inprocess(["lint", str(target)])
    assert_lint_result(r, target, candidates)
    results = [r]
    if checking and r.code == 0 and (name in SMALL_SPECS or name == "skeleton") and len(raw) < 64 * 1024:
        from vverify.spec.loader import load_spec

        if len(load_spec(target).instructions) <= 64:
            c = run_inprocess(["check", "--timeout", "1", "-j", "1", "--format", fmt, str(target)])
            assert_well_behaved(c)
            assert_error_is_one_line(c)
            if c.code != 2:
                assert_report_well_formed(c, fmt)
            results.append(c)
    shutil.rmtree(d, ignore_errors=True)
    return results


def test_structured_mutants(seeds, tmp_path, examples, campaign):
    """Specs mutated through their data: lint ends well on each; a third of the small ones that lint are checked."""
    c = campaign("spec-structure")

    @hostile_settings(examples, default=110)
    @given(case=structured_mutant(seeds, tuple(MANY if examples is None else MANY_LONG)),
           checking=st.integers(0, 2).map(lambda n: n == 0),
           fmt=st.sampled_from(FORMATS))
    def run(case, checking, fmt):
        with c.input():
            for r in lint_and_maybe_check(tmp_path / "cases", seeds, case, checking, fmt):
                c.saw(r)

    run()


def test_byte_mutants(seeds, tmp_path, examples, campaign):
    """Specs broken at the byte level: truncated, NULs, invalid UTF-8, a BOM, UTF-16, CRs, duplicated lines."""
    c = campaign("spec-bytes")

    @hostile_settings(examples, default=80)
    @given(case=byte_mutant(seeds))
    def run(case):
        with c.input():
            for r in lint_and_maybe_check(tmp_path / "cases", seeds, case, False, "text"):
                c.saw(r)

    run()


# --------------------------------------------------------------------------------------- extends

EXTENDS_TARGETS = ["self", "cycle", "chain", "fifo", "dir", "dir-toml", "missing", "/dev/zero", "/dev/null", "symlink-loop",
                   "symlink-dir", "dangling", "", ".", "..", "long", "nul", "newline", "binary", "not-a-spec",
                   "broken-parent", "absolute", "deep-relative", "zero-link"]


def _minimal_child(name: str, extends: str) -> str:
    return dumps({"isa": {"name": name, "extends": extends}})


@st.composite
def extends_case(draw) -> tuple:
    """(a recipe for a folder of specs that extend each other in a hostile way, which file to lint)."""
    target = draw(st.sampled_from(EXTENDS_TARGETS))
    chain = draw(st.integers(0, 10))  # links of ordinary children before the hostile one
    full_child = draw(st.booleans())  # the hostile one is a whole pg74 (with extends added) or a bare child
    cycle = draw(st.integers(1, 4))
    lint_fifo_itself = draw(st.integers(0, 9)) == 0
    return target, chain, full_child, cycle, lint_fifo_itself


def build_extends_case(d: Path, case) -> Path:
    target, chain, full_child, cycle, lint_special = case
    shutil.copytree(SPECS / "pg74", d)
    pg74 = (d / "pg74.toml").read_text(encoding="utf-8")
    ext = {
        "self": "hostile.toml", "fifo": "fifo.toml", "dir": "adir", "dir-toml": "adir.toml", "missing": "missing.toml", "/dev/zero": "/dev/zero",
        "/dev/null": "/dev/null", "symlink-loop": "loop.toml", "symlink-dir": "dirlink.toml", "dangling": "dangling.toml",
        "": "", ".": ".", "..": "..", "long": "a" * 5000 + ".toml", "nul": "pg74\x00.toml", "newline": "new\nline.toml",
        "binary": "binary.toml", "not-a-spec": "empty.toml", "broken-parent": "broken.toml",
        "absolute": str(d / "pg74.toml"), "deep-relative": "../" * 40 + "pg74.toml", "zero-link": "zero.toml",
        "cycle": "cyc0.toml", "chain": "pg74.toml",
    }[target]
    os.mkfifo(d / "fifo.toml")
    (d / "adir").mkdir()
    (d / "adir.toml").mkdir()
    os.symlink("loop.toml", d / "loop.toml")
    os.symlink("adir", d / "dirlink.toml")
    os.symlink("nowhere/x.toml", d / "dangling.toml")
    os.symlink("/dev/zero", d / "zero.toml")
    (d / "new\nline.toml").write_text(pg74, encoding="utf-8")
    (d / "binary.toml").write_bytes(bytes(range(256)) * 4)
    (d / "empty.toml").write_text("", encoding="utf-8")
    (d / "broken.toml").write_text(pg74.replace("count = 4", "count = -4", 1), encoding="utf-8")
    for i in range(cycle):  # cyc0 -> cyc1 -> ... -> cyc0
        (d / f"cyc{i}.toml").write_text(_minimal_child(f"cyc{i}", f"cyc{(i + 1) % cycle}.toml"), encoding="utf-8")
    data = tomllib.loads(pg74)
    if full_child:
        data["isa"]["extends"] = ext
        data["isa"]["name"] = "hostile"
        text = dumps(data)
    else:
        text = _minimal_child("hostile", ext)
    (d / "hostile.toml").write_text(text, encoding="utf-8")
    top = "hostile.toml"
    for i in range(chain):  # link{chain-1} -> ... -> link0 -> hostile
        (d / f"link{i}.toml").write_text(_minimal_child(f"link{i}", top), encoding="utf-8")
        top = f"link{i}.toml"
    if lint_special:  # lint the hostile target itself (a file or a device: a directory would list many)
        p = d / ext if ext and "\x00" not in ext and len(ext) < 255 else d / "fifo.toml"
        return d / "fifo.toml" if p.is_dir() else p
    return d / top


def test_hostile_extends(tmp_path, examples, campaign):
    """``extends`` through cycles, chains past the limit, FIFOs, directories, devices, links and missing files."""
    c = campaign("spec-extends")

    @hostile_settings(examples, default=40)
    @given(case=extends_case())
    def run(case):
        with c.input():
            d = tmp_path / f"x{next(_serial)}"
            path = build_extends_case(d, case)
            note(f"extends case {case!r}: lint {path}")
            r = c.saw(run_inprocess(["lint", str(path)]))
            assert_lint_result(r, path, [p for p in d.iterdir()])
            shutil.rmtree(d, ignore_errors=True)

    run()


# ------------------------------------------------------------------------------------ subprocess

def test_mutants_through_the_interpreter(seeds, tmp_path, examples, campaign):
    """A few mutants through ``python -m vverify``: what the interpreter prints (a warning, a traceback from
    anywhere) counts too, and the 60 s bound is the subprocess's timeout."""
    c = campaign("spec-subprocess")
    env = subprocess_env(tmp_path)

    @hostile_settings(None if examples is None else max(1, examples // 20), default=4)
    @given(case=st.one_of(structured_mutant(seeds), byte_mutant(seeds)), check=st.booleans())
    def run(case, check):
        with c.input():
            name, raw, done = case
            folder, fname, _ = seeds[name]
            d = _case_dir(tmp_path / "cases", folder)
            target = d / fname
            target.write_bytes(raw)
            note(f"seed {name}: {done}")
            r = c.saw(run_subprocess(["lint", target], d, env))
            assert_lint_result(r, target, [p for p in d.iterdir() if p.suffix == ".toml"])
            if check and r.code == 0 and (name in SMALL_SPECS or name == "skeleton") and len(raw) < 64 * 1024:
                r = c.saw(run_subprocess(["check", "--timeout", "1", "-j", "1", target], d, env))
                assert_well_behaved(r)
                assert_error_is_one_line(r)

    run()
