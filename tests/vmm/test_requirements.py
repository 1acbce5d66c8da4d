"""What each technique requires of a spec, and says when it is missing (vverify.vmm.requirements_unmet)."""

from types import SimpleNamespace

import pytest

from tests.conftest import SPEC_FILES, load
from vverify.vmm import TECHNIQUES, requirements_unmet, walks_page_tables

ON_THE_REAL_MMU = {"trap-and-emulate", "binary-translation", "paravirtualization"}
SHADOWING = {"trap-and-emulate", "binary-translation", "paravirtualization"}  # implement shadow paging
# (vverify/vmm/shadow_paging.py), which riscv32_sv32 declares


def structural(technique, spec_name):
    return requirements_unmet(TECHNIQUES[technique], SimpleNamespace(spec=load(spec_name)), theorems=False)


def test_only_the_paged_spec_walks_page_tables():
    assert [p.stem for p in SPEC_FILES if walks_page_tables(load(p))] == ["riscv32_sv32"]


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_techniques_on_the_real_mmu_refuse_a_paged_spec_unless_they_virtualize_it(technique):
    """Running guest supervisor code directly with the guest's own root pointer is wrong under paging
    (an S-mode access to a U page faults natively and succeeds in real U-mode): those techniques say
    so unless they implement the shadow paging riscv32_sv32's map declares, and the matrix shows their
    cells as not applicable rather than as a disagreement."""
    unmet = structural(technique, "riscv32_sv32")
    assert any("shadow paging" in u for u in unmet) == (technique in ON_THE_REAL_MMU - SHADOWING)
    assert not any("paging" in u for u in structural(technique, "riscv32"))


def test_a_technique_meets_the_real_mmu_by_implementing_the_kind_the_map_declares():
    """riscv32_sv32's map declares shadow paging: a technique that implements it runs the spec, one
    that implements only nested paging does not, and a map without [virtualization.mmu] is refused
    whatever the technique implements."""
    base = TECHNIQUES["trap-and-emulate"]
    shadowing = type("Shadowing", (base,), {"mmu_kinds": ("shadow",)})
    nesting = type("Nesting", (base,), {"mmu_kinds": ("nested",)})
    spec = load("riscv32_sv32")

    def unmet(cls, s=spec):
        return [u for u in requirements_unmet(cls, SimpleNamespace(spec=s), theorems=False) if "paging" in u
                or "page tables" in u]
    assert unmet(shadowing) == []
    assert unmet(nesting) and "shadow paging" in unmet(nesting)[0]
    bare = SimpleNamespace(**{k: getattr(spec, k) for k in ("fetch_body", "virtualization")})
    bare.virtualization = SimpleNamespace(**{**vars(spec.virtualization), "mmu": None})
    assert unmet(shadowing, bare) and "does not say how" in unmet(shadowing, bare)[0]


def test_a_pager_that_does_not_know_the_specs_tables_is_not_applicable():
    """Trap-and-emulate implements shadow paging for Sv32 only: a map that declares shadow paging over
    other page tables leaves it not applicable, with the reason."""
    te = TECHNIQUES["trap-and-emulate"]
    spec = load("riscv32_sv32")
    assert te.mmu_unsupported(spec) is None
    other = SimpleNamespace(**{k: getattr(spec, k) for k in ("fetch_body", "virtualization", "namespace", "constants",
                                                             "memory", "registers")})
    other.causes = {}  # no Sv32 page faults: not the walk the pager knows
    assert "Sv32" in te.mmu_unsupported(other)
    assert any("Sv32" in u for u in requirements_unmet(te, SimpleNamespace(spec=other), theorems=False))
