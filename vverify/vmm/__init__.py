"""Virtual machine monitors, one module per technique, over the core's exit protocol.

Each technique states what it requires of the ISA (``VMM.requires``);
:func:`requirements_unmet` checks that against a spec's derived verdicts.
"""

from .base import Counters, GuestExit, PlacedGuest, VMM
from ..spec.units import unit_id
from .binary_translation import BinaryTranslation
from .interpret import FullInterpretation, Hybrid
from .native import Native
from .trap_emulate import TrapAndEmulate

TECHNIQUES = {cls.technique: cls for cls in (Native, TrapAndEmulate, Hybrid, FullInterpretation, BinaryTranslation)}


def requirements_unmet(vmm_class, report) -> list:
    """The requirements of ``vmm_class`` that the spec (its check ``report``) does not meet."""
    out = []
    spec = report.spec
    for req in vmm_class.requires:
        if req == "virtualization map" and spec.virtualization is None:
            out.append("the spec has no virtualization map")
        elif req in ("theorem1", "theorem3") and report.theorems[req].status != "yes":
            t = report.theorems[req]
            why = f"violated by {', '.join(t.violators)}" if t.violators else t.status
            out.append(f"{req.replace('theorem', 'Theorem ')} does not hold ({why})")
    return out


__all__ = ["Counters", "GuestExit", "PlacedGuest", "VMM", "TECHNIQUES", "requirements_unmet",
           "Native", "TrapAndEmulate", "Hybrid", "FullInterpretation", "BinaryTranslation", "unit_id", "translation_set"]


def translation_set(report) -> dict:
    """Per mode, the units binary translation must not run directly.

    Supervisor code: units unsafe from supervisor mode under the map, or
    privileged (they would trap).  User code: units unsafe from user mode
    (empty when Theorem 3's condition holds, so user code runs directly).
    """
    return {
        "supervisor": frozenset(u.id for u in report.units
                                if u.props["safe_supervisor"] != "yes" or u.props["privileged"] != "no"),
        "user": frozenset(u.id for u in report.units if u.props["safe_user"] != "yes"),
    }
