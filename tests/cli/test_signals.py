"""Cancelling `vverify check -j 2` (CI sends SIGTERM; a terminal, SIGINT) stops its solver workers,
leaves no orphan process and no report file, and exits 128 + the signal's number."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import ROOT, spec_path

SLOW_SPEC = "riscv32.toml"  # ~300 units: solving it cold takes far longer than the test


def wait_for_workers(proc, n=2, deadline=120.0):
    """The pids of ``proc``'s first ``n`` children, once they exist (polled: no timing is asserted)."""
    parent = psutil.Process(proc.pid)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        kids = parent.children()
        if len(kids) >= n:
            return [k.pid for k in kids]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail(f"no {n} workers after {deadline} s")


def alive(pid) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes(pids) -> list:
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(psutil.Process(pid))
    return out


def kill_leftovers(proc, workers):
    """Should the check ever leave its workers again, do not leave them to the next test."""
    for p in processes(workers):
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_workers_and_writes_nothing(tmp_path, signum, status):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(spec_path(SLOW_SPEC.removesuffix(".toml")), work)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "vverify", "check", "-j", "2", "--no-cache", "--format", "json",
                             "-o", "out.json", SLOW_SPEC], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []
    try:
        workers = wait_for_workers(proc)
        proc.send_signal(signum)  # to vverify alone, as `kill` (or a CI runner) sends it
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == status, err
        assert err.strip().splitlines()[-1] in ("vverify: terminated", "vverify: interrupted")
        assert "Traceback" not in err
        assert not [pid for pid in workers if alive(pid)]
        assert sorted(p.name for p in work.iterdir()) == [SLOW_SPEC]  # no report, whole or partial
    finally:
        kill_leftovers(proc, workers)


def test_workers_die_with_a_killed_check(tmp_path):
    """SIGKILL cannot be handled: the workers' parent-death signal is what stops them then."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    shutil.copy(spec_path(SLOW_SPEC.removesuffix(".toml")), tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "vverify", "check", "-j", "2", "--no-cache", SLOW_SPEC],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        workers = wait_for_workers(proc)
        proc.kill()
        proc.wait()
        _, left = psutil.wait_procs(processes(workers), timeout=60)  # a deadline, not a measurement
        assert not [p.pid for p in left if alive(p.pid)]
    finally:
        kill_leftovers(proc, workers)
