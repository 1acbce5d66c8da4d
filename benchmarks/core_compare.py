"""The core's MIPS at several commits and Unicorn's, side by side in one run, round robin.

    python benchmarks/core_compare.py d19e3b6 b7bcd4c HEAD -o results/core_compare.json

Wall-clock MIPS depend on the machine and its load, so a figure measured
at another commit on another day says little about a change.  This runs
the RV32I loop of ``benchmarks/core_mips.py`` (its own ``bench_core``, so
each commit measures with the code it had) in a fresh process per commit
and round, alternating the commits and Unicorn so that a burst of load hits
them all alike, and reports the median of the rounds for each, with every
ratio taken from these medians.  Each commit is checked out into a
temporary worktree; its numba cache is its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vverify.files import write_atomic  # noqa: E402

ITERATIONS = 2_000_000  # loop trips per timed run: 18 M guest instructions
UNICORN_ITERATIONS = 200_000

_CHILD = """
import sys, time
sys.path.insert(0, {tree!r})
from benchmarks import core_mips as m
from benchmarks.workloads import LOOP_INSTRUCTIONS
m.{func}(1, 1000)  # build (or load) and warm up
runs = [m.{func}(1, {iterations}) for _ in range({repeat})]
print(min(runs) / ({iterations} * LOOP_INSTRUCTIONS))
"""


def seconds_per_instruction(tree: Path, func: str, iterations: int, repeat: int, cache: Path) -> float:
    """Best of ``repeat`` timed runs of ``func`` from ``tree``'s core_mips.py, in a fresh process."""
    import os

    env = {**os.environ, "VVERIFY_CORE_CACHE_DIR": str(cache), "PYTHONPATH": str(tree)}
    code = _CHILD.format(tree=str(tree), func=func, iterations=iterations, repeat=repeat)
    r = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"core_compare: {func} at {tree} failed: {r.stderr.strip().splitlines()[-1:]}")
    return float(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revisions", nargs="+", help="commits to compare (HEAD: the working tree as it is)")
    ap.add_argument("--rounds", type=int, default=7, help="round-robin rounds (default 7)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per process, the best kept (default 3)")
    ap.add_argument("-o", "--output", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vverify-core-compare-") as tmp:
        tmp = Path(tmp)
        trees = {}
        for rev in args.revisions:
            if rev == "HEAD":
                trees[rev] = ROOT
                continue
            tree = tmp / rev.replace("/", "_")
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), rev], cwd=ROOT, check=True)
            trees[rev] = tree
        try:
            samples = {name: [] for name in [*trees, "unicorn"]}
            for k in range(args.rounds):
                for rev, tree in trees.items():
                    samples[rev].append(seconds_per_instruction(tree, "bench_core", ITERATIONS, args.repeat,
                                                                tmp / f"cache-{rev.replace('/', '_')}"))
                samples["unicorn"].append(seconds_per_instruction(ROOT, "bench_unicorn", UNICORN_ITERATIONS,
                                                                  args.repeat, tmp / "cache-unicorn"))
                print(f"round {k + 1}/{args.rounds}: " + ", ".join(f"{n} {1e-6 / s[-1]:.0f}"
                                                                  for n, s in samples.items()), file=sys.stderr)
        finally:
            for rev, tree in trees.items():
                if tree != ROOT:
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    mips = {n: 1e-6 / statistics.median(s) for n, s in samples.items()}
    out = {"mips": {n: round(v, 1) for n, v in mips.items()},
           "vs_unicorn": {n: round(v / mips["unicorn"], 3) for n, v in mips.items() if n != "unicorn"},
           "rounds": args.rounds, "repeat": args.repeat,
           "commits": {rev: subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True,
                                           text=True).stdout.strip() for rev in trees}}
    print("| engine | MIPS (median of rounds) | × Unicorn |\n|---|---|---|")
    uni = mips["unicorn"]
    for n, v in mips.items():
        print(f"| {n} | {v:,.0f} | {'' if n == 'unicorn' else f'{v / uni:.2f}×'} |")
    if args.output:
        write_atomic(args.output, json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
