"""Are two runs' answers the same?  Verdicts, matrix cells and exact counters, compared between two JSON outputs.

A refactoring or a faster path must not change what vverify answers.  Run the
same command at two commits (a worktree for the old one) and compare:

    python benchmarks/compare_outputs.py check  OLD.json NEW.json   # vverify check --format json
    python benchmarks/compare_outputs.py matrix OLD.json NEW.json   # results/matrix.json of vverify matrix
    python benchmarks/compare_outputs.py bench  OLD.json NEW.json   # vverify bench (--fast) output

``check`` compares every unit's derived properties, every theorem's status and
violators and every claim's outcome.  ``matrix`` compares every cell's
prediction, observation, agreement and culprit (the number of programs a cell
ran and the share run directly depend on Hypothesis's draws, which depend on
the modules loaded, so they are shown, not compared).  ``bench`` compares
every measured cell's exact counters per operation in the steady state, its
guest steps per operation and its boot-only baseline counters, and the cells
not measured; a counter only one side has (one a change added, such as
``crossings``) is reported and left out of the comparison.  Exit 0 when
identical, 1 when not, naming each difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNIT_FIELDS = ("privileged", "sensitive", "control_sensitive", "mode_sensitive", "location_sensitive",
               "user_sensitive", "safe_supervisor", "safe_user", "timing")
CELL_FIELDS = ("predicted", "observed", "agree", "culprit", "culprit_flagged")


def _check(path) -> dict:
    out = {}
    for r in json.loads(Path(path).read_text())["reports"]:
        units = {u["id"]: {k: u.get(k) for k in UNIT_FIELDS} for u in r["instructions"]}
        theorems = {k: (v["status"], sorted(v["violators"])) for k, v in r["theorems"].items()}
        claims = {c["name"]: c.get("ok") for c in r["claims"]}
        out[r["spec"]] = (units, theorems, claims)
    return out


def compare_check(a_path, b_path) -> list:
    a, b = _check(a_path), _check(b_path)
    diffs = [f"specs only in one: {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
    for s in sorted(set(a) & set(b)):
        (ua, ta, ca), (ub, tb, cb) = a[s], b[s]
        for u in sorted(set(ua) | set(ub)):
            if ua.get(u) != ub.get(u):
                diffs.append(f"{s}: unit {u}: {ua.get(u)} -> {ub.get(u)}")
        for t in sorted(set(ta) | set(tb)):
            if ta.get(t) != tb.get(t):
                diffs.append(f"{s}: {t}: {ta.get(t)} -> {tb.get(t)}")
        for c in sorted(set(ca) | set(cb)):
            if ca.get(c) != cb.get(c):
                diffs.append(f"{s}: claim {c}: {ca.get(c)} -> {cb.get(c)}")
        if not diffs:
            print(f"{s}: {len(ua)} units, theorems {', '.join(f'{k} {v[0]}' for k, v in sorted(ta.items()))}, "
                  f"{len(ca)} claims")
    return diffs


def compare_matrix(a_path, b_path) -> list:
    cells = [{(c["spec"], c["technique"]): c for c in json.loads(Path(p).read_text())["cells"]}
             for p in (a_path, b_path)]
    a, b = cells
    diffs = [f"cells only in one: {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
    for k in sorted(set(a) & set(b)):
        d = {f: (a[k].get(f), b[k].get(f)) for f in CELL_FIELDS if a[k].get(f) != b[k].get(f)}
        if d:
            diffs.append(f"{'/'.join(k)}: {d}")
        other = {f: (a[k].get(f), b[k].get(f)) for f in ("examples", "direct_fraction") if a[k].get(f) != b[k].get(f)}
        if other:
            print(f"{'/'.join(k)}: same verdict; draws differ: {other}")
    run = sum(1 for c in b.values() if c["observed"] != "not run")
    print(f"{len(b)} cells, {run} run, {sum(1 for c in b.values() if c['agree'])} agree")
    return diffs


def compare_bench(a_path, b_path) -> list:
    from vverify.bench.costmodel import flatten
    from vverify.bench.results import load

    a, b = load([a_path]), load([b_path])
    diffs, only = [], set()
    for name in sorted(set(a.measurements) | set(b.measurements)):
        ma, mb = a.measurements.get(name), b.measurements.get(name)
        if ma is None or mb is None:
            diffs.append(f"{name}: measured in one run only")
            continue
        pa, pb = ma.per_op, mb.per_op
        ba, bb = flatten(ma.baseline), flatten(mb.baseline)
        one_sided = (set(pa) ^ set(pb)) | (set(ba) ^ set(bb))
        only |= one_sided
        for k in sorted((set(pa) | set(pb)) - one_sided):
            if abs(pa.get(k, 0) - pb.get(k, 0)) > 1e-9:
                diffs.append(f"{name}: {k} per operation {pa.get(k)} -> {pb.get(k)}")
        for k in sorted((set(ba) | set(bb)) - one_sided):
            if ba.get(k) != bb.get(k):
                diffs.append(f"{name}: boot-only {k} {ba.get(k)} -> {bb.get(k)}")
        if abs(ma.steps_per_op - mb.steps_per_op) > 1e-9:
            diffs.append(f"{name}: steps per operation {ma.steps_per_op} -> {mb.steps_per_op}")
    na = [{k: c["status"] for k, c in r.cells.items() if c["status"] != "measured"} for r in (a, b)]
    if na[0] != na[1]:
        diffs.append(f"cells not measured differ: {sorted(set(na[0].items()) ^ set(na[1].items()))}")
    print(f"{len(b.measurements)} cells measured, {len(na[1])} not; counters in one run only (not compared): "
          f"{', '.join(sorted(only)) or 'none'}")
    return diffs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("check", "matrix", "bench"))
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    args = ap.parse_args(argv)
    diffs = {"check": compare_check, "matrix": compare_matrix, "bench": compare_bench}[args.what](args.old, args.new)
    for d in diffs:
        print(f"DIFFERENT: {d}")
    print("IDENTICAL" if not diffs else f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
