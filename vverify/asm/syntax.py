"""Syntax templates, compiled from each instruction's ``syntax`` string.

A template such as ``"lw {rd}, {imm}({rs1})"`` is literal text with operand
placeholders ``{name}`` (``name`` is a field of the instruction's encoding).
Its first word is the mnemonic, matched case-insensitively; the rest is
matched token by token (see :mod:`vverify.asm.lexer`), so whitespace only
matters between two words or numbers.  Literal words match
case-insensitively, literal numbers by value.

A placeholder takes the tokens up to the next literal of the template (or
the end of the line); when that literal also occurs inside the operand, as
``(`` in ``lw a0, (4+4)(sp)``, every split is tried.

When an instruction has no ``syntax``, or one that cannot be used (it does
not start with a word, names something that is not a field of the
encoding, repeats a placeholder, puts two placeholders side by side, or
glues a placeholder to a word such as ``r{rd}``), the instruction gets the
fallback template ``name {f1}, {f2}, ...``, its fields in the order the
encoding lists them; :func:`syntax_table` records why in ``problems``.
Fields that a usable template does not mention are assembled as 0, and a
word in which such a field is not 0 disassembles as ``.word``.

This module also holds the per-field codecs: how an operand's value becomes
the field's bits (range checks, pc-relative offsets, bits the encoding does
not carry) and how a field's bits are shown.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

from ..spec.ir import mask, to_signed
from .expr import ExprError, parse_expr
from .lexer import COMMENT_CHARS, LexError, Token, is_identifier, tokenize

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_WORDCH = re.compile(r"[A-Za-z0-9_.$]")


# ---------------------------------------------------------------- field codecs


class FieldError(ValueError):
    """An operand value that the field cannot hold (message for the user)."""


def _fmt_unsigned(v: int) -> str:
    return str(v) if v < 10 else f"0x{v:x}"


@dataclass
class FieldCodec:
    """How one encoding field of one instruction is written and read."""

    name: str
    kind: str  # reg | imm | enum
    width: int  # bits of the field value
    placed: int  # mask of the field bits the encoding carries
    signed: bool = False
    pcrel: bool = False
    pc_width: int = 32
    file: object = None  # RegFile for reg fields
    regs: dict = field(default_factory=dict)  # lower-case register name -> index
    enum: str | None = None
    members: dict = field(default_factory=dict)  # lower-case member -> value
    member_names: dict = field(default_factory=dict)  # value -> member name (first declared)
    excluded: frozenset = frozenset()  # field values the encoding excludes (the word is another instruction's)

    @property
    def low_zero_bits(self) -> int:
        """How many low bits of the value the encoding never carries."""
        p = self.placed
        return (p & -p).bit_length() - 1 if p else 0

    @property
    def nameless(self) -> bool:
        return self.kind == "reg" and not self.file.names

    # -- writing

    def bounds(self) -> tuple:
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, mask(self.width)

    def describe_range(self) -> str:
        lo, hi = self.bounds()
        k = self.low_zero_bits
        step = f", a multiple of {1 << k}" if k and (self.placed | mask(k)) == mask(self.width) else ""
        if k and step:
            hi -= mask(k)
        sign = "signed" if self.signed else "unsigned"
        return f"{sign} {self.width} bits{step}: {lo}..{hi}"

    def to_field(self, value: int, pc: int = 0) -> int:
        """The field bits for operand value ``value`` of an instruction at ``pc``."""
        bits = self._to_field(value, pc)
        if bits in self.excluded:
            raise FieldError(f"'{self.name}' = {_fmt_unsigned(bits)} is a value the encoding excludes: "
                             "that word is another instruction (or none)")
        return bits

    def _to_field(self, value: int, pc: int) -> int:
        if self.kind == "reg":
            if not 0 <= value < self.file.count:
                raise FieldError(f"register number {value} is out of range for file '{self.file.name}' "
                                 f"(0..{self.file.count - 1})")
            return value
        if self.kind == "enum":
            if not 0 <= value <= mask(self.width):
                raise FieldError(f"{self.enum} number {value} does not fit {self.width} bits")
            return value
        v = value
        if self.pcrel:
            v = (value - pc) & mask(self.pc_width)
            if self.signed:
                v = to_signed(v, self.pc_width)
        lo, hi = self.bounds()
        if not lo <= v <= hi:
            if self.pcrel:
                raise FieldError(f"target {_fmt_addr(value)} is out of reach: offset {v} from pc "
                                 f"{_fmt_addr(pc)} does not fit '{self.name}' ({self.describe_range()})")
            raise FieldError(f"immediate {v} does not fit '{self.name}' ({self.describe_range()})")
        bits = v & mask(self.width)
        stray = bits & ~self.placed
        if stray:
            k = self.low_zero_bits
            if k and stray & mask(k) == stray:
                low = "bit 0" if k == 1 else f"bits {k - 1}:0"
                if self.pcrel:
                    raise FieldError(f"target {_fmt_addr(value)} is at offset {v} from pc {_fmt_addr(pc)}, "
                                     f"not a multiple of {1 << k} ({low} of '{self.name}' not encoded)")
                msg = f"immediate {_fmt_unsigned(v) if v >= 0 else v} for '{self.name}' is not a multiple of " \
                      f"{1 << k} ({low} not encoded)"
                if not self.signed and (v << k) <= hi and (v << k) & ~self.placed == 0:
                    msg += f"; the operand is the whole value: did you mean {_fmt_unsigned(v << k)}?"
                raise FieldError(msg)
            raise FieldError(f"immediate {v} for '{self.name}' sets bits the encoding does not carry "
                             f"(mask 0x{stray:x})")
        return bits

    # -- reading

    def render(self, bits: int, pc: int = 0, labels: dict | None = None) -> str | None:
        """The operand text for field bits ``bits`` (None if it cannot be written)."""
        if bits & ~self.placed:
            return None
        if self.kind == "reg":
            if bits >= self.file.count:
                return None
            names = self.file.names
            if bits < len(names):
                return names[bits]
            return f"{self.file.name}{bits}" if names else str(bits)
        if self.kind == "enum":
            name = self.member_names.get(bits)
            return name if name is not None else _fmt_unsigned(bits)
        if self.pcrel:
            off = to_signed(bits, self.width) if self.signed else bits
            target = (pc + off) & mask(self.pc_width)
            if labels and target in labels:
                return labels[target]
            return _fmt_addr(target)
        if self.signed:
            return str(to_signed(bits, self.width))
        return _fmt_unsigned(bits)


def _fmt_addr(a: int) -> str:
    return f"0x{a:x}" if a >= 0 else f"-0x{-a:x}"


# ------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Lit:
    tok: Token

    @property
    def text(self) -> str:
        return self.tok.text

    def matches(self, t: Token) -> bool:
        a = self.tok
        if a.kind != t.kind:
            return False
        if a.kind == "num":
            return a.value == t.value
        if a.kind == "id":
            return a.text.lower() == t.text.lower()
        return a.text == t.text


@dataclass(frozen=True)
class Slot:
    name: str


@dataclass
class Template:
    instr: object  # Instruction
    mnemonic: str  # lower case
    syntax: str  # the text the template was compiled from (rendering substitutes into it)
    items: tuple  # Lit / Slot after the mnemonic
    codecs: dict  # field name -> FieldCodec (every field of the encoding)
    hidden: tuple  # fields the syntax does not mention (assembled as 0)
    fallback: bool = False

    @property
    def groups(self) -> int:
        """Comma-separated operand groups (0 when there are no operands)."""
        return _groups(self.items, lambda it: isinstance(it, Lit) and it.text == ",")

    @property
    def literal_count(self) -> int:
        return sum(isinstance(it, Lit) for it in self.items)

    def shape(self) -> tuple:
        """What the template accepts, for spotting two templates that read the same text."""
        out = [self.mnemonic]
        for it in self.items:
            if isinstance(it, Lit):
                out.append(("lit", it.tok.kind, it.text.lower() if it.tok.kind != "num" else it.tok.value))
            else:
                c = self.codecs[it.name]
                out.append(("reg", c.file.name) if c.kind == "reg" and not c.nameless else ("value",))
        return tuple(out)

    def render(self, texts: dict) -> str:
        return _PLACEHOLDER.sub(lambda m: texts[m.group(1).strip()], self.syntax)


def _groups(items, is_comma) -> int:
    if not items:
        return 0
    depth = 0
    n = 1
    for it in items:
        t = it.tok.text if isinstance(it, Lit) else (it.text if isinstance(it, Token) else "")
        if t == "(":
            depth += 1
        elif t == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and is_comma(it):
            n += 1
    return n


@dataclass
class SyntaxTable:
    spec: object
    templates: list  # Template, in instruction order
    by_mnemonic: dict  # lower-case mnemonic -> [Template], most literal text first
    by_instr: dict  # instruction name -> Template
    problems: list  # human-readable notes about the spec's syntax strings
    align: int  # units: instructions sit at multiples of this address
    unit: int
    size: int  # memory units
    pc_width: int
    comment_chars: str = COMMENT_CHARS  # those a template does not use as literal text

    def suggest(self, word: str) -> list:
        return difflib.get_close_matches(word.lower(), list(self.by_mnemonic), n=3, cutoff=0.6)

    def __repr__(self):
        return f"<SyntaxTable of {getattr(self.spec, 'name', self.spec)}: {len(self.templates)} templates>"

    def _repr_pretty_(self, printer, cycle):
        """The one-line repr for pretty-printers too (see Spec._repr_pretty_): every template written
        out is megabytes for a large spec."""
        printer.text(repr(self))


class _Unusable(Exception):
    pass


def _codecs(spec, instr) -> dict:
    enc = instr.encoding
    out = {}
    for fname, width in enc.field_widths.items():
        od = spec.operands[fname]
        c = FieldCodec(fname, od.kind, width, enc.placed_bits(fname), od.signed, od.pcrel, spec.pc_width,
                       excluded=frozenset(enc.excluded.get(fname, ())))
        if od.kind == "reg":
            f = spec.files[od.file]
            c.file = f
            regs = {}
            for i in range(f.count):
                regs.setdefault(f"{f.name}{i}".lower(), i)
            for k, v in f.aliases.items():
                regs[str(k).lower()] = int(v)
            for i, n in enumerate(f.names):
                regs[str(n).lower()] = i
            c.regs = regs
        elif od.kind == "enum":
            c.enum = od.enum
            members = spec.enums[od.enum]
            c.members = {str(k).lower(): int(v) for k, v in members.items()}
            names = {}
            for k, v in members.items():
                if is_identifier(str(k)):
                    names.setdefault(int(v), str(k))
            c.member_names = names
        out[fname] = c
    return out


def _compile(spec, instr, syntax: str, codecs: dict) -> Template:
    if not syntax.strip():
        raise _Unusable("has no syntax")
    items = []
    pos = 0
    seen = []
    for m in _PLACEHOLDER.finditer(syntax):
        items.extend(_literal(syntax, pos, m.start()))
        name = m.group(1).strip()
        if name not in codecs:
            raise _Unusable(f"names '{{{name}}}', which is not a field of its encoding")
        if name in seen:
            raise _Unusable(f"uses '{{{name}}}' twice")
        before = syntax[m.start() - 1] if m.start() else " "
        after = syntax[m.end()] if m.end() < len(syntax) else " "
        if _WORDCH.match(before) or _WORDCH.match(after):
            raise _Unusable(f"glues '{{{name}}}' to a word, so it cannot be told apart when read")
        if items and isinstance(items[-1], Slot):
            raise _Unusable(f"puts '{{{items[-1].name}}}' and '{{{name}}}' side by side with nothing between")
        seen.append(name)
        items.append(Slot(name))
        pos = m.end()
    items.extend(_literal(syntax, pos, len(syntax)))
    if not items or not isinstance(items[0], Lit) or items[0].tok.kind != "id":
        raise _Unusable("does not start with a mnemonic")
    hidden = tuple(f for f in codecs if f not in seen)
    return Template(instr, items[0].text.lower(), syntax.strip(), tuple(items[1:]), codecs, hidden)


def _literal(syntax: str, start: int, end: int) -> list:
    text = syntax[start:end]
    if "{" in text or "}" in text:
        raise _Unusable("has an unmatched '{' or '}'")
    try:
        return [Lit(t) for t in tokenize(text, start + 1)]
    except LexError as e:
        raise _Unusable(f"cannot be read: {e.message}")


def syntax_table(spec) -> SyntaxTable:
    """The compiled templates of ``spec`` (made once per spec, kept with it)."""
    return spec.memo("asm_syntax_table", _build)


def _build(spec) -> SyntaxTable:
    problems = []
    templates = []
    for instr in spec.instructions.values():
        codecs = _codecs(spec, instr)
        try:
            t = _compile(spec, instr, instr.syntax or "", codecs)
        except _Unusable as e:
            fields = ", ".join("{" + f + "}" for f in codecs)
            fb = f"{instr.name} {fields}".strip()
            t = _compile(spec, instr, fb, codecs)
            t.fallback = True
            what = f"syntax {instr.syntax!r} {e}" if (instr.syntax or "").strip() else "has no syntax"
            problems.append(f"instruction '{instr.name}': {what}; using '{fb}'")
        else:
            if t.hidden:
                problems.append(f"instruction '{instr.name}': syntax {instr.syntax!r} does not mention "
                                f"{', '.join(t.hidden)}; assembled as 0, and words where they are not 0 "
                                f"disassemble as .word")
        templates.append(t)
    by_m: dict = {}
    for t in templates:
        by_m.setdefault(t.mnemonic, []).append(t)
    for lst in by_m.values():
        lst.sort(key=lambda t: -t.literal_count)
    shapes: dict = {}
    for t in templates:
        other = shapes.setdefault(t.shape(), t)
        if other is not t:
            problems.append(f"instruction '{t.instr.name}': syntax {t.syntax!r} reads the same text as "
                            f"'{other.instr.name}' ({other.syntax!r}); the assembler always picks "
                            f"'{other.instr.name}'")
    mem = spec.memory
    unit = mem.unit if mem else 8
    size = mem.size if mem else 1 << spec.pc_width
    align = 0
    for t in templates:
        align = math.gcd(align, t.instr.units)
    used = {it.text for t in templates for it in t.items if isinstance(it, Lit)}
    comment = "".join(ch for ch in COMMENT_CHARS if ch not in used)
    if comment != COMMENT_CHARS:
        problems.append(f"syntax uses {', '.join(repr(c) for c in COMMENT_CHARS if c in used)} as operand text, "
                        f"so comments start only with {', '.join(repr(c) for c in comment) or 'nothing'}")
    return SyntaxTable(spec, templates, by_m, {t.instr.name: t for t in templates}, problems, align or 1,
                       unit, size, spec.pc_width, comment)


def syntax_problems(spec) -> list:
    """Notes on ``spec``'s syntax strings: fallbacks, unmentioned fields, ambiguities."""
    return list(syntax_table(spec).problems)


# -------------------------------------------------------------------- matching


@dataclass
class Operand:
    """One operand as written: resolved now (``value``) or an expression for later."""

    name: str
    toks: tuple
    col: int
    value: int | None = None
    expr: object = None


class Failure:
    """The failure that got furthest into the line (the most useful to report)."""

    def __init__(self):
        self.index = -1
        self.message = ""

    def add(self, index: int, message: str):
        if index > self.index:
            self.index, self.message = index, message


def _operand(codec: FieldCodec, toks: list, base: int, fail: Failure) -> Operand | None:
    op = Operand(codec.name, tuple(toks), toks[0].col)
    if len(toks) == 1 and toks[0].kind == "id":
        word = toks[0].text.lower()
        if codec.kind == "reg" and word in codec.regs:
            op.value = codec.regs[word]
            return op
        if codec.kind == "enum" and word in codec.members:
            op.value = codec.members[word]
            return op
        if codec.kind == "reg" and not codec.nameless:
            near = difflib.get_close_matches(word, list(codec.regs), n=3, cutoff=0.6)
            hint = f"; did you mean {_quote_list(near)}?" if near else ""
            fail.add(base, f"unknown register '{toks[0].text}' for {{{codec.name}}} "
                           f"(register file '{codec.file.name}'){hint}")
            return None
    elif codec.kind == "reg" and not codec.nameless:
        fail.add(base, f"expected a register of file '{codec.file.name}' for {{{codec.name}}}, "
                       f"found '{' '.join(t.text for t in toks)}'")
        return None
    try:
        op.expr = parse_expr(toks)
    except ExprError as e:
        fail.add(base + e.index, f"bad operand {{{codec.name}}}: {e.message}")
        return None
    return op


def _quote_list(words) -> str:
    words = [f"'{w}'" for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def match(template: Template, toks: list, fail: Failure) -> dict | None:
    """Operands of ``toks`` (the tokens after the mnemonic) read with ``template``, or None."""
    items = template.items
    bound: dict = {}

    def go(k: int, i: int) -> bool:
        if k == len(items):
            if i == len(toks):
                return True
            fail.add(i, f"unexpected '{toks[i].text}' after the last operand")
            return False
        it = items[k]
        if isinstance(it, Lit):
            if i < len(toks) and it.matches(toks[i]):
                return go(k + 1, i + 1)
            found = f", found '{toks[i].text}'" if i < len(toks) else " before the end of the line"
            fail.add(i, f"expected '{it.text}'{found}")
            return False
        if i >= len(toks):
            fail.add(i, f"missing operand {{{it.name}}}")
            return False
        if k + 1 == len(items):
            ends = [len(toks)]
        else:
            nxt = items[k + 1]
            ends = [j for j in range(i + 1, len(toks)) if nxt.matches(toks[j])]
            if not ends:
                if nxt.matches(toks[i]):
                    fail.add(i, f"missing operand {{{it.name}}} before '{nxt.text}'")
                else:
                    fail.add(len(toks), f"expected '{nxt.text}' after operand {{{it.name}}}")
                return False
        codec = template.codecs[it.name]
        for j in ends:
            op = _operand(codec, toks[i:j], i, fail)
            if op is None:
                continue
            bound[it.name] = op
            if go(k + 1, j):
                return True
            del bound[it.name]
        return False

    return dict(bound) if go(0, 0) else None


def operand_groups(toks: list) -> int:
    """Comma-separated operand groups in the tokens after a mnemonic."""
    return _groups(toks, lambda t: t.kind == "punct" and t.text == ",")
