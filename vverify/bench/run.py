"""Running the matrix: worker processes of the pyperf script, merged into one pyperf JSON file.

``vverify bench`` writes a plan (spec files, techniques, workloads, the
target time per value), then runs :mod:`vverify.bench.script` in pyperf's
worker mode once per *process*: each process measures every cell, with
``warmups`` warm-up values and ``values`` timed values per cell.  The first
process picks each cell's iteration count ``N``; the others reuse it, so
all runs of a benchmark measure the same program.  The processes' results
are merged (pyperf's ``add_runs``) into one file that ``python -m pyperf
show`` and ``compare_to`` read, with the run's description in its common
metadata:

==========================  =================================================
``vverify_command``         the command line that produced the file
``vverify_mode``            ``fast`` or ``full``
``vverify_settings``        processes, values, warmups, target seconds
``vverify_duration_s``      wall time of the whole run
``vverify_load_avg``        1-minute load average before and after
``vverify_cells``           every cell with its status and, when it was not
                            measured, the reason (not applicable, or an error)
==========================  =================================================
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .script import EVENT_PREFIX

FAST = {"processes": 2, "values": 3, "warmups": 1, "target_seconds": 0.015}
FULL = {"processes": 6, "values": 5, "warmups": 1, "target_seconds": 0.1}


@dataclass
class Outcome:
    path: Path
    cells: list = field(default_factory=list)  # dicts: spec, technique, workload, status, reason
    seconds: float = 0.0
    measured: int = 0


class BenchError(RuntimeError):
    pass


def _load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux
        return None


def plan_cells(specs, techniques, workloads) -> int:
    return len(specs) * len(techniques) * len(workloads)


def run(specs, techniques, workloads, output: Path, *, fast: bool, command: str, progress=None,
        settings: dict | None = None) -> Outcome:
    """Measure every cell; write the merged pyperf JSON to ``output`` atomically.

    ``progress(done, total, event)`` is called for every cell of every
    process (``event`` is the script's report on it).
    """
    s = dict(FAST if fast else FULL)
    s.update(settings or {})
    output = Path(output)
    total = plan_cells(specs, techniques, workloads) * s["processes"]
    done = 0
    cells: dict = {}
    iterations: dict = {}
    load_before = _load_avg()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vverify-bench-") as tmp:
        tmp = Path(tmp)
        parts = []
        for p in range(s["processes"]):
            plan = {"specs": [str(x) for x in specs], "techniques": list(techniques), "workloads": list(workloads),
                    "target_seconds": s["target_seconds"], "iterations": iterations}
            plan_path = tmp / f"plan{p}.json"
            plan_path.write_text(json.dumps(plan))
            part = tmp / f"part{p}.json"
            cmd = [sys.executable, "-m", "vverify.bench.script", "--plan", str(plan_path), "--worker",
                   "--loops", "1", "--warmups", str(s["warmups"]), "--values", str(s["values"]), "--quiet",
                   "--output", str(part)]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            stray = []
            for line in proc.stderr:
                if not line.startswith(EVENT_PREFIX):
                    stray.append(line)
                    continue
                ev = json.loads(line[len(EVENT_PREFIX):])
                done += 1
                key = ev["cell"]
                if p == 0 or key not in cells:
                    cells[key] = {k: ev.get(k, "") for k in ("spec", "technique", "workload", "status", "reason")}
                elif ev["status"] == "error" and cells[key]["status"] == "measured":
                    cells[key].update(status="error", reason=ev.get("reason", ""))
                if ev["status"] == "measured" and p == 0:
                    iterations[key] = ev["iterations"]
                if progress is not None:
                    progress(done, total, ev)
            rc = proc.wait()
            if rc != 0:
                tail = "".join(stray[-20:]).strip()
                raise BenchError(f"the benchmark process exited with status {rc}: {tail.splitlines()[-1] if tail else ''}")
            if part.exists():
                parts.append(part)
        seconds = time.perf_counter() - t0
        meta = {
            "vverify_command": command,
            "vverify_mode": "fast" if fast else "full",
            "vverify_settings": json.dumps(s, sort_keys=True),
            "vverify_duration_s": round(seconds, 1),
            "vverify_load_avg": f"{load_before} before, {_load_avg()} after",
            "vverify_cells": json.dumps(list(cells.values()), separators=(",", ":")),
        }
        if not parts:
            why = sorted({c["reason"] for c in cells.values() if c.get("reason")})
            raise BenchError("nothing was measured: every cell is not applicable or failed"
                             + (f" ({'; '.join(why[:3])}{'; ...' if len(why) > 3 else ''})" if why else ""))
        write_merged(parts, output, meta)
    measured = sum(1 for c in cells.values() if c["status"] == "measured")
    return Outcome(output, list(cells.values()), seconds, measured)


def write_merged(parts, output: Path, extra_metadata: dict):
    """Merge pyperf files (runs of the same benchmark are added) and write the result atomically."""
    import pyperf

    suite = pyperf.BenchmarkSuite.load(str(parts[0]))
    for part in parts[1:]:
        suite.add_runs(pyperf.BenchmarkSuite.load(str(part)))
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.unlink(tmp)
        suite.dump(tmp)
        with open(tmp, encoding="utf-8") as f:
            data = json.load(f)
        data.setdefault("metadata", {}).update(extra_metadata)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True, separators=(",", ":"))
            f.write("\n")
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


__all__ = ["FAST", "FULL", "BenchError", "Outcome", "run", "write_merged"]
