# vverify guest library: the mips32 kernel (see docs/guests.md), included by
# boot.s (KBASE = 0x80000000: the kernel in kseg0, mips32.toml) and by
# boot_kuseg.s (KBASE = 0: the kernel relinked into kuseg, mips32_kuseg.toml),
# after the library's ABI (abi.s: SYS_*, STATUS_*, GUEST_OUT_CAP).
# One kernel, two placements: it runs at virtual KBASE + its physical
# address, reaching its data as offsets from a register holding KBASE, and
# branches pc-relatively, so the same bytes serve both.
#
# A kernel in kernel mode and a user program in user mode.  Every exception
# enters at EBase + 0x180 (EBase + 0x000 for a TLB refill with EXL clear);
# k0 and k1 are the kernel's, as on every MIPS kernel: a user program must
# not expect them to survive an exception.  Every other register is
# preserved across a system call.
#
# Physical memory map (bytes):
#   0x0000  k_refill, the TLB refill vector (EBase + 0x000)
#   0x0180  k_trap, the general exception vector (EBase + 0x180)
#   0x0400  _start (the reset pc), the system calls
#   0x0800  kernel_extra: build(..., kernel_extra=...) lands here
#   0x1000  the guest info block (status, code, cause, tval, pc, count)
#   0x1040  k_hook: a kernel extension's exception handler (0: none)
#   0x1100  the output buffer: GUEST_OUT_CAP 32-bit words
#   0x1F00  the kernel's save area (t0-t2 while it runs)
#   0x4000  USER_ORIGIN: the user program (user_main), its data above it
#   0x8000  USER_STACK: the user's initial sp (the stack grows down)
# The kernel's region 0x0000-0x1FFF is at virtual KBASE + physical: in kseg0
# (mips32), or in kuseg through the wired TLB entry 0 (mips32_kuseg).  The
# user region, virtual 0x4000-0x7FFF, is mapped to the same physical pages
# by TLB entries 1 and 2 (global); _start wires entries 0-2 (Wired = 3), so
# TLBWR replaces entry 3 only.  USER_BASE = 0: user virtual = physical.
#
# Syscall ABI: `syscall` with the number in v0 and the argument in a0.
#   v0 = 0  exit(a0)     record a0 as the exit code and halt
#   v0 = 1  putc(a0)     append the word a0 to the output buffer (dropped
#                        when the buffer is full)
#   v0 = 2  yield()      return at once
#   v0 >= 3              sys_extra (kernel_extra may define it; by default
#                        the same as yield), with t0-t2 saved (free to use)
#                        and k1 = KBASE; finish with `bc k_return - . - 4`.
#
# Halt: the kernel ends the machine with WAIT in kernel mode: no interrupt
# is modelled, so nothing could end the wait (halt by instruction).
#
# Any other exception (an address error, a TLB exception, a privileged
# instruction, BREAK, an overflow, a trap) is reflected: the kernel records
# the cause code (Cause.ExcCode, plus 32 when it came through the refill
# vector), BadVAddr and EPC in the info block with status 2, and halts.  A
# kernel extension may take these exceptions first by storing a handler's
# virtual address in k_hook: the kernel jumps there with t0-t2 saved,
# t0 = Cause.ExcCode << 2, k0 = 32 for a refill (else 0) and k1 = KBASE; the
# handler ends at k_return (resume after the faulting instruction),
# k_resume (retry it) or k_reflect (the library's handling).
#
# Branches are Release 6 compact branches; their operand is the byte offset
# from the next instruction, written `target - . - 4`.  BEQC and BNEC take
# their lower-numbered register first (see the spec: with rs >= rt the
# opcode is BOVC/BNVC); `bltc zero, r` is BGTZC r and `bgec zero, r` BLEZC r.

        .equ  USER_BASE, 0              # user virtual = physical
        .equ  USER_ORIGIN, 0x4000       # where build() assembles the user program
        .equ  USER_SIZE, 0x8000         # user virtual addresses are below this
        .equ  USER_STACK, 0x8000        # initial user sp
        .equ  GUEST_INFO, 0x1000
        .equ  K_EXTRA, 0x800
        .equ  K_HOOK, 0x1040
        .equ  K_SAVE, 0x1F00

        .equ  EXC_SYS, 8                # Cause.ExcCode of SYSCALL
        .equ  ST_UM, 0x10               # Status.UM
        .equ  ST_EXL, 0x2               # Status.EXL
        .equ  EBASE_WG, 0x800           # EBase's write gate
        .equ  PTE_FLAGS, 0x1F           # EntryLo: C = 3 (cacheable), D, V, G

# ---------------------------------------------------------------- exception vectors
        .org  0
k_refill:                               # EBase + 0x000: TLB refill with EXL clear
        aui   k1, zero, KBASE >> 16
        addiu k0, zero, 32              # the recorded cause gets + 32
        bc    k_entry - . - 4

        .org  0x180
k_trap:                                 # EBase + 0x180: every other exception
        aui   k1, zero, KBASE >> 16
        addiu k0, zero, 0
k_entry:                                # k1 = KBASE, k0 = 32 on the refill vector, else 0
        sw    t0, K_SAVE(k1)
        sw    t1, K_SAVE+4(k1)
        sw    t2, K_SAVE+8(k1)
        mfc0  t0, cause
        andi  t0, t0, 0x7C              # ExcCode << 2
        addiu t1, zero, EXC_SYS << 2
        beqc  t0, t1, k_syscall - . - 4
        lw    t1, K_HOOK(k1)            # not a system call: a kernel extension's handler?
        sltu  t2, zero, t1
        bltc  zero, t2, k_hooked - . - 4
k_reflect:                              # record the exception and halt
        srl   t0, t0, 2
        addu  t0, t0, k0
        sw    t0, GUEST_INFO+8(k1)      # guest_cause
        mfc0  t0, badvaddr
        sw    t0, GUEST_INFO+12(k1)     # guest_tval: BadVAddr (meaningful for address and TLB exceptions)
        mfc0  t0, epc
        sw    t0, GUEST_INFO+16(k1)     # guest_pc
        addiu t0, zero, STATUS_TRAP
        sw    t0, GUEST_INFO(k1)        # guest_status
        bc    k_halt - . - 4
k_hooked:
        jic   t1, 0

# ---------------------------------------------------------------- boot
        .org  0x400
_start:                                 # reset: kernel mode, pc = _start; on mips32 ERL = BEV = 1, so
                                        # this runs from kuseg unmapped; on mips32_kuseg through entry 0
        aui   t0, zero, KBASE >> 16
        ori   t0, t0, k_boot
        mtc0  t0, errorepc
        mtc0  t0, epc
        eret                            # to KBASE + k_boot, clearing ERL (or EXL)
k_boot:
        aui   t0, zero, KBASE >> 16
        ori   t0, t0, EBASE_WG
        mtc0  t0, ebase                 # exception base KBASE (the write gate lets bits 31:30 through)
        addiu t0, zero, 1               # the user region: entries 1 and 2
        mtc0  t0, index
        ori   t0, zero, USER_ORIGIN
        mtc0  t0, entryhi               # VPN2 of 0x4000, ASID 0
        ori   t0, zero, (USER_ORIGIN >> 6) | PTE_FLAGS
        mtc0  t0, entrylo0              # -> physical 0x4000
        ori   t0, zero, ((USER_ORIGIN + 0x1000) >> 6) | PTE_FLAGS
        mtc0  t0, entrylo1              # -> physical 0x5000
        tlbwi
        addiu t0, zero, 2
        mtc0  t0, index
        ori   t0, zero, USER_ORIGIN + 0x2000
        mtc0  t0, entryhi
        ori   t0, zero, ((USER_ORIGIN + 0x2000) >> 6) | PTE_FLAGS
        mtc0  t0, entrylo0
        ori   t0, zero, ((USER_ORIGIN + 0x3000) >> 6) | PTE_FLAGS
        mtc0  t0, entrylo1
        tlbwi
        mtc0  zero, entryhi             # ASID 0
        addiu t0, zero, 3
        mtc0  t0, wired                 # entries 0-2 wired; Random = 3
        ori   t0, zero, user_main
        mtc0  t0, epc
        ori   sp, zero, USER_STACK      # the user stack
        ori   t0, zero, ST_UM | ST_EXL  # user mode once ERET clears EXL; BEV and ERL clear
        mtc0  t0, status
        addiu t0, zero, 0               # user_main starts with every register 0 but sp
        eret

# ---------------------------------------------------------------- system calls
k_syscall:                              # v0 = the call number, a0 its argument
        addiu t1, zero, SYS_EXIT
        beqc  v0, t1, k_sys_exit - . - 4
        addiu t1, zero, SYS_PUTC
        beqc  v0, t1, k_sys_putc - . - 4
        addiu t1, zero, SYS_YIELD
        beqc  v0, t1, k_return - . - 4
        bc    sys_extra - . - 4

k_return:                               # back to the caller, after its syscall
        mfc0  k0, epc
        addiu k0, k0, 4                 # EPC is the syscall's own address
        mtc0  k0, epc
k_resume:                               # back to EPC as it is
        aui   k1, zero, KBASE >> 16
        lw    t0, K_SAVE(k1)
        lw    t1, K_SAVE+4(k1)
        lw    t2, K_SAVE+8(k1)
        eret

k_sys_putc:
        lw    t0, GUEST_INFO+20(k1)     # guest_count
        addiu t1, zero, GUEST_OUT_CAP
        bgec  t0, t1, k_return - . - 4  # full: drop the value
        addiu t1, t0, 1
        sw    t1, GUEST_INFO+20(k1)
        sll   t0, t0, 2
        addu  t0, t0, k1
        sw    a0, GUEST_INFO+0x100(t0)  # guest_out[count]
        bc    k_return - . - 4

k_sys_exit:
        sw    a0, GUEST_INFO+4(k1)      # guest_code
        mfc0  t0, epc
        sw    t0, GUEST_INFO+16(k1)     # guest_pc: the exit syscall
        addiu t0, zero, STATUS_EXIT
        sw    t0, GUEST_INFO(k1)
k_halt:
        wait  0                         # kernel mode: the machine stops (the halt convention)
        bc    k_halt - . - 4

# ---------------------------------------------------------------- data
        .org  GUEST_INFO
guest_status:   .space 4                # 0 running, 1 exit, 2 trap
guest_code:     .space 4                # exit: the code passed in a0
guest_cause:    .space 4                # trap: Cause.ExcCode (+ 32 through the refill vector)
guest_tval:     .space 4                # trap: BadVAddr
guest_pc:       .space 4                # EPC: the exit syscall / the excepting instruction
guest_count:    .space 4                # words in guest_out
        .org  GUEST_INFO + 0x100
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here.  Syscall numbers >= 3 jump to sys_extra
# with t0-t2 saved (free to use) and k1 = KBASE; finish with
# `bc k_return - . - 4` (or k_halt).
        .org  K_EXTRA
kernel_extra:
