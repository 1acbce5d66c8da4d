"""Instruction encodings: bit patterns with named fields.

A pattern lists bits most-significant first, separated by spaces::

    "0000000 rs2:5 rs1:5 000 rd:5 0110011"
    "imm[12|10:5] rs2:5 rs1:5 000 imm[4:1|11] 1100011"

``0``/``1`` runs are fixed bits, ``name:N`` is a whole N-bit field, and
``name[hi:lo|b|...]`` places pieces of a field (bits of the field not placed
anywhere are zero, like bit 0 of a RISC-V branch offset).  The instruction
word is the little-endian value of the units fetched at pc.  Decoders,
assemblers and overlap checks are all derived from this one description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .ir import mask
from .limits import MAX_WIDTH, show_int  # MAX_WIDTH: bits in one instruction word, and in any field

# whole-token patterns, used with fullmatch
_WHOLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):([0-9]{1,9})")
_PIECES = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([0-9:|]+)\]")
_FIXED = re.compile(r"[01_]+")


class EncodingError(ValueError):
    """A malformed pattern; the loader adds the file and line."""


@dataclass(frozen=True)
class Piece:
    pos: int  # lowest bit of the piece in the instruction word
    nbits: int
    field_lo: int  # lowest bit of the piece within the field value


@dataclass
class Encoding:
    pattern: str
    width: int
    fixed_mask: int
    fixed_value: int
    pieces: dict = field(default_factory=dict)  # field name -> [Piece]
    field_widths: dict = field(default_factory=dict)  # field name -> width in bits
    excluded: dict = field(default_factory=dict)  # field name -> values the field may not hold
    exclusions: tuple = ()  # the same, as (word mask, word value): a word matching one is not this encoding
    pattern_list: list | None = None  # patterns(), once the loader has checked them

    def matches(self, word: int) -> bool:
        if (word & self.fixed_mask) != self.fixed_value:
            return False
        for m, v in self.exclusions:
            if (word & m) == v:
                return False
        return True

    def allows(self, values: dict) -> bool:
        """Whether field ``values`` avoid every excluded value (so their word is this instruction)."""
        return not any(values.get(name) in vals for name, vals in self.excluded.items())

    def exclude(self, name: str, value: int):
        """Exclude ``value`` of field ``name``: words whose field holds it are not this encoding
        (they are another instruction's, or no instruction's)."""
        if name not in self.pieces:
            raise EncodingError(f"'{name}' is not a field of the encoding")
        width = self.field_widths[name]
        if value < 0 or value >> width:
            raise EncodingError(f"excluded value {show_int(value)} does not fit the {width}-bit field '{name}'")
        unplaced = value & ~self.placed_bits(name)
        if unplaced:
            raise EncodingError(f"field '{name}' never holds {value}: bit {unplaced.bit_length() - 1} of it is not "
                                "in the encoding, so it is always 0")
        if value in self.excluded.get(name, ()):  # a short list: the loader bounds it (limits.MAX_EXCLUDED_VALUES)
            return
        self.excluded.setdefault(name, []).append(value)
        word_mask = word_value = 0
        for p in self.pieces[name]:
            word_mask |= mask(p.nbits) << p.pos
            word_value |= ((value >> p.field_lo) & mask(p.nbits)) << p.pos
        self.exclusions += ((word_mask, word_value),)

    def patterns(self, limit: int) -> list:
        """Disjoint ``(fixed mask, fixed value)`` patterns whose words are exactly this encoding's.

        Without exclusions that is the encoding's own; each excluded value
        splits every pattern it cuts into the pieces around it (one per bit of
        the value the pattern leaves free).  The overlap check compares these,
        so two encodings that an excluded value keeps apart do not clash.
        More than ``limit`` patterns is an error: a few exclusions make a few
        dozen, but many on wide fields multiply.
        """
        out = [(self.fixed_mask, self.fixed_value)]
        for xm, xv in self.exclusions:
            cut = []
            for m, v in out:
                if (v ^ xv) & m & xm:  # the pattern fixes a bit the other way: it keeps all its words
                    cut.append((m, v))
                    continue
                free, done = xm & ~m, 0
                while free:  # the words that differ from the value first at this bit, after agreeing above
                    bit = 1 << (free.bit_length() - 1)
                    cut.append((m | done | bit, v | (xv & done) | (~xv & bit)))
                    done |= bit
                    free ^= bit
                if len(cut) > limit:
                    raise EncodingError(f"its excluded values split the encoding into more than {limit} patterns; "
                                        "exclude fewer values")
            out = cut
        if not out:
            raise EncodingError("its excluded values leave no word that encodes it")
        return out

    def extract(self, word: int) -> dict:
        """Field values of ``word`` (which must match)."""
        out = {}
        for name, pieces in self.pieces.items():
            v = 0
            for p in pieces:
                v |= ((word >> p.pos) & mask(p.nbits)) << p.field_lo
            out[name] = v
        return out

    def encode(self, values: dict) -> int:
        """The word with ``values`` placed into its fields (values must fit)."""
        word = self.fixed_value
        for name, pieces in self.pieces.items():
            v = values[name]
            for p in pieces:
                word |= ((v >> p.field_lo) & mask(p.nbits)) << p.pos
        return word

    def placed_bits(self, name: str) -> int:
        """Mask of the field bits that the encoding actually carries."""
        m = 0
        for p in self.pieces[name]:
            m |= mask(p.nbits) << p.field_lo
        return m


def parse_encoding(pattern: str) -> Encoding:
    tokens = pattern.split()
    if not tokens:
        raise EncodingError("empty encoding")
    parts = []  # (kind, payload, nbits) MSB first
    for tok in tokens:
        if _FIXED.fullmatch(tok):
            bits = tok.replace("_", "")
            if bits:
                parts.append(("fixed", bits, len(bits)))
            continue
        m = _WHOLE.fullmatch(tok)
        if m:
            n = int(m.group(2))
            if n < 1:
                raise EncodingError(f"field '{tok}' has no bits")
            if n > MAX_WIDTH:
                raise EncodingError(f"field '{tok}' is wider than {MAX_WIDTH} bits")
            parts.append(("field", (m.group(1), [(n - 1, 0)]), n))
            continue
        m = _PIECES.fullmatch(tok)
        if m:
            ranges = []
            if re.search(r"[0-9]{10}", m.group(2)):  # before int(), which has a digit limit
                raise EncodingError(f"bit number too large in '{tok}'")
            for r in m.group(2).split("|"):
                if not r:
                    raise EncodingError(f"empty bit range in '{tok}'")
                if ":" in r:
                    hi_s, _, lo_s = r.partition(":")
                    if not hi_s or not lo_s or ":" in lo_s:
                        raise EncodingError(f"bad bit range '{r}' in '{tok}'")
                    hi, lo = int(hi_s), int(lo_s)
                else:
                    hi = lo = int(r)
                if hi < lo:
                    raise EncodingError(f"bit range [{hi}:{lo}] in '{tok}' is reversed")
                if hi >= MAX_WIDTH:
                    raise EncodingError(f"bit {hi} in '{tok}' is beyond the {MAX_WIDTH}-bit limit")
                ranges.append((hi, lo))
            parts.append(("field", (m.group(1), ranges), sum(h - l + 1 for h, l in ranges)))
            continue
        raise EncodingError(f"cannot read encoding token '{tok}'")
    width = sum(p[2] for p in parts)
    if width > MAX_WIDTH:
        raise EncodingError(f"encoding is {width} bits, more than {MAX_WIDTH}")
    pos = width
    fixed_mask = fixed_value = 0
    pieces: dict = {}
    for kind, payload, nbits in parts:
        if kind == "fixed":
            for ch in payload:
                pos -= 1
                fixed_mask |= 1 << pos
                fixed_value |= int(ch) << pos
            continue
        name, ranges = payload
        for hi, lo in ranges:
            n = hi - lo + 1
            pos -= n
            pieces.setdefault(name, []).append(Piece(pos, n, lo))
    widths = {}
    for name, ps in pieces.items():
        seen = 0
        for p in ps:
            m = mask(p.nbits) << p.field_lo
            if seen & m:
                raise EncodingError(f"field '{name}' places the same bit twice")
            seen |= m
        widths[name] = max(p.field_lo + p.nbits for p in ps)
    return Encoding(pattern, width, fixed_mask, fixed_value, pieces, widths)


def overlap(a: Encoding, b: Encoding, low_first: bool = True) -> bool:
    """Whether some instruction word matches both encodings.

    Encodings of different lengths are compared on the bits fetched first
    (the low bits, for little-endian fetch), which is where a decoder would
    have to tell them apart.
    """
    w = min(a.width, b.width)
    if low_first:
        m = mask(w)
        am, av, bm, bv = a.fixed_mask & m, a.fixed_value & m, b.fixed_mask & m, b.fixed_value & m
    else:
        am, av = a.fixed_mask >> (a.width - w), a.fixed_value >> (a.width - w)
        bm, bv = b.fixed_mask >> (b.width - w), b.fixed_value >> (b.width - w)
    common = am & bm
    return (av & common) == (bv & common)
