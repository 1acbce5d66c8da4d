"""Building Sv32 page tables in a machine state, for the tests of riscv32_sv32.

The layout follows the privileged spec's figures (4.3.1): a PTE is
PPN[1](31:20) PPN[0](19:10) RSW(9:8) D A G U X W R V, satp is
MODE(31) ASID(30:22) PPN(21:0).  Written from the figures, not from the
spec file, so a test that builds tables here checks the spec's walk against
an independent reading of the architecture.
"""

from vverify.interp import MachineState, initial_state

V, R, W, X, U, G, A, D = (1 << i for i in range(8))
PAGE = 4096
MODES = {"U": 0, "S": 1, "M": 3}


def pte(ppn: int, flags: int) -> int:
    """A PTE pointing at physical page ``ppn`` (22 bits) with ``flags``."""
    return ((ppn & 0x3FFFFF) << 10) | flags


def satp(root_ppn: int, asid: int = 0, sv32: bool = True) -> int:
    return (int(sv32) << 31) | ((asid & 0x1FF) << 22) | (root_ppn & 0x3FFFFF)


def write_word(s: MachineState, addr: int, value: int) -> None:
    for k in range(4):
        s.mem[addr + k] = (value >> (8 * k)) & 0xFF


def read_word(s: MachineState, addr: int) -> int:
    return sum(s.read_mem(addr + k) << (8 * k) for k in range(4))


class Tables:
    """A two-level page table at physical page ``root`` in state ``s``; second-level tables are
    taken from ``free`` pages as they are needed."""

    def __init__(self, s: MachineState, root: int, free):
        self.s, self.root, self.free = s, root, list(free)
        self.level0 = {}

    def map(self, va: int, pa: int, flags: int) -> None:
        """Map the 4 KiB page at ``va`` to the one at ``pa``."""
        vpn1, vpn0 = va >> 22, (va >> 12) & 0x3FF
        if vpn1 not in self.level0:
            self.level0[vpn1] = self.free.pop(0)
            write_word(self.s, self.root * PAGE + vpn1 * 4, pte(self.level0[vpn1], V))
        write_word(self.s, self.level0[vpn1] * PAGE + vpn0 * 4, pte(pa // PAGE, flags))

    def map_super(self, va: int, pa: int, flags: int) -> None:
        """Map the 4 MiB superpage at ``va`` to ``pa`` (a leaf in the root table)."""
        write_word(self.s, self.root * PAGE + (va >> 22) * 4, pte(pa // PAGE, flags))

    def set_root_entry(self, va: int, value: int) -> None:
        write_word(self.s, self.root * PAGE + (va >> 22) * 4, value)


def paged_state(spec, mode: str = "S", root: int = 0x10, mstatus: int = 0) -> tuple:
    """A state in ``mode`` with satp selecting Sv32 at root page ``root``, and its :class:`Tables`
    (second-level tables from the pages after the root)."""
    s = initial_state(spec)
    s.regs["mode"] = MODES[mode]
    s.regs["satp"] = satp(root)
    s.regs["mstatus"] = mstatus
    return s, Tables(s, root, range(root + 1, root + 9))
