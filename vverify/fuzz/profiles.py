"""Hypothesis settings profiles, in one place for the tests and the CLI.

* ``ci``: deterministic (derandomized), no example database, bounded (40 examples a property:
  the default test run must stay under 15 minutes on 2 cores; ``dev`` and ``fuzz`` run more);
* ``dev``: random, with the default database, a moderate budget;
* ``fuzz``: long runs that keep failing examples in vverify's cache
  directory, so a failure found overnight replays the next morning.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_quiet = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def database_dir():
    from ..files import cache_dir

    return cache_dir() / "hypothesis"


def register() -> None:
    settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=40,
                              suppress_health_check=_quiet, print_blob=True)
    settings.register_profile("dev", deadline=None, max_examples=100, suppress_health_check=_quiet)
    settings.register_profile("fuzz", deadline=None, max_examples=5000, suppress_health_check=_quiet,
                              database=DirectoryBasedExampleDatabase(str(database_dir())))


register()
