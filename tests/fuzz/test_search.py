"""The search loop itself (vverify/fuzz/search.py), apart from what it finds."""

import gc

from tests.conftest import load, report_of
from vverify.fuzz import search


def test_a_search_sets_the_objects_it_started_with_aside_and_gives_them_back():
    spec = load("pg74")
    before = gc.get_freeze_count()
    during = []
    search(spec, "trap-and-emulate", examples=5, seed=0, report=report_of(spec),
           progress=lambda n: during.append(gc.get_freeze_count()))
    assert during and all(n > before for n in during)  # the collector passes over the objects set aside
    assert gc.get_freeze_count() == before


def test_a_search_leaves_objects_someone_else_froze_frozen():
    spec = load("pg74")
    sentinel = [[]]  # a container: tracked by the collector
    gc.freeze()
    try:
        search(spec, "trap-and-emulate", examples=5, seed=0, report=report_of(spec))
        assert not any(o is sentinel for g in range(3) for o in gc.get_objects(generation=g))  # still set aside
    finally:
        gc.unfreeze()
    assert any(o is sentinel for o in gc.get_objects(generation=2))


def test_a_vmm_that_loses_control_of_the_real_machine_is_a_divergence(monkeypatch):
    """Real control state the map does not derive from the guest's, with nothing the guest sees differ,
    still fails the search (resource control), with the violation among the differences."""
    import vverify.vmm as vmm
    from vverify.vmm import TrapAndEmulate

    spec = load("pg74")
    name, reg = next((n, r) for n, r in spec.registers.items() if r.control_mask)

    class LeavesAControlBitSet(TrapAndEmulate):
        technique = "trap-and-emulate-leaves-a-control-bit"

        def run(self, budget, stop_on=frozenset()):
            done = super().run(budget, stop_on)
            core = self.g.core
            core.R[core.layout.reg_index[name]] ^= reg.control_mask & -reg.control_mask
            return done

    monkeypatch.setitem(vmm.TECHNIQUES, LeavesAControlBitSet.technique, LeavesAControlBitSet)
    r = search(spec, LeavesAControlBitSet.technique, examples=5, seed=0, report=report_of(spec))
    assert r.diverged
    assert any(d.startswith(f"resource control: real {name} is ") for d in r.counterexample.differences), \
        r.counterexample.differences
    assert not search(spec, "trap-and-emulate", examples=5, seed=0, report=report_of(spec)).diverged
