"""Running vverify on hostile input, and what it must do with it, for every campaign in tests/hostile.

Two ways to run the command line:

* :func:`run_inprocess` calls ``vverify.cli.main.main(argv)`` with stdout
  and stderr captured and Python's warning filters as a fresh interpreter
  has them (so a warning that ``python -m vverify`` would print shows up on
  the captured stderr, as it would for a user).  Fast: most inputs go this
  way.  A SIGALRM after :data:`HANG_SECONDS` turns a hang into a failure.
* :func:`run_subprocess` runs ``python -m vverify`` with PYTHONPATH set to
  this checkout and a temporary cache, config and home: what the
  interpreter itself prints (a traceback from a thread, a warning at exit)
  is seen too, and the hang guard is the subprocess timeout.

Whatever the input, :func:`assert_well_behaved` requires an exit status of
0, 1, 2 or 3 (docs/ci.md, "What the exit status means"), no traceback,
every line on stderr being one of vverify's own (``vverify: ...``) and an
error being exactly one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import traceback
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
HANG_SECONDS = 60  # the only timed bound: an input that takes longer is a hang
EXITS = (0, 1, 2, 3)
TRACEBACK = "Traceback (most recent call last)"
# specs whose check solves in about a second (never x86_32 or riscv32 cold: minutes)
SMALL_SPECS = ("pg74", "pg74_rdbase", "pg74_vt", "pdp10")


class Hang(BaseException):
    """Raised by the hang guard's SIGALRM: not an Exception, so nothing in vverify swallows it."""


@dataclass
class Result:
    argv: list
    code: object
    out: str
    err: str
    exc: str | None = None  # the traceback of an exception main() let escape, or "hang"
    how: str = "in-process"
    files: dict = field(default_factory=dict)

    @property
    def err_lines(self) -> list:
        return self.err.splitlines()

    def __str__(self):
        return (f"{self.how} vverify {self.argv!r}\n  exit {self.code!r}\n  stdout: {self.out[-2000:]!r}\n"
                f"  stderr: {self.err[-3000:]!r}" + (f"\n  raised:\n{self.exc}" if self.exc else ""))


def _show_warning(message, category, filename, lineno, file=None, line=None):
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def fresh_warnings():
    """Warning filters and display as in a fresh ``python -m vverify`` (no -W, no PYTHONWARNINGS).

    Resetting the filters also forgets which warnings were already shown,
    so each run shows its warnings once, as a new process would.
    """
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__", append=True)
        for cat in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=cat, append=True)
        warnings.showwarning = _show_warning
        yield


@contextlib.contextmanager
def hang_guard(seconds=HANG_SECONDS):
    def alarm(signum, frame):
        raise Hang(f"more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_inprocess(argv, cwd=None) -> Result:
    """``vverify ARGV`` through ``main()`` in this process (in ``cwd`` if given)."""
    from vverify.cli.main import main

    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    code, exc = None, None
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with hang_guard(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), fresh_warnings():
            try:
                code = main(list(argv))
            except SystemExit as e:  # argparse: --help, --version, usage errors
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except KeyboardInterrupt:
                raise
            except Hang as e:
                exc = f"hang: {e}"
            except BaseException:  # noqa: BLE001 - exactly what must never happen
                exc = traceback.format_exc()
    finally:
        os.chdir(here)
    return Result(argv, code, out.getvalue(), err.getvalue(), exc)


def subprocess_env(tmp: Path) -> dict:
    """The environment of a ``python -m vverify`` child: this checkout, and caches, config and home in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VVERIFY_", "PYTEST", "HYPOTHESIS"))}
    env.update(PYTHONPATH=str(ROOT), VVERIFY_CACHE_DIR=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "config"),
               HOME=str(tmp / "home"), PYTHONIOENCODING="utf-8")
    core = os.environ.get("VVERIFY_CORE_CACHE_DIR")
    if core:
        env["VVERIFY_CORE_CACHE_DIR"] = core
    env.pop("PYTHONWARNINGS", None)
    return env


def run_subprocess(argv, cwd: Path, env: dict) -> Result:
    """``python -m vverify ARGV`` in ``cwd``; more than :data:`HANG_SECONDS` is a hang."""
    argv = [str(a) for a in argv]
    try:
        p = subprocess.run([sys.executable, "-m", "vverify", *argv], cwd=cwd, env=env, capture_output=True,
                           timeout=HANG_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return Result(argv, None, (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace"),
                      f"hang: more than {HANG_SECONDS} s", how="subprocess")
    return Result(argv, p.returncode, p.stdout.decode("utf-8", errors="replace"),
                  p.stderr.decode("utf-8", errors="replace"), how="subprocess")


# ------------------------------------------------------------------------------------- properties

def assert_well_behaved(r: Result, *, progress_ok: bool = False) -> None:
    """What every run must do, whatever its input.

    * it returns (no exception escapes ``main()``, no hang) with 0, 1, 2 or 3;
    * no traceback anywhere in its output;
    * every line on stderr is vverify's own, ``vverify: ...`` (a warning or
      an error, each on one line), except the progress lines of ``fuzz``
      and ``matrix`` (``progress_ok``) when they did not fail on their input;
    * a usage error from the argument parser is exactly one line.
    """
    assert r.exc is None, f"raised or hung:\n{r}"
    assert r.code in EXITS, f"exit status outside 0..3:\n{r}"
    assert TRACEBACK not in r.err and TRACEBACK not in r.out, f"a traceback:\n{r}"
    lines = r.err_lines
    if not (progress_ok and r.code != 2):
        stray = [x for x in lines if not x.startswith("vverify: ")]
        assert not stray, f"stderr lines that are not vverify's: {stray[:3]!r}\n{r}"
    if any(x.startswith("vverify: error: ") for x in lines):
        assert len(lines) == 1, f"a usage error in more than one line:\n{r}"


def assert_error_is_one_line(r: Result) -> None:
    """An input that is an error (exit 2) says so in exactly one line on stderr."""
    if r.code == 2:
        assert len(r.err_lines) == 1, f"exit 2 with {len(r.err_lines)} lines on stderr (expected one):\n{r}"


def n_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def assert_lint_result(r: Result, path: Path, candidates=()) -> None:
    """``vverify lint PATH`` on one file: exit 0 or 2, one line on stdout about that file, nothing on
    stderr (lint reports a bad spec on stdout); an error's line lies inside the file it names.

    (Both the ok line and an error line escape what the path holds, so a name with a newline in it
    still makes one line.)"""
    from vverify.errors import printable

    assert_well_behaved(r)
    assert r.code in (0, 2), f"lint exits 0 or 2:\n{r}"
    if r.err:  # only a usage error (the path itself unusable) may go to stderr, as one line
        assert r.code == 2 and len(r.err_lines) == 1 and not r.out, f"lint wrote to stderr:\n{r}"
        return
    if r.code == 0:  # the ok line names the file, escaped like an error's
        assert r.out.startswith(f"{printable(path)}: ok (") and r.out.endswith(" instructions)\n") \
            and r.out.count(": ok (") == 1 and r.out.count("\n") == 1, f"odd ok line:\n{r}"
        return
    lines = r.out.splitlines()
    assert len(lines) == 1, f"lint of one file printed {len(lines)} lines:\n{r}"
    line = lines[0]
    # path:LINE: ...  for the spec or a file it extends: the line must be inside that file
    for f in sorted({Path(path), *map(Path, candidates)}, key=lambda p: -len(str(p))):
        head = printable(str(f)) + ":"
        if line.startswith(head):
            num = line[len(head):].split(":", 1)[0]
            if num.isdigit():
                try:
                    text = f.read_bytes().decode("utf-8", errors="replace") if f.is_file() else ""
                except OSError:
                    text = ""
                assert int(num) <= max(n_lines(text), 0) or (int(num) == 0), \
                    f"error at line {num}, but {f} has {n_lines(text)} lines:\n{r}"
            return
    raise AssertionError(f"lint's error does not start with the file it is about:\n{r}")


def assert_report_well_formed(r: Result, fmt: str, text: str | None = None) -> None:
    """A report in ``fmt`` (written to stdout, or the text of the -o file) parses, and says the exit status."""
    text = r.out if text is None else text
    if fmt in ("json", "sarif"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise AssertionError(f"the {fmt} report is not JSON ({e}):\n{r}") from None
        code = data["exit"] if fmt == "json" else data["runs"][0]["invocations"][0]["exitCode"]
        assert code == r.code, f"the {fmt} report says exit {code}:\n{r}"
    elif fmt == "junit":
        try:
            ET.fromstring(text)
        except ET.ParseError as e:
            raise AssertionError(f"the JUnit report is not XML ({e}):\n{r}") from None
    elif fmt == "github":
        bad = [x for x in text.splitlines() if x and not x.startswith("::") and not x.startswith("vverify")]
        assert not bad, f"github format lines that are not workflow commands: {bad[:3]!r}\n{r}"


# ------------------------------------------------------------------------------ campaign bookkeeping

def _event(text: str) -> None:
    """A Hypothesis event (shown with --hypothesis-show-statistics), when inside a Hypothesis test."""
    from hypothesis import event
    from hypothesis.errors import InvalidArgument

    try:
        event(text)
    except InvalidArgument:  # a plain (parametrized) test
        pass


class Campaign:
    """Counts the inputs one campaign test tried, the failures and the exit statuses seen."""

    def __init__(self, group: str):
        self.group = group
        self.inputs = 0
        self.failures = 0
        self.exits: dict = {}

    @contextlib.contextmanager
    def input(self):
        self.inputs += 1
        try:
            yield
        except BaseException:
            self.failures += 1
            raise

    def known(self, bug: str) -> None:
        """An input set aside because it would only find a known bug again (see tests/hostile/known_bugs.py)."""
        self.exits["known bug"] = self.exits.get("known bug", 0) + 1
        _event(f"known bug: {bug}")

    def saw(self, r: Result) -> Result:
        key = str(r.code) if r.exc is None else "raised"
        self.exits[key] = self.exits.get(key, 0) + 1
        _event(f"exit {key}")
        return r

    def tally(self) -> dict:
        return {"group": self.group, "inputs": self.inputs, "failures": self.failures, "exits": dict(self.exits)}


def hostile_settings(examples: int | None, default: int) -> settings:
    """The default run: the project's ``ci`` profile (derandomized) with ``default`` examples; the long
    run (``examples`` given): that many, randomized."""
    ci = settings.get_profile("ci")
    # `vverify fuzz` and `matrix` search with Hypothesis themselves: run from a campaign test, that is a
    # @given inside ours, which is what they are
    quiet = list(ci.suppress_health_check) + [HealthCheck.nested_given]
    if examples is None:
        return settings(ci, max_examples=default, suppress_health_check=quiet)
    return settings(ci, max_examples=examples, derandomize=False, database=None, suppress_health_check=quiet)
