"""Tokens of one line of assembly (and of the literal text of syntax templates).

Identifiers may contain dots (``sfence.vma``, ``.org``, ``.L1``); ``.`` alone
is the current location.  Numbers are decimal, ``0x``, ``0o`` or ``0b`` (with
optional ``_`` separators).  Every other non-blank character is punctuation,
except ``<<`` and ``>>``, which are one token each.  Columns are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>[0-9][A-Za-z0-9_]*)"
    r"|(?P<id>[A-Za-z_.$][A-Za-z0-9_.$]*)"
    r"|(?P<op><<|>>)"
    r"|(?P<punct>\S)"
)
IDENT = re.compile(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$")
_BASES = {"0x": 16, "0o": 8, "0b": 2}


class LexError(ValueError):
    def __init__(self, col: int, message: str):
        super().__init__(message)
        self.col = col
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # "id" | "num" | "punct"
    text: str
    col: int  # 1-based column in the line
    value: int = 0  # for numbers

    def describe(self) -> str:
        return f"'{self.text}'"


def parse_number(text: str) -> int | None:
    """The value of a number literal, or None if it is malformed."""
    t = text.lower().replace("_", "")
    if not t or text.endswith("_"):
        return None
    base = _BASES.get(t[:2])
    if base:
        digits = t[2:]
        if not digits:
            return None
        try:
            return int(digits, base)
        except ValueError:
            return None
    return int(t) if t.isdigit() else None


COMMENT_CHARS = "#;"


def strip_comment(line: str, chars: str = COMMENT_CHARS) -> str:
    """The line without its comment (from any of ``chars`` to the end of the line)."""
    for i, ch in enumerate(line):
        if ch in chars:
            return line[:i]
    return line


def tokenize(text: str, col0: int = 1) -> list:
    """Tokens of ``text`` (a line without its comment); raises LexError."""
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        kind = m.lastgroup
        s = m.group()
        col = col0 + pos
        if kind == "num":
            v = parse_number(s)
            if v is None:
                raise LexError(col, f"malformed number '{s}'")
            out.append(Token("num", s, col, v))
        elif kind == "id":
            out.append(Token("id", s, col))
        elif kind in ("op", "punct"):
            out.append(Token("punct", s, col))
        pos = m.end()
    return out


def is_identifier(name: str) -> bool:
    return bool(IDENT.match(name)) and name != "."
