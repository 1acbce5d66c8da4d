"""The plugin gates as `vverify check` does: a timeout is a bounded, real one, and an unknown is never a pass."""

import pytest

from tests.plugin.conftest import copy_specs

pytest_plugins = ["pytester"]

LD_TIMES_OUT = '''
import vverify.check.run as run

_real = run.ask_all

def fake_ask_all(spec, unit, timeout_ms):
    answers = _real(spec, unit, timeout_ms)
    if unit.id == "ld":
        a = next(a for a in answers if a.question == "mode")
        a.status, a.reason = "unknown", "timeout (simulated)"
    return answers

def pytest_configure(config):
    run.ask_all = fake_ask_all

def pytest_unconfigure(config):
    run.ask_all = _real
'''


@pytest.mark.parametrize("seconds", ["0.0009", "0", "-1", "inf", "nan", "1e309", "4294968"])
def test_a_timeout_z3_would_not_honour_is_a_usage_error(pytester, seconds):
    """0.0009 s used to become 0 ms, which z3 reads as no timeout at all; inf raised OverflowError;
    4294968 s is more milliseconds than z3's 32-bit timeout holds (it would wrap)."""
    copy_specs(pytester, {"pg74"})
    result = pytester.runpytest("specs", "--vverify-timeout", seconds)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the timeout must be a finite number of seconds from 0.001 (1 ms)" in result.stderr.str()


def test_the_ini_timeout_is_checked_the_same_way(pytester):
    copy_specs(pytester, {"pg74"})
    pytester.makeini("[pytest]\nvverify_timeout = 0.0005\n")
    result = pytester.runpytest("specs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "vverify_timeout: the timeout must be a finite number" in result.stderr.str()


def test_undecided_items_fail_unless_unknowns_are_allowed(pytester):
    """A timeout on ld's mode question fails the items resting on it; --vverify-allow-unknown skips them.

    Run in a subprocess: an in-process run unloads, when it ends, the modules it imported (process
    pools included), which would break the session's own checks in a later test.
    """
    copy_specs(pytester, {"pg74"})
    pytester.makeconftest(LD_TIMES_OUT)
    undecided = ["specs/pg74.toml::claim::theorem1", "specs/pg74.toml::claim::theorem2",  # not theorem3: mode-
                 "specs/pg74.toml::claim::ld", "specs/pg74.toml::instr::ld"]  # sensitivity does not bear on it
    strict = pytester.runpytest_subprocess("specs", "-p", "no:cacheprovider", "-rf")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    assert sorted(line.split()[1] for line in strict.outlines if line.startswith("FAILED ")) == sorted(undecided)
    allowed = pytester.runpytest_subprocess("specs", "-p", "no:cacheprovider", "--vverify-allow-unknown", "-rs")
    assert allowed.ret == pytest.ExitCode.OK
    outcomes = allowed.parseoutcomes()
    assert outcomes["skipped"] == len(undecided) and "failed" not in outcomes and outcomes["passed"] > 0
    assert allowed.stdout.str().count("undecided (solver timeout), allowed by vverify_allow_unknown") == len(undecided)
