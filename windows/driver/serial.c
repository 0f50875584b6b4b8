/*
 * serial.c - a serial pair's ends as COM ports joined by a null-modem cable (kernel mode).
 * The bytes go through the pair's channels like any pair's; this file keeps each end's line
 * settings, drives the modem lines (by default DTR -> peer DSR and DCD, RTS -> peer CTS; the
 * handshake and the wiring are flow.c's), turns what happens
 * into WaitCommEvent events, and serves the IOCTL_SERIAL_* requests of the Win32 communications
 * API. The rules that need no kernel (what is a valid setting, how COMMTIMEOUTS plan a read) are
 * the core's (core/lbk_serial.c). Everything here runs under the unit lock unless it says not.
 */
#include "lbk_driver.h"
#include <ntddser.h>

/* The core names the serial structures and codes itself; they must be ntddser.h's. */
C_ASSERT(sizeof(struct lbk_serial_line_control) == sizeof(SERIAL_LINE_CONTROL));
C_ASSERT(sizeof(struct lbk_serial_handflow) == sizeof(SERIAL_HANDFLOW));
C_ASSERT(sizeof(struct lbk_serial_chars) == sizeof(SERIAL_CHARS));
C_ASSERT(sizeof(struct lbk_serial_timeouts) == sizeof(SERIAL_TIMEOUTS));
C_ASSERT(sizeof(struct lbk_serial_status) == sizeof(SERIAL_STATUS));
C_ASSERT(sizeof(struct lbk_serial_queue_size) == sizeof(SERIAL_QUEUE_SIZE));
C_ASSERT(sizeof(ULONG) == sizeof(SERIAL_BAUD_RATE)); /* the core's table counts it as a uint32_t */
C_ASSERT(LBK_SERIAL_COMMPROP_BYTES == sizeof(SERIAL_COMMPROP));
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_GET_BAUD_RATE) == IOCTL_SERIAL_GET_BAUD_RATE);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_WAIT_ON_MASK) == IOCTL_SERIAL_WAIT_ON_MASK);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_GET_DTRRTS) == IOCTL_SERIAL_GET_DTRRTS);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_IMMEDIATE_CHAR) == IOCTL_SERIAL_IMMEDIATE_CHAR);
C_ASSERT(LBK_SERIAL_CONTROL_INVALID == SERIAL_CONTROL_INVALID && LBK_SERIAL_FLOW_INVALID == SERIAL_FLOW_INVALID);
C_ASSERT(LBK_SERIAL_EV_RXCHAR == SERIAL_EV_RXCHAR && LBK_SERIAL_EV_EVENT2 == SERIAL_EV_EVENT2);
C_ASSERT(LBK_SERIAL_CTS_STATE == SERIAL_CTS_STATE && LBK_SERIAL_DCD_STATE == SERIAL_DCD_STATE);
C_ASSERT(LBK_SERIAL_PURGE_RXCLEAR == SERIAL_PURGE_RXCLEAR && LBK_SERIAL_ERROR_BREAK == SERIAL_ERROR_BREAK);
C_ASSERT(LBK_SERIAL_TX_WAITING_ON_BREAK == SERIAL_TX_WAITING_ON_BREAK);
C_ASSERT(sizeof(struct lbk_serial_perf_stats) == sizeof(SERIALPERF_STATS));
C_ASSERT(sizeof(struct lbk_serial_xoff_counter) == sizeof(SERIAL_XOFF_COUNTER));
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_XOFF_COUNTER) == IOCTL_SERIAL_XOFF_COUNTER);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_LSRMST_INSERT) == IOCTL_SERIAL_LSRMST_INSERT);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_CONFIG_SIZE) == IOCTL_SERIAL_CONFIG_SIZE);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_GET_STATS) == IOCTL_SERIAL_GET_STATS);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_CLEAR_STATS) == IOCTL_SERIAL_CLEAR_STATS);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_GET_MODEM_CONTROL) == IOCTL_SERIAL_GET_MODEM_CONTROL);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_SET_MODEM_CONTROL) == IOCTL_SERIAL_SET_MODEM_CONTROL);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_SET_FIFO_CONTROL) == IOCTL_SERIAL_SET_FIFO_CONTROL);
C_ASSERT(LBK_SERIAL_CODE(LBK_SERIAL_SET_XOFF) == IOCTL_SERIAL_SET_XOFF);

/* The modem control register's bits (the WDK's serial.h; mingw's ntddser.h lacks them). Those
   other than DTR and RTS (OUT1, OUT2, LOOP) are kept and reported only. */
#define LBK_MCR_DTR 0x01u
#define LBK_MCR_RTS 0x02u
#define LBK_MCR_KEPT 0x1Cu

#define LBK_SERIALCOMM L"SERIALCOMM" /* HKLM\HARDWARE\DEVICEMAP\SERIALCOMM: where programs list COM ports */

VOID LbkSerialInitialize(PLBK_DEVICE_EXTENSION ext, USHORT port, BOOLEAN paced)
{
    ext->IsSerial = TRUE;
    LbkQueueInitialize(&ext->Serial.XoffCounters);
    ext->Serial.Paced = paced;
    lbk_serial_default_settings(&ext->Serial.Settings, (uint32_t)lbk_channel_capacity(&ext->In->Data));
    ext->Serial.Port = port;
    /* A legacy pair's end is device index 2 x slot (A) or 2 x slot + 1 (B), as in PortNames. */
    if (!LbkConfig.plug_and_play && ext->Unit != NULL && ext->Unit->Index < LBK_MAX_DEVICE_COUNT)
        LbkFlowInitialize(ext, &LbkConfig.wiring[2 * ext->Unit->Index + (ext == ext->Unit->Ends[1] ? 1 : 0)]);
    else
        LbkFlowInitialize(ext, NULL);
}

VOID LbkSerialSetOptions(PLBK_DEVICE_EXTENSION ext, const struct lbk_flow_wiring *wiring, BOOLEAN paced)
{
    PLBK_UNIT unit = ext->Unit;
    KLOCK_QUEUE_HANDLE lockHandle;
    LONGLONG now = KeQueryPerformanceCounter(NULL).QuadPart;

    KeAcquireInStackQueuedSpinLock(&unit->Lock, &lockHandle);
    ext->Serial.Wiring = *wiring;
    if (ext->Serial.Paced != paced)
        ext->Out->PaceLimited = FALSE; /* the pacer's note is for the old rate: start afresh */
    ext->Serial.Paced = paced;
    /* The timer thread pumps the unit now: the pump compares the inputs with what the end last
       saw (EV_CTS, EV_DSR, ...) and moves what a hold by the old wiring kept back. Not on this
       thread, which holds the bus's lock: a pump may complete a read into its requestor's
       memory, or read a write's, and a page fault there would hold up every bus request and
       the Plug and Play requests of every end. */
    if (unit->PumpDue == 0 || now < unit->PumpDue)
        unit->PumpDue = now;
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkTimerWake();
}

/* The lines an end drives: only while a handle has it open, as a port's are while it is open. */
static BOOLEAN LbkDtrOn(PLBK_DEVICE_EXTENSION ext)
{
    return (LbkFlowLinesLocked(ext) & LBK_FLOW_DTR) != 0;
}

static BOOLEAN LbkRtsOn(PLBK_DEVICE_EXTENSION ext)
{
    return (LbkFlowLinesLocked(ext) & LBK_FLOW_RTS) != 0;
}

/* What the end reads: its peer's lines and its own, through its wiring (flow.c). */
static ULONG LbkModemStatusLocked(PLBK_DEVICE_EXTENSION ext)
{
    return LbkFlowModemStatusLocked(ext);
}

/* Records events that happened to ext; those outside its wait mask are not kept. */
static VOID LbkSerialEventLocked(PLBK_DEVICE_EXTENSION ext, ULONG events)
{
    ext->Serial.Events |= events & ext->Serial.WaitMask;
}

VOID LbkSerialOpenedLocked(PLBK_DEVICE_EXTENSION ext)
{
    PLBK_SERIAL serial = &ext->Serial;

    serial->Dtr = (BOOLEAN)lbk_serial_handflow_dtr(&serial->Settings.handflow);
    serial->Rts = (BOOLEAN)lbk_serial_handflow_rts(&serial->Settings.handflow);
    serial->Break = FALSE;
    serial->WaitMask = 0;
    serial->Events = 0;
    serial->Errors = 0;
    serial->TxBusy = FALSE;
    serial->ImmediatePending = FALSE;
    LbkFlowOpenedLocked(ext);
    serial->ModemStatus = LbkModemStatusLocked(ext); /* what it finds is no change */
}

ULONG LbkSerialReceivedEventsLocked(PLBK_CHANNEL channel, const UCHAR *bytes, SIZE_T count)
{
    PLBK_DEVICE_EXTENSION reader = channel->Reader;
    ULONG events = LBK_SERIAL_EV_RXCHAR;
    SIZE_T i;

    if (!reader->IsSerial || count == 0)
        return 0;
    if (reader->Serial.WaitMask & LBK_SERIAL_EV_RXFLAG) {
        for (i = 0; i < count; i++) {
            if (bytes[i] == reader->Serial.Settings.chars.event_char) {
                events |= LBK_SERIAL_EV_RXFLAG;
                break;
            }
        }
    }
    return events;
}

/* GET_STATS: count bytes went from channel's writer into its reader's input (or read). */
static VOID LbkSerialCountLocked(PLBK_CHANNEL channel, SIZE_T count)
{
    if (!channel->Reader->IsSerial)
        return;
    channel->Writer->Serial.Stats.transmitted_count += (uint32_t)count;
    channel->Reader->Serial.Stats.received_count += (uint32_t)count;
    LbkFlowCountReceivedLocked(channel->Reader, count);
}

VOID LbkSerialReceivedLocked(PLBK_CHANNEL channel, const UCHAR *bytes, SIZE_T count)
{
    LbkSerialCountLocked(channel, count);
    LbkSerialPostReceivedLocked(channel, LbkSerialReceivedEventsLocked(channel, bytes, count));
}

VOID LbkSerialPostReceivedLocked(PLBK_CHANNEL channel, ULONG events)
{
    if (events != 0)
        LbkSerialEventLocked(channel->Reader, events);
}

/* Completes the pending WaitCommEvent, if any, with events. */
static VOID LbkFinishMaskWaitLocked(PLBK_DEVICE_EXTENSION ext, ULONG events, PLIST_ENTRY done)
{
    PLBK_QUEUE queue = &ext->Serial.MaskWaits;
    PLIST_ENTRY entry = queue->Irps.Flink;

    while (entry != &queue->Irps) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);

        entry = entry->Flink;
        if (!LbkClaimLocked(irp, NULL))
            continue; /* its cancel routine completes it */
        *(PULONG)irp->AssociatedIrp.SystemBuffer = events;
        irp->IoStatus.Information = sizeof(ULONG);
        LbkFinishLocked(irp, STATUS_SUCCESS, done);
    }
}

VOID LbkSerialUpdateLocked(PLBK_UNIT unit, PLIST_ENTRY done)
{
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[i];
        PLBK_SERIAL serial;
        ULONG modem;
        SIZE_T capacity;

        if (ext == NULL || !ext->IsSerial)
            continue;
        serial = &ext->Serial;
        modem = LbkModemStatusLocked(ext);
        LbkSerialEventLocked(ext, lbk_serial_modem_events(serial->ModemStatus, modem));
        serial->ModemStatus = modem;
        if (serial->TxBusy && ext->Out->Writes.Count == 0 && !serial->ImmediatePending) {
            serial->TxBusy = FALSE;
            LbkSerialEventLocked(ext, LBK_SERIAL_EV_TXEMPTY);
        }
        capacity = lbk_channel_capacity(&ext->In->Data);
        if (lbk_channel_queued(&ext->In->Data) * 5 >= capacity * 4) {
            if (!serial->RxAbove80)
                LbkSerialEventLocked(ext, LBK_SERIAL_EV_RX80FULL);
            serial->RxAbove80 = TRUE;
        } else {
            serial->RxAbove80 = FALSE;
        }
        LbkFlowCheckXoffCounterLocked(ext, done);
        if (serial->Events != 0 && serial->MaskWaits.Count != 0) {
            LbkFinishMaskWaitLocked(ext, serial->Events, done);
            serial->Events = 0;
        }
    }
}

/*
 * How a READ or WRITE of a serial end waits, by its COMMTIMEOUTS as the caller copied them under
 * the unit lock (SET_TIMEOUTS writes them under it: an unlocked copy could mix old and new
 * fields). A FILL read keeps its interval in its stack location's Key and its total deadline in
 * ByteOffset, which a device without a file system leaves unused.
 */
VOID LbkSerialPrepareTransfer(PIRP irp, ULONG length, const struct lbk_serial_timeouts *timeouts, ULONG *flags,
                              ULONG *timeoutMs)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    struct lbk_serial_read_plan plan;

    if (stack->MajorFunction == IRP_MJ_WRITE) {
        *timeoutMs = lbk_serial_write_timeout(timeouts, length);
        return;
    }
    lbk_serial_read_plan(timeouts, length, &plan);
    *timeoutMs = plan.total_ms;
    switch (plan.mode) {
    case LBK_SERIAL_READ_IMMEDIATE:
        *flags |= LBK_IRP_NONBLOCKING;
        break;
    case LBK_SERIAL_READ_FIRST_BYTE:
        break; /* a byte-stream read already returns with its first bytes */
    case LBK_SERIAL_READ_FILL:
        *flags |= LBK_IRP_FILL;
        stack->Parameters.Read.Key = plan.interval_ms;
        stack->Parameters.Read.ByteOffset.QuadPart = LbkDeadline(plan.total_ms);
        break;
    }
}

/*
 * A FILL read got bytes. Returns TRUE when it must wait for more, its deadline moved to the end
 * of its interval (or left at its total, if sooner); FALSE when it is full.
 */
BOOLEAN LbkSerialReadGotBytesLocked(PLBK_DEVICE_EXTENSION ext, PIRP read)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(read);
    LONGLONG total = stack->Parameters.Read.ByteOffset.QuadPart;
    LONGLONG deadline = LbkDeadline(stack->Parameters.Read.Key);

    if (read->IoStatus.Information >= LbkTransferLength(ext, read))
        return FALSE;
    if (total != 0 && (deadline == 0 || total < deadline))
        deadline = total;
    if (deadline != LBK_IRP_DEADLINE(read)) {
        read->Tail.Overlay.DriverContext[3] = (PVOID)(LONG_PTR)deadline;
        LbkTimerWake(); /* KeSetEvent: fine at DISPATCH_LEVEL */
    }
    return TRUE;
}

/* The writer's line: ticks per character and the burst an idle line lets through (10 ms of it). */
static uint64_t LbkLineTicks(PLBK_DEVICE_EXTENSION writer, LONGLONG *now, uint64_t *burst)
{
    LARGE_INTEGER frequency;
    uint64_t ticks;

    *now = KeQueryPerformanceCounter(&frequency).QuadPart;
    ticks = lbk_serial_ticks_per_char(writer->Serial.Settings.baud_rate, &writer->Serial.Settings.line,
                                      (uint64_t)frequency.QuadPart);
    *burst = max((uint64_t)frequency.QuadPart / 100 / ticks, (uint64_t)1);
    return ticks;
}

/* Has the timer thread pump the unit when the writer's line can carry the next byte. */
static VOID LbkPumpWhenLineFreeLocked(PLBK_CHANNEL channel, uint64_t ticks)
{
    PLBK_UNIT unit = channel->Writer->Unit;
    LONGLONG due = lbk_pacer_next(&channel->Pacer, ticks);

    if (unit->PumpDue == 0 || due < unit->PumpDue) {
        unit->PumpDue = due;
        LbkTimerWake(); /* KeSetEvent: fine at DISPATCH_LEVEL */
    }
}

SIZE_T LbkSerialPaceAllowedLocked(PLBK_CHANNEL channel, SIZE_T want)
{
    PLBK_DEVICE_EXTENSION writer = channel->Writer;
    uint64_t ticks, burst, allowed;
    LONGLONG now;

    want = LbkFlowAllowedLocked(channel, want); /* the handshake first: a held writer sends nothing */
    if (!writer->IsSerial || !writer->Serial.Paced || want == 0)
        return want;
    ticks = LbkLineTicks(writer, &now, &burst);
    allowed = lbk_pacer_allowed(&channel->Pacer, now, ticks, burst);
    if (allowed >= want)
        return want;
    channel->PaceLimited = TRUE;
    if (allowed == 0)
        LbkPumpWhenLineFreeLocked(channel, ticks);
    return (SIZE_T)allowed;
}

VOID LbkSerialPaceSentLocked(PLBK_CHANNEL channel, SIZE_T count)
{
    PLBK_DEVICE_EXTENSION writer = channel->Writer;
    uint64_t ticks, burst;
    LONGLONG now;

    if (!writer->IsSerial || !writer->Serial.Paced)
        return;
    ticks = LbkLineTicks(writer, &now, &burst);
    lbk_pacer_sent(&channel->Pacer, now, ticks, burst, count);
    if (channel->PaceLimited) {
        channel->PaceLimited = FALSE;
        LbkPumpWhenLineFreeLocked(channel, ticks); /* for the bytes that had to wait */
    }
}

/* Bytes of ext's waiting writes not yet on the line: ClearCommError's cbOutQue. */
static ULONG LbkOutQueueLocked(PLBK_DEVICE_EXTENSION ext)
{
    PLIST_ENTRY entry;
    ULONG64 bytes = ext->Serial.ImmediatePending ? 1 : 0;

    for (entry = ext->Out->Writes.Irps.Flink; entry != &ext->Out->Writes.Irps; entry = entry->Flink) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);

        bytes += IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length - irp->IoStatus.Information;
    }
    return (ULONG)min(bytes, (ULONG64)MAXULONG);
}

static VOID LbkFillProperties(PLBK_DEVICE_EXTENSION ext, PSERIAL_COMMPROP prop)
{
    ULONG capacity = (ULONG)lbk_channel_capacity(&ext->In->Data);

    RtlZeroMemory(prop, sizeof(*prop));
    prop->PacketLength = sizeof(*prop);
    prop->PacketVersion = 2;
    prop->ServiceMask = SERIAL_SP_SERIALCOMM;
    prop->MaxTxQueue = 0; /* writes wait in their own buffers: no limit but the caller's */
    prop->MaxRxQueue = capacity;
    prop->MaxBaud = SERIAL_BAUD_USER;
    prop->ProvSubType = SERIAL_SP_RS232;
    prop->ProvCapabilities = SERIAL_PCF_DTRDSR | SERIAL_PCF_RTSCTS | SERIAL_PCF_CD | SERIAL_PCF_TOTALTIMEOUTS |
                             SERIAL_PCF_INTTIMEOUTS | SERIAL_PCF_SPECIALCHARS | SERIAL_PCF_XONXOFF |
                             SERIAL_PCF_SETXCHAR;
    prop->SettableParams = SERIAL_SP_PARITY | SERIAL_SP_BAUD | SERIAL_SP_DATABITS | SERIAL_SP_STOPBITS |
                           SERIAL_SP_HANDSHAKING | SERIAL_SP_CARRIER_DETECT;
    prop->SettableBaud = SERIAL_BAUD_USER | 0x7FFFFu; /* every listed rate, and any other */
    prop->SettableData = SERIAL_DATABITS_5 | SERIAL_DATABITS_6 | SERIAL_DATABITS_7 | SERIAL_DATABITS_8;
    prop->SettableStopParity = SERIAL_STOPBITS_10 | SERIAL_STOPBITS_15 | SERIAL_STOPBITS_20 | SERIAL_PARITY_NONE |
                               SERIAL_PARITY_ODD | SERIAL_PARITY_EVEN | SERIAL_PARITY_MARK | SERIAL_PARITY_SPACE;
    prop->CurrentTxQueue = 0;
    prop->CurrentRxQueue = capacity;
}

/*
 * TransmitCommChar: one byte ahead of the waiting writes. Not written here: another thread may be
 * pumping the unit with the lock dropped, in the middle of a transfer (a WRITE_ATOMIC put in
 * pieces), and a byte appended now would land inside it. The pump that follows this request,
 * or the one under way, sends it between transfers (LbkSerialSendImmediateLocked). One at a
 * time, as serial.sys; the room it needs is checked now, so a byte that is taken is sent at once
 * unless another thread's pump is filling the ring meanwhile.
 */
static NTSTATUS LbkImmediateCharLocked(PLBK_DEVICE_EXTENSION ext, UCHAR byte)
{
    if (LbkPeerGoneLocked(ext) && ext->WhenPeerClosed == LBK_PEER_CLOSED_FAIL)
        return STATUS_PIPE_DISCONNECTED;
    if (LbkPeerGoneLocked(ext) && ext->WhenPeerClosed == LBK_PEER_CLOSED_DISCARD) {
        ext->BytesDiscarded++;
        return STATUS_SUCCESS;
    }
    if (ext->Serial.ImmediatePending || lbk_channel_room(&ext->Out->Data) == 0)
        return STATUS_DEVICE_BUSY;
    ext->Serial.ImmediateChar = byte;
    ext->Serial.ImmediatePending = TRUE;
    ext->Serial.TxBusy = TRUE;
    return STATUS_SUCCESS;
}

VOID LbkSerialSendImmediateLocked(PLBK_UNIT unit)
{
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[i];

        if (ext == NULL || !ext->IsSerial)
            continue;
        /* Only the pumping thread gets here, between transfers: nothing is taken or open. */
        LbkFlowSendLocked(ext); /* its XON or XOFF goes first */
        /* As serial.sys: an XOFF received does not hold it, a modem line does. */
        if (!ext->Serial.ImmediatePending || (LbkFlowTxHoldsLocked(ext) & LBK_FLOW_LINE_HOLDS))
            continue;
        if (!LbkFlowTakenByPeerLocked(ext, ext->Serial.ImmediateChar)) {
            if (lbk_channel_room(&ext->Out->Data) == 0)
                continue;
            lbk_channel_write(&ext->Out->Data, &ext->Serial.ImmediateChar, 1);
            LbkSerialReceivedLocked(ext->Out, &ext->Serial.ImmediateChar, 1);
        }
        ext->Serial.ImmediatePending = FALSE;
    }
}

/* PurgeComm: TXABORT and RXABORT cancel waiting writes and reads, RXCLEAR empties the input. */
static VOID LbkPurgeLocked(PLBK_DEVICE_EXTENSION ext, ULONG mask, PLIST_ENTRY done)
{
    if (mask & (LBK_SERIAL_PURGE_TXABORT | LBK_SERIAL_PURGE_TXCLEAR))
        ext->Serial.ImmediatePending = FALSE; /* a TransmitCommChar byte not sent yet */
    if (mask & LBK_SERIAL_PURGE_TXABORT) {
        LbkFlushQueueLocked(ext, &ext->Out->Writes, NULL, STATUS_CANCELLED, done);
        LbkFlowPurgeTxLocked(ext, done);
    }
    if (mask & LBK_SERIAL_PURGE_RXABORT)
        LbkFlushQueueLocked(ext, &ext->In->Reads, NULL, STATUS_CANCELLED, done);
    if (mask & LBK_SERIAL_PURGE_RXCLEAR)
        lbk_channel_purge(&ext->In->Data);
    /* TXCLEAR: no other byte waits between a write's own buffer and the peer's input. */
}

/* The GET requests, which change nothing (GET_COMMSTATUS takes errors, which wakes no one). */
static BOOLEAN LbkReadsStateOnly(ULONG code)
{
    switch (LBK_SERIAL_FUNCTION(code)) {
    case LBK_SERIAL_GET_BAUD_RATE:
    case LBK_SERIAL_GET_LINE_CONTROL:
    case LBK_SERIAL_GET_HANDFLOW:
    case LBK_SERIAL_GET_CHARS:
    case LBK_SERIAL_GET_TIMEOUTS:
    case LBK_SERIAL_GET_WAIT_MASK:
    case LBK_SERIAL_GET_MODEMSTATUS:
    case LBK_SERIAL_GET_DTRRTS:
    case LBK_SERIAL_GET_PROPERTIES:
    case LBK_SERIAL_GET_COMMSTATUS:
    case LBK_SERIAL_GET_STATS:
    case LBK_SERIAL_CONFIG_SIZE:
    case LBK_SERIAL_GET_MODEM_CONTROL:
        return TRUE;
    default:
        return FALSE;
    }
}

/*
 * The IOCTL_SERIAL_* requests. Lengths are checked by the core's table first. Returns the status,
 * or with *queued TRUE for a WaitCommEvent or an XOFF counter left pending.
 */
NTSTATUS LbkSerialControl(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information, BOOLEAN *queued)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    PVOID buffer = irp->AssociatedIrp.SystemBuffer;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    PLBK_SERIAL serial = &ext->Serial;
    SIZE_T capacity = lbk_channel_capacity(&ext->In->Data);
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status = STATUS_SUCCESS;
    LBK_PUMP pump;
    LIST_ENTRY done;

    switch (lbk_serial_control_check(code, stack->Parameters.DeviceIoControl.InputBufferLength,
                                     stack->Parameters.DeviceIoControl.OutputBufferLength)) {
    case LBK_SERIAL_CHECK_OK:
        break;
    case LBK_SERIAL_CHECK_TOO_SMALL:
        return STATUS_BUFFER_TOO_SMALL;
    case LBK_SERIAL_CHECK_UNKNOWN:
    default:
        LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: unknown serial IOCTL 0x%08lx\n", ext->Name, code);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (context == NULL)
        return STATUS_INVALID_DEVICE_STATE; /* its CREATE failed; Wine opened it anyway */
    /* The codes say FILE_ANY_ACCESS, so the I/O manager checked nothing: the core's table decides. */
    if (!lbk_access_allows(lbk_serial_access_needed(code, LBK_SERIAL_FUNCTION(code) == LBK_SERIAL_PURGE
                                                              ? *(PULONG)buffer
                                                              : 0),
                           context->CanRead, context->CanWrite))
        return STATUS_ACCESS_DENIED;

    /* Settings that the core refuses fail before the lock. */
    switch (LBK_SERIAL_FUNCTION(code)) {
    case LBK_SERIAL_SET_BAUD_RATE:
        if (lbk_serial_check_baud_rate(((PSERIAL_BAUD_RATE)buffer)->BaudRate) != 0)
            return STATUS_INVALID_PARAMETER;
        break;
    case LBK_SERIAL_SET_LINE_CONTROL:
        if (lbk_serial_check_line_control(buffer) != 0)
            return STATUS_INVALID_PARAMETER;
        break;
    case LBK_SERIAL_SET_HANDFLOW:
        if (lbk_serial_check_handflow(buffer, (uint32_t)capacity) != 0)
            return STATUS_INVALID_PARAMETER;
        break;
    case LBK_SERIAL_SET_TIMEOUTS:
        if (lbk_serial_check_timeouts(buffer) != 0)
            return STATUS_INVALID_PARAMETER;
        break;
    case LBK_SERIAL_SET_WAIT_MASK:
        if ((*(PULONG)buffer & ~LBK_SERIAL_EV_VALID) != 0)
            return STATUS_INVALID_PARAMETER;
        break;
    case LBK_SERIAL_PURGE:
        if (*(PULONG)buffer == 0 || (*(PULONG)buffer & ~LBK_SERIAL_PURGE_VALID) != 0)
            return STATUS_INVALID_PARAMETER;
        break;
    case LBK_SERIAL_XOFF_COUNTER:
        if (((PSERIAL_XOFF_COUNTER)buffer)->Counter <= 0)
            return STATUS_INVALID_PARAMETER; /* as documented */
        break;
    case LBK_SERIAL_LSRMST_INSERT:
        /* 0 turns the insertion off, which it always is; inserting status bytes is not emulated. */
        if (*(PUCHAR)buffer != 0)
            return STATUS_NOT_SUPPORTED;
        break;
    default:
        break;
    }

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    status = LbkRefusedLocked(ext, context);
    if (!NT_SUCCESS(status))
        goto Unlock;
    switch (LBK_SERIAL_FUNCTION(code)) {
    case LBK_SERIAL_SET_BAUD_RATE:
        serial->Settings.baud_rate = ((PSERIAL_BAUD_RATE)buffer)->BaudRate;
        break;
    case LBK_SERIAL_GET_BAUD_RATE:
        ((PSERIAL_BAUD_RATE)buffer)->BaudRate = serial->Settings.baud_rate;
        *information = sizeof(SERIAL_BAUD_RATE);
        break;
    case LBK_SERIAL_SET_LINE_CONTROL:
        RtlCopyMemory(&serial->Settings.line, buffer, sizeof(serial->Settings.line));
        break;
    case LBK_SERIAL_GET_LINE_CONTROL:
        RtlCopyMemory(buffer, &serial->Settings.line, sizeof(serial->Settings.line));
        *information = sizeof(SERIAL_LINE_CONTROL);
        break;
    case LBK_SERIAL_SET_HANDFLOW: {
        struct lbk_serial_handflow before = serial->Settings.handflow;

        RtlCopyMemory(&serial->Settings.handflow, buffer, sizeof(serial->Settings.handflow));
        lbk_flow_handflow_changed(&serial->Flow, &before, &serial->Settings.handflow);
        serial->Dtr = (BOOLEAN)lbk_serial_handflow_dtr(&serial->Settings.handflow);
        serial->Rts = (BOOLEAN)lbk_serial_handflow_rts(&serial->Settings.handflow);
        break;
    }
    case LBK_SERIAL_GET_HANDFLOW:
        RtlCopyMemory(buffer, &serial->Settings.handflow, sizeof(serial->Settings.handflow));
        *information = sizeof(SERIAL_HANDFLOW);
        break;
    case LBK_SERIAL_SET_CHARS:
        RtlCopyMemory(&serial->Settings.chars, buffer, sizeof(serial->Settings.chars));
        break;
    case LBK_SERIAL_GET_CHARS:
        RtlCopyMemory(buffer, &serial->Settings.chars, sizeof(serial->Settings.chars));
        *information = sizeof(SERIAL_CHARS);
        break;
    case LBK_SERIAL_SET_TIMEOUTS:
        RtlCopyMemory(&serial->Settings.timeouts, buffer, sizeof(serial->Settings.timeouts));
        break;
    case LBK_SERIAL_GET_TIMEOUTS:
        RtlCopyMemory(buffer, &serial->Settings.timeouts, sizeof(serial->Settings.timeouts));
        *information = sizeof(SERIAL_TIMEOUTS);
        break;
    case LBK_SERIAL_SET_QUEUE_SIZE:
        /* A recommendation (SetupComm's documentation says so): kept and reported, the buffer is BufferSize. */
        serial->Settings.in_queue_size = ((PSERIAL_QUEUE_SIZE)buffer)->InSize;
        serial->Settings.out_queue_size = ((PSERIAL_QUEUE_SIZE)buffer)->OutSize;
        break;
    case LBK_SERIAL_SET_DTR:
    case LBK_SERIAL_CLR_DTR:
        /* As serial.sys: the line is the handshake's while DTR handshaking is on. */
        if ((serial->Settings.handflow.control_handshake & LBK_SERIAL_DTR_MASK) == LBK_SERIAL_DTR_HANDSHAKE)
            status = STATUS_INVALID_PARAMETER;
        else
            serial->Dtr = LBK_SERIAL_FUNCTION(code) == LBK_SERIAL_SET_DTR;
        break;
    case LBK_SERIAL_SET_RTS:
    case LBK_SERIAL_CLR_RTS:
        if ((serial->Settings.handflow.flow_replace & LBK_SERIAL_RTS_MASK) & LBK_SERIAL_RTS_HANDSHAKE)
            status = STATUS_INVALID_PARAMETER;
        else
            serial->Rts = LBK_SERIAL_FUNCTION(code) == LBK_SERIAL_SET_RTS;
        break;
    case LBK_SERIAL_GET_DTRRTS:
        *(PULONG)buffer = (LbkDtrOn(ext) ? SERIAL_DTR_STATE : 0) | (LbkRtsOn(ext) ? SERIAL_RTS_STATE : 0);
        *information = sizeof(ULONG);
        break;
    case LBK_SERIAL_GET_MODEMSTATUS:
        *(PULONG)buffer = LbkModemStatusLocked(ext);
        *information = sizeof(ULONG);
        break;
    case LBK_SERIAL_SET_BREAK_ON:
        if (!serial->Break && ext->Peer->OpenHandles != 0) {
            LbkSerialEventLocked(ext->Peer, LBK_SERIAL_EV_BREAK);
            ext->Peer->Serial.Errors |= LBK_SERIAL_ERROR_BREAK;
        }
        serial->Break = TRUE;
        break;
    case LBK_SERIAL_SET_BREAK_OFF:
        serial->Break = FALSE;
        break;
    case LBK_SERIAL_SET_XOFF:
        serial->Flow.xoff_received = 1; /* as if XOFF came, with or without fOutX, as serial.sys */
        break;
    case LBK_SERIAL_SET_XON:
        serial->Flow.xoff_received = 0;
        break;
    case LBK_SERIAL_RESET_DEVICE:
    case LBK_SERIAL_SET_FIFO_CONTROL: /* no FIFO: accepted, as a UART without one */
    case LBK_SERIAL_LSRMST_INSERT:    /* 0 here: off, as it is */
        break;
    case LBK_SERIAL_CONFIG_SIZE:
        *(PULONG)buffer = 0; /* no configuration data, as serial.sys */
        *information = sizeof(ULONG);
        break;
    case LBK_SERIAL_GET_STATS:
        RtlCopyMemory(buffer, &serial->Stats, sizeof(SERIALPERF_STATS));
        *information = sizeof(SERIALPERF_STATS);
        break;
    case LBK_SERIAL_CLEAR_STATS:
        RtlZeroMemory(&serial->Stats, sizeof(serial->Stats));
        break;
    case LBK_SERIAL_GET_MODEM_CONTROL:
        *(PULONG)buffer = (serial->Dtr ? LBK_MCR_DTR : 0) | (serial->Rts ? LBK_MCR_RTS : 0) | serial->ModemControl;
        *information = sizeof(ULONG);
        break;
    case LBK_SERIAL_SET_MODEM_CONTROL:
        /* The register as it is written: DTR and RTS as asked, but a line that the handflow
           gives to the handshake (or RTS toggle) stays the handshake's, set again by the pump. */
        serial->Dtr = (*(PULONG)buffer & LBK_MCR_DTR) != 0;
        serial->Rts = (*(PULONG)buffer & LBK_MCR_RTS) != 0;
        serial->ModemControl = *(PULONG)buffer & LBK_MCR_KEPT;
        break;
    case LBK_SERIAL_IMMEDIATE_CHAR:
        status = LbkImmediateCharLocked(ext, *(PUCHAR)buffer);
        break;
    case LBK_SERIAL_XOFF_COUNTER:
        status = LbkFlowXoffCounterLocked(ext, irp, queued, &done);
        break;
    case LBK_SERIAL_GET_COMMSTATUS: {
        SERIAL_STATUS *result = buffer;

        RtlZeroMemory(result, sizeof(*result));
        result->Errors = serial->Errors;
        serial->Errors = 0;
        result->HoldReasons = (serial->Break ? SERIAL_TX_WAITING_ON_BREAK : 0) | LbkFlowHoldReasonsLocked(ext);
        result->AmountInInQueue = (ULONG)lbk_channel_queued(&ext->In->Data);
        result->AmountInOutQueue = LbkOutQueueLocked(ext);
        *information = sizeof(*result);
        break;
    }
    case LBK_SERIAL_GET_PROPERTIES:
        LbkFillProperties(ext, buffer);
        *information = sizeof(SERIAL_COMMPROP);
        break;
    case LBK_SERIAL_PURGE:
        LbkPurgeLocked(ext, *(PULONG)buffer, &done);
        break;
    case LBK_SERIAL_SET_WAIT_MASK:
        /* A new mask ends the pending WaitCommEvent with no event and forgets what was seen. */
        LbkFinishMaskWaitLocked(ext, 0, &done);
        serial->WaitMask = *(PULONG)buffer;
        serial->Events = 0;
        break;
    case LBK_SERIAL_GET_WAIT_MASK:
        *(PULONG)buffer = serial->WaitMask;
        *information = sizeof(ULONG);
        break;
    case LBK_SERIAL_WAIT_ON_MASK:
        if (serial->WaitMask == 0 || serial->MaskWaits.Count != 0) {
            status = STATUS_INVALID_PARAMETER; /* nothing to wait for, or one waits already */
        } else if (serial->Events != 0) {
            *(PULONG)buffer = serial->Events;
            serial->Events = 0;
            *information = sizeof(ULONG);
        } else if (NT_SUCCESS(status = LbkAdmitLocked(irp))) {
            irp->Tail.Overlay.DriverContext[0] = NULL;
            LbkSetIrpContext1(irp, 0, 0);
            LbkInsertLocked(&serial->MaskWaits, irp);
            *queued = LbkArmLocked(irp, 0);
            if (*queued)
                LbkHoldLocked(irp);
            else
                status = STATUS_CANCELLED;
        }
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST; /* lbk_serial_control_check knows no other code */
        break;
    }
    /* Lines, purges and bytes change what both ends see: the pump serves and wakes them. A
       request that only reads the port's state changes nothing to pump for. */
    if (!LbkReadsStateOnly(code)) {
        LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
        LbkPumpLocked(&pump);
    }
Unlock:
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
    return status;
}

/*
 * Gives the end its COM<n> name, a second link to its device, and lists it where programs look
 * for ports (HARDWARE\DEVICEMAP\SERIALCOMM), as serial.sys does. A name already taken is not an
 * error: the end keeps its own name, and the log says which. PASSIVE_LEVEL.
 */
NTSTATUS LbkSerialLinkPort(PLBK_DEVICE_EXTENSION ext)
{
    WCHAR port[8];
    UNICODE_STRING deviceName;
    size_t chars;
    NTSTATUS status;

    if (ext->Serial.Port == 0)
        return STATUS_SUCCESS;
    chars = lbk_serial_format_port_names(&ext->Serial.Port, 1, (uint16_t *)port, RTL_NUMBER_OF(port));
    status = LbkBuildName(LBK_KERNEL_LINK_PREFIX, port, &ext->Serial.PortLink);
    if (!NT_SUCCESS(status))
        return status;
    status = LbkBuildName(LBK_KERNEL_DEVICE_PREFIX, ext->Name, &deviceName);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&ext->Serial.PortLink, &deviceName);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: %ls is taken (0x%08x): the port keeps only its own name\n", ext->Name,
                 port, status);
        status = STATUS_SUCCESS;
        goto End;
    }
    ext->Serial.PortLinked = TRUE;
    status = RtlWriteRegistryValue(RTL_REGISTRY_DEVICEMAP, LBK_SERIALCOMM, deviceName.Buffer, REG_SZ, port,
                                   (ULONG)((chars + 1) * sizeof(WCHAR)));
    if (!NT_SUCCESS(status))
        LbkTrace(LBK_TRACE_WARNING, "lbk: %ls: %ls not listed in SERIALCOMM: 0x%08x\n", ext->Name, port, status);
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: serial port %ls\n", ext->Name, port);
    status = STATUS_SUCCESS;
End:
    LbkFree(deviceName.Buffer, LBK_TAG_NAME);
    return status;
}

VOID LbkSerialUnlinkPort(PLBK_DEVICE_EXTENSION ext)
{
    if (ext->Serial.PortLinked) {
        UNICODE_STRING deviceName;

        IoDeleteSymbolicLink(&ext->Serial.PortLink);
        if (NT_SUCCESS(LbkBuildName(LBK_KERNEL_DEVICE_PREFIX, ext->Name, &deviceName))) {
            RtlDeleteRegistryValue(RTL_REGISTRY_DEVICEMAP, LBK_SERIALCOMM, deviceName.Buffer);
            LbkFree(deviceName.Buffer, LBK_TAG_NAME);
        }
        ext->Serial.PortLinked = FALSE;
    }
    LbkFree(ext->Serial.PortLink.Buffer, LBK_TAG_NAME);
    ext->Serial.PortLink.Buffer = NULL;
}
