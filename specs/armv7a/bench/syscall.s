# syscall: N yield system calls (SVC) from user mode.
user_main:
        movw  al, r4, N & 0xFFFF
        movt  al, r4, N >> 16
        movw  al, r7, 2                 # yield
        b     al, test - . - 8
loop:   svc   al, 0
        sub   al, r4, r4, 1
test:   cmp   al, r4, 0
        b     ne, loop - . - 8
        movw  al, r7, 0
        movw  al, r0, 0
        svc   al, 0                     # exit(0)
