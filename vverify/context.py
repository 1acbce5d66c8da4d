"""One spec and everything the features build from it: the composition layer.

The engines below this layer each know one thing: the checker derives
verdicts, the VMMs run guests over a core, the guest library builds
programs.  Fuzzing, benchmarking, the CLI and the pytest plugin need them
together, for one spec at a time: the check report, the units binary
translation must not run directly, which techniques the spec can host, a
factory that makes a VMM with whatever its technique needs, reusable
machines, the guest library.  :class:`SpecContext` ties them together once
per spec, so each feature stands on it rather than on another feature
(bench used to borrow fuzz's VMM factory), and the per-spec state lives in
one object rather than in module-level caches keyed by name and digest.

Get one with :func:`context_of` (made once per loaded spec, kept with it)::

    ctx = context_of(spec)
    ctx.report()                       # the check (cached by the proof cache too)
    ctx.translation_set()              # per mode, the units binary translation must not run directly
    ctx.unmet("binary-translation")    # what the spec lacks for a technique
    vmm = ctx.make_vmm("paravirtualization", guest_state, code=program.code_map())
"""

from __future__ import annotations

from . import guests as G


class SpecContext:
    """A loaded spec with its check report, VMM factory, machines and guest library."""

    def __init__(self, spec):
        self.spec = spec
        self._reports: dict = {}
        self._cores: dict = {}
        self._reads: dict = {}

    # ------------------------------------------------------------ verdicts

    def report(self, timeout_ms: int | None = None, use_cache: bool = True, jobs: int | None = None):
        """The spec's check report (vverify.check.run.check_spec), made once per timeout."""
        from .check.run import DEFAULT_TIMEOUT_MS, check_spec

        timeout_ms = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        key = (timeout_ms, use_cache)
        if key not in self._reports:
            self._reports[key] = check_spec(self.spec, timeout_ms=timeout_ms, use_cache=use_cache, jobs=jobs)
        return self._reports[key]

    def use_report(self, report):
        """Adopt a report made elsewhere (a caller that checked with its own options)."""
        self._reports[(report.timeout_ms, True)] = report
        return report

    def translation_set(self, report=None) -> dict:
        """Per mode, the units binary translation must not run directly (:func:`vverify.vmm.translation_set`)."""
        from .vmm import translation_set

        return translation_set(report or self.report())

    def unmet(self, technique: str, report=None, theorems: bool = True) -> list:
        """What the spec lacks that ``technique`` requires (empty: it can host the technique)."""
        from .vmm import TECHNIQUES, requirements_unmet

        return requirements_unmet(TECHNIQUES[technique], report or self.report(), theorems)

    # ------------------------------------------------------------ machines

    def core(self, slot: str):
        """A reusable machine per role (``native``, ``vmm``...): allocating one per guest is slow."""
        if slot not in self._cores:
            from .core import Core

            self._cores[slot] = Core(self.spec)
        return self._cores[slot]

    def core_problem(self) -> str:
        """Why the core cannot run the spec (a register wider than 64 bits, too much memory...), or "".

        Fuzzing and benchmarks run every guest on the core, so they refuse such
        a spec, or mark its cells not applicable, with this reason.  Asking the
        core itself keeps its rules in one place; the core built here is reused.
        """
        from .core import CoreUnsupported

        try:
            self.core("native")
        except CoreUnsupported as e:
            return str(e)
        return ""

    def control_reads(self, unit_ids) -> dict:
        """The units among ``unit_ids`` that z3 proves are pure reads of one control register
        (vverify.formal.reads): what a paravirtual kernel may read from the shared page."""
        key = frozenset(unit_ids)
        if key not in self._reads:
            from .formal.reads import control_reads  # z3: only when a shared page is in play

            self._reads[key] = control_reads(self.spec, key)
        return self._reads[key]

    def make_vmm(self, technique: str, guest, translate=None, slot: str = "vmm", params=None, code=None):
        """A VMM of ``technique`` for ``guest`` (a MachineState), given what the technique needs:
        binary translation and paravirtualization the units to translate (``translate``: usually
        :meth:`translation_set`; None translates nothing, which planted-defect tests rely on),
        paravirtualization also where the guest's instructions are (``code``), the control reads
        z3 proved pure and the guest library's shared page."""
        from .vmm import TECHNIQUES, BinaryTranslation, Paravirtualization

        spec = self.spec
        cls = TECHNIQUES[technique]
        kw = {}
        if issubclass(cls, (BinaryTranslation, Paravirtualization)):
            kw["translate"] = translate
        if issubclass(cls, Paravirtualization):
            pv = spec.virtualization.paravirt if spec.virtualization else None
            kw["code"] = code
            if pv is not None and pv.read is not None and translate:
                kw["reads"] = self.control_reads(kw["translate"].get("supervisor", ()))
                kw["shared"] = G.layout(spec).constants.get("PV_SHARED")
        return cls(spec, guest, params=params, core=self.core(slot), **kw)

    # ------------------------------------------------------------ guests

    @property
    def has_guests(self) -> bool:
        return G.has_guest_library(self.spec)

    def stop_causes(self) -> frozenset:
        """Traps that end a guest's run instead of reaching it: the guest library's halt, where it is a trap.

        Made once: the fuzzer asks for every program, and the halt convention checks the boot
        stub's file each time."""
        return self.memo("stop_causes", _stop_causes)

    def memo(self, key, make):
        """A feature's own per-spec value (a fuzzer's strategies, say), made once: ``make(spec)``."""
        return self.spec.memo(("context", key), make)


def _stop_causes(spec) -> frozenset:
    if not G.has_guest_library(spec):
        return frozenset()
    conv = G.halt_convention(spec)
    return conv.trap_exits if conv.reason == "trap" else frozenset()


def context_of(spec) -> SpecContext:
    """The spec's composition object, made once and kept with the spec."""
    return spec.memo("context", SpecContext)


def load_context(path_or_name) -> SpecContext:
    """Load a spec (a file, or a bundled spec's name) and return its context."""
    from .spec.bundled import resolve
    from .spec.loader import load_spec

    return context_of(load_spec(resolve(path_or_name)))


__all__ = ["SpecContext", "context_of", "load_context"]
