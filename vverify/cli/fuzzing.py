"""The ``vverify fuzz`` and ``vverify matrix`` commands (thin: the work is in vverify.fuzz)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from .messages import one_line, print_error

# The budget only stops a runaway guest (the drawn programs are a few dozen instructions); the core keeps
# it in a 64-bit slot, and a budget in the billions turns a looping program into a hang.
MAX_BUDGET = 10_000_000


def add_parsers(sub, whole_number):
    from ..fuzz.matrix import TECHNIQUES

    f = sub.add_parser("fuzz", help="run generated guest programs natively and under a VMM technique, and compare")
    f.add_argument("spec")
    f.add_argument("--technique", "-t", required=True, choices=TECHNIQUES)
    f.add_argument("--examples", "-n", type=whole_number("--examples"), default=200, help="programs to try (default 200)")
    f.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0); the same seed replays the search")
    f.add_argument("--budget", type=whole_number("--budget", 1, MAX_BUDGET), default=400,
                   help=f"guest instructions per run (default 400, at most {MAX_BUDGET})")
    f.add_argument("--database", action="store_true",
                   help="keep failing examples in vverify's cache (the 'fuzz' profile's database) to replay them later")

    m = sub.add_parser("matrix", help="predicted (theorems) versus observed (fuzzing) for every spec and technique")
    m.add_argument("paths", nargs="*", help="spec files or directories (default: the bundled specs/)")
    m.add_argument("--examples", "-n", type=whole_number("--examples"), default=100, help="programs per cell (default 100)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("-o", "--output-dir", default="results", help="where matrix.md and matrix.json go (default results/)")


def _progress(n):
    if n % 25 == 0:
        print(f"\r  {n} programs", end="", file=sys.stderr, flush=True)


def _require_guest_library(spec, path) -> None:
    """Fuzzing runs guest programs on the spec's guest library: without one there is nothing to run.

    Checked here, before any solving, because the library is looked up by
    spec name deep inside program generation, where a miss is a KeyError
    that Hypothesis reports as a falsifying example.
    """
    from ..bench.workloads import has_guest_library

    if not has_guest_library(spec):
        raise UsageError(f"{path}: spec '{spec.name}' has no guest library, so there are no guest programs to fuzz; "
                         "it needs a [guest] table naming a boot stub in the spec's own assembly "
                         "(see docs/guests.md)")


def _require_core(spec, path) -> None:
    """Fuzzing runs every program on the compiled core; a spec it cannot run is refused up front, in one line.

    Building the core here is no extra work: the search reuses it.
    """
    from ..fuzz.equivalence import core_problem

    problem = core_problem(spec)
    if problem:
        raise UsageError(f"{path}: {problem}; its programs cannot be fuzzed")


def cmd_fuzz(args, out) -> int:
    from ..context import load_context
    from ..fuzz import search

    ctx = load_context(args.spec)
    spec = ctx.spec
    if spec.virtualization is None:
        raise UsageError(f"{args.spec}: the spec has no virtualization map, so no VMM can place a guest on it")
    _require_guest_library(spec, args.spec)
    _require_core(spec, args.spec)
    report = ctx.report()
    for problem in ctx.unmet(args.technique):
        print_error(f"warning: {args.technique} requires what {spec.name} lacks: {problem}; running anyway")
    database = None
    if args.database:
        from hypothesis.database import DirectoryBasedExampleDatabase

        from ..fuzz.profiles import database_dir

        database = DirectoryBasedExampleDatabase(str(database_dir()))
    r = search(spec, args.technique, examples=args.examples, seed=args.seed, report=report,
               translate=ctx.translation_set(), budget=args.budget, progress=_progress, database=database)
    print("", file=sys.stderr)
    rate = r.examples / r.seconds if r.seconds else 0.0
    head = f"{spec.name} under {args.technique}: {r.examples} programs in {r.seconds:.1f} s ({rate:.0f}/s)"
    if not r.diverged:
        # a resource-control violation is a divergence (vverify.fuzz.search), so none is left here
        print(f"{head}: no divergence; {r.direct_fraction:.0%} of guest instructions ran directly", file=out)
        return 0
    ce = r.counterexample
    print(f"{head}: DIVERGES", file=out)
    if ce.culprit:
        uid, mode, pc, step = ce.culprit
        print(f"  culprit: {uid}, run from guest {mode} mode at pc {pc:#x} (guest step {step})", file=out)
    for d in ce.differences:
        print(f"  differs: {d}", file=out)
    print("  minimal program:", file=out)
    for line in ce.program.assembly(spec).splitlines():
        print(f"    {line}", file=out)
    print(f"  replay: vverify fuzz {args.spec} --technique {args.technique} --seed {args.seed} "
          f"--examples {args.examples} --budget {args.budget}", file=out)
    return 1


def cmd_matrix(args, out) -> int:
    from ..check.run import check_spec
    from ..files import write_atomic
    from ..fuzz.matrix import matrix, to_json, to_markdown
    from ..spec.loader import find_specs, load_spec
    from .main import default_spec_dir

    from ..spec.bundled import resolve

    paths = find_specs([resolve(p) for p in args.paths] or [default_spec_dir()])
    if not paths:
        raise UsageError("no spec files")
    outdir = Path(args.output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"{outdir}: not a directory")
    pairs = []
    for p in paths:
        spec = load_spec(p)
        pairs.append((spec, check_spec(spec)))

    def progress(c):
        print(one_line(f"  {c.spec:12} {c.technique:20} predicted {c.predicted:10} observed {c.observed:10} "
                       f"{'agree' if c.agree else 'DISAGREE'}"), file=sys.stderr)

    cells = matrix(pairs, examples=args.examples, seed=args.seed, progress=progress)
    cmd = "vverify matrix " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "vverify matrix"
    outdir.mkdir(parents=True, exist_ok=True)
    md = to_markdown(cells, args.examples, args.seed, cmd)
    write_atomic(outdir / "matrix.md", md)
    write_atomic(outdir / "matrix.json", to_json(cells, args.examples, args.seed, cmd))
    print(md, file=out)
    bad = [c for c in cells if not c.agree or c.culprit_flagged is False]
    return 1 if bad else 0
