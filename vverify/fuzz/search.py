"""Search for a program on which a technique and bare metal disagree.

Hypothesis draws guest programs (vverify.fuzz.programs), runs each natively
and under the technique, and shrinks any divergence to a minimal program,
which is printed as assembly with the instruction that caused it.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, note, reject, settings, target
from hypothesis import seed as hypothesis_seed

from ..asm import AsmError
from .equivalence import culprit, run_pair
from .programs import FuzzProgram, flagged_weights, fuzz_programs


STEER_FROM = 1000
YOUNG_OBJECTS = 5000  # the collector's youngest generation during a search (see _collecting_only_new_objects)


class Divergence(AssertionError):
    def __init__(self, program: FuzzProgram, differences: list):
        super().__init__("; ".join(differences))
        self.program = program
        self.differences = differences


@dataclass
class Counterexample:
    program: FuzzProgram
    differences: list
    culprit: tuple | None  # (unit id, guest mode, pc, step)


@dataclass
class SearchResult:
    spec: str
    technique: str
    examples: int
    seconds: float
    seed: int | None
    counterexample: Counterexample | None = None
    direct_fraction: float = 0.0
    resource_violations: list = field(default_factory=list)
    events: dict = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.counterexample is not None


@contextmanager
def _collecting_only_new_objects():
    """Let the cyclic garbage collector pass over the objects that exist when a search starts.

    A search keeps Hypothesis' tree of tried programs growing, so objects keep
    reaching the collector's oldest generation, and every so often it walks
    all of them: in a process that has loaded a spec, its check report, the
    compiled cores and the memos (about 190,000 objects), 70-90 ms a time,
    twice per 2,000 riscv32 programs, 5-10% of a run.  The objects that exist
    when a search starts are set aside (``gc.freeze``) and given back at its
    end; the search's own garbage is collected as before, but the youngest
    generation is let grow to :data:`YOUNG_OBJECTS` before a collection
    (the default is 700): a program allocates a few thousand objects, most
    of them Hypothesis' short-lived records, so the default collected every
    five or six programs and moved the survivors on to be scanned again in
    the middle generation; the larger threshold halved the collector's time
    in a riscv32 search.  Where something else has frozen objects, the
    collector is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_OBJECTS), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def search(spec, technique: str, *, examples: int = 100, seed: int | None = 0, report=None, database=None,
           translate=None, budget: int = 400, progress=None) -> SearchResult:
    """Run up to ``examples`` programs; return the first (shrunk) divergence, if any."""
    weights = flagged_weights(spec, report)
    stats = {"examples": 0, "direct": 0.0, "violations": []}
    # target() makes Hypothesis spend the second half of its budget hill-climbing one score; in a
    # short run that costs more variety than it gains (tests/fuzz/quality measured it), so only
    # long runs are steered.  Short runs are steered by the draw weights alone.
    steer = examples >= STEER_FROM

    @settings(max_examples=examples, deadline=None, database=database, derandomize=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(fuzz_programs(spec, weights, budget=budget))
    def prop(program):
        try:
            guest, code = program.loaded(spec)
        except AsmError:
            reject()
        cmp = run_pair(spec, technique, guest, program.budget, translate, code=code)
        stats["examples"] += 1
        stats["direct"] += cmp.direct_fraction
        stats["violations"].extend(cmp.resource_violations)
        if progress is not None:
            progress(stats["examples"])
        if steer:
            target(float(program.flagged), label="flagged instructions drawn")
        event(f"native exit: {cmp.native_exit.reason}")
        if not cmp.equal or cmp.resource_violations:
            # A VMM that loses control of the real machine (real control state the map does not derive
            # from the guest's: Popek & Goldberg's resource control) fails as surely as one whose guest
            # sees a difference, and is shrunk and reported the same way.
            note(program.assembly(spec))
            raise Divergence(program, cmp.differences + [f"resource control: {v}" for v in cmp.resource_violations])

    if seed is not None:
        prop = hypothesis_seed(seed)(prop)
    t0 = time.perf_counter()
    ce = None
    try:
        with _collecting_only_new_objects():
            prop()
    except Divergence as d:
        guest, code = d.program.loaded(spec)
        ce = Counterexample(d.program, d.differences, culprit(spec, technique, guest, d.program.budget, translate,
                                                              code=code))
    dt = time.perf_counter() - t0
    n = max(stats["examples"], 1)
    return SearchResult(spec.name, technique, stats["examples"], dt, seed, ce, stats["direct"] / n,
                        stats["violations"][:5])
