# vverify guest library: the pg74 boot stub (also used for pg74_rdbase).
# See docs/guests.md.
#
# Popek & Goldberg's machine relocates and bounds every address in BOTH
# modes, and it resets with l = b = 0, so no address is legal at reset: the
# first fetch is a memory trap, whose entry loads the new PSW from E[4..7].
# That is how this machine boots: the image holds the kernel's PSW
# <s, _start, 0, KBOUND> at E[4..7], so the reset trap lands on _start in
# supervisor mode.  _start then installs the real trap vector (E[5] =
# k_trap) and enters the user program with `lpsw` of the user PSW
# <u, user_main, USER_BASE, USER_SIZE>.
#
# Physical memory map (16-bit words).  The kernel runs with l = 0, so its
# addresses are physical; its code and data stay below 1024 because ld, st,
# jmp and jz carry a 10-bit absolute address.
#   0x000  old PSW <M, P, l, b> (E[0..3]), written by every trap
#   0x004  new PSW (E[4..7]): the trap vector
#   0x008  cause, 0x009 trap value (written by every trap)
#   0x010  the guest info block: status, code, cause, tval, pc, count
#   0x018  kernel save area and constants
#   0x030  _start and the kernel (text)
#   0x100  the output buffer: GUEST_OUT_CAP words
#   0x200  kernel_extra: build(..., kernel_extra=...) lands here (up to 0x3F7)
#   0x3F8  PV_SHARED: the shared page of a paravirtualized kernel (8 words);
#          the VMM keeps the guest's virtual control registers there
#   0x1000 USER_BASE: user virtual address 0 (user l = 0x1000, b = 0x1000:
#          the user sees virtual 0 .. 0xFFF, physical 0x1000 .. 0x1FFF)
#
# Syscall ABI: `svc n` (the number is the instruction's immediate, which the
# trap stores as the trap value in E[9]); the argument is in r0.
#   svc 0   exit(r0)     record r0 as the exit code and halt
#   svc 1   putc(r0)     append r0 to the output buffer (dropped when full)
#   svc 2   yield()      return at once
#   svc n>=3             sys_extra (kernel_extra may define it; by default
#                        the same as yield)
# r0-r3 are preserved across a syscall.
#
# Halt: the privileged `halt` instruction (Exit/CoreExit reason "halt").
# Any other trap (privileged = 1, memory = 2) is reflected: the kernel
# records the cause, the trap value and the trapping pc with status 2 and
# halts.
#
# The machine has no indexed store, so putc writes the buffer through a
# store instruction it builds at k_patch (self-modifying code).

        .equ  USER_BASE, 0x1000         # user l: the physical address of user virtual 0
        .equ  USER_SIZE, 0x1000         # user b: user virtual addresses 0 .. USER_SIZE-1
        .equ  USER_ORIGIN, 0            # where build() assembles the user program (virtual)
        .equ  KBOUND, 0xFFFF            # the kernel's bound (l = 0)
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .equ  K_EXTRA, 0x200
        .equ  PV_SHARED, 0x3F8          # paravirtualization's shared page (see the map above)

        .equ  CAUSE_SVC, 3

        .equ  OLD_MODE, 0               # the old PSW, written by the trap entry
        .equ  OLD_PC, 1
        .equ  NEW_PSW, 4                # the new PSW, read by the trap entry
        .equ  TRAP_CAUSE, 8
        .equ  TRAP_TVAL, 9

# ---------------------------------------------------------------- reset vector
        .org  NEW_PSW
        .word 0, _start, 0, KBOUND      # boot PSW: the reset trap enters _start

# ---------------------------------------------------------------- data
        .org  0x10
guest_status:   .word 0                 # 0 running, 1 exit, 2 trap
guest_code:     .word 0                 # exit: the code passed in r0
guest_cause:    .word 0                 # trap: the cause code
guest_tval:     .word 0                 # trap: the trap value
guest_pc:       .word 0                 # the pc (virtual) of the exit svc / trapping instruction
guest_count:    .word 0                 # words in guest_out

        .org  0x18
k_save0:        .word 0                 # the user's registers during a trap
k_save1:        .word 0
k_save2:        .word 0
k_save3:        .word 0
k_c1:           .word 1
k_c2:           .word 2
k_ccause_svc:   .word CAUSE_SVC
k_cap:          .word GUEST_OUT_CAP
k_trapvec:      .word k_trap
k_kbound:       .word KBOUND
k_st_out:       st    r0, guest_out     # the template putc adds the count to
k_upsw:         .word 1, user_main, USER_BASE, USER_SIZE   # the user PSW <u, P, l, b>

# ---------------------------------------------------------------- boot
        .org  0x30
_start:                                 # entered by the reset trap, in supervisor mode
        li    r0, 0
        st    r0, NEW_PSW               # the trap vector: mode s ...
        ld    r0, k_trapvec
        st    r0, NEW_PSW + 1           # ... pc = k_trap ...
        li    r0, 0
        st    r0, NEW_PSW + 2           # ... l = 0 ...
        ld    r0, k_kbound
        st    r0, NEW_PSW + 3           # ... b = KBOUND
        li    r0, 0                     # user_main starts with r0-r3 = 0
        lpsw  k_upsw                    # enter user mode at user_main, relocated

# ---------------------------------------------------------------- traps
k_trap:
        st    r0, k_save0
        st    r1, k_save1
        st    r2, k_save2
        st    r3, k_save3
        ld    r1, TRAP_CAUSE
        sub   r1, k_ccause_svc
        jz    r1, k_svc
        # any other trap: reflect it (record and halt)
        ld    r1, TRAP_CAUSE
        st    r1, guest_cause
        ld    r1, TRAP_TVAL
        st    r1, guest_tval
        ld    r1, OLD_PC
        st    r1, guest_pc
        li    r1, STATUS_TRAP
        st    r1, guest_status
k_halt:
        halt

k_svc:
        ld    r1, TRAP_TVAL             # the syscall number
        jz    r1, k_sys_exit
        sub   r1, k_c1
        jz    r1, k_sys_putc
        sub   r1, k_c1
        jz    r1, k_return
        jmp   sys_extra

k_return:                               # back to the caller, after its svc
        ld    r1, OLD_PC
        add   r1, k_c1                  # the saved pc is the svc's own
        st    r1, OLD_PC
        ld    r0, k_save0
        ld    r1, k_save1
        ld    r2, k_save2
        ld    r3, k_save3
        lpsw  OLD_MODE                  # restore <M, P, l, b> at once

k_sys_putc:
        ld    r1, guest_count
        sub   r1, k_cap
        jz    r1, k_return              # full: drop the value
        ld    r1, k_st_out
        add   r1, guest_count           # st r0, guest_out + count
        st    r1, k_patch
k_patch:
        .word 0                         # the store built above runs here
        ld    r1, guest_count
        add   r1, k_c1
        st    r1, guest_count
        jmp   k_return

k_sys_exit:
        st    r0, guest_code
        ld    r1, OLD_PC
        st    r1, guest_pc
        li    r1, STATUS_EXIT
        st    r1, guest_status
        halt

# ---------------------------------------------------------------- output
        .org  0x100
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here (it must end below 0x400).  Syscall
# numbers >= 3 jump to sys_extra with r0-r3 saved in k_save0-3 (r1-r3 free
# to use, r0 still the argument); finish with `jmp k_return` (or k_halt).
        .org  K_EXTRA
kernel_extra:
