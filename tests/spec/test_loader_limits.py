"""Hostile spec files: refused with one line and exit code 2, never a hang, a traceback or a flood.

FIFOs and devices, oversized files and chains, floats and huge integers
where integers go, names and paths holding control characters, and more
instructions than the encoding check is bounded for.  Cases that used to
hang run in a child process whose timeout only guards against the hang.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from vverify.errors import SpecError
from vverify.spec import limits
from vverify.spec.loader import load_spec, schema

# A complete small spec with every integer-valued key of the schema, each a placeholder.
TEMPLATE = """\
[isa]
name = "f"

[state]
pc = {pc}
modes = {{ s = {mode}, u = 1 }}
supervisor = ["s"]
user = ["u"]

[state.registers]
a = {register}
b = {{ width = {register_width}, control_mask = {control_mask}, reset = {reset} }}

[state.banked.k]
width = {bank_width}
reset = {bank_reset}
copies = {{ s = ["s"], u = ["u"] }}

[state.files.r]
count = {count}
width = {file_width}
hardwired = {{ "0" = {hardwired} }}
aliases = {{ zero = {alias} }}

[state.memory]
unit = {unit}
address = {address}
size = {size}
fault = "priv"

[state.devices.d]
base = {device_base}
size = {device_size}
modes = ["s"]
registers = {{ 0x0 = "a" }}

[time]
steps = ["a"]

[time.deadlines]
t = {{ counter = "a", compare = "b", disarmed = {disarmed} }}

[constants]
K = {constant}

[enums.e]
one = {member}

[traps]
code = {code}
tval = {tval}
entry = "pc = 0"

[traps.causes]
priv = {{ code = {cause}, kind = "privilege" }}

[operands]
rd = {{ kind = "reg", file = "r" }}
{instructions}
[virtualization]
modes = {{ s = "u", u = "u" }}
params = {{ x = {param} }}

[guest]
boot = "boot.s"
word_units = {word_units}
halt = {{ by = "instruction" }}
syscall = "svc {{n}}"
jump = "jmp {{label}}"
arg = "li {{v}}"

[guest.calls]
more = {{ n = {call_number}, args = {call_args} }}
"""
INTEGERS = {  # placeholder: (its key in the schema, a valid value)
    "pc": (("state", "pc"), 8),
    "mode": (("state", "modes", "*"), 0),
    "register": (("state", "registers", "*"), 8),
    "register_width": (("state", "registers", "*", "width"), 8),
    "control_mask": (("state", "registers", "*", "control_mask"), 1),
    "reset": (("state", "registers", "*", "reset"), 0),
    "bank_width": (("state", "banked", "*", "width"), 8),
    "bank_reset": (("state", "banked", "*", "reset"), 0),
    "count": (("state", "files", "*", "count"), 4),
    "file_width": (("state", "files", "*", "width"), 8),
    "hardwired": (("state", "files", "*", "hardwired", "*"), 0),
    "alias": (("state", "files", "*", "aliases", "*"), 0),
    "unit": (("state", "memory", "unit"), 8),
    "address": (("state", "memory", "address"), 8),
    "size": (("state", "memory", "size"), 128),
    "device_base": (("state", "devices", "*", "base"), 128),
    "device_size": (("state", "devices", "*", "size"), 16),
    "disarmed": (("time", "deadlines", "*", "disarmed"), 0),
    "constant": (("constants", "*"), 1),
    "member": (("enums", "*", "*"), 1),
    "code": (("traps", "code"), 8),
    "tval": (("traps", "tval"), 8),
    "cause": (("traps", "causes", "*", "code"), 1),
    "param": (("virtualization", "params", "*"), 8),
    "word_units": (("guest", "word_units"), 1),
    "call_number": (("guest", "calls", "*", "n"), 8),
    "call_args": (("guest", "calls", "*", "args"), 2),
    "exclude": (("instructions", "*", "exclude", "*"), 1),
    "exclude_item": (("instructions", "*", "exclude", "*", "#"), 2),
}
ONE_INSTRUCTION = ('\n[instructions.t]\nencoding = "rd:2 000000"\nexclude = {{ rd = {exclude} }}\nsemantics = "r[rd] = a"\n'
                   '\n[instructions.t2]\nencoding = "rd:2 000001"\nexclude = {{ rd = [{exclude_item}] }}\n'
                   'semantics = "r[rd] = a"\n')


def spec_text(instructions=None, **values) -> str:
    """The template filled in; with no ``instructions``, ONE_INSTRUCTION's (its integers filled in too)."""
    fill = {k: v for k, (_, v) in INTEGERS.items()}
    fill.update(values)
    return TEMPLATE.format(instructions=ONE_INSTRUCTION.format(**fill) if instructions is None else instructions,
                           **fill)


def write(path, text):
    path.write_text(text)
    return path


def refused(path, **kw) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(path, **kw)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and text.isprintable(), repr(text)
    return info.value


def lint(*paths, timeout=120, memory=None):
    """``vverify lint`` in a child process (the timeout guards against a hang, ``memory`` caps
    its address space so that reading without bound ends in a MemoryError, not in swap)."""
    def cap():
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return subprocess.run([sys.executable, "-m", "vverify", "lint", *map(str, paths)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, preexec_fn=cap)


def test_template_loads(tmp_path):
    spec = load_spec(write(tmp_path / "f.toml", spec_text()))
    assert spec.instructions["t"] and spec.constants["K"] == 1


# ------------------------------------------------------------------ floats

def _integer_keys() -> set:
    """Every place the schema says "integer" (``*`` for any key)."""
    found, defs = set(), schema()["$defs"]

    def walk(node, path):
        if "$ref" in node:
            return walk(defs[node["$ref"].rsplit("/", 1)[1]], path)
        if node.get("type") == "integer":
            found.add(path)
        for key, sub in node.get("properties", {}).items():
            walk(sub, path + (key,))
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], path + ("*",))
        for alt in node.get("oneOf", []):
            walk(alt, path)
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + ("#",))

    walk(schema(), ())
    return found


def test_the_float_cases_cover_every_integer_in_the_schema():
    assert {key for key, _ in INTEGERS.values()} == _integer_keys()


@pytest.mark.parametrize("name", sorted(INTEGERS))
def test_a_float_where_an_integer_goes_is_refused(tmp_path, name):
    """JSON Schema counts 16.0 as an integer; the loader used to trip over it later, with a traceback."""
    value = INTEGERS[name][1]
    err = refused(write(tmp_path / "f.toml", spec_text(**{name: f"{float(value)!r}"})))
    assert f"expected an integer, got {float(value)!r}" in err.message
    assert err.line > 0


# ----------------------------------------------------------------- huge integers

@pytest.mark.parametrize("name", ["constant", "member", "reset", "hardwired", "cause", "size", "pc"])
def test_an_integer_too_wide_for_any_value_is_refused_without_printing_it(tmp_path, name):
    """A TOML hexadecimal integer has no digit limit; 20,000 bits is ~6,000 decimal digits,
    past what Python will print."""
    err = refused(write(tmp_path / "f.toml", spec_text(**{name: "0x" + "f" * 5000})))
    assert f"an integer of 20000 bits; no integer in a spec may be wider than {limits.MAX_LITERAL_BITS} bits" \
        in err.message
    assert len(err.message) < 200


# ----------------------------------------------------------------- only regular files

def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    run = lint(fifo)
    assert run.returncode == 2
    assert run.stdout == f"{fifo}: not a regular file (a FIFO); a spec is read only from a regular file\n"


def test_a_directory_holding_a_fifo_named_like_a_spec(tmp_path):
    write(tmp_path / "a.toml", spec_text())
    os.mkfifo(tmp_path / "b.toml")
    run = lint(tmp_path)
    assert run.returncode == 2
    assert run.stdout.splitlines() == [f"{tmp_path / 'a.toml'}: ok (f: 2 instructions)",
                                       f"{tmp_path / 'b.toml'}: not a regular file (a FIFO); a spec is read only "
                                       "from a regular file"]


def test_dev_zero_is_refused_without_reading_it():
    run = lint("/dev/zero", memory=2 << 30)
    assert run.returncode == 2, run.stderr[-300:]
    assert run.stdout == "/dev/zero: not a regular file (a character device); a spec is read only from a regular file\n"


def test_extends_naming_a_fifo_or_a_device(tmp_path):
    os.mkfifo(tmp_path / "base.toml")
    for target in ("base.toml", "/dev/zero"):
        p = write(tmp_path / "child.toml", f'[isa]\nname = "c"\nextends = "{target}"\n')
        run = lint(p)
        assert run.returncode == 2
        assert run.stdout == f"{p}:3: isa: extends '{target}', which is not an existing file\n"


# ----------------------------------------------------------------- sizes

def _padded(size: int) -> str:
    text = spec_text() + "# "
    return text + "x" * (size - len(text.encode()) - 1) + "\n"


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    p = write(tmp_path / "f.toml", _padded(limits.MAX_SPEC_BYTES + 1))
    assert p.stat().st_size == limits.MAX_SPEC_BYTES + 1
    err = refused(p)
    assert err.message == f"the file holds more than {limits.MAX_SPEC_BYTES} bytes, the limit for a spec file"
    assert err.line == 0


def test_a_file_at_the_size_limit_is_read(tmp_path):
    p = write(tmp_path / "f.toml", _padded(limits.MAX_SPEC_BYTES))
    assert p.stat().st_size == limits.MAX_SPEC_BYTES >= 2_000_000
    assert load_spec(p).instructions["t"]


def test_bytes_given_instead_of_the_file_obey_the_size_limit(tmp_path):
    p = write(tmp_path / "f.toml", spec_text())
    err = refused(p, texts={str(p.resolve()): _padded(limits.MAX_SPEC_BYTES + 1).encode()})
    assert "the limit for a spec file" in err.message


def test_the_extends_chain_is_bounded(tmp_path):
    write(tmp_path / "s0.toml", spec_text())
    for k in range(1, limits.MAX_EXTENDS_CHAIN + 1):
        write(tmp_path / f"s{k}.toml", f'[isa]\nname = "s{k}"\nextends = "s{k - 1}.toml"\n')
    assert load_spec(tmp_path / f"s{limits.MAX_EXTENDS_CHAIN - 1}.toml").name == f"s{limits.MAX_EXTENDS_CHAIN - 1}"
    err = refused(tmp_path / f"s{limits.MAX_EXTENDS_CHAIN}.toml")
    assert err.message == (f"extends 's0.toml', but a chain of 'extends' may hold at most "
                           f"{limits.MAX_EXTENDS_CHAIN} files")
    assert err.path == str(tmp_path / "s1.toml") and err.line == 3


# ----------------------------------------------------------------- instructions

def _instructions(n, bits=15):
    return "".join(f'\n[instructions.i{k}]\nencoding = "{k:0{bits}b} rd:2 0000000"\nsemantics = "r[rd] = a"\n'
                   for k in range(n))


def test_the_instruction_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_INSTRUCTIONS", 10)
    assert len(load_spec(write(tmp_path / "ten.toml", spec_text(_instructions(10)))).instructions) == 10
    p = write(tmp_path / "eleven.toml", spec_text(_instructions(11)))
    err = refused(p)
    assert err.message == "the spec declares 11 instructions; the limit is 10"
    assert err.where == "instructions"
    assert err.line == p.read_text().split("\n").index("[instructions.i10]") + 1


def test_twenty_thousand_instructions_load_without_comparing_every_pair(tmp_path, monkeypatch):
    """The red team's 20,000 instructions were still being compared pairwise after 120 s.
    Bound the work, not the time: count the encoding comparisons, whichever way the loader
    makes them, and stop at the bound (the pairwise loop would make 200 million)."""
    from vverify.spec import loader, overlaps

    bound = limits.MAX_INSTRUCTIONS * overlaps._SMALL
    compared = [0]

    def counting(f, cost):
        def wrapper(*args):
            compared[0] += cost(*args)
            assert compared[0] <= bound, "the loader compares encodings pair by pair"
            return f(*args)
        return wrapper

    if hasattr(loader, "overlap"):  # a loader that compares each new encoding with every earlier one
        monkeypatch.setattr(loader, "overlap", counting(loader.overlap, lambda a, b: 1))
    monkeypatch.setattr(overlaps, "_pairwise", counting(overlaps._pairwise, lambda g: len(g) ** 2))
    monkeypatch.setattr(overlaps, "_pairwise_bitsets", counting(overlaps._pairwise_bitsets, lambda g, t: len(g) ** 2))
    spec = load_spec(write(tmp_path / "f.toml", spec_text(_instructions(limits.MAX_INSTRUCTIONS))))
    assert len(spec.instructions) == limits.MAX_INSTRUCTIONS == 20_000
    assert compared[0] <= bound


def test_an_overlap_among_many_instructions_names_the_first_pair(tmp_path):
    extra = '\n[instructions.clash]\nencoding = "imm:15 rd:2 0000000"\nsemantics = "r[rd] = a"\n'
    text = spec_text(_instructions(5000) + extra).replace('rd = { kind = "reg", file = "r" }',
                                                         'rd = { kind = "reg", file = "r" }\nimm = { kind = "imm" }')
    p = write(tmp_path / "f.toml", text)
    err = refused(p)
    assert err.where == "instruction 'clash'" and err.message == "encoding overlaps instruction 'i0'"


# ----------------------------------------------------------------- control characters

def test_an_error_in_a_file_whose_path_holds_a_newline_is_one_line(tmp_path):
    d = tmp_path / "two\nlines\x1b[31m"
    d.mkdir()
    p = write(d / "f.toml", spec_text(pc="16.0"))
    err = refused(p)
    assert err.path == str(p)  # the real path, for programs
    assert err.one_line().startswith(str(tmp_path) + "/two\\nlines\\x1b[31m/f.toml:5: state:")


@pytest.mark.parametrize("name", ["x\\u001b[2J", "x\\u2028y", "x\\ty", "x\\u202ey"])
def test_names_holding_control_characters_are_escaped_in_errors(tmp_path, name):
    text = spec_text().replace("[instructions.t]", f'[instructions."{name}"]')
    err = refused(write(tmp_path / "f.toml", text))
    assert err.one_line().isprintable() and len(err.one_line().splitlines()) == 1
    assert "is not a valid instruction name" in err.message


# ----------------------------------------------------------------- a 2 MB spec

def two_megabyte_spec(target=2_000_000) -> tuple:
    """A generated spec of ``target`` bytes shaped like a real one: distinct 32-bit encodings,
    fifty helpers (some calling others, with loops), branches and traps in every instruction,
    and every hundredth instruction with 60 lines of semantics."""
    head = spec_text(instructions="", pc=32, register=32, register_width=32, file_width=32, unit=8, address=32,
                     size=(1 << 32) - 256, device_base=(1 << 32) - 16, tval=32, code=8, control_mask=0, count=16,
                     param=32)
    head = head.replace('rd = { kind = "reg", file = "r" }',
                        'rd = { kind = "reg", file = "r" }\nrs = { kind = "reg", file = "r" }\nimm = { kind = "imm" }')
    helpers = ['[helpers]\ncode = """']
    for h in range(50):
        tail = "t" if h % 3 == 0 else f"h{h - 1}(t, q)"
        helpers.append(f"def h{h}(p: 32, q: 32) -> 32:\n    t: 32 = p ^ (q << {h % 31})\n"
                       f"    if t[{h % 32}] == 1:\n        t = t + {h * 7 + 1}\n    else:\n        t = t - q\n"
                       f"    for i in range(2):\n        t = t ^ (t >> (i + 1))\n    return {tail}\n")
    parts = [head, "\n".join(helpers) + '"""\n']
    size, k = sum(len(p) for p in parts), 0
    while size < target:
        long = "".join(f"    a = a + r[rs] ^ {j}\n" for j in range(60)) if k % 100 == 0 else ""
        part = (f'\n[instructions.i{k}]\nencoding = "{k:014b} imm:10 rs:4 rd:4"\nsyntax = "i{k} rd, rs, imm"\n'
                f'semantics = """\nt: 32 = r[rs] + {k % 1000}\nif t[0] == 1:\n    t = h{k % 50}(t, zext(imm, 32))\n'
                f'elif mode == u:\n    trap(priv)\nelse:\n{long}    a = a + t\nr[rd] = t ^ r[rd]\n"""\n')
        parts.append(part)
        size += len(part)
        k += 1
    return "".join(parts), k


def test_a_two_megabyte_spec_loads(tmp_path):
    """Linting a spec up to 2 MB must stay inside a minute (issue 13): this one sits inside every
    limit and loads in about 10 s.  The bound asserted is the promise, six times what it takes, so
    that a loaded machine does not fail it; the time is printed (run with -s)."""
    text, count = two_megabyte_spec()
    p = write(tmp_path / "big.toml", text)
    assert 2_000_000 <= p.stat().st_size <= limits.MAX_SPEC_BYTES
    start = time.perf_counter()
    spec = load_spec(p)
    took = time.perf_counter() - start
    print(f"\n{p.stat().st_size} bytes, {count} instructions: loaded in {took:.1f} s")
    assert took < 60, f"a 2 MB spec took {took:.0f} s to load"
    assert len(spec.instructions) == count > 7000


# ----------------------------------------------------------------- documentation

def test_every_limit_is_documented_with_its_value():
    docs = (ROOT / "docs" / "spec-format.md").read_text()
    section = docs.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    names = [n for n in dir(limits) if re.fullmatch(r"MAX_[A-Z_]+", n)]
    assert len(names) >= 10
    for name in names:
        row = next((line for line in section.splitlines() if f"`{name}`" in line), None)
        assert row is not None, f"{name} is not in the Limits section"
        assert f"{getattr(limits, name):,}" in row, f"the row of {name} does not give its value"
