"""Classifying a spec's units in worker processes, none of which outlives the check.

z3 objects do not cross processes, so each worker loads the spec itself,
from the very bytes the parent loaded and hashed for the proof cache (never
from the file again).  The pool is as large as asked, but never larger than
the units to classify nor than ``JOBS_PER_CPU`` per CPU.  However the check
ends (its result, an error, Ctrl-C, the CLI's SIGTERM, even SIGKILL on
Linux) its workers end with it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager

from ..errors import SpecError
from ..spec.loader import load_spec
from .progress import QUIET, Progress
from .verdicts import UnitVerdict

_worker_spec = None


def _worker_init(path, sources):
    """Load the spec from the bytes the parent loaded (and hashed for the proof cache), never from the
    file again: a file saved meanwhile must not have its verdicts stored under the old text's key."""
    global _worker_spec
    _worker_spec = load_spec(path, texts=sources)


def _worker_start(parent_pid, path, sources):
    """A pool worker's first act: die with the check, whatever stops it, then load the spec.

    The parent (the CLI) stops its workers itself on SIGTERM or SIGINT (see
    _stop_workers), so a worker takes SIGTERM's default (it inherited the
    parent's handlers through fork) and leaves Ctrl-C to the parent.  Should
    the parent die without stopping them (SIGKILL, a crash), Linux's parent-
    death signal kills them instead of leaving them solving for nobody.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    _worker_init(path, sources)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_deferred():
    """Note SIGINT and SIGTERM while the pool forks its workers, and act on them after.

    A handler that raises (KeyboardInterrupt, the CLI's Terminated) while
    os.fork runs its at-fork hooks has its exception printed and dropped,
    so the check would go on as if never told to stop.  (Blocking the
    signals is not enough: another thread may take them, and Python then
    runs the handler in the main thread all the same.)  Noted, a signal is
    handled once the workers exist, where raising stops them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    parent, caught = os.getpid(), []

    def note(signum, frame):
        if os.getpid() != parent:  # a worker, forked before it set its own handlers: just die
            os._exit(128 + signum)
        caught.append((signum, frame))

    previous = {s: signal.signal(s, note) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum, frame in caught[:1]:
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)  # raises, here, where it is not lost
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def _die_with_parent(parent_pid):
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc to ask: the parent still stops us when it can
        pass
    if os.getppid() != parent_pid:  # it died before we asked
        os._exit(1)


def _stop_workers(pool):
    """Stop a pool now: cancel what is queued and terminate the workers, not wait for their units
    (shutdown alone waits for every running unit, minutes on a big spec)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
    else:
        for proc in list((pool._processes or {}).values()):
            proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _worker_classify(args):
    from . import run  # through the module, so that what tests patch there reaches the workers

    unit, timeout_ms = args
    return _worker_spec.digest, run.classify_unit(_worker_spec, unit, timeout_ms).to_dict()


JOBS_PER_CPU = 2  # the most solver processes -j gets per usable CPU


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13
    if count is not None:
        return count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pool_size(jobs, n_units: int) -> int:
    """How many solver processes to run for ``jobs`` (None: one per usable CPU): never more than
    there are units to classify, nor than JOBS_PER_CPU per CPU (z3 is CPU-bound: more processes
    only cost memory).  1 means classify in this process."""
    cpus = usable_cpus()
    want = cpus if jobs is None else jobs
    return max(1, min(want, n_units, JOBS_PER_CPU * cpus))


def classify(spec, units, timeout_ms, workers, progress: Progress = QUIET) -> list:
    """The verdicts of ``units`` (of ``spec``), classified by ``workers`` processes, in order.

    ``progress`` hears of each unit as its worker returns it.  The workers
    take the units in the order they were submitted, so the units being
    solved at any moment are the first ``workers`` of that order not yet
    returned: those are reported as running.
    """
    # largest units first keeps both workers busy to the end
    order = sorted(range(len(units)), key=lambda i: -len(spec.instructions[units[i].instruction].body))
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_start,
                               initargs=(os.getpid(), spec.path, spec.sources))
    results = {}
    try:
        with _signals_deferred():  # submitting starts (forks) the workers
            futures = {pool.submit(_worker_classify, (units[i], timeout_ms)): i for i in order}
        waiting = list(futures)  # in submission order
        progress.running([units[futures[f]].id for f in waiting[:workers]])
        while waiting:
            done, _ = wait(waiting, return_when=FIRST_COMPLETED)
            for f in [f for f in waiting if f in done]:
                i = futures[f]
                results[i] = f.result()  # a worker's error is raised here
                progress.decided(units[i].id, sum(a["seconds"] for a in results[i][1]["answers"]))
            waiting = [f for f in waiting if f not in done]
            progress.running([units[futures[f]].id for f in waiting[:workers]])
    except BaseException:  # KeyboardInterrupt, the CLI's SIGTERM, a worker's error: no worker outlives us
        _stop_workers(pool)
        raise
    pool.shutdown()
    if any(digest != spec.digest for digest, _ in results.values()):  # a file the loader read afresh after all
        raise SpecError(spec.path, 0, "", "the spec's files changed while it was being checked; check it again")
    return [UnitVerdict.from_dict(results[i][1]) for i in range(len(units))]
