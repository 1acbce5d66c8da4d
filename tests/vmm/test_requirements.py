"""What each technique requires of a spec, and says when it is missing (vverify.vmm.requirements_unmet)."""

from types import SimpleNamespace

import pytest

from tests.conftest import SPEC_FILES, load
from vverify.vmm import TECHNIQUES, requirements_unmet, walks_page_tables

ON_THE_REAL_MMU = {"trap-and-emulate", "binary-translation", "paravirtualization"}


def structural(technique, spec_name):
    return requirements_unmet(TECHNIQUES[technique], SimpleNamespace(spec=load(spec_name)), theorems=False)


def test_only_the_paged_spec_walks_page_tables():
    assert [p.stem for p in SPEC_FILES if walks_page_tables(load(p))] == ["riscv32_sv32"]


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_techniques_on_the_real_mmu_refuse_a_paged_spec_until_they_virtualize_it(technique):
    """Running guest supervisor code directly with the guest's own root pointer is wrong under paging
    (an S-mode access to a U page faults natively and succeeds in real U-mode): those techniques say
    so, and the matrix shows their cells as not applicable rather than as a disagreement."""
    unmet = structural(technique, "riscv32_sv32")
    assert any("page tables in memory" in u for u in unmet) == (technique in ON_THE_REAL_MMU)
    assert not any("page tables in memory" in u for u in structural(technique, "riscv32"))
