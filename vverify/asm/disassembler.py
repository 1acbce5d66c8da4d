"""The disassembler: memory units back to text in the spec's own syntax.

At every address that is a multiple of the instruction granule, each
instruction's encoding is tried in the spec's order (the loader guarantees
no word matches two); a match is shown through the instruction's template:

* registers by the file's ``names`` entry (riscv32: ``a0``, not ``x10``;
  pg74: ``r1``); a file without names (pdp10) by its plain index;
* enum fields by member name (the first declared for a value), other
  values as hex numbers;
* ``pcrel`` fields as the absolute target address in hex, or as a label
  when ``symbols`` names that address;
* signed immediates in signed decimal, unsigned ones in decimal below 10
  and in hex from 10 on.

Everything else (no encoding matches, a field the syntax does not mention
is not 0, a register number past the end of its file, a misaligned
address, the end of the data in mid-word) is one ``.word 0x..`` per memory
unit.  Reassembling :func:`source_text` of the lines gives the same units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import UsageError
from ..spec.ir import mask
from .lexer import is_identifier
from .syntax import syntax_table


@dataclass
class Line:
    """One disassembled statement."""

    address: int
    units: tuple  # the memory units it covers
    text: str  # "addi a0, zero, 5" or ".word 0x13"
    instruction: str | None = None  # instruction name, None for .word
    fields: dict = field(default_factory=dict)  # encoding field -> bits
    labels: tuple = ()  # symbols at this address
    comment: str = ""
    unit: int = 8  # bits per unit
    comment_char: str = "#"  # what starts a comment in this spec's assembly ("" if nothing does)

    @property
    def size(self) -> int:
        return len(self.units)

    @property
    def word(self) -> int:
        """The little-endian value of the units (the instruction word)."""
        w = 0
        for k, u in enumerate(self.units):
            w |= u << (k * self.unit)
        return w

    def __str__(self) -> str:
        digits = -(-self.unit * self.size // 4)
        s = f"{self.address:08x}:  {self.word:0{digits}x}  {self.text}"
        return s + (f"  {self.comment_char or '#'} {self.comment}" if self.comment else "")


def _runs(spec, data, origin: int, words: bool, unit: int):
    """[(start address, [units])] of contiguous data."""
    m = mask(unit)
    if hasattr(data, "memory") and hasattr(data, "symbols"):
        data = data.memory
    if isinstance(data, Mapping):
        runs = []
        for a in sorted(data):
            v = int(data[a])
            if runs and runs[-1][0] + len(runs[-1][1]) == a:
                runs[-1][1].append(v)
            else:
                runs.append((int(a), [v]))
    else:
        vals = [int(v) for v in data]
        if words:
            n = syntax_table(spec).align
            vals = [(w >> (k * unit)) & m for w in vals for k in range(n)]
        runs = [(origin, vals)] if vals else []
    for start, vals in runs:
        for k, v in enumerate(vals):
            if not 0 <= v <= m:
                raise UsageError(f"value 0x{v:x} at address 0x{start + k:x} does not fit a {unit}-bit memory "
                                 f"unit" + ("" if words else "; pass instruction words with words=True"))
    return runs


def disassemble(spec, data, origin: int = 0, *, symbols: dict | None = None, words: bool = False) -> list:
    """Disassemble memory units.

    ``data`` is a :class:`~vverify.asm.Program`, a mapping address -> unit,
    or a sequence of units (a list, bytes, a numpy array) starting at
    ``origin``.  With ``words=True`` a sequence holds instruction words of
    the granule's length (4 bytes on riscv32), each split little-endian.
    ``symbols`` (label -> address; a Program's own by default) names
    pc-relative targets and is attached to the lines.
    """
    table = syntax_table(spec)
    unit = table.unit
    cc = table.comment_chars[:1]
    if symbols is None:
        symbols = getattr(data, "symbols", None) or {}
    labels = {}
    for name, a in symbols.items():
        if is_identifier(name):
            labels.setdefault(a, []).append(name)
    first_label = {a: names[0] for a, names in labels.items()}
    out = []
    for start, vals in _runs(spec, data, origin, words, unit):
        end = start + len(vals)
        a = start
        while a < end:
            line = None
            if a % table.align == 0:
                line = _decode(table, vals, start, a, end, first_label, unit)
            if line is None or line.instruction is None:
                comment = line.comment if line is not None else ""
                n = line.size if line is not None else 1
                for k in range(n):
                    u = vals[a + k - start]
                    out.append(Line(a + k, (u,), f".word 0x{u:0{-(-unit // 4)}x}", unit=unit, comment_char=cc,
                                    comment=comment if k == 0 else "",
                                    labels=tuple(labels.get(a + k, ()))))
                a += n
                continue
            line.labels = tuple(labels.get(a, ()))
            line.comment_char = cc
            out.append(line)
            a += line.size
    return out


def _decode(table, vals, start, a, end, label_of, unit):
    """The instruction at ``a``, a Line without ``instruction`` (to show as .word), or None."""
    for tpl in table.templates:
        instr = tpl.instr
        n = instr.units
        if a + n > end:
            continue
        units = tuple(vals[a - start:a - start + n])
        w = 0
        for k, u in enumerate(units):
            w |= u << (k * unit)
        enc = instr.encoding
        if not enc.matches(w):
            continue
        fields = enc.extract(w)
        hidden = [f for f in tpl.hidden if fields[f]]
        if hidden:
            return Line(a, units, "", None, fields, unit=unit,
                        comment=f"{instr.name} with {', '.join(f'{f}={fields[f]}' for f in hidden)}, "
                                f"which its syntax cannot show")
        texts = {}
        for name, codec in tpl.codecs.items():
            if name in tpl.hidden:
                continue
            t = codec.render(fields[name], a, label_of)
            if t is None:
                return Line(a, units, "", None, fields, unit=unit,
                            comment=f"{instr.name} with {name}={fields[name]}, which cannot be written")
            texts[name] = t
        return Line(a, units, tpl.render(texts), instr.name, fields, unit=unit)
    return None


def source_text(lines: list, symbols: dict | None = None, indent: str = "    ") -> str:
    """Assembly text for ``lines``: ``.org`` where addresses jump, labels, comments.

    Symbols (label -> address) that are not at the start of a line become
    labels after the last line of a run they end; the others (inside an
    instruction, in a gap) are defined at the end, each after an ``.org`` of
    its own, so that they stay labels (``.equ`` for a negative address).
    """
    out = []
    starts = {ln.address for ln in lines}
    placed = set()
    for ln in lines:
        placed.update(ln.labels)
    ends = set()  # one past the last unit of each contiguous run
    for ln, nxt in zip(lines, lines[1:] + [None]):
        if nxt is None or nxt.address != ln.address + ln.size:
            ends.add(ln.address + ln.size)
    stray_end: dict = {}
    elsewhere = []
    for name, a in (symbols or {}).items():
        if name in placed or not is_identifier(name):
            continue
        if a in starts:
            continue  # attached below by address
        if a in ends:
            stray_end.setdefault(a, []).append(name)
        else:
            elsewhere.append(f".org 0x{a:x}\n{name}:" if a >= 0 else f".equ {name}, {a}")
    by_start: dict = {}
    for name, a in (symbols or {}).items():
        if name not in placed and is_identifier(name) and a in starts:
            by_start.setdefault(a, []).append(name)
    prev_end = None
    for ln in lines:
        if prev_end is not None and ln.address != prev_end:
            out.extend(f"{n}:" for n in stray_end.pop(prev_end, ()))
        if ln.address != prev_end:
            out.append(f".org 0x{ln.address:x}")
        out.extend(f"{n}:" for n in ln.labels + tuple(by_start.get(ln.address, ())))
        note = f"  {ln.comment_char} {ln.comment}" if ln.comment and ln.comment_char else ""
        out.append(indent + ln.text + note)
        prev_end = ln.address + ln.size
    if prev_end is not None:
        out.extend(f"{n}:" for n in stray_end.pop(prev_end, ()))
    out.extend(elsewhere)
    return "\n".join(out) + "\n"
