"""The pyperf script: one ``pyperf.Runner``, one ``bench_time_func`` per measured cell.

Run as ``python -m vverify.bench.script --plan PLAN.json [pyperf options]``.
The plan names the spec files, techniques and workloads, the target time
per value, and optionally the iteration count ``N`` of each cell (so that
several processes measure exactly the same programs).  ``vverify bench``
writes the plan and runs this script in pyperf's worker mode, one process
per repetition, each measuring every cell; the script also works under
pyperf's own manager (without ``--worker``), which spawns a process per
benchmark.

Besides pyperf's output, the script reports each cell on stderr as one
line ``vverify-bench: {json}`` (its status, the reason when it is not
applicable or failed, and ``N``), which ``vverify bench`` turns into its
progress bar and into the not-applicable rows of the report.
"""

from __future__ import annotations

import json
import sys
import traceback

EVENT_PREFIX = "vverify-bench: "


def emit(**event):
    print(EVENT_PREFIX + json.dumps(event, sort_keys=True), file=sys.stderr, flush=True)


def _add_plan(args, cmd):
    cmd.extend(("--plan", args.plan))


def _prepare(path, worker: bool, target_s: float):
    """``(spec, Target, error, n/a reason)`` for one spec file.

    A spec without a guest library is not applicable as a whole: it is not
    checked (no solver time spent on it) and no core is built for it.
    """
    from ..context import context_of
    from ..spec.loader import load_spec
    from .measure import Target
    from .workloads import has_guest_library

    try:
        spec = load_spec(path)
        if not has_guest_library(spec):
            return spec, None, "", f"no guest library for {spec.name} (a [guest] table with a boot stub)"
        ctx = context_of(spec)
        problem = ctx.core_problem()
        if problem:  # not applicable, like a missing guest library: no configuration of this run could measure it
            return spec, None, "", problem
        target = Target(spec, ctx.report())
        if worker:
            target.calibrate_instruction_time(target_s)
        return spec, target, "", ""
    except Exception as e:  # noqa: BLE001 - reported, not fatal: other specs still run
        return None, None, f"the spec could not be prepared: {type(e).__name__}: {e}", ""


def cells_of(plan):
    """The plan's cells, in measuring order: spec, then workload, then technique."""
    for path in plan["specs"]:
        for workload in plan["workloads"]:
            for technique in plan["techniques"]:
                yield path, technique, workload


def main(argv=None):
    import pyperf

    from .measure import Cell, CellRun, not_applicable

    runner = pyperf.Runner(add_cmdline_args=_add_plan)
    runner.argparser.add_argument("--plan", required=True, help="the plan written by vverify bench (JSON)")
    args = runner.parse_args(argv)
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    target_s = float(plan.get("target_seconds", 0.02))
    fixed = plan.get("iterations", {})
    worker = bool(args.worker)
    task = 0  # the index of the next benchmark, as pyperf counts them (--worker-task)
    loaded: dict = {}

    for path, technique, workload in cells_of(plan):
        if path not in loaded:
            loaded[path] = _prepare(path, worker, target_s)
        spec, target, problem, na = loaded[path]
        name = spec.name if spec is not None else path
        cell = Cell(name, path, technique, workload)
        why = problem or na or not_applicable(spec, target.report, technique, workload)
        if why:
            cell.status, cell.reason = ("error" if problem else "n/a"), why
            emit(cell=cell.name, **cell.as_dict())
            continue
        skip = args.worker_task is not None and args.worker_task != task
        task += 1
        if not worker or skip:
            # the manager (or another worker's task): pyperf only counts it
            runner.bench_time_func(cell.name, lambda loops: 0.0)
            continue
        try:
            run = CellRun(target, technique, workload).prepare(fixed.get(cell.name), target_s)
        except Exception as e:  # noqa: BLE001
            cell.status, cell.reason = "error", f"{type(e).__name__}: {e}"
            emit(cell=cell.name, **cell.as_dict(), detail=traceback.format_exc(limit=3))
            continue
        runner.bench_time_func(cell.name, run.time_func, inner_loops=run.steady_operations, metadata=run.metadata())
        cell.status = "measured"
        emit(cell=cell.name, iterations=run.iterations, **cell.as_dict())


if __name__ == "__main__":
    main()
