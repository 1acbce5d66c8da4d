"""The encoding-overlap search: exact like the pairwise check, without its quadratic work."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vverify.spec import overlaps
from vverify.spec.encoding import overlap, parse_encoding
from vverify.spec.overlaps import first_overlap


def _first_pair(encodings):
    """What the loader used to do: every instruction against every earlier one, in order."""
    for j in range(len(encodings)):
        for i in range(j):
            if overlap(encodings[j], encodings[i]):
                return j, i
    return None


@st.composite
def _pattern(draw, widths=(4, 8, 12, 16)):
    """A pattern of fixed bits and one-bit fields: every mix of fixed and free bits, several lengths."""
    width = draw(st.sampled_from(widths))
    fixed = draw(st.integers(0, (1 << width) - 1))
    value = draw(st.integers(0, (1 << width) - 1))
    bits = reversed(range(width))  # most significant first
    return " ".join(str(value >> b & 1) if fixed >> b & 1 else f"f{b}:1" for b in bits)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pattern(), min_size=0, max_size=80))
def test_finds_the_same_first_pair_as_the_pairwise_check(patterns):
    encodings = [parse_encoding(p) for p in patterns]
    assert first_overlap(encodings) == _first_pair(encodings)


@settings(max_examples=60, deadline=None)
@given(st.lists(_pattern(widths=(24, 40)), min_size=25, max_size=120))
def test_row_comparison_agrees_with_the_pairwise_check(patterns):
    """Groups that no fixed bit splits go to the bitset comparison: it must agree too."""
    encodings = [parse_encoding(p) for p in patterns]
    items = [(k, e.fixed_mask, e.fixed_value) for k, e in enumerate(encodings)]
    ones = zeros = 0
    for _, m, v in items:
        ones, zeros = ones | v, zeros | (m & ~v)
    telling = ones & zeros
    expected = _first_pair(encodings)
    if telling:
        assert overlaps._pairwise_bitsets(items, telling) == expected
    assert first_overlap(encodings) == expected


def _riscv_like(n):
    """n distinct RISC-V-shaped encodings: opcode, funct3 and funct7 fixed, register fields free."""
    out = []
    for k in range(n):
        code = format(k, "015b")
        out.append(parse_encoding(f"{code[:7]} rs2:5 rs1:5 {code[7:10]} rd:5 {code[10:]}11"))
    return out


def _x86_like(n):
    """n distinct encodings of two lengths, told apart by their low (first-fetched) bytes."""
    out = []
    for k in range(n):
        code = format(k, "016b")
        if k % 3:
            out.append(parse_encoding(f"11 rs:3 rd:3 {code}"))
        else:
            out.append(parse_encoding(f"imm:32 11 rs:3 {code[:3]} {code[3:]}"))
    return out


@pytest.mark.parametrize("family", [_riscv_like, _x86_like])
def test_realistic_encodings_are_not_compared_pair_by_pair(monkeypatch, family):
    """Bound the work, not the time: on encodings a decoder tells apart by fixed bits, only
    small groups are ever compared, so 20,000 instructions cost about 20,000 comparisons
    where the old check made 200 million."""
    compared = []
    pairwise, bitsets = overlaps._pairwise, overlaps._pairwise_bitsets
    monkeypatch.setattr(overlaps, "_pairwise", lambda g: compared.append(len(g) ** 2) or pairwise(g))
    monkeypatch.setattr(overlaps, "_pairwise_bitsets", lambda g, t: compared.append(len(g) ** 2) or bitsets(g, t))
    encodings = family(20_000)
    assert first_overlap(encodings) is None
    assert sum(compared) <= 20_000 * overlaps._SMALL


def test_an_overlap_among_many_is_found_and_named_in_declaration_order():
    encodings = _riscv_like(5000)
    encodings.insert(3000, parse_encoding("imm:25 0000011"))  # overlaps every encoding ending in 0000011
    assert first_overlap(encodings) == (3000, 0)
    assert first_overlap(encodings) == _first_pair(encodings[:3001])
