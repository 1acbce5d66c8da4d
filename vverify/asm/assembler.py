"""The assembler: text in a spec's own syntax to memory units.

Two passes.  The first reads every line, picks each instruction's template
(so its size is known), assigns addresses to labels and runs the layout
directives; the second evaluates operands, which may name labels defined
later, and encodes.

Conventions (the same for every spec; see docs/assembly.md):

* Addresses and sizes are in memory units (16-bit words on pg74, 36-bit
  words on pdp10, bytes on riscv32), as ``pc`` counts them.
* ``.word`` emits one memory unit per value (a byte on riscv32, unlike the
  GNU assembler's 4-byte ``.word``).
* An operand of a ``pcrel`` field is the *target address* (a label, a
  number or an expression such as ``.+8``); the field gets ``target - pc``
  of the instruction, wrapped to the width of ``pc`` and then range-checked
  (signed fields as two's complement).  This is the GNU convention (and the
  disassembler's output), so ``beq a0, a1, -4`` at address 0 branches back
  4 bytes, while at address 0x100 it targets address -4; write ``.-4`` for
  "4 units before this instruction" anywhere.
* Any other immediate is the value the semantics sees, checked against the
  field width (signed fields as signed, others as unsigned).  Field bits
  the encoding does not carry (bit 0 of a RISC-V branch offset, bits 11:0 of
  riscv32's ``upper``) must be zero.  So riscv32's ``lui``/``auipc`` take
  the whole 32-bit value (``lui a0, 0x12345000``), not GNU's upper 20 bits
  (``lui a0, 0x12345``): the spec declares ``upper`` as the 32-bit value.
* Register operands accept the file's ``names``, its ``aliases`` and
  ``<file><index>`` (``x5``, ``r2``, ``ac3``); a file without ``names``
  (pdp10's accumulators) also takes a plain number or expression.  Enum
  operands take a member name or a number.  Names are case-insensitive;
  labels and constants are case-sensitive.
* Instructions must sit at a multiple of the instruction granule (the gcd
  of the spec's instruction lengths: 4 bytes on riscv32, 1 elsewhere).
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import stat
from dataclasses import dataclass, field
from typing import NamedTuple

from ..spec.ir import mask
from .errors import AsmError
from .expr import ExprError, Sym, evaluate, parse_expr
from .lexer import LexError, is_identifier, strip_comment, tokenize
from .syntax import Failure, FieldError, match, operand_groups, syntax_table

DIRECTIVES = (".org", ".word", ".fill", ".space", ".equ", ".align", ".entry", ".include")
MAX_INCLUDE_DEPTH = 8
MAX_INCLUDE_BYTES = 1 << 20
_INCLUDE = re.compile(r'\s*\.include\s+"([^"]+)"\s*', re.IGNORECASE)


class SourceLine(NamedTuple):
    line: int  # 1-based
    text: str
    file: str = ""  # the file the line is in, where it is not the program's own (an .include)


@dataclass
class Program:
    """An assembled program.

    ``memory`` maps address -> unit value for every unit the program writes
    (gaps left by ``.org`` and ``.align`` are not written); ``symbols`` maps
    each label to its address and ``constants`` each ``.equ`` name to its
    value; ``lines`` maps the first address of every statement that emits
    something to its source line, and ``code`` the address of every
    instruction (not data) to its length in units.  ``entry`` is the ``.entry`` address, else
    the first instruction's address, else the origin.
    """

    spec_name: str
    unit: int
    memory: dict = field(default_factory=dict)
    symbols: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    code: dict = field(default_factory=dict)  # address of every instruction -> its length in units
    entry: int = 0
    origin: int = 0
    file: str = "<asm>"

    @property
    def end(self) -> int:
        """One past the highest address written (the origin if nothing was)."""
        return max(self.memory) + 1 if self.memory else self.origin

    def units(self, start: int, count: int, fill: int = 0) -> list:
        return [self.memory.get(a, fill) for a in range(start, start + count)]

    def source_of(self, address: int) -> SourceLine | None:
        """The source line of the statement that wrote ``address``."""
        starts = sorted(self.lines)
        i = bisect.bisect_right(starts, address) - 1
        return self.lines[starts[i]] if i >= 0 else None


@dataclass
class _Stmt:
    kind: str  # instr | data (.word) | fill (.fill, .space) | entry
    line: int
    col: int
    text: str
    address: int = 0
    size: int = 0
    template: object = None
    operands: dict = field(default_factory=dict)
    args: list = field(default_factory=list)  # [(expr, col)]: the values (.word), the fill value, the entry
    repeat: int = 1  # units a .fill/.space writes
    file: str = ""  # where the statement is written (the program's file, or one it includes)


class _Asm:
    def __init__(self, spec, file: str, include_dirs=()):
        self.spec = spec
        self.table = syntax_table(spec)
        self.file = file
        self.main_file = file
        self.include_dirs = tuple(include_dirs)
        self.labels: dict = {}  # name -> address
        self.label_line: dict = {}  # name -> line defined
        self.equs: dict = {}  # name -> (expr, address of the .equ, line, col)
        self.equ_values: dict = {}
        self.stmts: list = []

    def err(self, message: str, line: int = 0, col: int = 0) -> AsmError:
        return AsmError(message, line, col, self.file)

    # ------------------------------------------------------------ symbols

    def define(self, name: str, line: int, col: int):
        if name == "." or not is_identifier(name):
            raise self.err(f"'{name}' cannot be a label", line, col)
        if name in self.labels or name in self.equs:
            first = self.label_line.get(name) or self.equs[name][2]
            raise self.err(f"duplicate label '{name}' (first defined at line {first})", line, col)

    def lookup(self, sym: Sym, here: int, line: int, layout: bool = False, stack=()) -> int:
        name = sym.name
        if name == ".":
            return here
        if name in self.labels:
            return self.labels[name]
        if name in self.equs:
            if name in self.equ_values:
                return self.equ_values[name]
            if name in stack:
                raise self.err(f"'.equ {name}' refers to itself ({' -> '.join(stack + (name,))})", line, sym.col)
            expr, at, eline, ecol, efile = self.equs[name]
            outer, self.file = self.file, efile
            try:
                v = self.eval(expr, at, eline, ecol, layout, stack + (name,))
            finally:
                self.file = outer
            if not layout:
                self.equ_values[name] = v
            return v
        if layout:
            raise self.err(f"'{name}' is not defined yet (.org, .fill, .space and .align need values "
                           f"known where they are)", line, sym.col)
        near = difflib.get_close_matches(name, list(self.labels) + list(self.equs), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        raise self.err(f"unknown label or constant '{name}'{hint}", line, sym.col)

    def eval(self, expr, here: int, line: int, col: int, layout: bool = False, stack=()) -> int:
        try:
            return evaluate(expr, lambda s: self.lookup(s, here, line, layout, stack))
        except ValueError as e:  # a shift count out of range
            raise self.err(str(e), line, col)

    # ------------------------------------------------------------ .include

    def lines(self, text: str, file: str, depth: int = 0, chain=()):
        """``(file, line number, text)`` of every line, with each ``.include "NAME"`` replaced by
        the lines of the file it names (found beside the including file, then in ``include_dirs``)."""
        for lineno, raw in enumerate(text.splitlines(), 1):
            m = _INCLUDE.fullmatch(strip_comment(raw, self.table.comment_chars))
            if m is None:
                yield file, lineno, raw
                continue
            self.file = file
            path = self.find_include(m.group(1), file, lineno)
            if path in chain or depth >= MAX_INCLUDE_DEPTH:
                why = "includes itself" if path in chain else f"nests more than {MAX_INCLUDE_DEPTH} deep"
                raise self.err(f".include \"{m.group(1)}\" {why}", lineno, raw.find(".") + 1)
            yield from self.lines(_read_source(path, self.err, lineno), path, depth + 1, chain + (path,))

    def find_include(self, name: str, file: str, line: int) -> str:
        here = os.path.dirname(file) if os.path.isfile(file) else None
        for d in ([here] if here else []) + list(self.include_dirs):
            p = os.path.join(d, name)
            if os.path.isfile(p):
                return os.path.normpath(p)
            if os.path.lexists(p):  # a directory, a FIFO (reading it would block), a dangling link
                raise self.err(f".include: {os.path.normpath(p)} is not a regular file", line, 1)
        raise self.err(f".include: no file '{name}' beside {file} or in the guest library", line, 1)

    # ------------------------------------------------------------- pass 1

    def pass1(self, text: str, origin: int):
        loc = origin
        org_at = None  # (line, col) of a .org with nothing emitted since
        t = self.table
        self.first_instr = None
        self.entry_stmt = None
        for file, lineno, raw in self.lines(text, self.main_file):
            self.file = file
            body = strip_comment(raw, t.comment_chars)
            try:
                toks = tokenize(body)
            except LexError as e:
                raise self.err(e.message, lineno, e.col)
            while len(toks) >= 2 and toks[0].kind == "id" and toks[1].text == ":":
                name = toks[0].text
                self.define(name, lineno, toks[0].col)
                self.labels[name] = loc
                self.label_line[name] = lineno
                toks = toks[2:]
            if not toks:
                continue
            head = toks[0]
            src = raw.strip()
            if head.kind != "id":
                raise self.err(f"expected an instruction or a directive, found '{head.text}'", lineno, head.col)
            word = head.text.lower()
            if word.startswith(".") and word not in t.by_mnemonic:
                loc, org_at = self.directive(word, head, toks[1:], lineno, src, loc, org_at)
                continue
            templates = t.by_mnemonic.get(word)
            if templates is None:
                near = t.suggest(word)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                raise self.err(f"unknown instruction '{head.text}'{hint}", lineno, head.col)
            st = self.instruction(templates, head, toks[1:], lineno, src, body)
            st.file = file
            size = st.template.instr.units
            if loc % t.align:
                if org_at:
                    raise self.err(f"misaligned .org: address {_hex(loc)} is not a multiple of {t.align}, "
                                   f"and instructions must be (line {lineno} is one)", *org_at)
                raise self.err(f"instruction at address {_hex(loc)} is not aligned to {t.align} units "
                               f"(use .align {t.align})", lineno, head.col)
            self.check_room(loc, size, lineno, head.col)
            st.address, st.size = loc, size
            self.stmts.append(st)
            if self.first_instr is None:
                self.first_instr = loc
            loc += size
            org_at = None

    def check_room(self, loc: int, size: int, line: int, col: int):
        if loc + size > self.table.size:
            raise self.err(f"writing past the end of memory: address {_hex(loc + size - 1)} is beyond the "
                           f"{self.table.size} units of memory", line, col)

    def instruction(self, templates, head, toks, lineno, src, body) -> _Stmt:
        fail = Failure()
        for tpl in templates:
            ops = match(tpl, toks, fail)
            if ops is not None:
                return _Stmt("instr", lineno, head.col, src, template=tpl, operands=ops)
        usage = " or ".join(f"'{tp.syntax}'" for tp in templates)
        got = operand_groups(toks)
        wants = sorted({tp.groups for tp in templates})
        if got not in wants:
            n = wants[0]
            takes = "no operands" if n == 0 else "1 operand" if n == 1 else f"{n} operands"
            if len(wants) > 1:
                takes = " or ".join(str(w) for w in wants) + " operands"
            if got > max(wants):
                col = _group_start(toks, max(wants)) if max(wants) else toks[0].col
            else:
                col = len(body.rstrip()) + 1
            raise self.err(f"'{head.text}' takes {takes}, got {got}; usage: {usage}", lineno, col)
        col = toks[fail.index].col if fail.index < len(toks) else len(body.rstrip()) + 1
        raise self.err(f"{fail.message}; usage: {usage}", lineno, col)

    def args(self, toks, lineno, name, head, lo: int, hi: int) -> list:
        """Comma-separated expressions: [(expr, col)]."""
        groups, cur = [], []
        depth = 0
        for tk in toks:
            if tk.text == "(":
                depth += 1
            elif tk.text == ")":
                depth -= 1
            if tk.text == "," and depth == 0:
                groups.append(cur)
                cur = []
            else:
                cur.append(tk)
        if toks:
            groups.append(cur)
        if not lo <= len(groups) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
            raise self.err(f"'{name}' takes {want} argument{'s' if hi != 1 else ''}, got {len(groups)}",
                           lineno, head.col)
        out = []
        for g in groups:
            if not g:
                raise self.err(f"'{name}': empty argument", lineno, head.col)
            try:
                out.append((parse_expr(g), g[0].col))
            except ExprError as e:
                col = g[e.index].col if e.index < len(g) else g[-1].col + len(g[-1].text)
                raise self.err(f"'{name}': {e.message}", lineno, col)
        return out

    def directive(self, word, head, toks, lineno, src, loc, org_at):
        t = self.table
        if word not in DIRECTIVES:
            near = difflib.get_close_matches(word, list(DIRECTIVES), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
            raise self.err(f"unknown directive '{head.text}'{hint}", lineno, head.col)

        def now(e):
            return self.eval(e[0], loc, lineno, e[1], layout=True)

        if word == ".org":
            (a,) = self.args(toks, lineno, word, head, 1, 1)
            v = now(a)
            if v < 0:
                raise self.err(f".org {v}: addresses are not negative", lineno, a[1])
            if v > t.size:
                raise self.err(f".org {_hex(v)} is past the end of memory ({t.size} units)", lineno, a[1])
            return v, (lineno, head.col)
        if word == ".include":
            raise self.err('usage: .include "FILE" (alone on its line)', lineno, head.col)
        if word == ".equ":
            if len(toks) < 3 or toks[0].kind != "id" or toks[1].text != ",":
                raise self.err("usage: .equ NAME, VALUE", lineno, head.col)
            name = toks[0].text
            self.define(name, lineno, toks[0].col)
            (e,) = self.args(toks[2:], lineno, word, head, 1, 1)
            self.equs[name] = (e[0], loc, lineno, e[1], self.file)
            return loc, org_at
        if word == ".align":
            (a,) = self.args(toks, lineno, word, head, 1, 1)
            n = now(a)
            if n < 1:
                raise self.err(f".align {n}: the alignment must be at least 1", lineno, a[1])
            return -(-loc // n) * n, org_at
        if word == ".entry":
            (a,) = self.args(toks, lineno, word, head, 1, 1)
            self.entry_stmt = _Stmt("entry", lineno, head.col, src, address=loc, args=[a], file=self.file)
            return loc, org_at
        if word == ".word":
            args = self.args(toks, lineno, word, head, 1, 1 << 30)
            st = _Stmt("data", lineno, head.col, src, address=loc, size=len(args), args=args)
        elif word == ".fill":
            args = self.args(toks, lineno, word, head, 1, 2)
            n = now(args[0])
            if n < 0:
                raise self.err(f".fill {n}: the count must not be negative", lineno, args[0][1])
            st = _Stmt("fill", lineno, head.col, src, address=loc, size=n, args=args[1:], repeat=n)
        else:  # .space
            (a,) = self.args(toks, lineno, word, head, 1, 1)
            n = now(a)
            if n < 0:
                raise self.err(f".space {n}: the size must not be negative", lineno, a[1])
            st = _Stmt("fill", lineno, head.col, src, address=loc, size=n, repeat=n)
        self.check_room(loc, st.size, lineno, head.col)
        st.file = self.file
        if st.size:
            self.stmts.append(st)
            org_at = None
        return loc + st.size, org_at

    # ------------------------------------------------------------- pass 2

    def pass2(self, prog: Program):
        mem = prog.memory
        owner: dict = {}
        unit = self.table.unit

        def put(addr, value, st):
            if addr in mem:
                first = owner[addr]
                raise self.err(f"address {_hex(addr)} is already written by line {first}", st.line, st.col)
            mem[addr] = value
            owner[addr] = st.line

        for st in self.stmts:
            self.file = st.file or self.main_file
            prog.lines[st.address] = SourceLine(st.line, st.text, "" if self.file == self.main_file else self.file)
            if st.kind == "fill":
                v = self.unit_value(st.args[0], st) if st.args else 0
                for k in range(st.repeat):
                    put(st.address + k, v, st)
                continue
            if st.kind == "data":
                for k, a in enumerate(st.args):
                    put(st.address + k, self.unit_value(a, st), st)
                continue
            word = self.encode(st)
            prog.code[st.address] = st.size
            for k in range(st.size):
                put(st.address + k, (word >> (k * unit)) & mask(unit), st)

    def unit_value(self, a, st) -> int:
        unit = self.table.unit
        v = self.eval(a[0], st.address, st.line, a[1])
        if not -(1 << (unit - 1)) <= v <= mask(unit):
            raise self.err(f"value {v} does not fit a memory unit ({unit} bits)", st.line, a[1])
        return v & mask(unit)

    def encode(self, st: _Stmt) -> int:
        tpl = st.template
        fields = {}
        for name, codec in tpl.codecs.items():
            op = st.operands.get(name)
            if op is None:
                fields[name] = 0
                continue
            value = op.value
            if value is None:
                if codec.kind == "enum" and isinstance(op.expr, Sym) and op.expr.name not in self.labels \
                        and op.expr.name not in self.equs and op.expr.name != ".":
                    near = difflib.get_close_matches(op.expr.name.lower(), list(codec.members), n=3, cutoff=0.6)
                    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                    raise self.err(f"unknown {codec.enum} '{op.expr.name}' for {{{name}}}{hint}", st.line, op.col)
                if codec.kind == "reg" and isinstance(op.expr, Sym) and op.expr.name not in self.labels \
                        and op.expr.name not in self.equs:
                    raise self.err(f"unknown register '{op.expr.name}' for {{{name}}} "
                                   f"(register file '{codec.file.name}')", st.line, op.col)
                value = self.eval(op.expr, st.address, st.line, op.col)
            try:
                fields[name] = codec.to_field(value, st.address)
            except FieldError as e:
                raise self.err(str(e), st.line, op.col)
        return tpl.instr.encoding.encode(fields)


def _group_start(toks, n: int) -> int:
    """Column of the token after the n-th top-level comma."""
    depth = seen = 0
    for i, t in enumerate(toks):
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        elif t.text == "," and depth == 0:
            seen += 1
            if seen == n:
                return toks[i + 1].col if i + 1 < len(toks) else t.col
    return toks[0].col


def _hex(v: int) -> str:
    return f"0x{v:x}" if v >= 0 else f"-0x{-v:x}"


def _read_source(path: str, err, line: int) -> str:
    """The text of an included file: a regular file of bounded size, UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise err(f".include: cannot read {path}: {e.strerror}", line, 1) from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise err(f".include: {path} is not a regular file", line, 1)
        data = f.read(MAX_INCLUDE_BYTES + 1)
    if len(data) > MAX_INCLUDE_BYTES:
        raise err(f".include: {path} is larger than {MAX_INCLUDE_BYTES} bytes", line, 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise err(f".include: {path} is not UTF-8 text ({e.reason})", line, 1) from None


def assemble(spec, text: str, origin: int = 0, file: str = "<asm>", include_dirs=()) -> Program:
    """Assemble ``text`` for ``spec``, starting at address ``origin`` (memory units).

    ``.include "NAME"`` reads NAME from beside ``file`` (when it is a real
    file), else from the first of ``include_dirs`` that has it.  Raises
    :class:`AsmError` (``file:line:col: message``, naming the included file
    where the problem is in one) on the first problem.
    """
    asm = _Asm(spec, file, include_dirs)
    table = asm.table
    if not 0 <= origin <= table.size:
        raise AsmError(f"origin {_hex(origin)} is outside memory ({table.size} units)", 0, 0, file)
    asm.pass1(text, origin)
    prog = Program(spec.name, table.unit, origin=origin, file=file)
    asm.pass2(prog)
    prog.symbols = dict(asm.labels)
    for name, (expr, at, line, col, efile) in asm.equs.items():
        prog.constants[name] = asm.lookup(Sym(name, col), at, line)
    if asm.entry_stmt is not None:
        st = asm.entry_stmt
        asm.file = st.file or asm.main_file
        (e, col), = st.args
        prog.entry = asm.eval(e, st.address, st.line, col)
    else:
        prog.entry = asm.first_instr if asm.first_instr is not None else origin
    return prog
