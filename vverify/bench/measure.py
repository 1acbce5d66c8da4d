"""Measuring one cell of the matrix: a spec, a technique and a workload.

A cell is *not applicable* when the technique's requirements are not met by
the spec (:func:`vverify.vmm.requirements_unmet`), when the spec has no
guest library, or when the workload does not exist for its machine; the
reason is kept and reported.  Otherwise :class:`CellRun` prepares it:

1. it runs the workload with ``N = 0`` (boot and exit only) and with a few
   operations, under the technique, checking that the guest exits cleanly
   through the library's ``exit`` call; this gives the guest steps per
   operation (hence a safe budget) and the baseline counters;
2. it picks ``N`` so that one run takes about the target time, the time
   per operation measured past the fixed cost of booting and exiting (or
   it takes the ``N`` it is given, so that every process measures the same
   thing);
3. it runs the workload once with ``N`` operations, untimed, for the
   counters, which are exact and the same on every run.  The counts per
   operation in the steady state are the difference between this run and
   the pilot run, divided by the difference in operations: one-time work
   such as translating the loop's blocks falls out.

The timed function builds a fresh VMM for each loop (untimed) and times
only ``vmm.run``: pyperf divides by the loops and by ``N`` (its
``inner_loops``), so every value is wall time per guest operation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import guests as G
from . import workloads as W
from .costmodel import technique_kind

PILOT_ITERATIONS = 8
MIN_ITERATIONS = 2 * PILOT_ITERATIONS  # so that the steady state is measured past the pilot


@dataclass
class Cell:
    spec: str
    path: str
    technique: str
    workload: str
    status: str = "planned"  # measured | n/a | error
    reason: str = ""
    iterations: int = 0

    @property
    def name(self) -> str:
        return f"{self.spec}/{self.technique}/{self.workload}"

    def as_dict(self) -> dict:
        return {"spec": self.spec, "technique": self.technique, "workload": self.workload, "status": self.status,
                "reason": self.reason}


def not_applicable(spec, report, technique: str, workload: str) -> str:
    """Why the cell cannot be measured, or "" when it can."""
    from ..vmm import TECHNIQUES, requirements_unmet

    cls = TECHNIQUES.get(technique)
    if cls is None:
        return f"no technique '{technique}' is registered"
    if not W.has_guest_library(spec):
        return f"no guest library for {spec.name} (a [guest] table with a boot stub)"
    src = W.source(spec, workload)
    if not src.applicable:
        return src.na
    problems = requirements_unmet(cls, report)
    if problems:
        return f"{technique} requires what {spec.name} lacks: {'; '.join(problems)}"
    return ""


class Target:
    """One spec, loaded once per process: its check report, translation set and program cache."""

    def __init__(self, spec, report):
        from ..context import context_of

        self.spec = spec
        self.report = report
        self.context = context_of(spec)
        self.context.use_report(report)
        self.translate = self.context.translation_set(report)
        self._programs: dict = {}
        self.ns_per_instruction = None

    def guest(self, workload: str, n: int):
        """The booted guest of ``workload`` with ``N = n``: ``(program, reset state)``, built once."""
        key = (workload, n)
        if key not in self._programs:
            prog = W.build(self.spec, workload, n)
            self._programs[key] = (prog, G.boot_state(self.spec, prog))
        return self._programs[key]

    def vmm(self, technique: str, guest):
        """A fresh VMM for ``guest`` (a ``(program, state)`` pair), made as the fuzzer makes them."""
        prog, state = guest
        code = prog.code_map() if hasattr(prog, "code_map") else None  # what a load-time rewriter may patch
        return self.context.make_vmm(technique, state, self.translate, code=code)

    def stop_on(self):
        return self.context.stop_causes()

    def calibrate_instruction_time(self, target_seconds: float) -> float | None:
        """Wall nanoseconds per guest instruction run natively on the core (the compute workload)."""
        if not W.source(self.spec, "compute").applicable:
            return None
        run = CellRun(self, "native", "compute")
        run.prepare(None, target_seconds)
        vmm = self.vmm("native", run.guest_n)
        t0 = time.perf_counter()
        ex = vmm.run(run.budget, stop_on=self.stop_on())
        dt = time.perf_counter() - t0
        self.ns_per_instruction = dt * 1e9 / max(ex.steps, 1)
        return self.ns_per_instruction


class WorkloadFailed(RuntimeError):
    pass


@dataclass
class CellRun:
    target: Target
    technique: str
    workload: str
    iterations: int = 0
    budget: int = 0
    steps_per_op: float = 0.0
    counters: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)
    pilot: dict = field(default_factory=dict)
    guest_n: object = None

    def _run(self, guest, budget):
        vmm = self.target.vmm(self.technique, guest)
        t0 = time.perf_counter()
        ex = vmm.run(budget, stop_on=self.target.stop_on())
        return vmm, ex, time.perf_counter() - t0

    def _check(self, vmm, ex, n):
        spec = self.target.spec
        if ex.reason not in ("halt", "stop"):
            raise WorkloadFailed(f"{self.workload} with N={n} under {self.technique} ended with '{ex.reason}' "
                                 f"after {ex.steps} steps instead of the kernel's halt")
        st = G.exit_status(spec, vmm.guest_state())
        if (st.status, st.code) != ("exit", 0):
            raise WorkloadFailed(f"{self.workload} with N={n} under {self.technique} did not exit(0): {st}")

    def prepare(self, iterations: int | None, target_seconds: float, boot_budget: int = 200_000):
        spec = self.target.spec
        g0 = self.target.guest(self.workload, 0)
        vmm, ex, _ = self._run(g0, boot_budget)
        self._check(vmm, ex, 0)
        steps0 = ex.steps
        self.baseline = vmm.counters.as_dict()
        n0 = PILOT_ITERATIONS
        gp = self.target.guest(self.workload, n0)
        budget0 = steps0 * 4 + 10_000 + n0 * 100_000
        vmm, ex, _ = self._run(gp, budget0)  # also warms the VMM's code paths
        self._check(vmm, ex, n0)
        self.pilot = vmm.counters.as_dict()
        self.steps_per_op = (ex.steps - steps0) / n0
        if iterations is None:
            iterations = self._calibrate(steps0, target_seconds)
        self.iterations = max(int(iterations), 1)
        self.budget = int(steps0 + self.steps_per_op * self.iterations * 1.25 + 10_000)
        self.guest_n = self.target.guest(self.workload, self.iterations)
        self.guest_pilot, self.pilot_budget = gp, budget0
        vmm, ex, _ = self._run(self.guest_n, self.budget)
        self._check(vmm, ex, self.iterations)
        self.counters = vmm.counters.as_dict()
        return self

    def _calibrate(self, steps0: int, target_seconds: float) -> int:
        """The ``N`` for which one run takes about ``target_seconds``.

        The time per operation is measured past the run's fixed cost (boot,
        exit, building translations): runs of growing length until the
        operations alone take a quarter of the target, minus a run of none.
        Each step aims at half the target from the time per operation the
        last run showed (at least four times longer, at most 256 times), so
        a fast cell gets there in two or three steps rather than one step
        per factor of four: calibrating was most of a fast run's time.
        """
        spec = self.target.spec
        cap = W.max_iterations(spec)
        g0 = self.target.guest(self.workload, 0)
        t0 = min(self._run(g0, steps0 * 4 + 10_000)[2] for _ in range(2))  # the lesser of two: less noise
        n = PILOT_ITERATIONS
        while True:
            budget = int(steps0 + self.steps_per_op * n * 1.25 + 10_000)
            g = self.target.guest(self.workload, n)
            dt = min(self._run(g, budget)[2] for _ in range(2))
            if dt - t0 >= target_seconds / 4 or n >= cap:
                break
            aim = target_seconds / 2 / max((dt - t0) / n, 1e-10)
            n = int(min(max(aim, n * 4), n * 256, cap))
        per_op = max((dt - t0) / n, 1e-9)
        n = int(float(f"{int(target_seconds / per_op):.2g}"))  # two significant digits: a readable N
        return max(MIN_ITERATIONS, min(n, cap))

    def time_func(self, loops: int) -> float:
        """pyperf's time function: ``loops`` pairs of runs, ``N`` operations and the pilot's 8; seconds
        in ``vmm.run`` only, the pilot's time taken from the ``N`` run's.

        The difference is the time of ``N`` − 8 operations in the steady state (pyperf divides by
        :attr:`steady_operations`), as the counters are: a run's fixed work (boot, exit, the first
        translation of the loop's blocks, a VMM's first placement) falls out.  Amortized over ``N``
        it had been most of the difference between a technique and native on a workload whose
        operation costs a few nanoseconds, a figure of the run's length rather than of the technique.
        """
        total = 0.0
        for _ in range(loops):
            for _attempt in range(3):  # a pause of the machine's during the pilot can outlast the N run
                pilot, full = self._timed(self.guest_pilot, self.pilot_budget), self._timed(self.guest_n, self.budget)
                if full > pilot:
                    break
            else:
                raise WorkloadFailed(f"{self.workload} under {self.technique}: {self.iterations} operations took no "
                                     f"longer than {PILOT_ITERATIONS} three times ({full:.3g} s against {pilot:.3g} s): "
                                     "the machine's noise is larger than the operations; raise the target time")
            total += full - pilot
        return total

    def _timed(self, guest, budget) -> float:
        """Seconds in ``vmm.run`` of one run of ``guest`` on a fresh VMM (built untimed)."""
        vmm = self.target.vmm(self.technique, guest)
        t0 = time.perf_counter()
        ex = vmm.run(budget, stop_on=self.target.stop_on())
        dt = time.perf_counter() - t0
        if ex.reason not in ("halt", "stop"):
            raise WorkloadFailed(f"{self.workload} under {self.technique}: '{ex.reason}' after {ex.steps} steps")
        return dt

    @property
    def steady_operations(self) -> int:
        """The operations one value of :meth:`time_func` times: ``N`` less the pilot's."""
        return self.iterations - PILOT_ITERATIONS

    def metadata(self) -> dict:
        from ..vmm import TECHNIQUES

        w = W.WORKLOADS[self.workload]
        md = {
            "spec": self.target.spec.name,
            "technique": self.technique,
            "technique_kind": technique_kind(self.technique, TECHNIQUES.get(self.technique)),
            "workload": self.workload,
            "workload_kind": w.kind,
            "guest_library": Path(self.target.spec.guest.boot).parent.name,
            "operation": w.operation,
            "iterations": self.iterations,
            "steps_per_operation": round(self.steps_per_op, 3),
            "counters": json.dumps(self.counters, sort_keys=True, separators=(",", ":")),
            "counters_baseline": json.dumps(self.baseline, sort_keys=True, separators=(",", ":")),
            "counters_pilot": json.dumps(self.pilot, sort_keys=True, separators=(",", ":")),
            "pilot_iterations": PILOT_ITERATIONS,
            "timed_operations": self.steady_operations,  # each value: (run of N − run of the pilot) / this
        }
        if self.target.ns_per_instruction:
            md["guest_ns_per_instruction"] = round(self.target.ns_per_instruction, 4)
        return md


__all__ = ["Cell", "CellRun", "Target", "WorkloadFailed", "not_applicable"]
