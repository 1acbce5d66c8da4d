"""Check one spec: classify every unit, replay witnesses, decide theorems and claims.

This is the API the faces (CLI, pytest plugin) call.  It knows nothing of
how results are printed.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

from ..formal.classify import UNKNOWN, YES, ask_all, units_of
from ..spec.loader import load_spec
from . import cache
from .limits import check_timeout_ms
from .replay import ReplayError, replay
from .verdicts import (REFUTED, UNDECIDED, ClaimResult, TheoremVerdict, UnitVerdict, check_claims, derive,
                       disagreements, theorems)

DEFAULT_TIMEOUT_MS = 20000


@dataclass
class SpecReport:
    spec: object
    units: list
    theorems: dict
    claims: list
    disagreements: list
    seconds: float
    cached: bool = False
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    versions: dict = field(default_factory=dict)

    @property
    def replay_errors(self) -> list:
        return [f"{u.id}: {e}" for u in self.units for e in u.replay_errors]

    @property
    def failed_claims(self) -> list:
        """Every claim that is not confirmed: refuted or undecided."""
        return [c for c in self.claims if not c.ok]

    @property
    def refuted_claims(self) -> list:
        return [c for c in self.claims if c.status == REFUTED]

    @property
    def undecided(self) -> dict:
        """What rests on an unknown answer: theorem names, claim names and unit ids (empty lists when decided)."""
        return {
            "theorems": [k for k, t in self.theorems.items() if t.status == UNKNOWN],
            "claims": [c.name for c in self.claims if c.status == UNDECIDED],
            "units": [u.id for u in self.units
                      if any(a.status == UNKNOWN for a in u.answers) or UNKNOWN in u.props.values()],
        }

    @property
    def decided(self) -> bool:
        """True when no theorem, claim or unit verdict is unknown (a timeout is never read as a pass)."""
        return not any(self.undecided.values())

    @property
    def outcome(self) -> str:
        """``fail`` (a claim refuted or a witness that does not replay), else ``undecided``, else ``pass``.

        Every face (CLI exit status and formats, pytest plugin) reads this,
        so they agree on what passed.
        """
        if self.refuted_claims or self.replay_errors:
            return "fail"
        return "pass" if self.decided else "undecided"

    @property
    def ok(self) -> bool:
        """Passed: every claim confirmed, every witness replayed, nothing undecided."""
        return self.outcome == "pass"

    def unit(self, uid) -> UnitVerdict:
        for u in self.units:
            if u.id == uid:
                return u
        raise KeyError(uid)

    def to_dict(self) -> dict:
        s = self.spec
        return {
            "spec": s.name, "title": s.title, "path": s.path, "digest": s.digest,
            "ok": self.ok, "outcome": self.outcome, "undecided": self.undecided,
            "seconds": round(self.seconds, 3), "cached": self.cached,
            "timeout_ms": self.timeout_ms, "versions": self.versions,
            "note": "Theorems 1-3 of Popek & Goldberg give sufficient conditions, not necessary ones.",
            "theorems": {k: asdict(v) for k, v in self.theorems.items()},
            "instructions": [{"id": u.id, "instruction": u.instruction, "member": u.member,
                              "classes": u.classes, **u.props,
                              "replay_errors": u.replay_errors,
                              "answers": [a.to_dict() for a in u.answers]} for u in self.units],
            "claims": [asdict(c) for c in self.claims],
            "disagreements": self.disagreements,
            "replay_errors": self.replay_errors,
        }


def classify_unit(spec, unit, timeout_ms) -> UnitVerdict:
    answers = ask_all(spec, unit, timeout_ms)
    uv = UnitVerdict(unit.id, unit.instruction, unit.member, answers)
    for a in answers:
        if a.status == YES and a.witness is not None:
            try:
                replay(spec, unit.instruction, a.witness)
            except ReplayError as e:
                uv.replay_errors.append(f"{a.question}[{','.join(a.modes)}]: witness does not replay: {e}")
    return uv


# process-pool plumbing: each worker loads the spec itself (z3 objects do not cross processes)
_worker_spec = None


def _worker_init(path):
    global _worker_spec
    _worker_spec = load_spec(path)


def _worker_classify(args):
    unit, timeout_ms = args
    return classify_unit(_worker_spec, unit, timeout_ms).to_dict()


def _classify_all(spec, timeout_ms, jobs):
    units = units_of(spec)
    if jobs <= 1 or len(units) < 2:
        return [classify_unit(spec, u, timeout_ms) for u in units]
    # largest units first keeps both workers busy to the end
    order = sorted(range(len(units)), key=lambda i: -len(spec.instructions[units[i].instruction].body))
    with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(spec.path,)) as pool:
        results = list(pool.map(_worker_classify, [(units[i], timeout_ms) for i in order], chunksize=1))
    by_index = dict(zip(order, results))
    return [UnitVerdict.from_dict(by_index[i]) for i in range(len(units))]


def store(spec, units, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bool:
    """Put a spec's unit verdicts in the proof cache; False when they must not be cached:
    a timeout (it may not recur) or a backend disagreement."""
    if any(u.replay_errors or any(a.status == "unknown" for a in u.answers) for u in units):
        return False
    cache.store(cache.key(spec.digest, timeout_ms), {"units": [u.to_dict() for u in units]})
    return True


def check_spec(spec_or_path, timeout_ms: int = DEFAULT_TIMEOUT_MS, use_cache: bool = True, jobs: int = 1) -> SpecReport:
    """Check one spec.  ``timeout_ms`` is per solver query, 1 to 2**32 - 1 (see vverify.check.limits:
    z3 would read 0 as no timeout and wrap larger values), else UsageError."""
    timeout_ms = check_timeout_ms(timeout_ms)
    spec = spec_or_path if not isinstance(spec_or_path, (str, os.PathLike)) else load_spec(spec_or_path)
    t0 = time.perf_counter()
    k = cache.key(spec.digest, timeout_ms)
    payload = cache.load(k) if use_cache else None
    cached = payload is not None
    if cached:
        units = [UnitVerdict.from_dict(u) for u in payload["units"]]
    else:
        units = _classify_all(spec, timeout_ms, jobs)
    for u in units:
        u.props = derive(spec, u)
    if use_cache and not cached:
        store(spec, units, timeout_ms)
    tv = theorems(spec, units)
    claims = check_claims(spec, units, tv)
    return SpecReport(spec, units, tv, claims, disagreements(spec, units), time.perf_counter() - t0, cached,
                      timeout_ms, {"z3": cache.z3_version(), "vverify": __import__("vverify").__version__})


__all__ = ["SpecReport", "check_spec", "classify_unit", "ClaimResult", "TheoremVerdict", "UnitVerdict"]
