"""The composition layer (vverify.context): one object per spec, holding what the features share.

Fuzz, bench, the CLI and the pytest plugin build on :class:`SpecContext`
instead of on one another (issue 14); these tests hold it to what its
docstring promises: made once per spec, its report and machines reused, its
VMM factory giving each technique what it needs, and per-spec state kept
with the spec rather than in module-level caches.
"""

import pytest

from tests.conftest import load, report_of
from vverify import guests as G
from vverify.context import SpecContext, context_of, load_context
from vverify.vmm import TECHNIQUES


def test_one_context_per_loaded_spec():
    spec = load("pg74")
    ctx = context_of(spec)
    assert isinstance(ctx, SpecContext) and ctx.spec is spec
    assert context_of(spec) is ctx
    assert context_of(load("pg74_rdbase")) is not ctx


def test_load_context_takes_a_bundled_name():
    ctx = load_context("pg74")
    assert ctx.spec.name == "pg74" and ctx.spec.path.endswith("pg74/pg74.toml")


def test_the_report_is_made_once_and_drives_translation_set_and_requirements():
    spec = load("pg74_rdbase")
    ctx = context_of(spec)
    report = ctx.use_report(report_of(spec))  # the session's verdicts: no solving here
    assert ctx.report(timeout_ms=report.timeout_ms) is report
    # rdbase reads the relocation base unprivileged, in user mode too: Theorems 1 and 3 fail, so neither
    # trap-and-emulate nor the hybrid VMM is for it; binary translation is
    assert ctx.unmet("trap-and-emulate", report)
    assert ctx.unmet("hybrid", report)
    assert ctx.unmet("binary-translation", report) == []
    assert "rdbase" in {u for units in ctx.translation_set(report).values() for u in units}


def test_machines_are_reused_per_role():
    ctx = context_of(load("pg74"))
    assert ctx.core("vmm") is ctx.core("vmm")
    assert ctx.core("vmm") is not ctx.core("native")
    assert ctx.core_problem() == ""


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_make_vmm_gives_every_technique_a_vmm_on_the_shared_machine(technique):
    spec = load("pg74_vt") if technique == "hardware-assisted" else load("pg74")
    ctx = context_of(spec)
    report = ctx.use_report(report_of(spec))
    if ctx.unmet(technique, report, theorems=False):
        pytest.skip(f"{technique} does not apply to {spec.name}")
    program = G.build(spec, G.syscall_text(spec, G.layout(spec).constants["SYS_EXIT"], 0))
    vmm = ctx.make_vmm(technique, G.boot_state(spec, program), translate=ctx.translation_set(report),
                       code=program.code_map())
    assert vmm.technique == technique
    machine = vmm.g.core if hasattr(vmm, "g") else vmm.core
    assert machine is ctx.core("vmm")
    ex = vmm.run(100_000, stop_on=ctx.stop_causes())  # the guest exits(0) under every technique
    assert ex.reason in ("halt", "stop") and G.exit_status(spec, vmm.guest_state()).status == "exit"


def test_a_variant_finds_its_guest_library_through_extends():
    """pg74_rdbase declares no [guest] table: it runs pg74's stub, found through `extends`."""
    base, variant = context_of(load("pg74")), context_of(load("pg74_rdbase"))
    assert variant.has_guests and base.has_guests
    assert G.stub_path(variant.spec) == G.stub_path(base.spec)
    assert variant.stop_causes() == base.stop_causes()


def test_per_spec_state_lives_with_the_spec():
    a, b = context_of(load("pg74")), context_of(load("pdp10"))
    made = []
    assert a.memo("k", lambda s: made.append(s.name) or s.name) == "pg74"
    assert a.memo("k", lambda s: made.append(s.name) or "again") == "pg74"
    assert b.memo("k", lambda s: made.append(s.name) or s.name) == "pdp10"
    assert made == ["pg74", "pdp10"]
