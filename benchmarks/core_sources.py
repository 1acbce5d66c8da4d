"""Is every bundled spec's generated code the same as another tree's?  The core, its map and its helpers.

A change to the spec language or the backends that a spec does not use must leave that spec's
generated code byte for byte as it was: the core is compiled from it, and a changed source is a
new core (numba recompiles it, results/CORE.md's figures no longer describe it).  Compare this
tree with an old one (a worktree or an export of the old commit: the commit a branch started from,
``git merge-base HEAD main``, when main has moved since, or main's own changes count too):

    git archive $(git merge-base HEAD main) | tar -x -C /tmp/old
    python benchmarks/core_sources.py /tmp/old

For every spec under specs/ it generates, in a child process per tree, the core
(``vverify.core.codegen.generate``, with and without numba's decorators), the compiled
virtualization map (``mapgen.generate_map``) when the spec has one, and each helper a VMM
compiles by itself (``helpergen.generate_helper``, for the map's MMU translation), and compares
their SHA-256.  A spec one tree refuses (``CoreUnsupported``) is compared by its refusal.  Exit
0 when every source is identical, 1 naming each one that is not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import hashlib, json, sys
from pathlib import Path
from vverify.spec.loader import load_spec, find_specs
from vverify.core import codegen, mapgen, helpergen

out = {}
for p in find_specs([sys.argv[1]]):
    spec = load_spec(p)
    name = str(Path(p).relative_to(sys.argv[1]))
    def put(kind, make):
        try:
            out[f"{name} {kind}"] = hashlib.sha256(make().encode()).hexdigest()
        except Exception as e:  # a refusal is compared as what it says
            out[f"{name} {kind}"] = f"{type(e).__name__}: {e}"
    put("core", lambda: codegen.generate(spec, True))
    put("core (no jit)", lambda: codegen.generate(spec, False))
    if spec.virtualization is not None:
        put("map", lambda: mapgen.generate_map(spec, True))
        mmu = spec.virtualization.mmu
        if mmu is not None:
            put(f"helper {mmu.helper}", lambda: helpergen.generate_helper(spec, mmu.helper, True))
print(json.dumps(out))
"""


def sources(tree: Path, specs: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    run = subprocess.run([sys.executable, "-c", _CHILD, str(specs)], capture_output=True, text=True, env=env,
                         cwd=tree)
    if run.returncode:
        sys.exit(f"generating in {tree} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old", type=Path, help="the other tree (its vverify package is imported from there)")
    ap.add_argument("--specs", type=Path, default=ROOT / "specs", help="the specs to generate (default: this tree's)")
    args = ap.parse_args(argv)
    new, old = sources(ROOT, args.specs), sources(args.old.resolve(), args.specs)
    differ = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
    for k in differ:
        print(f"differs: {k}: {old.get(k, 'absent')} -> {new.get(k, 'absent')}")
    print(f"{len(new)} generated sources compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
