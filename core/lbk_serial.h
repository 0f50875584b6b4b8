/*
 * lbk_serial.h - the rules of a pair end that serial programs use as a COM port joined to its
 * peer by a null-modem cable (any mode, any OS): which line settings are possible, what the
 * modem lines of one end read as on the other, how a read's COMMTIMEOUTS become a plan, and
 * which serial IOCTLs the driver knows with the buffer sizes they need.
 *
 * The structures mirror ntddser.h's field for field (the Windows driver checks them against it
 * with C_ASSERT); the core includes no OS header, so it names them itself.
 */
#ifndef LBK_SERIAL_H
#define LBK_SERIAL_H

#include "lbk_base.h"

#define LBK_SERIAL_DEVICE_TYPE 0x1Bu /* FILE_DEVICE_SERIAL_PORT */
/* IOCTL_SERIAL_* codes: function numbers of ntddser.h, METHOD_BUFFERED, FILE_ANY_ACCESS. */
#define LBK_SERIAL_CODE(function) (((uint32_t)LBK_SERIAL_DEVICE_TYPE << 16) | ((uint32_t)(function) << 2))
#define LBK_SERIAL_FUNCTION(code) (((uint32_t)(code) >> 2) & 0xFFFu)

enum lbk_serial_function {
    LBK_SERIAL_SET_BAUD_RATE = 1,
    LBK_SERIAL_SET_QUEUE_SIZE = 2,
    LBK_SERIAL_SET_LINE_CONTROL = 3,
    LBK_SERIAL_SET_BREAK_ON = 4,
    LBK_SERIAL_SET_BREAK_OFF = 5,
    LBK_SERIAL_IMMEDIATE_CHAR = 6,
    LBK_SERIAL_SET_TIMEOUTS = 7,
    LBK_SERIAL_GET_TIMEOUTS = 8,
    LBK_SERIAL_SET_DTR = 9,
    LBK_SERIAL_CLR_DTR = 10,
    LBK_SERIAL_RESET_DEVICE = 11,
    LBK_SERIAL_SET_RTS = 12,
    LBK_SERIAL_CLR_RTS = 13,
    LBK_SERIAL_SET_XOFF = 14,
    LBK_SERIAL_SET_XON = 15,
    LBK_SERIAL_GET_WAIT_MASK = 16,
    LBK_SERIAL_SET_WAIT_MASK = 17,
    LBK_SERIAL_WAIT_ON_MASK = 18,
    LBK_SERIAL_PURGE = 19,
    LBK_SERIAL_GET_BAUD_RATE = 20,
    LBK_SERIAL_GET_LINE_CONTROL = 21,
    LBK_SERIAL_GET_CHARS = 22,
    LBK_SERIAL_SET_CHARS = 23,
    LBK_SERIAL_GET_HANDFLOW = 24,
    LBK_SERIAL_SET_HANDFLOW = 25,
    LBK_SERIAL_GET_MODEMSTATUS = 26,
    LBK_SERIAL_GET_COMMSTATUS = 27,
    LBK_SERIAL_XOFF_COUNTER = 28,
    LBK_SERIAL_GET_PROPERTIES = 29,
    LBK_SERIAL_GET_DTRRTS = 30,
    LBK_SERIAL_LSRMST_INSERT = 31,
    LBK_SERIAL_CONFIG_SIZE = 32,
    LBK_SERIAL_GET_STATS = 35,
    LBK_SERIAL_CLEAR_STATS = 36,
    LBK_SERIAL_GET_MODEM_CONTROL = 37,
    LBK_SERIAL_SET_MODEM_CONTROL = 38,
    LBK_SERIAL_SET_FIFO_CONTROL = 39
};

struct lbk_serial_line_control {
    uint8_t stop_bits; /* 0 one, 1 one and a half, 2 two */
    uint8_t parity;    /* 0 none, 1 odd, 2 even, 3 mark, 4 space */
    uint8_t word_length; /* 5..8 */
};

struct lbk_serial_handflow {
    uint32_t control_handshake;
    uint32_t flow_replace;
    int32_t xon_limit;
    int32_t xoff_limit;
};

struct lbk_serial_chars {
    uint8_t eof_char, error_char, break_char, event_char, xon_char, xoff_char;
};

struct lbk_serial_timeouts {
    uint32_t read_interval;
    uint32_t read_total_multiplier;
    uint32_t read_total_constant;
    uint32_t write_total_multiplier;
    uint32_t write_total_constant;
};

struct lbk_serial_queue_size { /* SERIAL_QUEUE_SIZE */
    uint32_t in_size;
    uint32_t out_size;
};

struct lbk_serial_perf_stats { /* SERIALPERF_STATS */
    uint32_t received_count;
    uint32_t transmitted_count;
    uint32_t frame_error_count;
    uint32_t serial_overrun_error_count;
    uint32_t buffer_overrun_error_count;
    uint32_t parity_error_count;
};

/* 9 bytes of fields, 12 with the padding that SERIAL_XOFF_COUNTER has too. */
struct lbk_serial_xoff_counter { /* SERIAL_XOFF_COUNTER */
    uint32_t timeout;
    int32_t counter;
    uint8_t xoff_char;
};

/* 18 bytes of fields, 20 with the padding that SERIAL_STATUS has too: a reply is all 20. */
struct lbk_serial_status { /* SERIAL_STATUS */
    uint32_t errors;
    uint32_t hold_reasons;
    uint32_t amount_in_in_queue;
    uint32_t amount_in_out_queue;
    uint8_t eof_received;
    uint8_t wait_for_immediate;
};
_Static_assert(sizeof(struct lbk_serial_status) == 20, "SERIAL_STATUS is 20 bytes, padding included");
_Static_assert(sizeof(struct lbk_serial_line_control) == 3 && sizeof(struct lbk_serial_chars) == 6 &&
                      sizeof(struct lbk_serial_handflow) == 16 && sizeof(struct lbk_serial_timeouts) == 20 &&
                      sizeof(struct lbk_serial_queue_size) == 8 && sizeof(struct lbk_serial_perf_stats) == 24 &&
                      sizeof(struct lbk_serial_xoff_counter) == 12,
                  "the serial structures mirror ntddser.h's sizes");

/* SERIAL_HANDFLOW bits (ntddser.h), the ones this file's rules need. */
#define LBK_SERIAL_DTR_MASK 0x03u
#define LBK_SERIAL_DTR_CONTROL 0x01u
#define LBK_SERIAL_DTR_HANDSHAKE 0x02u
#define LBK_SERIAL_CONTROL_INVALID 0x7FFFFF84u /* ~(DTR_MASK | CTS | DSR | DCD | DSR_SENSITIVITY | ERROR_ABORT) */
#define LBK_SERIAL_RTS_MASK 0xC0u
#define LBK_SERIAL_RTS_CONTROL 0x40u
#define LBK_SERIAL_RTS_HANDSHAKE 0x80u
#define LBK_SERIAL_FLOW_INVALID 0x7FFFFF20u  /* ~(AUTO_TRANSMIT .. XOFF_CONTINUE, RTS_MASK) */

/* Modem status register bits (SERIAL_*_STATE = MS_*_ON of GetCommModemStatus). */
#define LBK_SERIAL_CTS_STATE 0x10u
#define LBK_SERIAL_DSR_STATE 0x20u
#define LBK_SERIAL_RI_STATE 0x40u
#define LBK_SERIAL_DCD_STATE 0x80u

/* WaitCommEvent events (SERIAL_EV_* = EV_*). */
#define LBK_SERIAL_EV_RXCHAR 0x0001u
#define LBK_SERIAL_EV_RXFLAG 0x0002u
#define LBK_SERIAL_EV_TXEMPTY 0x0004u
#define LBK_SERIAL_EV_CTS 0x0008u
#define LBK_SERIAL_EV_DSR 0x0010u
#define LBK_SERIAL_EV_RLSD 0x0020u
#define LBK_SERIAL_EV_BREAK 0x0040u
#define LBK_SERIAL_EV_ERR 0x0080u
#define LBK_SERIAL_EV_RING 0x0100u
#define LBK_SERIAL_EV_PERR 0x0200u
#define LBK_SERIAL_EV_RX80FULL 0x0400u
#define LBK_SERIAL_EV_EVENT1 0x0800u
#define LBK_SERIAL_EV_EVENT2 0x1000u
#define LBK_SERIAL_EV_VALID 0x1FFFu

/* PurgeComm flags (SERIAL_PURGE_* = PURGE_*). */
#define LBK_SERIAL_PURGE_TXABORT 0x1u
#define LBK_SERIAL_PURGE_RXABORT 0x2u
#define LBK_SERIAL_PURGE_TXCLEAR 0x4u
#define LBK_SERIAL_PURGE_RXCLEAR 0x8u
#define LBK_SERIAL_PURGE_VALID 0xFu

#define LBK_SERIAL_ERROR_BREAK 0x1u       /* SERIAL_ERROR_BREAK: CE_BREAK */
#define LBK_SERIAL_TX_WAITING_ON_BREAK 0x20u /* SERIAL_TX_WAITING_ON_BREAK */

/* Every setting of one end. */
struct lbk_serial_settings {
    uint32_t baud_rate;
    struct lbk_serial_line_control line;
    struct lbk_serial_handflow handflow;
    struct lbk_serial_chars chars;
    struct lbk_serial_timeouts timeouts;
    uint32_t in_queue_size, out_queue_size; /* what SetupComm asked for, 0 before */
};

/* What an end starts with: 9600 8N1, DTR and RTS on, XON 0x11, XOFF 0x13, no timeouts. */
void lbk_serial_default_settings(struct lbk_serial_settings *settings, uint32_t capacity);

/* 0 for a possible setting, else -1 (the driver fails the request with STATUS_INVALID_PARAMETER). */
int lbk_serial_check_baud_rate(uint32_t baud_rate);
int lbk_serial_check_line_control(const struct lbk_serial_line_control *line);
int lbk_serial_check_handflow(const struct lbk_serial_handflow *handflow, uint32_t capacity);
int lbk_serial_check_timeouts(const struct lbk_serial_timeouts *timeouts);

/* Whether the handflow raises DTR / RTS (control or handshake modes both keep the line up). */
int lbk_serial_handflow_dtr(const struct lbk_serial_handflow *handflow);
int lbk_serial_handflow_rts(const struct lbk_serial_handflow *handflow);

/* The modem status one end reads, from the lines its peer drives: the null-modem wiring. */
uint32_t lbk_serial_modem_status(int peer_dtr, int peer_rts);
/* The events a change of modem status makes (EV_CTS, EV_DSR, EV_RLSD). */
uint32_t lbk_serial_modem_events(uint32_t before, uint32_t after);

/* How a READ of length bytes behaves under timeouts (the COMMTIMEOUTS rules). */
enum lbk_serial_read_mode {
    LBK_SERIAL_READ_IMMEDIATE,  /* MAXDWORD, 0, 0: at once with what is there, maybe nothing */
    LBK_SERIAL_READ_FIRST_BYTE, /* MAXDWORD, MAXDWORD, 0 < c < MAXDWORD: at the first byte, or c ms */
    LBK_SERIAL_READ_FILL        /* otherwise: when full, or a total or interval timeout passes */
};

struct lbk_serial_read_plan {
    enum lbk_serial_read_mode mode;
    uint32_t total_ms;    /* 0: no total timeout (FIRST_BYTE: its c) */
    uint32_t interval_ms; /* FILL: the most time between two bytes once one came; 0: none */
};

/* The longest timeout a plan carries: longer totals (multiplier x length overflows) are capped. */
#define LBK_SERIAL_MAX_TIMEOUT_MS 0xFFFFFFFEu

void lbk_serial_read_plan(const struct lbk_serial_timeouts *timeouts, uint32_t length,
                          struct lbk_serial_read_plan *plan);
/* A WRITE's total timeout in ms (0: none), multiplier x length + constant, capped. */
uint32_t lbk_serial_write_timeout(const struct lbk_serial_timeouts *timeouts, uint32_t length);

/* Input and output lengths a serial IOCTL needs (function as in enum lbk_serial_function). */
enum lbk_serial_check {
    LBK_SERIAL_CHECK_OK,
    LBK_SERIAL_CHECK_TOO_SMALL, /* STATUS_BUFFER_TOO_SMALL */
    LBK_SERIAL_CHECK_UNKNOWN    /* STATUS_INVALID_DEVICE_REQUEST: a code this driver does not serve */
};
/* The size of SERIAL_COMMPROP, which GET_PROPERTIES fills. */
#define LBK_SERIAL_COMMPROP_BYTES 64u
enum lbk_serial_check lbk_serial_control_check(uint32_t code, uint32_t input_bytes, uint32_t output_bytes);

/*
 * Baud-rate emulation: a pacer lets bytes reach the peer no faster than the line would carry
 * them. A character takes ticks_per_char; after the line was idle, up to burst characters go at
 * once (the driver uses what the line carries in 10 ms), then each no sooner than the line
 * would have finished sending it. Times are in performance-counter ticks; free_at starts at 0.
 */
struct lbk_pacer {
    int64_t free_at; /* when the characters let through so far are all on the other side */
};
/* Bits one character takes on the line, in halves (for 1.5 stop bits): start, data, parity, stop. */
uint32_t lbk_serial_char_half_bits(const struct lbk_serial_line_control *line);
/* Ticks a character takes at baud_rate (>= 1), at least 1. */
uint64_t lbk_serial_ticks_per_char(uint32_t baud_rate, const struct lbk_serial_line_control *line, uint64_t frequency);
/* Characters the line can let through at now, at most burst. */
uint64_t lbk_pacer_allowed(const struct lbk_pacer *pacer, int64_t now, uint64_t ticks_per_char, uint64_t burst);
/* Records count characters let through at now (count <= lbk_pacer_allowed). */
void lbk_pacer_sent(struct lbk_pacer *pacer, int64_t now, uint64_t ticks_per_char, uint64_t burst, uint64_t count);
/* When the next character may go: the time lbk_pacer_allowed becomes at least 1. */
int64_t lbk_pacer_next(const struct lbk_pacer *pacer, uint64_t ticks_per_char);

/*
 * The access a handle needs for a serial request (docs/driver.md's access table). The serial
 * codes are FILE_ANY_ACCESS, as ntddser.h defines them, so the I/O manager checks nothing and
 * the driver checks this against what the handle was granted at CREATE. A port opens once at a
 * time, so what an end sets about itself (its line settings, its own lines, its events) is that
 * handle's own business: a receive-only program sets its port and drives its RTS for flow
 * control, a send-only one waits for EV_TXEMPTY. What puts something into the peer's input, a
 * byte or a break, needs write access; dropping what was received needs read access.
 */
enum lbk_access_need {
    LBK_NEEDS_NOTHING,        /* reports settings or lines: any handle, even one with no data access */
    LBK_NEEDS_READ,           /* drops what the end received */
    LBK_NEEDS_READ_OR_WRITE,  /* the end's own settings, lines, events and queue counts */
    LBK_NEEDS_WRITE,          /* puts a byte or a break into the peer's input, or drops what was sent */
    LBK_NEEDS_READ_AND_WRITE  /* drops both what was received and what was sent */
};
/* purge_mask: PURGE's input (RX flags need read, TX flags write); ignored for other codes. */
enum lbk_access_need lbk_serial_access_needed(uint32_t code, uint32_t purge_mask);
/* 1 when a handle that may read (can_read) and write (can_write) meets need, else 0. */
int lbk_access_allows(enum lbk_access_need need, int can_read, int can_write);

/* COM port numbers a configuration may give: COM1 .. COM256. */
#define LBK_SERIAL_MAX_PORT 256u

/*
 * The PortNames value: one entry per pair end in device order (A then B, unit by unit),
 * separated by commas, each "COM<n>" (any letter case, n = 1..256 without leading zeros) or
 * "-" for an end with no COM name; spaces around entries are ignored. Fewer entries than ends
 * leave the rest without. Fills ports[0 .. max_ends) with n, or 0 for none.
 * Returns 0, or -1 for text outside that grammar, a port named twice, or more entries than max_ends.
 */
int lbk_serial_parse_port_names(const uint16_t *text, size_t chars, uint16_t *ports, size_t max_ends);

/* The longest text lbk_serial_format_port_names writes for two ends: "COM256,COM256". */
#define LBK_SERIAL_PAIR_NAMES_CHARS 13u

/*
 * The reverse, for ends ports (each 0 or 1..LBK_SERIAL_MAX_PORT): "COM5,-" into text, with a NUL
 * after it. Returns the characters written without the NUL, or 0 when max_chars (which counts
 * the NUL) is too small or a port is out of range; text is then an empty string if it has room.
 */
size_t lbk_serial_format_port_names(const uint16_t *ports, size_t ends, uint16_t *text, size_t max_chars);

#endif /* LBK_SERIAL_H */
