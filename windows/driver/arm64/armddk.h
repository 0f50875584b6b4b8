/*
 * armddk.h - the ARM64 part of the kernel interface that mingw-w64's DDK headers lack.
 *
 * wdm.h stops at "#error Unknown Architecture" for ARM64; the build makes copies of wdm.h and
 * ntddk.h whose ARM branch also takes __aarch64__ and includes this header (Makefile, ARM64_DDK).
 * It holds only what the driver needs, written from Microsoft's documentation of the ARM64
 * kernel: the IRQL levels, KeGetCurrentIrql, the interlocked operations and NT_ASSERT's break.
 * Never used for x64.
 */
#ifndef LBK_ARMDDK_H
#define LBK_ARMDDK_H

#if !defined(__aarch64__)
#error "armddk.h is the ARM64 part only"
#endif

#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define CMCI_LEVEL 5
#define CLOCK_LEVEL 13
#define IPI_LEVEL 14
#define DRS_LEVEL 14
#define POWER_LEVEL 14
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15

#define PAGE_SIZE 0x1000
#define PAGE_SHIFT 12L

typedef struct _KFLOATING_SAVE {
    ULONG Dummy;
} KFLOATING_SAVE, *PKFLOATING_SAVE;

/* On ARM64 the HAL exports the IRQL routines (on x64 they are inline reads of cr8). Imported as
   the WDK's ARM64 headers declare them rather than read from the processor control region at
   x18, whose layout is the kernel's. */
NTHALAPI KIRQL NTAPI KeGetCurrentIrql(VOID);

/* NT_ASSERT's failure (DBG builds): on ARM64 Windows the break with code 0xF001 raises
   STATUS_ASSERTION_FAILURE, as int 2c does on x64. */
FORCEINLINE VOID DbgRaiseAssertionFailure(VOID)
{
    __asm__ __volatile__("brk #0xf001" ::: "memory");
}

/* Windows' interlocked operations are full barriers on every architecture. Compilers implement
   the _Interlocked intrinsics on ARM64 with acquire/release exclusives only (clang 14: ldaxr/stlxr,
   no fence), which lets a later plain load pass the store; the trailing dmb ish makes each one a
   full barrier, as Microsoft's compiler does. */
#define LBK_ARM64_FULL_BARRIER() __asm__ __volatile__("dmb ish" ::: "memory")
#define LBK_ARM64_INTERLOCKED(expression)           \
    ({                                              \
        __typeof__(expression) lbk_result_ = (expression); \
        LBK_ARM64_FULL_BARRIER();                    \
        lbk_result_;                                 \
    })

FORCEINLINE LONG InterlockedIncrement(LONG volatile *addend)
{
    return LBK_ARM64_INTERLOCKED(__atomic_add_fetch(addend, 1, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG InterlockedDecrement(LONG volatile *addend)
{
    return LBK_ARM64_INTERLOCKED(__atomic_sub_fetch(addend, 1, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *addend)
{
    return LBK_ARM64_INTERLOCKED(__atomic_add_fetch(addend, 1, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *addend)
{
    return LBK_ARM64_INTERLOCKED(__atomic_sub_fetch(addend, 1, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG InterlockedExchange(LONG volatile *target, LONG value)
{
    return LBK_ARM64_INTERLOCKED(__atomic_exchange_n(target, value, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *addend, LONG64 value)
{
    return LBK_ARM64_INTERLOCKED(__atomic_fetch_add(addend, value, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG64 InterlockedAdd64(LONG64 volatile *addend, LONG64 value)
{
    return LBK_ARM64_INTERLOCKED(__atomic_add_fetch(addend, value, __ATOMIC_SEQ_CST));
}

FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *destination, LONG exchange, LONG comparand)
{
    __atomic_compare_exchange_n(destination, &comparand, exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    LBK_ARM64_FULL_BARRIER();
    return comparand;
}

FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *destination, LONG64 exchange, LONG64 comparand)
{
    __atomic_compare_exchange_n(destination, &comparand, exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    LBK_ARM64_FULL_BARRIER();
    return comparand;
}

FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *destination, PVOID exchange, PVOID comparand)
{
    __atomic_compare_exchange_n(destination, &comparand, exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    LBK_ARM64_FULL_BARRIER();
    return comparand;
}

FORCEINLINE PVOID InterlockedExchangePointer(PVOID volatile *target, PVOID value)
{
    return LBK_ARM64_INTERLOCKED(__atomic_exchange_n(target, value, __ATOMIC_SEQ_CST));
}

#endif /* LBK_ARMDDK_H */
