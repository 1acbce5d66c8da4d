"""Round trips between the assembler and the disassembler, on every bundled spec.

* every instruction, random operand values that fit its fields:
  encode -> disassemble -> assemble gives the same word;
* a field the syntax does not show, when not 0, disassembles as ``.word``
  and still reassembles to the same units;
* random programs (labels, pc-relative references both ways, data,
  ``.org``/``.align``, comments, odd spacing and case):
  assemble -> disassemble -> assemble is a fixed point.
"""

import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.vendor.pretty import pretty

from tests.conftest import SPEC_FILES, load
from tests.strategies import word
from vverify.asm import assemble, disassemble, source_text, syntax_table
from vverify.spec.ir import mask, to_signed

SPECS = [p.stem for p in SPEC_FILES]
CASES = [(name, t.instr.name) for name in SPECS for t in syntax_table(load(name)).templates]


def units_of(table, instr, w):
    return [(w >> (k * table.unit)) & mask(table.unit) for k in range(instr.units)]


def field_bits(codec):
    """Bits of a field that its operand can express (carried bits only), never a value its encoding
    excludes (that word is another instruction's, and the assembler refuses it: tests/spec/test_encoding_exclusions.py).

    Excluded values are left out of what is drawn, never drawn and then rejected with ``assume``: a
    rejection inside ``data.draw`` makes Hypothesis write out the strategy with its arguments (a
    syntax table, a spec: megabytes, seconds each), which made this file's armv7a cases take minutes."""
    if codec.kind == "reg":
        return st.sampled_from([v for v in range(codec.file.count) if v not in codec.excluded])
    if codec.kind == "enum":
        members = sorted(set(codec.members.values()) - codec.excluded)
        return st.one_of(st.sampled_from(members), _not_in(word(codec.width), codec.excluded))
    return _not_in(word(codec.width).map(lambda b: b & codec.placed), codec.excluded)


def _not_in(strategy, excluded):
    return strategy.filter(lambda b: b not in excluded) if excluded else strategy


@st.composite
def placed_instruction(draw, table, instr):
    tpl = table.by_instr[instr.name]
    fields = {name: (0 if name in tpl.hidden else draw(field_bits(c))) for name, c in tpl.codecs.items()}
    slots = (table.size - instr.units) // table.align
    pc = draw(st.one_of(st.integers(0, min(slots, 64)), st.integers(0, slots))) * table.align
    return tpl, fields, pc


def test_specs_and_syntax_tables_are_written_out_in_one_line():
    """Hypothesis writes out a strategy's arguments (with its pretty-printer) whenever a draw is rejected;
    a spec or a syntax table written out field by field was megabytes and took seconds apiece."""
    spec = load("x86_32")
    table = syntax_table(spec)
    assert pretty(spec) == repr(spec) == f"<Spec x86_32 from {spec.path}>"
    assert pretty(table) == repr(table) == f"<SyntaxTable of x86_32: {len(table.templates)} templates>"


@pytest.mark.parametrize("spec_name, instr_name", CASES)
@given(data=st.data())
def test_instruction_roundtrip(spec_name, instr_name, data):
    spec = load(spec_name)
    table = syntax_table(spec)
    instr = spec.instructions[instr_name]
    tpl, fields, pc = data.draw(placed_instruction(table, instr))
    w = instr.encoding.encode(fields)
    units = units_of(table, instr, w)
    lines = disassemble(spec, units, origin=pc)
    assert len(lines) == 1 and lines[0].instruction == instr_name, lines
    assert lines[0].fields == fields
    text = source_text(lines)
    prog = assemble(spec, text)
    assert prog.units(pc, instr.units) == units, text
    assert set(prog.memory) == set(range(pc, pc + instr.units))


HIDDEN = [(name, t.instr.name) for name in SPECS for t in syntax_table(load(name)).templates if t.hidden]


@pytest.mark.parametrize("spec_name, instr_name", HIDDEN)
@given(data=st.data())
def test_unshown_fields_fall_back_to_words(spec_name, instr_name, data):
    spec = load(spec_name)
    table = syntax_table(spec)
    instr = spec.instructions[instr_name]
    tpl, fields, pc = data.draw(placed_instruction(table, instr))
    for name in tpl.hidden:
        fields[name] = data.draw(field_bits(tpl.codecs[name]))
    assume(any(fields[n] for n in tpl.hidden))
    units = units_of(table, instr, instr.encoding.encode(fields))
    lines = disassemble(spec, units, origin=pc)
    assert [ln.instruction for ln in lines] == [None] * instr.units
    assert instr_name in lines[0].comment
    prog = assemble(spec, source_text(lines))
    assert prog.units(pc, instr.units) == units


# ------------------------------------------------------------ random programs


def _fmt(draw, v):
    """A number as the assembler reads it, in a random base."""
    base = draw(st.sampled_from(["d", "x", "o", "b", "X"]))
    sign, a = ("-", -v) if v < 0 else ("", v)
    s = {"d": str(a), "x": f"0x{a:x}", "o": f"0o{a:o}", "b": f"0b{a:b}", "X": f"0X{a:X}"}[base]
    return sign + s


def _case(draw, s):
    return draw(st.sampled_from([s, s.upper(), s.lower()]))


def _reg_text(draw, codec, bits):
    f = codec.file
    if not f.names:
        return draw(st.sampled_from([str(bits), f"{f.name}{bits}", f"0x{bits:x}"]))
    choices = [f.names[bits], f"{f.name}{bits}"] + [a for a, i in f.aliases.items() if i == bits]
    return _case(draw, draw(st.sampled_from(choices)))


@st.composite
def programs(draw, spec_name):
    """(source text, origin) of a random program that assembles.

    Takes the spec's name, not the spec: the ``assume`` below makes Hypothesis write out the
    strategy with its arguments, and a spec written out is megabytes (see field_bits)."""
    spec = load(spec_name)
    table = syntax_table(spec)
    origin = draw(st.integers(0, 64)) * table.align
    # 1. the layout: statements with their sizes, and labels
    plan = []
    loc = origin
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["instr", "instr", "instr", "word", "org"]))
        if kind == "org":
            loc += draw(st.integers(1, 8)) * table.align
            plan.append(("org", loc, None))
            continue
        if kind == "word":
            vals = draw(st.lists(word(table.unit), min_size=1, max_size=3))
            plan.append(("word", loc, vals))
            loc += len(vals)
            continue
        if loc % table.align:
            plan.append(("align", loc, None))
            loc += -loc % table.align
        tpl = draw(st.sampled_from(table.templates))
        plan.append(("instr", loc, tpl))
        loc += tpl.instr.units
    assume(loc <= table.size)
    label_at = {}
    for i, (kind, at, _) in enumerate(plan):
        if kind in ("instr", "word") and draw(st.booleans()):
            label_at[i] = f"L{i}_{draw(st.sampled_from(['a', 'loop', 'Data', 'x.y']))}"
    if draw(st.booleans()):
        label_at[len(plan)] = "end"  # a label after the last statement
    addr_of = {name: (plan[i][1] if i < len(plan) else loc) for i, name in label_at.items()}
    # 2. the text
    out = []
    for i, (kind, at, payload) in enumerate(plan):
        prefix = f"{label_at[i]}:" + draw(st.sampled_from([" ", "\n", "\t"])) if i in label_at else ""
        if kind == "org":
            out.append(f".org {_fmt(draw, at)}")
        elif kind == "align":
            out.append(f".align {table.align}")
        elif kind == "word":
            out.append(prefix + ".word " + ", ".join(_fmt(draw, v) for v in payload))
        else:
            tpl = payload
            texts = {}
            for it in tpl.items:
                if not hasattr(it, "name"):
                    continue
                c = tpl.codecs[it.name]
                bits = draw(field_bits(c))
                if c.kind == "reg":
                    texts[it.name] = _reg_text(draw, c, bits)
                elif c.kind == "enum":
                    names = [n for n, v in c.members.items() if v == bits]
                    texts[it.name] = _case(draw, names[0]) if names and draw(st.booleans()) else _fmt(draw, bits)
                elif c.pcrel:
                    off = to_signed(bits, c.width) if c.signed else bits
                    target = (at + off) & mask(spec.pc_width)
                    near = [n for n, a in addr_of.items() if _fits(c, a, at, spec)]
                    how = draw(st.sampled_from(["abs", "dot"] + (["label"] * 3 if near else [])))
                    if how == "label":
                        texts[it.name] = draw(st.sampled_from(near))
                    elif how == "dot":
                        texts[it.name] = f". + {off}" if off >= 0 else f".-{-off}"
                    else:
                        texts[it.name] = f"0x{target:x}"
                else:
                    v = to_signed(bits, c.width) if c.signed else bits
                    texts[it.name] = _fmt(draw, v)
            line = tpl.render(texts)
            line = line.replace(", ", draw(st.sampled_from([", ", ",", " , ", ",\t"])))
            out.append(prefix + _case(draw, line.split(" ")[0]) + line[len(line.split(" ")[0]):])
        if draw(st.integers(0, 3)) == 0:
            out[-1] += draw(st.sampled_from(["  # note", " ; note: x, y", "#"]))
    if len(plan) in label_at:
        out.append("end:")
    return "\n".join(out) + "\n", origin


def _fits(codec, target, pc, spec):
    off = (target - pc) & mask(spec.pc_width)
    if codec.signed:
        off = to_signed(off, spec.pc_width)
    lo, hi = codec.bounds()
    return lo <= off <= hi and (off & mask(codec.width)) & ~codec.placed == 0


@pytest.mark.parametrize("spec_name", SPECS)
@given(data=st.data())
def test_program_fixed_point(spec_name, data):
    spec = load(spec_name)
    text, origin = data.draw(programs(spec_name))
    p1 = assemble(spec, text, origin=origin)
    lines = disassemble(spec, p1)
    text2 = source_text(lines, p1.symbols)
    p2 = assemble(spec, text2)
    assert p2.memory == p1.memory, (text, text2)
    assert p2.symbols == p1.symbols
    text3 = source_text(disassemble(spec, p2), p2.symbols)
    assert text3 == text2
