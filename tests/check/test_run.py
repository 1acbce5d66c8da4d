"""check_spec's process pool (vverify/check/pool.py): what the workers classify, how many there are,
and how they end."""

import multiprocessing
import os
import signal
import threading

import psutil
import pytest

import vverify.check.pool as pool
from tests.conftest import spec_path
from vverify.check.run import check_spec
from vverify.spec.loader import load_spec

GETR_CHECK = "supervisor_only()\nr[rd] = l"

forked = pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                            reason="the hooks reach the workers by fork")


def copy_spec(tmp_path, name="pg74.toml"):
    p = tmp_path / name
    p.write_text((spec_path(name.removesuffix(".toml"))).read_text())
    return p


@forked
def test_workers_classify_the_text_that_was_hashed(tmp_path, monkeypatch):
    """The spec is saved after the parent read and hashed it, before the workers start: the verdicts
    (and the cache entry under the hashed text's key) are those of the hashed text."""
    p = copy_spec(tmp_path)
    original = p.read_text()
    edited = original.replace(GETR_CHECK, "r[rd] = l")  # getr loses its privilege check
    spec = load_spec(p)
    real_init = pool._worker_init

    def saved_meanwhile(*args):
        p.write_text(edited)
        real_init(*args)

    monkeypatch.setattr(pool, "_worker_init", saved_meanwhile)
    r = check_spec(spec, jobs=2)
    assert r.unit("getr").props["privileged"] == "yes"
    monkeypatch.setattr(pool, "_worker_init", real_init)

    p.write_text(original)
    hit = check_spec(p, jobs=1)
    assert hit.cached and hit.unit("getr").props["privileged"] == "yes"
    p.write_text(edited)
    fresh = check_spec(p, jobs=1)
    assert not fresh.cached and fresh.unit("getr").props["privileged"] == "no"


class _PoolStarted(Exception):
    pass


@pytest.fixture
def pool_sizes(monkeypatch):
    """The max_workers of every process pool check_spec starts (the pool is stopped right there)."""
    sizes = []

    def recording_pool(max_workers=None, **kw):
        sizes.append(max_workers)
        raise _PoolStarted

    monkeypatch.setattr(pool, "ProcessPoolExecutor", recording_pool)
    return sizes


def pool_size_for(spec_path, jobs):
    try:
        check_spec(spec_path, jobs=jobs, use_cache=False)
    except _PoolStarted:
        pass


@pytest.mark.parametrize("cpus, jobs, expected", [
    (2, None, [2]),   # every CPU by default
    (2, 3, [3]),      # more than the CPUs if asked...
    (2, 32, [4]),     # ...but never more than 2 per CPU
    (64, 32, [14]),   # nor more than the units to classify (pg74 has 14)
    (64, None, [14]),
    (2, 1, []),       # -j 1: no pool, the units are classified in this process
])
def test_the_pool_is_capped_at_the_units_and_the_cpus(tmp_path, monkeypatch, pool_sizes, cpus, jobs, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    pool_size_for(copy_spec(tmp_path), jobs)
    assert pool_sizes == expected


def test_vverify_check_uses_every_cpu_by_default(tmp_path, monkeypatch, pool_sizes):
    from vverify.cli.main import build_parser, main

    assert build_parser().parse_args(["check"]).jobs is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    p = copy_spec(tmp_path)
    with pytest.raises(_PoolStarted):
        main(["check", "--no-cache", str(p)])
    assert pool_sizes == [2]


@forked
def test_an_interrupt_while_the_workers_are_forked_is_not_lost(tmp_path):
    """Ctrl-C (or the CLI's SIGTERM) arriving while os.fork runs its at-fork hooks: raised there, it
    would be printed and dropped, and the check would run on.  It must stop the check, and its workers."""
    armed = [True]

    def interrupt_once():
        if armed:
            armed.clear()
            os.kill(os.getpid(), signal.SIGINT)

    def live_children():
        return {c.pid for c in psutil.Process().children() if c.status() != psutil.STATUS_ZOMBIE}

    before = live_children()  # under xdist, this process may have children of its own
    os.register_at_fork(after_in_parent=interrupt_once)  # cannot be unregistered: inert once fired
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # xdist's workers ignore SIGINT
    idle = threading.Event()  # another thread, as an embedding program (or xdist) has: it may take the signal
    bystander = threading.Thread(target=idle.wait)
    bystander.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            check_spec(copy_spec(tmp_path), jobs=2, use_cache=False)
    finally:
        signal.signal(signal.SIGINT, previous)
        idle.set()
        bystander.join()
    assert not armed
    assert live_children() - before == set()
