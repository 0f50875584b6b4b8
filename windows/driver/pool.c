/*
 * pool.c - counted pool allocations and the user-memory copy helper (kernel mode).
 * Every allocation carries a small header with its size, so the driver knows at any time how
 * much pool it holds: GET_STATS reports it and DriverUnload logs anything left.
 */
#include "lbk_driver.h"

typedef struct _LBK_POOL_HEADER {
    SIZE_T Bytes;   /* of the whole block, header included */
    ULONG Tag;
    ULONG Charged; /* charged to a process's quota; also keeps the caller's part 16-byte aligned */
} LBK_POOL_HEADER;

static volatile LONG64 LbkPoolBytes;
static volatile LONG64 LbkPoolAllocations;

/* ExAllocatePool2 (Windows 10 2004 and later), found at load; Wine does not export it. */
#define LBK_POOL_FLAG_USE_QUOTA 0x0000000000000001ull
#define LBK_POOL_FLAG_UNINITIALIZED 0x0000000000000002ull
#define LBK_POOL_FLAG_NON_PAGED 0x0000000000000040ull
#define LBK_POOL_FLAG_PAGED 0x0000000000000100ull
typedef PVOID(NTAPI *LBK_ALLOCATE_POOL2)(ULONG64 flags, SIZE_T bytes, ULONG tag);
static LBK_ALLOCATE_POOL2 LbkAllocatePool2;

VOID LbkPoolInitialize(VOID)
{
    UNICODE_STRING name;

    RtlInitUnicodeString(&name, L"ExAllocatePool2");
    LbkAllocatePool2 = (LBK_ALLOCATE_POOL2)MmGetSystemRoutineAddress(&name);
}

/*
 * Non-paged, no-execute, not zeroed; charged to the current process's quota when chargeQuota is
 * set (the caller must then run in the requestor's context), failing rather than raising.
 */
static PVOID LbkAllocatePool(SIZE_T bytes, ULONG tag, BOOLEAN chargeQuota)
{
    if (LbkAllocatePool2 != NULL)
        return LbkAllocatePool2(LBK_POOL_FLAG_NON_PAGED | LBK_POOL_FLAG_UNINITIALIZED |
                                    (chargeQuota ? LBK_POOL_FLAG_USE_QUOTA : 0),
                                bytes, tag);
    if (chargeQuota)
        return ExAllocatePoolWithQuotaTag((POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), bytes, tag);
    return ExAllocatePoolWithTag(NonPagedPoolNx, bytes, tag);
}

/*
 * Paged, zeroed, not counted: for what the driver hands to the PnP manager, which frees it with
 * ExFreePool (IDs, texts, relations, bus information).
 */
PVOID LbkAllocateForSystem(SIZE_T bytes, ULONG tag)
{
    PVOID block;

    if (LbkAllocatePool2 != NULL)
        return LbkAllocatePool2(LBK_POOL_FLAG_PAGED, bytes, tag); /* zeroed unless asked not to be */
    block = ExAllocatePoolWithTag(PagedPool, bytes, tag);
    if (block != NULL)
        RtlZeroMemory(block, bytes);
    return block;
}

static PVOID LbkAllocateCounted(SIZE_T bytes, ULONG tag, BOOLEAN chargeQuota)
{
    LBK_POOL_HEADER *header;
    SIZE_T total = sizeof(*header) + bytes;

    if (total < bytes)
        return NULL;
    header = LbkAllocatePool(total, tag, chargeQuota);
    if (header == NULL)
        return NULL;
    header->Bytes = total;
    header->Tag = tag;
    header->Charged = chargeQuota;
    InterlockedExchangeAdd64(&LbkPoolBytes, (LONG64)total);
    InterlockedIncrement64(&LbkPoolAllocations);
    return header + 1;
}

PVOID LbkAllocateBuffer(SIZE_T bytes, ULONG tag)
{
    return LbkAllocateCounted(bytes, tag, FALSE);
}

PVOID LbkAllocateCharged(SIZE_T bytes, ULONG tag)
{
    return LbkAllocateCounted(bytes, tag, TRUE);
}

PVOID LbkAllocate(SIZE_T bytes, ULONG tag)
{
    PVOID block = LbkAllocateBuffer(bytes, tag);

    if (block != NULL)
        RtlZeroMemory(block, bytes);
    return block;
}

SIZE_T LbkBlockBytes(PVOID block)
{
    return ((LBK_POOL_HEADER *)block - 1)->Bytes - sizeof(LBK_POOL_HEADER);
}

BOOLEAN LbkBlockCharged(PVOID block)
{
    return ((LBK_POOL_HEADER *)block - 1)->Charged != 0;
}

VOID LbkFree(PVOID block, ULONG tag)
{
    LBK_POOL_HEADER *header;

    if (block == NULL)
        return;
    header = (LBK_POOL_HEADER *)block - 1;
    NT_ASSERT(header->Tag == tag);
    InterlockedExchangeAdd64(&LbkPoolBytes, -(LONG64)header->Bytes);
    InterlockedDecrement64(&LbkPoolAllocations);
    ExFreePoolWithTag(header, tag);
}

ULONG64 LbkPoolBytesOutstanding(VOID)
{
    return (ULONG64)InterlockedCompareExchange64(&LbkPoolBytes, 0, 0);
}

ULONG64 LbkPoolAllocationsOutstanding(VOID)
{
    return (ULONG64)InterlockedCompareExchange64(&LbkPoolAllocations, 0, 0);
}

/*
 * LLVM assumes only calls can raise inside __try, so an inline access to user memory could be
 * moved out of the protected range. Keeping the copy behind a call that is never inlined makes
 * the fault happen inside the caller's __try on every optimisation level.
 */
__declspec(noinline) VOID LbkCopyUserMemory(PVOID destination, const VOID *source, SIZE_T bytes)
{
    RtlCopyMemory(destination, source, bytes);
}
