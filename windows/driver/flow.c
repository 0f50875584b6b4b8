/*
 * flow.c - the handshake a null-modem cable carries, for a serial end (kernel mode): CTS, DSR
 * and DCD output flow control, XON/XOFF both ways, the RTS and DTR handshake lines at the
 * input's limits, RTS toggle, the wiring of the modem inputs, and the counts of GET_STATS.
 * The rules are the core's (core/lbk_flow.c); this file applies them to an end's channels.
 * Everything here runs under the unit lock, at DISPATCH_LEVEL; what it ends (an XOFF counter)
 * goes to the caller's done list, completed after the lock.
 *
 * Where it meets the pump (queue.c): a writer sends only what LbkFlowAllowedLocked lets it
 * (through LbkSerialPaceAllowedLocked), the bytes cross through LbkFlowPassLocked, and after
 * each pass over the channels LbkFlowUpdateLocked looks at the limits and lines again and has
 * the pump go round once more when anything changed, so that a released writer goes on at once.
 */
#include "lbk_driver.h"
#include <ntddser.h>

/* The core names the handshake bits itself; they must be ntddser.h's. */
C_ASSERT(LBK_SERIAL_CTS_HANDSHAKE == SERIAL_CTS_HANDSHAKE && LBK_SERIAL_DSR_HANDSHAKE == SERIAL_DSR_HANDSHAKE);
C_ASSERT(LBK_SERIAL_DCD_HANDSHAKE == SERIAL_DCD_HANDSHAKE && LBK_SERIAL_DSR_SENSITIVITY == SERIAL_DSR_SENSITIVITY);
C_ASSERT(LBK_SERIAL_AUTO_TRANSMIT == SERIAL_AUTO_TRANSMIT && LBK_SERIAL_AUTO_RECEIVE == SERIAL_AUTO_RECEIVE);
C_ASSERT(LBK_SERIAL_TRANSMIT_TOGGLE == SERIAL_TRANSMIT_TOGGLE && LBK_SERIAL_XOFF_CONTINUE == SERIAL_XOFF_CONTINUE);
C_ASSERT(LBK_SERIAL_RTS_HANDSHAKE == SERIAL_RTS_HANDSHAKE && LBK_SERIAL_DTR_HANDSHAKE == SERIAL_DTR_HANDSHAKE);
C_ASSERT(LBK_SERIAL_TX_WAITING_FOR_CTS == SERIAL_TX_WAITING_FOR_CTS &&
         LBK_SERIAL_TX_WAITING_FOR_DSR == SERIAL_TX_WAITING_FOR_DSR &&
         LBK_SERIAL_TX_WAITING_FOR_DCD == SERIAL_TX_WAITING_FOR_DCD &&
         LBK_SERIAL_TX_WAITING_FOR_XON == SERIAL_TX_WAITING_FOR_XON &&
         LBK_SERIAL_TX_WAITING_XOFF_SENT == SERIAL_TX_WAITING_XOFF_SENT &&
         LBK_SERIAL_RX_WAITING_FOR_DSR == SERIAL_RX_WAITING_FOR_DSR);
C_ASSERT(LBK_SERIAL_RI_STATE == SERIAL_RI_STATE && LBK_SERIAL_DSR_STATE == SERIAL_DSR_STATE);

/* A legacy serial pair's end takes its wiring from Parameters\Wiring; others pass theirs (NULL: null-modem). */
VOID LbkFlowInitialize(PLBK_DEVICE_EXTENSION ext, const struct lbk_flow_wiring *wiring)
{
    if (wiring != NULL)
        ext->Serial.Wiring = *wiring;
    else
        lbk_flow_wiring_null_modem(&ext->Serial.Wiring);
    RtlZeroMemory(&ext->Serial.Flow, sizeof(ext->Serial.Flow));
}

/* An end that opens starts with nothing held or sent, and counts from 0, as serial.sys's open. */
VOID LbkFlowOpenedLocked(PLBK_DEVICE_EXTENSION ext)
{
    ext->Serial.XoffCounterSent = FALSE;
    ext->Serial.XoffCounterLeft = 0;
    ext->Serial.XoffCounterDeadline = 0;
    RtlZeroMemory(&ext->Serial.Flow, sizeof(ext->Serial.Flow));
    RtlZeroMemory(&ext->Serial.Stats, sizeof(ext->Serial.Stats));
    ext->Serial.TxHolds = 0;
    ext->Serial.ModemControl = 0;
}

ULONG LbkFlowLinesLocked(PLBK_DEVICE_EXTENSION ext)
{
    if (!ext->IsSerial || ext->OpenHandles == 0)
        return 0; /* a port drives its lines only while it is open */
    return (ext->Serial.Dtr ? LBK_FLOW_DTR : 0) | (ext->Serial.Rts ? LBK_FLOW_RTS : 0);
}

ULONG LbkFlowModemStatusLocked(PLBK_DEVICE_EXTENSION ext)
{
    return lbk_flow_modem_status(&ext->Serial.Wiring, LbkFlowLinesLocked(ext), LbkFlowLinesLocked(ext->Peer));
}

ULONG LbkFlowTxHoldsLocked(PLBK_DEVICE_EXTENSION ext)
{
    return lbk_flow_tx_holds(&ext->Serial.Settings.handflow, &ext->Serial.Flow, LbkFlowModemStatusLocked(ext));
}

ULONG LbkFlowHoldReasonsLocked(PLBK_DEVICE_EXTENSION ext)
{
    return lbk_flow_hold_reasons(&ext->Serial.Settings.handflow, &ext->Serial.Flow, LbkFlowModemStatusLocked(ext));
}

SIZE_T LbkFlowAllowedLocked(PLBK_CHANNEL channel, SIZE_T want)
{
    PLBK_DEVICE_EXTENSION writer = channel->Writer, reader = channel->Reader;
    ULONG room;

    if (!writer->IsSerial || want == 0)
        return want;
    if (LbkFlowTxHoldsLocked(writer) != 0)
        return 0;
    /* Writes after an XOFF counter wait until its XoffChar went, as they would behind it in
       serial.sys's write queue. */
    if (writer->Serial.XoffCounters.Count != 0 && !writer->Serial.XoffCounterSent &&
        !LbkWritesWaitUpToLocked(channel, writer->Serial.XoffCounterAfter))
        return 0;
    /* A closed reader's port controls nothing: its limits apply while it is open. */
    if (!reader->IsSerial || reader->OpenHandles == 0)
        return want;
    room = lbk_flow_rx_room(&reader->Serial.Flow, &reader->Serial.Settings.handflow,
                            (uint32_t)lbk_channel_queued(&channel->Data),
                            (uint32_t)lbk_channel_capacity(&channel->Data), (uint32_t)min(want, (SIZE_T)MAXULONG));
    return min(want, (SIZE_T)room);
}

/* count bytes crossed from sender to its peer and were taken off the line there. */
static VOID LbkFlowCountTakenLocked(PLBK_DEVICE_EXTENSION sender, SIZE_T count)
{
    sender->Serial.Stats.transmitted_count += (uint32_t)count;
    sender->Peer->Serial.Stats.received_count += (uint32_t)count;
}

/* LbkFlowPassLocked without the line's time: for what the pump sends between transfers. */
static SIZE_T LbkFlowTakeLocked(PLBK_CHANNEL channel, const UCHAR *source, SIZE_T count, SIZE_T *consumed)
{
    PLBK_DEVICE_EXTENSION reader = channel->Reader;
    PLBK_SERIAL serial = &reader->Serial;
    SIZE_T first;

    *consumed = 0;
    /* A closed port's settings control nothing: what reaches it waits as it came. */
    if (!reader->IsSerial || reader->OpenHandles == 0 || count == 0)
        return count;
    if (lbk_flow_rx_ignored(&serial->Settings.handflow, LbkFlowModemStatusLocked(reader))) {
        *consumed = count; /* DSR sensitivity: what comes while DSR is low is dropped */
    } else {
        if (!(serial->Settings.handflow.flow_replace & LBK_SERIAL_AUTO_TRANSMIT))
            return count;
        first = lbk_flow_scan(source, count, serial->Settings.chars.xon_char, serial->Settings.chars.xoff_char);
        if (first != 0)
            return first;
        lbk_flow_received_char(&serial->Flow, &serial->Settings.chars, source[0]);
        *consumed = 1;
    }
    LbkFlowCountTakenLocked(channel->Writer, *consumed);
    return 0;
}

SIZE_T LbkFlowPassLocked(PLBK_CHANNEL channel, const UCHAR *source, SIZE_T count, SIZE_T *consumed)
{
    SIZE_T passed = LbkFlowTakeLocked(channel, source, count, consumed);

    if (*consumed != 0)
        LbkSerialPaceSentLocked(channel, *consumed); /* they took their time on the line */
    return passed;
}

BOOLEAN LbkFlowTakenByPeerLocked(PLBK_DEVICE_EXTENSION sender, UCHAR c)
{
    SIZE_T consumed;

    return LbkFlowTakeLocked(sender->Out, &c, 1, &consumed) == 0;
}

/*
 * Puts one character the end sends itself into its peer's input, unless the peer's port takes
 * it off the line; FALSE when the input has no room (it waits, as the TransmitCommChar byte
 * does). A peer that is gone hears nothing: the character is dropped. Only the pumping thread
 * calls this, between transfers.
 */
static BOOLEAN LbkFlowPutLocked(PLBK_DEVICE_EXTENSION ext, UCHAR c)
{
    if (LbkPeerGoneLocked(ext) || LbkFlowTakenByPeerLocked(ext, c))
        return TRUE;
    if (lbk_channel_room(&ext->Out->Data) == 0)
        return FALSE;
    lbk_channel_write(&ext->Out->Data, &c, 1);
    LbkSerialReceivedLocked(ext->Out, &c, 1);
    return TRUE;
}

/* The XOFF counter's XoffChar may go: the writes before it have gone, it has not, and nothing
   holds the output (in serial.sys it goes as a write does, so an XOFF received holds it too). */
static BOOLEAN LbkXoffCounterDueLocked(PLBK_DEVICE_EXTENSION ext)
{
    return ext->Serial.XoffCounters.Count != 0 && !ext->Serial.XoffCounterSent &&
           !LbkWritesWaitUpToLocked(ext->Out, ext->Serial.XoffCounterAfter) && LbkFlowTxHoldsLocked(ext) == 0;
}

/*
 * Sends the end's waiting XON or XOFF ahead of its writes, as a UART does, then its XOFF
 * counter's XoffChar when that is due: unless a modem line holds its output (an XOFF received
 * does not stop them).
 */
VOID LbkFlowSendLocked(PLBK_DEVICE_EXTENSION ext)
{
    PLBK_SERIAL serial = &ext->Serial;

    if (ext->OpenHandles == 0 || (LbkFlowTxHoldsLocked(ext) & LBK_FLOW_LINE_HOLDS))
        return;
    if (serial->Flow.send != LBK_FLOW_SEND_NONE &&
        LbkFlowPutLocked(ext, serial->Flow.send == LBK_FLOW_SEND_XON ? serial->Settings.chars.xon_char
                                                                     : serial->Settings.chars.xoff_char))
        lbk_flow_sent_char(&serial->Flow);
    if (LbkXoffCounterDueLocked(ext)) {
        PIRP irp = CONTAINING_RECORD(serial->XoffCounters.Irps.Flink, IRP, Tail.Overlay.ListEntry);
        const SERIAL_XOFF_COUNTER *request = irp->AssociatedIrp.SystemBuffer;

        if (LbkFlowPutLocked(ext, request->XoffChar)) {
            serial->XoffCounterSent = TRUE;
            serial->XoffCounterDeadline = LbkDeadline(request->Timeout); /* 0: no timeout */
        }
    }
}

/* Ends the pending XOFF counter, if any, with status. */
static VOID LbkEndXoffCounterLocked(PLBK_DEVICE_EXTENSION ext, NTSTATUS status, PLIST_ENTRY done)
{
    PLBK_QUEUE queue = &ext->Serial.XoffCounters;

    while (!IsListEmpty(&queue->Irps)) {
        PIRP irp = CONTAINING_RECORD(queue->Irps.Flink, IRP, Tail.Overlay.ListEntry);

        if (LbkClaimLocked(irp, NULL)) { /* else its cancel routine completes it */
            irp->IoStatus.Information = 0; /* no output */
            LbkFinishLocked(irp, status, done);
        }
    }
}

/* PURGE_TXABORT ends the XOFF counter too: in serial.sys it waits in the write queue. */
VOID LbkFlowPurgeTxLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done)
{
    LbkEndXoffCounterLocked(ext, STATUS_CANCELLED, done);
}

/*
 * IOCTL_SERIAL_XOFF_COUNTER, as serial.sys serves it: synchronized with the writes, it sends
 * its XoffChar once those before it have gone, then completes with STATUS_SUCCESS once Counter
 * characters came, STATUS_SERIAL_MORE_WRITES once a later write (or XOFF counter) came, or
 * STATUS_SERIAL_COUNTER_TIMEOUT after Timeout ms (0: none). Pending meanwhile, cancellable.
 */
NTSTATUS LbkFlowXoffCounterLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp, BOOLEAN *queued, PLIST_ENTRY done)
{
    const SERIAL_XOFF_COUNTER *request = irp->AssociatedIrp.SystemBuffer;
    PLBK_SERIAL serial = &ext->Serial;
    NTSTATUS status;

    LbkEndXoffCounterLocked(ext, STATUS_SERIAL_MORE_WRITES, done);
    status = LbkAdmitLocked(irp);
    if (!NT_SUCCESS(status))
        return status;
    serial->XoffCounterAfter = ext->Out->WriteSequence;
    serial->XoffCounterLeft = request->Counter;
    serial->XoffCounterSent = FALSE;
    serial->XoffCounterDeadline = 0;
    irp->Tail.Overlay.DriverContext[0] = NULL;
    LbkSetIrpContext1(irp, 0, 0);
    LbkInsertLocked(&serial->XoffCounters, irp);
    *queued = LbkArmLocked(irp, 0); /* no IRP deadline: its timeout starts when the character went */
    if (!*queued)
        return STATUS_CANCELLED;
    LbkHoldLocked(irp);
    return STATUS_SUCCESS;
}

VOID LbkFlowCountReceivedLocked(PLBK_DEVICE_EXTENSION ext, SIZE_T count)
{
    PLBK_SERIAL serial = &ext->Serial;

    if (serial->XoffCounters.Count == 0 || !serial->XoffCounterSent)
        return;
    serial->XoffCounterLeft = count >= (SIZE_T)serial->XoffCounterLeft ? 0 : serial->XoffCounterLeft - (LONG)count;
}

VOID LbkFlowCheckXoffCounterLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done)
{
    PLBK_SERIAL serial = &ext->Serial;
    PLBK_UNIT unit = ext->Unit;

    if (serial->XoffCounters.Count == 0 || !serial->XoffCounterSent)
        return;
    if (ext->Out->WriteSequence > serial->XoffCounterAfter) {
        LbkEndXoffCounterLocked(ext, STATUS_SERIAL_MORE_WRITES, done);
    } else if (serial->XoffCounterLeft <= 0) {
        LbkEndXoffCounterLocked(ext, STATUS_SUCCESS, done);
    } else if (serial->XoffCounterDeadline != 0) {
        if (KeQueryPerformanceCounter(NULL).QuadPart >= serial->XoffCounterDeadline) {
            LbkEndXoffCounterLocked(ext, STATUS_SERIAL_COUNTER_TIMEOUT, done);
        } else if (unit->PumpDue == 0 || serial->XoffCounterDeadline < unit->PumpDue) {
            /* The timer thread pumps then, and this runs again (also after an earlier PumpDue). */
            unit->PumpDue = serial->XoffCounterDeadline;
            LbkTimerWake(); /* KeSetEvent: fine at DISPATCH_LEVEL */
        }
    }
}

/*
 * After a pass of the pump over the unit's channels: each open end's input limits (XOFF or XON
 * to send, handshake lines), the lines its handflow drives (RTS toggle: up while it has
 * something to send), then the holds of each end's output, which those lines change. When
 * anything changed the pump goes round again: a writer released goes on, a flow character goes.
 */
VOID LbkFlowUpdateLocked(PLBK_UNIT unit)
{
    BOOLEAN changed = FALSE;
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[i];
        PLBK_SERIAL serial;
        uint32_t lines;
        int hasOutput;

        if (ext == NULL || !ext->IsSerial || ext->OpenHandles == 0)
            continue;
        serial = &ext->Serial;
        if (lbk_flow_rx_update(&serial->Flow, &serial->Settings.handflow, (uint32_t)lbk_channel_queued(&ext->In->Data),
                               (uint32_t)lbk_channel_capacity(&ext->In->Data)))
            changed = TRUE;
        hasOutput = ext->Out->Writes.Count != 0 || serial->ImmediatePending || serial->Flow.send != LBK_FLOW_SEND_NONE;
        lines = lbk_flow_lines(&serial->Settings.handflow, &serial->Flow,
                               (serial->Dtr ? LBK_FLOW_DTR : 0) | (serial->Rts ? LBK_FLOW_RTS : 0), hasOutput);
        if (((lines & LBK_FLOW_DTR) != 0) != serial->Dtr || ((lines & LBK_FLOW_RTS) != 0) != serial->Rts) {
            serial->Dtr = (lines & LBK_FLOW_DTR) != 0;
            serial->Rts = (lines & LBK_FLOW_RTS) != 0;
            changed = TRUE;
        }
    }
    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[i];
        ULONG holds;

        if (ext == NULL || !ext->IsSerial || ext->OpenHandles == 0)
            continue;
        holds = LbkFlowTxHoldsLocked(ext);
        if (holds != ext->Serial.TxHolds) {
            ext->Serial.TxHolds = holds;
            changed = TRUE;
        }
        /* An XOFF counter's character that can go now goes in the next pass. */
        if (LbkXoffCounterDueLocked(ext) && (lbk_channel_room(&ext->Out->Data) != 0 || LbkPeerGoneLocked(ext)))
            changed = TRUE;
    }
    if (changed)
        unit->PumpAgain = TRUE;
}
