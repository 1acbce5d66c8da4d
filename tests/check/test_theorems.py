"""The theorems come out of the semantics, per bundled spec, as the literature says."""

import pytest

from tests.conftest import load, report_of, spec_path
from vverify.check.run import check_spec

YES, NO = "yes", "no"


def report(name):
    return check_spec(load(name), use_cache=False)


def test_pg74_is_classically_virtualizable():
    r = report("pg74")
    assert r.theorems["theorem1"].status == YES
    assert r.theorems["theorem3"].status == YES
    assert r.ok, [c.message for c in r.failed_claims]
    # the privileged PSW and relocation instructions are the sensitive ones
    sensitive = {u.id for u in r.units if u.props["sensitive"] == YES}
    assert sensitive == {"lpsw", "setr", "getr"}
    assert all(r.unit(i).props["privileged"] == YES for i in sensitive)


@pytest.mark.skipif(not (spec_path("pg74_rdbase")).exists(), reason="variant not bundled")
def test_pg74_variant_fails_theorem1_on_the_added_instruction():
    r = report("pg74_rdbase")
    t1 = r.theorems["theorem1"]
    assert t1.status == NO
    assert t1.violators == ["rdbase"]
    w = next(a.witness for a in r.unit("rdbase").answers if a.question == "location" and a.status == YES)
    assert w.fields, "the witness names the fields that differ"
    assert r.ok


@pytest.mark.skipif(not (spec_path("pdp10")).exists(), reason="pdp10 not bundled")
def test_pdp10_fails_theorem1_but_admits_a_hybrid_vmm():
    r = report("pdp10")
    assert r.theorems["theorem1"].status == NO
    assert "jrst1" in r.theorems["theorem1"].violators
    assert r.theorems["theorem3"].status == YES
    j = r.unit("jrst1").props
    assert j["control_sensitive"] == YES and j["privileged"] == NO and j["user_sensitive"] == NO
    assert r.ok, [c.message for c in r.failed_claims]


@pytest.mark.skipif(not (spec_path("riscv32")).exists(), reason="riscv32 not bundled")
def test_riscv32_verdicts_match_its_claims():
    # riscv32 is the longest classification of the small tests here (about a minute alone): take it
    # through the session's proof cache, which the README's first command fills by solving every
    # bundled spec afresh, under keys made of the spec's and the verdict code's bytes
    r = report_of("riscv32")
    assert r.ok, [c.message for c in r.failed_claims] + r.replay_errors
    assert r.theorems["theorem1"].status == YES


def test_every_sensitive_verdict_has_a_replayed_witness():
    r = report("pg74")
    for u in r.units:
        for a in u.answers:
            if a.status == YES:
                assert a.witness is not None and a.witness.states
        assert not u.replay_errors
