"""`-o FILE`: a file is replaced atomically, keeping its permissions and any symlink to it; a stream
(/dev/stdout, a FIFO) is written to, never replaced by a file."""

import os
import shutil
import stat
import subprocess
import sys

import pytest

from tests.conftest import ROOT, spec_path
from vverify.cli.main import main


@pytest.fixture
def work(tmp_path, monkeypatch):
    d = tmp_path / "work"
    d.mkdir()
    shutil.copy(spec_path("pdp10"), d)
    monkeypatch.chdir(d)
    return d


def check_to(target, fmt="github"):
    return main(["check", "--format", fmt, "-o", str(target), "pdp10.toml"])


def test_a_symlink_is_written_through_not_replaced(work):
    real = work / "reports" / "latest.txt"
    real.parent.mkdir()
    real.write_text("old report\n")
    os.chmod(real, 0o640)
    link = work / "report.txt"
    link.symlink_to(real)
    assert check_to(link) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "::notice" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["latest.txt"]  # no temporary file left


def test_a_dangling_symlink_creates_its_target(work):
    link = work / "report.txt"
    link.symlink_to("made.txt")
    assert check_to(link) == 0
    assert link.is_symlink() and "::notice" in (work / "made.txt").read_text()


def test_a_replaced_file_keeps_its_permissions_and_a_new_one_follows_the_umask(work):
    kept = work / "kept.txt"
    kept.write_text("old\n")
    os.chmod(kept, 0o664)
    assert check_to(kept) == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o664 and "::notice" in kept.read_text()
    old = os.umask(0o022)
    try:
        assert check_to(work / "new.txt") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((work / "new.txt").stat().st_mode) == 0o644  # as `> new.txt` would make it


def test_a_fifo_is_written_to_not_replaced(work):
    fifo = work / "reports.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there: opening to write does not wait
    try:
        assert check_to(fifo) == 0  # the github report of pdp10 is a few lines: it fits the pipe's buffer
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert "::notice" in received


def test_a_link_to_standard_output_writes_to_standard_output(work):
    """As `-o /dev/stdout` (a link to /proc/self/fd/1); a link of the test's own keeps the test from
    replacing the real /dev/stdout should this ever regress while the tests run as root."""
    link = work / "stdout"
    link.symlink_to("/proc/self/fd/1")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = subprocess.run([sys.executable, "-m", "vverify", "check", "--format", "github", "-o", str(link), "pdp10.toml"],
                       capture_output=True, text=True, cwd=work, env=env)
    assert p.returncode == 0, p.stderr
    assert "::notice" in p.stdout
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def test_dev_stdout_is_recognised_as_a_stream():
    from vverify.files import resolve

    assert resolve("/dev/stdout")[1] == "special"
    assert resolve("/dev/null")[1] == "special"
