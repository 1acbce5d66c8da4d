"""check_spec's process pool: what the workers classify, how many there are, and how they end."""

import multiprocessing

import pytest

import vverify.check.run as run
from tests.conftest import SPEC_DIR
from vverify.check.run import check_spec
from vverify.spec.loader import load_spec

GETR_CHECK = "supervisor_only()\nr[rd] = l"

forked = pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                            reason="the hooks reach the workers by fork")


def copy_spec(tmp_path, name="pg74.toml"):
    p = tmp_path / name
    p.write_text((SPEC_DIR / name).read_text())
    return p


@forked
def test_workers_classify_the_text_that_was_hashed(tmp_path, monkeypatch):
    """The spec is saved after the parent read and hashed it, before the workers start: the verdicts
    (and the cache entry under the hashed text's key) are those of the hashed text."""
    p = copy_spec(tmp_path)
    original = p.read_text()
    edited = original.replace(GETR_CHECK, "r[rd] = l")  # getr loses its privilege check
    spec = load_spec(p)
    real_init = run._worker_init

    def saved_meanwhile(*args):
        p.write_text(edited)
        real_init(*args)

    monkeypatch.setattr(run, "_worker_init", saved_meanwhile)
    r = check_spec(spec, jobs=2)
    assert r.unit("getr").props["privileged"] == "yes"
    monkeypatch.setattr(run, "_worker_init", real_init)

    p.write_text(original)
    hit = check_spec(p, jobs=1)
    assert hit.cached and hit.unit("getr").props["privileged"] == "yes"
    p.write_text(edited)
    fresh = check_spec(p, jobs=1)
    assert not fresh.cached and fresh.unit("getr").props["privileged"] == "no"
