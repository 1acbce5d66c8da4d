"""The cost model: modeled cycles = exact event counts x cycles per event.

The figures live in ``profiles.toml`` as named hardware profiles, each
figure with its source; they are per *event* (a trap, a VM exit, an
instruction emulated by translated code...), never per workload.  This
module only says which of a VMM's counters (:class:`vverify.vmm.Counters`)
is which event under each kind of technique, and does the arithmetic:

* every technique: instructions run directly are ``instruction``; traps
  delivered to the guest's own handler are ``exception`` (the processor, or
  a VMM building the same frame, enters the handler); hypercalls are
  ``hypercall``;
* software VMMs: each real trap to the VMM is a ``trap``, and the
  instruction emulated after it an ``emulate``, unless all the VMM did was
  forward a trap to the guest's handler (``trap`` covers that, as it is
  derived from a forwarded fault); instructions emulated with
  no trap before them are the technique's inline event (``callout`` for
  binary translation's translated code and for the operations a
  paravirtual hypercall stands for, ``interpret`` for hybrid and full
  interpretation); translations are ``translate`` and translation-cache
  hits ``tc_lookup``;
* hardware-assisted VMMs: VM exits (and traps that reach the hypervisor)
  are ``vm_exit``, and what the VMM emulates after them ``emulate``;
* memory virtualization, on top of the crossing that brought the VMM in:
  a shadow pager's hidden page faults are ``hidden_fault`` (the fill) and
  its traced page-table writes ``trace_fault``; an EPT-violation exit
  (``exits.vmexit:ept_violation``) is an ``ept_violation``.  ``walk_ref``, a
  hardware page-walk reference, has figures but no counter: the model has no
  TLB, so the core's walks are not the references a processor would make
  (docs/benchmarks.md).

Core exits that only mark the end of a run or of a direct-execution slice
(``budget``, ``halt``) are artefacts of running on an emulator and cost
nothing on real hardware.
So are ``crossings`` (returns from compiled code into Python): counted and
reported, never an event here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROFILES_PATH = Path(__file__).with_name("profiles.toml")
PUBLISHED_PATH = Path(__file__).with_name("published.toml")

EVENTS = ("instruction", "exception", "trap", "emulate", "callout", "interpret", "translate", "tc_lookup", "vm_exit",
          "hypercall", "hidden_fault", "trace_fault", "walk_ref", "ept_violation")

# what an instruction emulated without a trap before it is, per software technique
INLINE_EVENT = {"binary-translation": "callout", "paravirtualization": "callout", "hybrid": "interpret",
                "interpretation": "interpret"}


@dataclass(frozen=True)
class Figure:
    cycles: float
    source: str
    confirmed: bool
    note: str = ""
    derived: str = ""


@dataclass
class Profile:
    name: str
    title: str
    machine: str
    note: str
    events: dict = field(default_factory=dict)  # event -> Figure
    inherits: str = ""

    def cycles(self, event: str) -> float:
        return self.events[event].cycles


def load_data(path: Path = PROFILES_PATH) -> dict:
    return tomllib.loads(Path(path).read_text())


def load_profiles(path: Path = PROFILES_PATH) -> dict:
    """Profile name -> :class:`Profile`, with inherited figures filled in."""
    data = load_data(path)
    raw = data.get("profiles", {})
    out: dict = {}

    def resolve(name, seen=()):
        if name in out:
            return out[name]
        if name in seen:
            raise ValueError(f"{path}: profile '{name}' inherits itself")
        if name not in raw:
            raise ValueError(f"{path}: no profile '{name}'")
        p = raw[name]
        events = {}
        parent = p.get("inherits", "")
        if parent:
            events.update(resolve(parent, seen + (name,)).events)
        for ev, f in p.get("events", {}).items():
            if ev not in EVENTS:
                raise ValueError(f"{path}: profile '{name}' has an unknown event '{ev}' (events: {', '.join(EVENTS)})")
            events[ev] = Figure(float(f["cycles"]), f["source"], bool(f["confirmed"]), f.get("note", ""),
                                f.get("derived", ""))
        missing = [e for e in EVENTS if e not in events]
        if missing:
            raise ValueError(f"{path}: profile '{name}' has no figure for {', '.join(missing)}")
        out[name] = Profile(name, p.get("title", name), p.get("machine", ""), p.get("note", ""), events, parent)
        return out[name]

    for name in raw:
        resolve(name)
    return out


def load_sources(path: Path = PROFILES_PATH) -> dict:
    return load_data(path).get("sources", {})


def load_published(path: Path = PUBLISHED_PATH) -> dict:
    return tomllib.loads(Path(path).read_text())


# ------------------------------------------------------------------ counters


def flatten(counters: dict) -> dict:
    """A Counters.as_dict() as flat keys: ``direct``, ``traps.svc``, ``exits.trap`` ..."""
    out = {}
    for k, v in counters.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                out[f"{k}.{kk}"] = vv
        else:
            out[k] = v
    return out


def per_operation(counters: dict, baseline: dict, iterations: int) -> dict:
    """Counts per operation: (counts of the run with N operations - counts with none) / N.

    Both runs are deterministic, so this is exact: the syscall workload gives
    exactly one system-call trap per operation.
    """
    a, b = flatten(counters), flatten(baseline)
    n = max(int(iterations), 1)
    return {k: (a.get(k, 0) - b.get(k, 0)) / n for k in sorted(set(a) | set(b))}


def steady_state(counters: dict, iterations: int, pilot: dict, pilot_iterations: int, baseline: dict) -> dict:
    """Counts per operation once the run is warm.

    With a pilot run of fewer operations (``pilot_iterations`` >= 1), the
    difference between the two runs divided by the difference in operations
    leaves out one-time work (translating the loop's blocks, the first
    trips through the kernel); otherwise the baseline run with no
    operations is subtracted.
    """
    if pilot and 0 < pilot_iterations < iterations:
        return per_operation(counters, pilot, iterations - pilot_iterations)
    return per_operation(counters, baseline, iterations)


def _sum(flat: dict, prefix: str) -> float:
    return sum(v for k, v in flat.items() if k.startswith(prefix + "."))


def _vm_exits(flat: dict) -> float:
    """VM exits, whatever their reason (counted as ``exits.vmexit`` or ``exits.vmexit:REASON``)."""
    return sum(v for k, v in flat.items() if k == "exits.vmexit" or k.startswith("exits.vmexit:"))


def vmm_events(flat: dict) -> float:
    """The events a VMM serves per operation: real traps to it, instructions it emulates (callouts
    included), hypercalls and VM exits.  The denominator of the *cost per event*, (wall time per
    operation - native's) / vmm_events: what one event costs on this emulator, beside the cycles the
    profiles give it on hardware."""
    return _sum(flat, "traps") + flat.get("emulated", 0.0) + flat.get("hypercalls", 0.0) + _vm_exits(flat)


def events(flat: dict, technique: str, kind: str) -> dict:
    """Event counts from flat per-operation counters.

    ``kind`` is ``native``, ``software`` or ``hardware`` (recorded with each
    measurement: see :func:`technique_kind`).
    """
    ev = dict.fromkeys(EVENTS, 0.0)
    ev["instruction"] = flat.get("direct", 0.0)
    ev["exception"] = _sum(flat, "reflected")
    ev["hypercall"] = flat.get("hypercalls", 0.0)
    traps = _sum(flat, "traps")
    emulated = flat.get("emulated", 0.0)
    if kind == "native":
        return ev
    ev["hidden_fault"] = flat.get("hidden_faults", 0.0)
    ev["trace_fault"] = flat.get("traced_writes", 0.0)
    ev["ept_violation"] = flat.get("exits.vmexit:ept_violation", 0.0)
    if kind == "hardware":
        ev["vm_exit"] = _vm_exits(flat) + traps
        ev["emulate"] = emulated
        return ev
    after_trap = min(emulated, traps)
    forwarded = min(after_trap, ev["exception"])  # emulations that only delivered a trap to the guest
    ev["trap"] = traps
    ev["emulate"] = after_trap - forwarded
    ev[INLINE_EVENT.get(technique, "emulate")] += emulated - after_trap
    ev["translate"] = flat.get("translations", 0.0)
    ev["tc_lookup"] = flat.get("tc_hits", 0.0)
    ev["vm_exit"] += _vm_exits(flat)
    return ev


def cycles(event_counts: dict, profile: Profile) -> tuple:
    """``(total, {event: cycles})`` for one operation under ``profile``."""
    parts = {e: n * profile.cycles(e) for e, n in event_counts.items() if n}
    return sum(parts.values()), parts


def technique_kind(technique: str, vmm_class=None) -> str:
    """``native``, ``hardware`` (the processor runs the guest in a non-root mode) or ``software``."""
    if technique == "native":
        return "native"
    requires = getattr(vmm_class, "requires", ()) or ()
    if "hardware" in technique or any(str(r).startswith(("extension", "hardware")) for r in requires):
        return "hardware"
    return "software"


__all__ = ["EVENTS", "Figure", "Profile", "cycles", "events", "flatten", "load_profiles", "load_published",
           "load_sources", "per_operation", "steady_state", "technique_kind"]
