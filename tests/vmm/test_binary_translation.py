"""Binary translation's Python side (vverify/vmm/binary_translation.py): the translations the spec
remembers across VMMs are exactly the ones the translator makes from memory as it is."""

from tests.conftest import load, report_of
from vverify import guests as G
from vverify.bench import workloads as W
from vverify.context import context_of
from vverify.vmm import BinaryTranslation

NOP = 0x00000013  # riscv32 addi x0, x0, 0


def _fresh(spec, state):
    return BinaryTranslation(spec, state, translate=context_of(spec).translation_set(report_of(spec.name)))


def test_a_remembered_translation_is_the_one_the_translator_makes_and_follows_the_code():
    spec = load("riscv32")
    state = G.boot_state(spec, W.build(spec, "syscall", 3))
    first = _fresh(spec, state)
    first.run(3_000, stop_on=context_of(spec).stop_causes())
    emulating = [b for b in first.cache.values() if any(kind == "emulate" for kind, _ in b.segments)]
    assert emulating, "the syscall workload's kernel has translated privileged instructions"
    blk = emulating[0]
    for vmm in (_fresh(spec, state), _fresh(spec, state)):  # the second VMM's is remembered
        again = vmm.translate_block(blk.pc, blk.mode)
        assert vmm.counters.translations == 1  # remembered or not, a translation counts
        made = vmm._translate(blk.pc, blk.mode, vmm.translate["supervisor"])
        assert (again.segments, again.words) == (made.segments, made.words) == (blk.segments, blk.words)
    # the code changes under a new VMM: an emulated instruction becomes a nop
    k = next(i for i, (kind, _) in enumerate(blk.segments) if kind == "emulate")
    addr = blk.words[sum(n if kind == "direct" else 1 for kind, n in blk.segments[:k])][0]
    vmm = _fresh(spec, state)
    g = vmm.g
    ra = (addr + g.offset) & g.amask
    g.core.write_memory(ra, [(NOP >> (8 * i)) & 0xFF for i in range(4)])
    changed = vmm.translate_block(blk.pc, blk.mode)
    made = vmm._translate(blk.pc, blk.mode, vmm.translate["supervisor"])
    assert (changed.segments, changed.words) == (made.segments, made.words)
    assert changed.segments != blk.segments and (addr, NOP) in changed.words


def test_a_block_ending_at_a_word_that_encodes_nothing_follows_that_word():
    """The translator ends a block at a word that encodes nothing (the machine raises the fault when
    it runs there).  The block stands for that word too: a VMM that meets an instruction written there
    later translates it rather than reusing the block.  The fuzzer found this on pg74_rdbase: a program
    stored over user_main a word that encodes nothing; the translation the spec remembered had no
    words to check, so the next program's ``rdbase`` at user_main ran directly and read the real base."""
    from vverify.spec.decode import decode
    from vverify.vmm import Native

    spec = load("pg74_rdbase")
    stop = context_of(spec).stop_causes()
    state = G.boot_state(spec, G.build(spec, "user_main:\n        rdbase r0\n", "sys_extra:\n"))
    lay = G.layout(spec)
    at = lay.user_base + lay.user_origin  # user_main, physical
    assert spec.max_ilen_units == 1 and decode(spec, state.mem[at])[0] == "rdbase"
    broken = state.copy()
    broken.mem[at] = next(w for w in range(1 << spec.memory.unit) if decode(spec, w) is None)
    assert _fresh(spec, broken).run(400, stop_on=stop).reason == "illegal"
    vmm, native = _fresh(spec, state), Native(spec, state)
    assert vmm.run(400, stop_on=stop) == native.run(400, stop_on=stop)
    assert vmm.guest_registers() == native.guest_registers()
