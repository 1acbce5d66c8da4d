"""Decoding: which instruction a word encodes, and its operands.

A function of the spec's encodings alone, so it belongs to the spec layer:
the reference interpreter, the VMMs (which decode guest code after exits
and when translating blocks) and the fuzzer all use this one.  Each spec
remembers what it decoded (:meth:`Spec.memo`), because guests run the same
code again and again; the memo is bounded because a long fuzz run meets
ever new words.
"""

from __future__ import annotations

from ..memo import BoundedMemo
from .ir import mask

MEMO_WORDS = 1 << 16


def decode(spec, word: int):
    """``(instruction name, operands)`` that ``word`` encodes, or None; the operands are a fresh dict."""
    memo = spec.memo("decoded", lambda s: BoundedMemo(MEMO_WORDS))
    hit = memo.get(word, memo)
    if hit is memo:
        hit = memo.remember(word, _decode(spec, word))
    return None if hit is None else (hit[0], dict(hit[1]))


def _decode(spec, word: int):
    for name, instr in spec.instructions.items():
        enc = instr.encoding
        if enc.matches(word & mask(enc.width)):
            return name, enc.extract(word & mask(enc.width))
    return None


def unit_of_word(spec, word: int):
    """The classified unit ``word`` encodes (its id, as ``csrrs.mstatus``), or None; remembered per word."""
    memo = spec.memo("unit_of_word", lambda s: BoundedMemo(MEMO_WORDS))
    hit = memo.get(word, memo)
    if hit is memo:
        from .units import unit_id  # only on a miss: an import statement costs more than the hit

        d = decode(spec, word)
        hit = memo.remember(word, None if d is None else unit_id(spec, *d))
    return hit
