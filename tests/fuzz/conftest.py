"""The fuzz tests' ``slow`` marker: checks too long for every run, selected with ``-m slow``.

A fuzzer's robustness is shown over many seeds, which costs minutes; the
default run keeps one search per planted defect at its normal budget
(tests/fuzz/quality), and ``pytest tests/fuzz -m slow`` runs the rest.
"""

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a check over many seeds, minutes long; run with -m slow")


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("markexpr") or ""):
        return  # asked for by name (-m slow, -m "slow or not slow"): run as selected
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
