"""The ``vverify`` command line: a thin face over :mod:`vverify.check`.

Exit codes: 0 when every claim holds, 1 when a claim fails (or a witness
does not replay), 2 on a bad spec or bad usage.  Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import SpecError, UsageError, VVerifyError

EXIT_OK, EXIT_CLAIMS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(EXIT_USAGE, f"vverify: error: {message} (see 'vverify --help')\n")


def default_spec_dir() -> Path:
    here = Path.cwd() / "specs"
    if here.is_dir():
        return here
    import vverify

    return Path(vverify.__file__).resolve().parent.parent / "specs"


def _spec_paths(args_paths):
    from ..spec.loader import find_specs

    paths = list(args_paths) or [default_spec_dir()]
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"{p}: no such file or directory")
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
    c.add_argument("paths", nargs="*", help="spec files or directories (default: the bundled specs/)")
    c.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    c.add_argument("--verbose", "-v", action="store_true", help="list innocuous instructions too")
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write the proof cache")
    c.add_argument("--timeout", type=_positive_seconds, default=20.0, help="seconds per solver query (default 20)")
    c.add_argument("-j", "--jobs", type=_jobs, default=1, help="solver processes (default 1)")

    e = sub.add_parser("explain", help="show the witness or proof behind each verdict of one instruction")
    e.add_argument("spec")
    e.add_argument("instruction", help="an instruction, or INSTR.MEMBER for one variant")
    e.add_argument("--no-cache", action="store_true")
    e.add_argument("--timeout", type=_positive_seconds, default=20.0)

    lint = sub.add_parser("lint", help="load specs and report errors, without solving")
    lint.add_argument("paths", nargs="*")

    ca = sub.add_parser("cache", help="manage the proof cache")
    ca.add_argument("action", choices=["clear", "dir"])
    return p


def cmd_check(args, out) -> int:
    from ..check.run import check_spec
    from ..spec.loader import load_spec
    from .render import report_text

    status = EXIT_OK
    reports = []
    for path in _spec_paths(args.paths):
        try:
            spec = load_spec(path)
        except SpecError as e:
            print(f"vverify: {e.one_line()}", file=sys.stderr)
            reports.append({"path": str(path), "error": e.one_line()})
            status = EXIT_USAGE
            continue
        r = check_spec(spec, timeout_ms=int(args.timeout * 1000), use_cache=not args.no_cache, jobs=args.jobs)
        if not r.ok and status == EXIT_OK:
            status = EXIT_CLAIMS
        if args.json:
            reports.append(r.to_dict())
        else:
            print(report_text(r, verbose=args.verbose), file=out)
            print(file=out)
    if args.json:
        json.dump({"reports": reports, "exit": status}, out, indent=2)
        print(file=out)
    return status


def cmd_explain(args, out) -> int:
    from ..check.run import check_spec
    from ..spec.loader import load_spec
    from .render import explain_text

    spec = load_spec(args.spec)
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


def cmd_cache(args, out) -> int:
    from ..check import cache

    if args.action == "clear":
        n = cache.clear()
        print(f"removed {n} cache entries from {cache.cache_dir()}", file=out)
    else:
        print(cache.cache_dir(), file=out)
    return EXIT_OK


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        return {"check": cmd_check, "explain": cmd_explain, "lint": cmd_lint, "cache": cmd_cache}[args.command](args, out)
    except SpecError as e:
        print(f"vverify: {e.one_line()}", file=sys.stderr)
        return EXIT_USAGE
    except VVerifyError as e:
        print(f"vverify: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vverify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `vverify check | head`: the reader left, nothing is wrong
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
