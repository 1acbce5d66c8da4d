"""Each technique against bare metal, as the theorems predict (the verdict matrix, in CI)."""

import pytest

from tests.conftest import SPEC_FILES, load, report_of
from vverify.fuzz import search
from vverify.fuzz.matrix import TECHNIQUES, cell, predict
from vverify.vmm import TECHNIQUES as VMMS, requirements_unmet

SPECS = [p.stem for p in SPEC_FILES]


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("spec_name", SPECS)
def test_prediction_and_observation_agree(spec_name, technique):
    spec = load(spec_name)
    report = report_of(spec)
    c = cell(spec, report, technique, examples=60, seed=0)
    assert c.agree, f"predicted {c.predicted} ({c.why}), observed {c.observed}: {c.differences}"
    if c.culprit:
        assert c.culprit_flagged


def test_structural_requirements_make_a_cell_not_applicable():
    """Hardware assist needs the spec's extension; software techniques need a software map."""
    vt, plain = report_of("pg74_vt"), report_of("pg74")
    na = cell(load("pg74"), plain, "hardware-assisted", examples=5, seed=0)
    assert (na.predicted, na.observed, na.examples) == ("n/a", "not run", 0)
    assert "hardware-assist extension" in na.why
    assert cell(load("pg74_vt"), vt, "trap-and-emulate", examples=5, seed=0).predicted == "n/a"
    assert cell(load("pg74_vt"), vt, "hardware-assisted", examples=5, seed=0).predicted == "equivalent"


def test_a_failed_theorem_predicts_no_divergence_where_the_map_makes_every_unit_safe():
    """mips32's loads and stores are location-sensitive in kernel mode and unprivileged, so Theorem 1 fails;
    but under the map a deprivileged kernel's kseg0 access traps, so every unit traps or commutes and
    trap-and-emulate is equivalent, at the cost of efficiency.  pdp10's JRST 1 is unsafe: a divergence."""
    pred, why = predict(report_of("mips32"), "trap-and-emulate")
    assert pred == "equivalent" and why.startswith("Theorem 1 fails (lb, ") and "trap or commute" in why
    assert predict(report_of("mips32_kuseg"), "trap-and-emulate") == ("equivalent", "Theorem 1 holds")
    assert predict(report_of("pdp10"), "trap-and-emulate")[0] == "diverges"
    c = cell(load("mips32"), report_of("mips32"), "trap-and-emulate", examples=20, seed=0)
    k = cell(load("mips32_kuseg"), report_of("mips32_kuseg"), "trap-and-emulate", examples=20, seed=0)
    assert c.agree and k.agree
    assert c.direct_fraction < k.direct_fraction  # the relinked kernel runs directly; the kseg0 one cannot


def test_pdp10_trap_and_emulate_counterexample_involves_jrst1():
    spec = load("pdp10")
    report = report_of(spec)
    r = search(spec, "trap-and-emulate", examples=100, seed=0, report=report)
    assert r.diverged
    assert r.counterexample.culprit[0] == "jrst1"
    assert "muuo" in r.counterexample.program.assembly(spec)  # system calls return through the kernel's JRST 1


def test_requirements_are_stated_and_checked():
    report = report_of("pdp10")
    assert requirements_unmet(VMMS["trap-and-emulate"], report)  # Theorem 1 fails on pdp10
    assert not requirements_unmet(VMMS["hybrid"], report)  # Theorem 3 holds
    assert not requirements_unmet(VMMS["native"], report)


def test_efficiency_is_reported():
    spec = load("pg74")
    r = search(spec, "trap-and-emulate", examples=20, seed=1, report=report_of(spec))
    assert 0.5 < r.direct_fraction <= 1.0  # most guest instructions ran directly
    ri = search(spec, "interpretation", examples=20, seed=1, report=report_of(spec))
    assert ri.direct_fraction == 0.0
