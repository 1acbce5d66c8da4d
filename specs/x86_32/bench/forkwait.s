# forkwait: N times, the parent forks a child and waits for it; the child
# exits at once.  System calls: 3 fork (eax = 0 in the child, 1 in the
# parent), 4 exit the child, 5 wait.  The kernel keeps the parent's context
# (EIP, EFLAGS, ESP and the general registers) in a process table while the
# child runs and switches back to it when the child exits.  Processes share
# the user segments, as vfork does.
user_main:
        movi  esi, N
loop:   cmpi  esi, 0
        jcc   e, done - . - 2
        movi  eax, 3
        int   0x80              # fork
        cmpi  eax, 0
        jcc   e, child - . - 2
        movi  eax, 5
        int   0x80              # wait
        dec   esi
        jmp8  loop - . - 2
child:  movi  eax, 4
        int   0x80              # exit (child): back to the parent
done:   movi  eax, 0
        movi  ebx, 0
        int   0x80              # exit(0)

# ---- kernel_extra
sys_extra:                      # eax = the number; the frame at ebp
        cmpi  eax, 3
        jcc   e, b_fork - . - 2
        cmpi  eax, 4
        jcc   e, b_exit - . - 2
        jmp   (k_return - . - 5) & 0xFFFFFFFF     # 5 wait: the child has already exited

b_fork:                         # save the parent (fork returns 1 to it), run the child
        mov   eax, [ebp+F_EIP]
        mov   [b_eip], eax      # after its int 0x80
        mov   eax, [ebp+F_EFLAGS]
        mov   [b_eflags], eax
        mov   eax, [ebp+F_ESP]
        mov   [b_esp], eax
        mov   eax, [ebp+F_ECX]
        mov   [b_ecx], eax
        mov   eax, [ebp+F_EDX]
        mov   [b_edx], eax
        mov   eax, [ebp+F_EBP]
        mov   [b_ebp], eax
        mov   [b_ebx], ebx
        mov   [b_esi], esi
        mov   [b_edi], edi
        movi  eax, 1
        mov   [b_child], eax    # the child exists
        xor   eax, eax
        mov   [ebp+F_EAX], eax  # fork returns 0 in the child
        jmp   (k_return - . - 5) & 0xFFFFFFFF

b_exit:                         # the child is gone: switch back to the parent
        xor   eax, eax
        mov   [b_child], eax
        mov   eax, [b_eip]
        mov   [ebp+F_EIP], eax
        mov   eax, [b_eflags]
        mov   [ebp+F_EFLAGS], eax
        mov   eax, [b_esp]
        mov   [ebp+F_ESP], eax
        mov   eax, [b_ecx]
        mov   [ebp+F_ECX], eax
        mov   eax, [b_edx]
        mov   [ebp+F_EDX], eax
        mov   eax, [b_ebp]
        mov   [ebp+F_EBP], eax
        mov   ebx, [b_ebx]
        mov   esi, [b_esi]
        mov   edi, [b_edi]
        movi  eax, 1
        mov   [ebp+F_EAX], eax  # fork returns 1 in the parent
        jmp   (k_return - . - 5) & 0xFFFFFFFF  # resumes the parent after its fork

b_eip:    .space 4              # the process table: the parent's context
b_eflags: .space 4
b_esp:    .space 4
b_ecx:    .space 4
b_edx:    .space 4
b_ebp:    .space 4
b_ebx:    .space 4
b_esi:    .space 4
b_edi:    .space 4
b_child:  .space 4              # 1 while the child exists
