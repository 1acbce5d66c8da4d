"""An assembler and a disassembler derived from a spec's encodings and syntax.

Nothing here knows any particular ISA: every instruction's ``syntax``
template (``"lw {rd}, {imm}({rs1})"``) and ``encoding`` give both directions.
See docs/assembly.md for the source language.  Typical use::

    prog = assemble(spec, "loop: addi a0, a0, -1\\n bne a0, zero, loop")
    for line in disassemble(spec, prog):
        print(line)
"""

from .assembler import DIRECTIVES, Program, SourceLine, assemble
from .disassembler import Line, disassemble, source_text
from .errors import AsmError
from .memory import load_into, to_memory, unit_dtype
from .syntax import syntax_problems, syntax_table

__all__ = ["AsmError", "DIRECTIVES", "Line", "Program", "SourceLine", "assemble", "disassemble", "load_into",
           "source_text", "syntax_problems", "syntax_table", "to_memory", "unit_dtype"]
