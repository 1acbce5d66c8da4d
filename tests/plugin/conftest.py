"""Fixtures for the pytest plugin's tests: a project holding a copy of specs/, and a warm proof cache.

The tests run pytest inside pytest (``pytester``) on a temporary project.
Solving x86_32 from cold takes most of a minute, so the bundled specs'
verdicts (the session's own reports, see tests/conftest.py, solved once and
shared with the other tests) are put in a proof cache that lives in pytest's
own cache directory (``.pytest_cache/d/vverify-proofs``) and so survives
between runs.  That is safe for the same reason the proof cache is: an entry
is keyed by the bytes of the spec, of vverify's source and z3's version, so
a changed spec or a changed checker never meets an old verdict.  Its entries
are signed with a key of its own, kept beside it (``vverify-proofs-key``,
the XDG_CONFIG_HOME of the checks that use it), since only entries signed
with the reader's key are used.  Without the cache provider
(``-p no:cacheprovider``) the cache is per session.
"""

import os
import shutil

import pytest

from tests.conftest import SPEC_FILES, load, report_of


@pytest.fixture(scope="session")
def warm_cache(request, tmp_path_factory):
    from vverify.check import cache as proofs
    from vverify.check.run import DEFAULT_TIMEOUT_MS, store

    cache = getattr(request.config, "cache", None)
    d = cache.mkdir("vverify-proofs") if cache is not None else tmp_path_factory.mktemp("vverify-cache")
    _prune(d)
    env = _proof_env(d)
    old = {k: os.environ.pop(k, None) for k in (*env, "VVERIFY_CACHE_KEY")}
    os.environ.update(env)
    try:
        for p in SPEC_FILES:
            spec = load(p)
            if proofs.load(proofs.key(spec.verdict_digest, DEFAULT_TIMEOUT_MS)) is None:
                # the session's own report (solved once, shared with the other tests), not a second solve
                left_out = store(spec, report_of(spec).units)
                assert not left_out, f"{p.name}: verdicts the cache may not keep: {left_out}"
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    return d


def _proof_env(d) -> dict:
    """The environment under which the warm cache ``d`` is read and written: it, and its key."""
    key_home = d.parent / f"{d.name}-key"
    key_home.mkdir(mode=0o700, exist_ok=True)
    return {"VVERIFY_CACHE_DIR": str(d), "XDG_CONFIG_HOME": str(key_home)}


def copy_specs(pytester, names=None):
    """Copy the bundled specs (or those named) to ``specs/`` of the pytester project; returns that dir."""
    d = pytester.path / "specs"
    d.mkdir(exist_ok=True)
    for p in SPEC_FILES:
        if names is None or p.stem in names:
            shutil.copy(p, d / p.name)
    pytester.makeini("[pytest]\n")  # makes the project dir the rootdir
    return d


@pytest.fixture
def spec_project(pytester, monkeypatch, warm_cache):
    """A pytester project with a copy of every bundled spec, checked against the warm cache."""
    for k, v in _proof_env(warm_cache).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("VVERIFY_CACHE_KEY", raising=False)
    copy_specs(pytester)
    return pytester


def _prune(d):
    """Keep only the bundled specs' current entries, so the directory does not grow with every edit."""
    from vverify.check import cache
    from vverify.check.run import DEFAULT_TIMEOUT_MS
    from vverify.spec.loader import load_spec

    keep = {f"{cache.key(load_spec(p).verdict_digest, DEFAULT_TIMEOUT_MS)}.json" for p in SPEC_FILES}
    for f in d.glob("*.json"):
        if f.name not in keep:
            f.unlink(missing_ok=True)
