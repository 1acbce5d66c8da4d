"""`vverify check` tells how far it is (issue 18, deliver 4): a progress bar on a terminal (units decided
of all, the time so far, the units being solved), never in a pipe or a machine format; units from the
proof cache counted as cached.

The terminal is a real pseudo-terminal (os.openpty) given to a `python -m vverify` child as its stdout
and stderr, so the test sees exactly the bytes a person's terminal would.
"""

import io
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import spec_path
from vverify.check.progress import Progress
from vverify.check.run import check_spec
from vverify.cli.main import main
from vverify.cli.progress import TerminalBar, clock, wanted
from vverify.spec.units import units_of
from vverify.spec.loader import load_spec

BAR = re.compile(r"\rpg74  \[[#.]{20}\]  (\d+)/(\d+) units(?: \((\d+) cached\))?  (\d+:\d\d)(?:  solving: ([^\x1b]*))?\x1b\[K")


@pytest.fixture
def pg74(tmp_path):
    p = tmp_path / "pg74.toml"
    p.write_text(spec_path("pg74").read_text())
    return p


def run_vverify(argv, terminal: bool):
    """Run `python -m vverify ARGV` with stdout and stderr on a pseudo-terminal (``terminal``) or on
    pipes; returns (exit status, what the terminal showed or stdout, stderr)."""
    env = dict(os.environ, TERM="xterm")
    cmd = [sys.executable, "-m", "vverify", *map(str, argv)]
    if not terminal:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        return p.returncode, p.stdout, p.stderr
    leader, follower = os.openpty()
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: every copy of the follower is closed, the child is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return child.wait(timeout=300), shown.decode(), ""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_bar_shows_on_a_terminal_as_units_are_decided(pg74, jobs):
    total = len(units_of(load_spec(pg74)))
    code, shown, _ = run_vverify(["check", "--no-cache", "-j", jobs, pg74], terminal=True)
    assert code == 0
    frames = BAR.findall(shown)
    assert frames, shown
    done = [int(d) for d, n, *_ in frames]
    assert {int(n) for _, n, *_ in frames} == {total}
    assert done[0] == 0 and done[-1] == total and done == sorted(done)  # from none to all, never backwards
    assert set(range(total + 1)) <= set(done)  # each decision is drawn
    solving = {u for *_, s in frames if s for u in s.split(", ")}
    assert solving and solving <= {u.id for u in units_of(load_spec(pg74))}  # the units in flight, by name
    assert all(len(s.split(", ")) <= int(jobs) for *_, s in frames if s)  # no more than the workers
    last = shown.rindex("\x1b[K")
    assert shown[last - 1] == "\r" and not BAR.search(shown[last - 1:])  # the bar's line is erased at the end...
    report = shown[last:]
    assert "pg74 — " in report and "Claims: " in report  # ...and the report follows it


def test_explain_shows_the_bar_while_it_checks_the_spec(pg74):
    total = len(units_of(load_spec(pg74)))
    code, shown, _ = run_vverify(["explain", "--no-cache", pg74, "getr"], terminal=True)
    assert code == 0
    done = [int(d) for d, *_ in BAR.findall(shown)]
    assert done and done[0] == 0 and done[-1] == total
    assert "pg74 getr: privileged" in shown[shown.rindex("\x1b[K"):]
    code, shown, _ = run_vverify(["explain", "--no-cache", "--no-progress", pg74, "getr"], terminal=True)
    assert code == 0 and "\x1b[K" not in shown


def test_a_cached_run_shows_its_units_as_cached(pg74):
    assert main(["check", "--no-progress", str(pg74)]) == 0  # fills the proof cache
    total = len(units_of(load_spec(pg74)))
    code, shown, _ = run_vverify(["check", pg74], terminal=True)
    assert code == 0
    frames = BAR.findall(shown)
    assert frames and all((int(d), int(n), int(c or 0)) == (total, total, total) for d, n, c, *_ in frames)


@pytest.mark.parametrize("argv", [["check"], ["check", "--json"], ["check", "-f", "github"]])
def test_no_bar_in_a_pipe(pg74, argv):
    code, out, err = run_vverify([*argv, "--no-cache", pg74], terminal=False)
    assert code == 0
    assert "\r" not in out + err and "\x1b" not in out + err and " units " not in err


@pytest.mark.parametrize("argv", [["check", "--json"], ["check", "--no-progress"]])
def test_no_bar_on_a_terminal_for_json_or_when_turned_off(pg74, argv):
    code, shown, _ = run_vverify([*argv, "--no-cache", pg74], terminal=True)
    assert code == 0
    assert not BAR.search(shown) and "\x1b[K" not in shown


def test_the_bar_line(monkeypatch):
    t = [100.0]
    out = io.StringIO()
    bar = TerminalBar(out, interval=3600, now=lambda: t[0])
    bar.begin("pg74", 14, 2)
    t[0] += 63
    bar.running(["ldm", "stm"])
    assert bar.line() == "pg74  [##..................]  2/14 units (2 cached)  1:03  solving: ldm, stm"
    bar.decided("ldm", 1.5)
    assert bar.line() == "pg74  [####................]  3/14 units (2 cached)  1:03  solving: stm"
    monkeypatch.setattr(bar, "columns", lambda: 30)
    bar.draw()
    drawn = out.getvalue().rsplit("\r", 1)[1]
    assert drawn == "pg74  [####..............." + "..." + "\x1b[K" and len(drawn) - 3 == 29  # cut to the width
    bar.end()
    assert out.getvalue().endswith("\r\x1b[K")
    assert (clock(59.9), clock(61), clock(3725)) == ("0:59", "1:01", "1:02:05")


def test_the_bar_is_wanted_only_for_text_read_on_a_terminal():
    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    tty, pipe = Stream(True), Stream(False)
    assert wanted("text", False, tty, tty, {})
    assert wanted("text", True, pipe, tty, {})  # -o FILE: the report is not on the terminal, the bar is
    assert not wanted("text", False, pipe, tty, {})  # `vverify check | less`
    assert not wanted("text", False, tty, pipe, {})
    assert not wanted("json", False, tty, tty, {}) and not wanted("sarif", True, pipe, tty, {})
    assert not wanted("text", False, tty, tty, {"TERM": "dumb"})


class Recorder(Progress):
    def __init__(self):
        self.events = []

    def begin(self, spec, total, cached):
        self.events.append(("begin", spec, total, cached))

    def running(self, units):
        self.events.append(("running", tuple(units)))

    def decided(self, unit, seconds):
        self.events.append(("decided", unit, seconds))

    def end(self):
        self.events.append(("end",))


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_check_reports_each_unit_as_it_is_decided(pg74, jobs):
    rec = Recorder()
    r = check_spec(pg74, jobs=jobs, progress=rec)
    ids = [u.id for u in r.units]
    ev = rec.events
    assert ev[0] == ("begin", "pg74", len(ids), 0) and ev[-1] == ("end",)
    decided = [e[1] for e in ev if e[0] == "decided"]
    assert sorted(decided) == sorted(ids)  # each unit once
    for e in ev:
        if e[0] == "decided":  # with its solver time: the sum of its questions'
            assert e[2] == pytest.approx(r.solver_seconds(r.unit(e[1])))
    for i, e in enumerate(ev):
        if e[0] == "decided":  # reported running before it was decided
            assert any(x[0] == "running" and e[1] in x[1] for x in ev[:i])
        if e[0] == "running":
            assert 1 <= len(e[1]) <= jobs or (not e[1] and i == len(ev) - 2)
    rec2 = Recorder()
    check_spec(pg74, jobs=jobs, progress=rec2)  # all from the cache: nothing to solve
    assert rec2.events == [("begin", "pg74", len(ids), len(ids)), ("end",)]
