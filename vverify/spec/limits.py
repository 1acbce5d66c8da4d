"""How big a spec may be: every limit the loader enforces, in one place.

A spec is untrusted input (a CI gate lints whatever a pull request brings),
so the loader must finish in bounded time and memory on any file, and refuse
what it will not check with a one-line :class:`~vverify.errors.SpecError`
instead of hanging or crashing.  Each limit below is documented, with the
error it gives, in ``docs/spec-format.md`` ("Limits"); the bundled specs sit
far inside all of them (the figures in the comments are the largest any
bundled spec reaches).

Together the limits make linting any accepted spec take at most about a
minute on a slow machine: bytes bound the TOML and schema work, the
instruction count bounds the encoding checks, and the node budgets bound the
semantics compiler however the spec nests, unrolls or inlines.
"""

from __future__ import annotations

MAX_SPEC_BYTES = 2 * 1024 * 1024
"""Bytes in one spec file (2 MiB; the largest bundled spec is 66 KB).  Only
regular files are read, and never more than this many bytes plus one."""

MAX_EXTENDS_CHAIN = 8
"""Files in one ``extends`` chain, the spec itself included (bundled: 2)."""

MAX_INSTRUCTIONS = 20_000
"""Instructions in one spec, inherited ones included (bundled: 86).  The
encoding-overlap check is exact, and no exact check is sub-quadratic on every
conceivable set of patterns; this bounds the worst case."""

MAX_ENCODING_PATTERNS = 1024
"""Patterns one encoding splits into once its excluded values are cut out
(vverify.spec.encoding.Encoding.patterns): each excluded value of a field
cuts every pattern it overlaps into one piece per bit of the field left
free, so a value excluded from a 4-bit field makes 4, and exclusions on
several fields multiply (ARM's ``cond != 1111`` and ``Rd != 15`` together:
16)."""

MAX_EXCLUDED_VALUES = 64
"""Values one instruction's encoding excludes, all its fields together (ARM needs one or two
per field).  Each is a test in the core's decoder and a constraint on every query, and cutting
it out of the encoding's patterns costs a pass over them."""

MAX_BANK_CHOICES = 64
"""Values a banked register's copies list, and banked entries of one register file.  Every
read or write of the banked name (or of the file) becomes a choice between them, so they
bound the code each use lowers to (ARM lists 9 modes, and banks r8-r14)."""

MAX_SPEC_PATTERNS = 100_000
"""The same patterns summed over a spec: the exact overlap check compares
patterns, so this bounds its work the way MAX_INSTRUCTIONS does without
exclusions (5 patterns per instruction at the instruction limit)."""

MAX_NESTING = 100
"""Levels of nesting in one piece of semantics text: a statement inside a
block, or an operand, argument or subscript inside an expression, is one
level deeper than what holds it.  An ``elif`` continues its ``if`` and adds
no level (bundled: 12).  Python's own parser and this package's compiler
are recursive; this keeps both far from their stacks' ends."""

MAX_LITERAL_BITS = 4096
"""Bits in an integer written in a spec, as a TOML value or in semantics
text: no bit-vector is wider (the widest width is 4096 bits), so a larger
literal can never fit anywhere."""

MAX_CONSTANT_BITS = 2 * MAX_LITERAL_BITS
"""Bits in a constant expression's value while the compiler folds it (before
it takes the width of its context): a product of two widest literals still
folds; a product tree of them is refused rather than multiplied out."""

MAX_BODY_NODES = 50_000
"""Work in one body (an instruction's semantics, the trap entry, one map
entry or invariant) once loops are unrolled and helpers inlined: every node
the compiler reads, each time it reads it, and every statement it writes
(bundled: 2,178, in x86_32_vtx's ``call_far``; this is 23 times that)."""

MAX_SPEC_NODES = 2_000_000
"""The same work summed over every body of a spec (bundled: 23,436, in
x86_32_vtx; a generated 2 MB spec shaped like a real one: 1.3 million).
Per-body budgets alone would let many small instructions that each call a
large helper chain add up to hours; at this budget the compiler's share of
a lint is about 15 s at worst."""

MAX_UNROLL = 256
"""Iterations of one ``for i in range(N)`` loop."""

MAX_WIDTH = 4096
"""Bits in any width: a register, a field, an annotation, an instruction word."""


def show_int(value: int) -> str:
    """An integer for an error message: whole when short, else its size.

    Python refuses to turn an integer of more than 4,300 decimal digits into
    text, and a message quoting a 1,000-digit constant helps nobody.
    """
    bits = value.bit_length()
    if bits <= 64:
        return str(value)
    lead = abs(value) >> ((bits - 48) & ~3)  # the leading hex digits, without printing the rest
    return f"{'-' if value < 0 else ''}0x{lead:x}... ({bits} bits)"
