# vverify guest library: the armv7a boot stub and kernel (see docs/guests.md).
#
# A kernel in Supervisor mode and a user program in User mode.  The
# exception vectors are at 0 (VBAR = 0, SCTLR.V = 0): SVC enters Supervisor
# mode at 0x08 with LR_svc = the instruction after the SVC; an Undefined
# Instruction enters Undefined mode at 0x04 with LR_und = the instruction
# + 4; a Data Abort (an alignment fault: no MMU is modelled) enters Abort
# mode at 0x10 with LR_abt = the instruction + 8 and DFAR = the address.
# Each mode has its own SP (banked): the kernel's stacks below.  Every
# register is preserved across a system call (r0-r3 are saved on the SVC
# stack; the user's SP and LR are banked away from the kernel's).
#
# Physical memory map (bytes):
#   0x0000  the exception vectors
#   0x0400  _start (the boot), the system calls, the exception handlers
#   0x0800  kernel_extra: build(..., kernel_extra=...) lands here
#   0x1000  the guest info block (status, code, cause, tval, pc, count)
#   0x1040  k_hook: a kernel extension's exception handler (0: none)
#   0x1100  the output buffer: GUEST_OUT_CAP 32-bit words
#   0x1D00  the Abort mode stack (grows down), 0x1E00 the Undefined mode's
#   0x1F00  the kernel's save area; 0x2000 the Supervisor mode stack
#   0x4000  USER_ORIGIN: the user program (user_main), its data above it
#   0x8000  USER_STACK: the user's initial SP (the stack grows down)
# No MMU: User mode reaches all of memory; USER_BASE = 0, user = physical.
#
# Syscall ABI: `svc al, 0` with the number in r7 and the argument in r0.
#   r7 = 0  exit(r0)     record r0 as the exit code and halt
#   r7 = 1  putc(r0)     append the word r0 to the output buffer (dropped
#                        when the buffer is full)
#   r7 = 2  yield()      return at once
#   r7 >= 3              sys_extra (kernel_extra may define it; by default
#                        the same as yield), in Supervisor mode with r0-r3
#                        saved on the stack (r1-r3 free to use; the caller's
#                        r0 is in r0 and at [sp, 0], which k_return reloads)
#                        and LR = the return address; finish with
#                        `b al, k_return - . - 8`.
#
# Halt: the kernel ends the machine with WFI: no interrupt is modelled, so
# nothing could end the wait (halt by instruction).
#
# Any other exception (an Undefined Instruction, a Data Abort) is reflected:
# the kernel records the cause code (the vector offset / 4: 1 Undefined
# Instruction, 4 Data Abort), DFAR for an abort (else 0) and the faulting
# instruction's address in the info block with status 2, and halts.  A
# kernel extension may take these exceptions first by storing a handler's
# address in k_hook: the kernel jumps there in the exception's mode, with
# r0-r3 saved on that mode's stack, r0 = the cause code, r1 = the faulting
# instruction's address and r2 = DFAR (or 0); the handler ends at k_skip
# (an Undefined Instruction: resume after it) or k_reflect (the library's
# handling).
#
# Syntax: the condition is every conditional instruction's first operand
# (`al` always); a data-processing immediate is the 12-bit field, so a
# plain value is below 256 (larger values: movw/movt); a register operand
# is written with its shift, `lsl(r1, 0)`; a branch's operand is the offset
# from the instruction's address plus 8, written `label - . - 8`.

        .include "abi.s"                # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI

        .equ  USER_BASE, 0              # user = physical
        .equ  USER_ORIGIN, 0x4000       # where build() assembles the user program
        .equ  USER_SIZE, 0x8000         # user addresses are below this
        .equ  USER_STACK, 0x8000        # initial user SP
        .equ  GUEST_INFO, 0x1000
        .equ  K_EXTRA, 0x800
        .equ  K_HOOK, 0x1040
        .equ  K_SAVE, 0x1F00
        .equ  SVC_STACK, 0x2000
        .equ  UND_STACK, 0x1E00
        .equ  ABT_STACK, 0x1D00

        .equ  MODE_USR, 0x10
        .equ  MODE_SVC, 0x13
        .equ  MODE_ABT, 0x17
        .equ  MODE_UND, 0x1B
        .equ  RL_R0_R3, 0x000F          # register lists
        .equ  RL_SP_LR, 0x6000

# ---------------------------------------------------------------- exception vectors
        .org  0
k_vectors:
        b     al, _start - . - 8        # 0x00 reset
        b     al, k_und - . - 8         # 0x04 Undefined Instruction
        b     al, k_svc - . - 8         # 0x08 SVC
        b     al, k_pabt - . - 8        # 0x0C Prefetch Abort (none is raised here)
        b     al, k_dabt - . - 8        # 0x10 Data Abort

# ---------------------------------------------------------------- boot
        .org  0x400
_start:                                 # reset: Supervisor mode, A, I and F set, pc = _start
        movw  al, r0, 0
        mcr   al, vbar, r0              # the vectors at 0
        cps   none, 0, 1, MODE_UND
        movw  al, sp, UND_STACK         # each exception mode's own SP
        cps   none, 0, 1, MODE_ABT
        movw  al, sp, ABT_STACK
        cps   none, 0, 1, MODE_SVC
        movw  al, sp, SVC_STACK
        movw  al, r1, K_SAVE
        movw  al, r0, USER_STACK
        str   al, r0, [r1, 0]
        ldm_user al, ia, r1, RL_SP_LR   # SP_usr = USER_STACK, LR_usr = 0 (the next word)
        movw  al, r0, MODE_USR          # User mode, A, I and F clear
        msr   al, spsr, 15, r0
        movw  al, lr, user_main
        movw  al, r0, 0                 # user_main starts with every register 0 but SP
        movw  al, r1, 0
        subs_pc al, mov, r0, lsl(lr, 0) # MOVS PC, LR: to user_main, CPSR <- SPSR

# ---------------------------------------------------------------- system calls
k_svc:                                  # Supervisor mode: LR = after the SVC, SPSR = the caller's CPSR
        stm   al, db, sp, 1, RL_R0_R3   # push r0-r3
        cmp   al, r7, SYS_EXIT
        b     eq, k_sys_exit - . - 8
        cmp   al, r7, SYS_PUTC
        b     eq, k_sys_putc - . - 8
        cmp   al, r7, SYS_YIELD
        b     eq, k_return - . - 8
        b     al, sys_extra - . - 8

k_return:                               # back to the caller, after its SVC
        ldm   al, ia, sp, 1, RL_R0_R3   # pop r0-r3
        subs_pc al, mov, r0, lsl(lr, 0) # MOVS PC, LR

k_sys_putc:
        movw  al, r1, GUEST_INFO
        ldr   al, r2, [r1, 20]          # guest_count
        movw  al, r3, GUEST_OUT_CAP
        cmp   al, r2, lsl(r3, 0)
        b     cs, k_return - . - 8      # full: drop the value
        add   al, r3, r1, lsl(r2, 2)
        str   al, r0, [r3, 0x100]       # guest_out[count]
        add   al, r2, r2, 1
        str   al, r2, [r1, 20]
        b     al, k_return - . - 8

k_sys_exit:
        movw  al, r1, GUEST_INFO
        str   al, r0, [r1, 4]           # guest_code
        sub   al, r2, lr, 4
        str   al, r2, [r1, 16]          # guest_pc: the exit SVC
        movw  al, r2, STATUS_EXIT
        str   al, r2, [r1, 0]           # guest_status
k_halt:
        wfi   al                        # no interrupt: the machine stops (the halt convention)
        b     al, k_halt - . - 8

# ---------------------------------------------------------------- other exceptions
k_und:                                  # Undefined mode: LR = the instruction + 4
        stm   al, db, sp, 1, RL_R0_R3
        movw  al, r0, 1
        sub   al, r1, lr, 4
        movw  al, r2, 0
        b     al, k_exc - . - 8
k_pabt:                                 # Abort mode: LR = the instruction + 4
        stm   al, db, sp, 1, RL_R0_R3
        movw  al, r0, 3
        sub   al, r1, lr, 4
        movw  al, r2, 0
        b     al, k_exc - . - 8
k_dabt:                                 # Abort mode: LR = the instruction + 8
        stm   al, db, sp, 1, RL_R0_R3
        movw  al, r0, 4
        sub   al, r1, lr, 8
        mrc   al, r2, dfar
k_exc:                                  # r0 = cause, r1 = the instruction, r2 = DFAR or 0
        movw  al, r3, K_HOOK
        ldr   al, r3, [r3, 0]
        cmp   al, r3, 0
        bx    ne, r3                    # a kernel extension's handler
k_reflect:                              # record the exception and halt
        movw  al, r3, GUEST_INFO
        str   al, r0, [r3, 8]           # guest_cause
        str   al, r2, [r3, 12]          # guest_tval
        str   al, r1, [r3, 16]          # guest_pc
        movw  al, r0, STATUS_TRAP
        str   al, r0, [r3, 0]           # guest_status
        b     al, k_halt - . - 8
k_skip:                                 # an Undefined Instruction's handler resumes after it
        ldm   al, ia, sp, 1, RL_R0_R3
        subs_pc al, mov, r0, lsl(lr, 0)

# ---------------------------------------------------------------- data
        .org  GUEST_INFO
guest_status:   .space 4                # 0 running, 1 exit, 2 trap
guest_code:     .space 4                # exit: the code passed in r0
guest_cause:    .space 4                # trap: the vector offset / 4
guest_tval:     .space 4                # trap: DFAR for a Data Abort, else 0
guest_pc:       .space 4                # the exit SVC / the excepting instruction
guest_count:    .space 4                # words in guest_out
        .org  GUEST_INFO + 0x100
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here.  Syscall numbers >= 3 jump to sys_extra
# (see the ABI above); finish with `b al, k_return - . - 8` (or k_halt).
        .org  K_EXTRA
kernel_extra:
