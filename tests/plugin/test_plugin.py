"""The pytest plugin: spec claims and classified instructions as pytest items.

Each test runs pytest on a temporary project (``pytester``) holding a copy
of specs/.  In-process runs are used where they suffice; xdist and the
import-cost check need a real subprocess.
"""

import subprocess
import sys
import xml.etree.ElementTree as ET

from tests.conftest import ROOT, SPEC_FILES
from tests.plugin.conftest import copy_specs
from vverify.spec.units import units_of
from vverify.spec.loader import load_spec

pytest_plugins = ["pytester"]

LPSW_CHECK = 'semantics = """\nsupervisor_only()\nbase = zext(a, 16)'
LPSW_NO_CHECK = 'semantics = """\nbase = zext(a, 16)'


def expected_ids(spec_dir):
    """Every node id the plugin should collect from ``spec_dir`` (a project's specs/, at any depth):
    claims, then units, per file."""
    ids = {}
    for p in sorted(spec_dir.rglob("*.toml")):
        s = load_spec(p)
        rel = p.relative_to(spec_dir.parent).as_posix()
        ids[rel] = ([f"{rel}::claim::{c}" for c in [*s.theorem_claims, *s.instruction_claims]]
                    + [f"{rel}::instr::{u.id}" for u in units_of(s)])
    return ids


def remove_lpsw_privilege_check(spec_dir):
    p = spec_dir / "pg74.toml"
    text = p.read_text()
    assert LPSW_CHECK in text
    p.write_text(text.replace(LPSW_CHECK, LPSW_NO_CHECK, 1))
    return p


def failed_ids(result):
    return {r.nodeid for r in result.reprec.getfailures() if r.when == "call"}


# ------------------------------------------------------------------ collection


def test_this_repo_collects_specs_only_when_asked():
    """testpaths is tests/, so a plain `pytest` never solves specs; `pytest specs/x.toml` collects x."""
    def run(*args):
        return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    plain = run()
    lines = plain.stdout.splitlines()
    assert any(line.startswith("tests/") for line in lines)  # it did collect something ...
    assert not any(".toml::" in line for line in lines)  # ... but no spec, from specs/ or elsewhere
    one = run("specs/pg74/pg74.toml")
    assert one.returncode == 0, one.stdout + one.stderr
    got = [line for line in one.stdout.splitlines() if "::" in line]
    assert got == expected_ids(ROOT / "specs")["specs/pg74/pg74.toml"]


def test_glob_option_decides_which_toml_files_are_specs(pytester):
    d = copy_specs(pytester, {"pg74"})
    (pytester.path / "other.toml").write_text('[tool]\nx = 1\n')  # not under specs/: never a spec
    result = pytester.runpytest("--collect-only", "-q", ".")
    ids = [line for line in result.outlines if "::" in line]
    assert ids and all(i.startswith("specs/pg74.toml::") for i in ids)
    # a glob that matches nothing collects nothing, from the command line or the ini file
    assert "::" not in pytester.runpytest("--collect-only", "-q", "--vverify-specs", "machines/*.toml", ".").stdout.str()
    (d.parent / "machines").mkdir()
    (d / "pg74.toml").rename(d.parent / "machines" / "pg74.toml")
    pytester.makeini("[pytest]\nvverify_specs = machines/*.toml\n")
    ids = [line for line in pytester.runpytest("--collect-only", "-q", ".").outlines if "::" in line]
    assert ids and all(i.startswith("machines/pg74.toml::") for i in ids)


def test_no_z3_unless_a_spec_is_collected(pytester):
    """The plugin is loaded in every pytest run of the venv; a run without specs must not pay for z3."""
    copy_specs(pytester, {"pg74"})
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    pytester.makeconftest("""
import sys
def pytest_sessionfinish(session):
    with open("imported.txt", "a") as f:
        f.write(f"{'z3' in sys.modules} {'vverify.check.run' in sys.modules}\\n")
""")
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider").ret == 0
    assert (pytester.path / "imported.txt").read_text() == "False False\n"
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "specs").ret == 0
    assert (pytester.path / "imported.txt").read_text().splitlines()[1] == "False False"  # collected without z3


# ------------------------------------------------------------------ running


def test_every_bundled_claim_is_collected_and_passes(spec_project):
    """Every claim and every unit of every bundled spec is a passing test case, in junit too.

    In-process, so it shares the warm cache's key (see conftest) even while vverify/ is being edited.
    """
    result = spec_project.runpytest("specs", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()[-3000:]
    expected = expected_ids(spec_project.path / "specs")
    assert len(expected) == len(SPEC_FILES)
    total = sum(len(v) for v in expected.values())
    result.assert_outcomes(passed=total)
    cases = ET.parse(spec_project.path / "junit.xml").getroot().iter("testcase")
    got = {f"{c.get('classname')}::{c.get('name')}" for c in cases}
    want = set()
    for ids in expected.values():
        for i in ids:
            rel, group, name = i.split("::")
            want.add(f"{rel.replace('/', '.')}.{group}::{name}")  # pytest's junit classname: path.group
    assert got == want
    for spec_ids in expected.values():  # every spec states its theorems
        assert any(i.endswith("::claim::theorem1") for i in spec_ids)


# what removing lpsw's privilege check from pg74 fails (see the test below)
LPSW_FAILURES = {"specs/pg74.toml::claim::lpsw", "specs/pg74.toml::claim::theorem1", "specs/pg74.toml::claim::theorem3",
                 "specs/pg74.toml::claim::theorem2", "specs/pg74_rdbase.toml::claim::lpsw",
                 "specs/pg74_rdbase.toml::claim::theorem1", "specs/pg74_rdbase.toml::claim::theorem3"}


def test_removing_a_privilege_check_fails_exactly_the_affected_items(spec_project):
    """lpsw without supervisor_only(): its claim and the theorems that rested on it fail, nothing else.

    pg74_rdbase extends pg74, so its lpsw claim fails too, and so do its Theorem 1 and 3 claims:
    they already say the theorems fail, but name rdbase as the only violator, and lpsw is one now.
    Its Theorem 2 claim states no violators, so it still holds.  No unit item fails: every
    verdict is definite.
    """
    d = spec_project.path / "specs"
    remove_lpsw_privilege_check(d)
    result = spec_project.runpytest("specs", "-p", "no:cacheprovider")
    want = LPSW_FAILURES
    assert failed_ids(result) == want
    total = sum(len(v) for v in expected_ids(d).values())
    result.assert_outcomes(passed=total - len(want), failed=len(want))
    spec = load_spec(d / "pg74.toml")
    claim_line, instr_line = spec.instruction_claims["lpsw"].line, spec.instructions["lpsw"].line
    out = result.stdout.str()
    # the claim's message at the claim's line, expected vs derived, and the witness with the instruction's line
    assert f"specs/pg74.toml:{claim_line}: claim 'lpsw' does not hold: privileged: expected true, derived no" in out
    assert "expected: privileged = true, control_sensitive = true" in out
    assert "derived:  privileged = no, control_sensitive = yes" in out
    assert f"privileged of lpsw (specs/pg74.toml:{instr_line}) is no:" in out
    assert "runs_in_user [u]: is there a user-mode state" in out and "state: pc=" in out and "mode=u" in out
    assert f"lpsw (specs/pg74.toml:{instr_line}): control-sensitive in mode u" in out  # theorem1's violator
    assert "Traceback" not in out
    # reportinfo points at the claim's line (0-based) with a readable name
    lpsw = next(r for r in result.reprec.getfailures() if r.nodeid == "specs/pg74.toml::claim::lpsw")
    assert lpsw.location == ("specs/pg74.toml", claim_line - 1, "pg74: claim lpsw")


def test_xdist_runs_each_item_once_and_fails_the_same_items(pytester):
    """`-n 2`: items spread over two workers (each checks a spec once), same verdicts as without xdist."""
    d = copy_specs(pytester, {"pg74", "pg74_rdbase", "pdp10"})
    remove_lpsw_privilege_check(d)
    result = pytester.runpytest_subprocess("specs", "-n", "2", "-p", "no:cacheprovider", "-rf")
    total = sum(len(v) for v in expected_ids(d).values())
    result.assert_outcomes(passed=total - len(LPSW_FAILURES), failed=len(LPSW_FAILURES))
    failed = {line.split()[1] for line in result.outlines if line.startswith("FAILED ")}
    assert failed == LPSW_FAILURES
    assert "privileged: expected true, derived no" in result.stdout.str()


def test_k_selects_items_by_name(spec_project):
    result = spec_project.runpytest("specs", "-k", "claim and lpsw", "-p", "no:cacheprovider", "-v")
    ids = [i for v in expected_ids(spec_project.path / "specs").values() for i in v]
    chosen = [i for i in ids if i.endswith("::claim::lpsw")]
    assert "specs/pg74.toml::claim::lpsw" in chosen and "specs/pg74_rdbase.toml::claim::lpsw" in chosen
    result.assert_outcomes(passed=len(chosen))
    result.stdout.fnmatch_lines([f"*{i} PASSED*" for i in chosen], consecutive=False)
    assert f"{len(ids) - len(chosen)} deselected" in result.stdout.str()
    # a node id selects one item too
    one = spec_project.runpytest("specs/riscv32.toml::instr::csrrs.mstatus", "-p", "no:cacheprovider")
    one.assert_outcomes(passed=1)


def test_junitxml_carries_the_failure(pytester):
    d = copy_specs(pytester, {"pg74"})
    remove_lpsw_privilege_check(d)
    result = pytester.runpytest("specs", "--junitxml=out.xml", "-p", "no:cacheprovider")
    assert result.ret == 1
    root = ET.parse(pytester.path / "out.xml").getroot()
    failed = {(c.get("classname"), c.get("name")): c.find("failure") for c in root.iter("testcase")
              if c.find("failure") is not None}
    assert set(failed) == {("specs.pg74.toml.claim", n) for n in ("lpsw", "theorem1", "theorem2", "theorem3")}
    f = failed[("specs.pg74.toml.claim", "lpsw")]
    assert "privileged: expected true, derived no" in f.get("message")
    assert "runs_in_user [u]" in f.text and "operands: a=" in f.text


def test_a_bad_spec_is_one_collection_error_without_traceback(pytester):
    d = copy_specs(pytester, {"pg74"})
    (d / "broken.toml").write_text('[isa]\nname = "broken"\ncolour = "blue"\n')
    result = pytester.runpytest("specs", "-p", "no:cacheprovider")
    assert result.ret == 2  # interrupted: errors during collection
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "ERROR collecting specs/broken.toml" in out
    err_lines = [line for line in result.outlines if "broken.toml:3" in line]
    assert err_lines == ["specs/broken.toml:3: isa: unknown key 'colour' in [isa]"], out
    assert "Traceback" not in out and "raise " not in out and "def " not in out


def test_unit_items_fail_on_unknown_answers_and_replay_errors(pytester):
    """An unknown answer or a witness that does not replay fails that unit's item, and only that one.

    The solver and replay are patched (inside the inner run only) to simulate a timeout on ld's
    mode question and a backend disagreement on getr; the per-test cache starts empty.
    """
    copy_specs(pytester, {"pg74"})
    pytester.makeconftest('''
import vverify.check.run as run
from vverify.check.replay import ReplayError

_real = (run.ask_all, run.replay)

def fake_ask_all(spec, unit, timeout_ms):
    answers = _real[0](spec, unit, timeout_ms)
    if unit.id == "ld":
        a = next(a for a in answers if a.question == "mode")
        a.status, a.reason = "unknown", "timeout (simulated)"
    return answers

def fake_replay(spec, instruction, witness):
    if instruction == "getr":
        raise ReplayError("simulated: the interpreter sees no difference")
    return _real[1](spec, instruction, witness)

def pytest_configure(config):
    run.ask_all, run.replay = fake_ask_all, fake_replay

def pytest_unconfigure(config):
    run.ask_all, run.replay = _real
''')
    result = pytester.runpytest("specs", "-p", "no:cacheprovider")
    failed = failed_ids(result)
    assert {i for i in failed if "::instr::" in i} == {"specs/pg74.toml::instr::ld", "specs/pg74.toml::instr::getr"}
    # and the claims that rest on those verdicts: ld, getr, and the theorems they leave undecided
    assert {i.rsplit("::", 1)[1] for i in failed if "::claim::" in i} == {"ld", "getr", "theorem1", "theorem2", "theorem3"}
    out = result.stdout.str()
    assert "instruction 'ld': its verdicts rest on unknown answers" in out
    assert "mode [u, s]: UNKNOWN, the solver gave up (timeout (simulated))" in out
    assert "BACKEND DISAGREEMENT" in out and "simulated: the interpreter sees no difference" in out


def test_a_bad_timeout_is_a_usage_error(pytester):
    copy_specs(pytester, {"pg74"})
    result = pytester.runpytest("specs", "--vverify-timeout", "0")
    assert result.ret == 4  # pytest's usage error, before anything is collected or solved
    assert "--vverify-timeout: the timeout must be a finite number of seconds from 0.001" in result.stderr.str()
