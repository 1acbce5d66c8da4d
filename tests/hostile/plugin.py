"""pytest hooks of the hostile-input campaign: its option, and the count of inputs it tried.

Registered by one import line in tests/conftest.py, so that the option is
known however pytest is started (``pytest``, ``pytest tests``,
``pytest tests/hostile``) and the summary reaches the controller under
xdist (each campaign test reports its tally as a user property of its
report, which xdist forwards).

* ``--hostile-examples N`` (or ``VVERIFY_HOSTILE_EXAMPLES=N``) runs the
  long campaign: the tests in tests/hostile marked ``slow``, N inputs per
  group (per subcommand for argv; N/20 for the groups that start a
  subprocess per input), randomized (not the ``ci`` profile), e.g.::

      pytest tests/hostile -p no:cacheprovider -n 2 --hostile-examples 500 -m slow

  Without it they are skipped and only the fast, derandomized default run
  happens (``pytest tests/hostile -q``: about 450 inputs, under a minute).
  A failure prints its input (Hypothesis's falsifying example and notes)
  and a ``@reproduce_failure`` blob to replay it.
* At the end of the session a section ``hostile-input campaign`` lists, per
  group, ``campaign <group>: N inputs, F failures`` and the exit statuses
  seen; it shows in a plain ``pytest tests/hostile -q``.
"""

from __future__ import annotations

import os

OPTION = "--hostile-examples"
ENV = "VVERIFY_HOSTILE_EXAMPLES"
PROPERTY = "hostile-campaign"  # the user property a campaign test's report carries its tally in


def pytest_addoption(parser):
    parser.addoption(OPTION, type=int, default=None, metavar="N",
                     help="run the long hostile-input campaign of tests/hostile (the tests marked slow): N inputs "
                          f"per group, randomized; same as ${ENV}=N")


def long_examples(config) -> int | None:
    """N of ``--hostile-examples N`` (else of $VVERIFY_HOSTILE_EXAMPLES), or None: no long campaign."""
    n = config.getoption(OPTION, default=None)
    if n is None and os.environ.get(ENV, "").strip():
        n = int(os.environ[ENV])
    return n if n and n > 0 else None


_tallies: dict = {}  # (nodeid, group) -> {"group", "inputs", "failures", "exits"}


def pytest_runtest_logreport(report):
    for name, value in getattr(report, "user_properties", ()):
        if name == PROPERTY and isinstance(value, dict):
            _tallies[(report.nodeid, value["group"])] = value


def pytest_terminal_summary(terminalreporter):
    if not _tallies:
        return
    groups: dict = {}
    for t in _tallies.values():
        g = groups.setdefault(t["group"], {"inputs": 0, "failures": 0, "exits": {}})
        g["inputs"] += t["inputs"]
        g["failures"] += t["failures"]
        for code, n in t["exits"].items():
            g["exits"][code] = g["exits"].get(code, 0) + n
    terminalreporter.section("hostile-input campaign")
    for name in sorted(groups):
        g = groups[name]
        exits = ", ".join(f"{code}: {n}" for code, n in sorted(g["exits"].items()))
        terminalreporter.write_line(f"campaign {name}: {g['inputs']} inputs, {g['failures']} failures"
                                    + (f"  (exit {exits})" if exits else ""))
