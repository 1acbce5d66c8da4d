# vverify guest library: the riscv32_sv32 boot stub, riscv32's with the user
# program running through Sv32 page tables (see docs/guests.md).
#
# Everything riscv32's boot.s says holds (a kernel in M-mode, which Sv32
# never translates, a user program in U-mode, no delegation, the same
# memory map, syscalls and halt), and besides:
#
# * Before entering user mode the boot builds two root tables and turns
#   translation on with the first (satp = Sv32, root A).  Both map the user
#   region (virtual 0x4000-0xFFFF) to itself, user read/write/execute, and
#   a *window* of 8 pages at virtual 0x00400000 (WINDOW_VA) to the 8 frames
#   from WINDOW_FRAME, user read/write: root A page i to frame i, root B
#   page i to frame 7 - i.  The user program starts with every register
#   but zero and sp pointing into the window (x<i> at page i & 7), so its
#   loads and stores go through the window's entries.
# * An exception from U-mode, but a system call or a fetch fault, is the
#   guest kernel's to handle: it skips the instruction (mepc + 4) and the
#   program goes on, so that a program runs past the faults its page-table
#   changes cause (and its illegal or misaligned instructions).  A fetch
#   fault, and any trap from the kernel itself, is reflected and halts, as
#   on riscv32.
# * Three more system calls change the translation the user program runs
#   on; they are the guest's own kernel code, which a VMM with shadow page
#   tables must follow:
#     a7 = 8  pte(a0)   rewrite window entry i = a0[2:0] of root A's window
#                       table (a0[6] = 0) or root B's (a0[6] = 1): frame
#                       WINDOW_FRAME + ((i + k) & 7) with permission set
#                       k = a0[5:3] of k_perms (read/write, read-only, A
#                       clear, D clear, supervisor-only, invalid,
#                       execute-only, the reserved write-only)
#     a7 = 9  root(a0)  satp = root A (a0 = 0), root B (1), Bare (2 and up)
#     a7 = 10 flush()   sfence.vma zero, zero
#     a7 = 11 peek(a0)  the kernel's S-mode part: in S, translated, satp =
#                       root A (a0[6] = 0) or B (1), SUM set if a0[3] = 1,
#                       then a0 = the word at window page i = a0[2:0] (as S
#                       reads it: left as it was if the load faults); back in
#                       M, SUM is cleared.  satp stays on the root chosen.
#   The S part runs from kernel page 0, which the user region's table maps
#   as an S page (read/execute): the user cannot touch it, the kernel's S
#   code can.  A shadow pager must keep S's view and U's apart, and follow a
#   root switch made in S (the defects user_bit and stale_root).
#   Every other number from 3 up goes to sys_extra as in riscv32 (the
#   workloads' own calls, 3-5, included).
#
# Physical memory map, beyond boot.s's (frames of 4 KiB):
#   0x20000 root A        0x21000 root B
#   0x22000 the user region's table (shared by both roots)
#   0x23000 root A's window table   0x24000 root B's window table
#   0x28000-0x2FFFF the window's 8 frames (WINDOW_FRAME = 0x28)

        .include "layout.s"             # USER_*, KSTACK_TOP, GUEST_INFO, K_EXTRA, the ABI, CAUSE_ECALL_*

        .equ  ROOT_A, 0x20000
        .equ  ROOT_B, 0x21000
        .equ  USER_TABLE, 0x22000
        .equ  WINDOW_A, 0x23000
        .equ  WINDOW_B, 0x24000
        .equ  WINDOW_FRAME, 0x28
        .equ  WINDOW_VA, 0x00400000
        .equ  SATP_SV32, 0x80000000
        .equ  PTE_URWX, 0xDF            # V R W X U A D
        .equ  PTE_URW, 0xD7             # V R W U A D
        .equ  PTE_POINTER, 0x01         # V: a pointer to the next level
        .equ  CAUSE_FETCH_ACCESS, 1
        .equ  CAUSE_FETCH_PAGE, 12
        .equ  SYS_PTE, 8
        .equ  SYS_ROOT, 9
        .equ  SYS_FLUSH, 10
        .equ  SYS_PEEK, 11
        .equ  PTE_SRX, 0x4B             # V R X A: a supervisor page, read/execute
        .equ  MPP_S, 0x800              # mstatus.MPP = S (bit 11)
        .equ  SUM_BIT, 0x40000          # mstatus.SUM (bit 18)
        .equ  k_calls, k_sv32_calls     # 3 and up: this stub's calls first, then sys_extra

# ---------------------------------------------------------------- boot
        .org  0
_start:                                 # reset: M-mode, pc = 0, every register 0
        addi  t0, zero, k_sv32_trap
        csrrw zero, mtvec, t0           # the trap vector (direct mode): the user's exceptions first
        csrrw zero, medeleg, zero       # no delegation: every trap comes to M
        lui   t0, KSTACK_TOP
        csrrw zero, mscratch, t0        # the kernel stack, swapped in by k_trap
        lui   t0, 0x2000
        addi  t0, t0, -0x800            # t0 = 0x1800: mstatus.MPP
        csrrc zero, mstatus, t0         # MPP = U: mret enters user mode
        lui   t0, (user_main + 0x800) & 0xFFFFF000
        addi  t0, t0, user_main - ((user_main + 0x800) & 0xFFFFF000)
        csrrw zero, mepc, t0
        # translation on, with root A
        lui   t0, SATP_SV32
        addi  t0, t0, ROOT_A >> 12
        csrrw zero, satp, t0
        # user_main starts with sp on its stack and every other register (but zero) pointing into
        # the window: x<i> at page i & 7, so that random loads and stores go through its entries
        lui   ra, WINDOW_VA + 0x1000      # x1
        lui   sp, USER_STACK            # the user stack
        lui   gp, WINDOW_VA + 0x3000      # x3
        lui   tp, WINDOW_VA + 0x4000      # x4
        lui   t0, WINDOW_VA + 0x5000      # x5
        lui   t1, WINDOW_VA + 0x6000      # x6
        lui   t2, WINDOW_VA + 0x7000      # x7
        lui   s0, WINDOW_VA + 0x0         # x8
        lui   s1, WINDOW_VA + 0x1000      # x9
        lui   a0, WINDOW_VA + 0x2000      # x10
        lui   a1, WINDOW_VA + 0x3000      # x11
        lui   a2, WINDOW_VA + 0x4000      # x12
        lui   a3, WINDOW_VA + 0x5000      # x13
        lui   a4, WINDOW_VA + 0x6000      # x14
        lui   a5, WINDOW_VA + 0x7000      # x15
        lui   a6, WINDOW_VA + 0x0         # x16
        lui   a7, WINDOW_VA + 0x1000      # x17
        lui   s2, WINDOW_VA + 0x2000      # x18
        lui   s3, WINDOW_VA + 0x3000      # x19
        lui   s4, WINDOW_VA + 0x4000      # x20
        lui   s5, WINDOW_VA + 0x5000      # x21
        lui   s6, WINDOW_VA + 0x6000      # x22
        lui   s7, WINDOW_VA + 0x7000      # x23
        lui   s8, WINDOW_VA + 0x0         # x24
        lui   s9, WINDOW_VA + 0x1000      # x25
        lui   s10, WINDOW_VA + 0x2000     # x26
        lui   s11, WINDOW_VA + 0x3000     # x27
        lui   t3, WINDOW_VA + 0x4000      # x28
        lui   t4, WINDOW_VA + 0x5000      # x29
        lui   t5, WINDOW_VA + 0x6000      # x30
        lui   t6, WINDOW_VA + 0x7000      # x31
        mret

# ---------------------------------------------------------------- the user's exceptions
k_sv32_trap:                            # an exception from U-mode but a call or a fetch fault: skip it
        csrrw sp, mscratch, sp          # (k_trap's prologue: sp = kernel stack, t0-t2 saved)
        addi  sp, sp, -16
        sw    t0, 0(sp)
        sw    t1, 4(sp)
        sw    t2, 8(sp)
        csrrs t0, mstatus, zero
        srli  t0, t0, 11
        andi  t0, t0, 3
        addi  t1, zero, 1
        beq   t0, t1, k_peek_done       # MPP = S: peek's S part ended (its ecall, or its load faulted)
        bne   t0, zero, k_sv32_other    # MPP: not from U-mode
        csrrs t0, mcause, zero
        addi  t1, zero, CAUSE_ECALL_U
        beq   t0, t1, k_sv32_other      # a system call
        addi  t1, zero, CAUSE_FETCH_ACCESS
        beq   t0, t1, k_sv32_other      # a fetch fault: the next instruction would fault as well
        addi  t1, zero, CAUSE_FETCH_PAGE
        beq   t0, t1, k_sv32_other
        jal   zero, k_return            # resume after the faulting instruction
k_sv32_other:                           # anything else: riscv32's k_trap, from the start
        lw    t2, 8(sp)
        lw    t1, 4(sp)
        lw    t0, 0(sp)
        addi  sp, sp, 16
        csrrw sp, mscratch, sp
        jal   zero, k_trap

# ---------------------------------------------------------------- further calls
k_sv32_calls:                           # k_syscall sends 3 and up here (t0-t2 saved, a7 the number)
        addi  t1, zero, SYS_PTE
        beq   a7, t1, k_sys_pte
        addi  t1, zero, SYS_ROOT
        beq   a7, t1, k_sys_root
        addi  t1, zero, SYS_FLUSH
        beq   a7, t1, k_sys_flush
        addi  t1, zero, SYS_PEEK
        beq   a7, t1, k_sys_peek
        jal   zero, sys_extra

k_sys_pte:                              # a0: [2:0] window page i, [5:3] permission set k, [6] root B's table
        andi  t0, a0, 64
        lui   t1, WINDOW_A
        beq   t0, zero, k_pte_table
        lui   t1, WINDOW_B
k_pte_table:
        andi  t0, a0, 7                 # i
        slli  t0, t0, 2
        add   t1, t1, t0                # the entry's address
        srli  t0, t0, 2
        srli  t2, a0, 3
        andi  t2, t2, 7                 # k
        add   t0, t0, t2
        andi  t0, t0, 7
        addi  t0, t0, WINDOW_FRAME      # the frame: WINDOW_FRAME + ((i + k) & 7)
        slli  t0, t0, 10
        slli  t2, t2, 2
        lw    t2, k_perms(t2)           # permission set k
        or    t0, t0, t2
        sw    t0, 0(t1)                 # the guest's page-table write
        jal   zero, k_return

k_sys_root:                             # a0: 0 root A, 1 root B, more: Bare
        addi  t0, zero, 0
        addi  t1, zero, 2
        bgeu  a0, t1, k_root_set
        lui   t0, SATP_SV32
        addi  t0, t0, ROOT_A >> 12
        add   t0, t0, a0                # root B is the frame after root A
k_root_set:
        csrrw zero, satp, t0
        jal   zero, k_return

k_sys_flush:
        sfence.vma zero, zero
        jal   zero, k_return

k_sys_peek:                             # a0: [2:0] window page i, [3] SUM, [6] root B (see the header)
        csrrs t0, mepc, zero
        sw    t0, 12(sp)                # the user's ecall, for the way back (k_peek_done)
        lui   t0, 0x1000
        addi  t0, t0, -MPP_S            # t0 = MPP_S (0x800: too low for lui alone)
        csrrs zero, mstatus, t0         # MPP = S (it was U: the call came from U)
        lui   t0, (k_peek_s + 0x800) & 0xFFFFF000
        addi  t0, t0, k_peek_s - ((k_peek_s + 0x800) & 0xFFFFF000)
        csrrw zero, mepc, t0
        csrrw sp, mscratch, sp          # as in U: mscratch = this call's frame, sp the user's
        mret                            # into S-mode, translated
k_peek_s:                               # S-mode, from kernel page 0 (an S page in the user region's table)
        andi  t0, a0, 64
        srli  t0, t0, 6                 # 0 root A, 1 root B
        lui   t1, SATP_SV32
        addi  t1, t1, ROOT_A >> 12
        add   t1, t1, t0                # root B is the frame after root A
        csrrw zero, satp, t1            # an address-space switch made in S, as a kernel's context switch
        andi  t0, a0, 8
        beq   t0, zero, k_peek_load
        lui   t2, SUM_BIT
        csrrs zero, sstatus, t2         # SUM: S may read user pages
k_peek_load:
        andi  t0, a0, 7
        slli  t0, t0, 12
        lui   t1, WINDOW_VA
        add   t1, t1, t0
        lw    a0, 0(t1)                 # at S's permissions, through the root chosen
        ecall                           # back to M: k_peek_done
k_peek_done:                            # M, from S (k_sv32_trap pushed a frame on this call's)
        addi  sp, sp, 16                # this call's frame again
        lw    t0, 12(sp)
        csrrw zero, mepc, t0            # the user's ecall
        lui   t0, 0x1000
        addi  t0, t0, -MPP_S
        csrrc zero, mstatus, t0         # MPP = U
        lui   t0, SUM_BIT
        csrrc zero, mstatus, t0         # SUM clear
        jal   zero, k_return

        .align 4
k_perms:                                # the permission sets of pte(): PTE flag bits, one word each
                                        # (.word emits bytes here, little-endian)
        .word 0xD7, 0, 0, 0             # 0 V R W U A D: read/write
        .word 0xD3, 0, 0, 0             # 1 V R U A D: read-only
        .word 0x97, 0, 0, 0             # 2 V R W U D, A clear: every access faults
        .word 0x57, 0, 0, 0             # 3 V R W U A, D clear: stores fault
        .word 0xC7, 0, 0, 0             # 4 V R W A D, not U: user accesses fault
        .word 0x00, 0, 0, 0             # 5 invalid
        .word 0xD9, 0, 0, 0             # 6 V X U A D: execute-only (loads fault unless MXR)
        .word 0xD5, 0, 0, 0             # 7 V W U A D: write without read is reserved: a fault

k_code_end:                             # the kernel goes on here, after the tables below

# ---------------------------------------------------------------- the page tables
# In the boot image, not built by code: the boot costs the user program no steps for them.
# An entry is one 32-bit word, written here as its four bytes (.word emits bytes).
        .org  ROOT_A
        .word ((USER_TABLE >> 2) | PTE_POINTER) & 0xFF, (((USER_TABLE >> 2) | PTE_POINTER) >> 8) & 0xFF, (((USER_TABLE >> 2) | PTE_POINTER) >> 16) & 0xFF, ((USER_TABLE >> 2) | PTE_POINTER) >> 24   # VPN[1] = 0: the user region
        .word ((WINDOW_A >> 2) | PTE_POINTER) & 0xFF, (((WINDOW_A >> 2) | PTE_POINTER) >> 8) & 0xFF, (((WINDOW_A >> 2) | PTE_POINTER) >> 16) & 0xFF, ((WINDOW_A >> 2) | PTE_POINTER) >> 24     # VPN[1] = 1: the window
        .org  ROOT_B
        .word ((USER_TABLE >> 2) | PTE_POINTER) & 0xFF, (((USER_TABLE >> 2) | PTE_POINTER) >> 8) & 0xFF, (((USER_TABLE >> 2) | PTE_POINTER) >> 16) & 0xFF, ((USER_TABLE >> 2) | PTE_POINTER) >> 24
        .word ((WINDOW_B >> 2) | PTE_POINTER) & 0xFF, (((WINDOW_B >> 2) | PTE_POINTER) >> 8) & 0xFF, (((WINDOW_B >> 2) | PTE_POINTER) >> 16) & 0xFF, ((WINDOW_B >> 2) | PTE_POINTER) >> 24
        .org  USER_TABLE                # page 0: the kernel's S code (peek), an S page, read/execute
        .word PTE_SRX, 0, 0, 0          # frame 0
        .org  USER_TABLE + (USER_ORIGIN >> 12) * 4   # pages USER_ORIGIN.. to the first 64 KiB's end, identity
        .word ((4 << 10) | PTE_URWX) & 0xFF, (((4 << 10) | PTE_URWX) >> 8) & 0xFF, (((4 << 10) | PTE_URWX) >> 16) & 0xFF, ((4 << 10) | PTE_URWX) >> 24
        .word ((5 << 10) | PTE_URWX) & 0xFF, (((5 << 10) | PTE_URWX) >> 8) & 0xFF, (((5 << 10) | PTE_URWX) >> 16) & 0xFF, ((5 << 10) | PTE_URWX) >> 24
        .word ((6 << 10) | PTE_URWX) & 0xFF, (((6 << 10) | PTE_URWX) >> 8) & 0xFF, (((6 << 10) | PTE_URWX) >> 16) & 0xFF, ((6 << 10) | PTE_URWX) >> 24
        .word ((7 << 10) | PTE_URWX) & 0xFF, (((7 << 10) | PTE_URWX) >> 8) & 0xFF, (((7 << 10) | PTE_URWX) >> 16) & 0xFF, ((7 << 10) | PTE_URWX) >> 24
        .word ((8 << 10) | PTE_URWX) & 0xFF, (((8 << 10) | PTE_URWX) >> 8) & 0xFF, (((8 << 10) | PTE_URWX) >> 16) & 0xFF, ((8 << 10) | PTE_URWX) >> 24
        .word ((9 << 10) | PTE_URWX) & 0xFF, (((9 << 10) | PTE_URWX) >> 8) & 0xFF, (((9 << 10) | PTE_URWX) >> 16) & 0xFF, ((9 << 10) | PTE_URWX) >> 24
        .word ((10 << 10) | PTE_URWX) & 0xFF, (((10 << 10) | PTE_URWX) >> 8) & 0xFF, (((10 << 10) | PTE_URWX) >> 16) & 0xFF, ((10 << 10) | PTE_URWX) >> 24
        .word ((11 << 10) | PTE_URWX) & 0xFF, (((11 << 10) | PTE_URWX) >> 8) & 0xFF, (((11 << 10) | PTE_URWX) >> 16) & 0xFF, ((11 << 10) | PTE_URWX) >> 24
        .word ((12 << 10) | PTE_URWX) & 0xFF, (((12 << 10) | PTE_URWX) >> 8) & 0xFF, (((12 << 10) | PTE_URWX) >> 16) & 0xFF, ((12 << 10) | PTE_URWX) >> 24
        .word ((13 << 10) | PTE_URWX) & 0xFF, (((13 << 10) | PTE_URWX) >> 8) & 0xFF, (((13 << 10) | PTE_URWX) >> 16) & 0xFF, ((13 << 10) | PTE_URWX) >> 24
        .word ((14 << 10) | PTE_URWX) & 0xFF, (((14 << 10) | PTE_URWX) >> 8) & 0xFF, (((14 << 10) | PTE_URWX) >> 16) & 0xFF, ((14 << 10) | PTE_URWX) >> 24
        .word ((15 << 10) | PTE_URWX) & 0xFF, (((15 << 10) | PTE_URWX) >> 8) & 0xFF, (((15 << 10) | PTE_URWX) >> 16) & 0xFF, ((15 << 10) | PTE_URWX) >> 24
        .org  WINDOW_A                  # page i -> frame WINDOW_FRAME + i
        .word (((WINDOW_FRAME + 0) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 0) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 0) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 0) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 1) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 1) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 1) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 1) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 2) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 2) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 2) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 2) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 3) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 3) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 3) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 3) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 4) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 4) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 4) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 4) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 5) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 5) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 5) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 5) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 6) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 6) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 6) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 6) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 7) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 7) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 7) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 7) << 10) | PTE_URW) >> 24
        .org  WINDOW_B                  # page i -> frame WINDOW_FRAME + 7 - i
        .word (((WINDOW_FRAME + 7) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 7) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 7) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 7) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 6) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 6) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 6) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 6) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 5) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 5) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 5) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 5) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 4) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 4) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 4) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 4) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 3) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 3) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 3) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 3) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 2) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 2) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 2) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 2) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 1) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 1) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 1) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 1) << 10) | PTE_URW) >> 24
        .word (((WINDOW_FRAME + 0) << 10) | PTE_URW) & 0xFF, ((((WINDOW_FRAME + 0) << 10) | PTE_URW) >> 8) & 0xFF, ((((WINDOW_FRAME + 0) << 10) | PTE_URW) >> 16) & 0xFF, (((WINDOW_FRAME + 0) << 10) | PTE_URW) >> 24
        .org  k_code_end

        .include "kernel.s"             # k_trap, the system calls, the info block, kernel_extra
