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
#   page i to frame 7 - i.  The user program starts with s0 = WINDOW_VA
#   (every other register 0 but sp), so its loads and stores off s0 go
#   through the window.
# * Three more system calls change the translation the user program runs
#   on; they are the guest's own kernel code, which a VMM with shadow page
#   tables must follow:
#     a7 = 4  pte(a0)   rewrite window entry i = a0[2:0] of root A's window
#                       table (a0[6] = 0) or root B's (a0[6] = 1): frame
#                       WINDOW_FRAME + ((i + k) & 7) with permission set
#                       k = a0[5:3] of k_perms (read/write, read-only, A
#                       clear, D clear, supervisor-only, invalid,
#                       execute-only, the reserved write-only)
#     a7 = 5  root(a0)  satp = root A (a0 = 0), root B (1), Bare (2 and up)
#     a7 = 6  flush()   sfence.vma zero, zero
#   Numbers from 7 up go to sys_extra as in riscv32.
#
# Physical memory map, beyond boot.s's (frames of 4 KiB):
#   0x20000 root A        0x21000 root B
#   0x22000 the user region's table (shared by both roots)
#   0x23000 root A's window table   0x24000 root B's window table
#   0x28000-0x2FFFF the window's 8 frames (WINDOW_FRAME = 0x28)

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
        .equ  SYS_PTE, 4
        .equ  SYS_ROOT, 5
        .equ  SYS_FLUSH, 6
        .equ  k_calls, k_sv32_calls     # 3 and up: this stub's calls first, then sys_extra

# ---------------------------------------------------------------- boot
        .org  0
_start:                                 # reset: M-mode, pc = 0, every register 0
        addi  t0, zero, k_trap
        csrrw zero, mtvec, t0           # the trap vector (direct mode)
        csrrw zero, medeleg, zero       # no delegation: every trap comes to M
        lui   t0, KSTACK_TOP
        csrrw zero, mscratch, t0        # the kernel stack, swapped in by k_trap
        lui   t0, 0x2000
        addi  t0, t0, -0x800            # t0 = 0x1800: mstatus.MPP
        csrrc zero, mstatus, t0         # MPP = U: mret enters user mode
        lui   t0, (user_main + 0x800) & 0xFFFFF000
        addi  t0, t0, user_main - ((user_main + 0x800) & 0xFFFFF000)
        csrrw zero, mepc, t0
        # the user region's table: pages USER_ORIGIN.. to the end of memory's first 64 KiB, identity
        lui   t0, USER_TABLE
        addi  t1, zero, USER_ORIGIN >> 12
        addi  t2, zero, USER_SIZE >> 12
b_user:
        slli  a0, t1, 10
        addi  a0, a0, PTE_URWX
        slli  a1, t1, 2
        add   a1, a1, t0
        sw    a0, 0(a1)
        addi  t1, t1, 1
        blt   t1, t2, b_user
        # the window tables: root A's page i -> frame WINDOW_FRAME + i, root B's -> WINDOW_FRAME + 7 - i
        lui   t0, WINDOW_A
        lui   a2, WINDOW_B - WINDOW_A
        addi  t1, zero, 0
        addi  t2, zero, 8
b_window:
        addi  a0, t1, WINDOW_FRAME
        slli  a0, a0, 10
        addi  a0, a0, PTE_URW
        slli  a1, t1, 2
        add   a1, a1, t0
        sw    a0, 0(a1)
        sub   a0, zero, t1
        addi  a0, a0, WINDOW_FRAME + 7
        slli  a0, a0, 10
        addi  a0, a0, PTE_URW
        add   a1, a1, a2
        sw    a0, 0(a1)
        addi  t1, t1, 1
        blt   t1, t2, b_window
        # the roots: entry 0 (VPN[1] = 0) -> the user region's table, entry 1 -> the window table
        lui   t0, ROOT_A
        lui   t1, ((USER_TABLE >> 2) + 0x800) & 0xFFFFF000
        addi  t1, t1, (USER_TABLE >> 2) + PTE_POINTER - (((USER_TABLE >> 2) + 0x800) & 0xFFFFF000)
        sw    t1, 0(t0)
        lui   t2, ((WINDOW_A >> 2) + 0x800) & 0xFFFFF000
        addi  t2, t2, (WINDOW_A >> 2) + PTE_POINTER - (((WINDOW_A >> 2) + 0x800) & 0xFFFFF000)
        sw    t2, 4(t0)
        lui   t0, ROOT_B
        sw    t1, 0(t0)
        addi  t2, t2, (WINDOW_B - WINDOW_A) >> 2
        sw    t2, 4(t0)
        # translation on, with root A
        lui   t0, SATP_SV32
        addi  t0, t0, ROOT_A >> 12
        csrrw zero, satp, t0
        lui   s0, WINDOW_VA             # the user program's window pointer
        lui   sp, USER_STACK            # the user stack
        addi  a0, zero, 0               # user_main starts with every register 0 but sp and s0
        addi  a1, zero, 0
        addi  a2, zero, 0
        addi  t0, zero, 0
        addi  t1, zero, 0
        addi  t2, zero, 0
        mret

# ---------------------------------------------------------------- further calls
k_sv32_calls:                           # k_syscall sends 3 and up here (t0-t2 saved, a7 the number)
        addi  t1, zero, SYS_PTE
        beq   a7, t1, k_sys_pte
        addi  t1, zero, SYS_ROOT
        beq   a7, t1, k_sys_root
        addi  t1, zero, SYS_FLUSH
        beq   a7, t1, k_sys_flush
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

        .include "kernel.s"             # k_trap, the system calls, the info block, kernel_extra
