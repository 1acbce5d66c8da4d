# vverify guest library: the x86_32 boot stub (also used for x86_32_cpl1,
# the same machine under another virtualization map).  See docs/guests.md.
#
# A kernel at CPL 0 and a user program at CPL 3, separated the way the 386
# separates them: by segmentation.  The kernel's code and data segments are
# flat (base 0, 4 GiB; physical = linear mod 64 KiB here); the user's code and
# data segments have base USER_BASE and limit USER_SIZE - 1, so the user
# program is relocated and bounded like pg74's, and an access beyond its
# region is a #GP(0) (the spec's gp_limit, a memory trap).  The spec models
# no paging, so segmentation is the only protection.
#
# Boot (_start, CPL 0): LGDT and LIDT, a far JMP that reloads CS from the
# GDT, the kernel's SS, DS and ES, ESP = KSTACK_TOP, LTR of the TSS (whose
# SS0:ESP0 is the ring-0 stack for traps from CPL 3), then IRET to the user
# (SS:ESP = UDATA_SEL:USER_STACK, EFLAGS = USER_EFLAGS, CS:EIP =
# UCODE_SEL:user_main), with DS = ES = the user's data segment and FS = GS
# null.  user_main starts with every general register 0 but ESP.
#
# What the stub needs of the reset state: a usable CS whose limit covers
# the kernel text from _start, and a readable DS covering k_gdtr and k_idtr
# (the operands of LGDT and LIDT are read through DS).  The 386 leaves its
# segment caches like that when real-mode boot code sets CR0.PE (base 0,
# limit 0xFFFF, present); everything after LIDT comes from the stub's own
# tables.
#
# Physical memory map (bytes):
#   0x0000  _start, the syscall and fault handlers (kernel text)
#   0x0700  the GDT (K_GDT), the LGDT/LIDT operands, the TSS (K_TSS)
#   0x0800  the IDT (K_IDT): 256 gates; only 6, 10-13 and 0x80 are present
#   0x1000  the guest info block (status, code, cause, tval, pc, count)
#   0x1100  the output buffer: GUEST_OUT_CAP 32-bit words
#   0x1800  kernel_extra: build(..., kernel_extra=...) lands here
#   0x7C00  the ring-0 stack (grows down from KSTACK_TOP = 0x8000: ESP0)
#   0x8000  USER_BASE: user virtual 0 (user segments: base 0x8000, limit
#           0x7FFF, so the user sees virtual 0 .. 0x7FFF, physical 0x8000 ..
#           0xFFFF); USER_ORIGIN = 0; the user's initial ESP is USER_STACK =
#           0x8000, the top of its region
#
# GDT selectors: 0x08 kernel code (DPL 0), 0x10 kernel data (DPL 0), 0x1B
# user code (DPL 3), 0x23 user data (DPL 3), 0x28 the TSS.
#
# Syscall ABI: `int 0x80` (a DPL-3 trap gate) with the number in eax and the
# argument in ebx.
#   eax = 0  exit(ebx)    record ebx as the exit code and halt
#   eax = 1  putc(ebx)    append the word ebx to the output buffer (dropped
#                         when the buffer is full)
#   eax = 2  yield()      return at once
#   eax >= 3              sys_extra (kernel_extra may define it; by default
#                         the same as yield)
# Every register (eax included), EFLAGS, DS and the other segment
# registers are preserved across a syscall.  INT n saves the address of the
# next instruction, so the kernel resumes there without adjusting it.
#
# Halt: the privileged `hlt` (Exit/CoreExit reason "halt": with no
# interrupts modelled, HLT stops the machine).
#
# Any other trap is reflected: #UD (6, no error code), #TS (10), #NP (11),
# #SS (12) and #GP (13) each enter a gate of their own; the kernel records
# the vector (the cause code), the error code (the trap value; 0 for #UD)
# and the faulting EIP (the user's virtual pc), with status 2, and halts.
# An INT n from user mode to a vector without a DPL-3 gate is a #GP with
# error code n*8+2, as on the 386.  A fault while the processor delivers an
# exception shuts it down (the spec's triple fault): the kernel never sees
# it, and the run ends on its budget with status 0.
#
# Jumps: the spec's rel8/rel32 operands are raw displacements from the next
# instruction (not pc-relative operands the assembler resolves), so this
# file writes them as `jcc e, target - . - 2` (2-byte Jcc), `jmp8 target -
# . - 2` and `jmp (target - . - 5) & 0xFFFFFFFF` (rel32 is unsigned).

        .equ  USER_BASE, 0x8000         # base of the user's segments: physical address of user virtual 0
        .equ  USER_SIZE, 0x8000         # user virtual addresses 0 .. USER_SIZE-1 (the segments' limit + 1)
        .equ  USER_ORIGIN, 0            # where build() assembles the user program (virtual)
        .equ  USER_STACK, 0x8000        # the user's initial ESP (virtual): the top of its region
        .equ  USER_EFLAGS, 0x202        # IF = 1, IOPL = 0: CLI, STI, IN and OUT trap at CPL 3
        .equ  KSTACK_TOP, 0x8000        # ESP0: the ring-0 stack, below the user region
        .equ  GUEST_INFO, 0x1000
        .include "abi.s"              # SYS_*, STATUS_*, GUEST_OUT_CAP: the library's ABI
        .equ  K_EXTRA, 0x1800

        .equ  K_GDT, 0x700
        .equ  K_TSS, 0x780
        .equ  K_IDT, 0x800
        .equ  KCODE_SEL, 0x08
        .equ  KDATA_SEL, 0x10
        .equ  UCODE_SEL, 0x1B           # GDT index 3, RPL 3
        .equ  UDATA_SEL, 0x23           # GDT index 4, RPL 3
        .equ  TSS_SEL, 0x28
        .equ  SYSCALL_VEC, 0x80

        # the syscall frame, from ebp (see k_syscall)
        .equ  F_EAX, 0
        .equ  F_ECX, 4
        .equ  F_EDX, 8
        .equ  F_EBP, 12
        .equ  F_DS, 16
        .equ  F_EIP, 20                 # the address after the int 0x80
        .equ  F_CS, 24
        .equ  F_EFLAGS, 28
        .equ  F_ESP, 32                 # the user's ESP and SS (from CPL 3 only)
        .equ  F_SS, 36

# ---------------------------------------------------------------- boot
        .org  0
_start:                                 # CPL 0, pc = _start
        lgdt  [k_gdtr]
        lidt  [k_idtr]
        jmpf  KCODE_SEL, k_flat         # CS from the GDT
k_flat:
        movi  eax, KDATA_SEL
        mov   ss, eax
        movi  esp, KSTACK_TOP
        mov   ds, eax
        mov   es, eax
        movi  eax, TSS_SEL
        ltr   eax                       # SS0:ESP0 for traps from CPL 3
        movi  eax, UDATA_SEL
        push  eax                       # SS
        movi  eax, USER_STACK
        push  eax                       # ESP
        movi  eax, USER_EFLAGS
        push  eax                       # EFLAGS
        movi  eax, UCODE_SEL
        push  eax                       # CS
        movi  eax, user_main
        push  eax                       # EIP
        movi  eax, UDATA_SEL
        mov   ds, eax
        mov   es, eax
        xor   eax, eax
        mov   fs, eax                   # FS = GS = null
        mov   gs, eax
        iret                            # enter user mode at user_main

# ---------------------------------------------------------------- syscalls
k_syscall:                              # int 0x80: EIP, CS, EFLAGS, ESP, SS on the ring-0 stack
        push  ds
        push  ebp
        push  edx
        push  ecx
        push  eax
        mov   ebp, esp                  # ebp = the frame (F_EAX .. F_SS)
        movi  ecx, KDATA_SEL
        mov   ds, ecx
        cmpi  eax, SYS_EXIT
        jcc   e, k_sys_exit - . - 2
        cmpi  eax, SYS_PUTC
        jcc   e, k_sys_putc - . - 2
        cmpi  eax, SYS_YIELD
        jcc   e, k_return - . - 2
        jmp   (sys_extra - . - 5) & 0xFFFFFFFF

k_return:                               # back to the caller, after its int 0x80
        pop   eax
        pop   ecx
        pop   edx
        pop   ebp
        pop   ds
        iret

k_sys_putc:
        mov   eax, [guest_count]
        cmpi  eax, GUEST_OUT_CAP
        jcc   ae, k_return - . - 2      # full: drop the value
        mov   ecx, eax
        add   ecx, ecx
        add   ecx, ecx                  # 4 * count
        addi  ecx, guest_out
        mov   [ecx+0], ebx              # guest_out[count]
        inc   eax
        mov   [guest_count], eax
        jmp8  k_return - . - 2

k_sys_exit:
        mov   [guest_code], ebx
        mov   eax, [ebp+F_EIP]
        subi  eax, 2                    # the int 0x80 itself
        mov   [guest_pc], eax
        movi  eax, STATUS_EXIT
        mov   [guest_status], eax
k_halt:
        hlt                             # the halt convention

# ---------------------------------------------------------------- faults
k_vec6:                                 # #UD: no error code
        push  ds
        push  eax
        push  ecx
        push  ebp
        mov   ebp, esp                  # EBP ECX EAX DS, then EIP
        movi  ecx, KDATA_SEL
        mov   ds, ecx
        movi  eax, 6
        mov   ecx, [ebp+16]
        mov   [guest_pc], ecx
        xor   ecx, ecx                  # the trap value: 0
        jmp8  k_fault_rec - . - 2
k_vec10:                                # #TS
        push  ds
        push  eax
        push  ecx
        push  ebp
        movi  eax, 10
        jmp8  k_fault - . - 2
k_vec11:                                # #NP
        push  ds
        push  eax
        push  ecx
        push  ebp
        movi  eax, 11
        jmp8  k_fault - . - 2
k_vec12:                                # #SS
        push  ds
        push  eax
        push  ecx
        push  ebp
        movi  eax, 12
        jmp8  k_fault - . - 2
k_vec13:                                # #GP
        push  ds
        push  eax
        push  ecx
        push  ebp
        movi  eax, 13
k_fault:                                # eax = the vector; EBP ECX EAX DS, then the error code and EIP
        mov   ebp, esp
        movi  ecx, KDATA_SEL
        mov   ds, ecx
        mov   ecx, [ebp+20]
        mov   [guest_pc], ecx           # the faulting instruction
        mov   ecx, [ebp+16]             # the error code
k_fault_rec:
        mov   [guest_tval], ecx
        mov   [guest_cause], eax
        movi  ecx, STATUS_TRAP
        mov   [guest_status], ecx
        jmp8  k_halt - . - 2

# ---------------------------------------------------------------- tables
        .org  K_GDT
k_gdt:  .word 0, 0, 0, 0, 0, 0, 0, 0                    # 0x00 null
        .word 0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0        # 0x08 kernel code: base 0, 4 GiB, DPL 0, execute/read
        .word 0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0        # 0x10 kernel data: base 0, 4 GiB, DPL 0, read/write
        .word (USER_SIZE - 1) & 0xFF, ((USER_SIZE - 1) >> 8) & 0xFF, USER_BASE & 0xFF, (USER_BASE >> 8) & 0xFF
        .word (USER_BASE >> 16) & 0xFF, 0xFB, 0x40, (USER_BASE >> 24) & 0xFF   # 0x18 user code, DPL 3
        .word (USER_SIZE - 1) & 0xFF, ((USER_SIZE - 1) >> 8) & 0xFF, USER_BASE & 0xFF, (USER_BASE >> 8) & 0xFF
        .word (USER_BASE >> 16) & 0xFF, 0xF3, 0x40, (USER_BASE >> 24) & 0xFF   # 0x20 user data, DPL 3
        .word 0x67, 0, K_TSS & 0xFF, (K_TSS >> 8) & 0xFF, 0, 0x89, 0, 0       # 0x28 the TSS: available 386 TSS
k_gdt_end:
k_gdtr: .word k_gdt_end - k_gdt - 1, 0, K_GDT & 0xFF, (K_GDT >> 8) & 0xFF, 0, 0   # LGDT operand: limit, base
k_idtr: .word 0xFF, 0x07, K_IDT & 0xFF, (K_IDT >> 8) & 0xFF, 0, 0                # LIDT operand: 256 gates

        .org  K_TSS                     # the 386 TSS (104 bytes): only SS0:ESP0 is used
k_tss:  .word 0, 0, 0, 0                                # back link
        .word KSTACK_TOP & 0xFF, (KSTACK_TOP >> 8) & 0xFF, 0, 0   # ESP0
        .word KDATA_SEL, 0, 0, 0                        # SS0
        .space 0x68 - 12

        # IDT gates: offset 15:0, selector, 0, access (P DPL 0 type), offset 31:16
        .org  K_IDT + 6 * 8
        .word k_vec6 & 0xFF, (k_vec6 >> 8) & 0xFF, KCODE_SEL, 0, 0, 0x8E, 0, 0     # interrupt gate, DPL 0
        .org  K_IDT + 10 * 8
        .word k_vec10 & 0xFF, (k_vec10 >> 8) & 0xFF, KCODE_SEL, 0, 0, 0x8E, 0, 0
        .word k_vec11 & 0xFF, (k_vec11 >> 8) & 0xFF, KCODE_SEL, 0, 0, 0x8E, 0, 0
        .word k_vec12 & 0xFF, (k_vec12 >> 8) & 0xFF, KCODE_SEL, 0, 0, 0x8E, 0, 0
        .word k_vec13 & 0xFF, (k_vec13 >> 8) & 0xFF, KCODE_SEL, 0, 0, 0x8E, 0, 0
        .org  K_IDT + SYSCALL_VEC * 8
        .word k_syscall & 0xFF, (k_syscall >> 8) & 0xFF, KCODE_SEL, 0, 0, 0xEF, 0, 0   # trap gate, DPL 3

# ---------------------------------------------------------------- data
        .org  GUEST_INFO
guest_status:   .space 4                # 0 running, 1 exit, 2 trap
guest_code:     .space 4                # exit: the code passed in ebx
guest_cause:    .space 4                # trap: the vector
guest_tval:     .space 4                # trap: the error code (0 for #UD)
guest_pc:       .space 4                # the EIP (virtual) of the exit int 0x80 / faulting instruction
guest_count:    .space 4                # words in guest_out
        .org  GUEST_INFO + 0x100
guest_out:                              # GUEST_OUT_CAP words (zero memory, not emitted)

# ---------------------------------------------------------------- kernel_extra
# build() appends kernel_extra here.  Syscall numbers >= 3 jump to sys_extra
# at CPL 0 with DS = KDATA_SEL (flat: offsets are physical addresses), eax
# = the number, ebx = the argument, and the caller's eax, ecx, edx, ebp and
# DS saved in the frame at ebp (F_EAX .. F_DS, then the EIP, CS, EFLAGS,
# ESP and SS the int 0x80 pushed: F_EIP .. F_SS); eax, ecx, edx and ebp are
# free.  Write a frame slot to change what the caller gets back (F_EAX: a
# return value).  Finish with ESP as found and `jmp (k_return - . - 5) &
# 0xFFFFFFFF` (or k_halt).
        .org  K_EXTRA
kernel_extra:
