"""Benchmark workloads: guest programs in each spec's own assembly, on the guest library.

Every workload repeats one *operation* ``N`` times and then exits through
the library's ``exit`` system call.  The assembly lives in the ISA's folder
beside its boot stub (``specs/<isa>/bench/``), and the spec's
``[guest.bench]`` table names each workload's file (the user program, then
the kernel code after the line ``# ---- kernel_extra``) or says why the
workload does not apply to that machine.  The iteration count reaches the program as the constant ``N``
(``.equ N, n`` is put in front of both parts), so one source gives a
program of any length, and ``N = 0`` gives the same program without its
operations: the fixed cost of booting and exiting, which the measurements
subtract.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from pathlib import Path

from .. import guests as G

KERNEL_MARK = "# ---- kernel_extra"


@dataclass(frozen=True)
class Workload:
    name: str  # identifier: CLI, file names, benchmark names
    kind: str  # "nano" or "macro"
    label: str  # how tables show it
    operation: str  # what one iteration is
    paper: str = ""  # the row of Adams & Agesen (2006) it corresponds to, if any


WORKLOADS = {w.name: w for w in (
    Workload("syscall", "nano", "syscall", "a system call from user mode and the return to it", "syscall"),
    Workload("in", "nano", "in", "a device-register read in the guest kernel", "in"),
    Workload("cr8wr", "nano", "cr8wr", "a privileged control-register write in the guest kernel", "cr8wr"),
    Workload("callret", "nano", "call/ret", "a call of an empty function and its return, in the guest kernel",
             "call/ret"),
    Workload("divzero", "nano", "divzero", "an exception raised in user mode, handled by the guest kernel",
             "divzero"),
    Workload("pgfault", "nano", "pgfault", "a page fault handled by the guest kernel", "pgfault"),
    Workload("ptemod", "nano", "ptemod", "a page-table entry modified by the guest kernel", "ptemod"),
    Workload("compute", "macro", "compute", "one iteration of a loop of innocuous instructions"),
    Workload("forkwait", "macro", "forkwait", "fork a child that exits at once, and wait for it (two context switches)"),
    Workload("mixed", "macro", "mixed", "a short compute loop, then a system call doing privileged work"),
)}

NANO = tuple(n for n, w in WORKLOADS.items() if w.kind == "nano")
MACRO = tuple(n for n, w in WORKLOADS.items() if w.kind == "macro")


@dataclass(frozen=True)
class Source:
    """A workload's assembly for one guest library, or why there is none."""

    workload: str
    stub: str
    user: str = ""
    kernel: str = ""
    path: str = ""
    note: str = ""
    na: str = ""  # non-empty: the workload does not apply, and this says why

    @property
    def applicable(self) -> bool:
        return not self.na


def has_guest_library(spec_or_name) -> bool:
    """Whether the spec (loaded, or a bundled one's name) has a guest library: a ``[guest]`` table."""
    if isinstance(spec_or_name, str):
        from ..spec.bundled import find_bundled

        if find_bundled(spec_or_name) is None:
            return False
    return G.spec_of(spec_or_name).guest is not None


def source(spec_or_name, workload: str) -> Source:
    """The assembly of ``workload`` for a spec (by name or loaded), or the reason it does not apply."""
    if workload not in WORKLOADS:
        raise KeyError(f"no workload '{workload}' (have: {', '.join(WORKLOADS)})")
    if not has_guest_library(spec_or_name):
        name = spec_or_name if isinstance(spec_or_name, str) else spec_or_name.name
        return Source(workload, "", na=f"no guest library for {name} (a [guest] table naming a boot stub)")
    spec = G.spec_of(spec_or_name)
    stub = spec.guest.boot
    entry = spec.guest.bench.get(workload)
    if entry is None:
        return Source(workload, stub, na=f"no {workload} workload written for {spec.name}'s guest library yet "
                                          f"([guest.bench] in {Path(spec.guest.path).name})")
    if "na" in entry:
        return Source(workload, stub, na=entry["na"], note=entry["note"])
    path = Path(entry["file"])
    text = path.read_text()
    user, _, kernel = text.partition(KERNEL_MARK)
    return Source(workload, stub, user, kernel, str(path), entry["note"])


def build(spec, workload: str, n: int):
    """The guest program of ``workload`` with ``N = n`` iterations (a :class:`vverify.guests.GuestProgram`)."""
    src = source(spec, workload)
    if not src.applicable:
        raise ValueError(f"{workload} does not apply to {spec.name}: {src.na}")
    return build_file(spec, src.path, n)


def build_file(spec, path, n: int):
    """The guest program of the workload file at ``path`` with ``N = n`` (see :func:`build`): the user
    program, then the kernel code after :data:`KERNEL_MARK`."""
    user, _, kernel = Path(path).read_text().partition(KERNEL_MARK)
    head = f".equ N, {int(n)}\n"
    # the kernel code gets N only where it uses it, so that its assembly is the same for every count
    # and assembled once (vverify.guests keeps it)
    kernel = (head + kernel if _uses_n(kernel) else kernel) if kernel.strip() else ""
    return G.build(spec, head + user, kernel, file=str(path))


def _uses_n(code: str) -> bool:
    """Whether assembly ``code`` may name the symbol ``N``: a word ``N`` anywhere, comments included
    (comment syntax is the ISA's, and a false yes only costs assembling the kernel again)."""
    return re.search(r"\bN\b", code) is not None


def max_iterations(spec) -> int:
    """The largest ``N`` a workload can take: it must fit one word of the machine (pg74's are 16 bits)."""
    return min((1 << min(spec.memory.unit * spec.guest.word_units, 31)) - 1, 1 << 24)


__all__ = ["MACRO", "NANO", "WORKLOADS", "Source", "Workload", "build", "build_file", "has_guest_library", "max_iterations",
           "source"]
