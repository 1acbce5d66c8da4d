"""The trap trace: arrays underneath, the sequence of (cause, pc) pairs it always was on top."""

import numpy as np
import pytest

from vverify.vmm.trace import TrapTrace

NAMES = ("ecall_from_u", "illegal", "page_fault")


def test_reads_as_the_pairs_it_was_given():
    t = TrapTrace(NAMES)
    t.append(("illegal", 0x40))
    t.extend([("ecall_from_u", 0x44), ("page_fault", 2**64 + 8)])  # a pc keeps 64 bits, as the core's
    assert len(t) == 3
    assert list(t) == [("illegal", 0x40), ("ecall_from_u", 0x44), ("page_fault", 8)]
    assert t[-1] == ("page_fault", 8) and t[0] == ("illegal", 0x40) and t[1:] == list(t)[1:]
    assert ("ecall_from_u", 0x44) in t and ("ecall_from_u", 0x48) not in t
    assert t == [("illegal", 0x40), ("ecall_from_u", 0x44), ("page_fault", 8)]
    assert t != [("illegal", 0x40), ("ecall_from_u", 0x44)]
    assert t != (("illegal", 0x40), ("ecall_from_u", 0x44), ("page_fault", 12))
    with pytest.raises(IndexError):
        t[3]


def test_a_compiled_loops_buffer_is_taken_in_as_arrays():
    t = TrapTrace(NAMES)
    t.append(("page_fault", 4))
    t.extend_codes(np.array([0, 0, 1], dtype=np.int64), np.array([8, 12, 16], dtype=np.uint64))
    assert list(t) == [("page_fault", 4), ("ecall_from_u", 8), ("ecall_from_u", 12), ("illegal", 16)]
    assert t.counts() == {"page_fault": 1, "ecall_from_u": 2, "illegal": 1}
    assert t.counts(start=1) == {"ecall_from_u": 2, "illegal": 1}
    for _ in range(100):  # grows past its first allocation
        t.extend_codes(np.array([2]), np.array([20], dtype=np.uint64))
    assert len(t) == 104 and t[-1] == ("page_fault", 20)


def test_equality_and_freezing():
    a, b = TrapTrace(NAMES), TrapTrace(NAMES)
    for t in (a, b):
        t.extend([("illegal", 1), ("ecall_from_u", 2)])
    assert a == b
    b.append(("illegal", 3))
    assert a != b
    frozen = a.freeze()
    assert frozen == a and hash(frozen) == hash(a.freeze())
    with pytest.raises(TypeError):
        frozen.append(("illegal", 4))
    with pytest.raises(TypeError):
        hash(a)  # still growing
    a.append(("illegal", 4))
    assert frozen != a and len(frozen) == 2  # the copy does not follow the trace
    other = TrapTrace(("illegal", "ecall_from_u", "page_fault"))  # other codes, same pairs
    other.extend([("illegal", 1), ("ecall_from_u", 2)])
    assert other == frozen


def test_what_is_not_a_trap_is_refused():
    t = TrapTrace(NAMES)
    with pytest.raises(ValueError, match="'timer' is not one of"):
        t.append(("timer", 0))
    with pytest.raises(ValueError, match="cause code outside"):
        t.extend_codes(np.array([3]), np.array([0], dtype=np.uint64))
    with pytest.raises(ValueError, match="2 cause codes but 1 pcs"):
        t.extend_codes(np.array([0, 1]), np.array([0], dtype=np.uint64))
    assert len(t) == 0
