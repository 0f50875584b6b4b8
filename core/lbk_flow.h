/*
 * lbk_flow.h - the handshake a null-modem cable carries, for a serial end (any mode, any OS):
 * which of its output lines drive each modem input (the wiring), when its output is held
 * (CTS, DSR or DCD low with that handshake, an XOFF received), when its input is full enough
 * to send XOFF or drop its RTS/DTR handshake line and empty enough to release them, and what
 * IOCTL_SERIAL_GET_COMMSTATUS reports as hold reasons. The rules are serial.sys's, with the
 * buffer being the end's input ring.
 */
#ifndef LBK_FLOW_H
#define LBK_FLOW_H

#include "lbk_base.h"
#include "lbk_serial.h"
#include "../include/lbk_ioctl.h"

/* SERIAL_HANDFLOW bits of ntddser.h the handshake reads (ControlHandShake, FlowReplace). */
#define LBK_SERIAL_CTS_HANDSHAKE 0x08u
#define LBK_SERIAL_DSR_HANDSHAKE 0x10u
#define LBK_SERIAL_DCD_HANDSHAKE 0x20u
#define LBK_SERIAL_DSR_SENSITIVITY 0x40u
#define LBK_SERIAL_AUTO_TRANSMIT 0x01u   /* fOutX: XON/XOFF received hold and release the output */
#define LBK_SERIAL_AUTO_RECEIVE 0x02u    /* fInX: XOFF and XON sent at the input's limits */
#define LBK_SERIAL_TRANSMIT_TOGGLE 0xC0u /* RTS up while there is something to send */
#define LBK_SERIAL_XOFF_CONTINUE 0x80000000u

/* SERIAL_STATUS.HoldReasons (ntddser.h). */
#define LBK_SERIAL_TX_WAITING_FOR_CTS 0x01u
#define LBK_SERIAL_TX_WAITING_FOR_DSR 0x02u
#define LBK_SERIAL_TX_WAITING_FOR_DCD 0x04u
#define LBK_SERIAL_TX_WAITING_FOR_XON 0x08u
#define LBK_SERIAL_TX_WAITING_XOFF_SENT 0x10u
#define LBK_SERIAL_RX_WAITING_FOR_DSR 0x40u
/* Holds by a modem line: they stop even the XON and XOFF an end sends, and TransmitCommChar. */
#define LBK_FLOW_LINE_HOLDS (LBK_SERIAL_TX_WAITING_FOR_CTS | LBK_SERIAL_TX_WAITING_FOR_DSR | LBK_SERIAL_TX_WAITING_FOR_DCD)

/*
 * Wiring: where each modem input of an end comes from, like a pin map of com0com. The sources
 * are the end's own output lines, its peer's, or a constant.
 */
enum lbk_pin { /* the contract's LBK_WIRE_* (the bus's requests carry them) */
    LBK_PIN_OFF = LBK_WIRE_OFF,
    LBK_PIN_ON = LBK_WIRE_ON,
    LBK_PIN_PEER_RTS = LBK_WIRE_PEER_RTS, /* "rrts" */
    LBK_PIN_PEER_DTR = LBK_WIRE_PEER_DTR, /* "rdtr" */
    LBK_PIN_OWN_RTS = LBK_WIRE_OWN_RTS,   /* "rts" */
    LBK_PIN_OWN_DTR = LBK_WIRE_OWN_DTR,   /* "dtr" */
    LBK_PIN_COUNT
};

struct lbk_flow_wiring {
    uint8_t cts, dsr, dcd, ri; /* enum lbk_pin */
};

/* Output lines an end drives, as bits. */
#define LBK_FLOW_DTR 0x1u
#define LBK_FLOW_RTS 0x2u

/* The null-modem cable: CTS <- peer RTS, DSR and DCD <- peer DTR, RI off. */
void lbk_flow_wiring_null_modem(struct lbk_flow_wiring *wiring);
/* A loopback plug on the end: CTS <- own RTS, DSR and DCD <- own DTR, RI off. */
void lbk_flow_wiring_loopback(struct lbk_flow_wiring *wiring);

/*
 * One end's wiring: "null-modem", "loopback", "-" or nothing (null-modem), or a comma-separated
 * list of line=source, line one of cts, dsr, dcd, ri and source one of rrts, rdtr, rts, dtr, on,
 * off; lines not named keep the null-modem source. Any letter case; spaces around items ignored;
 * each line at most once. Returns 0, or -1 (wiring unchanged) for text outside that grammar.
 */
int lbk_flow_parse_wiring(const uint16_t *text, size_t chars, struct lbk_flow_wiring *wiring);

/*
 * The Wiring value: one end's wiring after another in device order (A then B, unit by unit, as
 * PortNames), separated by ';'. Fewer entries than ends leave the rest null-modem. Fills
 * ends[0 .. max_ends). Returns 0, or -1 for an entry outside the grammar or more than max_ends.
 */
int lbk_flow_parse_wiring_list(const uint16_t *text, size_t chars, struct lbk_flow_wiring *ends, size_t max_ends);
int lbk_flow_wiring_is_null_modem(const struct lbk_flow_wiring *wiring);
/* Whether each line's source is one of enum lbk_pin (a wiring from a request or the registry). */
int lbk_flow_wiring_is_valid(const struct lbk_flow_wiring *wiring);

/*
 * One end's wiring as text lbk_flow_parse_wiring reads back the same: "null-modem", "loopback",
 * or all four lines, "cts=rrts,dsr=rdtr,dcd=rdtr,ri=off". Writes it NUL-terminated and returns
 * its length; returns 0 (text[0] NUL when capacity > 0) when capacity is below
 * LBK_FLOW_WIRING_TEXT_CHARS + 1 or the wiring is not valid.
 */
#define LBK_FLOW_WIRING_TEXT_CHARS 34u
size_t lbk_flow_format_wiring(const struct lbk_flow_wiring *wiring, uint16_t *text, size_t capacity);

/* The modem status (LBK_SERIAL_*_STATE bits) an end reads, from its lines and its peer's. */
uint32_t lbk_flow_modem_status(const struct lbk_flow_wiring *wiring, uint32_t own_lines, uint32_t peer_lines);

/* One end's handshake state. All zero: nothing held, nothing sent (an end just opened). */
struct lbk_flow {
    uint8_t xoff_received; /* an XOFF came (or IOCTL_SERIAL_SET_XOFF): output held until XON */
    uint8_t rx_holding;    /* the input reached its XOFF limit: XOFF sent, handshake lines down */
    uint8_t xoff_sent;     /* fInX: XOFF sent (or waiting to go), XON not yet sent */
    uint8_t send;          /* LBK_FLOW_SEND_*: the flow character waiting to go */
};

enum { LBK_FLOW_SEND_NONE, LBK_FLOW_SEND_XON, LBK_FLOW_SEND_XOFF };

/* Whether the handflow asks for any receive flow control (fInX, RTS or DTR handshake). */
int lbk_flow_rx_controlled(const struct lbk_serial_handflow *handflow);

/*
 * The reasons the end's output is held (LBK_SERIAL_TX_WAITING_* bits, without XOFF_SENT): its
 * CTS, DSR or DCD low with that handshake, an XOFF received, or (fInX without XOFF_CONTINUE,
 * as serial.sys) its own XOFF sent. modem_status: what the end reads now. Data goes only at 0;
 * its XON/XOFF and TransmitCommChar byte only when no LBK_FLOW_LINE_HOLDS bit is set.
 */
uint32_t lbk_flow_tx_holds(const struct lbk_serial_handflow *handflow, const struct lbk_flow *flow,
                           uint32_t modem_status);
/* SERIAL_STATUS.HoldReasons: the output holds, XOFF_SENT, and RX_WAITING_FOR_DSR (DSR
   sensitivity with DSR low: received bytes are dropped, as serial.sys does). */
uint32_t lbk_flow_hold_reasons(const struct lbk_serial_handflow *handflow, const struct lbk_flow *flow,
                               uint32_t modem_status);
/* Whether bytes reaching the end now are dropped: DSR sensitivity with DSR low. */
int lbk_flow_rx_ignored(const struct lbk_serial_handflow *handflow, uint32_t modem_status);

/*
 * The input's limits (serial.sys's): with receive flow control the end starts holding once
 * queued reaches capacity - XoffLim (at least 1: an XoffLim of the whole buffer holds from the
 * first byte and releases when it is empty again), and stops once it drains to XonLim or below (and below
 * the XOFF limit: holding wins where the two meet). Starting to hold queues XOFF (fInX);
 * stopping queues XON if XOFF was sent, or withdraws an XOFF not yet sent. Without receive
 * flow control, an end that held stops (an XOFF sent is followed by XON). Returns 1 when the
 * state changed, else 0.
 */
int lbk_flow_rx_update(struct lbk_flow *flow, const struct lbk_serial_handflow *handflow, uint32_t queued,
                       uint32_t capacity);
/*
 * SET_HANDFLOW replaced before with after, as serial.sys: fOutX turned off ends an XOFF
 * received; fInX turned off with its XOFF out sends XON now (or withdraws an XOFF not yet
 * gone), even while an RTS or DTR handshake keeps holding. Returns 1 when the state changed.
 */
int lbk_flow_handflow_changed(struct lbk_flow *flow, const struct lbk_serial_handflow *before,
                              const struct lbk_serial_handflow *after);
/*
 * Bytes that may enter the input now before it must stop for the end-of-pass check of its
 * limits: up to the XOFF limit while the end is not yet holding (0 once there), else want.
 */
uint32_t lbk_flow_rx_room(const struct lbk_flow *flow, const struct lbk_serial_handflow *handflow, uint32_t queued,
                          uint32_t capacity, uint32_t want);

/* The lines the handflow gives the end: set_lines (what DCB and EscapeCommFunction asked) in
   control modes, !rx_holding in handshake modes, and for RTS toggle whether it has output. */
uint32_t lbk_flow_lines(const struct lbk_serial_handflow *handflow, const struct lbk_flow *flow, uint32_t set_lines,
                        int has_output);

/* Where the first XON or XOFF is in bytes[0 .. count), or count if none. */
size_t lbk_flow_scan(const uint8_t *bytes, size_t count, uint8_t xon, uint8_t xoff);
/* The end received c, its XON or XOFF with fOutX: its output is released or held. */
void lbk_flow_received_char(struct lbk_flow *flow, const struct lbk_serial_chars *chars, uint8_t c);
/* Its waiting flow character went (or was dropped): XON ends xoff_sent. */
void lbk_flow_sent_char(struct lbk_flow *flow);

#endif /* LBK_FLOW_H */
