"""The guard against regressions: re-measure the hot paths side by side and compare with the committed figures.

    python benchmarks/guard.py            # measure, write results/guard.json and results/GUARD.md, compare
    python benchmarks/guard.py --compare-only   # compare the results/guard.json on disk with the committed one

Run it before landing any change to ``vverify/core`` or ``vverify/vmm``
(docs/benchmarks.md, "The rule").  It measures, in one run of this command:

* the core's guest MIPS on the RV32I loop and Unicorn's on the same program
  (``benchmarks/core_mips.py``);
* the exit round trip, guest trap -> Python -> resume (``benchmarks/core_exit.py``);
* the same loop on riscv32_sv32 with paging on against paging off
  (``benchmarks/core_paging.py``: the fetch cache, docs/core.md);
* every technique on the nanobenchmarks and ``compute`` on riscv32,
  x86_32 and x86_32_vtx (``vverify bench --fast``), from which the cost per event follows:
  (technique's wall time per operation - native's) / (traps + emulated
  instructions + hypercalls + VM exits per operation), the definition of
  issue 15;
* shadow paging's ``pgfault`` and ``ptemod`` on riscv32_sv32 under each
  technique that virtualizes its MMU (``vverify bench --fast``), whose cost
  per event (the same definition; a hidden or true page fault is a trap, a
  traced write a trap and an emulated instruction) is
  ``shadow_cost_per_event.<technique>``.

Wall-clock figures swing with the load of a shared machine, so what is
compared are figures that hold up across machines and loads: ratios of two
medians of the same run.  Times are expressed in *Unicorn instructions*
(the time Unicorn takes for one guest instruction of the RV32I loop, in the
same run): a core that got slower, or a VMM event that got dearer, shows
as more Unicorn instructions whatever the machine's speed.  Per technique,
the cost per event is the geometric mean over its cells, which steadies a
figure each of whose cells is short.

A figure worse than the committed one by more than ``--tolerance`` (10 %)
is measured again (two runs on a shared machine differ by up to ~10 % even
in their ratios), each figure keeping the better of the two runs; one still
worse is then measured side by side with the commit of the committed figures (that
commit's code and this tree's, alternately, ``--rounds`` times), and only a
drop that shows there too makes the command exit 1, naming it; one that
does not is reported as ``noise``.  A figure not in the committed file is
new and only reported.  "Committed" is ``git show HEAD:results/guard.json``
(the file on disk when there is no git), read before the new one is written.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.core_mips import commit  # noqa: E402
from vverify.files import write_atomic  # noqa: E402

RESULTS = ROOT / "results"
GUARD_JSON = RESULTS / "guard.json"
GUARD_MD = RESULTS / "GUARD.md"
TOLERANCE = 0.10
SPECS = ("riscv32", "x86_32", "x86_32_vtx")  # x86_32_vtx: hardware assist
WORKLOADS = ("syscall", "in", "cr8wr", "divzero", "compute")
EVENT_WORKLOADS = ("syscall", "in", "cr8wr", "divzero")  # where the cost per event is defined (issue 15's targets)

# which way is better for each kind of figure
HIGHER_IS_BETTER = "higher"
LOWER_IS_BETTER = "lower"


# ---------------------------------------------------------------- measuring


def _run(argv: list, what: str, tree: Path = ROOT, env: dict | None = None) -> None:
    """Run one measuring command; its failure is this command's, named in one line."""
    print(f"guard: {what}: {' '.join(argv)}", file=sys.stderr, flush=True)
    r = subprocess.run(argv, cwd=tree, stdout=subprocess.DEVNULL, env=env)
    if r.returncode != 0:
        raise SystemExit(f"guard: {what} failed (exit {r.returncode}): {' '.join(argv)}")


PAGING_SPECS = ("riscv32_sv32",)  # shadow paging (docs/paging.md)
PAGING_WORKLOADS = ("pgfault", "ptemod")
SHADOW = "shadow_cost_per_event."

PARTS = ("core_mips", "core_exit", "core_paging", "bench", "bench_paging")


def measure(scratch: Path, processes: int, tree: Path = ROOT, parts=PARTS, techniques=(), env=None) -> dict:
    """Run the measuring commands of ``parts`` from ``tree`` into ``scratch``; their pyperf and bench files.

    ``tree`` is a checkout whose own benchmark scripts and ``vverify`` are run (``env`` points Python at it),
    so a baseline commit measures with the code it had.  ``techniques`` narrows the bench to those (and
    native, which every cost per event is measured against); empty means every one.
    """
    py = sys.executable
    files = {}
    if "core_mips" in parts:
        files["core_mips"] = scratch / "core_mips.json"
        _run([py, "benchmarks/core_mips.py", "-p", str(processes), "-o", str(files["core_mips"])], "core MIPS",
             tree, env)
    if "core_exit" in parts:
        files["core_exit"] = scratch / "core_exit.json"
        _run([py, "benchmarks/core_exit.py", "-p", str(processes), "-o", str(files["core_exit"])],
             "exit round trip", tree, env)
    if "core_paging" in parts and (tree / "benchmarks" / "core_paging.py").is_file():  # older trees lack it
        files["core_paging"] = scratch / "core_paging.json"
        _run([py, "benchmarks/core_paging.py", "-p", str(processes), "-o", str(files["core_paging"])],
             "paging on and off", tree, env)
    if "bench" in parts:
        files["bench"] = scratch / "bench.json"
        bench = [py, "-m", "vverify", "bench", "--fast", "-o", str(files["bench"])]
        for s in SPECS:
            bench += ["-s", s]
        for w in WORKLOADS if not techniques else EVENT_WORKLOADS:
            bench += ["-w", w]
        for t in ("native", *techniques) if techniques else ():
            bench += ["-t", t]
        _run(bench, "techniques", tree, env)
    if "bench_paging" in parts:
        files["bench_paging"] = scratch / "bench_paging.json"
        bench = [py, "-m", "vverify", "bench", "--fast", "-o", str(files["bench_paging"])]
        for s in PAGING_SPECS:
            bench += ["-s", s]
        for w in PAGING_WORKLOADS:
            bench += ["-w", w]
        for t in ("native", *techniques) if techniques else ():
            bench += ["-t", t]
        _run(bench, "shadow paging", tree, env)
    return files


# ---------------------------------------------------------------- figures


def _medians(path: Path) -> dict:
    import pyperf

    return {b.get_name(): b.median() for b in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()}


def _geomean(xs) -> float:
    xs = [x for x in xs if x > 0]
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else float("nan")


def seconds(files: dict) -> dict:
    """The guard's quantities in seconds, from whichever measured files are present.

    ``core`` and ``unicorn`` per guest instruction, ``exit`` per round trip, and per technique
    ``cost_per_event.<technique>`` and ``shadow_cost_per_event.<technique>`` (the geometric mean over
    its cells), with the cells themselves.
    """
    out: dict = {}
    if "core_mips" in files:
        mips = _medians(files["core_mips"])
        out["core"], out["unicorn"] = mips["core"], mips["unicorn"]
    if "core_exit" in files:
        out["exit"] = _medians(files["core_exit"])["exit_round_trip_raw"]
    if "core_paging" in files:
        paging = _medians(files["core_paging"])
        out["paging_on"], out["paging_off"] = paging["paging_on"], paging["paging_off"]
    cells = {}
    for part, workloads, prefix in (("bench", EVENT_WORKLOADS, "cost_per_event."),
                                    ("bench_paging", PAGING_WORKLOADS, SHADOW)):
        if part in files:
            per_technique = _cells(files[part], workloads, cells)
            for tech, costs in sorted(per_technique.items()):
                out[f"{prefix}{tech}"] = (_geomean(costs), len(costs))
    if cells:
        out["cells"] = dict(sorted(cells.items()))
    return out


def _cells(path: Path, event_workloads, cells: dict) -> dict:
    """Add one bench file's cells to ``cells``; per technique, the costs per event of its cells whose
    workload is among ``event_workloads``."""
    from vverify.bench.costmodel import vmm_events
    from vverify.bench.results import load

    res = load([path])
    per_technique: dict = {}
    for m in res.measurements.values():
        native = res.get(m.spec, "native", m.workload)
        if m.technique == "native" or native is None:
            continue
        cell = {"overhead_vs_native": round(m.median / native.median, 3), "ns_per_op": round(m.median * 1e9, 1),
                "native_ns_per_op": round(native.median * 1e9, 1)}
        n_events = vmm_events(m.per_op)
        if m.workload in event_workloads and n_events > 0:
            cost = (m.median - native.median) / n_events
            cell["events_per_op"] = round(n_events, 3)
            cell["ns_per_event"] = round(cost * 1e9, 1)
            per_technique.setdefault(m.technique, []).append(cost)
        cells[m.name] = cell
    return per_technique


def figures(files: dict) -> dict:
    """The guard's figures from the measured files: ``{"figures": {name: {value, better, unit}}, "cells": ...}``."""
    raw = seconds(files)
    unicorn_s = raw["unicorn"]  # seconds per guest instruction: the unit of time below
    out: dict = {}

    def fig(name, value, better, unit):
        out[name] = {"value": round(value, 4), "better": better, "unit": unit}

    fig("core_vs_unicorn", unicorn_s / raw["core"], HIGHER_IS_BETTER, "ratio of MIPS, same run")
    fig("exit_round_trip", raw["exit"] / unicorn_s, LOWER_IS_BETTER, "Unicorn instructions")
    if "paging_on" in raw:
        fig("paging_on_vs_off", raw["paging_off"] / raw["paging_on"], HIGHER_IS_BETTER, "ratio of MIPS, same run")
    for name, v in raw.items():
        if name.startswith(("cost_per_event.", SHADOW)):
            cost, n = v
            fig(name, cost / unicorn_s, LOWER_IS_BETTER, f"Unicorn instructions, geometric mean of {n} cells")
    absolute = {"core_mips": round(1e-6 / raw["core"], 1), "unicorn_mips": round(1e-6 / unicorn_s, 1),
                "exit_round_trip_ns": round(raw["exit"] * 1e9, 1)}
    if "paging_on" in raw:
        absolute["paging_on_mips"] = round(1e-6 / raw["paging_on"], 1)
        absolute["paging_off_mips"] = round(1e-6 / raw["paging_off"], 1)
    return {"figures": out, "absolute": absolute, "cells": raw.get("cells", {})}


# ---------------------------------------------------------------- comparing


def _measured(processes: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="vverify-guard-") as tmp:
        return figures(measure(Path(tmp), processes))


def best_of(a: dict, b: dict) -> dict:
    """``a`` with each figure replaced by ``b``'s where ``b``'s is better (the cells stay ``a``'s: they
    are shown, not compared)."""
    out = json.loads(json.dumps(a))
    for name, f in b["figures"].items():
        g = out["figures"].get(name)
        if g is None or (f["value"] > g["value"]) == (f["better"] == HIGHER_IS_BETTER):
            out["figures"][name] = f
    out["runs"] = 2
    return out


# what each figure needs measured, and the quantity in seconds (lower is better) it is compared by when
# measured side by side with the baseline commit
def _needs(name: str) -> tuple:
    if name == "core_vs_unicorn":
        return "core_mips", "core"
    if name == "exit_round_trip":
        return "core_exit", "exit"
    if name == "paging_on_vs_off":
        return "core_paging", "paging_on"
    if name.startswith(SHADOW):
        return "bench_paging", name
    return "bench", name


def side_by_side(names: list, baseline: str, rounds: int, processes: int) -> dict:
    """The figures ``names`` at ``baseline`` and in this tree, measured alternately, ``rounds`` times.

    The committed figures come from another run, on another day's load; a figure of one cell (hardware
    assist's cost per event has one) can move by 15 % between runs of the same code.  Measuring the
    baseline commit's own code and this tree's in alternation lets a burst of load hit both alike, so
    what is left is the change.  The baseline is checked out into a temporary worktree with a numba
    cache of its own.  Returns :func:`alternate`'s dict.
    """
    import os

    def run(tree, parts, techniques, scratch, env):
        return seconds(measure(scratch, processes, tree, parts, techniques, env))

    with tempfile.TemporaryDirectory(prefix="vverify-guard-side-") as tmp:
        tmp = Path(tmp)
        base_tree = tmp / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(base_tree), baseline], cwd=ROOT,
                       check=True)
        base_env = {**os.environ, "PYTHONPATH": str(base_tree), "VVERIFY_CORE_CACHE_DIR": str(tmp / "cache")}
        try:
            return alternate(names, {"baseline": (base_tree, base_env), "now": (ROOT, None)}, rounds, run, tmp)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT)


def alternate(names: list, trees: dict, rounds: int, run, scratch: Path) -> dict:
    """Measure ``names`` in each of ``trees`` (``{"baseline": (tree, env), "now": (tree, env)}``) in turn,
    ``rounds`` times, with ``run(tree, parts, techniques, scratch, env)`` returning :func:`seconds`' dict.

    Returns ``{name: {"baseline": [s...], "now": [s...], "change": x}}``, ``change`` being the median over
    the rounds of the relative change, in the direction of better (negative: worse; every quantity is
    seconds).
    """
    parts = sorted({_needs(n)[0] for n in names})
    techniques = sorted({n.split(".", 1)[1] for n in names if n.startswith(("cost_per_event.", SHADOW))})
    samples = {n: {side: [] for side in trees} for n in names}
    for k in range(rounds):
        for side, (tree, env) in trees.items():
            where = scratch / f"{side}-{k}"
            where.mkdir()
            got = run(tree, parts, techniques, where, env)
            for n in names:
                v = got.get(_needs(n)[1])
                if v is None:
                    raise SystemExit(f"guard: {side} ({tree}) did not measure {n}")
                samples[n][side].append(v[0] if isinstance(v, tuple) else v)
        print(f"guard: side by side, round {k + 1}/{rounds}", file=sys.stderr)
    for s in samples.values():
        # paired: each round's two measurements were taken back to back, so their ratio is what a burst
        # of load spares; the median of the rounds' ratios then drops a round that a burst split
        s["change"] = statistics.median(b / w for b, w in zip(s["baseline"], s["now"])) - 1
    return samples


def settle(rows: list, sbs: dict, tolerance: float) -> list:
    """``rows`` with each regression that the side-by-side run does not confirm marked ``noise``."""
    out = []
    for name, o, n, change, verdict in rows:
        if verdict == "REGRESSION" and name in sbs and sbs[name]["change"] >= -tolerance:
            verdict = "noise"
        out.append((name, o, n, change, verdict))
    return out


def committed() -> dict | None:
    """The committed results/guard.json, or None when there is none."""
    try:
        text = subprocess.run(["git", "show", "HEAD:results/guard.json"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        text = GUARD_JSON.read_text() if GUARD_JSON.is_file() else None
    return json.loads(text) if text else None


def compare(old: dict | None, new: dict, tolerance: float) -> list:
    """``[(name, old, new, change, verdict)]``; verdict is ``ok``, ``better``, ``REGRESSION`` or ``new``.

    ``change`` is the relative change in the direction of better (negative: worse).
    """
    rows = []
    olds = (old or {}).get("figures", {})
    for name, f in new["figures"].items():
        o = olds.get(name)
        if o is None or not o["value"] or not math.isfinite(f["value"]):
            rows.append((name, None, f["value"], None, "new"))
            continue
        ratio = f["value"] / o["value"]
        change = ratio - 1 if f["better"] == HIGHER_IS_BETTER else 1 / ratio - 1
        verdict = "REGRESSION" if change < -tolerance else ("better" if change > tolerance else "ok")
        rows.append((name, o["value"], f["value"], change, verdict))
    return rows


def render(new: dict, rows: list, tolerance: float, old_commit: str) -> str:
    L = ["# Hot-path guard", "",
         "Figures of one run of `python benchmarks/guard.py`, compared with the committed ones "
         f"({old_commit}). Ratios of medians of the same run; times in Unicorn instructions (the time "
         "Unicorn takes per guest instruction of the RV32I loop, same run). A figure worse by more than "
         f"{tolerance:.0%} fails the guard.", "",
         f"Measured at {new['commit']} on {new['date']}; absolute figures of this run (these swing with the "
         f"machine's load): core {new['absolute']['core_mips']} MIPS, Unicorn {new['absolute']['unicorn_mips']} "
         f"MIPS, exit round trip {new['absolute']['exit_round_trip_ns']} ns.", "",
         "| figure | unit | committed | now | change | |", "|---|---|---|---|---|---|"]
    for name, o, n, change, verdict in rows:
        unit = new["figures"][name]["unit"]
        L.append(f"| {name} | {unit} | {'' if o is None else f'{o:.4g}'} | {n:.4g} | "
                 f"{'' if change is None else f'{change:+.1%}'} | {verdict} |")
    side = new.get("side_by_side")
    if side:
        L += ["", f"## Side by side with {side['baseline']}", "",
              f"Each figure that was still worse after two runs, measured again with the code of "
              f"{side['baseline']} and this tree in alternation, {side['rounds']} rounds (seconds, medians of "
              "the rounds; the change is the median of the rounds' paired ratios). A drop that does not show "
              "here is load, not code: its verdict is `noise`.", "",
              "| figure | quantity | baseline | now | change |", "|---|---|---|---|---|"]
        for name, f in side["figures"].items():
            L.append(f"| {name} | {_needs(name)[1].split('.')[0]} | {statistics.median(f['baseline']):.4g} | "
                     f"{statistics.median(f['now']):.4g} | {f['change']:+.1%} |")
    L += ["", "## Cells", "",
          "Wall time per operation (medians), overhead against native in the same run, and the cost per "
          "event: (time per operation - native's) / (traps + emulated + hypercalls + VM exits per operation).", "",
          "| cell | ns/op | native ns/op | × native | events/op | ns/event |", "|---|---|---|---|---|---|"]
    for name, c in new["cells"].items():
        L.append(f"| {name} | {c['ns_per_op']:,} | {c['native_ns_per_op']:,} | {c['overhead_vs_native']:,} | "
                 f"{c.get('events_per_op', '')} | {c.get('ns_per_event', '')} |")
    L += ["", "Regenerate: `python benchmarks/guard.py` (about five minutes)."]
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tolerance", type=float, default=TOLERANCE, help="the largest drop allowed (0.10: 10%%)")
    ap.add_argument("--processes", "-p", type=int, default=6, help="pyperf worker processes per core benchmark")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of the side-by-side run that confirms a drop (default 3)")
    ap.add_argument("--baseline", help="the commit to measure side by side when a figure drops "
                                       "(default: the commit of the committed figures)")
    ap.add_argument("--compare-only", action="store_true",
                    help="do not measure: compare results/guard.json on disk with the committed one")
    args = ap.parse_args(argv)
    if not 0 < args.tolerance < 1:
        raise SystemExit("guard: --tolerance must be between 0 and 1")
    old = committed()
    if args.compare_only:
        if not GUARD_JSON.is_file():
            raise SystemExit(f"guard: {GUARD_JSON} does not exist: run without --compare-only first")
        new = json.loads(GUARD_JSON.read_text())
    else:
        new = _measured(args.processes)
        if any(r[4] == "REGRESSION" for r in compare(old, new, args.tolerance)):
            # a drop must show twice: two runs of this command on a shared machine differ by up to
            # ~10 % in their ratios, so a lone bad run is measured again and each figure keeps the
            # better of the two; a real regression is worse in both
            print("guard: a figure dropped; measuring again to confirm", file=sys.stderr)
            new = best_of(new, _measured(args.processes))
            still = [r[0] for r in compare(old, new, args.tolerance) if r[4] == "REGRESSION"]
            baseline = args.baseline or old.get("commit")
            if still and baseline:
                print(f"guard: still worse: {', '.join(still)}; measuring side by side with {baseline}",
                      file=sys.stderr)
                new["side_by_side"] = {"baseline": baseline, "rounds": args.rounds,
                                       "figures": side_by_side(still, baseline, args.rounds, args.processes)}
        import datetime

        new["commit"] = commit()
        new["date"] = datetime.date.today().isoformat()
        new["tolerance"] = args.tolerance
    rows = compare(old, new, args.tolerance)
    if "side_by_side" in new:
        rows = settle(rows, new["side_by_side"]["figures"], args.tolerance)
    old_commit = f"committed at {old.get('commit', '?')}" if old else "none committed yet"
    if not args.compare_only:
        write_atomic(GUARD_JSON, json.dumps(new, indent=1, sort_keys=True) + "\n")
        write_atomic(GUARD_MD, render(new, rows, args.tolerance, old_commit))
    bad = [r for r in rows if r[4] == "REGRESSION"]
    for name, o, n, change, verdict in rows:
        shown = "" if change is None else f" ({change:+.1%})"
        print(f"{verdict:>10}  {name}: {'-' if o is None else f'{o:.4g}'} -> {n:.4g}{shown}")
    if bad:
        print(f"guard: {len(bad)} figure(s) worse than committed by more than {args.tolerance:.0%}: "
              + ", ".join(r[0] for r in bad), file=sys.stderr)
        return 1
    print(f"guard: no figure worse than committed by more than {args.tolerance:.0%}"
          + ("" if old else " (nothing committed to compare with yet)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
