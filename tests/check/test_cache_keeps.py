"""A proof cache that keeps what it knows (issue 18): decided units are cached even when another unit
of the spec times out, a claim's edit re-checks claims without re-solving, and any other edit (the
semantics above all) never reuses an old verdict.

The spec is the skeleton `vverify new` writes; a timeout is made in-process, as in
tests/cli/test_undecided.py, so nothing depends on how fast z3 is.  "Solved" is counted by the
classifications `check_spec` asks for (run.classify_unit with -j 1).
"""

import pytest

import vverify.check.run as run
from vverify.check.run import check_spec
from vverify.cli.main import main
from vverify.cli.skeleton import skeleton


@pytest.fixture
def solved(monkeypatch):
    """The ids of the units check_spec classifies (rather than takes from the cache), in order."""
    seen = []
    real = run.classify_unit

    def classify_unit(spec, unit, timeout_ms):
        seen.append(unit.id)
        return real(spec, unit, timeout_ms)

    monkeypatch.setattr(run, "classify_unit", classify_unit)
    return seen


@pytest.fixture
def ld_times_out(monkeypatch):
    real = run.ask_all

    def ask_all(spec, unit, timeout_ms):
        answers = real(spec, unit, timeout_ms)
        if unit.id == "ld":
            for a in answers:
                if a.question == "control":
                    a.status, a.reason, a.witness = "unknown", "timeout (simulated)", None
        return answers

    monkeypatch.setattr(run, "ask_all", ask_all)


def write(tmp_path, edit=lambda t: t):
    p = tmp_path / "sk.toml"
    p.write_text(edit(skeleton("sk")))
    return p


def test_decided_units_are_cached_beside_one_that_timed_out(tmp_path, solved, ld_times_out, capsys):
    p = write(tmp_path)
    first = check_spec(p, jobs=1)
    every = [u.id for u in first.units]
    assert solved == every and len(every) > 3
    assert list(first.not_cached) == ["ld"] and first.not_cached["ld"].startswith("solver timeout: control[")
    assert (first.cached, first.from_cache) == (False, 0)

    solved.clear()
    second = check_spec(p, jobs=1)  # still timing out: only ld is solved again
    assert solved == ["ld"]
    assert (second.cached, second.from_cache, list(second.not_cached)) == (False, len(every) - 1, ["ld"])
    assert [u.id for u in second.units] == every
    for a, b in zip(first.units, second.units):
        assert a.props == b.props

    solved.clear()
    assert main(["check", "-j", "1", str(p)]) == 3  # the output says which unit was not cached, and why
    out = capsys.readouterr().out
    assert f"1 solved, {len(every) - 1} from the cache" in out
    assert "Not cached (1 of" in out and "    ld: solver timeout: control[" in out


def test_once_decided_the_spec_comes_whole_from_the_cache(tmp_path, solved):
    p = write(tmp_path)
    check_spec(p, jobs=1)
    solved.clear()
    again = check_spec(p, jobs=1)
    assert solved == [] and again.cached and again.from_cache == len(again.units) and again.not_cached == {}


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("[claims]\n", "[claims]\n# a comment among the claims\n", 1),
    lambda t: t + '\n[references.extra]\ncite = "A source no claim uses yet"\n',
], ids=["comment", "reference"])
def test_editing_claims_or_references_reuses_every_verdict(tmp_path, solved, edit):
    p = write(tmp_path)
    before = check_spec(p, jobs=1)
    solved.clear()
    p.write_text(edit(p.read_text()))
    after = check_spec(p, jobs=1)
    assert solved == [] and after.cached
    assert [(c.name, c.status) for c in after.claims] == [(c.name, c.status) for c in before.claims]


def test_a_changed_claim_is_checked_against_the_cached_verdicts(tmp_path, solved):
    p = write(tmp_path)
    before = check_spec(p, jobs=1)
    assert before.ok
    claim = next(c for c in before.claims if c.name not in ("theorem1", "theorem2", "theorem3"))
    solved.clear()
    text = p.read_text()
    lines = text.splitlines(keepends=True)
    line = lines[claim.line - 1]
    flipped = line.replace("true", "FALSE").replace("false", "true").replace("FALSE", "false")
    assert flipped != line, line
    lines[claim.line - 1] = flipped
    p.write_text("".join(lines))
    after = check_spec(p, jobs=1)
    assert solved == [] and after.cached  # not one unit solved again
    assert not after.ok and [c.name for c in after.refuted_claims] == [claim.name]


def test_a_changed_semantics_never_reuses_an_old_verdict(tmp_path, solved):
    p = write(tmp_path)
    check_spec(p, jobs=1)
    solved.clear()
    text = p.read_text()
    assert "semantics" in text
    # a comment inside the semantics: the meaning is the same, but the cache does not judge meaning;
    # any edit outside the claims and references is solved afresh
    p.write_text(text.replace('semantics = "', 'semantics = "# changed\\n', 1))
    after = check_spec(p, jobs=1)
    assert not after.cached and after.from_cache == 0 and solved == [u.id for u in after.units]
