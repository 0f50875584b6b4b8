/*
 * lbk_base.h - the few types and builtins the OS-independent core needs (any mode, any OS).
 * The core includes no OS header: the Windows driver, the Linux module and the native tests
 * all compile it as it is.
 */
#ifndef LBK_BASE_H
#define LBK_BASE_H

#if defined(__KERNEL__) && defined(__linux__)
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

/* The compilers we use (gcc, clang) turn these into inline code or the C library's routine,
   which both kernels export. */
#define lbk__copy(dst, src, n) __builtin_memcpy((dst), (src), (n))

#endif /* LBK_BASE_H */
