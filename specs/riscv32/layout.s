# vverify guest library: riscv32's physical layout and trap causes, shared by
# both boot stubs (boot.s, boot_sv32.s; the memory map is in boot.s's header).

        .equ  USER_BASE, 0              # no relocation: user virtual = physical
        .equ  USER_ORIGIN, 0x4000       # where build() assembles the user program
        .equ  USER_SIZE, 0x10000        # the user region ends at the end of memory
        .equ  USER_STACK, 0x10000       # initial user sp
        .equ  KSTACK_TOP, 0x2000
        .equ  GUEST_INFO, 0x1000
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .equ  K_EXTRA, 0x800

        .equ  CAUSE_ECALL_U, 8
        .equ  CAUSE_ECALL_M, 11
