"""Check one spec: classify every unit, replay witnesses, decide theorems and claims.

This is the API the faces (CLI, pytest plugin) call.  It knows nothing of
how results are printed.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

from ..formal.classify import ask_all
from ..formal.plan import question_plan
from ..spec.loader import load_spec
from ..spec.units import units_of
from ..vocabulary import UNKNOWN, YES
from . import cache, pool
from .entry import BadEntry, units_from_payload
from .limits import check_timeout_ms
from .progress import QUIET, Progress
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
    cached: bool = False  # every unit's verdicts came from the proof cache
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    versions: dict = field(default_factory=dict)
    from_cache: int = 0  # units whose verdicts came from the proof cache
    not_cached: dict = field(default_factory=dict)  # unit id -> why its verdicts were not stored
    cached_ids: frozenset = frozenset()  # the units whose verdicts came from the proof cache

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
            "seconds": round(self.seconds, 3), "cached": self.cached, "from_cache": self.from_cache,
            "not_cached": self.not_cached,
            "timeout_ms": self.timeout_ms, "versions": self.versions,
            "note": "Theorems 1-3 of Popek & Goldberg give sufficient conditions, not necessary ones.",
            "theorems": {k: asdict(v) for k, v in self.theorems.items()},
            "instructions": [self._unit_dict(u) for u in self.units],
            "claims": [asdict(c) for c in self.claims],
            "disagreements": self.disagreements,
            "replay_errors": self.replay_errors,
        }

    def solver_seconds(self, u) -> float | None:
        """Seconds the solver spent on unit ``u`` in this run (its questions' sum); None when its
        verdicts came from the proof cache: they were not solved now, and an old time is not this run's."""
        return None if u.id in self.cached_ids else sum(a.seconds for a in u.answers)

    def _unit_dict(self, u) -> dict:
        cached = u.id in self.cached_ids
        answers = [a.to_dict() for a in u.answers]
        for a in answers:  # a cached answer was not solved in this run: no time of it
            a["seconds"] = None if cached else round(a["seconds"], 6)
        seconds = self.solver_seconds(u)
        return {"id": u.id, "instruction": u.instruction, "member": u.member, "classes": u.classes, **u.props,
                "replay_errors": u.replay_errors, "cached": cached,
                "solver_seconds": None if seconds is None else round(seconds, 6), "answers": answers}


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


def _classify(spec, units, timeout_ms, jobs, progress: Progress = QUIET):
    workers = pool.pool_size(jobs, len(units))
    if workers > 1:
        return pool.classify(spec, units, timeout_ms, workers, progress)
    out = []
    for u in units:
        progress.running([u.id])
        out.append(classify_unit(spec, u, timeout_ms))
        progress.decided(u.id, sum(a.seconds for a in out[-1].answers))
    return out


def cached_units(spec, k):
    """The unit verdicts the proof cache holds for ``spec`` under key ``k`` (a list, in the spec's
    order, of the units that were decided when it was stored), or None.

    Only an entry signed with our key gets here (cache.load), so its "no"
    answers are our own unsat proofs.  It must also have exactly the shape
    run.store writes, units of the spec only, and every witness must replay on
    the reference interpreter now, as a fresh one must: otherwise the whole
    entry is set aside, with one warning line, and the spec solved afresh.
    """
    payload = cache.load(k)
    if payload is None:
        return None
    path = cache.entry_path(k)
    try:
        units = units_from_payload(payload, units_of(spec), question_plan(spec))
    except BadEntry as e:
        cache.warn(f"vverify: ignoring corrupt cache entry {path} ({e})")
        return None
    for u in units:
        for a in u.answers:
            if a.status != YES:
                continue
            try:
                replay(spec, u.instruction, a.witness)
            except Exception as e:  # noqa: BLE001 - stored states are data: any failure to replay them is a no
                cache.warn(f"vverify: not trusting cache entry {path}: the witness for {u.id} "
                           f"{a.question}[{','.join(a.modes)}] does not replay ({type(e).__name__}: "
                           f"{' '.join(str(e).split())[:160]}); solving afresh")
                return None
    return units


def not_storable(units) -> dict:
    """Unit id -> why its verdicts are not stored: a solver timeout (it may not recur) or a
    backend disagreement (a witness that does not replay)."""
    out = {}
    for u in units:
        if u.replay_errors:
            out[u.id] = "a witness does not replay"
            continue
        unknown = [f"{a.question}[{','.join(a.modes)}]" for a in u.answers if a.status == UNKNOWN]
        if unknown:
            out[u.id] = f"solver timeout: {', '.join(unknown)}"
    return out


def store(spec, units, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    """Put a spec's decided unit verdicts in the proof cache, keyed by what verdicts depend on
    (``spec.verdict_digest``: not its claims); returns the units left out, with why (not_storable)."""
    left_out = not_storable(units)
    kept = [u for u in units if u.id not in left_out]
    if kept:
        cache.store(cache.key(spec.verdict_digest, timeout_ms), {"units": [u.to_dict() for u in kept]})
    return left_out


def check_spec(spec_or_path, timeout_ms: int = DEFAULT_TIMEOUT_MS, use_cache: bool = True,
               jobs: int | None = None, progress: Progress | None = None) -> SpecReport:
    """Check one spec.  ``timeout_ms`` is per solver query, 1 to 2**32 - 1 (see vverify.check.limits:
    z3 would read 0 as no timeout and wrap larger values), else UsageError.  ``jobs`` solver
    processes classify its units (None: one per usable CPU; capped, see pool_size; 1: in this process).
    ``progress`` is told how the classification goes (vverify.check.progress)."""
    timeout_ms = check_timeout_ms(timeout_ms)
    spec = spec_or_path if not isinstance(spec_or_path, (str, os.PathLike)) else load_spec(spec_or_path)
    progress = progress or QUIET
    t0 = time.perf_counter()
    k = cache.key(spec.verdict_digest, timeout_ms)
    everything = units_of(spec)
    have = {u.id: u for u in (cached_units(spec, k) or [])} if use_cache else {}
    missing = [u for u in everything if u.id not in have]  # units the cache holds no decision for
    progress.begin(spec.name, len(everything), len(have))
    try:
        solved = {u.id: u for u in _classify(spec, missing, timeout_ms, jobs, progress)} if missing else {}
    finally:
        progress.end()
    units = [have[u.id] if u.id in have else solved[u.id] for u in everything]
    for u in units:
        u.props = derive(spec, u)
    not_cached = not_storable(units)
    if use_cache and solved:
        store(spec, units, timeout_ms)
    tv = theorems(spec, units)
    claims = check_claims(spec, units, tv)
    return SpecReport(spec, units, tv, claims, disagreements(spec, units), time.perf_counter() - t0,
                      bool(use_cache and not missing),
                      timeout_ms, {"z3": cache.z3_version(), "vverify": __import__("vverify").__version__},
                      from_cache=len(have), not_cached=not_cached if use_cache else {}, cached_ids=frozenset(have))


__all__ = ["SpecReport", "check_spec", "classify_unit", "ClaimResult", "TheoremVerdict", "UnitVerdict"]
