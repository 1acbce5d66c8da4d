"""The ``vverify bench`` and ``vverify report`` commands (thin: the work is in vverify.bench)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from ..errors import UsageError
from .messages import one_line, print_error

DEFAULT_OUTPUT = Path("results") / "bench.json"


def add_parsers(sub):
    from ..bench.workloads import WORKLOADS

    b = sub.add_parser("bench", help="measure every spec x technique x workload with pyperf, then write the report")
    b.add_argument("--fast", action="store_true",
                   help="2 processes, 3 values per cell, short runs (the whole matrix in a few minutes)")
    b.add_argument("--spec", "-s", action="append", metavar="S",
                   help="a spec name or file (repeatable; default: every spec in specs/)")
    b.add_argument("--technique", "-t", action="append", metavar="T",
                   help="a technique (repeatable; default: every registered technique)")
    b.add_argument("--workload", "-w", action="append", metavar="W", choices=list(WORKLOADS),
                   help=f"a workload (repeatable; default: all of {', '.join(WORKLOADS)})")
    b.add_argument("-o", "--output", metavar="FILE", default=str(DEFAULT_OUTPUT),
                   help=f"the pyperf JSON to write (default {DEFAULT_OUTPUT}); REPORT.md and the plots go beside it")

    r = sub.add_parser("report", help="tables and plots from saved benchmark JSON, without measuring again")
    r.add_argument("files", nargs="*", metavar="FILE", help=f"pyperf JSON written by vverify bench (default {DEFAULT_OUTPUT})")
    r.add_argument("-d", "--output-dir", metavar="DIR", help="where REPORT.md and the plots go (default: beside the first file)")


def _spec_path(s: str) -> Path:
    """A spec file, or a spec in ./specs/ (at any depth) or among the bundled ones, by name."""
    from ..spec.bundled import resolve
    from .main import default_spec_dir

    p = Path(s)
    if p.suffix == ".toml" or "/" in s:
        if not p.is_file():
            raise UsageError(f"{s}: no such spec file")
        return p
    for cand in sorted(default_spec_dir().rglob(f"{s}.toml")):
        return cand
    return resolve(s)


def _output_path(path) -> Path:
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a directory")
    if p.parent != Path("") and not p.parent.is_dir():
        raise UsageError(f"{path}: no such directory '{p.parent}'")
    return p


class Progress:
    """A one-line progress bar on stderr (a line per tenth when stderr is not a terminal)."""

    def __init__(self, stream=None, width=28):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.width = width
        self.t0 = time.perf_counter()
        self.last_tenth = -1

    def __call__(self, done, total, event):
        frac = done / total if total else 1.0
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        status = event.get("status", "")
        text = (f"[{bar}] {done}/{total} {_mmss(elapsed)} elapsed, ~{_mmss(eta)} left  "
                f"{event.get('cell', '')} {'' if status == 'measured' else status}")
        if self.tty:
            self.stream.write("\r" + text[:150].ljust(150))
            self.stream.flush()
        elif int(frac * 10) > self.last_tenth or status == "error":
            self.last_tenth = int(frac * 10)
            print(text, file=self.stream, flush=True)

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _mmss(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s"


def cmd_bench(args, out, argv=None) -> int:
    from ..bench import report as report_mod
    from ..bench.run import BenchError, run
    from ..spec.loader import find_specs
    from ..vmm import TECHNIQUES
    from .main import default_spec_dir

    techniques = args.technique or list(TECHNIQUES)
    for t in techniques:
        if t not in TECHNIQUES:
            raise UsageError(f"no technique '{t}' (have: {', '.join(TECHNIQUES)})")
    specs = [_spec_path(s) for s in args.spec] if args.spec else find_specs([default_spec_dir()])
    if not specs:
        raise UsageError(f"no spec files (*.toml) in {default_spec_dir()}")
    from ..bench.workloads import WORKLOADS

    workloads = args.workload or list(WORKLOADS)
    output = _output_path(args.output)
    words = ["vverify"] + list(argv if argv is not None else sys.argv[1:])
    command = shlex.join(words)
    progress = Progress()
    try:
        outcome = run(specs, techniques, workloads, output, fast=args.fast, command=command, progress=progress)
    except BenchError as e:
        progress.close()
        print_error(e)
        return 1
    progress.close()
    errors = [c for c in outcome.cells if c["status"] == "error"]
    na = sum(1 for c in outcome.cells if c["status"] == "n/a")
    print(f"measured {outcome.measured} cells ({na} not applicable, {len(errors)} failed) "
          f"in {_mmss(outcome.seconds)}; wrote {output}", file=out)
    for c in errors:
        print(one_line(f"  failed: {c['spec']}/{c['technique']}/{c['workload']}: {c['reason']}"), file=out)
    written = report_mod.write_report([output], output.parent)
    print(f"wrote {', '.join(str(p) for p in written)}", file=out)
    return 1 if errors else 0


def cmd_report(args, out) -> int:
    from ..bench import report as report_mod

    files = [Path(f) for f in args.files] or [DEFAULT_OUTPUT]
    for f in files:
        if f.is_dir():
            raise UsageError(f"{f}: is a directory, not a benchmark file")
        if f.exists() and not f.is_file():  # a FIFO or a device: reading it could block
            raise UsageError(f"{f}: not a regular file")
        if not f.is_file():
            raise UsageError(f"{f}: no such file (run 'vverify bench' first)")
    outdir = Path(args.output_dir) if args.output_dir else files[0].parent
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"{outdir}: not a directory")
    try:
        written = report_mod.write_report(files, outdir)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {', '.join(str(p) for p in written)}", file=out)
    return 0
