"""`vverify check --format text|json|junit|sarif|github` and `-o FILE`.

The findings are made deterministic by mutating pg74 (lpsw loses its
privilege check) and, where unknown verdicts and backend disagreements are
needed, by patching the solver's answers and the witness replay in-process.
"""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import spec_path
from vverify.check.replay import ReplayError
from vverify.report import formats
from vverify.cli.main import FORMATS, main
from vverify.spec.loader import load_spec

DATA = Path(__file__).parent / "data"
LPSW_CHECK = 'semantics = """\nsupervisor_only()\nbase = zext(a, 16)'


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory with specs/ holding pg74 (mutated: lpsw unprivileged), pdp10 and a bad spec."""
    d = tmp_path / "work" / "specs"  # (tmp_path also holds the test's proof cache)
    d.mkdir(parents=True)
    for n in ("pg74", "pdp10"):
        shutil.copy(spec_path(n), d)
    text = (d / "pg74.toml").read_text()
    (d / "pg74.toml").write_text(text.replace(LPSW_CHECK, 'semantics = """\nbase = zext(a, 16)', 1))
    (d / "bad.toml").write_text('[isa]\nname = "bad"\n\n[state]\npc = "wide"\n')
    monkeypatch.chdir(d.parent)
    return d.parent


@pytest.fixture
def flaky_backends(monkeypatch):
    """Simulate a solver timeout on pg74's ld (mode question) and a non-replaying witness for getr."""
    import vverify.check.run as run

    real_ask, real_replay = run.ask_all, run.replay

    def ask_all(spec, unit, timeout_ms):
        answers = real_ask(spec, unit, timeout_ms)
        if spec.name == "pg74" and unit.id == "ld":
            a = next(a for a in answers if a.question == "mode")
            a.status, a.reason = "unknown", "timeout (simulated)"
        return answers

    def replay(spec, instruction, witness):
        if spec.name == "pg74" and instruction == "getr":
            raise ReplayError("simulated disagreement")
        return real_replay(spec, instruction, witness)

    monkeypatch.setattr(run, "ask_all", ask_all)
    monkeypatch.setattr(run, "replay", replay)


def run_check(capsys, *argv):
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def lines_of(spec_path):
    s = load_spec(spec_path)
    return ({n: c.line for n, c in {**s.theorem_claims, **s.instruction_claims}.items()},
            {n: i.line for n, i in s.instructions.items()})


def test_format_names_agree():
    assert FORMATS == formats.FORMATS  # main repeats them to keep `vverify --help` free of z3


def test_json_alias_and_text(project, capsys):
    code, out, err = run_check(capsys, "--json", "specs/pg74.toml")
    assert code == 1
    alias = json.loads(out)
    code, out, _ = run_check(capsys, "--format", "json", "specs/pg74.toml")
    data = json.loads(out)
    assert data["exit"] == alias["exit"] == 1
    assert data["reports"][0]["spec"] == "pg74" and data["reports"][0]["ok"] is False
    code, out, _ = run_check(capsys, "--format", "text", "specs/pg74.toml")
    assert code == 1 and "Claims: 4/8 confirmed" in out


def test_junit(project, capsys):
    code, out, err = run_check(capsys, "--format", "junit", "specs")
    assert code == 2  # the bad spec; its error still goes to stderr, one line
    assert err.count("\n") == 1 and "specs/bad.toml:5" in err
    root = ET.fromstring(out)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"pg74", "pdp10", "specs/bad.toml"}
    claims, instrs = lines_of(project / "specs/pg74.toml")
    pg = suites["pg74"]
    cases = {(c.get("classname"), c.get("name")): c for c in pg.findall("testcase")}
    assert {n for k, n in cases if k == "pg74.claim"} == set(claims)
    assert {n for k, n in cases if k == "pg74.instr"} == set(instrs)  # one unit per instruction in pg74
    assert pg.get("tests") == str(len(claims) + len(instrs)) and pg.get("failures") == "4"
    lpsw = cases[("pg74.claim", "lpsw")]
    assert lpsw.get("file") == "specs/pg74.toml" and lpsw.get("line") == str(claims["lpsw"])
    f = lpsw.find("failure")
    assert f.get("message") == "privileged: expected true, derived no" and f.get("type") == "claim-failed"
    assert "runs_in_user [u]" in f.text and "operands: a=" in f.text
    assert cases[("pg74.claim", "theorem1")].find("failure").get("type") == "theorem-failed"
    assert suites["pdp10"].get("failures") == "0"
    bad = suites["specs/bad.toml"].find("testcase/error")
    assert bad is not None and "specs/bad.toml:5" in bad.get("message")
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))


def test_sarif_validates_against_the_schema(project, capsys, flaky_backends):
    code, out, _ = run_check(capsys, "--format", "sarif", "specs")
    assert code == 2
    log = json.loads(out)
    schema = json.loads((DATA / "sarif-2.1.0-rtm.4.json").read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "vverify"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert {"claim-failed", "theorem-failed", "backend-disagreement", "unknown-verdict"} <= set(rule_ids)
    claims, instrs = lines_of(project / "specs/pg74.toml")
    got = set()
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        got.add((res["ruleId"], res["level"], loc["artifactLocation"]["uri"], loc.get("region", {}).get("startLine")))
        assert res["message"]["text"]
    pg = "specs/pg74.toml"
    assert got == {
        # with getr's witness rejected and ld's mode question unanswered:
        ("claim-failed", "error", pg, claims["lpsw"]),  # the mutation
        ("claim-failed", "error", pg, claims["getr"]),  # all of getr's verdicts are unknown
        ("claim-failed", "error", pg, claims["ld"]),  # ld's sensitivity is unknown
        ("theorem-failed", "error", pg, claims["theorem1"]),
        ("theorem-failed", "error", pg, claims["theorem2"]),
        ("theorem-failed", "error", pg, claims["theorem3"]),
        ("backend-disagreement", "error", pg, instrs["getr"]),
        ("unknown-verdict", "error", pg, instrs["ld"]),  # it fails the gate (exit 3), so an error, not a warning
        ("spec-error", "error", "specs/bad.toml", 5),
    }
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert "simulated disagreement" in by_rule["backend-disagreement"]["message"]["text"]
    assert "timeout (simulated)" in by_rule["unknown-verdict"]["message"]["text"]
    lpsw = next(r for r in run["results"] if r["locations"][0]["physicalLocation"]["region"]["startLine"] == claims["lpsw"])
    assert "privileged: expected true, derived no" in lpsw["message"]["text"]
    assert "state: pc=" in lpsw["message"]["text"]  # the witness


def test_sarif_of_clean_specs_has_no_results(project, capsys):
    code, out, _ = run_check(capsys, "--format", "sarif", "specs/pdp10.toml")
    assert code == 0
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads((DATA / "sarif-2.1.0-rtm.4.json").read_text())).validate(log)
    assert log["runs"][0]["results"] == []


def test_github_annotations(project, capsys, flaky_backends):
    code, out, _ = run_check(capsys, "--format", "github", "specs")
    assert code == 2
    lines = out.splitlines()
    claims, instrs = lines_of(project / "specs/pg74.toml")
    assert any(line.startswith(f"::error file=specs/pg74.toml,line={claims['lpsw']},title=pg74%3A claim lpsw does not hold::"
                               "claim 'lpsw': privileged: expected true, derived no%0A") for line in lines)
    assert any(line.startswith(f"::error file=specs/pg74.toml,line={instrs['getr']},title=pg74%3A backend disagreement")
               for line in lines)
    assert any(line.startswith(f"::error file=specs/pg74.toml,line={instrs['ld']},title=pg74%3A unknown verdict for ld::")
               for line in lines)
    assert any(line.startswith("::error file=specs/bad.toml,line=5,") for line in lines)
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(notices) == 2  # one per spec that loaded
    assert "::pdp10: 12/12 claims confirmed; Theorem 1 fails, Theorem 3 holds, Theorem 2 fails" in "".join(notices)
    for line in lines:  # every annotation is one line, and a message never breaks out of it
        assert line.startswith(("::error ", "::warning ", "::notice ")) and "\n" not in line


def test_github_escaping():
    assert formats._prop("a:b,c%\nd") == "a%3Ab%2Cc%25%0Ad"
    assert formats._data("50% of x\r\ny: z") == "50%25 of x%0D%0Ay: z"


# ------------------------------------------------------------------ -o FILE


def test_output_file_instead_of_stdout(project, capsys):
    for fmt in ("text", "json", "junit", "sarif", "github"):
        code, out, _ = run_check(capsys, "--format", fmt, "-o", f"report.{fmt}", "specs/pg74.toml")
        assert code == 1 and out == ""
        assert (project / f"report.{fmt}").stat().st_size > 0
    json.loads((project / "report.json").read_text())
    ET.parse(project / "report.junit")
    assert "Claims: 4/8 confirmed" in (project / "report.text").read_text()


def test_a_failed_write_leaves_the_old_file_whole(project, capsys, monkeypatch):
    target = project / "report.sarif"
    target.write_text("the previous report\n")
    real_replace = os.replace

    def full_disk(src, dst):  # the report was written to a temporary file; putting it in place fails
        if Path(dst) == target:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    code, out, err = run_check(capsys, "--format", "sarif", "-o", str(target), "specs/pg74.toml")
    monkeypatch.setattr(os, "replace", real_replace)
    assert code == 2
    assert err.strip().splitlines() == [f"vverify: {target}: cannot write: No space left on device"]
    assert target.read_text() == "the previous report\n"
    assert sorted(p.name for p in project.iterdir()) == ["report.sarif", "specs"]  # no temporary file left


def test_an_interrupted_check_writes_no_file(project, capsys, monkeypatch):
    import vverify.check.run as run

    real = run.check_spec
    seen = []

    def interrupted(spec, **kw):  # the second spec is interrupted half-way through the run
        seen.append(spec.name)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(spec, **kw)

    monkeypatch.setattr(run, "check_spec", interrupted)
    code, out, err = run_check(capsys, "--format", "junit", "-o", "report.xml", "specs/pdp10.toml", "specs/pg74.toml")
    assert code == 130 and seen == ["pdp10", "pg74"]
    assert not (project / "report.xml").exists()
    assert [p.name for p in project.iterdir()] == ["specs"]


def test_bad_usage_is_one_line_and_exit_2(project):
    for argv in (["check", "--format", "xml"], ["check", "-o", "no/such/dir/r.json"], ["check", "-o", "specs"],
                 ["new", "has space"], ["schema", "-o", "no/such/dir/s.json"]):
        p = subprocess.run([sys.executable, "-m", "vverify", *argv], capture_output=True, text=True, cwd=project)
        assert p.returncode == 2, (argv, p.stderr)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert p.stdout == ""


def test_an_unclaimed_failing_theorem_is_a_warning(tmp_path, monkeypatch, capsys):
    """pg74_rdbase without its theorem claims: the theorems it fails are reported, as warnings, at rdbase."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(spec_path("pg74"), tmp_path)
    text = (spec_path("pg74_rdbase")).read_text()
    kept = [line for line in text.splitlines() if not line.startswith(("theorem1 =", "theorem2 =", "theorem3 ="))]
    (tmp_path / "pg74_rdbase.toml").write_text("\n".join(kept) + "\n")
    code, out, _ = run_check(capsys, "--format", "sarif", "pg74_rdbase.toml")
    assert code == 0  # no claim fails: the theorems are not claimed
    rdbase_line = load_spec(tmp_path / "pg74_rdbase.toml").instructions["rdbase"].line
    got = sorted((r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"],
                  r["message"]["text"].split(" (")[0]) for r in json.loads(out)["runs"][0]["results"])
    assert got == [("theorem-failed", "warning", rdbase_line, f"Theorem {n}") for n in (1, 2, 3)]
