"""The semantics language: Python syntax, parsed by :mod:`ast`, never executed.

A spec writes each instruction's behaviour as a few statements of Python
syntax.  This module checks them against a whitelist, resolves every name
against what the spec declares, infers bit-vector widths, inlines the
spec's own helper functions, and lowers the result to :mod:`vverify.spec.ir`.
Nothing here calls ``eval``/``exec``: the text is data.

The language in one breath: assignments to locals, registers, register-file
entries and bit slices; ``if``/``elif``/``else``; ``for i in range(N)`` with
constant bounds (unrolled); bit-vector arithmetic, logic, shifts and
comparisons (unsigned; ``slt``/``sle``/``sgt``/``sge``/``sra`` for signed);
``x[hi:lo]`` slices and ``concat``; ``zext``/``sext``/``bits``;
``load``/``store`` on memory; ``trap(cause, tval)`` and ``halt()``; and
calls to helpers that the spec defines with ``def``.  See
``docs/spec-format.md`` for the full reference.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field

from ..errors import SpecError
from . import ir
from .ir import BOOL, MMU_PREFIX
from .limits import (MAX_BODY_NODES, MAX_CONSTANT_BITS, MAX_LITERAL_BITS, MAX_NESTING, MAX_SPEC_NODES, MAX_UNROLL,
                     MAX_WIDTH, show_int)


@dataclass
class HelperDef:
    name: str
    params: list  # [(name, width)]
    returns: int | None  # width, BOOL, or None for a procedure
    body: list  # ast statements
    line_base: int  # file line of the helper text's first line
    node: ast.FunctionDef = None
    path: object = None  # the file the helper is written in (a spec's helpers may come from the file it extends)
    normalized: list | None = field(default=None, repr=False, compare=False)  # body after _normalize_returns


@dataclass
class Namespace:
    """Every name a spec declares, as the semantics compiler needs them."""

    registers: dict = field(default_factory=dict)  # name -> width
    files: dict = field(default_factory=dict)  # name -> (count, width)
    memory_unit: int | None = None
    address_width: int | None = None
    constants: dict = field(default_factory=dict)  # name -> int
    enums: dict = field(default_factory=dict)  # name -> {member: int}
    causes: set = field(default_factory=set)
    interrupts: set = field(default_factory=set)  # the causes of kind "interrupt": only interrupt() raises them
    tval_width: int = 32
    helpers: dict = field(default_factory=dict)  # name -> HelperDef
    banks: dict = field(default_factory=dict)  # banked register name -> model.Bank (its copies are registers)
    file_banks: dict = field(default_factory=dict)  # file -> {index: banked register} for entries that are one

    def file_index_width(self, name):
        count = self.files[name][0]
        return max(1, (count - 1).bit_length())


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # with fullmatch: `$` would let a final newline through


@dataclass
class Budget:
    """Work left for the semantics of a whole spec (see limits.MAX_SPEC_NODES).

    Shared by every body the loader compiles, so many small bodies that
    each inline a big helper chain cannot add up to hours.
    """

    limit: int = MAX_SPEC_NODES
    used: int = 0


class _Lit:
    """An integer literal whose width is not known yet."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = int(value)


_BUILTINS = {
    "zext", "sext", "bits", "concat", "slt", "sle", "sgt", "sge", "sra",
    "load", "store", "trap", "halt", "range", "hypercall", "vmexit", "interrupt",
}

_BINOPS = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.BitAnd: "and",
    ast.BitOr: "or", ast.BitXor: "xor", ast.LShift: "shl", ast.RShift: "lshr",
}
_CMPOPS = {
    ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "ult", ast.LtE: "ule",
    ast.Gt: "ugt", ast.GtE: "uge",
}
_FOLD = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
    "shl": lambda a, b: a << b, "lshr": lambda a, b: a >> b,
}
_EFFECTS = (ir.SetReg, ir.SetFile, ir.Load, ir.Store, ir.Trap, ir.Halt, ir.Leave, ir.Interrupt)
_ENDS = ("trap", "halt", "interrupt") + ir.LEAVE_KINDS  # calls that end the body

_FORBIDDEN_STMT = {
    ast.While: "unbounded loop: `while` is not allowed; use `for i in range(N)` with constant N",
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.FunctionDef: "functions are defined under [helpers], not inside semantics",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.ClassDef: "classes are not allowed",
    ast.With: "`with` is not allowed",
    ast.Try: "`try` is not allowed",
    ast.Raise: "`raise` is not allowed; use trap(cause)",
    ast.Global: "`global` is not allowed",
    ast.Nonlocal: "`nonlocal` is not allowed",
    ast.Delete: "`del` is not allowed",
    ast.Assert: "`assert` is not allowed",
}


_TOO_DEEP = f"the semantics nest too deeply (more than {MAX_NESTING} levels)"
_TOO_WIDE = f"an integer literal wider than {MAX_LITERAL_BITS} bits (no value can be wider)"
_UNNESTED = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)  # leaves, not levels


def parse_text(text: str, path, where: str, line_base: int, flat: bool = False) -> list:
    """Parse semantics text into ast statements, with errors pointing into ``path``.

    ``flat`` says the text's lines are not the file's (newlines written as
    escapes in a TOML string): every node is then placed on ``line_base``.
    """
    tree = _parse(textwrap.dedent(text), "exec", path, where, line_base, flat, "syntax error: ")
    if flat:
        _flatten(tree)
    return tree.body


def _parse(src: str, mode: str, path, where: str, line_base: int, flat: bool, prefix: str):
    """:func:`ast.parse`, with every way it can fail turned into a SpecError, and the nesting checked.

    Python's parser gives up on deep nesting with a MemoryError ("too
    complex"), a RecursionError or a SyntaxError, depending on the
    construct; the compiler here is recursive too.  So the depth is bounded
    once, here: :data:`~vverify.spec.limits.MAX_NESTING`.
    """
    try:
        tree = ast.parse(src, mode=mode)
    except SyntaxError as e:
        line = line_base if flat else line_base + (e.lineno or 1) - 1
        if "too many nested parentheses" in e.msg or "too many levels of indentation" in e.msg:
            raise SpecError(path, line, where, _TOO_DEEP) from None
        if "Exceeds the limit" in e.msg:  # a decimal literal past Python's digit limit
            raise SpecError(path, line, where, _TOO_WIDE) from None
        raise SpecError(path, line, where, f"{prefix}{e.msg}") from None
    except (MemoryError, RecursionError):
        raise SpecError(path, line_base if flat else _deepest_line(src, line_base), where, _TOO_DEEP) from None
    except ValueError as e:  # a NUL character
        raise SpecError(path, line_base, where, f"cannot parse: {e}") from None
    _check_nesting(tree, path, where, line_base, flat)
    return tree


def _deepest_line(src: str, line_base: int) -> int:
    """The line that is too deep for Python's parser on its own (else the text's first line).

    Only called after the parser gave up on the whole text, which tells no
    line; each line is parsed alone, which costs no more than the text did.
    """
    for i, line in enumerate(src.split("\n")):
        line = line.strip()
        if line.startswith("elif "):
            line = line[2:]
        for attempt in (line, line + " pass"):  # "if x:" parses once it has a body
            try:
                ast.parse(attempt)
            except (MemoryError, RecursionError):
                return line_base + i
            except Exception:  # an incomplete statement, say: not this line's own depth
                continue
            break
    return line_base


def _check_nesting(tree, path, where: str, line_base: int, flat: bool):
    """Refuse text nested more than MAX_NESTING levels (an ``elif`` adds none)."""
    stack = [(tree, 0)]
    while stack:  # not recursive: this is what keeps the recursive compiler in its depth
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise SpecError(path, line_base if flat else line_base + getattr(node, "lineno", 1) - 1, where, _TOO_DEEP)
        elif_link = node.orelse[0] if isinstance(node, ast.If) and len(node.orelse) == 1 else None
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _UNNESTED):
                stack.append((child, depth if child is elif_link and isinstance(child, ast.If) else depth + 1))


def _flatten(tree):
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            node.lineno = node.end_lineno = 1


def parse_helpers(text: str, path, line_base: int, flat: bool = False) -> dict:
    """Parse the ``helpers`` text: a sequence of annotated ``def`` statements."""
    helpers = {}
    for node in parse_text(text, path, "helpers", line_base, flat):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue
        if not isinstance(node, ast.FunctionDef):
            raise SpecError(path, line_base + node.lineno - 1, "helpers",
                            "only `def` statements may appear in helpers")
        where = f"helper '{node.name}'"
        line = line_base + node.lineno - 1
        if not _NAME.fullmatch(node.name):
            raise SpecError(path, line, where, f"'{node.name}' is not a valid name (letters, digits and _)")
        if node.name in _BUILTINS:
            raise SpecError(path, line, where, f"'{node.name}' is a built-in and cannot be redefined")
        if node.name in helpers:
            raise SpecError(path, line, where, f"helper '{node.name}' is defined twice")
        if node.decorator_list:
            raise SpecError(path, line, where, "decorators are not allowed")
        a = node.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs or a.kw_defaults:
            raise SpecError(path, line, where, "helpers take plain positional parameters only")
        params = []
        for arg in a.args:
            if not _NAME.fullmatch(arg.arg):
                raise SpecError(path, line, where, f"parameter '{arg.arg}' is not a valid name (letters, digits and _)")
            if arg.annotation is None:
                raise SpecError(path, line, where,
                                f"parameter '{arg.arg}' needs a width annotation, e.g. `{arg.arg}: 32`")
            params.append((arg.arg, _annotation_width(arg.annotation, path, line, where)))
        returns = None
        if node.returns is not None:
            returns = _annotation_width(node.returns, path, line, where)
        helpers[node.name] = HelperDef(node.name, params, returns, node.body, line_base, node, path)
    return helpers


def _annotation_width(node, path, line, where):
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        if node.value.bit_length() > MAX_LITERAL_BITS:
            raise SpecError(path, line, where, _TOO_WIDE)
        if not 1 <= node.value <= MAX_WIDTH:
            raise SpecError(path, line, where, f"width {show_int(node.value)} is out of range 1..{MAX_WIDTH}")
        return node.value
    if isinstance(node, ast.Name) and node.id == "bool":
        return BOOL
    raise SpecError(path, line, where, "a width annotation is an integer (bits) or `bool`")


@dataclass(frozen=True)
class MmuLowering:
    """How to lower calls to the spec's translation helper for a virtualized MMU (docs/theory.md).

    A VMM that shadows or nests the page tables gives each guest mode the
    translation of that mode, whatever real mode the guest runs in.  So in
    this lowering the helper reads every register (the current mode
    included) as ``mmu.<name>``, the translation state the VMM presents,
    and a privilege argument equal to the current mode becomes
    ``mmu.mode``: an access made at the instruction's own privilege is
    checked at the presented mode's.  An access that asks for another
    privilege (ARM's LDRT, "as user") keeps what it asks for.
    """

    helper: str
    privilege: int  # index of the helper's parameter that carries the privilege


class Compiler:
    """Lower one body of semantics (an instruction, the trap entry, an expression).

    A compiler instance is used for one body only: it carries the scope and
    flow facts of that body.
    """

    def __init__(self, ns: Namespace, path, where: str, line_base: int, operands: dict | None = None,
                 budget: Budget | None = None, mmu: MmuLowering | None = None, boundary: bool = False):
        self.ns = ns
        self.boundary = boundary  # lowering ``[interrupts] boundary``: the one body where interrupt() is allowed
        self.mmu = mmu
        self.in_translation = 0  # > 0 while lowering the translation helper's body (``mmu`` lowering)
        self.path = path
        self.where = where
        self.line_base = line_base
        self.operands = dict(operands or {})
        self.out: list = []
        self.scope: dict = {}  # source local name -> (ir name, width)
        self.defined: set = set()  # ir local names definitely assigned
        self.journal: list = []  # names in the order they joined ``defined``, to undo a branch's
        self.widths: dict = {}  # ir local name -> width
        self.loop_consts: dict = {}  # unrolled loop variables -> value
        self.pure_only = 0
        self.ret = None  # (ir local name, width) while inlining a helper with a value
        self.call_stack: list = []
        self.call_sites: list = []  # (where, line, file) of each helper call being inlined, outermost first
        self.fresh = 0
        self.work = 0  # nodes read and statements written (limits.MAX_BODY_NODES)
        self.budget = budget
        self.effects = 0  # effect statements kept so far (see _inline)
        self.line = line_base

    # ------------------------------------------------------------------ api

    def body(self, stmts) -> tuple:
        self._block(stmts)
        return tuple(self.out)

    def pure_expr(self, node, expect=None):
        """Lower a side-effect-free expression (map entries, invariants)."""
        self.pure_only += 1
        try:
            e = self._typed(node, expect) if expect is not None else self._expr(node)
        finally:
            self.pure_only -= 1
        if isinstance(e, _Lit):
            self._fail(node, "cannot infer the width of this constant expression")
        return tuple(self.out), e

    # ------------------------------------------------------------ plumbing

    def _fail(self, node, msg):
        line = self.line
        if node is not None and getattr(node, "lineno", None):
            line = self.line_base + node.lineno - 1
        raise SpecError(self.path, line, self.where, msg)

    def _tick(self, node):
        """Count one statement or expression node lowered; refuse past the limits.

        Unrolling and inlining multiply text, so a few kilobytes can ask for
        billions of nodes (``h2(x) = h1(h1(x))``, and so on): the work is
        bounded here, per body and per spec, and reported at the
        instruction's own call, naming the helper chain it grew through.
        """
        self.work += 1
        if self.work > MAX_BODY_NODES:
            self._too_big(node, f"the semantics grow past {MAX_BODY_NODES} nodes (statements and expressions) "
                                "once loops are unrolled and helpers inlined; simplify them")
        if self.budget is not None:
            self.budget.used += 1
            if self.budget.used > self.budget.limit:
                self._too_big(node, f"the spec's semantics grow past {self.budget.limit} nodes in all once loops "
                                    "are unrolled and helpers inlined; simplify them")

    def _too_big(self, node, msg):
        if not self.call_sites:
            self._fail(node, msg)
        where, line, path = self.call_sites[0]
        raise SpecError(path, line, where, f"{msg} (inlining {' -> '.join(self.call_stack)})")

    def _src(self, node):
        try:
            return _clip(ast.unparse(node))
        except Exception:  # pragma: no cover - unparse is best effort
            return "?"

    def _new_local(self, base, width):
        self.fresh += 1
        name = f"%{base}{self.fresh}"
        self.widths[name] = width
        return name

    def _emit(self, stmt):
        self._tick(None)
        if self.in_translation and isinstance(stmt, ir.SetReg):
            self.line = stmt.line
            self._fail(None, f"the translation helper '{self.mmu.helper}' writes register '{stmt.name}'; "
                             "a virtualized MMU needs a walk that reads its state and writes only memory")
        if isinstance(stmt, _EFFECTS):
            self.effects += 1
        self.out.append(stmt)

    def _define(self, name):
        if name not in self.defined:
            self.defined.add(name)
            self.journal.append(name)

    def _rollback(self, mark) -> list:
        """Forget the names defined since ``mark`` (a length of the journal); return them.

        Undoing a branch this way costs what the branch defined, where copying
        ``defined`` for each ``if`` cost what the whole body had defined so far.
        """
        added = self.journal[mark:]
        del self.journal[mark:]
        self.defined.difference_update(added)
        return added

    def _line_of(self, node):
        return self.line_base + getattr(node, "lineno", 1) - 1

    # --------------------------------------------------------- statements

    def _block(self, stmts) -> bool:
        """Lower a block; return True when every path through it exits."""
        exits = False
        for node in stmts:
            self._tick(node)
            if exits:
                self._fail(node, "unreachable statement (the block already ended with a trap, halt or return)")
            exits = self._stmt(node)
        return exits

    def _stmt(self, node) -> bool:
        self.line = self._line_of(node)
        for bad, msg in _FORBIDDEN_STMT.items():
            if isinstance(node, bad):
                self._fail(node, msg)
        if isinstance(node, ast.Pass):
            return False
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                self._fail(node, "chained assignment is not allowed")
            self._assign(node.targets[0], node.value, node)
            return False
        if isinstance(node, ast.AnnAssign):
            if node.value is None or not isinstance(node.target, ast.Name):
                self._fail(node, "an annotated assignment declares a local: `name: WIDTH = value`")
            width = _annotation_width(node.annotation, self.path, self.line, self.where)
            self._declare_local(node.target.id, width, node)
            self._assign(node.target, node.value, node)
            return False
        if isinstance(node, ast.AugAssign):
            op = _BINOPS.get(type(node.op))
            if op is None:
                self._fail(node, f"operator `{self._src(node)}` is not allowed")
            target_load = _as_load(node.target)
            value = ast.BinOp(left=target_load, op=node.op, right=node.value)
            ast.copy_location(value, node)
            self._assign(node.target, value, node)
            return False
        if isinstance(node, ast.If):
            return self._if(node)
        if isinstance(node, ast.For):
            return self._for(node)
        if isinstance(node, ast.Return):
            return self._return(node)
        if isinstance(node, ast.Expr):
            v = node.value
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                return False  # a docstring or comment string
            if not isinstance(v, ast.Call):
                self._fail(node, f"expression `{self._src(v)}` has no effect")
            return self._call_stmt(v)
        self._fail(node, f"`{type(node).__name__}` statements are not allowed in semantics")

    def _if(self, node) -> bool:
        cond = self._cond(node.test)
        mark, effects = len(self.journal), self.effects
        saved_out = self.out
        self.out = []
        then_exits = self._block(node.body)
        then_stmts, then_new, then_effects = tuple(self.out), self._rollback(mark), self.effects
        self.out = []
        else_exits = self._block(node.orelse)
        else_stmts, else_new = tuple(self.out), self._rollback(mark)
        self.out = saved_out
        if isinstance(cond, ir.Const):  # constant condition: keep only the live branch
            taken = then_stmts if cond.value else else_stmts
            self.out.extend(taken)
            self.effects = then_effects if cond.value else effects + self.effects - then_effects
            for name in then_new if cond.value else else_new:
                self._define(name)
            return then_exits if cond.value else else_exits
        self._emit(ir.If(cond, then_stmts, else_stmts, self._line_of(node)))
        if then_exits and else_exits:
            kept = then_new + else_new
        elif then_exits:
            kept = else_new
        elif else_exits:
            kept = then_new
        else:
            in_else = set(else_new)
            kept = [name for name in then_new if name in in_else]
        for name in kept:
            self._define(name)
        return then_exits and else_exits

    def _for(self, node) -> bool:
        if node.orelse:
            self._fail(node, "`for ... else` is not allowed")
        if not isinstance(node.target, ast.Name):
            self._fail(node, "a loop variable is a single name")
        it = node.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and not it.keywords):
            self._fail(node, "only `for i in range(...)` with constant bounds is allowed")
        bounds = [self._const_int(a) for a in it.args]
        if not 1 <= len(bounds) <= 3:
            self._fail(node, "range takes 1 to 3 constant arguments")
        if len(bounds) == 3 and bounds[2] == 0:
            self._fail(node, "range step must not be zero")
        values = range(*bounds)
        count = -((values.start - values.stop) // values.step)  # len() overflows on huge ranges
        if count > MAX_UNROLL:
            self._fail(node, f"loop of {show_int(count)} iterations exceeds the unroll limit of {MAX_UNROLL}")
        if any(_contains_return(b) for b in node.body):
            self._fail(node, "`return` inside a loop is not allowed (loops are unrolled); return after the loop")
        name = node.target.id
        self._check_new_name(name, node)
        old = self.loop_consts.get(name)
        exits = False
        for v in values:
            self.loop_consts[name] = v
            exits = self._block(node.body)
            if exits:
                break
        if old is None:
            self.loop_consts.pop(name, None)
        else:
            self.loop_consts[name] = old
        return exits

    def _return(self, node) -> bool:
        if self.ret is None and not self.call_stack:
            self._fail(node, "`return` is only allowed inside a helper")
        if self.ret is None:
            if node.value is not None:
                self._fail(node, "this helper declares no return width, so it cannot return a value")
            return True
        name, width = self.ret
        if node.value is None:
            self._fail(node, "this helper must return a value")
        value = self._typed(node.value, width)
        self._emit(ir.SetLocal(name, value, self._line_of(node)))
        self._define(name)
        return True

    def _assign(self, target, value_node, node):
        if isinstance(target, ast.Name):
            name = target.id
            if name in self.ns.registers:
                w = self.ns.registers[name]
                self._emit(ir.SetReg(name, self._typed(value_node, w), self._line_of(node)))
                return
            if name in self.ns.banks:
                self._bank_write(name, self._typed(value_node, self.ns.banks[name].width), self._line_of(node))
                return
            self._check_assignable(name, node)
            if name in self.scope:
                irname, w = self.scope[name]
                value = self._typed(value_node, w) if w != BOOL else self._cond(value_node)
            else:
                value = self._expr(value_node)
                if isinstance(value, _Lit):
                    self._fail(node, f"cannot infer the width of local '{name}'; declare it, e.g. `{name}: 32 = ...`")
                irname = self._declare_local(name, value.width, node)
            self._emit(ir.SetLocal(irname, value, self._line_of(node)))
            self._define(irname)
            return
        if isinstance(target, ast.Subscript):
            base = target.value
            if isinstance(base, ast.Name) and base.id in self.ns.files:
                fname = base.id
                _, w = self.ns.files[fname]
                if isinstance(target.slice, ast.Slice):
                    self._fail(node, "a register-file entry is written whole; slice a local instead")
                index = self._typed(target.slice, self.ns.file_index_width(fname))
                value = self._typed(value_node, w)
                banked = self.ns.file_banks.get(fname)
                if banked:
                    self._file_write_banked(fname, banked, index, value, self._line_of(node))
                    return
                self._emit(ir.SetFile(fname, index, value, self._line_of(node)))
                return
            if isinstance(base, ast.Name):
                old = self._expr(_as_load(base))
                if isinstance(old, _Lit) or old.width == BOOL:
                    self._fail(node, f"cannot assign to a slice of '{base.id}'")
                if not isinstance(target.slice, ast.Slice):
                    index = self._bit_index(target.slice)
                    if not isinstance(index, int):  # one bit chosen at run time: clear it, or in the new one
                        amount = self._bit_amount(index, old.width)
                        bit = ir.Binary("shl", ir.Const(1, old.width), amount, old.width)
                        part = self._typed(value_node, 1)
                        new = ir.Binary("shl", part if old.width == 1 else ir.Extend(part, False, old.width),
                                        amount, old.width)
                        kept = ir.Binary("and", old, ir.Unary("not", bit, old.width), old.width)
                        merged = ir.Binary("or", kept, new, old.width)
                        self._assign_value(ast.Name(id=base.id, ctx=ast.Store()), merged, node)
                        return
                hi, lo = self._slice_bounds(target.slice, old.width, node)
                part = self._typed(value_node, hi - lo + 1)
                parts = []
                if hi < old.width - 1:
                    parts.append(_extract(old, old.width - 1, hi + 1))
                parts.append(part)
                if lo > 0:
                    parts.append(_extract(old, lo - 1, 0))
                merged = parts[0] if len(parts) == 1 else ir.Concat(tuple(parts), old.width)
                plain = ast.Name(id=base.id, ctx=ast.Store())
                self._assign_value(plain, merged, node)
                return
        self._fail(node, f"cannot assign to `{self._src(target)}`")

    def _assign_value(self, target, value, node):
        """Assign an already-lowered value to a register or existing local."""
        name = target.id
        if name in self.ns.registers:
            self._emit(ir.SetReg(name, value, self._line_of(node)))
            return
        if name in self.ns.banks:
            self._bank_write(name, value, self._line_of(node))
            return
        irname, _ = self.scope[name]
        self._emit(ir.SetLocal(irname, value, self._line_of(node)))
        self._define(irname)

    def _check_assignable(self, name, node):
        if name in self.operands:
            self._fail(node, f"'{name}' is an operand and cannot be assigned")
        if name in self.ns.constants or name in self.loop_consts:
            self._fail(node, f"'{name}' is a constant and cannot be assigned")
        if name in self.ns.files:
            self._fail(node, f"'{name}' is a register file; write an entry: {name}[i] = ...")
        if name in self.ns.enums or name in self.ns.helpers or name in _BUILTINS:
            self._fail(node, f"'{name}' is not a variable")

    def _check_new_name(self, name, node):
        if name in self.ns.registers:
            self._fail(node, f"'{name}' is a state register")
        if name in self.ns.banks:
            self._fail(node, f"'{name}' is a banked register")
        self._check_assignable(name, node)

    def _declare_local(self, name, width, node):
        self._check_new_name(name, node)
        if name in self.scope:
            irname, w = self.scope[name]
            if w != width:
                self._fail(node, f"local '{name}' is {_wname(w)} here but was {_wname(width)} before")
            return irname
        irname = name if not self.call_stack else self._new_local(name + ".", width)
        self.scope[name] = (irname, width)
        self.widths[irname] = width
        return irname

    def _call_stmt(self, call) -> bool:
        fname = call.func.id if isinstance(call.func, ast.Name) else None
        if fname == "trap":
            self._no_keywords(call)
            if not 1 <= len(call.args) <= 2 or not isinstance(call.args[0], ast.Name):
                self._fail(call, "trap takes a cause name and an optional trap value: trap(cause[, tval])")
            cause = call.args[0].id
            if cause not in self.ns.causes:
                self._fail(call, f"unknown trap cause '{cause}'")
            if cause in self.ns.interrupts:
                self._fail(call, f"cause '{cause}' has kind 'interrupt': it is asynchronous, so only interrupt({cause}) "
                                 "in [interrupts] boundary raises it, not trap()")
            tval = self._typed(call.args[1], self.ns.tval_width) if len(call.args) == 2 else ir.Const(0, self.ns.tval_width)
            self._require_effects(call)
            self._emit(ir.Trap(cause, tval, self._line_of(call)))
            return True
        if fname == "halt":
            self._no_keywords(call)
            if call.args:
                self._fail(call, "halt() takes no arguments")
            self._require_effects(call)
            self._emit(ir.Halt(self._line_of(call)))
            return True
        if fname == "interrupt":
            self._no_keywords(call)
            if not self.boundary:
                self._fail(call, "interrupt() outside [interrupts] boundary: an interrupt is delivered between "
                                 "instructions, by the boundary program; an instruction raises trap()")
            if len(call.args) != 1 or not isinstance(call.args[0], ast.Name):
                self._fail(call, "interrupt takes a cause name: interrupt(cause)")
            cause = call.args[0].id
            if cause not in self.ns.causes:
                self._fail(call, f"unknown trap cause '{cause}'")
            if cause not in self.ns.interrupts:
                self._fail(call, f"interrupt({cause}): cause '{cause}' does not have kind 'interrupt'")
            self._require_effects(call)
            self._emit(ir.Interrupt(cause, self._line_of(call)))
            return True
        if fname in ir.LEAVE_KINDS:
            self._no_keywords(call)
            if len(call.args) != 1:
                self._fail(call, f"{fname} takes one value: {fname}(code)")
            code = self._typed(call.args[0], self.ns.tval_width)
            self._require_effects(call)
            self._emit(ir.Leave(fname, code, self._line_of(call)))
            return True
        if fname == "store":
            self._no_keywords(call)
            self._need_memory(call)
            if len(call.args) != 3:
                self._fail(call, "store takes an address, a number of units and a value: store(addr, n, value)")
            addr = self._typed(call.args[0], self.ns.address_width)
            units = self._const_int(call.args[1])
            if not 1 <= units <= 64:
                self._fail(call, "store moves 1 to 64 memory units")
            value = self._typed(call.args[2], units * self.ns.memory_unit)
            self._require_effects(call)
            self._emit(ir.Store(addr, units, value, self._line_of(call)))
            return False
        if fname in self.ns.helpers:
            h = self.ns.helpers[fname]
            self._inline(h, call, want_value=False)
            return False
        self._expr(call)  # reports a useful error for everything else
        self._fail(call, f"the value of `{self._src(call)}` is not used")

    def _require_effects(self, node):
        if self.pure_only:
            self._fail(node, "a call with effects (load, store, trap, halt, register writes) is not allowed "
                             "inside a conditional expression, `and`/`or`, or a pure expression; use if/else")

    def _no_keywords(self, call):
        if call.keywords:
            self._fail(call, "keyword arguments are not allowed")

    def _need_memory(self, node):
        if self.ns.memory_unit is None:
            self._fail(node, "this spec declares no memory")

    # -------------------------------------------------------------- helpers

    def _inline(self, h: HelperDef, call, want_value: bool):
        self._no_keywords(call)
        if h.name in self.call_stack:
            self._fail(call, f"recursive helper call: {' -> '.join(self.call_stack + [h.name])}")
        if len(call.args) != len(h.params):
            self._fail(call, f"helper '{h.name}' takes {len(h.params)} argument(s), got {len(call.args)}")
        if want_value and h.returns is None:
            self._fail(call, f"helper '{h.name}' returns no value")
        args = []
        for (pname, pw), anode in zip(h.params, call.args):
            args.append(self._cond(anode) if pw == BOOL else self._typed(anode, pw))
        translation = self.mmu is not None and h.name == self.mmu.helper and not self.in_translation
        if translation:
            k = self.mmu.privilege
            mw = self.ns.registers["mode"]
            own = ir.Binary("eq", args[k], ir.Reg("mode", mw), BOOL)
            args[k] = ir.Ite(own, ir.Reg(MMU_PREFIX + "mode", mw), args[k], mw)
        # lower the body in a fresh scope, collecting its statements; ``defined`` is shared: every
        # name the helper defines is fresh, so the caller may as well know them all
        saved = (self.scope, self.ret, self.out, self.where, self.line_base, self.loop_consts, self.path)
        effects_before = self.effects
        self.call_sites.append((self.where, self._line_of(call), self.path))
        self.call_stack.append(h.name)
        self.scope, self.out, self.loop_consts = {}, [], {}
        self.where, self.line_base = f"helper '{h.name}'", h.line_base
        if h.path is not None:
            self.path = h.path
        self.in_translation += translation
        try:
            for (pname, pw), value in zip(h.params, args):
                if pname in self.ns.registers or pname in self.ns.constants or pname in self.ns.files \
                        or pname in self.ns.banks:
                    self._fail(h.node, f"parameter '{pname}' shadows a declared name")
                irname = self._new_local(f"{h.name}.{pname}.", pw)
                self.scope[pname] = (irname, pw)
                self._emit(ir.SetLocal(irname, value, self._line_of(h.node)))
                self._define(irname)
            ret_name = None
            if h.returns is not None:
                ret_name = self._new_local(f"{h.name}.ret.", h.returns)
            self.ret = (ret_name, h.returns) if ret_name else None
            if h.normalized is None:  # once per helper: the copies it makes are counted by the first caller
                h.normalized = _normalize_returns(h.body, self)
            body = h.normalized
            self._block(body)
            if ret_name is not None and ret_name not in self.defined:
                self._fail(h.node, f"helper '{h.name}' does not return a value on every path")
            produced = self.out
        finally:
            self.in_translation -= translation
            self.call_stack.pop()
            self.call_sites.pop()
            (self.scope, self.ret, self.out, self.where, self.line_base, self.loop_consts, self.path) = saved
        if self.effects > effects_before and self.pure_only:
            self._fail(call, f"helper '{h.name}' has effects (load, store, trap or register writes) and "
                             "cannot be called inside a conditional expression, `and`/`or`, or a pure expression")
        self.out.extend(produced)
        if ret_name is not None:
            return ir.Local(ret_name, h.returns)
        return None

    # ------------------------------------------------------- banked registers

    def _bank_cases(self, name):
        """``[(register, condition)]``: each copy but the first, and when the selecting field picks
        it; the first copy is what every other value picks."""
        b = self.ns.banks[name]
        field = _extract(ir.Reg(b.by, self.ns.registers[b.by]), b.hi, b.lo)
        groups: dict = {}
        for value, reg in b.selects.items():
            self._tick(None)  # each use lowers to a test per listed value: work like any other node
            if reg != b.default:
                groups.setdefault(reg, []).append(value)
        return [(reg, _logic("lor", [ir.Binary("eq", field, ir.Const(v, field.width), BOOL) for v in values]))
                for reg, values in groups.items()]

    def _bank_read(self, name):
        """The banked register ``name``: the copy its field selects now (a mode written earlier in
        the same instruction counts), as a choice between its copies' registers."""
        if self.in_translation:
            self._fail(None, f"the translation helper '{self.mmu.helper}' reads banked register '{name}'; "
                             "a virtualized MMU's walk reads plain registers only")
        b = self.ns.banks[name]
        out = ir.Reg(b.default, b.width)
        for reg, cond in reversed(self._bank_cases(name)):
            out = ir.Ite(cond, ir.Reg(reg, b.width), out, b.width)
        return out

    def _bank_writes(self, name, value, line) -> tuple:
        """Statements writing ``value`` (a local or constant) to the copy the field selects now."""
        b = self.ns.banks[name]
        out = (ir.SetReg(b.default, value, line),)
        for reg, cond in reversed(self._bank_cases(name)):
            out = (ir.If(cond, (ir.SetReg(reg, value, line),), out, line),)
        return out

    def _bank_write(self, name, value, line):
        tmp = self._new_local("bank.", value.width)
        self._emit(ir.SetLocal(tmp, value, line))
        self._define(tmp)
        self.effects += 1  # a register write, inside the If
        for st in self._bank_writes(name, ir.Local(tmp, value.width), line):
            self._emit(st)

    def _file_write_banked(self, fname, banked, index, value, line):
        """``file[index] = value`` where some entries are banked registers: those go to the copy."""
        if isinstance(index, ir.Const):
            if index.value in banked:
                self._bank_write(banked[index.value], value, line)
            else:
                self._emit(ir.SetFile(fname, index, value, line))
            return
        tmp = self._new_local("bank.", value.width)
        self._emit(ir.SetLocal(tmp, value, line))
        self._define(tmp)
        v = ir.Local(tmp, value.width)
        out = (ir.SetFile(fname, index, v, line),)
        for i, bank in sorted(banked.items(), reverse=True):
            out = (ir.If(ir.Binary("eq", index, ir.Const(i, index.width), BOOL), self._bank_writes(bank, v, line),
                         out, line),)
        self.effects += 1
        for st in out:
            self._emit(st)

    # ---------------------------------------------------------- expressions

    def _const_int(self, node) -> int:
        self.pure_only += 1
        try:
            e = self._expr(node)
        finally:
            self.pure_only -= 1
        if not isinstance(e, _Lit):
            self._fail(node, f"`{self._src(node)}` must be a constant integer")
        return e.value

    def _width_arg(self, node) -> int:
        w = self._const_int(node)
        if not 1 <= w <= MAX_WIDTH:
            self._fail(node, f"width {show_int(w)} is out of range 1..{MAX_WIDTH}")
        return w

    def _cond(self, node):
        e = self._expr(node)
        if isinstance(e, _Lit):
            self._fail(node, f"`{self._src(node)}` is a number, not a condition")
        if e.width == BOOL:
            return e
        if e.width == 1:
            return ir.Binary("ne", e, ir.Const(0, 1), BOOL)
        self._fail(node, f"condition `{self._src(node)}` is {e.width} bits wide; compare it, e.g. `!= 0`")

    def _typed(self, node, width):
        """Lower ``node`` and require ``width`` bits (literals adapt)."""
        if width == BOOL:
            return self._cond(node)
        e = self._expr(node, expect=width)
        return self._coerce(e, width, node)

    def _coerce(self, e, width, node):
        if isinstance(e, _Lit):
            v = e.value
            if width == BOOL:
                self._fail(node, f"`{self._src(node)}` is a number, not a condition")
            if not -(1 << (width - 1)) <= v < (1 << width) if width > 0 else True:
                self._fail(node, f"constant {show_int(v)} does not fit in {width} bits")
            return ir.Const(v & ir.mask(width), width)
        if e.width != width:
            self._fail(node, f"width mismatch: `{self._src(node)}` is {_wname(e.width)}, expected {_wname(width)}")
        return e

    def _expr(self, node, expect=None):
        self._tick(node)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                return ir.Const(int(v), BOOL)
            if isinstance(v, int):
                if v.bit_length() > MAX_LITERAL_BITS:
                    self._fail(node, _TOO_WIDE)
                return _Lit(v)
            self._fail(node, f"only integer constants are allowed, not {type(v).__name__}")
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node, expect)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, expect)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            op = "land" if isinstance(node.op, ast.And) else "lor"
            self.pure_only += 1
            try:
                parts = [self._cond(v) for v in node.values]
            finally:
                self.pure_only -= 1
            return _logic(op, parts)
        if isinstance(node, ast.IfExp):
            return self._ifexp(node, expect)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node, expect)
        self._fail(node, f"`{self._src(node)}`: {type(node).__name__} is not allowed in semantics")

    def _name(self, node):
        n = node.id
        if n in self.loop_consts:
            return _Lit(self.loop_consts[n])
        if n in self.scope:
            irname, w = self.scope[n]
            if irname not in self.defined:
                self._fail(node, f"local '{n}' may be used before it is assigned")
            return ir.Local(irname, w)
        if n in self.operands:
            return ir.Operand(n, self.operands[n])
        if n in self.ns.registers:
            return ir.Reg(MMU_PREFIX + n if self.in_translation else n, self.ns.registers[n])
        if n in self.ns.banks:
            return self._bank_read(n)
        if n in self.ns.constants:
            return _Lit(self.ns.constants[n])
        if n in self.ns.files:
            self._fail(node, f"register file '{n}' needs an index: {n}[i]")
        if n in self.ns.enums:
            self._fail(node, f"'{n}' is an enumeration; name a member: {n}.MEMBER")
        if n in self.ns.helpers or n in _BUILTINS:
            self._fail(node, f"'{n}' is a function; call it")
        self._fail(node, f"undeclared name '{n}'")

    def _attribute(self, node):
        if node.attr.startswith("_"):
            self._fail(node, "attribute access is not allowed")
        if isinstance(node.value, ast.Name) and node.value.id in self.ns.enums:
            members = self.ns.enums[node.value.id]
            if node.attr not in members:
                self._fail(node, f"enumeration '{node.value.id}' has no member '{node.attr}'")
            return _Lit(members[node.attr])
        self._fail(node, f"attribute access `{self._src(node)}` is not allowed (only ENUM.MEMBER)")

    def _binop(self, node, expect):
        op = _BINOPS.get(type(node.op))
        if op is None:
            self._fail(node, f"operator in `{self._src(node)}` is not allowed (no /, //, %, **, @)")
        if op in ("shl", "lshr"):
            a = self._expr(node.left, expect)
            b = self._expr(node.right)
            if isinstance(a, _Lit) and isinstance(b, _Lit):
                if b.value < 0:
                    self._fail(node, "negative shift amount")
                if op == "shl" and b.value > MAX_WIDTH:
                    self._fail(node, f"shift amount {show_int(b.value)} is more than {MAX_WIDTH}")
                return self._fold(op, a, b, node)
            if isinstance(a, _Lit):
                if expect is None:
                    self._fail(node, f"cannot infer the width of `{self._src(node.left)}`; use bits(value, width)")
                a = self._coerce(a, expect, node.left)
            return ir.Binary(op, a, self._shift_amount(b, a.width, node.right), a.width)
        a, b = self._pair(node.left, node.right, expect)
        if isinstance(a, _Lit):
            return self._fold(op, a, b, node)
        if a.width == BOOL:
            self._fail(node, f"arithmetic on a condition in `{self._src(node)}`")
        return ir.Binary(op, a, b, a.width)

    def _fold(self, op, a, b, node):
        """Fold an operation on two constants, exactly, refusing a value past MAX_CONSTANT_BITS.

        Constants are folded before they take the width of their context, so
        nothing masks them yet: a product tree of wide literals would
        otherwise multiply out to millions of digits.
        """
        value = _FOLD[op](a.value, b.value)
        if value.bit_length() > MAX_CONSTANT_BITS:
            self._fail(node, f"the constant `{self._src(node)}` grows past {MAX_CONSTANT_BITS} bits while it is folded; "
                             f"no value is wider than {MAX_WIDTH} bits")
        return _Lit(value)

    def _shift_amount(self, b, width, node):
        if isinstance(b, _Lit):
            if b.value < 0:
                self._fail(node, "negative shift amount")
            return ir.Const(min(b.value, ir.mask(width)), width)
        if b.width == BOOL:
            self._fail(node, "a shift amount is a number, not a condition")
        if b.width > width:
            self._fail(node, f"shift amount is {b.width} bits, wider than the {width}-bit value; slice it")
        return b if b.width == width else ir.Extend(b, False, width)

    def _pair(self, left, right, expect):
        """Lower two operands that must share a width."""
        if _literalish(left, self) and not _literalish(right, self):
            b = self._expr(right, expect)
            a = self._expr(left, None if isinstance(b, _Lit) else b.width)
        else:
            a = self._expr(left, expect)
            b = self._expr(right, None if isinstance(a, _Lit) else a.width)
        if isinstance(a, _Lit) and isinstance(b, _Lit):
            if expect is None or expect == BOOL:
                return a, b
            a, b = self._coerce(a, expect, left), self._coerce(b, expect, right)
        if isinstance(a, _Lit):
            a = self._coerce(a, b.width, left)
        if isinstance(b, _Lit):
            b = self._coerce(b, a.width, right)
        if a.width != b.width:
            self._fail(left, f"width mismatch: `{self._src(left)}` is {_wname(a.width)} but "
                             f"`{self._src(right)}` is {_wname(b.width)}")
        return a, b

    def _unary(self, node, expect):
        if isinstance(node.op, ast.Not):
            c = self._cond(node.operand)
            return ir.Const(1 - c.value, BOOL) if isinstance(c, ir.Const) else ir.Unary("lnot", c, BOOL)
        a = self._expr(node.operand, expect)
        if isinstance(node.op, ast.UAdd):
            return a
        if isinstance(a, _Lit):
            if isinstance(node.op, ast.USub):
                return _Lit(-a.value)
            if isinstance(node.op, ast.Invert):
                if expect is None:
                    self._fail(node, f"cannot infer the width of `{self._src(node)}`; use bits(value, width)")
                return _Lit(~a.value & ir.mask(expect))
        if a.width == BOOL:
            self._fail(node, f"`{self._src(node)}`: use `not` on conditions")
        op = {ast.USub: "neg", ast.Invert: "not"}[type(node.op)]
        return ir.Unary(op, a, a.width)

    def _compare(self, node):
        result = None
        left = node.left
        for opnode, right in zip(node.ops, node.comparators):
            op = _CMPOPS.get(type(opnode))
            if op is None:
                self._fail(node, "only ==, !=, <, <=, >, >= comparisons are allowed (no `in`, `is`)")
            a, b = self._pair(left, right, None)
            if isinstance(a, _Lit):
                c = self._fold_compare(op, a.value, b.value, node)
            else:
                if a.width == BOOL and op not in ("eq", "ne"):
                    self._fail(node, "conditions can only be compared with == and !=")
                c = ir.Binary(op, a, b, BOOL)
            result = c if result is None else _logic("land", [result, c])
            left = right
        return result

    def _fold_compare(self, op, a: int, b: int, node):
        """A comparison of two constants (a loop index with a bound, say), decided now.

        Constants have no width yet, so they are compared as the integers they
        are; an unsigned ordering needs a width once a side is negative, and is
        refused rather than guessed.
        """
        if op in ("ult", "ule", "ugt", "uge") and (a < 0 or b < 0):
            self._fail(node, f"`{self._src(node)}` orders a negative constant, which has no unsigned value until it "
                             "has a width; use bits(value, width) or slt/sle/sgt/sge")
        result = {"eq": a == b, "ne": a != b, "ult": a < b, "ule": a <= b, "ugt": a > b, "uge": a >= b,
                  "slt": a < b, "sle": a <= b, "sgt": a > b, "sge": a >= b}[op]
        return ir.Const(int(result), BOOL)

    def _ifexp(self, node, expect):
        c = self._cond(node.test)
        self.pure_only += 1
        try:
            a, b = self._pair(node.body, node.orelse, expect)
        finally:
            self.pure_only -= 1
        if isinstance(c, ir.Const):  # decided now (a loop index compared with a constant, say)
            return a if c.value else b
        if isinstance(a, _Lit):
            self._fail(node, f"cannot infer the width of `{self._src(node)}`; use bits(value, width)")
        return ir.Ite(c, a, b, a.width)

    def _slice_bounds(self, sl, width, node):
        if isinstance(sl, ast.Slice):
            if sl.step is not None or sl.lower is None or sl.upper is None:
                self._fail(node, "a bit slice is written x[hi:lo] with constant bounds")
            hi, lo = self._const_int(sl.lower), self._const_int(sl.upper)
        else:
            hi = lo = self._const_int(sl)
        if not (0 <= lo <= hi < width):
            self._fail(node, f"bit slice [{show_int(hi)}:{show_int(lo)}] is outside a {width}-bit value")
        return hi, lo

    def _bit_index(self, sl):
        """The index of ``x[i]``: an int when it is a constant, else its lowered value (an operand,
        a register, a local: a bit chosen at run time)."""
        self.pure_only += 1
        try:
            e = self._expr(sl)
        finally:
            self.pure_only -= 1
        if isinstance(e, _Lit):
            return e.value
        if e.width == BOOL:
            self._fail(sl, f"bit index `{self._src(sl)}` is a condition, not a number")
        return e

    def _bit_amount(self, index, width):
        """``index`` as a ``width``-bit shift amount that is ``width`` or more exactly when the
        index is: so the bit it selects past the top is 0, as a shift that far gives."""
        if index.width <= width:
            return index if index.width == width else ir.Extend(index, False, width)
        inside = ir.Binary("ult", index, ir.Const(width, index.width), BOOL)
        return ir.Ite(inside, _extract(index, width - 1, 0), ir.Const(width, width), width)

    def _dynamic_bit(self, a, index):
        """Bit ``index`` of ``a``, the index known only at run time: a shift and a mask (0 past the top)."""
        return _extract(ir.Binary("lshr", a, self._bit_amount(index, a.width), a.width), 0, 0)

    def _subscript(self, node):
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.ns.files and base.id not in self.scope:
            fname = base.id
            if isinstance(node.slice, ast.Slice):
                self._fail(node, "a register file is indexed by one register number")
            index = self._typed(node.slice, self.ns.file_index_width(fname))
            read = ir.FileRead(fname, index, self.ns.files[fname][1])
            banked = self.ns.file_banks.get(fname)
            if banked and isinstance(index, ir.Const):
                return self._bank_read(banked[index.value]) if index.value in banked else read
            for i, bank in sorted(banked.items(), reverse=True) if banked else ():
                self._tick(None)
                read = ir.Ite(ir.Binary("eq", index, ir.Const(i, index.width), BOOL), self._bank_read(bank), read,
                              read.width)
            return read
        a = self._expr(base)
        if not isinstance(node.slice, ast.Slice):
            index = self._bit_index(node.slice)
            if not isinstance(index, int):
                if isinstance(a, _Lit) or a.width == BOOL:
                    self._fail(node, f"`{self._src(base)}` has no width to take bit `{self._src(node.slice)}` of; "
                                     "use bits(value, width)" if isinstance(a, _Lit) else "a condition cannot be sliced")
                return self._dynamic_bit(a, index)
        if isinstance(a, _Lit):
            hi, lo = self._slice_bounds(node.slice, 4096, node)
            return _Lit((a.value >> lo) & ir.mask(hi - lo + 1))
        if a.width == BOOL:
            self._fail(node, "a condition cannot be sliced")
        hi, lo = self._slice_bounds(node.slice, a.width, node)
        return _extract(a, hi, lo)

    def _call(self, node, expect):
        if not isinstance(node.func, ast.Name):
            self._fail(node, f"`{self._src(node.func)}`: only calls to helpers the spec defines and to built-ins are allowed")
        self._no_keywords(node)
        f = node.func.id
        args = node.args
        if f in ("zext", "sext"):
            if len(args) != 2:
                self._fail(node, f"{f} takes a value and a width: {f}(x, 32)")
            width = self._width_arg(args[1])
            a = self._expr(args[0])
            if isinstance(a, _Lit):
                return self._coerce(a, width, node)
            if a.width == BOOL:
                self._fail(node, f"{f} of a condition; write `1 if c else 0`")
            if width < a.width:
                self._fail(node, f"{f} to {width} bits from a wider {a.width}-bit value; slice it instead")
            return a if width == a.width else ir.Extend(a, f == "sext", width)
        if f == "bits":
            if len(args) != 2:
                self._fail(node, "bits takes a constant and a width: bits(1, 8)")
            return self._coerce(_Lit(self._const_int(args[0])), self._width_arg(args[1]), node)
        if f == "concat":
            if len(args) < 2:
                self._fail(node, "concat takes two or more values")
            parts = []
            for a in args:
                e = self._expr(a)
                if isinstance(e, _Lit) or e.width == BOOL:
                    self._fail(a, "concat needs values of known width; use bits(value, width) for constants")
                parts.append(e)
            return ir.Concat(tuple(parts), sum(p.width for p in parts))
        if f in ("slt", "sle", "sgt", "sge"):
            if len(args) != 2:
                self._fail(node, f"{f} takes two values")
            a, b = self._pair(args[0], args[1], None)
            if isinstance(a, _Lit):
                return self._fold_compare(f, a.value, b.value, node)
            return ir.Binary(f, a, b, BOOL)
        if f == "sra":
            if len(args) != 2:
                self._fail(node, "sra takes a value and a shift amount")
            a = self._expr(args[0], expect)
            if isinstance(a, _Lit):
                self._fail(node, "sra needs a value of known width")
            return ir.Binary("ashr", a, self._shift_amount(self._expr(args[1]), a.width, args[1]), a.width)
        if f == "load":
            self._need_memory(node)
            if len(args) != 2:
                self._fail(node, "load takes an address and a number of units: load(addr, n)")
            addr = self._typed(args[0], self.ns.address_width)
            units = self._const_int(args[1])
            if not 1 <= units <= 64:
                self._fail(node, "load moves 1 to 64 memory units")
            self._require_effects(node)
            width = units * self.ns.memory_unit
            name = self._new_local("load.", width)
            self._emit(ir.Load(name, addr, units, width, self._line_of(node)))
            self._define(name)
            return ir.Local(name, width)
        if f in ("store", "trap", "halt", "interrupt") + ir.LEAVE_KINDS:
            self._fail(node, f"{f}(...) is a statement and has no value")
        if f == "range":
            self._fail(node, "range is only allowed in `for i in range(...)`")
        if f in self.ns.helpers:
            return self._inline(self.ns.helpers[f], node, want_value=True)
        self._fail(node, f"call to undeclared function '{f}'")


def _normalize_returns(stmts, comp):
    """Move code after an ``if`` that may return into its falling-through branches.

    After this, every ``return`` in a helper is the last statement on its
    path, which lets the lowering treat ``return`` as "assign the result and
    stop" without any run-time bookkeeping.
    """
    out = []
    for i, s in enumerate(stmts):
        comp._tick(s)  # the code after a returning `if` is copied into its branches: count the copies
        if isinstance(s, ast.If) and _contains_return(s):
            rest = list(stmts[i + 1:])
            body = list(s.body) if _always_exits(s.body) else list(s.body) + rest
            orelse = list(s.orelse) if _always_exits(s.orelse) else list(s.orelse) + rest
            new = ast.If(test=s.test, body=_normalize_returns(body, comp), orelse=_normalize_returns(orelse, comp))
            ast.copy_location(new, s)
            out.append(new)
            return out
        out.append(s)
        if isinstance(s, ast.Return) and i < len(stmts) - 1:
            comp._fail(stmts[i + 1], "unreachable statement after return")
    return out


def _contains_return(node) -> bool:
    """Whether a ``return`` is anywhere under ``node``; kept on the node, since a helper's
    statements are asked again at every call that inlines it."""
    known = getattr(node, "_vverify_returns", None)
    if known is None:
        known = any(isinstance(n, ast.Return) for n in ast.walk(node))
        node._vverify_returns = known
    return known


def _always_exits(block) -> bool:
    if not block:
        return False
    last = block[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and isinstance(last.value.func, ast.Name):
        return last.value.func.id in _ENDS
    if isinstance(last, ast.If):
        return _always_exits(last.body) and _always_exits(last.orelse)
    return False


def _literalish(node, comp) -> bool:
    """Whether ``node`` is built only from constants (so its width must come from context).

    Asked at every level of a chain like ``1 + 2 + ... + x``, so the nodes it
    looks at count as work too.
    """
    comp._tick(node)
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id in comp.ns.constants or node.id in comp.loop_consts
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id in comp.ns.enums
    if isinstance(node, ast.UnaryOp):
        return not isinstance(node.op, ast.Not) and _literalish(node.operand, comp)
    if isinstance(node, ast.BinOp):
        return _literalish(node.left, comp) and _literalish(node.right, comp)
    if isinstance(node, ast.IfExp):
        return _literalish(node.body, comp) and _literalish(node.orelse, comp)
    return False


def _as_load(target):
    if isinstance(target, ast.Name):
        n = ast.Name(id=target.id, ctx=ast.Load())
    elif isinstance(target, ast.Subscript):
        n = ast.Subscript(value=_as_load(target.value), slice=target.slice, ctx=ast.Load())
    else:
        n = target
    return ast.copy_location(n, target)


def _logic(op, parts):
    """``land``/``lor`` of conditions, with the constant ones (a folded comparison) decided now."""
    absorbing = 0 if op == "land" else 1
    out = None
    for p in parts:
        if isinstance(p, ir.Const):
            if p.value == absorbing:
                return ir.Const(absorbing, BOOL)
            continue
        out = p if out is None else ir.Binary(op, out, p, BOOL)
    return ir.Const(1 - absorbing, BOOL) if out is None else out


def _extract(a, hi, lo):
    if lo == 0 and hi == a.width - 1:
        return a
    return ir.Extract(a, hi, lo, hi - lo + 1)


def _clip(text: str, n: int = 80) -> str:
    """Source text for a message, cut short: an error about a huge expression is still one short line."""
    return text if len(text) <= n else text[:n - 3] + "..."


def _wname(w):
    return "a condition" if w == BOOL else f"{w} bits"


def compile_body(ns: Namespace, text: str, path, where: str, line_base: int, operands: dict,
                 flat: bool = False, budget: "Budget | None" = None, mmu: MmuLowering | None = None,
                 boundary: bool = False) -> tuple:
    comp = Compiler(ns, path, where, line_base, operands, budget, mmu, boundary)
    stmts = parse_text(text, path, where, line_base, flat)
    try:
        return comp.body(stmts)
    except RecursionError:
        raise SpecError(path, line_base, where, "the semantics nest too deeply to check") from None


def compile_expr(ns: Namespace, text: str, path, where: str, line: int, operands: dict, expect=None,
                 budget: "Budget | None" = None):
    """Compile a pure expression; returns ``(prelude statements, expression)``.

    The prelude holds the lowered bodies of any pure helpers it calls.
    """
    if not isinstance(text, str):
        raise SpecError(path, line, where, "expected an expression as a string")
    tree = _parse(text.strip(), "eval", path, where, line, True, f"syntax error in `{_clip(text.strip())}`: ")
    _flatten(tree)  # the expression is reported at the line of its key
    comp = Compiler(ns, path, where, line, operands, budget)
    try:
        return comp.pure_expr(tree.body, expect)
    except RecursionError:
        raise SpecError(path, line, where, "the expression nests too deeply to check") from None
