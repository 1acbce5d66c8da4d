"""Hostile command lines: every `vverify` subcommand ends well on any argv.

Part of the standing hostile-input campaign (tests/hostile).  Hypothesis
builds argv for each subcommand (check, explain, lint, new, schema, cache,
fuzz, matrix, bench, report) from hostile values: unknown options, options
without their value, ``--timeout`` in {0, -1, 1e-9, 0.0009, inf, nan,
1e309, '', 'abc', ...}, ``-j`` huge or negative, ``-o`` at a directory, a
missing directory, /dev/null, a symlink, a dangling one, a loop;
``-n``/``--budget``/``--seed`` at their extremes; paths with newlines, RTL
overrides, 300-character names; FIFOs, /dev/zero, the names of bundled specs
and of missing ones; then shuffles options, drops a token, duplicates one,
joins an option to its value with ``=``.

Each argv runs in-process in a fresh copy of a small working directory
(``specs/`` holds only pg74, so ``check`` without paths stays quick), with
the test's own ``VVERIFY_CACHE_DIR``, ``XDG_CONFIG_HOME`` and ``HOME``:
nothing outside the test's tmp dir is touched.  It must end with 0, 1, 2 or 3,
no traceback, stderr only vverify's lines, a usage error in one line, and a
report (``--format json|sarif|junit``, on stdout or in the ``-o`` file) that
parses and states the exit status.

No generated argv may start a long job: one that would run ``fuzz`` on more
than pg74 with ``-n`` <= 2 and ``--budget`` <= 1000, ``matrix`` on more than
pg74 with ``-n 1``, or ``bench`` at all (only its parse-time failures and
``--help`` run) gets an unknown option appended, so it is still tried, and
rejected at parse time.  (``bench``'s measuring function is also replaced by
one that fails the test, should the gate ever let one through.)

A handful of argv also run through ``python -m vverify`` in a subprocess.

Default run: 158 in-process argv (14 for each subcommand, 18 without one or
with a wrong one) and 9 through the interpreter, derandomized; about 15 s.
Long run: ``--hostile-examples N`` (tests marked ``slow``).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from tests.hostile.harness import (ROOT, SPECS, assert_report_well_formed, assert_well_behaved, hostile_settings,
                                   run_inprocess, run_subprocess, subprocess_env)

FORMATS = ["text", "json", "junit", "sarif", "github", "xml", "", "JSON"]
TIMEOUTS = ["0", "-1", "1e-9", "0.0009", "inf", "nan", "1e309", "", "abc", "0.001", "1", "4294967.295",
            "4294967.296", "-0", "1e3", " 1", "0x10", "1_0", "NaN", "-inf", "\u0661", "20"]
JOBS = ["0", "-1", "1", "2", "256", "257", "1000000", str(10 ** 30), "", "abc", "1.5", "+1", "1_0", "\u0663", "-0"]
COUNTS = ["0", "-1", "1", "2", str(10 ** 30), "", "x", "1e3", "\u0661"]
BUDGETS = ["0", "1", "400", "10000000", "10000001", "-5", str(2 ** 64), ""]
SEEDS = ["-1", "0", str(2 ** 64), str(-10 ** 30), "x", "1" * 5000, "", "1.5"]
SPEC_PATHS = ["pg74.toml", "bad.toml", "fails.toml", "fails.toml", "specs", ".", "adir", "fifo", "missing.toml", "nodir/x.toml", "a\nb.toml",
              "link.toml", "loop.toml", "dangling.toml", "zero.toml", "/dev/null", "/dev/zero", "-", "", " ", "x" * 300,
              "\u202espec.toml", "pg74", "pdp10", "pg74_rdbase", "pg74_vt", "nosuch", "pg74.TOML", "bench.json",
              "specs/pg74.toml", "\x1b[31m.toml"]
LINT_ONLY = ["x86_32", "riscv32", "x86_32_vtx"]  # bundled specs too slow to check cold: lint only
OUTPUTS = ["out.json", "adir", "nodir/out.json", "/dev/null", "link-out", "dangling-out", "loop.toml", "a\nb.out",
           "", ".", "x" * 300, "pg74.toml", "specs", "out-target.json"]
DIRS = ["adir", "newdir", "newdir/deeper", ".", "pg74.toml", "/dev/null", "loop.toml", "dangling-out", "a\nb", "",
        "x" * 300, "results"]
INSTRUCTIONS = ["ld", "lpsw", "ld.", "ld.x", "", "nosuch", "\n", "getr.0", ".", "LD", "x" * 1000, "ld.\u202e", "-ld"]
NAMES = ["sk", "a", "1abc", "", "a b", "a/b", "../x", "a\nb", "x" * 300, "\u00e9", "pg74", ".hidden", "a.b-c_d",
         "-x", "--", "a\x1b[0m"]
REPORT_FILES = ["bench.json", "bench-bad.json", "bench-empty.json", "bench-list.json", "adir", "fifo",
                "missing.json", "/dev/null", "zero.toml", "pg74.toml", "a\nb.toml", "bench-huge.json"]
UNKNOWN = ["--frobnicate", "-Z", "--", "-", "--=", "---", "--timeout=", "--format=", "-j=", "--no-cache=1", "--jobs",
           "-vv", "--verbose=yes", "--help", "-h", "--version", "\n", "--\u202e", "-o", "--output", "-n"]
TECHNIQUES = ["trap-and-emulate", "hybrid", "interpretation", "binary-translation", "paravirtualization",
              "hardware-assisted", "native", "", "nosuch", "TRAP-AND-EMULATE"]
WORKLOADS = ["syscall", "compute", "nosuch", ""]
POISON = "--hostile-gate-refuses-this"  # an unknown option: the argv is rejected at parse time


# values a user would pass: half the time an option takes one of these, so that argv get past the parser
VALID = {id(TIMEOUTS): ["0.001", "1", "20", "4294967.295", "1e3"], id(JOBS): ["1", "2", "256"],
         id(FORMATS): ["text", "json", "junit", "sarif", "github"], id(COUNTS): ["1", "2"], id(BUDGETS): ["1", "400"],
         id(SEEDS): ["0", "-1", str(2 ** 64)], id(OUTPUTS): ["out.json", "link-out", "/dev/null", "a\nb.out", "out-target.json"],
         id(DIRS): ["adir", "newdir", "newdir/deeper", ".", "results"], id(TECHNIQUES): TECHNIQUES[:6],
         id(WORKLOADS): ["syscall", "compute"]}


def _opt(flag, values):
    pool = st.sampled_from(values)
    if id(values) in VALID:
        pool = st.one_of(st.sampled_from(VALID[id(values)]), pool)
    return pool.map(lambda v: [flag, v])


def _flag(flag):
    return st.just([flag])


COMMANDS = {
    "check": ([_opt("--format", FORMATS), _opt("-f", FORMATS), _flag("--json"), _opt("-o", OUTPUTS),
               _opt("--output", OUTPUTS), _flag("-v"), _flag("--no-cache"), _opt("--timeout", TIMEOUTS),
               _flag("--allow-unknown"), _opt("-j", JOBS), _opt("--jobs", JOBS), _flag("--no-progress")],
              st.lists(st.sampled_from(SPEC_PATHS), max_size=2)),
    "explain": ([_flag("--no-cache"), _opt("--timeout", TIMEOUTS), _flag("--allow-unknown"), _flag("--full"),
                 _flag("--no-progress")],
                st.tuples(st.sampled_from(SPEC_PATHS), st.sampled_from(INSTRUCTIONS)).map(list)
                | st.lists(st.sampled_from(SPEC_PATHS + INSTRUCTIONS), max_size=3)),
    "lint": ([], st.lists(st.sampled_from(SPEC_PATHS + LINT_ONLY), max_size=3)),
    "new": ([_opt("-o", DIRS), _opt("--output-dir", DIRS)], st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)),
    "schema": ([_opt("-o", OUTPUTS), _opt("--output", OUTPUTS)], st.lists(st.sampled_from(["x", "pg74.toml"]), max_size=1)),
    "cache": ([], st.lists(st.sampled_from(["clear", "dir", "", "purge", "CLEAR", "clear\n", "dir"]), max_size=2)),
    "fuzz": ([_opt("--technique", TECHNIQUES), _opt("-t", TECHNIQUES), _opt("-n", COUNTS), _opt("--examples", COUNTS),
              _opt("--seed", SEEDS), _opt("--budget", BUDGETS), _flag("--database")],
             st.lists(st.sampled_from(["pg74.toml", "pg74", "specs/pg74.toml", "bad.toml", "missing.toml", "adir",
                                       "fifo", "pdp10", "x86_32", "zero.toml", "a\nb.toml"]), max_size=2)),
    "matrix": ([_opt("-n", COUNTS), _opt("--examples", COUNTS), _opt("--seed", SEEDS), _opt("-o", DIRS),
                _opt("--output-dir", DIRS)],
               st.lists(st.sampled_from(["pg74.toml", "specs", "bad.toml", "missing.toml", "adir", "fifo",
                                         "x86_32", "zero.toml"]), max_size=2)),
    "bench": ([_flag("--fast"), _opt("--spec", SPEC_PATHS), _opt("-s", SPEC_PATHS), _opt("-t", TECHNIQUES),
               _opt("--technique", TECHNIQUES), _opt("-w", WORKLOADS), _opt("--workload", WORKLOADS),
               _opt("-o", OUTPUTS), _flag("--help")], st.just([])),
    "report": ([_opt("-d", DIRS), _opt("--output-dir", DIRS)], st.lists(st.sampled_from(REPORT_FILES), max_size=2)),
}


@st.composite
def argv_for(draw, command: str) -> list:
    options, positionals = COMMANDS[command]
    pieces = [draw(o) for o in options if draw(st.integers(0, 3)) == 0] if options else []
    pieces += [[p] for p in draw(positionals)]
    pieces = draw(st.permutations(pieces)) if pieces else []
    argv = [command] + [tok for piece in pieces for tok in piece]
    for _ in range(draw(st.integers(0, 2))):
        edit = draw(st.sampled_from(["unknown", "drop", "duplicate", "join", "none", "none", "none", "none"]))
        if edit == "unknown":
            argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(UNKNOWN)))
        elif edit == "drop" and len(argv) > 1:
            del argv[draw(st.integers(1, len(argv) - 1))]
        elif edit == "duplicate" and len(argv) > 1:
            i = draw(st.integers(1, len(argv) - 1))
            argv.insert(i, argv[i])
        elif edit == "join" and len(argv) > 2:
            i = draw(st.integers(1, len(argv) - 2))
            if argv[i].startswith("-"):
                argv[i:i + 2] = [argv[i] + "=" + argv[i + 1]]
    return argv


GLOBAL = [[], ["--version"], ["--help"], ["-h"], ["frobnicate"], ["-x"], ["--"], ["check", "--help"], [""], ["\n"],
          ["--version", "check"], ["CHECK"], ["chec"],
          # and a few that get far: a refuted claim, a timeout of 1 ms, a report through a link
          ["check", "-j", "1", "fails.toml"], ["check", "--timeout", "0.001", "-j", "1", "pg74.toml", "fails.toml"],
          ["explain", "fails.toml", "lpsw"], ["check", "--format", "sarif", "-o", "link-out", "fails.toml"],
          ["check", "--format", "junit", "--timeout", "0.001", "--allow-unknown", "a\nb.toml"]]


def hostile_argv():
    return st.one_of(st.sampled_from(GLOBAL).map(list), st.sampled_from(sorted(COMMANDS)).flatmap(argv_for))


# -------------------------------------------------------------------------------- the long-job gate

_QUICK_FUZZ = {"pg74.toml", "pg74", "specs/pg74.toml"}
_QUICK_MATRIX = {"pg74.toml", "specs", "bad.toml", "missing.toml", "adir", "fifo", "zero.toml"}


def _parses(argv):
    """vverify's own parser on ``argv``: the namespace, or None when it exits (an error, --help)."""
    from vverify.cli.main import build_parser

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return build_parser().parse_args(argv)
        except SystemExit:
            return None


def gate(argv: list) -> list:
    """``argv``, or ``argv`` plus an unknown option when it would start a long job (see the module's doc)."""
    args = _parses(argv)
    if args is None:
        return argv
    long = False
    if args.command == "bench":
        long = True
    elif args.command == "fuzz":
        long = args.spec not in _QUICK_FUZZ or args.examples > 2 or args.budget > 1000
    elif args.command == "matrix":
        long = args.examples > 1 or not set(args.paths) <= _QUICK_MATRIX
    return argv + [POISON] if long else argv


# ------------------------------------------------------------------------------------ the sandbox

@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A small working directory: pg74 (and its guest library) at the top and in specs/, a broken spec, one
    whose claims fail (lpsw unprivileged),
    odd names, links of every kind, and benchmark files for ``report``."""
    t = tmp_path_factory.mktemp("cli-template")
    pg74 = SPECS / "pg74"
    (t / "specs").mkdir()
    for d in (t, t / "specs"):
        shutil.copy(pg74 / "pg74.toml", d / "pg74.toml")
        shutil.copy(pg74 / "boot.s", d / "boot.s")
        shutil.copytree(pg74 / "bench", d / "bench")
    text = (pg74 / "pg74.toml").read_text(encoding="utf-8")
    (t / "bad.toml").write_text(text.replace("count = 4", "count = -4", 1), encoding="utf-8")
    (t / "a\nb.toml").write_text(text, encoding="utf-8")
    lpsw = 'semantics = """\nsupervisor_only()\nbase = zext(a, 16)'
    (t / "fails.toml").write_text(text.replace(lpsw, 'semantics = """\nbase = zext(a, 16)', 1), encoding="utf-8")
    (t / "adir").mkdir()
    os.symlink("pg74.toml", t / "link.toml")
    os.symlink("loop.toml", t / "loop.toml")
    os.symlink("nowhere/x.toml", t / "dangling.toml")
    os.symlink("/dev/zero", t / "zero.toml")
    os.symlink("out-target.json", t / "link-out")
    os.symlink("nodir/x.json", t / "dangling-out")
    bench = (ROOT / "tests" / "bench" / "data" / "small.json").read_bytes()
    (t / "bench.json").write_bytes(bench)
    (t / "bench-bad.json").write_bytes(bench[: len(bench) // 2])
    (t / "bench-empty.json").write_text("{}")
    (t / "bench-list.json").write_text("[]")
    (t / "bench-huge.json").write_text('{"version": "1.0", "benchmarks": [' + "[" * 50_000 + "]" * 50_000 + "]}")
    return t


_serial = itertools.count()


def sandbox(template: Path, base: Path) -> Path:
    d = base / f"cwd{next(_serial)}"
    shutil.copytree(template, d, symlinks=True)
    os.mkfifo(d / "fifo")  # made here: copytree would block opening a FIFO (never an -o target: that waits for a reader)
    return d


@pytest.fixture
def no_bench(monkeypatch):
    import vverify.bench.run as bench_run

    def refuse(*a, **k):
        raise AssertionError("the campaign's gate let `vverify bench` start measuring")

    monkeypatch.setattr(bench_run, "run", refuse)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


# ---------------------------------------------------------------------------------------- checks

def check_cli_result(r, argv, cwd: Path):
    command = argv[0] if argv else ""
    assert_well_behaved(r, progress_ok=command in ("fuzz", "matrix"))
    if r.code == 2:
        assert r.err or (command == "lint" and r.out), f"exit 2 without a word:\n{r}"
        if command not in ("check", "lint"):  # those report one line per bad spec
            assert len(r.err_lines) == 1, f"an error in {len(r.err_lines)} lines:\n{r}"
    args = _parses(argv)
    if args is None or r.code == 2:
        return
    fmt = getattr(args, "format", None)
    if command == "check" and fmt in ("json", "sarif", "junit"):
        out = getattr(args, "output", None)
        if out is None:
            assert_report_well_formed(r, fmt)
        elif out in ("out.json", "link-out", "out-target.json"):
            written = cwd / ("out-target.json" if out == "link-out" else out)
            assert written.is_file(), f"no report in {written}:\n{r}"
            assert_report_well_formed(r, fmt, written.read_text(encoding="utf-8"))
            if out == "link-out":
                assert (cwd / "link-out").is_symlink(), f"-o replaced the symlink instead of writing through it:\n{r}"


PER_COMMAND = 14  # default run: 14 argv for each of the 10 subcommands and for argv without one


@pytest.mark.parametrize("command", sorted(COMMANDS) + ["(none)"])
def test_hostile_argv(command, template, tmp_path, examples, campaign, no_bench, home):
    """Each subcommand (and argv that name none, or a wrong one), hostile argv, in-process."""
    c = campaign("cli-argv")
    argvs = argv_for(command) if command in COMMANDS else st.sampled_from(GLOBAL).map(list)

    @hostile_settings(examples, default=PER_COMMAND if command in COMMANDS else len(GLOBAL))
    @given(argv=argvs)
    def run(argv):
        argv = gate(argv)
        with c.input():
            cwd = sandbox(template, tmp_path / "cwd")
            note(f"vverify {argv!r} in {cwd}")
            r = c.saw(run_inprocess(argv, cwd=cwd))
            check_cli_result(r, argv, cwd)
            shutil.rmtree(cwd, ignore_errors=True)

    run()


# ------------------------------------------------------------------------------------ subprocess

FIXED = [
    ["check", "--timeout", "nan", "-j", "-1", "-o", "adir", "pg74.toml"],
    ["check", "--timeout", "1", "-j", "1", "a\nb.toml", "bad.toml"], ["lint", "fifo", "zero.toml", "loop.toml"],
    ["explain", "pg74.toml", "ld\n"], ["fuzz", "pg74", "-t", "hybrid", "-n", str(10 ** 30), "--budget", "0"],
    ["report", "bench-bad.json"],
]


@pytest.mark.parametrize("argv", FIXED, ids=lambda a: " ".join(a).replace("\n", "\\n") or "no-args")
def test_hostile_argv_through_the_interpreter(argv, template, tmp_path, campaign):
    """The hostile argv of issue 13, through ``python -m vverify``: what the interpreter prints counts too."""
    c = campaign("cli-subprocess")
    with c.input():
        argv = gate(argv)
        cwd = sandbox(template, tmp_path)
        r = c.saw(run_subprocess(argv, cwd, subprocess_env(tmp_path)))
        check_cli_result(r, argv, cwd)


def test_drawn_argv_through_the_interpreter(template, tmp_path, examples, campaign):
    c = campaign("cli-subprocess")
    env = subprocess_env(tmp_path)

    @hostile_settings(None if examples is None else max(1, examples // 20), default=3)
    @given(argv=hostile_argv())
    def run(argv):
        with c.input():
            argv = gate(argv)
            cwd = sandbox(template, tmp_path / "cwd")
            note(f"vverify {argv!r} in {cwd}")
            r = c.saw(run_subprocess(argv, cwd, env))
            check_cli_result(r, argv, cwd)

    run()
