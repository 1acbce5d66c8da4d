# vverify guest library: the mips32_kuseg boot stub (see docs/guests.md and
# kernel.s).  The same kernel relinked into the user segment, as KVM/MIPS's
# trap-and-emulate requires: it runs at virtual = physical in kuseg, mapped
# by the wired TLB entry 0 that the machine holds when the kernel is entered.
        .equ  KBASE, 0
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .include "kernel.s"
