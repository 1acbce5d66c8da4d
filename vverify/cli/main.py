"""The ``vverify`` command line: a thin face over :mod:`vverify.check`.

Exit codes of ``check`` (docs/ci.md, "What the exit status means"): 0 when
everything was decided and every claim holds, 1 when a claim is refuted
(or a witness does not replay), 2 on a bad spec or bad usage, 3 when
nothing failed but something is undecided (a solver timeout), unless
``--allow-unknown``.  Several specs: the first of 2, 1, 3 that applies.
Errors are one line on stderr, never a traceback.  Reports written with
``-o`` appear whole or not at all (they are written atomically), so a CI
job never uploads half a file.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from ..errors import SpecError, UsageError, VVerifyError
from .messages import one_line, print_error

EXIT_OK, EXIT_CLAIMS, EXIT_USAGE, EXIT_UNDECIDED = 0, 1, 2, 3
MAX_JOBS = 256  # -j forks this many solver processes at once: a mistyped -j 1000000 must not fork-bomb the machine
# the names of vverify.report.formats.FORMATS, repeated so that `vverify lint` and `--help` do not import z3
FORMATS = ("text", "json", "junit", "sarif", "github")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(EXIT_USAGE, f"vverify: error: {one_line(message)} (see 'vverify --help')\n")


def default_spec_dir() -> Path:
    """``specs/`` in the working directory if there is one (a project's own specs), else the bundled ones."""
    here = Path.cwd() / "specs"
    if here.is_dir():
        return here
    from ..spec.bundled import bundled_dir

    return bundled_dir()


def _spec_paths(args_paths):
    """The spec files named by the arguments: files, directories, or bundled specs' names."""
    from ..spec.bundled import resolve
    from ..spec.loader import find_specs

    paths = [resolve(p) for p in args_paths] or [default_spec_dir()]
    found = find_specs(paths)
    if not found:
        raise UsageError(f"no spec files (*.toml) in {', '.join(map(str, paths))}")
    return found


def _timeout(text) -> int:
    """``--timeout SECONDS`` as z3's milliseconds: finite, 1 ms to 2**32 - 1 ms (see vverify.check.limits)."""
    from ..check.limits import timeout_ms

    try:
        return timeout_ms(text)
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def whole_number(option: str, low: int = 1, high: int | None = None):
    """An argparse type: a whole number from ``low`` to ``high`` (None: no upper bound), named in its errors."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if v < low or (high is not None and v > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{option} takes a whole number {bound}, not {v}")
        return v

    return parse


_TIMEOUT_HELP = ("seconds per solver query, from 0.001 (1 ms) to 4294967.295 (default 20); "
                 "a query that runs out is unknown, never a pass")
_ALLOW_UNKNOWN_HELP = ("exit 0 instead of 3 when nothing failed but some verdict is unknown (a solver timeout): "
                       "you give up the guarantee that a passing run proved every claim and theorem; "
                       "reports still mark what is undecided")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vverify", description="Can this instruction set be virtualized? Popek & Goldberg, decided with z3.",
                epilog="exit status of check and explain: 0 passed (all decided, every claim holds), 1 a claim is "
                       "refuted, 2 bad input or usage, 3 undecided (a solver timeout; --allow-unknown makes it 0). "
                       "See docs/ci.md.")
    from vverify import __version__

    p.add_argument("--version", action="version", version=f"vverify {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="classify every instruction and check the spec's claims",
                       description="Classify every instruction and check the spec's claims. Exit status: 0 all "
                                   "decided and every claim holds, 1 a claim is refuted or a witness does not replay, "
                                   "2 a bad spec or bad usage (a claim that selects no classified unit is a bad spec), "
                                   "3 undecided: a solver timeout left a verdict unknown (see --allow-unknown).")
    c.add_argument("paths", nargs="*", help="spec files, directories or bundled specs' names (default: ./specs/ if "
                                            "there is one, else every bundled spec)")
    c.add_argument("--format", "-f", choices=FORMATS, default="text",
                   help="report format: text (default), json, junit (JUnit XML), sarif (SARIF 2.1.0) "
                        "or github (GitHub Actions annotations)")
    c.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    c.add_argument("-o", "--output", metavar="FILE",
                   help="write the report to FILE instead of stdout: atomically for a file (through a symlink, "
                        "keeping its permissions), in place for a stream such as /dev/stdout or a FIFO")
    c.add_argument("--verbose", "-v", action="store_true",
                   help="list innocuous instructions too, and the solver's seconds per unit and per question")
    c.add_argument("--no-progress", action="store_true",
                   help="no progress bar (one is shown on stderr only when the text report is read on a terminal)")
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write the proof cache")
    c.add_argument("--timeout", type=_timeout, default=20000, metavar="SECONDS", help=_TIMEOUT_HELP)
    c.add_argument("--allow-unknown", action="store_true", help=_ALLOW_UNKNOWN_HELP)
    c.add_argument("-j", "--jobs", type=whole_number("-j", 1, MAX_JOBS), default=None,
                   help=f"solver processes (default: one per usable CPU; at most {MAX_JOBS}); never more than the "
                        "spec has units to classify, nor than 2 per CPU. -j 1 solves in the vverify process itself")

    e = sub.add_parser("explain", help="show the witness or proof behind each verdict of one instruction")
    e.add_argument("spec")
    e.add_argument("instruction", help="an instruction, or INSTR.MEMBER for one variant")
    e.add_argument("--no-cache", action="store_true", help="ignore and do not write the proof cache")
    e.add_argument("--full", action="store_true",
                   help="show every field of a witness's states, not only those its runs read or write, the "
                        "question reads, or that differ")
    e.add_argument("--timeout", type=_timeout, default=20000, metavar="SECONDS", help=_TIMEOUT_HELP)
    e.add_argument("--allow-unknown", action="store_true", help=_ALLOW_UNKNOWN_HELP)
    e.add_argument("--no-progress", action="store_true",
                   help="no progress bar while the spec is checked (one is shown on stderr only on a terminal)")

    lint = sub.add_parser("lint", help="load specs and report errors, without solving")
    lint.add_argument("paths", nargs="*")

    n = sub.add_parser("new", help="write an ISA folder NAME/ to start from: a commented skeleton spec NAME.toml "
                                   "that checks cleanly, its guest boot stub boot.s and a benchmark workload")
    n.add_argument("name", help="the ISA's name (letters, digits, _ . -); the folder is NAME/, the spec NAME/NAME.toml")
    n.add_argument("-o", "--output-dir", metavar="DIR", default=".",
                   help="directory to create the folder NAME/ in (default: here)")

    sc = sub.add_parser("schema", help="print the JSON Schema of spec files (for editors: taplo, Even Better TOML)")
    sc.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")

    ca = sub.add_parser("cache", help="manage the proof cache")
    ca.add_argument("action", choices=["clear", "dir"])

    from .fuzzing import add_parsers

    add_parsers(sub, whole_number)
    from .benching import add_parsers as add_bench_parsers

    add_bench_parsers(sub)
    return p


def _check_output_path(path) -> Path:
    """Fail before solving, not after, when the report could not be written."""
    from ..files import resolve

    target, kind = resolve(path)
    if kind == "dir":
        raise UsageError(f"{path}: is a directory")
    if kind == "new" and not target.parent.is_dir():
        raise UsageError(f"{path}: no such directory '{target.parent}'")
    return Path(path)


def write_output(path, text: str) -> None:
    """Write a report whole or not at all (an old file stays as it was on failure); a stream such as
    /dev/stdout or a FIFO is written in place, never replaced (see vverify.files.write_output)."""
    from ..files import write_output as write

    try:
        write(Path(path), text)
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None


def exit_status(entries, allow_unknown: bool = False) -> int:
    """The gate's verdict on a run: 2 (a spec did not load), else 1 (refuted), else 3 (undecided), else 0.

    An undecided spec (a verdict left unknown by a solver timeout) is not a
    pass: it exits 3 unless the user said ``--allow-unknown``.
    """
    from ..report.formats import BadSpec

    codes = set()
    for e in entries:
        if isinstance(e, BadSpec):
            codes.add(EXIT_USAGE)
        elif e.outcome == "fail":
            codes.add(EXIT_CLAIMS)
        elif e.outcome == "undecided" and not allow_unknown:
            codes.add(EXIT_UNDECIDED)
    return next((c for c in (EXIT_USAGE, EXIT_CLAIMS, EXIT_UNDECIDED) if c in codes), EXIT_OK)


def cmd_check(args, out) -> int:
    from ..check.run import check_spec
    from ..spec.loader import load_spec
    from ..report.formats import BadSpec, render
    from ..report.text import report_text

    from .progress import TerminalBar, wanted

    target = _check_output_path(args.output) if args.output else None
    stream = args.format == "text" and target is None  # people watching a terminal see each spec as it is done
    bar = None
    if not args.no_progress and wanted(args.format, target is not None, out, sys.stderr):
        bar = TerminalBar(sys.stderr)
    entries = []
    for path in _spec_paths(args.paths):
        try:  # a claim that selects nothing is found by the loader, or (a spec built in code) by the check
            r = check_spec(load_spec(path), timeout_ms=args.timeout, use_cache=not args.no_cache, jobs=args.jobs,
                           progress=bar)
        except SpecError as e:
            print_error(e.one_line())
            entries.append(BadSpec.from_error(path, e))
            continue
        entries.append(r)
        if stream:
            print(report_text(r, verbose=args.verbose), file=out)
            print(file=out)
    status = exit_status(entries, args.allow_unknown)
    if not stream:
        text = render(args.format, entries, status=status, verbose=args.verbose, allow_unknown=args.allow_unknown)
        if target is not None:
            write_output(target, text)
        else:
            out.write(text)
    return status


def cmd_explain(args, out) -> int:
    from ..check.run import check_spec
    from ..spec.loader import load_spec
    from ..report.text import explain_text

    from ..spec.bundled import resolve

    spec = load_spec(resolve(args.spec))
    base = args.instruction.partition(".")[0]
    if base not in spec.instructions:
        raise UsageError(f"{args.spec}: no instruction '{base}' (have: {', '.join(spec.instructions)})")
    from .progress import TerminalBar, wanted

    # explain checks the whole spec (its theorems need every unit): minutes, the first time, on a big one
    bar = TerminalBar(sys.stderr) if not args.no_progress and wanted("text", False, out, sys.stderr) else None
    r = check_spec(spec, timeout_ms=args.timeout, use_cache=not args.no_cache, progress=bar)
    text = explain_text(r, args.instruction, full=args.full)
    if not text:
        raise UsageError(f"{args.spec}: no classified unit '{args.instruction}'")
    print(text, file=out)
    return exit_status([r], args.allow_unknown)


def cmd_lint(args, out) -> int:
    from ..spec.loader import load_spec

    status = EXIT_OK
    for path in _spec_paths(args.paths):
        try:
            s = load_spec(path)
            print(one_line(f"{path}: ok ({s.name}: {len(s.instructions)} instructions)"), file=out)
        except SpecError as e:
            print(one_line(e.one_line()), file=out)
            status = EXIT_USAGE
    return status


def cmd_new(args, out) -> int:
    """Write the ISA folder DIR/NAME/ (spec, boot stub, workload), laid out like specs/<isa>/.

    Nothing is written if any of its files exists already: the folder is a
    starting point, and a user's edits are never replaced by it.
    """
    import re

    from .skeleton import isa_folder

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", args.name):
        raise UsageError(f"'{args.name}' is not a spec name (a letter, then letters, digits, '_', '.' or '-')")
    d = Path(args.output_dir)
    folder = d / args.name
    for p in (d, folder):
        if p.exists() and not p.is_dir():
            raise UsageError(f"{p}: not a directory")
    files = {folder / rel: text for rel, text in isa_folder(args.name).items()}
    for path in files:
        if path.exists() or path.is_symlink():  # a dangling link too: writing would create its target
            raise UsageError(f"{path} already exists; not overwriting it")
    for sub in sorted({path.parent for path in files}):  # every folder before any file: no half-written ISA
        try:
            sub.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"{sub}: cannot create: {e.strerror or e}") from None
    for path, text in files.items():
        write_output(path, text)
        print(one_line(f"wrote {path}"), file=out)
    spec = folder / f"{args.name}.toml"
    print(one_line(f"next: edit them, then `vverify lint {spec}`, `vverify check {spec}` "
                   f"and `vverify fuzz {spec} -t trap-and-emulate`"), file=out)
    return EXIT_OK


def cmd_schema(args, out) -> int:
    from importlib import resources

    text = resources.files("vverify.spec").joinpath("spec.schema.json").read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    if args.output:
        write_output(_check_output_path(args.output), text)
    else:
        out.write(text)
    return EXIT_OK


def cmd_cache(args, out) -> int:
    from ..check import cache
    from ..files import cache_dir

    if args.action == "clear":
        n = cache.clear()
        print(f"removed {n} cache entries from {cache_dir()}", file=out)
    else:
        print(cache_dir(), file=out)
    return EXIT_OK


@contextmanager
def _one_line_warnings():
    """vverify's own warnings (a cache entry set aside, say) are one line, like its errors; others
    keep their format."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if str(message).startswith("vverify: "):
            print(str(message), file=file or sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


class Terminated(BaseException):
    """SIGTERM (what CI sends to cancel a job), raised like KeyboardInterrupt is for SIGINT, so that
    everything on the way out runs: the solver pool stops its workers, a report being written is
    removed, and vverify exits 143 instead of dying with its workers orphaned."""


@contextmanager
def _sigterm_raises():
    pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != pid:  # a solver worker, forked before it took SIGTERM's default: just die
            os._exit(128 + signum)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: let the cleanup finish
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # main() called from another thread: signals are not ours to handle
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    with _one_line_warnings(), _sigterm_raises():
        return _run(args, argv)


def _run(args, argv) -> int:
    out = sys.stdout
    try:
        from .benching import cmd_bench, cmd_report
        from .fuzzing import cmd_fuzz, cmd_matrix

        if args.command == "bench":
            return cmd_bench(args, out, argv)
        return {"check": cmd_check, "explain": cmd_explain, "lint": cmd_lint, "new": cmd_new, "schema": cmd_schema,
                "cache": cmd_cache, "fuzz": cmd_fuzz, "matrix": cmd_matrix, "report": cmd_report}[args.command](args, out)
    except SpecError as e:
        print_error(e.one_line())
        return EXIT_USAGE
    except VVerifyError as e:
        print_error(e)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `vverify check | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:  # a file we were told to read or write: still one line, never a traceback
        where = f"{e.filename}: " if e.filename else ""
        print_error(f"{where}{e.strerror or e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return 128 + signal.SIGINT  # 130, as a shell reports a process SIGINT stopped
    except Terminated:
        print_error("terminated")
        return 128 + signal.SIGTERM  # 143


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
