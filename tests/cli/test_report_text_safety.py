"""Whatever a spec's strings or paths hold, the reports stay well formed and the errors stay one line.

TOML escapes put any character in a string: a NUL or an ESC in a citation
or a key lands in the reports.  XML 1.0 forbids them (a JUnit file with one
is unreadable to every consumer), a GitHub annotation must stay one line of
text, and an error message must stay one line whatever the path it names.
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from vverify.cli.main import main
from vverify.cli.skeleton import skeleton

BAD_CHARS = "\x00\x01\x1b\x0b\x0c\ufffe\u2028"


@pytest.fixture
def odd_project(tmp_path, monkeypatch):
    """A directory whose name holds a control character, with a refuted claim citing a reference whose
    text holds NUL, ESC and other characters XML forbids, and a spec that does not load because of a
    key holding a NUL."""
    d = tmp_path / "odd\x01dir"
    d.mkdir()
    odd = "NUL\\u0000 ESC\\u001b VT\\u000b FFFE\\ufffe LS\\u2028 "  # TOML escapes, decoded by the loader
    text = skeleton("sk").replace('cite = "G. J. Popek', f'cite = "{odd}G. J. Popek', 1)
    text = text.replace("svc = { privileged = false", "svc = { privileged = true", 1)  # refuted: svc is unprivileged
    (d / "sk.toml").write_text(text)
    (d / "bad.toml").write_text('"key\\u0000with\\u001bcontrols" = 1\n')
    monkeypatch.chdir(tmp_path)
    return d


def run_check(capsys, *argv):
    code = main(["check", "--no-cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_junit_is_well_formed_xml(odd_project, capsys):
    code, out, err = run_check(capsys, "--format", "junit", str(odd_project))
    assert code == 2
    root = ET.fromstring(out)  # raised "not well-formed (invalid token)" on the NUL
    failure = root.find("testsuite/testcase[@name='svc']/failure")
    assert "NUL\\x00 ESC\\x1b VT\\x0b FFFE\\ufffe" in failure.text
    error = root.find("testsuite/testcase[@name='load']/error")
    assert "key\\x00with\\x1bcontrols" in error.get("message")
    assert "odd\\x01dir" in {c.get("file") for c in root.iter("testcase")}.pop()
    assert not any(ch in out for ch in "\x00\x01\x1b\x0b\ufffe")


def test_github_annotations_stay_one_line_of_text(odd_project, capsys):
    code, out, err = run_check(capsys, "--format", "github", str(odd_project))
    assert code == 2
    lines = out.split("\n")[:-1]
    assert lines == out.splitlines()  # no VT, FF, U+2028... splitting a line for anyone who reads it so
    assert any(line.startswith("::error ") and "NUL\\x00 ESC\\x1b" in line for line in lines)
    assert not any(ch in out for ch in BAD_CHARS.replace("\ufffe", ""))  # (U+FFFE breaks no line, only XML)


def test_json_and_sarif_escape_them(odd_project, capsys):
    for fmt in ("json", "sarif"):
        code, out, _ = run_check(capsys, "--format", fmt, str(odd_project))
        assert code == 2 and "\x00" not in out and "\x1b" not in out
        json.loads(out)


@pytest.mark.parametrize("argv", [
    ["check", "no\nsuch\x1b.toml"],  # a usage error naming the path
    ["new", "two\nlines"],  # a usage error quoting the name
    ["check", "--timeout", "1\n2"],  # argparse's error quoting the argument
    ["report", "no\nsuch.json"],
    ["fuzz", "-t", "hybrid", "no\u2028such.toml"],
])
def test_every_error_is_one_line(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and len(err.splitlines()) == 1 and err.startswith("vverify: "), repr(err)


def test_a_spec_error_in_a_path_with_a_newline_is_one_line(tmp_path):
    d = tmp_path / "two\nlines"
    d.mkdir()
    (d / "bad.toml").write_text("[isa\n")
    for argv in (["check", str(d / "bad.toml")], ["lint", str(d / "bad.toml")]):
        p = subprocess.run([sys.executable, "-m", "vverify", *argv], capture_output=True, text=True)
        assert p.returncode == 2
        text = p.stderr if argv[0] == "check" else p.stdout
        assert len(text.splitlines()) == 1 and "two\\nlines" in text and "Traceback" not in p.stderr, (p.stdout, p.stderr)
