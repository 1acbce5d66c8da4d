"""Encodings that exclude values of a field (`exclude = { cond = 0b1111 }`).

A word whose field holds an excluded value is not the instruction: it is
whatever else matches it, or no instruction (an undecodable word).  The
decoder, the overlap check, the classified units, the assembler and the
fuzzer's instruction draws all read the exclusions from the encoding; the
agreement of the core's generated decoder and the z3 model with the
interpreter on a spec that uses them is in tests/agreement.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import spec_path
from vverify.asm import AsmError, assemble
from vverify.errors import SpecError
from vverify.spec import limits
from vverify.spec.decode import decode
from vverify.spec.encoding import EncodingError, parse_encoding
from vverify.spec.loader import load_spec
from vverify.spec.units import units_of

# pg74 with a family the way ARM writes one: `cond:2` means "always" at 11, which is another instruction
FAMILY = '''
[instructions.t]
encoding = "1111 rd:2 a:10"
{exclude}semantics = "r[rd] = zext(a, 16)"

[instructions.u]
encoding = "1111 11 a:10"
syntax = "u {{a}}"
semantics = "r[0] = zext(a, 16)"
'''


def spec_with(tmp_path, instructions, extra=""):
    (tmp_path / "pg74.toml").write_text(spec_path("pg74").read_text())
    p = tmp_path / "t.toml"
    p.write_text(f'[isa]\nname = "t"\nextends = "pg74.toml"\n{extra}\n{instructions}')
    return load_spec(p)


def test_an_excluded_value_decodes_as_the_instruction_that_has_it(tmp_path):
    s = spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3 }\n"))
    assert decode(s, 0xF000 | (2 << 10) | 5) == ("t", {"rd": 2, "a": 5})
    assert decode(s, 0xF000 | (3 << 10) | 5) == ("u", {"a": 5})


def test_without_the_exclusion_the_encodings_overlap(tmp_path):
    with pytest.raises(SpecError, match="instruction 'u': encoding overlaps instruction 't'"):
        spec_with(tmp_path, FAMILY.format(exclude=""))
    # excluding a value that does not keep them apart leaves the overlap
    with pytest.raises(SpecError, match="encoding overlaps instruction 't'"):
        spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = [0, 1] }\n"))


def test_an_excluded_value_nothing_else_has_is_no_instruction(tmp_path):
    s = spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3, a = [0, 7] }\n"))
    assert decode(s, 0xF000 | (1 << 10) | 7) is None
    assert decode(s, 0xF000 | (1 << 10) | 0) is None
    assert decode(s, 0xF000 | (1 << 10) | 8) == ("t", {"rd": 1, "a": 8})


@pytest.mark.parametrize("exclude,message", [
    ("exclude = { q = 1 }", "exclude: 'q' is not a field of the encoding"),
    ("exclude = { rd = 4 }", "exclude: excluded value 4 does not fit the 2-bit field 'rd'"),
    ("exclude = { rd = [0, 1, 2, 3] }", "exclude: its excluded values leave no word that encodes it"),
    ('exclude = { rd = "pc" }', "instructions.t.exclude.rd: 'pc' is neither a value (an integer >= 0) nor a list"),
    ("exclude = { rd = [1.5] }", "expected an integer, got 1.5"),
])
def test_exclusion_errors(tmp_path, exclude, message):
    with pytest.raises(SpecError) as info:
        spec_with(tmp_path, FAMILY.format(exclude=exclude + "\n"))
    assert message in str(info.value)
    assert info.value.where == "instruction 't'" and info.value.line == 8


def test_a_value_the_field_never_holds_cannot_be_excluded():
    enc = parse_encoding("1111 imm[4:1] 0000 0000")  # bit 0 of imm is not encoded: imm is even
    with pytest.raises(EncodingError, match="field 'imm' never holds 3: bit 0 of it is not in the encoding"):
        enc.exclude("imm", 3)
    enc.exclude("imm", 2)
    assert not enc.matches(0xF100) and enc.matches(0xF200)


@st.composite
def _excluding(draw):
    """An encoding of up to 10 bits with fields of several pieces, and some values of its fields excluded."""
    width = draw(st.integers(3, 10))
    kinds = [draw(st.sampled_from("01ab")) for _ in range(width)]
    tokens = [k if k in "01" else f"{k}[{sum(1 for j in kinds[i + 1:] if j == k)}]" for i, k in enumerate(kinds)]
    enc = parse_encoding(" ".join(tokens))
    for name, w in enc.field_widths.items():
        for v in draw(st.lists(st.integers(0, (1 << w) - 1), max_size=3)):
            enc.exclude(name, v)
    return enc


@settings(max_examples=300, deadline=None)
@given(_excluding())
def test_the_patterns_are_exactly_the_words_of_the_encoding(enc):
    """What the overlap check compares (Encoding.patterns) is exact: disjoint, and covering
    the words that match the encoding and no others."""
    try:
        pats = enc.patterns(limits.MAX_ENCODING_PATTERNS)
    except EncodingError:
        pats = []
    for word in range(1 << enc.width):
        hits = [p for p in pats if word & p[0] == p[1]]
        assert len(hits) == (1 if enc.matches(word) else 0), (hex(word), pats)
        if enc.matches(word):
            assert enc.allows(enc.extract(word))


def test_the_patterns_of_one_encoding_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ENCODING_PATTERNS", 5)
    with pytest.raises(SpecError, match="split the encoding into more than 5 patterns; exclude fewer values"):
        spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3, a = 7 }\n"))


def test_the_patterns_of_a_spec_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SPEC_PATTERNS", 16)  # pg74's 14 instructions, then t's 2 patterns pass it
    with pytest.raises(SpecError) as info:
        spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3 }\n"))
    assert "more than 16 patterns in all" in info.value.message and info.value.where == "instruction 'u'"


ENUM = '''
[enums.sel]
zero = 0
one = 1
three = 3

[operands]
q = {{ kind = "enum", enum = "sel" }}

[instructions.v]
encoding = "1111 q:2 a:10"
variants = "q"
{exclude}semantics = "r[0] = zext(a, 16)"
'''


def test_an_excluded_member_is_no_unit_and_the_others_remain(tmp_path):
    s = spec_with(tmp_path, ENUM.format(exclude="exclude = { q = 3 }\n"))
    assert [u.id for u in units_of(s) if u.instruction == "v"] == ["v.zero", "v.one", "v.other"]
    s = spec_with(tmp_path, ENUM.format(exclude="exclude = { q = [2, 3] }\n"))
    assert [u.id for u in units_of(s) if u.instruction == "v"] == ["v.zero", "v.one"]


def test_a_claim_on_an_excluded_member_selects_nothing(tmp_path):
    claim = '\n[claims.instructions]\n"v.three" = { privileged = false }\n'
    with pytest.raises(SpecError, match="member 'three' = 3 is a value the encoding of 'v' excludes from 'q'"):
        spec_with(tmp_path, ENUM.format(exclude="exclude = { q = 3 }\n") + claim)
    claim = '\n[claims.instructions]\n"v.other" = { privileged = false }\n'
    with pytest.raises(SpecError, match="names or the encoding excludes every value of the 2-bit operand 'q'"):
        spec_with(tmp_path, ENUM.format(exclude="exclude = { q = 2 }\n") + claim)


def test_the_assembler_refuses_an_excluded_value(tmp_path):
    s = spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3 }\n").replace(
        'encoding = "1111 rd:2 a:10"', 'encoding = "1111 rd:2 a:10"\nsyntax = "t {rd}, {a}"'))
    assert list(assemble(s, "t r2, 5\nu 5").memory.values()) == [0xF805, 0xFC05]
    with pytest.raises(AsmError, match="'rd' = 3 is a value the encoding excludes"):
        assemble(s, "t r3, 5")


def test_the_fuzzer_draws_no_excluded_value(tmp_path):
    from hypothesis import strategies as hst

    from vverify.fuzz.programs import _Draws

    s = spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = [1, 3] }\n"))
    draws = _Draws(s, {"t": 50})

    @settings(max_examples=200, deadline=None)
    @given(hst.data())
    def draw(data):
        name, ops = data.draw(draws.instruction)
        word = s.instructions[name].encoding.encode(ops)
        assert decode(s, word) == (name, ops)

    draw()


def test_the_excluded_values_of_an_encoding_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_EXCLUDED_VALUES", 3)
    spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3, a = [1, 2] }\n"))
    with pytest.raises(SpecError, match="exclude: 4 excluded values; an encoding may exclude at most 3"):
        spec_with(tmp_path, FAMILY.format(exclude="exclude = { rd = 3, a = [1, 2, 5] }\n"))
