"""The checks run_pair makes after both runs (vverify/fuzz/equivalence.py)."""

from tests.conftest import load, report_of
from vverify.fuzz.equivalence import make_vmm, resource_violations, run_pair, stop_causes
from vverify.fuzz.programs import FuzzProgram


def test_resource_control_names_real_control_state_the_map_does_not_give():
    spec = load("pg74")
    program = FuzzProgram("pg74", (("syscall", 1, 5),), (), 400)
    guest = program.boot_state(spec)
    assert run_pair(spec, "trap-and-emulate", guest, 400).resource_violations == []
    vmm = make_vmm(spec, "trap-and-emulate", guest)
    vmm.run(400, stop_on=stop_causes(spec))
    assert resource_violations(spec, vmm) == []
    name, reg = next((n, r) for n, r in spec.registers.items() if r.control_mask)
    core = vmm.g.core
    i = core.layout.reg_index[name]
    core.R[i] ^= reg.control_mask & -reg.control_mask  # its lowest control bit, as if the guest had set it
    (found,) = resource_violations(spec, vmm)
    assert found.startswith(f"real {name} is {int(core.R[i]):#x}; the map gives ")
