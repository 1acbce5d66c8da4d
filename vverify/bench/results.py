"""Reading saved benchmark files back: one :class:`Measurement` per measured cell, plus the cells that were not.

Everything the report needs is in the pyperf JSON: the values (seconds per
guest operation), the counters of each cell, and, in the common metadata
that ``vverify bench`` adds, the command, the duration and every cell that
was not measured with its reason.  Several files are merged: runs of the
same benchmark are pooled, as ``pyperf`` itself would.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from . import costmodel as C


@dataclass
class Measurement:
    spec: str
    technique: str
    workload: str
    kind: str  # technique kind: native | software | hardware
    workload_kind: str
    values: list  # seconds per operation, every run pooled
    iterations: int
    counters: dict
    baseline: dict
    guest_ns: float | None = None
    steps_per_op: float = 0.0
    pilot: dict = field(default_factory=dict)
    pilot_iterations: int = 0
    stub: str = ""  # the guest library the workload ran on (specs extending one another share it)

    @property
    def name(self) -> str:
        return f"{self.spec}/{self.technique}/{self.workload}"

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def per_op(self) -> dict:
        """Exact counts per operation in the steady state (see :func:`vverify.bench.costmodel.steady_state`)."""
        return C.steady_state(self.counters, self.iterations, self.pilot, self.pilot_iterations, self.baseline)

    def events(self) -> dict:
        return C.events(self.per_op, self.technique, self.kind)

    def modeled(self, profile) -> tuple:
        return C.cycles(self.events(), profile)

    def outside_fraction(self) -> float | None:
        """The share of wall time spent outside the guest: in the VMM and in crossings.

        Time inside the guest is estimated as the instructions run directly
        on the core times the core's own time per instruction on this spec
        (measured natively on the compute loop in the same process).
        """
        if not self.guest_ns:
            return None
        inside = self.per_op.get("direct", 0.0) * self.guest_ns * 1e-9
        return max(0.0, min(1.0, 1.0 - inside / self.median)) if self.median > 0 else None


@dataclass
class Results:
    measurements: dict = field(default_factory=dict)  # name -> Measurement
    cells: dict = field(default_factory=dict)  # (spec, technique, workload) -> {status, reason}
    runs: list = field(default_factory=list)  # one dict per file: command, mode, duration, load, settings, date
    machine: dict = field(default_factory=dict)

    def get(self, spec, technique, workload):
        return self.measurements.get(f"{spec}/{technique}/{workload}")

    def specs(self) -> list:
        seen = {}
        for c in self.cells:
            seen.setdefault(c[0], None)
        for m in self.measurements.values():
            seen.setdefault(m.spec, None)
        return list(seen)

    def techniques(self) -> list:
        seen = {}
        for c in self.cells:
            seen.setdefault(c[1], None)
        for m in self.measurements.values():
            seen.setdefault(m.technique, None)
        order = ["native"]
        return order + [t for t in seen if t not in order] if "native" in seen else list(seen)

    def workloads(self) -> list:
        from .workloads import WORKLOADS

        seen = {c[2] for c in self.cells} | {m.workload for m in self.measurements.values()}
        return [w for w in WORKLOADS if w in seen] + sorted(seen - set(WORKLOADS))

    def status(self, spec, technique, workload) -> tuple:
        """``(status, reason)``: measured, n/a, error, or not run."""
        if self.get(spec, technique, workload) is not None:
            return "measured", ""
        c = self.cells.get((spec, technique, workload))
        if c is None:
            return "not run", ""
        return c["status"], c.get("reason", "")


def load(paths) -> Results:
    """Read and merge benchmark files; a file that is not one is a ValueError naming it, never a traceback."""
    res = Results()
    for path in paths:
        path = Path(path)
        suite = _suite(path)
        try:
            _add_file(res, path, suite)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise ValueError(f"{path}: malformed vverify benchmark data ({type(e).__name__}: {e})") from None
    return res


def _suite(path: Path):
    """The pyperf suite in ``path``.

    pyperf itself assumes a well-formed file (a JSON list or number ends in
    an AttributeError), so the JSON is looked at first, to say in one line
    what is wrong with it.  Anything but a regular file is refused before it
    is opened: reading a FIFO would block.
    """
    import pyperf

    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a benchmark file")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
    if path.suffix != ".gz":  # pyperf also reads gzip-compressed files; those it checks alone
        _check_json(path)
    try:
        return pyperf.BenchmarkSuite.load(str(path))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise ValueError(f"{path}: not a pyperf benchmark file ({type(e).__name__}: {e})") from None


def _check_json(path: Path) -> None:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a pyperf benchmark file: not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a pyperf benchmark file: not JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a pyperf benchmark file: its JSON nests too deeply") from None
    if not isinstance(data, dict):
        what = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")
        raise ValueError(f"{path}: not a pyperf benchmark file: the JSON holds {what}, not an object")
    if not isinstance(data.get("benchmarks"), list):
        raise ValueError(f"{path}: not a pyperf benchmark file: no 'benchmarks' list")


def _add_file(res: Results, path: Path, suite) -> None:
    common = suite.get_metadata()
    res.runs.append({
        "file": str(path),
        "command": common.get("vverify_command", ""),
        "mode": common.get("vverify_mode", ""),
        "duration_s": common.get("vverify_duration_s"),
        "load": common.get("vverify_load_avg", ""),
        "settings": json.loads(common["vverify_settings"]) if "vverify_settings" in common else {},
        "dates": suite.get_dates(),
    })
    for k in ("cpu_model_name", "cpu_count", "platform", "python_version", "hostname", "perf_version"):
        if k in common:
            res.machine.setdefault(k, common[k])
    for c in json.loads(common.get("vverify_cells", "[]")):
        res.cells[(c["spec"], c["technique"], c["workload"])] = c
    for bench in suite:
        md = bench.get_metadata()
        if "spec" not in md or "technique" not in md or "workload" not in md:
            continue  # not one of ours
        values = list(bench.get_values())
        ns = [r.get_metadata().get("guest_ns_per_instruction") for r in bench.get_runs()]
        ns = [x for x in ns if x]
        m = Measurement(md["spec"], md["technique"], md["workload"], md.get("technique_kind") or
                        C.technique_kind(md["technique"]), md.get("workload_kind", ""), values,
                        int(md.get("iterations", bench.get_inner_loops() or 1)),
                        json.loads(md.get("counters", "{}")), json.loads(md.get("counters_baseline", "{}")),
                        statistics.median(ns) if ns else None, float(md.get("steps_per_operation", 0.0)),
                        json.loads(md.get("counters_pilot", "{}")), int(md.get("pilot_iterations", 0)),
                        md.get("guest_library", md["spec"]))
        old = res.measurements.get(m.name)
        if old is not None and old.iterations == m.iterations and old.counters == m.counters:
            old.values.extend(m.values)
        else:
            res.measurements[m.name] = m
        res.cells[(m.spec, m.technique, m.workload)] = {"spec": m.spec, "technique": m.technique,
                                                         "workload": m.workload, "status": "measured",
                                                         "reason": ""}


__all__ = ["Measurement", "Results", "load"]
