"""The cost model: arithmetic from counts, and profile data with a source for every figure."""

import math

import pytest

from vverify.bench import costmodel as C


@pytest.fixture(scope="module")
def profiles():
    return C.load_profiles()


def test_per_operation_subtracts_the_baseline_exactly():
    run = {"direct": 250, "emulated": 20, "traps": {"svc": 10, "memory": 1}, "exits": {"trap": 10}, "hypercalls": 0}
    base = {"direct": 30, "emulated": 0, "traps": {"memory": 1}, "exits": {}, "hypercalls": 0}
    per = C.per_operation(run, base, 10)
    assert per["direct"] == 22 and per["emulated"] == 2 and per["traps.svc"] == 1 and per["traps.memory"] == 0


def test_steady_state_uses_the_pilot_run_when_there_is_one():
    # one-time work (2 translations in the first loop trip) falls out of pilot -> run
    pilot = {"translations": 7, "tc_hits": 40, "direct": 100}
    run = {"translations": 7, "tc_hits": 120, "direct": 260}
    per = C.steady_state(run, 24, pilot, 8, {"translations": 5, "tc_hits": 0, "direct": 20})
    assert per["translations"] == 0 and per["tc_hits"] == 5 and per["direct"] == 10
    # without a usable pilot, the baseline is subtracted
    assert C.steady_state(run, 8, pilot, 8, {"translations": 5, "tc_hits": 0, "direct": 20})["translations"] == 0.25


def test_native_events_are_instructions_and_exceptions(profiles):
    flat = {"direct": 25.0, "reflected.svc": 1.0}
    ev = C.events(flat, "native", "native")
    assert ev["instruction"] == 25 and ev["exception"] == 1 and ev["trap"] == 0
    p = profiles["p4-2006"]
    total, parts = C.cycles(ev, p)
    assert total == 25 * p.cycles("instruction") + p.cycles("exception")
    assert set(parts) == {"instruction", "exception"}


def test_software_vmm_events(profiles):
    # trap-and-emulate on a privileged write: one trap, one emulated instruction, nothing delivered to the guest
    ev = C.events({"direct": 3.0, "emulated": 1.0, "traps.privileged": 1.0, "exits.trap": 1.0},
                  "trap-and-emulate", "software")
    assert (ev["trap"], ev["emulate"], ev["exception"]) == (1, 1, 0)
    p = profiles["p4-2006"]
    assert C.cycles(ev, p)[0] == 3 * p.cycles("instruction") + p.cycles("trap") + p.cycles("emulate")
    # a forwarded system call: the emulation only delivered the trap, so it is not charged as `emulate`
    ev = C.events({"direct": 23.0, "emulated": 2.0, "traps.svc": 1.0, "reflected.svc": 1.0, "tc_hits": 5.0,
                   "exits.budget": 5.0}, "binary-translation", "software")
    assert (ev["trap"], ev["emulate"], ev["callout"], ev["exception"], ev["tc_lookup"]) == (1, 0, 1, 1, 5)
    # core exits that only end a slice of direct execution are free
    assert "exits.budget" not in ev and all(e in C.EVENTS for e in ev)
    # interpretation: every emulated instruction is interpreted
    ev = C.events({"emulated": 9.0}, "interpretation", "software")
    assert ev["interpret"] == 9 and ev["emulate"] == 0


def test_hardware_vmm_events(profiles):
    ev = C.events({"direct": 20.0, "reflected.memory": 1.0, "exits.vmexit:hlt": 2.0, "exits.vmexit": 1.0,
                   "emulated": 3.0}, "hardware-assisted", "hardware")
    assert (ev["vm_exit"], ev["emulate"], ev["exception"], ev["trap"]) == (3, 3, 1, 0)
    p = profiles["modern"]
    assert math.isclose(C.cycles(ev, p)[0], 20 + 3 * p.cycles("vm_exit") + 3 * p.cycles("emulate")
                        + p.cycles("exception"))


def test_technique_kind():
    class HW:
        requires = ("hardware assist",)

    assert C.technique_kind("native") == "native"
    assert C.technique_kind("hardware-assisted") == "hardware"
    assert C.technique_kind("vt", HW) == "hardware"
    assert C.technique_kind("binary-translation") == "software"


def test_every_figure_has_a_source(profiles):
    sources = C.load_sources()
    data = C.load_data()
    for name, raw in data["profiles"].items():
        assert raw.get("title") and raw.get("machine"), name
        for event, fig in raw.get("events", {}).items():
            assert event in C.EVENTS, (name, event)
            assert fig["source"] == "assumption" or fig["source"] in sources, (name, event, fig["source"])
            assert isinstance(fig["confirmed"], bool), (name, event)
            if not fig["confirmed"]:
                assert fig.get("note"), f"{name}.{event}: an unconfirmed figure must say why in its note"
            assert fig["cycles"] > 0
    for key, s in sources.items():
        assert s.get("cite"), key
    # inheritance fills every event in every profile
    for p in profiles.values():
        assert set(p.events) == set(C.EVENTS)


def test_profiles_hold_events_only_never_workloads():
    from vverify.bench.workloads import WORKLOADS

    data = C.load_data()
    for name, raw in data["profiles"].items():
        assert not set(raw.get("events", {})) & set(WORKLOADS), name
        assert set(raw) <= {"title", "machine", "note", "inherits", "events"}, name


def test_published_figures_are_apart_from_the_model():
    pub = C.load_published()
    assert pub["adams06"]["cite"] and "rows" in pub["adams06"]
    assert pub["adams06"]["rows"]["divzero"] == {"native": 889, "bt": 3223, "hw": 1014}
    assert pub["kvm_unit_tests"]["rows"]["vmcall"] == 3898


def test_vmm_events_count_what_a_vmm_serves():
    """The cost per event's denominator: real traps, emulated instructions, hypercalls and VM exits,
    whatever their cause; not the guest's own exceptions, nor crossings, nor direct instructions."""
    flat = {"traps.svc": 1.0, "traps.privileged": 2.0, "emulated": 3.0, "hypercalls": 0.5,
            "exits.vmexit:io": 1.0, "exits.vmexit": 1.0, "exits.trap": 9.0, "reflected.svc": 1.0,
            "direct": 100.0, "crossings": 7.0}
    assert C.vmm_events(flat) == 1 + 2 + 3 + 0.5 + 1 + 1
