"""An unknown verdict (a solver timeout) is never a pass: `vverify check` exits 3 unless --allow-unknown.

The spec is the skeleton `vverify new` writes (it solves in a fraction of a
second); the solver's answers about `ld` are made unknown in-process, which
is what a timeout leaves, so the tests do not depend on how fast z3 is.
"""

import json
import xml.etree.ElementTree as ET

import pytest

from vverify.check.run import check_spec
from vverify.cli.main import main
from vverify.cli.skeleton import skeleton


def write_skeleton(tmp_path, claims=True, edit=None):
    text = skeleton("sk")
    if not claims:
        text = text[:text.index("\n[claims]\n")]
    if edit is not None:
        text = edit(text)
    p = tmp_path / "sk.toml"
    p.write_text(text)
    return p


@pytest.fixture
def ld_times_out(monkeypatch):
    """Every question about ld's sensitivity comes back unknown, as after a solver timeout."""
    import vverify.check.run as run

    real = run.ask_all

    def ask_all(spec, unit, timeout_ms):
        answers = real(spec, unit, timeout_ms)
        if unit.id == "ld":
            for a in answers:
                if a.question in ("control", "mode", "location"):
                    a.status, a.reason, a.witness = "unknown", "timeout (simulated)", None
        return answers

    monkeypatch.setattr(run, "ask_all", ask_all)


def check(capsys, *argv):
    code = main(["check", "--no-cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_all_theorems_unknown_without_claims_exits_3(tmp_path, capsys, ld_times_out):
    p = write_skeleton(tmp_path, claims=False)
    r = check_spec(p, use_cache=False)
    assert {k: t.status for k, t in r.theorems.items()} == {"theorem1": "unknown", "theorem2": "unknown",
                                                            "theorem3": "unknown"}
    assert (r.decided, r.outcome, r.ok) == (False, "undecided", False)
    assert r.undecided["units"] == ["ld"] and r.undecided["claims"] == []
    code, out, _ = check(capsys, str(p))
    assert code == 3
    assert "UNDECIDED (solver timeout; not a pass" in out


def test_allow_unknown_is_the_explicit_opt_out(tmp_path, capsys, ld_times_out):
    p = write_skeleton(tmp_path, claims=False)
    code, out, _ = check(capsys, "--allow-unknown", str(p))
    assert code == 0
    assert "UNDECIDED" in out  # the report still says what was not proved


def test_an_undecided_claim_exits_3_and_a_refuted_one_wins(tmp_path, capsys, ld_times_out):
    p = write_skeleton(tmp_path)
    r = check_spec(p, use_cache=False)
    ld = next(c for c in r.claims if c.name == "ld")
    assert (ld.ok, ld.status) == (False, "undecided")
    code, out, _ = check(capsys, str(p))
    assert code == 3 and "UNDECIDED" in out and "claim 'ld': sensitive: expected false, derived unknown" in out
    # a refuted claim is a failure (exit 1) whatever else is undecided, with or without --allow-unknown
    wrong = write_skeleton(tmp_path, edit=lambda t: t.replace('svc = {{ privileged = false'.replace("{{", "{"),
                                                               "svc = { privileged = true", 1))
    assert check(capsys, str(wrong))[0] == 1
    assert check(capsys, "--allow-unknown", str(wrong))[0] == 1


def test_every_format_agrees_with_the_exit_status(tmp_path, capsys, ld_times_out):
    p = write_skeleton(tmp_path)
    code, out, _ = check(capsys, "--format", "json", str(p))
    data = json.loads(out)
    assert code == data["exit"] == 3 and data["allow_unknown"] is False
    rep = data["reports"][0]
    assert (rep["ok"], rep["outcome"]) == (False, "undecided")
    assert set(rep["undecided"]["claims"]) == {"theorem1", "theorem2", "theorem3", "ld"}
    assert rep["undecided"]["units"] == ["ld"]

    code, out, _ = check(capsys, "--format", "junit", str(p))
    suite = ET.fromstring(out).find("testsuite")
    ld_claim = suite.find("testcase[@classname='sk.claim'][@name='ld']")
    assert code == 3 and ld_claim.find("failure").get("type") == "claim-undecided"
    assert suite.find("testcase[@classname='sk.claim'][@name='theorem1']/failure").get("type") == "theorem-undecided"
    assert suite.find("testcase[@classname='sk.instr'][@name='ld']/failure").get("type") == "unknown-verdict"
    code, out, _ = check(capsys, "--format", "junit", "--allow-unknown", str(p))
    root = ET.fromstring(out)
    assert code == 0 and root.get("failures") == "0" and int(root.get("skipped")) == 5  # 4 claims + the ld unit
    assert root.find("testsuite/testcase[@name='ld']/skipped") is not None

    code, out, _ = check(capsys, "--format", "sarif", str(p))
    run = json.loads(out)["runs"][0]
    assert code == 3 and run["invocations"][0]["exitCode"] == 3
    assert {r["level"] for r in run["results"]} == {"error"}
    assert run["properties"]["specs"][0]["outcome"] == "undecided"
    code, out, _ = check(capsys, "--format", "sarif", "--allow-unknown", str(p))
    assert code == 0 and {r["level"] for r in json.loads(out)["runs"][0]["results"]} == {"warning"}

    code, out, _ = check(capsys, "--format", "github", str(p))
    assert code == 3 and any(line.startswith("::error ") and "unknown verdict for ld" in line for line in out.splitlines())
    assert "UNDECIDED (solver timeouts): not a pass" in out
    code, out, _ = check(capsys, "--format", "github", "--allow-unknown", str(p))
    assert code == 0 and not any(line.startswith("::error ") for line in out.splitlines())


def test_explain_exits_3_on_an_undecided_verdict(tmp_path, capsys, ld_times_out):
    p = write_skeleton(tmp_path)
    assert main(["explain", "--no-cache", str(p), "ld"]) == 3
    assert main(["explain", "--no-cache", "--allow-unknown", str(p), "ld"]) == 0
