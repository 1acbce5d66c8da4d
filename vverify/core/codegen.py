"""Spec IR -> Python source of the emulation core's run loop.

The generated module has one function, ``run``, that fetches, decodes (through
a pre-decoded code cache), and executes guest instructions until something
needs the caller: a halt, a trap the caller asked to see, an undecodable
word, or the end of the instruction budget.  It is the KVM_RUN pattern.

Conventions of the generated code, chosen so that the *same* source is
exact under numba and as plain Python:

* every bit-vector value is a ``numpy.uint64`` and every result is masked to
  its width (values are at most 64 bits wide);
* shifts by the width or more are guarded (LLVM leaves them undefined);
* signed comparisons flip the sign bit instead of converting types;
* every guest memory index is either masked to the address space or range
  checked against the memory size before use, and register-file indices are
  masked to the file's index width: whatever the guest does, the loop never
  reads or writes outside its arrays;
* a trap is precise: writes made before it by the same instruction are
  journalled and undone, exactly as the reference interpreter discards them;
* no expression is deeper than ``SPLIT_DEPTH`` levels, so Python's parser
  (200 nested parentheses at most) accepts any expression the spec language
  does: deeper parts go to locals first (see ``_Splitter``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

from ..errors import VVerifyError
from ..spec import ir
from ..spec.ir import BOOL, mask

# part of every generated module's name: bumped when what the same source compiles to changes
# (2: compiled without numba's runtime, vverify.core.jit), since numba's own cache would not notice
CODEGEN_VERSION = 3

from .protocol import (EXIT_BASE, R_BUDGET, R_DOUBLE_FAULT, R_HALT, R_HYPERCALL, R_ILLEGAL, R_PATCH, R_TRACE_FULL,
                       R_TRAP, ST_BUDGET, ST_MEMORY_OFFSET, ST_REASON, ST_SIZE, ST_STEPS, ST_TOTAL, ST_TRACE_CAP,
                       ST_TRACE_COUNT, ST_TRAP_EXITS, ST_TVAL, ST_CAUSE, ST_OOL, ST_OOL_TVAL, TRACE_ENTRIES)

MAX_MEMORY_UNITS = 1 << 24
ILLEGAL_TAG = 1 << 32  # decode-cache tag of an undecodable word
CODE_PAGE_SHIFT = 8  # code pages of 256 memory units (see Layout.code_page_base)
INLINE_LINES = 40  # instructions up to this many generated lines run inline in the loop


class CoreUnsupported(VVerifyError, ValueError):
    """The spec uses something the core cannot run (the interpreter still can).

    A :class:`~vverify.errors.VVerifyError`, so a command that builds a core
    for such a spec prints one line and exits 2 instead of a traceback.
    """


def refused(spec, what: str) -> CoreUnsupported:
    """The one-line refusal of ``spec``, saying ``what`` the core cannot do."""
    return CoreUnsupported(f"spec '{spec.name}': {what}, so the core cannot run it (the interpreter can)")


_PLACES = ((re.compile(r"def i\d+_(\w+)\("), "instruction '{}'"),  # an out-of-line instruction
           (re.compile(r"(?:el)?if tag == \w+:  # (\S+)$"), "instruction '{}'"),  # an arm of run's dispatch
           (re.compile(r"def trap_entry\("), "the trap entry"), (re.compile(r"def decode\("), "the decoder"),
           (re.compile(r"def run\("), "the run loop"))


def where_in(source: str, line: int) -> str:
    """What the code at 1-based ``line`` of a generated core belongs to ("instruction 'add'",
    "the trap entry"...), or "" when it cannot be told.

    Reads the markers the generator writes: an out-of-line instruction's
    ``def``, and the ``# name`` comment on each arm of the run loop's
    dispatch, which owns the lines indented below it.  Walks up through the
    enclosing blocks (each less indented than the last) to the first marker.
    """
    lines = source.splitlines()
    if not 0 < line <= len(lines):
        return ""
    depth = len(lines[line - 1]) - len(lines[line - 1].lstrip()) + 1  # the line itself counts
    for text in reversed(lines[:line]):
        indent = len(text) - len(text.lstrip())
        if not text.strip() or indent >= depth:
            continue
        depth = indent
        for pattern, name in _PLACES:
            m = pattern.match(text.strip())
            if m:
                return name.format(*m.groups())
    return ""


def mem_dtype(unit: int) -> str:
    for bits, name in ((8, "uint8"), (16, "uint16"), (32, "uint32"), (64, "uint64")):
        if unit <= bits:
            return name
    raise CoreUnsupported(f"memory units of {unit} bits are wider than 64; the core cannot run them")


class Layout:
    """Where each piece of state lives in the core's arrays."""

    def __init__(self, spec):
        self.spec = spec
        self.reg_index = {name: i for i, name in enumerate(spec.registers)}
        self.files = list(spec.files)
        self.instr_index = {name: i for i, name in enumerate(spec.instructions)}
        self.max_fields = max([len(i.operands) for i in spec.instructions.values()] + [1])
        # DECF is flat: row r (the instruction starting at memory unit r) is DECF[r << row_shift ...],
        # a power-of-two width so the row address is a shift, not a multiply by a run-time stride
        self.row_shift = (self.max_fields).bit_length()
        self.row_width = 1 << self.row_shift
        if spec.memory is None:
            raise refused(spec, "it declares no memory to fetch from")
        if spec.memory.size > MAX_MEMORY_UNITS:
            raise refused(spec, f"memory of {spec.memory.size} units is larger than the core's {MAX_MEMORY_UNITS}")
        if len(spec.causes) > 63:  # the loop's trap-exit mask has a bit per cause, below the exit codes
            raise refused(spec, f"it has {len(spec.causes)} trap causes, more than the core's 63")
        check_widths(spec)
        self.full_memory = spec.memory.size >= (1 << spec.memory.address)
        # after the rows, one word per memory unit: nonzero where Core.predecode patched the
        # instruction stream.  A store clears the row's tag but not this mark, so the run loop can
        # tell a rewrite it was made to forget from code it never decoded (the ``patch`` exit).
        # It lives in DECF, not an array of its own, because every array argument costs each call.
        self.patch_base = spec.memory.size << self.row_shift
        # after the patch marks, one word per code page: nonzero once an instruction covering a unit
        # of that page has been decoded (or pre-decoded) since the last flush.  A store checks its
        # page and skips dropping rows where nothing was ever decoded: data stores, nearly all of
        # them, cost a load and a branch instead of a row cleared per unit an instruction could
        # cover.  Marks are cleared only by a flush and by loading an image (Core.load_image unmarks
        # pages where no decoded instruction is left), so they only over-approximate: a marked
        # page costs what every store cost before.  A page holds at least an instruction, so an
        # instruction (or a store) touches at most two pages: where it starts and where it ends.
        self.page_shift = max(CODE_PAGE_SHIFT, (spec.max_ilen_units - 1).bit_length())
        self.code_page_base = self.patch_base + spec.memory.size
        # after the code pages, the trace of delivered traps (protocol.TRACE_ENTRIES): in DECF for the same reason
        self.trace_base = self.code_page_base + ((spec.memory.size - 1) >> self.page_shift) + 1
        # last, the code-write generation: one word that every write which may change decoded code
        # advances (a store to a marked code page, and the host's writes through Core's methods,
        # which keep the cache coherent).  A translation checked against memory at generation g is
        # still what memory holds while the generation is g, provided its pages are marked: binary
        # translation's compiled loop then skips comparing a block's code on every lookup.
        self.code_gen = self.trace_base + 2 * TRACE_ENTRIES
        # then, for a spec whose fetch walks page tables, the fetch epoch and the fetch cache (see
        # fetch_cache_inputs): an entry is a pc, the epoch it was filled in, and where the instruction is
        self.fetch_inputs = fetch_cache_inputs(spec)
        self.fetch_epoch = self.code_gen + 1
        self.fetch_cache_base = self.fetch_epoch + 1
        self.fetch_entry = 0 if self.fetch_inputs is None else 3
        # last, the store log: the addresses of the latest stores that advanced the code-write
        # generation, at slot generation % STORE_LOG.  A VMM that runs one guest instruction on a
        # core whose pages are all marked (vverify.vmm.shadow_paging's routines) reads there which
        # words it wrote, instead of comparing copies of every page it cares about.
        self.store_log = self.fetch_cache_base + self.fetch_entry * FETCH_CACHE_ENTRIES
        self.decf_size = self.store_log + STORE_LOG
        # R: registers, then each register file (padded to its index width), then status, then cause codes
        offset = len(spec.registers)
        self.file_offset = {}
        for name, f in spec.files.items():
            self.file_offset[name] = offset
            offset += 1 << f.index_width
        self.st_base = offset
        self.cc_base = offset + ST_SIZE
        # after the cause codes, two slots per banked register: the indexes in R of the two copies
        # a placed guest's run exchanges (vverify.spec.banks); equal when nothing is exchanged
        self.bank_base = self.cc_base + len(spec.causes)
        self.size = self.bank_base + 2 * len(spec.banks)


MAX_BITS = 64  # every value the core holds is one numpy.uint64

FETCH_CACHE_ENTRIES = 256  # direct-mapped by pc (see fetch_cache_inputs)

STORE_LOG = 8  # stores logged per code-write generation (Layout.store_log); a power of two
STORE_LOG_UNITS = 48  # a log entry is the memory index of the store's first unit | units << 48


def fetch_cache_inputs(spec) -> tuple | None:
    """The registers (besides pc) the fetch reads, which a fetch cache watches; None: no fetch cache.

    A spec whose fetch reads memory (riscv32_sv32's page walk) would walk the
    tables before every instruction.  The run loop remembers, per pc, where
    the last fetch there found the instruction, with the **fetch epoch** it
    was found in, and uses it only in the same epoch.  The epoch (a word of
    DECF) advances whenever what the fetch reads may have changed: when a
    run starts (the host may have written anything), when generated code
    writes one of these registers (an instruction, the trap entry), and when
    a store hits a marked page; the fetch's loads mark their pages as
    decoding marks code pages.  A hit is then what the fetch would compute,
    by construction, and costs two comparisons.  No spec declares anything,
    no TLB is modelled that the guest could see stale, and a spec whose fetch
    reads no memory gets no cache (its fetch is a few operations, and its
    core stays as it was).  A fetch that writes, or reads a register file, is
    not cached either.
    """
    body = spec.fetch_body or ()
    stmts = list(ir.walk_stmts(body))
    if not any(isinstance(s, ir.Load) for s in stmts) or not _fetch_is_pure(body):
        return None
    names = []
    for e in ir.walk_exprs(body):
        if isinstance(e, ir.FileRead):
            return None
        if isinstance(e, ir.Reg) and e.name != "pc" and e.name not in names:
            names.append(e.name)
    return tuple(names)


def check_widths(spec):
    """Refuse a spec with a value wider than the core's 64-bit words, naming where it is.

    The generated code computes on ``numpy.uint64`` and assembles the
    instruction word in one; a wider value would be cut to its low 64 bits
    without a sound (an 80-bit encoding would lose its top field), so the
    core would silently disagree with the interpreter, which computes on
    Python ints.  Refusing at construction is the honest alternative.
    """
    _check_state_widths(spec)
    _check_code_widths(spec)


def _over(width: int) -> bool:
    return width > MAX_BITS


def _check_state_widths(spec):
    """Registers, files, memory units and the trap code and value: each sits in one uint64 slot."""
    for r in spec.registers.values():
        if _over(r.width):
            raise refused(spec, f"register '{r.name}' is {r.width} bits, wider than {MAX_BITS}")
    for f in spec.files.values():
        if _over(f.width):
            raise refused(spec, f"register file '{f.name}' is {f.width} bits wide, wider than {MAX_BITS}")
    if _over(spec.memory.unit):
        raise refused(spec, f"memory units are {spec.memory.unit} bits, wider than {MAX_BITS}")
    if _over(spec.code_width) or _over(spec.tval_width):
        raise refused(spec, f"trap codes of {spec.code_width} bits or trap values of {spec.tval_width} bits are wider "
                            f"than the core's {MAX_BITS}-bit status slots")


def _check_code_widths(spec):
    """Instruction words, their operands, and every value the semantics compute (loads and stores included)."""
    unit = spec.memory.unit
    for name, instr in spec.instructions.items():
        bits = instr.units * unit
        if _over(bits):
            raise refused(spec, f"instruction '{name}' is {bits} bits long ({instr.units} units of {unit}), more than "
                                f"the core's {MAX_BITS}-bit instruction word")
        for op, width in {**instr.encoding.field_widths, **instr.operands}.items():
            if _over(width):
                raise refused(spec, f"instruction '{name}': operand '{op}' is {width} bits, wider than {MAX_BITS}")
    bodies = [(f"instruction '{n}'", i.body) for n, i in spec.instructions.items()]
    bodies += [("the trap entry", spec.entry), ("the fetch", spec.fetch_body)]
    for where, body in bodies:
        width, line = _widest(body, unit)
        if _over(width):
            at = f" (line {line})" if line else ""
            raise refused(spec, f"{where} computes a {width}-bit value{at}, wider than {MAX_BITS} bits")


def _widest(stmts, unit: int):
    """The widest value ``stmts`` compute (memory accesses count their units), and its statement's line.

    Iterative, so that expressions as deep as the spec language allows cost
    no recursion here.
    """
    best, line = 0, 0
    for s in ir.walk_stmts(stmts):
        widths = [s.units * unit] if isinstance(s, (ir.Load, ir.Store)) else []
        todo = list(ir.stmt_exprs(s))
        while todo:
            e = todo.pop()
            widths.append(e.width)
            todo.extend(ir.expr_children(e))
        w = max(widths, default=0)
        if w > best:
            best, line = w, getattr(s, "line", 0)
    return best, line


_MASKING = ("add", "sub", "mul", "shl")  # their result is masked to its width (below 64 bits in an index)
_CONDITIONS = ("eq", "ne", "ult", "ule", "ugt", "uge", "slt", "sle", "sgt", "sge", "land", "lor")


def index_sources(spec) -> set:
    """The state whose value can reach a register-file index as it is: ``("reg", name)``,
    ``("file", name)`` or ``("cause", None)`` (the cause codes the trap entry gets).

    The generated code indexes ``R`` with a file index as computed, trusting
    every value it holds to fit its width, as the run loop keeps them.  An
    index made from a register, a file entry or a cause code through
    operations that do not mask (and, or, xor, right shifts, conditionals,
    zero extension, concatenation) carries that value unchanged, so an array
    handed to :meth:`Core.run_context` with it too wide would index past
    ``R``.  The Core checks exactly these slots; everything else is masked by
    the operation that makes it, or is a decoded operand.  No bundled spec
    has any.
    """
    bodies = [(i.body, {}) for i in spec.instructions.values()]
    bodies += [(spec.entry, {"cause": {("cause", None)}}), (spec.fetch_body, {})]
    out: set = set()
    for body, operands in bodies:
        out |= _body_index_sources(body, operands)
    return out


def _body_index_sources(body, operands: dict) -> set:
    stmts = list(ir.walk_stmts(body))
    held: dict = {}  # local -> the state its value may carry unmasked
    changed = True
    while changed:  # a local may be assigned from one assigned further down (a fixpoint)
        changed = False
        for st in stmts:
            if isinstance(st, ir.SetLocal):
                new = _raw_sources(st.value, held, operands) - held.get(st.name, set())
                if new:
                    held[st.name] = held.get(st.name, set()) | new
                    changed = True
    out: set = set()
    for st in stmts:
        if isinstance(st, ir.SetFile):
            out |= _raw_sources(st.index, held, operands)
        todo = list(ir.stmt_exprs(st))
        while todo:
            e = todo.pop()
            if isinstance(e, ir.FileRead):
                out |= _raw_sources(e.index, held, operands)
            todo.extend(ir.expr_children(e))
    return out


def _raw_sources(e, held: dict, operands: dict) -> set:
    """The state ``e``'s value may carry without a mask in between (iteratively: any depth)."""
    out: set = set()
    todo = [e]
    while todo:
        x = todo.pop()
        t = type(x)
        if t is ir.Reg:
            out.add(("reg", x.name))
        elif t is ir.FileRead:
            out.add(("file", x.file))
        elif t is ir.Local:
            out |= held.get(x.name, set())
        elif t is ir.Operand:
            out |= operands.get(x.name, set())
        elif t is ir.Binary and x.op not in _MASKING and x.op not in _CONDITIONS:
            todo.extend((x.a,) if x.op in ("lshr", "ashr") else (x.a, x.b))
        elif t is ir.Ite:
            todo.extend((x.a, x.b))
        elif t is ir.Concat:
            todo.extend(x.parts)
        elif t is ir.Extend and not x.signed:
            todo.append(x.a)
    return out


def source_key(source: str) -> str:
    """Names a generated module: changes with its source and with the code that shapes and runs it.

    Keyed by the generated source, not by the spec, so specs that differ only
    in what the core never sees (a virtualization map, claims: x86_32 and
    x86_32_cpl1) share one module and one compilation.
    """
    from pathlib import Path

    h = hashlib.sha256(f"{CODEGEN_VERSION}\0{source}\0".encode())
    pkg = Path(__file__).resolve().parent.parent
    for sub in ("spec", "core"):
        for p in sorted((pkg / sub).glob("*.py")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    try:
        import numba

        h.update(numba.__version__.encode())
    except ImportError:  # pragma: no cover
        pass
    return h.hexdigest()[:20]


class _Emitter:
    """Emits the statements of one body (an instruction, the fetch, the trap entry)."""

    def __init__(self, gen, prefix: str, operands: dict, on_exit: str):
        self.g = gen
        self.spec = gen.spec
        self.prefix = prefix
        self.operands = operands  # operand name -> python expression
        self.extended: dict = {}  # operand name -> the width the decoder sign-extended it to (see Generator)
        self.on_exit = on_exit  # statement that leaves the body ("break")
        self.locals: dict = {}
        self.local_widths: dict = {}
        self.journal = False
        self.mark_loads = False  # the fetch with a fetch cache: its loads mark their pages (fetch_cache_inputs)
        self.record_loads = None  # an array name: each load's address and value go to it (helpergen)
        self.journal_regs: list = []
        self.file_sites = 0
        self.store_sites: list = []
        self.file_journal: list = []
        self.alias: dict = {}

    def prepare(self, stmts):
        """Find locals that are plain copies of operands or of other single copies.

        Helper inlining leaves chains like ``a = operand; b = a``; replacing
        them by their source keeps the generated code (and numba's compile
        time) small.  Only locals assigned exactly once qualify.
        """
        counts: dict = {}
        for st in ir.walk_stmts(stmts):
            name = st.name if isinstance(st, ir.SetLocal) else (st.local if isinstance(st, ir.Load) else None)
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
        self.alias = {}
        for st in ir.walk_stmts(stmts):
            if isinstance(st, ir.SetLocal) and counts[st.name] == 1:
                v = st.value
                if isinstance(v, (ir.Operand, ir.Const)) or (isinstance(v, ir.Local) and counts.get(v.name) == 1):
                    self.alias[st.name] = v
        return self

    # names
    def local(self, name, width=None):
        if name not in self.locals:
            self.locals[name] = f"{self.prefix}{len(self.locals)}"
            self.local_widths[self.locals[name]] = width
        return self.locals[name]

    # expressions
    def e(self, x) -> str:
        t = type(x)
        if t is ir.Const:
            return ("True" if x.value else "False") if x.width == BOOL else f"U({x.value})"
        if t is ir.Reg:
            return "pc" if x.name == "pc" else f"R[{self.g.layout.reg_index[x.name]}]"
        if t is ir.Operand:
            return self.operands[x.name]
        if t is ir.Extend and x.signed and type(x.a) is ir.Operand and self.extended.get(x.a.name) == x.width:
            return self.operands[x.a.name]  # the decoder stored it extended
        if t is ir.Local:
            if x.name in self.alias:
                return self.e(self.alias[x.name])
            return self.local(x.name, x.width)
        if t is ir.FileRead:
            # no mask needed: every IR value is already below 2**width (each operation masks its
            # result, decoded fields are masked to their width), and an index has the file's index
            # width; tests/core/test_wild_guests.py checks the bounds with numpy's own checks
            return f"R[U({self.g.layout.file_offset[x.file]}) + {self.e(x.index)}]"
        if t is ir.Unary:
            a = self.e(x.a)
            if x.op == "lnot":
                return f"(not {a})"
            if x.op == "neg":
                return self.m(f"(U(0) - {a})", x.width)
            return self.m(f"(~{a})", x.width)
        if t is ir.Binary:
            return self.binary(x)
        if t is ir.Ite:
            return f"({self.e(x.a)} if {self.e(x.cond)} else {self.e(x.b)})"
        if t is ir.Extract:
            return f"(({self.e(x.a)} >> U({x.lo})) & U({mask(x.width)}))"
        if t is ir.Concat:
            parts, shift = [], x.width
            for p in x.parts:
                shift -= p.width
                parts.append(f"({self.e(p)} << U({shift}))" if shift else self.e(p))
            return "(" + " | ".join(parts) + ")"
        if t is ir.Extend:
            a = self.e(x.a)
            if not x.signed:
                return a
            s = 1 << (x.a.width - 1)
            return self.m(f"(({a} ^ U({s})) - U({s}))", x.width)
        raise TypeError(t)  # pragma: no cover

    @staticmethod
    def m(expr, width):
        return expr if width >= 64 else f"({expr} & U({mask(width)}))"

    def binary(self, x):
        op, w = x.op, x.a.width
        if op in ("land", "lor"):
            return f"({self.e(x.a)} {'and' if op == 'land' else 'or'} {self.e(x.b)})"
        a, b = self.e(x.a), self.e(x.b)
        if w == BOOL:
            return f"({a} {'==' if op == 'eq' else '!='} {b})"
        simple = {"add": "+", "sub": "-", "mul": "*"}
        if op in simple:
            return self.m(f"({a} {simple[op]} {b})", w)
        bitwise = {"and": "&", "or": "|", "xor": "^"}
        if op in bitwise:
            return f"({a} {bitwise[op]} {b})"
        if op == "shl":
            return f"({self.m(f'({a} << {b})', w)} if {b} < U({w}) else U(0))"
        if op == "lshr":
            return f"(({a} >> {b}) if {b} < U({w}) else U(0))"
        if op == "ashr":
            return f"_ashr({a}, {b}, U({w}), U({mask(w)}))"
        cmp = {"eq": "==", "ne": "!=", "ult": "<", "ule": "<=", "ugt": ">", "uge": ">="}
        if op in cmp:
            return f"({a} {cmp[op]} {b})"
        s = 1 << (w - 1)
        scmp = {"slt": "<", "sle": "<=", "sgt": ">", "sge": ">="}[op]
        return f"(({a} ^ U({s})) {scmp} ({b} ^ U({s})))"

    # statements
    def block(self, stmts, ind) -> list:
        out = []
        for s in stmts:
            out.extend(self.stmt(s, ind))
        return out or [ind + "pass"]

    def stmt(self, s, ind) -> list:
        t = type(s)
        p = ind
        if t is ir.SetLocal:
            if s.name in self.alias:
                return []
            return [f"{p}{self.local(s.name, s.value.width)} = {self.e(s.value)}"]
        if t is ir.SetReg:
            if s.name == "pc":
                return [f"{p}next_pc = {self.e(s.value)}"]
            lay = self.g.layout
            i = lay.reg_index[s.name]
            if self.journal and i not in self.journal_regs:
                self.journal_regs.append(i)
            out = [f"{p}R[{i}] = {self.e(s.value)}"]
            if lay.fetch_inputs and s.name in lay.fetch_inputs:  # what the fetch reads changed
                out.append(f"{p}DECF[U({lay.fetch_epoch})] += U(1)")
            return out
        if t is ir.SetFile:
            f = self.spec.files[s.file]
            k = self.file_sites
            self.file_sites += 1
            idx = f"{self.prefix}fi{k}"
            out = [f"{p}{idx} = U({self.g.layout.file_offset[s.file]}) + {self.e(s.index)}"]
            cond = " and ".join(f"{idx} != U({self.g.layout.file_offset[s.file] + h})" for h in f.hardwired) or "True"
            out.append(f"{p}if {cond}:")
            if self.journal:
                out += [f"{p}    {self.prefix}jfi{k} = {idx}", f"{p}    {self.prefix}jfv{k} = R[{idx}]",
                        f"{p}    {self.prefix}jfd{k} = True"]
                self.g_file_journal(k, s.file)
            out.append(f"{p}    R[{idx}] = {self.e(s.value)}")
            return out
        if t is ir.Load and self.windows():
            m = self.spec.memory
            addr = self.local(f"%addr.{id(s)}", m.address)
            target = self.local(s.local, s.width)
            parts = [f"(U(MEM[{self.mem_index(addr, k)}]) << U({k * m.unit}))" if k else f"U(MEM[{addr}])"
                     for k in range(s.units)]
            return ([f"{p}{addr} = {self.e(s.addr)}"]
                    + self.window_dispatch(addr, s.units, p, False,
                                           lambda dev, q: [f"{q}{target} = {self.device_read(dev, addr, s.units)}"])
                    + [f"{p}    {target} = {' | '.join(parts)}"])
        if t is ir.Load:
            addr = self.local(f"%addr.{id(s)}", self.spec.memory.address)
            out = [f"{p}{addr} = {self.e(s.addr)}"]
            out += self.range_check(addr, s.units, p)
            m = self.spec.memory
            parts = []
            for k in range(s.units):
                idx = self.mem_index(addr, k)
                parts.append(f"(U(MEM[{idx}]) << U({k * m.unit}))" if k else f"U(MEM[{idx}])")
            out.append(f"{p}{self.local(s.local, s.width)} = {' | '.join(parts)}")
            if self.record_loads:
                rec = self.record_loads
                out += [f"{p}{rec}[2 * nreads] = {addr}", f"{p}{rec}[2 * nreads + 1] = {self.local(s.local, s.width)}",
                        f"{p}nreads += 1"]
            if self.mark_loads:
                base, shift = self.g.layout.code_page_base, self.g.layout.page_shift
                for k in sorted({0, s.units - 1}):
                    out.append(f"{p}DECF[U({base}) + ({self.mem_index(addr, k)} >> U({shift}))] = U(1)")
            return out
        if t is ir.Store and self.windows():
            m = self.spec.memory
            addr = self.local(f"%addr.{id(s)}", m.address)
            val = self.local(f"%val.{id(s)}", s.units * m.unit)
            out = [f"{p}{addr} = {self.e(s.addr)}", f"{p}{val} = {self.e(s.value)}"]
            out += self.window_dispatch(addr, s.units, p, True,
                                        lambda dev, q: self.device_write(dev, addr, s.units, val, q))
            return out + self.memory_store(addr, val, s.units, p + "    ")
        if t is ir.Store:
            m = self.spec.memory
            addr = self.local(f"%addr.{id(s)}", m.address)
            val = self.local(f"%val.{id(s)}", s.units * m.unit)
            out = [f"{p}{addr} = {self.e(s.addr)}", f"{p}{val} = {self.e(s.value)}"]
            out += self.range_check(addr, s.units, p, True)
            return out + self.memory_store(addr, val, s.units, p)
        if t is ir.If:
            out = [f"{p}if {self.e(s.cond)}:"]
            out += self.block(s.then, p + "    ")
            rest = s.orelse
            while len(rest) == 1 and isinstance(rest[0], ir.If):  # else-if chains stay flat
                out.append(f"{p}elif {self.e(rest[0].cond)}:")
                out += self.block(rest[0].then, p + "    ")
                rest = rest[0].orelse
            if rest:
                out.append(f"{p}else:")
                out += self.block(rest, p + "    ")
            return out
        if t is ir.Trap:
            c = self.spec.causes[s.cause].index
            return [f"{p}exc = {c}", f"{p}tval = {self.e(s.tval)}", f"{p}{self.on_exit}"]
        if t is ir.Halt:
            return [f"{p}halted = True", f"{p}{self.on_exit}"]
        if t is ir.Leave:
            return [f"{p}exc = {EXIT_BASE + ir.LEAVE_KINDS.index(s.kind)}", f"{p}tval = {self.e(s.code)}",
                    f"{p}{self.on_exit}"]
        if t is ir.Interrupt:  # only in the boundary program (boundary_source): it keeps what it wrote
            return [f"{p}exc = {self.spec.causes[s.cause].index}", f"{p}tval = U(0)", f"{p}{self.on_exit}"]
        raise TypeError(t)  # pragma: no cover

    def memory_store(self, addr, val, units, p) -> list:
        """A store's writes to memory, journaled when the instruction may still trap, and the
        invalidation of what was decoded there."""
        m = self.spec.memory
        out = []
        k = len(self.store_sites)
        self.store_sites.append((addr, units))
        if self.journal:
            out += [f"{p}{self.prefix}jsv{k}_{u} = MEM[{self.mem_index(addr, u)}]" for u in range(units)]
            out.append(f"{p}{self.prefix}jsd{k} = True")
        for u in range(units):
            part = f"({val} >> U({u * m.unit}))" if u else val
            out.append(f"{p}MEM[{self.mem_index(addr, u)}] = MT({part} & U({mask(m.unit)}))")
        out += self.invalidate(addr, units, p)
        return out

    def windows(self) -> bool:
        """Whether accesses may fall in a device window (``[state.devices]``): then a load or store that
        misses memory tries them before it faults (docs/interrupts.md, section 2.3)."""
        return bool(self.spec.devices) and not self.g.layout.full_memory

    def window_dispatch(self, addr, units, p, store, access) -> list:
        """``if addr`` misses memory: each window ``access(dev, indent)`` serves, else the fault; then
        an ``else:`` whose body (memory, indented by one more level) the caller appends."""
        m = self.spec.memory
        fault = self.spec.causes[m.fault_of(store)].index
        limit = m.size - units
        mode = f"R[{self.g.layout.reg_index['mode']}]"
        out = [f"{p}if {f'{addr} > U({limit})' if limit >= 0 else 'True'}:"]
        first = True
        for dev in self.spec.devices:
            if units > dev.size:
                continue
            modes = " or ".join(f"{mode} == U({v})" for v in dev.modes)
            cond = f"{addr} >= U({dev.base}) and {addr} <= U({dev.base + dev.size - units}) and ({modes})"
            out.append(f"{p}    {'if' if first else 'elif'} {cond}:")
            out += access(dev, p + "        ")
            first = False
        q = p + "    "
        if not first:
            out.append(f"{p}    else:")
            q += "    "
        out += [f"{q}exc = {fault}", f"{q}tval = {self.g.fit_tval(addr, m.address)}", f"{q}{self.on_exit}"]
        out.append(f"{p}else:")
        return out

    def device_read(self, dev, addr, units) -> str:
        """The value a load of ``units`` from ``addr`` reads in window ``dev``: its registers' units."""
        u = self.spec.memory.unit
        held = [(dev.base + off + j, reg, j) for off, reg, n in dev.registers for j in range(n)]
        parts = []
        for k in range(units):
            at = f"({addr} + U({k}))" if k else addr
            v = "U(0)"
            for a, reg, j in reversed(held):
                r = f"R[{self.g.layout.reg_index[reg]}]"
                v = f"(((({r} >> U({j * u})) & U({mask(u)}))) if {at} == U({a}) else {v})"
            parts.append(f"({v} << U({k * u}))" if k else v)
        return "(" + " | ".join(parts) + ")"

    def device_write(self, dev, addr, units, val, q) -> list:
        """A store of ``units`` from ``addr`` into window ``dev``: the units of its registers it covers."""
        u = self.spec.memory.unit
        lay = self.g.layout
        out = []
        for off, reg, n in dev.registers:
            i = lay.reg_index[reg]
            if self.journal and i not in self.journal_regs:
                self.journal_regs.append(i)
            width = self.spec.registers[reg].width
            for j in range(n):
                for k in range(units):
                    at = f"({addr} + U({k}))" if k else addr
                    unit = f"(({val} >> U({k * u})) & U({mask(u)}))" if k else f"({val} & U({mask(u)}))"
                    keep = mask(width) & ~(mask(u) << (j * u))
                    out += [f"{q}if {at} == U({dev.base + off + j}):",
                            f"{q}    R[{i}] = (R[{i}] & U({keep})) | {self.m(f'({unit} << U({j * u}))', width)}"]
            if lay.fetch_inputs and reg in lay.fetch_inputs:
                out.append(f"{q}DECF[U({lay.fetch_epoch})] += U(1)")
        return out or [f"{q}pass"]

    def g_file_journal(self, k, fname):
        self.file_journal.append((k, fname))

    def mem_index(self, addr, k):
        """The MEM index of unit ``k`` of an access at guest address ``addr``.

        Where memory fills the address space, addresses are taken modulo it
        after adding the memory offset (``moff``, status slot
        ST_MEMORY_OFFSET): 0 for a machine's own code, a guest's placement
        when a VMM runs its interpreter routines on the guest's view of a
        relocated storage.  Otherwise the offset is always 0 (Core refuses
        another) and the range check before the access bounds the index.
        """
        m = self.spec.memory
        a = f"({addr} + U({k}))" if k else addr
        return f"(({a} + moff) & U({mask(m.address)}))" if self.g.layout.full_memory else a

    def range_check(self, addr, units, p, store=False):
        m = self.spec.memory
        if self.g.layout.full_memory:
            return []
        fault = self.spec.causes[m.fault_of(store)].index
        limit = m.size - units
        if limit < 0:
            return [f"{p}exc = {fault}", f"{p}tval = {self.g.fit_tval(addr, m.address)}", f"{p}{self.on_exit}"]
        return [f"{p}if {addr} > U({limit}):", f"{p}    exc = {fault}",
                f"{p}    tval = {self.g.fit_tval(addr, m.address)}", f"{p}    {self.on_exit}"]

    def invalidate(self, addr, units, p):
        """Stale pre-decoded instructions covering the written units are dropped, where the written
        units' code pages have ever held a decoded instruction (see Layout.code_page_base)."""
        m = self.spec.memory
        lay = self.g.layout
        maxlen = self.spec.max_ilen_units
        pages = sorted({0, units - 1})  # the first and last unit written: a store spans at most two pages
        guard = []
        if units <= (1 << lay.page_shift):
            for k in pages:
                a = f"({addr} + U({k}))" if k else addr
                if lay.full_memory:
                    a = f"(({a} + moff) & U({mask(m.address)}))"
                guard.append(f"DECF[U({lay.code_page_base}) + ({a} >> U({lay.page_shift}))]")
        q = p + "    " if guard else p
        out = [f"{p}if ({' | '.join(guard)}) != U(0):"] if guard else []
        out.append(f"{q}DECF[U({lay.code_gen})] += U(1)  # the code-write generation (Layout.code_gen)")
        first = f"(({addr} + moff) & U({mask(m.address)}))" if lay.full_memory else addr
        out.append(f"{q}DECF[U({lay.store_log}) + (DECF[U({lay.code_gen})] & U({STORE_LOG - 1}))] = "
                   f"{first} | U({units << STORE_LOG_UNITS})  # Layout.store_log")
        if lay.fetch_inputs is not None:  # the page may hold page tables a fetch read
            out.append(f"{q}DECF[U({lay.fetch_epoch})] += U(1)")
        for d in range(-(maxlen - 1), units):
            a = f"({addr} + U({d}))" if d > 0 else (f"({addr} - U({-d}))" if d < 0 else addr)
            if lay.full_memory:
                out.append(f"{q}DECF[(({a} + moff) & U({mask(m.address)})) << U({lay.row_shift})] = U(0)")
            else:
                out.append(f"{q}if {a} < U({m.size}):")
                out.append(f"{q}    DECF[{a} << U({lay.row_shift})] = U(0)")
        return out


def _sign_extended_operands(instr, body) -> dict:
    """``{operand: width}`` for the operands of ``instr`` that ``body`` reads only sign-extended, each
    always to one width.  The decoder stores those already extended (once per address, not once per
    run of the instruction), and the emitter reads the stored value where the extension was."""
    total, widths = {}, {}
    for e in ir.walk_exprs(body):
        if isinstance(e, ir.Operand):
            total[e.name] = total.get(e.name, 0) + 1
        elif isinstance(e, ir.Extend) and e.signed and isinstance(e.a, ir.Operand):
            widths.setdefault(e.a.name, []).append(e.width)
    return {op: ws[0] for op, ws in widths.items()
            if op in instr.operands and len(set(ws)) == 1 and len(ws) == total[op] and instr.operands[op] < ws[0] <= 64}


def _fetch_is_pure(stmts) -> bool:
    """Whether the fetch writes nothing (registers other than the pc, files, memory): then running it
    twice for one instruction, as the run loop does after a decode miss, is the same as once."""
    for s in ir.walk_stmts(stmts):
        if isinstance(s, (ir.SetFile, ir.Store)) or (isinstance(s, ir.SetReg) and s.name != "pc"):
            return False
    return True


def _needs_journal(stmts, full_memory: bool) -> bool:
    """Whether some path may trap after an effect (so a trap must undo it)."""
    effect = False

    def walk(block):
        nonlocal effect
        for s in block:
            if isinstance(s, ir.If):
                if walk(s.then) or walk(s.orelse):
                    return True
                continue
            may_trap = isinstance(s, (ir.Trap, ir.Leave)) or (isinstance(s, (ir.Load, ir.Store)) and not full_memory)
            if may_trap and effect:
                return True
            if isinstance(s, (ir.SetFile, ir.Store)) or (isinstance(s, ir.SetReg) and s.name != "pc"):
                effect = True
        return False

    return walk(stmts)


SPLIT_DEPTH = 24  # IR levels in one generated expression: at most 3 parentheses each, far inside Python's 200


class _Splitter:
    """Cuts expressions too deep for Python's parser into locals assigned just before their statement.

    The parser refuses more than 200 nested parentheses, so a 120-term sum,
    which the spec language accepts, generated a core that was not valid
    Python.  Cutting is exact: in the generated code every expression is
    pure and total (no division; every index in bounds), so computing a
    cut-out part ahead of a short-circuit or a conditional changes when it
    is computed, never the result.  A shift's amount appears twice in the
    source (the guard and the shift), so an amount holding another shift's
    amount would double the source per level, and be computed that many
    times: such an amount is cut too.  Nothing in the bundled specs needs
    either cut, and a body
    with nothing to cut comes back as the very same tuple, so their cores
    are unchanged.
    """

    def __init__(self):
        self.n = 0

    def block(self, stmts) -> tuple:
        out = []
        for st in stmts:
            out.extend(self.stmt(st))
        return tuple(stmts) if len(out) == len(stmts) and all(a is b for a, b in zip(out, stmts)) else tuple(out)

    def stmt(self, st) -> list:
        if isinstance(st, ir.If):
            pre: list = []
            return pre + [self.if_chain(st, pre)]
        fields = _EXPR_FIELDS.get(type(st), ())
        pre = []
        new = {f: self.cut(getattr(st, f), pre, st) for f in fields}
        if all(new[f] is getattr(st, f) for f in fields):
            return [st]
        return pre + [dataclasses.replace(st, **new)]

    def if_chain(self, st, pre: list):
        """An if/elif chain, with what its conditions cut out put in ``pre`` (before the ``if``).

        Between the ``if`` and an ``elif`` nothing runs, so computing an
        elif's condition parts first reads the same state, and the chain
        stays flat (Python allows only 100 levels of indentation).
        """
        cond = self.cut(st.cond, pre, st)
        then = self.block(st.then)
        if len(st.orelse) == 1 and isinstance(st.orelse[0], ir.If):
            orelse = (self.if_chain(st.orelse[0], pre),)
        else:
            orelse = self.block(st.orelse)
        if cond is st.cond and then is st.then and all(a is b for a, b in zip(orelse, st.orelse)):
            return st
        return dataclasses.replace(st, cond=cond, then=then, orelse=orelse)

    def cut(self, e, pre: list, st):
        """``e`` with its too-deep parts replaced by locals, whose assignments go to ``pre``.

        Post-order over an explicit stack: an expression may be as deep as
        the spec language allows, deeper than Python's recursion limit here.
        """
        done: dict = {}  # id(node) -> (new node, height, whether it holds a shift's amount)
        stack = [(e, False)]
        while stack:
            node, ready = stack.pop()
            if id(node) in done:
                continue
            kids = ir.expr_children(node)
            if not ready:
                stack.append((node, True))
                stack.extend((k, False) for k in kids)
                continue
            new = [done[id(k)] for k in kids]
            shift = type(node) is ir.Binary and node.op in ("shl", "lshr")
            if shift and new[1][2]:
                new[1] = (self.local(new[1][0], pre, st), 1, False)
            node2 = _with_children(node, [k for k, _, _ in new])
            height = 1 + max((h for _, h, _ in new), default=0)
            doubles = shift or any(d for _, _, d in new)
            if height >= SPLIT_DEPTH:
                node2, height, doubles = self.local(node2, pre, st), 1, False
            done[id(node)] = (node2, height, doubles)
        return done[id(e)][0]

    def local(self, e, pre: list, st):
        name = f"%deep.{self.n}"
        self.n += 1
        pre.append(ir.SetLocal(name, e, getattr(st, "line", 0)))
        return ir.Local(name, e.width)


_EXPR_FIELDS = {ir.SetLocal: ("value",), ir.SetReg: ("value",), ir.SetFile: ("index", "value"), ir.Load: ("addr",),
                ir.Store: ("addr", "value"), ir.Trap: ("tval",), ir.Leave: ("code",)}


def _with_children(e, kids: list):
    """``e`` with its operands replaced by ``kids`` (``e`` itself when they are the same)."""
    old = ir.expr_children(e)
    if all(a is b for a, b in zip(kids, old)):
        return e
    t = type(e)
    if t is ir.Concat:
        return dataclasses.replace(e, parts=tuple(kids))
    if t is ir.FileRead:
        return dataclasses.replace(e, index=kids[0])
    if t is ir.Binary:
        return dataclasses.replace(e, a=kids[0], b=kids[1])
    if t is ir.Ite:
        return dataclasses.replace(e, cond=kids[0], a=kids[1], b=kids[2])
    return dataclasses.replace(e, a=kids[0])  # Unary, Extract, Extend


_CONST = re.compile(r"\bU\((\d+)\)")


def _hoist_constants(src: str) -> str:
    """Replace ``U(123)`` calls by module-level uint64 constants.

    numba freezes module globals as compile-time constants, whereas every
    ``np.uint64(...)`` call is typed and lowered as a call: with thousands of
    them this halves the compile time, and the machine code is the same.
    """
    values = sorted({int(v) for v in _CONST.findall(src)})
    body = _CONST.sub(lambda m: f"K{m.group(1)}", src)
    table = "\n".join(f"K{v} = U({v})" for v in values)
    marker = "\n\n\n@njit"
    i = body.index(marker)
    return body[:i] + "\n" + table + body[i:]


def _can_exit(stmts, full_memory: bool) -> bool:
    """Whether the body can end early (trap, halt, or a range-checked memory access)."""
    for s in ir.walk_stmts(stmts):
        if isinstance(s, (ir.Trap, ir.Halt, ir.Leave)) or (isinstance(s, (ir.Load, ir.Store)) and not full_memory):
            return True
    return False


class Generator:
    def __init__(self, spec):
        self.spec = spec
        self.layout = Layout(spec)
        # the bodies as generated: expressions too deep for Python's parser cut into locals
        split = _Splitter()
        self.bodies = {name: split.block(instr.body) for name, instr in spec.instructions.items()}
        self.extended = {name: _sign_extended_operands(instr, self.bodies[name])
                         for name, instr in spec.instructions.items()}
        self.entry = split.block(spec.entry)
        self.fetch_body = split.block(spec.fetch_body)
        self.boundary = split.block(spec.boundary_body) if spec.boundary_body else ()

    def _advance(self, ind, retired: bool) -> list:
        """The ``[time]`` rule after a step: ``steps`` counters, and ``retired`` ones when it retired
        (docs/interrupts.md; eager, one add per counter per step: the lazy counters of section 2.3
        are not built)."""
        t = self.spec.time
        if t is None:
            return []
        out = []
        for n in t.steps + (t.retired if retired else ()):
            r = f"R[{self.layout.reg_index[n]}]"
            out.append(f"{ind}{r} = {_Emitter.m(f'({r} + U(1))', self.spec.registers[n].width)}")
        return out

    def _boundary_function(self, deco) -> list:
        """``boundary(R, MEM, DECF, trap_exits) -> (exc, tval)``: the spec's boundary program on ``R``.

        ``exc`` is -1 (nothing delivered: what it wrote stays), an interrupt's cause index (what it
        wrote stays, and the caller delivers it), or EXIT_BASE + a leave kind (a vmexit).  A vmexit,
        an interrupt whose cause is in ``trap_exits`` and one the trace has no room to record (the run
        exits with R_TRACE_FULL before it) are precise: what it wrote is put back.
        """
        st = self.layout.st_base
        en = _Emitter(self, "b", {}, "break").prepare(self.boundary)
        lines = en.block(self.boundary, "        ")
        written = sorted({self.layout.reg_index[s.name] for s in ir.walk_stmts(self.boundary)
                          if isinstance(s, ir.SetReg)})
        out = [deco, "def boundary(R, MEM, DECF, trap_exits):",
               '    """The boundary program of the spec: (-1 or the interrupt\'s cause or an exit, tval)."""',
               "    exc = -1", "    tval = U(0)"]
        out += self._prologue(en, "    ")
        out += [f"    bs{i} = R[{i}]" for i in written]
        full = (f"(R[{st + ST_TRACE_CAP}] != U(0) and (R[{st + ST_TRACE_COUNT}] >= R[{st + ST_TRACE_CAP}] "
                f"or R[{st + ST_TRACE_COUNT}] >= U({TRACE_ENTRIES})))")
        out += ["    while True:", *lines, "        break",
                f"    if exc >= {EXIT_BASE} or (exc >= 0 and (((trap_exits >> U(exc)) & U(1)) != U(0) or {full})):"]
        out += [f"        R[{i}] = bs{i}" for i in written] or ["        pass"]
        out += ["    return exc, tval", "", ""]
        return out

    def fit_tval(self, expr, width):
        tw = self.spec.tval_width
        return expr if tw >= width else f"({expr} & U({mask(tw)}))"

    def _prologue(self, em, ind) -> list:
        """Declare every local (numba wants one type per name) and the journal."""
        out = [f"{ind}{n} = {'False' if w == BOOL else 'U(0)'}" for n, w in em.local_widths.items()]
        if em.journal:
            out += [f"{ind}{em.prefix}jr{i} = R[{i}]" for i in em.journal_regs]
            for fk, _ in em.file_journal:
                out += [f"{ind}{em.prefix}jfi{fk} = U(0)", f"{ind}{em.prefix}jfv{fk} = U(0)", f"{ind}{em.prefix}jfd{fk} = False"]
            for sk, (_, units) in enumerate(em.store_sites):
                out.append(f"{ind}{em.prefix}jsd{sk} = False")
                out += [f"{ind}{em.prefix}jsv{sk}_{u} = MT(0)" for u in range(units)]
        return out

    def _rollback(self, em, ind) -> list:
        """A precise trap: undo this instruction's writes, newest first."""
        if not em.journal:
            return []
        out = [f"{ind}if exc >= 0:"]
        for sk in reversed(range(len(em.store_sites))):
            addr, units = em.store_sites[sk]
            out.append(f"{ind}    if {em.prefix}jsd{sk}:")
            out += [f"{ind}        MEM[{em.mem_index(addr, u)}] = {em.prefix}jsv{sk}_{u}" for u in range(units)]
            out += em.invalidate(addr, units, ind + "        ")
        for fk, fname in reversed(em.file_journal):
            out += [f"{ind}    if {em.prefix}jfd{fk}:", f"{ind}        R[{em.prefix}jfi{fk}] = {em.prefix}jfv{fk}"]
        out += [f"{ind}    R[{i}] = {em.prefix}jr{i}" for i in em.journal_regs]
        if len(out) == 1:
            out.append(f"{ind}    pass")
        return out

    def _mark_code_pages(self, ind) -> list:
        """The code-page marks of the row just decoded at ``slot``: the pages of its first unit and
        of the last unit an instruction there may cover (Layout.code_page_base)."""
        lay, m = self.layout, self.spec.memory
        last = f"(slot + U({self.spec.max_ilen_units - 1}))"
        if lay.full_memory:
            last = f"({last} & U({mask(m.address)}))"  # elsewhere the fetch check keeps it below the size
        base = f"U({lay.code_page_base})"
        return [f"{ind}DECF[{base} + (slot >> U({lay.page_shift}))] = U(1)",
                f"{ind}DECF[{base} + ({last} >> U({lay.page_shift}))] = U(1)"]

    def _fetch_lines(self, ind) -> list:
        """The fetch at ``ind``: ``fa`` = where the instruction at ``pc`` is, or ``exc`` and ``tval`` set."""
        spec, lay, m = self.spec, self.layout, self.spec.memory
        out = [f"{ind}fa = pc"]
        cached = lay.fetch_inputs is not None
        if cached:  # the fetch cache (fetch_cache_inputs): an entry is pc, the epoch, fa
            shortest = min(i.units for i in spec.instructions.values())
            shift = (shortest & -shortest).bit_length() - 1  # pcs are multiples of it: index by the bits above
            out.append(f"{ind}fce = U({lay.fetch_cache_base}) + "
                       f"((pc >> U({shift})) & U({FETCH_CACHE_ENTRIES - 1})) * U({lay.fetch_entry})")
            out.append(f"{ind}if DECF[fce] == pc and DECF[fce + U(1)] == DECF[U({lay.fetch_epoch})]:")
            out.append(f"{ind}    fa = DECF[fce + U(2)]")
            out.append(f"{ind}else:")
            ind += "    "
        if self.fetch_body:
            fe = _Emitter(self, "fe", {}, "break").prepare(self.fetch_body)
            fe.mark_loads = cached
            fetch_lines = fe.block(self.fetch_body, ind + "    ")
            out += [f"{ind}{name} = {'False' if width == BOOL else 'U(0)'}" for name, width in fe.local_widths.items()]
            out.append(f"{ind}while True:")
            out += fetch_lines
            out += [f"{ind}    fa = {fe.e(ir.Local(spec.fetch_local, m.address))}", f"{ind}    break"]
        if not lay.full_memory:
            out += [f"{ind}if exc < 0 and fa > U({m.size - spec.max_ilen_units}):",
                    f"{ind}    exc = {spec.causes[m.fault].index}", f"{ind}    tval = {self.fit_tval('fa', m.address)}"]
        if cached:
            out += [f"{ind}if exc < 0:", f"{ind}    DECF[fce] = pc", f"{ind}    DECF[fce + U(1)] = DECF[U({lay.fetch_epoch})]",
                    f"{ind}    DECF[fce + U(2)] = fa"]
        return out

    def source(self, jit: bool) -> str:
        spec, lay = self.spec, self.layout
        m = spec.memory
        maxlen = spec.max_ilen_units
        st, cc = lay.st_base, lay.cc_base
        deco = "@njit(cache=True)" if jit else "@njit"
        L = []
        w = L.append
        w('"""Emulation core generated by vverify.core.codegen from a spec\'s semantics (the machine only:')
        w("specs that differ in their virtualization map or claims share it).")
        w("")
        w("Do not edit: regenerate from the spec.  R holds the registers, the register")
        w("files, the status slots and the cause codes (see Layout); MEM the guest")
        w("memory; DECF the pre-decoded code cache, one row per memory unit (word 0: 0 = not decoded,")
        w(f"k + 1 = instruction k, {ILLEGAL_TAG} = undecodable; then the operands).")
        w('"""')
        w("import numpy as np")
        w("from vverify.core.jit import njit" if jit else "from vverify.core.jit import plain as njit")
        w("")
        w("U = np.uint64")
        w(f"MT = np.{mem_dtype(m.unit)}")
        w("")
        w("")
        w("@njit(cache=True, inline='always')" if jit else "@njit")
        w("def _ashr(a, b, w, m):")
        w("    neg = (a >> (w - U(1))) & U(1)")
        w("    if b >= w:")
        w("        return m if neg else U(0)")
        w("    r = a >> b")
        w("    return (r | (m ^ (m >> b))) if neg else r")
        w("")
        w("")
        w(deco)
        w("def decode(word, DECF, row):")
        w('    """Tag of the instruction ``word`` encodes (operands go to DECF[row + 1 ...])."""')
        layouts: dict = {}  # field placement -> layout number; encodings of one format share it
        keys = []
        for name, instr in spec.instructions.items():
            key = tuple((tuple((p.pos, p.nbits, p.field_lo) for p in instr.encoding.pieces[op]),
                         instr.operands[op], self.extended[name].get(op)) for op in instr.operands)
            layouts.setdefault(key, len(layouts))
            keys.append(key)
        for k, (name, instr) in enumerate(spec.instructions.items()):
            enc = instr.encoding
            test = f"(word & U({enc.fixed_mask & mask(enc.width)})) == U({enc.fixed_value})"
            for xm, xv in enc.exclusions:  # an excluded field value: the word is another instruction's, or none's
                test += f" and (word & U({xm})) != U({xv})"
            w(f"    {'if' if k == 0 else 'elif'} {test}:  # {name}")
            w(f"        tag = U({k + 1})")
            w(f"        layout = {layouts[keys[k]]}")
        w("    else:")
        w(f"        return U({ILLEGAL_TAG})")
        for key, n in layouts.items():
            w(f"    {'if' if n == 0 else 'elif'} layout == {n}:")
            if not key:
                w("        pass")
            for j, (pieces, width, extended) in enumerate(key):
                parts = [f"(((word >> U({pos})) & U({mask(nb)})) << U({lo}))" for pos, nb, lo in pieces]
                field = " | ".join(parts)
                if extended:  # read only sign-extended to this width: store it so (_sign_extended_operands)
                    sign = 1 << (width - 1)
                    field = f"((({field}) ^ U({sign})) - U({sign})) & U({mask(extended)})"
                w(f"        DECF[row + U({j + 1})] = {field}")
        w("    return tag")
        w("")
        w("")
        self.inline = {}
        for k, (name, instr) in enumerate(spec.instructions.items()):
            ops = {op: f"o{j}" for j, op in enumerate(instr.operands)}
            em = _Emitter(self, "v", ops, "break")
            em.extended = self.extended[name]
            em.prepare(self.bodies[name])
            em.journal = _needs_journal(self.bodies[name], lay.full_memory)
            body = em.block(self.bodies[name], "        ")
            if len(body) <= INLINE_LINES:
                self.inline[k] = True  # small: emitted inside run(), see below
                continue
            w(deco)
            w(f"def i{k}_{name}(R, MEM, DECF, pc{''.join(', ' + o for o in ops.values())}):")
            # Only the next pc comes back; a trap, exit or halt is left in R's ST_OOL slots.  A tuple
            # return costs the caller a result slot per call site, zeroed on every entry to run():
            # x86_32 has 22 such instructions, and its VMMs enter run() once per block or event.
            w(f'    """{name}: returns the next pc; a trap, exit or halt goes to R[ST_OOL], R[ST_OOL_TVAL]."""')
            w(f"    next_pc = {_Emitter.m(f'(pc + U({instr.units}))', spec.pc_width)}")
            if lay.full_memory:
                w(f"    moff = R[{st + ST_MEMORY_OFFSET}]")
            w("    exc = -1")
            w("    tval = U(0)")
            w("    halted = False")
            L.extend(self._prologue(em, "    "))
            w("    while True:")
            L.extend(body)
            w("        break")
            L.extend(self._rollback(em, "    "))
            w("    if exc >= 0:")
            w(f"        R[{st + ST_OOL}] = U(exc + 2)")
            w(f"        R[{st + ST_OOL_TVAL}] = tval")
            w("    elif halted:")
            w(f"        R[{st + ST_OOL}] = U(1)")
            w("    return next_pc")
            w("")
            w("")
        en = _Emitter(self, "v", {"cause": "cause", "tval": "tval"}, "break").prepare(self.entry)
        entry_lines = en.block(self.entry, "        ")
        w(deco)
        w("def trap_entry(R, MEM, DECF, pc, cause, tval):")
        w('    """The trap entry of the spec; returns (next pc, False if it faulted itself)."""')
        w("    next_pc = pc")
        if lay.full_memory:
            w(f"    moff = R[{st + ST_MEMORY_OFFSET}]")
        w("    exc = -1")
        L.extend(self._prologue(en, "    "))
        w("    while True:")
        L.extend(entry_lines)
        w("        break")
        w("    return next_pc, exc < 0")
        w("")
        w("")
        if self.boundary:
            L.extend(self._boundary_function(deco))
        L.extend(self._fetch_function(deco))
        w(deco)
        w("def run(R, MEM, DECF):")
        w('    """Run until an exit; returns the exit reason (see docs/core.md)."""')
        w(f"    budget = R[{st + ST_BUDGET}]")
        w(f"    trap_exits = R[{st + ST_TRAP_EXITS}]")
        if lay.full_memory:
            w(f"    moff = R[{st + ST_MEMORY_OFFSET}]")
        exchange = self._bank_exchange("    ")
        L.extend(exchange)  # a placed guest: its banked copies where the real machine looks
        if lay.fetch_inputs is not None:  # a new fetch epoch: the host may have written anything
            w(f"    DECF[U({lay.fetch_epoch})] += U(1)")
        w("    steps = U(0)")
        w(f"    reason = {R_BUDGET}")
        pci = lay.reg_index["pc"]
        # pc lives in a local for the whole run and goes back to R only on the way out: a store
        # and reload of R[pc] per instruction would sit on the loop's critical path
        w(f"    pc = R[{pci}]")
        # Two loops.  The inner one is the hot path: fetch, look the row up, run the instruction,
        # count it; only instructions that complete normally stay in it.  Everything else (a
        # fetch that faults, a row not decoded yet, an undecodable word, a trap, a hypercall or
        # vmexit, a halt, the end of the budget) leaves it, and the outer loop sorts out why.
        # LLVM takes the edges that leave a loop for the unlikely ones, so the hot path is laid
        # out straight and its checks fall through; none of the rare cases costs the hot path
        # more than a not-taken branch.  (docs/core.md, "What keeps the hot path fast".)
        w(f"    next_pc = pc")
        w(f"    exc = -1")
        w(f"    tval = U(0)")
        w(f"    halted = False")
        w(f"    slot = U(0)")
        w(f"    row = U(0)")
        w(f"    tag = U(0)")
        # the decode miss goes to the outer loop and comes back to fetch again, which is exact
        # only if fetching writes nothing: a fetch that writes (no bundled spec's does) decodes in
        # the hot loop, as every miss did before
        # (with a boundary program, which must run once per step, a miss decodes in the hot loop too)
        refetch = _fetch_is_pure(self.fetch_body) and not self.boundary
        w("    while True:")
        O = "        "
        # exc and halted start every instruction at -1 and False: as constants there, LLVM folds
        # the checks of them after each instruction that cannot set them (reset only on the way
        # back in, they would be loop-carried values to test every time).  tval is read only with
        # an exc, which is always set together with it, and every instruction sets next_pc, so
        # neither is reset.
        w(f"{O}while steps < budget:  # the hot loop")
        I = O + "    "
        w(f"{I}exc = -1")
        w(f"{I}halted = False")
        if self.boundary:  # before every instruction (docs/interrupts.md: the simple form, no horizon)
            w(f"{I}exc, tval = boundary(R, MEM, DECF, trap_exits)")
            w(f"{I}if exc >= 0:  # an interrupt (delivered below, as a trap is) or a vmexit")
            w(f"{I}    break")
        fetch = self._fetch_lines(I)
        L.extend(fetch)
        if self.fetch_body or not lay.full_memory:
            w(f"{I}if exc >= 0:")
            w(f"{I}    break")
        lookup = [f"slot = {'fa' if not lay.full_memory else f'((fa + moff) & U({mask(m.address)}))'}",
                  f"row = slot << U({lay.row_shift})", "tag = DECF[row]"]
        L.extend(I + line for line in lookup)
        parts = []
        for k in range(maxlen):
            idx = f"(slot + U({k}))" if k else "slot"
            if lay.full_memory and k:
                idx = f"({idx} & U({mask(m.address)}))"
            parts.append(f"(U(MEM[{idx}]) << U({k * m.unit}))" if k else f"U(MEM[{idx}])")
        word = " | ".join(parts)
        if not refetch:
            w(f"{I}if tag == U(0):")
            w(f"{I}    if DECF[U({lay.patch_base}) + slot] != U(0):  # a patch a store made the cache forget")
            w(f"{I}        break")
            w(f"{I}    tag = decode({word}, DECF, row)")
            w(f"{I}    DECF[row] = tag")
            L.extend(self._mark_code_pages(I + "    "))
        for k, (name, instr) in enumerate(spec.instructions.items()):
            w(f"{I}{'if' if k == 0 else 'elif'} tag == U({k + 1}):  # {name}")
            if not self.inline.get(k):
                args = "".join(f", DECF[row + U({j + 1})]" for j in range(len(instr.operands)))
                w(f"{I}    next_pc = i{k}_{name}(R, MEM, DECF, pc{args})")
                w(f"{I}    if R[{st + ST_OOL}] != U(0):  # it trapped, exited or halted")
                w(f"{I}        if R[{st + ST_OOL}] == U(1):")
                w(f"{I}            halted = True")
                w(f"{I}        else:")
                w(f"{I}            exc = np.int64(R[{st + ST_OOL}] - U(2))")
                w(f"{I}            tval = R[{st + ST_OOL_TVAL}]")
                w(f"{I}        R[{st + ST_OOL}] = U(0)")
                continue
            K = I + "    "
            ops = {op: f"i{k}o{j}" for j, op in enumerate(instr.operands)}
            for j, var in enumerate(ops.values()):
                w(f"{K}{var} = DECF[row + U({j + 1})]")
            w(f"{K}next_pc = {_Emitter.m(f'(pc + U({instr.units}))', spec.pc_width)}")
            em = _Emitter(self, f"i{k}v", ops, "break")
            em.extended = self.extended[name]
            em.prepare(self.bodies[name])
            em.journal = _needs_journal(self.bodies[name], lay.full_memory)
            body = em.block(self.bodies[name], K + "    ")
            L.extend(self._prologue(em, K))
            if _can_exit(self.bodies[name], lay.full_memory):
                w(f"{K}while True:  # one pass; a trap or halt leaves it early")
                L.extend(body)
                w(f"{K}    break")
            else:  # nothing can end it early: no loop for numba to analyse
                L.extend(line[4:] for line in body)
            L.extend(self._rollback(em, K))
        w(f"{I}else:  # not decoded yet, or undecodable")
        w(f"{I}    break")
        w(f"{I}if exc >= 0 or halted:")
        w(f"{I}    break")
        w(f"{I}pc = next_pc")
        w(f"{I}steps += U(1)")
        L.extend(self._advance(I, True))
        # out of the hot loop: why?  (The budget is checked first: the hot loop also ends there
        # with whatever its last instruction left in exc and halted.)
        w(f"{O}if steps >= budget:")
        w(f"{O}    break")
        w(f"{O}if exc >= {EXIT_BASE}:  # hypercall or vmexit: precise, pc still at the instruction")
        w(f"{O}    R[{st + ST_TVAL}] = tval")
        w(f"{O}    reason = {R_HYPERCALL} + (exc - {EXIT_BASE})")
        w(f"{O}    break")
        w(f"{O}if exc >= 0:  # a trap: exit to the caller, or take it through the spec's trap entry")
        w(f"{O}    if (trap_exits >> U(exc)) & U(1):")
        w(f"{O}        R[{st + ST_CAUSE}] = U(exc)")
        w(f"{O}        R[{st + ST_TVAL}] = tval")
        w(f"{O}        reason = {R_TRAP}")
        w(f"{O}        break")
        # the trace of delivered traps, only when asked for (a slot, not a local: nothing of it
        # stays live in the hot loop); a full buffer exits before the trap, as precise as a trap exit
        w(f"{O}    tcap = R[{st + ST_TRACE_CAP}]")
        w(f"{O}    if tcap != U(0):")
        w(f"{O}        tn = R[{st + ST_TRACE_COUNT}]")
        w(f"{O}        if tn >= tcap or tn >= U({TRACE_ENTRIES}):")
        w(f"{O}            R[{st + ST_CAUSE}] = U(exc)")
        w(f"{O}            R[{st + ST_TVAL}] = tval")
        w(f"{O}            reason = {R_TRACE_FULL}")
        w(f"{O}            break")
        w(f"{O}        DECF[U({lay.trace_base}) + U(2) * tn] = U(exc)")
        w(f"{O}        DECF[U({lay.trace_base + 1}) + U(2) * tn] = pc")
        w(f"{O}        R[{st + ST_TRACE_COUNT}] = tn + U(1)")
        w(f"{O}    next_pc, ok = trap_entry(R, MEM, DECF, pc, R[{cc} + exc], {self.fit_tval('tval', 64)})")
        w(f"{O}    if not ok:  # the trap entry itself faulted")
        w(f"{O}        reason = {R_DOUBLE_FAULT}")
        w(f"{O}        break")
        w(f"{O}    pc = next_pc")
        w(f"{O}    steps += U(1)")
        L.extend(self._advance(O + "    ", False))
        w(f"{O}    continue")
        w(f"{O}if halted:")
        w(f"{O}    pc = next_pc")
        w(f"{O}    steps += U(1)")
        L.extend(self._advance(O + "    ", True))
        w(f"{O}    reason = {R_HALT}")
        w(f"{O}    break")
        if refetch:
            # the hot loop left at its dispatch: fetch again for the row rather than keep slot, row
            # and tag alive out of the hot loop (LLVM kept them in registers, and spilled, on every
            # instruction).  Nothing ran in between and the fetch writes nothing: same row.
            L.extend(line.replace(I, O, 1) for line in fetch)
            L.extend(O + line for line in lookup)
            w(f"{O}if tag == U(0):  # not decoded yet: decode it, then fetch it again in the hot loop")
            w(f"{O}    if DECF[U({lay.patch_base}) + slot] != U(0):  # a patch a store made the cache forget")
            w(f"{O}        reason = {R_PATCH}")
            w(f"{O}        break")
            w(f"{O}    tag = decode({word}, DECF, row)")
            w(f"{O}    DECF[row] = tag")
            L.extend(self._mark_code_pages(O + "    "))
            w(f"{O}    if tag != U({ILLEGAL_TAG}):")
            w(f"{O}        continue")
        else:
            w(f"{O}if tag == U(0):  # a patch a store made the cache forget")
            w(f"{O}    reason = {R_PATCH}")
            w(f"{O}    break")
        w(f"{O}R[{st + ST_TVAL}] = {word}  # undecodable")
        w(f"{O}reason = {R_ILLEGAL}")
        w(f"{O}break")
        w(f"    R[{pci}] = pc")
        w(f"    R[{st + ST_STEPS}] = steps")
        w(f"    R[{st + ST_TOTAL}] += steps")
        w(f"    R[{st + ST_REASON}] = U(reason)")
        L.extend(exchange)  # and back: between runs R holds the guest's own arrangement
        w("    return reason")
        return _hoist_constants("\n".join(L) + "\n")

    def _bank_exchange(self, indent) -> list:
        """Exchange the copies named in each banked register's pair of slots (Layout.bank_base).

        A VMM that places a guest writes there the copy the guest's mode selects and the copy the
        real mode selects (vverify.vmm.registers.bank_pairs); the run exchanges them on the way in
        and again on the way out, so the real machine reaches the guest's current copy and every
        other reader of R sees the guest's arrangement.  Slots that are equal (a machine's own
        run, an emulated view) exchange nothing; indexes past the registers are ignored, so no
        value in them can reach outside R.
        """
        lay = self.layout
        n = len(self.spec.registers)
        out = []
        for k in range(len(self.spec.banks)):
            a, b = lay.bank_base + 2 * k, lay.bank_base + 2 * k + 1
            out += [f"{indent}bank_a = R[{a}]", f"{indent}bank_b = R[{b}]",
                    f"{indent}if bank_a != bank_b and bank_a < U({n}) and bank_b < U({n}):",
                    f"{indent}    bank_t = R[bank_a]", f"{indent}    R[bank_a] = R[bank_b]", f"{indent}    R[bank_b] = bank_t"]
        return out


def _fetch_function_source(gen, deco) -> list:
    """``fetch_at(R, MEM, DECF) -> (exc, address)``: the spec's fetch on the registers in ``R``.

    The run loop fetches inline; a VMM asks where the guest's next
    instruction is after an exit (to decode it, translate a block, find a
    rewrite), on the guest's view of the registers.  ``exc`` is -1, or the
    trap cause index (or EXIT_BASE + a leave kind) if fetching faults.  The
    address is guest-physical, before the memory offset of ``R``'s status
    slot (which loads in the fetch itself go through).
    """
    spec, lay = gen.spec, gen.layout
    m = spec.memory
    st = lay.st_base
    out = [deco, "def fetch_at(R, MEM, DECF):", f"    pc = R[{lay.reg_index['pc']}]"]
    if lay.full_memory:
        out.append(f"    moff = R[{st + ST_MEMORY_OFFSET}]")
    out += ["    exc = -1", "    tval = U(0)", "    next_pc = pc", "    fa = pc"]
    if gen.fetch_body:
        fe = _Emitter(gen, "fe", {}, "break").prepare(gen.fetch_body)
        lines = fe.block(gen.fetch_body, "        ")
        out += [f"    {n} = {'False' if w == BOOL else 'U(0)'}" for n, w in fe.local_widths.items()]
        out.append("    while True:")
        out += lines
        out.append(f"        fa = {fe.e(ir.Local(spec.fetch_local, m.address))}")
        out.append("        break")
    if not lay.full_memory:
        out += [f"    if exc < 0 and fa > U({m.size - spec.max_ilen_units}):",
                f"        exc = {spec.causes[m.fault].index}"]
    out += ["    return exc, fa", "", ""]
    return out


Generator._fetch_function = lambda self, deco: _fetch_function_source(self, deco)


def generate(spec, jit: bool = True) -> str:
    """The Python source of ``spec``'s core."""
    return Generator(spec).source(jit)
