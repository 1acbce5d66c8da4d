"""Claims are checked against derived verdicts, so editing semantics changes the outcome."""

import json
import re
import subprocess
import sys

from tests.conftest import spec_path
from vverify.check.run import check_spec
from vverify.cli.main import main
from vverify.report.text import claim_failure_text


def mutate(tmp_path, old, new, name="pg74.toml"):
    text = spec_path(name.removesuffix(".toml")).read_text()
    assert old in text
    p = tmp_path / name
    p.write_text(text.replace(old, new, 1))
    return p


LPSW_CHECK = '''semantics = """
supervisor_only()
base = zext(a, 16)'''
LPSW_NO_CHECK = '''semantics = """
base = zext(a, 16)'''


def test_removing_a_privilege_check_fails_the_claim_and_theorem1(tmp_path, capsys):
    p = mutate(tmp_path, LPSW_CHECK, LPSW_NO_CHECK)
    r = check_spec(p, use_cache=False)
    failed = {c.name for c in r.failed_claims}
    assert "lpsw" in failed and "theorem1" in failed
    assert r.theorems["theorem1"].violators == ["lpsw"]
    assert main(["check", str(p)]) == 1
    out = capsys.readouterr().out
    assert "claim 'lpsw': privileged: expected true, derived no" in out
    assert f"{p}:" in out  # points at the claim's line


def test_a_claimed_set_of_violators_must_equal_the_derived_one(tmp_path, capsys):
    """A theorem claim may list its violating instructions; the check compares the sets both ways."""
    text = (spec_path("pg74_rdbase")).read_text().replace('extends = "pg74.toml"',
                                                                 f'extends = "{spec_path("pg74")}"')
    claimed = 'theorem1 = { holds = false, violators = ["rdbase"]'
    assert claimed in text
    p = tmp_path / "pg74_rdbase.toml"
    p.write_text(text.replace(claimed, 'theorem1 = { holds = false, violators = ["getr", "lpsw"]'))
    r = check_spec(p)
    failed = {c.name: c for c in r.failed_claims}
    assert set(failed) == {"theorem1"}
    assert failed["theorem1"].message == ("claimed violators not derived: getr, lpsw; "
                                          "derived violators not claimed: rdbase")
    assert main(["check", str(p)]) == 1
    assert f"{p}:32: claim 'theorem1': claimed violators not derived: getr, lpsw" in capsys.readouterr().out
    detail = claim_failure_text(r, failed["theorem1"])  # what JUnit and SARIF carry
    assert "expected: fails, violated by exactly: getr, lpsw" in detail
    assert "derived:  fails, violated by exactly: rdbase" in detail


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["check", str(spec_path("pg74"))]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[isa\nname = 'x'\n")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vverify: {bad}:1:")


def test_cli_bad_usage_is_exit_2_without_traceback():
    for argv in (["check", "--timeout", "zero"], ["frobnicate"], ["check", "/no/such/dir"], ["explain", str(spec_path("pg74")), "nosuch"]):
        p = subprocess.run([sys.executable, "-m", "vverify", *argv], capture_output=True, text=True)
        assert p.returncode == 2, (argv, p.stderr)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_json_report(capsys):
    assert main(["check", "--json", str(spec_path("pg74"))]) == 0
    data = json.loads(capsys.readouterr().out)
    rep = data["reports"][0]
    assert rep["spec"] == "pg74" and rep["ok"] is True
    assert rep["theorems"]["theorem1"]["status"] == "yes"
    assert "sufficient" in rep["note"]
    by_id = {i["id"]: i for i in rep["instructions"]}
    assert by_id["lpsw"]["privileged"] == "yes"


def test_explain_shows_witness_and_proofs(capsys):
    assert main(["explain", str(spec_path("pg74")), "getr"]) == 0
    out = capsys.readouterr().out
    assert "location [s]" in out and re.search(r"\n      r\[\d\]: native 0x[0-9a-f]+, relocated 0x[0-9a-f]+\n", out)
    assert "unsatisfiable" in out
