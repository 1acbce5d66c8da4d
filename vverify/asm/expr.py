"""Operand expressions: numbers, symbols, ``.`` and integer arithmetic.

Grammar (loosest first, as in Python)::

    expr  := xor ('|' xor)*
    xor   := and ('^' and)*
    and   := shift ('&' shift)*
    shift := sum (('<<' | '>>') sum)*
    sum   := prod (('+' | '-') prod)*
    prod  := unary ('*' unary)*
    unary := ('-' | '+' | '~') unary | NUMBER | SYMBOL | '.' | '(' expr ')'

Values are unbounded Python integers; the operand that uses a value decides
whether it fits.
"""

from __future__ import annotations

from dataclasses import dataclass


class ExprError(ValueError):
    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index  # token index (relative to the span parsed) where it went wrong
        self.message = message


@dataclass(frozen=True)
class Num:
    value: int


@dataclass(frozen=True)
class Sym:
    name: str
    col: int


@dataclass(frozen=True)
class Unary:
    op: str
    arg: object


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object


_LEVELS = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*",))


def parse_expr(toks) -> object:
    """Parse all of ``toks`` as one expression; raises ExprError."""
    toks = list(toks)
    if not toks:
        raise ExprError(0, "missing value")
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def level(n):
        nonlocal pos
        if n == len(_LEVELS):
            return unary()
        left = level(n + 1)
        while True:
            t = peek()
            if t is not None and t.kind == "punct" and t.text in _LEVELS[n]:
                pos += 1
                left = Binary(t.text, left, level(n + 1))
            else:
                return left

    def unary():
        nonlocal pos
        t = peek()
        if t is None:
            raise ExprError(pos, "expression ends too early")
        if t.kind == "punct" and t.text in ("-", "+", "~"):
            pos += 1
            return Unary(t.text, unary())
        if t.kind == "num":
            pos += 1
            return Num(t.value)
        if t.kind == "id":
            pos += 1
            return Sym(t.text, t.col)
        if t.kind == "punct" and t.text == "(":
            pos += 1
            e = level(0)
            c = peek()
            if c is None or c.text != ")":
                raise ExprError(pos, "missing ')'" if c is None else f"expected ')', found '{c.text}'")
            pos += 1
            return e
        raise ExprError(pos, f"expected a number or a symbol, found '{t.text}'")

    e = level(0)
    if pos != len(toks):
        raise ExprError(pos, f"unexpected '{toks[pos].text}' in expression")
    return e


def symbols_of(e) -> list:
    """The symbols an expression mentions, in order."""
    if isinstance(e, Sym):
        return [e]
    if isinstance(e, Unary):
        return symbols_of(e.arg)
    if isinstance(e, Binary):
        return symbols_of(e.left) + symbols_of(e.right)
    return []


def evaluate(e, lookup) -> int:
    """The value of ``e``; ``lookup(sym)`` gives a symbol's value (or raises)."""
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Sym):
        return lookup(e)
    if isinstance(e, Unary):
        v = evaluate(e.arg, lookup)
        return -v if e.op == "-" else ~v if e.op == "~" else v
    a, b = evaluate(e.left, lookup), evaluate(e.right, lookup)
    op = e.op
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if op in ("<<", ">>"):
        if b < 0 or b > 4096:
            raise ValueError(f"shift by {b} is out of range")
        return a << b if op == "<<" else a >> b
    raise AssertionError(op)  # pragma: no cover
