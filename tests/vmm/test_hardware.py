"""Hardware assist (vverify/vmm/hardware.py) on pg74's extension, specs/pg74_vt.toml.

The classifier decides the extension's verdict from its semantics; the VMM
then runs a guest in non-root operation, where system calls reach the
guest's own handler without the VMM and only the selected events exit.
"""

import shutil
from pathlib import Path

from tests.conftest import load, report_of, spec_path
from vverify import guests as G
from vverify.check.run import check_spec
from vverify.fuzz import search
from vverify.fuzz.equivalence import compare_views
from vverify.fuzz.matrix import predict
from vverify.spec.loader import load_spec
from vverify.vmm import HardwareAssisted, Native, requirements_unmet

PROGRAM = """
user_main:
        li    r0, 7
        svc   1                 # putc 7
        svc   2                 # yield
        li    r0, 9
        svc   1                 # putc 9
        svc   0                 # exit
"""


def run_both(spec, text, budget=2000):
    guest = G.boot_state(spec, G.build(spec, text))
    native, hw = Native(spec, guest), HardwareAssisted(spec, guest)
    a, b = native.run(budget), hw.run(budget)
    return native, hw, a, b


def test_every_instruction_is_safe_in_non_root_operation():
    report = report_of("pg74_vt")
    for u in report.units:
        assert (u.props["safe_supervisor"], u.props["safe_user"]) == ("yes", "yes"), u.id
    # the privileged PSW instructions stay privileged and control-sensitive: hardware
    # assist does not change the classes, only where they run
    lpsw = next(u for u in report.units if u.id == "lpsw")
    assert lpsw.props["privileged"] == "yes" and lpsw.props["control_sensitive"] == "yes"
    assert predict(report, "hardware-assisted")[0] == "equivalent"


def test_the_guest_runs_in_non_root_operation_and_only_halt_exits():
    spec = load("pg74_vt")
    native, hw, a, b = run_both(spec, PROGRAM)
    assert compare_views(spec, native, hw, a, b) == []
    assert G.read_output(spec, hw.guest_memory()) == [7, 9]
    c = hw.counters
    assert c.reflected["svc"] == 4  # four system calls, delivered by the machine to the guest's handler
    assert sum(c.traps.values()) == 0  # none of them reached the VMM
    assert dict(c.exits) == {"vmexit:hlt": 1}  # HALT exiting: the kernel's final halt
    assert c.emulated == 1 and c.direct == c.guest_instructions - 1
    assert requirements_unmet(HardwareAssisted, report_of("pg74_vt")) == []
    assert requirements_unmet(HardwareAssisted, report_of("pg74"))  # no extension: stated, not hidden


def test_delivered_traps_are_recorded_in_the_core_with_any_buffer():
    """The machine delivers the guest's traps inside the core's run loop, which records them
    (Core.record_traps); a buffer of one entry returns to be drained before each further trap
    and still gives the trace, counters and state of the default buffer, and native's trace."""
    spec = load("pg74_vt")
    guest = G.boot_state(spec, G.build(spec, PROGRAM))
    big, small = HardwareAssisted(spec, guest), HardwareAssisted(spec, guest)
    small.trace_capacity = 1
    a, b = big.run(2000), small.run(2000)
    native = Native(spec, guest)
    n = native.run(2000)
    assert a == b and a.trace == n.trace and len(a.trace) == 5
    ca, cb = big.counters.as_dict(), small.counters.as_dict()
    assert cb.pop("crossings") == ca.pop("crossings") + 4  # four more returns, one per trap after the first
    assert ca == cb and big.guest_state() == small.guest_state()


def test_the_guest_keeps_its_own_control_state():
    """lpsw runs in non-root operation on the guest's copies: the VMM reads them back."""
    spec = load("pg74_vt")
    native, hw, a, b = run_both(spec, PROGRAM, budget=12)  # stop inside the user program
    assert compare_views(spec, native, hw, a, b) == []
    regs, _ = hw.guest_registers()
    assert spec.mode_name(regs["mode"]) == "u" and regs["l"] == 0x1000
    assert (regs["vmx"], regs["hbase"]) == (0, 0)  # the VMM's registers stay out of the guest's view
    real = hw.g.core
    assert (real.reg("vmx"), real.reg("hbase")) == (1, hw.params["x"])


def test_a_broken_extension_is_found_by_the_classifier_and_the_fuzzer(tmp_path: Path):
    """Deliver traps in non-root operation without the nested relocation: the guest's
    vector is then read from the host's storage.  z3 flags every trapping
    instruction, and fuzzing shows the divergence it predicts."""
    isa = shutil.copytree(spec_path("pg74").parent, tmp_path / "pg74")  # the ISA's folder: specs, guest library
    text = (isa / "pg74_vt.toml").read_text()
    broken = text.replace("store(nested(", "store((").replace("load(nested(", "load((")
    assert broken != text
    (isa / "pg74_vt.toml").write_text(broken)
    spec = load_spec(isa / "pg74_vt.toml")
    report = check_spec(spec, use_cache=False)
    svc = next(u for u in report.units if u.id == "svc")
    assert svc.props["safe_user"] == "no"
    assert predict(report, "hardware-assisted")[0] == "diverges"
    r = search(spec, "hardware-assisted", examples=30, seed=0, report=report)
    assert r.diverged


def test_a_budget_that_ends_as_a_trap_is_delivered_leaves_the_same_guest():
    """Stopped after any number of instructions, the guest is the one bare metal leaves.

    A budget that runs out on the step that delivers a trap (the first step
    delivers the reset trap) once left the guest's own control registers
    unread from the machine: the guest's b looked like 0 instead of the boot
    PSW's 0xFFFF.
    """
    spec = load("pg74_vt")
    for budget in range(1, 40):
        native, hw, a, b = run_both(spec, PROGRAM, budget)
        assert compare_views(spec, native, hw, a, b) == [], f"budget {budget}"
