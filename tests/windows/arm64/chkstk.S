// __chkstk for the ARM64 test programs (mingw-w64's runtime has it; Debian has no aarch64 one).
// A function whose frame passes a page calls it with x15 = frame size / 16, before moving sp:
// touch each page of the new frame, top down, so the stack's guard page grows it in order.
// Must keep every register but x16 and x17, and leave sp alone.
    .text
    .globl  __chkstk
    .p2align 2
__chkstk:
    lsl     x16, x15, #4
    mov     x17, sp
1:  sub     x17, x17, #4096
    subs    x16, x16, #4096
    ldr     xzr, [x17]
    b.gt    1b
    ret
