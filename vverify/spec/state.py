"""A concrete machine state: what every engine reads and writes.

The reference interpreter steps it, the core loads and saves it, the VMMs
hand it to guests and take it back, the checker replays witnesses on it.
It is plain data of the spec's shape, so it lives in the spec layer, where
every other layer can see it without reaching into one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MachineState:
    """A concrete state: registers, register files and sparse memory.

    Memory is a dict of the units that differ from ``mem_default``, so an
    address space of 2**32 units costs nothing until it is written.  With a
    ``backing`` function, units not in the dict are read from it instead:
    that is how a VMM lets the interpreter work on a guest whose memory lives
    in a core's array, with ``mem`` collecting the writes (copy-on-write).
    """

    regs: dict
    files: dict
    mem: dict = field(default_factory=dict)
    mem_default: int = 0
    backing: object = None

    def copy(self) -> "MachineState":
        return MachineState(dict(self.regs), {k: list(v) for k, v in self.files.items()}, dict(self.mem),
                            self.mem_default, self.backing)

    def read_mem(self, addr: int) -> int:
        v = self.mem.get(addr)
        if v is not None:
            return v
        return self.backing(addr) if self.backing is not None else self.mem_default

    def normalized_mem(self) -> dict:
        return {a: v for a, v in self.mem.items() if v != self.mem_default}

    def same_memory(self, other: "MachineState") -> bool:
        if self.mem_default != other.mem_default:
            return False
        return self.normalized_mem() == other.normalized_mem()


def initial_state(spec) -> MachineState:
    regs = {name: r.reset for name, r in spec.registers.items()}
    files = {}
    for name, f in spec.files.items():
        vals = [0] * f.count
        for i, v in f.hardwired.items():
            vals[i] = v
        files[name] = vals
    return MachineState(regs, files)
