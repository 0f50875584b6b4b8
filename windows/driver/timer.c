/*
 * timer.c - request timeouts, and pumping that cannot wait (kernel mode, PASSIVE_LEVEL system thread).
 *
 * One system thread serves every device: it sleeps until the earliest deadline of any queued
 * request, completes what has expired and sleeps again. Dispatch wakes it when it queues a request
 * with a deadline, so the sleep is always to the right time. It also pumps a unit when its
 * PumpDue comes: a waiting write went, so the writes and WAITs behind it may go on (at once after
 * a timeout, LBK_PUMP_AFTER_CANCEL_MS after a cancel, whose routine may run at DISPATCH_LEVEL,
 * where the pump may not); an XOFF_COUNTER request's timeout came; the bus's SET_OPTIONS changed
 * an end's wiring or pacing (it holds the bus lock, and a pump may touch a client's memory).
 * A thread rather than a KTIMER DPC:
 * under Wine a timer's DPC runs on a thread pool whose KeCancelTimer and KeSetTimer wait for a
 * running DPC, which deadlocks when the caller holds the lock that DPC needs.
 */
#include "lbk_driver.h"

PLBK_UNIT LbkUnits[LBK_MAX_DEVICE_COUNT];
ULONG LbkUnitCount;
FAST_MUTEX LbkUnitsLock;

static KEVENT LbkTimerEvent; /* synchronization event: a new deadline, or stop */
static volatile LONG LbkTimerStopping;
static HANDLE LbkTimerThreadHandle;

static KSTART_ROUTINE LbkTimerThread;

/*
 * Expires and pumps one unit, completing what that finished; returns the unit's next deadline
 * (0: none). Without LbkUnitsLock: completing a neither-I/O read copies to user memory, and the
 * pump may copy a neither-I/O write's next window from it, either of which may fault in a page;
 * meanwhile every other unit's timeouts, AddDevice and REMOVE must not wait.
 */
static LONGLONG LbkTimerVisit(PLBK_UNIT unit, LONGLONG now)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;
    LONGLONG next;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&unit->Lock, &lockHandle);
    next = LbkExpireLocked(unit, now, &done);
    if (unit->PumpDue != 0 && unit->PumpDue <= now) {
        LBK_PUMP pump;

        unit->PumpDue = 0;
        LbkPumpInit(&pump, unit, &lockHandle, &done);
        LbkPumpLocked(&pump);
    } else if (unit->PumpDue != 0 && (next == 0 || unit->PumpDue < next)) {
        next = unit->PumpDue;
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
    return next;
}

static VOID LbkTimerThread(PVOID context)
{
    UNREFERENCED_PARAMETER(context);
    while (!LbkTimerStopping) {
        LARGE_INTEGER frequency;
        LARGE_INTEGER now = KeQueryPerformanceCounter(&frequency);
        PLBK_UNIT visit[LBK_MAX_DEVICE_COUNT];
        LONGLONG next = 0;
        ULONG i, count = 0;

        /* The mutex only while taking the units: REMOVE_DEVICE takes a unit out of its slot
           under it, then waits for TimerVisits to drop before it frees the unit. */
        ExAcquireFastMutex(&LbkUnitsLock);
        for (i = 0; i < LBK_MAX_DEVICE_COUNT; i++) {
            if (LbkUnits[i] != NULL) {
                InterlockedIncrement(&LbkUnits[i]->TimerVisits);
                visit[count++] = LbkUnits[i];
            }
        }
        ExReleaseFastMutex(&LbkUnitsLock);
        for (i = 0; i < count; i++) {
            LONGLONG unitNext = LbkTimerVisit(visit[i], now.QuadPart);

            InterlockedDecrement(&visit[i]->TimerVisits); /* the last touch of the unit */
            if (unitNext != 0 && (next == 0 || unitNext < next))
                next = unitNext;
        }
        if (next == 0) {
            KeWaitForSingleObject(&LbkTimerEvent, Executive, KernelMode, FALSE, NULL);
        } else {
            /* Relative, in 100-ns units, rounded up so the deadline has passed on waking; the
               core's arithmetic cannot overflow for any accepted timeout (49.7 days at most). */
            LARGE_INTEGER timeout;

            timeout.QuadPart = -(LONGLONG)lbk_ticks_to_100ns((uint64_t)(next - now.QuadPart), (uint64_t)frequency.QuadPart);
            KeWaitForSingleObject(&LbkTimerEvent, Executive, KernelMode, FALSE, &timeout);
        }
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

VOID LbkTimerWaitForVisit(PLBK_UNIT unit)
{
    while (InterlockedCompareExchange(&unit->TimerVisits, 0, 0) != 0) {
        LARGE_INTEGER interval;

        interval.QuadPart = -10000; /* 1 ms: a visit takes about that */
        KeDelayExecutionThread(KernelMode, FALSE, &interval);
    }
}

NTSTATUS LbkTimerStart(VOID)
{
    OBJECT_ATTRIBUTES attributes;

    KeInitializeEvent(&LbkTimerEvent, SynchronizationEvent, FALSE);
    LbkTimerStopping = 0;
    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    return PsCreateSystemThread(&LbkTimerThreadHandle, THREAD_ALL_ACCESS, &attributes, NULL, NULL,
                                LbkTimerThread, NULL);
}

VOID LbkTimerWake(VOID)
{
    KeSetEvent(&LbkTimerEvent, IO_NO_INCREMENT, FALSE);
}

/* Stops the thread and waits for it to end, so no unit is touched after this returns. */
VOID LbkTimerStop(VOID)
{
    if (LbkTimerThreadHandle == NULL)
        return;
    InterlockedExchange(&LbkTimerStopping, 1);
    LbkTimerWake();
    ZwWaitForSingleObject(LbkTimerThreadHandle, FALSE, NULL);
    ZwClose(LbkTimerThreadHandle);
    LbkTimerThreadHandle = NULL;
}
