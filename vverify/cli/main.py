"""The ``vverify`` command line: a thin face over :mod:`vverify.check`.

Exit codes: 0 when every claim holds, 1 when a claim fails (or a witness
does not replay), 2 on a bad spec or bad usage.  Errors are one line on
stderr, never a traceback.  Reports written with ``-o`` appear whole or not
at all (they are written atomically), so a CI job never uploads half a file.
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

EXIT_OK, EXIT_CLAIMS, EXIT_USAGE = 0, 1, 2
# the names of vverify.cli.formats.FORMATS, repeated so that `vverify lint` and `--help` do not import z3
FORMATS = ("text", "json", "junit", "sarif", "github")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(EXIT_USAGE, f"vverify: error: {message} (see 'vverify --help')\n")


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


def _positive_seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not v > 0:
        raise argparse.ArgumentTypeError("the timeout must be positive")
    return v


def _jobs(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError("-j needs at least 1")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vverify", description="Can this instruction set be virtualized? Popek & Goldberg, decided with z3.")
    from vverify import __version__

    p.add_argument("--version", action="version", version=f"vverify {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="classify every instruction and check the spec's claims")
    c.add_argument("paths", nargs="*", help="spec files, directories or bundled specs' names (default: ./specs/ if "
                                            "there is one, else every bundled spec)")
    c.add_argument("--format", "-f", choices=FORMATS, default="text",
                   help="report format: text (default), json, junit (JUnit XML), sarif (SARIF 2.1.0) "
                        "or github (GitHub Actions annotations)")
    c.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    c.add_argument("-o", "--output", metavar="FILE",
                   help="write the report to FILE instead of stdout: atomically for a file (through a symlink, "
                        "keeping its permissions), in place for a stream such as /dev/stdout or a FIFO")
    c.add_argument("--verbose", "-v", action="store_true", help="list innocuous instructions too")
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write the proof cache")
    c.add_argument("--timeout", type=_positive_seconds, default=20.0, help="seconds per solver query (default 20)")
    c.add_argument("-j", "--jobs", type=_jobs, default=None,
                   help="solver processes (default: one per usable CPU); never more than the spec has units "
                        "to classify, nor than 2 per CPU. -j 1 solves in the vverify process itself")

    e = sub.add_parser("explain", help="show the witness or proof behind each verdict of one instruction")
    e.add_argument("spec")
    e.add_argument("instruction", help="an instruction, or INSTR.MEMBER for one variant")
    e.add_argument("--no-cache", action="store_true")
    e.add_argument("--timeout", type=_positive_seconds, default=20.0)

    lint = sub.add_parser("lint", help="load specs and report errors, without solving")
    lint.add_argument("paths", nargs="*")

    n = sub.add_parser("new", help="write a commented skeleton spec NAME.toml to start from")
    n.add_argument("name", help="the ISA's name (letters, digits, _ . -); the file is NAME.toml")
    n.add_argument("-o", "--output-dir", metavar="DIR", default=".", help="directory to write it in (default: here)")

    sc = sub.add_parser("schema", help="print the JSON Schema of spec files (for editors: taplo, Even Better TOML)")
    sc.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")

    ca = sub.add_parser("cache", help="manage the proof cache")
    ca.add_argument("action", choices=["clear", "dir"])

    from .fuzzing import add_parsers

    add_parsers(sub, _jobs)
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


def cmd_check(args, out) -> int:
    from ..check.run import check_spec
    from ..spec.loader import load_spec
    from .formats import BadSpec, render
    from .render import report_text

    target = _check_output_path(args.output) if args.output else None
    stream = args.format == "text" and target is None  # people watching a terminal see each spec as it is done
    status = EXIT_OK
    entries = []
    for path in _spec_paths(args.paths):
        try:
            spec = load_spec(path)
        except SpecError as e:
            print(f"vverify: {e.one_line()}", file=sys.stderr)
            entries.append(BadSpec.from_error(path, e))
            status = EXIT_USAGE
            continue
        r = check_spec(spec, timeout_ms=int(args.timeout * 1000), use_cache=not args.no_cache, jobs=args.jobs)
        if not r.ok and status == EXIT_OK:
            status = EXIT_CLAIMS
        entries.append(r)
        if stream:
            print(report_text(r, verbose=args.verbose), file=out)
            print(file=out)
    if not stream:
        text = render(args.format, entries, status=status, verbose=args.verbose)
        if target is not None:
            write_output(target, text)
        else:
            out.write(text)
    return status


def cmd_explain(args, out) -> int:
    from ..check.run import check_spec
    from ..spec.loader import load_spec
    from .render import explain_text

    from ..spec.bundled import resolve

    spec = load_spec(resolve(args.spec))
    base = args.instruction.partition(".")[0]
    if base not in spec.instructions:
        raise UsageError(f"{args.spec}: no instruction '{base}' (have: {', '.join(spec.instructions)})")
    r = check_spec(spec, timeout_ms=int(args.timeout * 1000), use_cache=not args.no_cache)
    text = explain_text(r, args.instruction)
    if not text:
        raise UsageError(f"{args.spec}: no classified unit '{args.instruction}'")
    print(text, file=out)
    return EXIT_OK if r.ok else EXIT_CLAIMS


def cmd_lint(args, out) -> int:
    from ..spec.loader import load_spec

    status = EXIT_OK
    for path in _spec_paths(args.paths):
        try:
            s = load_spec(path)
            print(f"{path}: ok ({s.name}: {len(s.instructions)} instructions)", file=out)
        except SpecError as e:
            print(e.one_line(), file=out)
            status = EXIT_USAGE
    return status


def cmd_new(args, out) -> int:
    import re

    from .skeleton import skeleton

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", args.name):
        raise UsageError(f"'{args.name}' is not a spec name (a letter, then letters, digits, '_', '.' or '-')")
    d = Path(args.output_dir)
    if d.exists() and not d.is_dir():
        raise UsageError(f"{d}: not a directory")
    path = d / f"{args.name}.toml"
    if path.exists():
        raise UsageError(f"{path} already exists; not overwriting it")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{d}: cannot create: {e.strerror or e}") from None
    write_output(path, skeleton(args.name))
    print(f"wrote {path}", file=out)
    print(f"next: edit it, then `vverify lint {path}` and `vverify check {path}`", file=out)
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
        print(f"vverify: {e.one_line()}", file=sys.stderr)
        return EXIT_USAGE
    except VVerifyError as e:
        print(f"vverify: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `vverify check | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:  # a file we were told to read or write: still one line, never a traceback
        where = f"{e.filename}: " if e.filename else ""
        print(f"vverify: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vverify: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT  # 130, as a shell reports a process SIGINT stopped
    except Terminated:
        print("vverify: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM  # 143


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
