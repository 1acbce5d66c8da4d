"""Fixtures of the hostile-input campaign (the option and the summary are in tests/hostile/plugin.py)."""

from __future__ import annotations

import pytest

from tests.hostile.harness import Campaign
from tests.hostile.plugin import PROPERTY, long_examples

# A campaign test runs twice: "fast" (the default run: the ci profile, a fixed number of examples) and
# "long" (marked slow; skipped unless --hostile-examples N or $VVERIFY_HOSTILE_EXAMPLES, then N
# randomized examples).
RUNS = [pytest.param(False, id="fast"), pytest.param(True, id="long", marks=pytest.mark.slow)]


@pytest.fixture(params=RUNS)
def examples(request):
    """None for the fast run; N for the long one (which is skipped without the option)."""
    if not request.param:
        return None
    n = long_examples(request.config)
    if n is None:
        pytest.skip("the long hostile-input campaign: pytest tests/hostile --hostile-examples N")
    return n


@pytest.fixture
def campaign(request):
    """``campaign(group)``: a counter of the inputs this test tries, reported at the end of the session."""
    made = []

    def make(group: str) -> Campaign:
        c = Campaign(group)
        made.append(c)
        return c

    yield make
    for c in made:
        request.node.user_properties.append((PROPERTY, c.tally()))
