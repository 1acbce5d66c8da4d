# vverify guest library: the mips32 boot stub (see docs/guests.md and
# kernel.s).  The kernel where MIPS kernels live: in kseg0, at virtual
# 0x80000000 + its physical address, unmapped.  It boots from kuseg, which
# is unmapped while ERL = 1 (the reset state), and ERETs into kseg0.
        .equ  KBASE, 0x80000000
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .include "kernel.s"
