# vverify guest library: riscv32's kernel (its trap handler, system calls,
# info block and kernel_extra hook), shared by the boot stubs of riscv32
# (boot.s) and riscv32_sv32 (boot_sv32.s), which include it after their
# _start.  A stub defines k_calls, where system calls from 3 up go:
# sys_extra itself, or the stub's own further calls first (see docs/guests.md).

# ---------------------------------------------------------------- traps
k_trap:
        csrrw sp, mscratch, sp          # sp = kernel stack, mscratch = user sp
        addi  sp, sp, -16
        sw    t0, 0(sp)
        sw    t1, 4(sp)
        sw    t2, 8(sp)
        csrrs t0, mcause, zero
        addi  t1, zero, CAUSE_ECALL_U
        beq   t0, t1, k_syscall
        addi  t1, zero, CAUSE_ECALL_M
        beq   t0, t1, k_parked          # our own halt, delivered: park
        # any other trap: reflect it (record and halt)
        lui   t0, GUEST_INFO
        csrrs t1, mcause, zero
        sw    t1, 8(t0)                 # guest_cause
        csrrs t1, mtval, zero
        sw    t1, 12(t0)                # guest_tval
        csrrs t1, mepc, zero
        sw    t1, 16(t0)                # guest_pc
        addi  t1, zero, STATUS_TRAP
        sw    t1, 0(t0)                 # guest_status
        jal   zero, k_halt

k_syscall:
        beq   a7, zero, k_sys_exit
        addi  t1, zero, SYS_PUTC
        beq   a7, t1, k_sys_putc
        addi  t1, zero, SYS_YIELD
        beq   a7, t1, k_return
        jal   zero, k_calls         # the including stub says where: sys_extra, or its own calls first

k_return:                               # back to U-mode after the ecall
        csrrs t0, mepc, zero
        addi  t0, t0, 4                 # the saved pc is the ecall's own
        csrrw zero, mepc, t0
        lw    t2, 8(sp)
        lw    t1, 4(sp)
        lw    t0, 0(sp)
        addi  sp, sp, 16
        csrrw sp, mscratch, sp          # sp = user sp, mscratch = kernel stack
        mret

k_sys_putc:
        lui   t0, GUEST_INFO
        lw    t1, 20(t0)                # guest_count
        addi  t2, zero, GUEST_OUT_CAP
        bgeu  t1, t2, k_return          # full: drop the value
        addi  t2, t1, 1
        sw    t2, 20(t0)
        slli  t1, t1, 2
        add   t1, t1, t0
        sw    a0, 0x100(t1)             # guest_out[count]
        jal   zero, k_return

k_sys_exit:
        lui   t0, GUEST_INFO
        sw    a0, 4(t0)                 # guest_code
        csrrs t1, mepc, zero
        sw    t1, 16(t0)                # guest_pc: the exit ecall
        addi  t1, zero, STATUS_EXIT
        sw    t1, 0(t0)
k_halt:
        ecall                           # M-mode ecall: the halt convention
k_parked:
        wfi                             # reached only if the halt was delivered
        jal   zero, k_parked

# ---------------------------------------------------------------- data
        .org  GUEST_INFO
guest_status:   .space 4                # 0 running, 1 exit, 2 trap
guest_code:     .space 4                # exit: the code passed in a0
guest_cause:    .space 4                # trap: mcause
guest_tval:     .space 4                # trap: mtval
guest_pc:       .space 4                # the pc of the exit ecall / trapping instruction
guest_count:    .space 4                # words in guest_out
        .org  GUEST_INFO + 0x100
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here.  Syscall numbers >= 3 jump to sys_extra
# with t0-t2 saved (free to use), the user's sp in mscratch and the kernel
# stack in sp; finish with `jal zero, k_return` (or k_halt).
        .org  K_EXTRA
kernel_extra:
