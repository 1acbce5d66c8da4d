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
