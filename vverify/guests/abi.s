; vverify guest library: the ABI every boot stub implements (docs/guests.md).
;
; Included by each ISA's boot stub (`.include "abi.s"`), and read back by the
; Python side from the assembled stub's constants, so these numbers are
; written here and nowhere else.  Only `.equ` lines: it assembles to nothing
; in any ISA's syntax.

; system-call numbers (the ISA's call instruction; where the number and the
; argument go is the spec's [guest] table: syscall and arg)
        .equ  SYS_EXIT, 0               ; exit(arg): record arg as the exit code and halt
        .equ  SYS_PUTC, 1               ; putc(arg): append arg to the output buffer (dropped when full)
        .equ  SYS_YIELD, 2              ; yield(): return at once; numbers from 3 up go to sys_extra

; the status word of the guest info block (guest_status)
        .equ  STATUS_RUNNING, 0
        .equ  STATUS_EXIT, 1
        .equ  STATUS_TRAP, 2

; the output buffer's capacity, in words (guest_out)
        .equ  GUEST_OUT_CAP, 256
