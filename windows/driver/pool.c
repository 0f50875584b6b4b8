/*
 * pool.c - counted pool allocations and the user-memory copy helper (kernel mode).
 * Every allocation carries a small header with its size, so the driver knows at any time how
 * much pool it holds: GET_STATS reports it and DriverUnload logs anything left.
 */
#include "lbk_driver.h"

typedef struct _LBK_POOL_HEADER {
    SIZE_T Bytes;   /* of the whole block, header included */
    ULONG Tag;
    ULONG Reserved; /* keeps the caller's part 16-byte aligned */
} LBK_POOL_HEADER;

static volatile LONG64 LbkPoolBytes;
static volatile LONG64 LbkPoolAllocations;

PVOID LbkAllocateBuffer(SIZE_T bytes, ULONG tag)
{
    LBK_POOL_HEADER *header;
    SIZE_T total = sizeof(*header) + bytes;

    if (total < bytes)
        return NULL;
    header = ExAllocatePoolWithTag(NonPagedPoolNx, total, tag);
    if (header == NULL)
        return NULL;
    header->Bytes = total;
    header->Tag = tag;
    InterlockedExchangeAdd64(&LbkPoolBytes, (LONG64)total);
    InterlockedIncrement64(&LbkPoolAllocations);
    return header + 1;
}

PVOID LbkAllocate(SIZE_T bytes, ULONG tag)
{
    PVOID block = LbkAllocateBuffer(bytes, tag);

    /* ExAllocatePool2 would zero for us, but Wine does not export it; this works on both. */
    if (block != NULL)
        RtlZeroMemory(block, bytes);
    return block;
}

SIZE_T LbkBlockBytes(PVOID block)
{
    return ((LBK_POOL_HEADER *)block - 1)->Bytes - sizeof(LBK_POOL_HEADER);
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
