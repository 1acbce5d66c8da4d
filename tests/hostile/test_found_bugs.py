"""Bugs the hostile-input campaign found in vverify, each pinned with its exact input.

The campaign's first long run found these five; each was fixed, and each
test here failed before its fix:

1. a cache entry whose "mac" holds a lone surrogate crashed the check
   (signing.verify encoded it): a MAC that is not ASCII is not ours;
2. a directory holding a symlink loop named ``*.toml`` crashed lint and check
   (Path.resolve raised RuntimeError): one line, exit 2;
3. ``vverify report`` on JSON nested 50,000 deep crashed with RecursionError:
   one line, exit 2;
4. a signed entry with an answer's ``seconds`` past a float's range crashed
   (math.isfinite overflowed): the entry is set aside;
5. a signed entry missing a "yes" answer made a failing spec pass (the
   derivation read the missing answer as "no"): an entry must answer exactly
   the classifier's questions (vverify.formal.plan), or it is set aside.

When the campaign finds another, record it here the same way: as an
``xfail(strict=True)`` test with its exact input and a predicate in
tests/hostile/known_bugs.py that the campaign uses to set such inputs aside
until the fix, after which both go and the test stays as a regression test.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.hostile import known_bugs
from tests.hostile.harness import SPECS, assert_well_behaved, run_inprocess


def test_cache_entry_whose_mac_is_a_lone_surrogate_is_set_aside(tmp_path):
    """Input: pg74's proof-cache entry, as `vverify check` wrote it, with its "mac" replaced by the JSON
    string "\\ud800" (the file stays valid UTF-8 JSON); then `vverify check -j 1 pg74.toml` again."""
    spec = tmp_path / "pg74.toml"
    shutil.copy(SPECS / "pg74" / "pg74.toml", spec)
    assert run_inprocess(["check", "-j", "1", spec]).code == 0
    (entry,) = (tmp_path / "cache").glob("*.json")  # conftest: VVERIFY_CACHE_DIR is tmp_path/cache
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["mac"] = "\ud800"
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert '"mac": "\\ud800"' in entry.read_text(encoding="utf-8")
    assert known_bugs.cache_mac_surrogate(entry)

    r = run_inprocess(["check", "-j", "1", spec])
    assert_well_behaved(r)  # today: UnicodeEncodeError escapes main(), a traceback
    assert r.code == 0 and len(r.err_lines) == 1 and "cache entry" in r.err, str(r)


def test_signed_cache_entry_with_huge_seconds_is_set_aside(tmp_path):
    """Input: pg74's proof-cache entry with ``payload.units[0].answers[0].seconds`` set to 10**400 and its
    MAC recomputed with this test's own cache key (vverify.check.signing.sign); then `vverify check -j 1
    pg74.toml` again."""
    from vverify.check import signing

    spec = tmp_path / "pg74.toml"
    shutil.copy(SPECS / "pg74" / "pg74.toml", spec)
    assert run_inprocess(["check", "-j", "1", spec]).code == 0
    (entry,) = (tmp_path / "cache").glob("*.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["payload"]["units"][0]["answers"][0]["seconds"] = 10 ** 400
    data["mac"] = signing.sign(data, signing.secret())
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert known_bugs.cache_huge_seconds(entry)

    r = run_inprocess(["check", "-j", "1", spec])
    assert_well_behaved(r)  # today: OverflowError escapes main(), a traceback
    assert r.code == 0 and len(r.err_lines) == 1 and "corrupt cache entry" in r.err, str(r)


def test_signed_cache_entry_missing_an_answer_does_not_pass_a_failing_spec(tmp_path):
    """Input: bad.toml, pg74 with ``supervisor_only()`` removed from lpsw (its lpsw and theorem claims
    fail); its proof-cache entry with the answer ``runs_in_user`` (status "yes") removed from unit lpsw
    and the MAC recomputed with this test's own key; then `vverify check -j 1 bad.toml` again."""
    from vverify.check import signing

    text = (SPECS / "pg74" / "pg74.toml").read_text(encoding="utf-8")
    lpsw = 'semantics = """\nsupervisor_only()\nbase = zext(a, 16)'
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(lpsw, 'semantics = """\nbase = zext(a, 16)', 1), encoding="utf-8")
    assert run_inprocess(["check", "-j", "1", bad]).code == 1
    (entry,) = (tmp_path / "cache").glob("*.json")
    original = entry.read_text(encoding="utf-8")
    data = json.loads(original)
    unit = next(u for u in data["payload"]["units"] if u["id"] == "lpsw")
    assert [a["status"] for a in unit["answers"] if a["question"] == "runs_in_user"] == ["yes"]
    unit["answers"] = [a for a in unit["answers"] if a["question"] != "runs_in_user"]
    data["mac"] = signing.sign(data, signing.secret())
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert known_bugs.cache_answers_missing(entry, original)

    r = run_inprocess(["check", "-j", "1", bad])
    assert_well_behaved(r)
    assert r.code == 1, f"a failing spec passed:\n{r}"  # today: exit 0, every claim 'confirmed'


@pytest.mark.parametrize("command", ["lint", "check"])
def test_a_directory_holding_a_symlink_loop_is_one_error_line(tmp_path, command):
    """Input: a directory holding pg74.toml and loop.toml, a symlink to itself
    (``ln -s loop.toml loop.toml``); then `vverify lint DIR` or `vverify check -j 1 DIR`."""
    d = tmp_path / "specs"
    d.mkdir()
    shutil.copy(SPECS / "pg74" / "pg74.toml", d / "pg74.toml")
    os.symlink("loop.toml", d / "loop.toml")
    argv = [command, d] if command == "lint" else [command, "-j", "1", d]

    r = run_inprocess(argv)
    assert_well_behaved(r)  # today: RuntimeError escapes main(), a traceback
    assert r.code == 2, str(r)
    about_loop = [x for x in (r.out + r.err).splitlines() if "loop.toml" in x]
    assert len(about_loop) == 1, str(r)


def test_report_of_deeply_nested_json_is_one_error_line(tmp_path):
    """Input: deep.json holding ``{"version": "1.0", "benchmarks": [`` + ``[`` * 50000 + ``]`` * 50000 + ``]}``
    (valid JSON); then `vverify report deep.json`."""
    f = tmp_path / "deep.json"
    f.write_text('{"version": "1.0", "benchmarks": [' + "[" * 50_000 + "]" * 50_000 + "]}")
    assert known_bugs._nests_deeply(f)

    r = run_inprocess(["report", f, "-d", tmp_path / "out"])
    assert_well_behaved(r)  # today: RecursionError escapes main(), a traceback
    assert r.code == 2 and len(r.err_lines) == 1, str(r)
