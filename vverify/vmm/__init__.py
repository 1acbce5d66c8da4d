"""Virtual machine monitors, one module per technique, over the core's exit protocol.

Each technique states what it requires of the ISA (``VMM.requires``);
:func:`requirements_unmet` checks that against a spec's derived verdicts.
"""

from ..spec import ir
from ..spec.exits import Exit
from .base import Counters, PlacedGuest, VMM
from ..spec.units import unit_id
from .binary_translation import BinaryTranslation
from .hardware import HardwareAssisted
from .paravirt import Paravirtualization
from .interpret import FullInterpretation, Hybrid
from .native import Native
from .trap_emulate import TrapAndEmulate

TECHNIQUES = {cls.technique: cls for cls in (Native, TrapAndEmulate, Hybrid, FullInterpretation, BinaryTranslation,
                                             Paravirtualization, HardwareAssisted)}


def requirements_unmet(vmm_class, report, theorems: bool = True) -> list:
    """The requirements of ``vmm_class`` that the spec (its check ``report``) does not meet.

    With ``theorems=False`` only the structural ones (a map of the right kind,
    an extension, an interface): a failed theorem predicts a divergence the
    fuzzer can show, a missing extension means there is nothing to run.
    """
    out = []
    spec = report.spec
    for req in vmm_class.requires:
        vm = spec.virtualization
        if req == "virtualization map" and vm is None:
            out.append("the spec has no virtualization map")
        elif req == "virtualization map" and vm.hardware_assist:
            out.append("its map runs guests in hardware non-root operation; this technique needs a map for software virtualization")
        elif req == "paravirtual interface" and (vm is None or vm.paravirt is None):
            out.append("the spec declares no paravirtual interface ([virtualization.paravirt] and a hypercall instruction)")
        elif req == "hardware assist" and (vm is None or not vm.hardware_assist):
            out.append("the spec has no hardware-assist extension (a map with hardware_assist = true, as in pg74_vt)")
        elif req == "real MMU" and walks_page_tables(spec):
            mmu = vm.mmu if vm is not None else None
            if mmu is None:
                out.append("the spec translates through page tables in memory and its map does not say how a VMM "
                           "virtualizes them ([virtualization.mmu]); this technique runs the guest's supervisor "
                           "code on the real MMU (docs/paging.md)")
            elif mmu.kind not in vmm_class.mmu_kinds:
                out.append(f"the spec's map virtualizes the MMU by {mmu.kind} paging, which this technique does "
                           "not implement yet; it runs the guest's supervisor code on the real MMU (docs/paging.md)")
            elif vmm_class.mmu_unsupported(spec):
                out.append(f"the spec's map virtualizes the MMU by {mmu.kind} paging, but "
                           f"{vmm_class.mmu_unsupported(spec)}")
        elif theorems and req in ("theorem1", "theorem3") and report.theorems[req].status != "yes":
            t = report.theorems[req]
            why = f"violated by {', '.join(t.violators)}" if t.violators else t.status
            out.append(f"{req.replace('theorem', 'Theorem ')} does not hold ({why})")
    return out


__all__ = ["Counters", "Exit", "PlacedGuest", "VMM", "TECHNIQUES", "requirements_unmet",
           "Native", "TrapAndEmulate", "Hybrid", "FullInterpretation", "BinaryTranslation", "Paravirtualization", "HardwareAssisted",
           "unit_id", "translation_set"]


def walks_page_tables(spec) -> bool:
    """Whether the spec's fetch reads memory: it translates through page tables (riscv32_sv32's walk),
    which a VMM must virtualize (shadow or nested paging) before it runs guest supervisor code directly."""
    return any(isinstance(s, ir.Load) for s in ir.walk_stmts(spec.fetch_body or ()))


def translation_set(report) -> dict:
    """Per mode, the units binary translation must not run directly.

    Supervisor code: units unsafe from supervisor mode under the map, or
    privileged (they would trap).  User code: units unsafe from user mode
    (empty when Theorem 3's condition holds, so user code runs directly).

    ``supervisor_unsafe`` is the part of ``supervisor`` that is there because
    it misbehaves deprivileged, not only because it traps.  A technique that
    decides at load time (paravirtualization) needs it: a guest kernel may
    return into code written for user mode while staying in a supervisor
    mode, and there a trapping instruction is still emulated, but one of
    these would run wrongly.
    """
    unsafe_supervisor = frozenset(u.id for u in report.units if u.props["safe_supervisor"] != "yes")
    return {
        "supervisor": unsafe_supervisor | {u.id for u in report.units if u.props["privileged"] != "no"},
        "user": frozenset(u.id for u in report.units if u.props["safe_user"] != "yes"),
        "supervisor_unsafe": unsafe_supervisor,
    }
