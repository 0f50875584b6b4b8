/*
 * lbk_serial.c - the serial personality's rules (any mode, any OS). See lbk_serial.h.
 */
#include "lbk_serial.h"

#define LBK_MAXDWORD 0xFFFFFFFFu

void lbk_serial_default_settings(struct lbk_serial_settings *settings, uint32_t capacity)
{
    struct lbk_serial_settings defaults = { 0 };

    defaults.baud_rate = 9600;
    defaults.line.stop_bits = 0;
    defaults.line.parity = 0;
    defaults.line.word_length = 8;
    defaults.handflow.control_handshake = LBK_SERIAL_DTR_CONTROL;
    defaults.handflow.flow_replace = LBK_SERIAL_RTS_CONTROL;
    /* serial.sys's choice: XON when the input queue is a quarter full, XOFF at three quarters left. */
    defaults.handflow.xon_limit = (int32_t)(capacity / 4);
    defaults.handflow.xoff_limit = (int32_t)(capacity / 4);
    defaults.chars.xon_char = 0x11;
    defaults.chars.xoff_char = 0x13;
    *settings = defaults;
}

int lbk_serial_check_baud_rate(uint32_t baud_rate)
{
    return baud_rate == 0 ? -1 : 0;
}

int lbk_serial_check_line_control(const struct lbk_serial_line_control *line)
{
    if (line->word_length < 5 || line->word_length > 8 || line->parity > 4 || line->stop_bits > 2)
        return -1;
    /* A UART sends 1.5 stop bits only after 5 data bits, and 2 only after 6 to 8. */
    if (line->stop_bits == 1 && line->word_length != 5)
        return -1;
    if (line->stop_bits == 2 && line->word_length == 5)
        return -1;
    return 0;
}

int lbk_serial_check_handflow(const struct lbk_serial_handflow *handflow, uint32_t capacity)
{
    if ((handflow->control_handshake & LBK_SERIAL_CONTROL_INVALID) != 0 ||
        (handflow->flow_replace & LBK_SERIAL_FLOW_INVALID) != 0)
        return -1;
    if ((handflow->control_handshake & LBK_SERIAL_DTR_MASK) == LBK_SERIAL_DTR_MASK)
        return -1;
    if (handflow->xon_limit < 0 || handflow->xoff_limit < 0 || (uint32_t)handflow->xon_limit > capacity ||
        (uint32_t)handflow->xoff_limit > capacity)
        return -1;
    return 0;
}

int lbk_serial_check_timeouts(const struct lbk_serial_timeouts *timeouts)
{
    /* Documented as invalid: every read timeout MAXDWORD. */
    if (timeouts->read_interval == LBK_MAXDWORD && timeouts->read_total_multiplier == LBK_MAXDWORD &&
        timeouts->read_total_constant == LBK_MAXDWORD)
        return -1;
    return 0;
}

int lbk_serial_handflow_dtr(const struct lbk_serial_handflow *handflow)
{
    return (handflow->control_handshake & LBK_SERIAL_DTR_MASK) != 0;
}

int lbk_serial_handflow_rts(const struct lbk_serial_handflow *handflow)
{
    return (handflow->flow_replace & LBK_SERIAL_RTS_MASK) != 0;
}

uint32_t lbk_serial_modem_status(int peer_dtr, int peer_rts)
{
    uint32_t status = 0;

    if (peer_dtr)
        status |= LBK_SERIAL_DSR_STATE | LBK_SERIAL_DCD_STATE;
    if (peer_rts)
        status |= LBK_SERIAL_CTS_STATE;
    return status;
}

uint32_t lbk_serial_modem_events(uint32_t before, uint32_t after)
{
    uint32_t changed = before ^ after, events = 0;

    if (changed & LBK_SERIAL_CTS_STATE)
        events |= LBK_SERIAL_EV_CTS;
    if (changed & LBK_SERIAL_DSR_STATE)
        events |= LBK_SERIAL_EV_DSR;
    if (changed & LBK_SERIAL_DCD_STATE)
        events |= LBK_SERIAL_EV_RLSD;
    return events;
}

static uint32_t capped_total(uint32_t multiplier, uint32_t length, uint32_t constant)
{
    uint64_t total = (uint64_t)multiplier * length + constant;

    return total > LBK_SERIAL_MAX_TIMEOUT_MS ? LBK_SERIAL_MAX_TIMEOUT_MS : (uint32_t)total;
}

void lbk_serial_read_plan(const struct lbk_serial_timeouts *timeouts, uint32_t length,
                          struct lbk_serial_read_plan *plan)
{
    plan->total_ms = 0;
    plan->interval_ms = 0;
    if (timeouts->read_interval == LBK_MAXDWORD && timeouts->read_total_multiplier == 0 &&
        timeouts->read_total_constant == 0) {
        plan->mode = LBK_SERIAL_READ_IMMEDIATE;
        return;
    }
    if (timeouts->read_interval == LBK_MAXDWORD && timeouts->read_total_multiplier == LBK_MAXDWORD &&
        timeouts->read_total_constant != 0 && timeouts->read_total_constant != LBK_MAXDWORD) {
        plan->mode = LBK_SERIAL_READ_FIRST_BYTE;
        plan->total_ms = timeouts->read_total_constant;
        return;
    }
    plan->mode = LBK_SERIAL_READ_FILL;
    if (timeouts->read_total_multiplier != 0 || timeouts->read_total_constant != 0)
        plan->total_ms = capped_total(timeouts->read_total_multiplier, length, timeouts->read_total_constant);
    /* MAXDWORD here (with other totals) is an interval of 49 days: as good as none. */
    if (timeouts->read_interval != LBK_MAXDWORD)
        plan->interval_ms = timeouts->read_interval;
}

uint32_t lbk_serial_write_timeout(const struct lbk_serial_timeouts *timeouts, uint32_t length)
{
    if (timeouts->write_total_multiplier == 0 && timeouts->write_total_constant == 0)
        return 0;
    return capped_total(timeouts->write_total_multiplier, length, timeouts->write_total_constant);
}

/*
 * The requests served, with the input and output bytes each needs: the size of the structure the
 * driver reads or writes (ntddser.h's, which the driver C_ASSERTs against the core's mirrors), so
 * that a buffer that passes this check always holds the whole reply, padding included.
 */
#define LBK_U32_BYTES ((uint8_t)sizeof(uint32_t))
#define LBK_SIZE(type) ((uint8_t)sizeof(type))
static const struct {
    uint8_t function;
    uint8_t in, out;
} serial_requests[] = {
    { LBK_SERIAL_SET_BAUD_RATE, LBK_U32_BYTES, 0 },
    { LBK_SERIAL_SET_QUEUE_SIZE, LBK_SIZE(struct lbk_serial_queue_size), 0 },
    { LBK_SERIAL_SET_LINE_CONTROL, LBK_SIZE(struct lbk_serial_line_control), 0 },
    { LBK_SERIAL_SET_BREAK_ON, 0, 0 },
    { LBK_SERIAL_SET_BREAK_OFF, 0, 0 },
    { LBK_SERIAL_IMMEDIATE_CHAR, 1, 0 },
    { LBK_SERIAL_SET_TIMEOUTS, LBK_SIZE(struct lbk_serial_timeouts), 0 },
    { LBK_SERIAL_GET_TIMEOUTS, 0, LBK_SIZE(struct lbk_serial_timeouts) },
    { LBK_SERIAL_SET_DTR, 0, 0 },
    { LBK_SERIAL_CLR_DTR, 0, 0 },
    { LBK_SERIAL_RESET_DEVICE, 0, 0 },
    { LBK_SERIAL_SET_RTS, 0, 0 },
    { LBK_SERIAL_CLR_RTS, 0, 0 },
    { LBK_SERIAL_SET_XOFF, 0, 0 },
    { LBK_SERIAL_SET_XON, 0, 0 },
    { LBK_SERIAL_GET_WAIT_MASK, 0, LBK_U32_BYTES },
    { LBK_SERIAL_SET_WAIT_MASK, LBK_U32_BYTES, 0 },
    { LBK_SERIAL_WAIT_ON_MASK, 0, LBK_U32_BYTES },
    { LBK_SERIAL_PURGE, LBK_U32_BYTES, 0 },
    { LBK_SERIAL_GET_BAUD_RATE, 0, LBK_U32_BYTES },
    { LBK_SERIAL_GET_LINE_CONTROL, 0, LBK_SIZE(struct lbk_serial_line_control) },
    { LBK_SERIAL_GET_CHARS, 0, LBK_SIZE(struct lbk_serial_chars) },
    { LBK_SERIAL_SET_CHARS, LBK_SIZE(struct lbk_serial_chars), 0 },
    { LBK_SERIAL_GET_HANDFLOW, 0, LBK_SIZE(struct lbk_serial_handflow) },
    { LBK_SERIAL_SET_HANDFLOW, LBK_SIZE(struct lbk_serial_handflow), 0 },
    { LBK_SERIAL_GET_MODEMSTATUS, 0, LBK_U32_BYTES },
    { LBK_SERIAL_GET_COMMSTATUS, 0, LBK_SIZE(struct lbk_serial_status) },
    { LBK_SERIAL_GET_PROPERTIES, 0, LBK_SERIAL_COMMPROP_BYTES },
    { LBK_SERIAL_GET_DTRRTS, 0, LBK_U32_BYTES },
    { LBK_SERIAL_XOFF_COUNTER, LBK_SIZE(struct lbk_serial_xoff_counter), 0 },
    { LBK_SERIAL_LSRMST_INSERT, 1, 0 },
    { LBK_SERIAL_CONFIG_SIZE, 0, LBK_U32_BYTES },
    { LBK_SERIAL_GET_STATS, 0, LBK_SIZE(struct lbk_serial_perf_stats) },
    { LBK_SERIAL_CLEAR_STATS, 0, 0 },
    { LBK_SERIAL_GET_MODEM_CONTROL, 0, LBK_U32_BYTES },
    { LBK_SERIAL_SET_MODEM_CONTROL, LBK_U32_BYTES, 0 },
    { LBK_SERIAL_SET_FIFO_CONTROL, LBK_U32_BYTES, 0 },
};

enum lbk_serial_check lbk_serial_control_check(uint32_t code, uint32_t input_bytes, uint32_t output_bytes)
{
    size_t i;

    if ((code >> 16) != LBK_SERIAL_DEVICE_TYPE || (code & 0xC003u) != 0) /* method buffered, any access */
        return LBK_SERIAL_CHECK_UNKNOWN;
    for (i = 0; i < sizeof(serial_requests) / sizeof(serial_requests[0]); i++) {
        if (serial_requests[i].function == LBK_SERIAL_FUNCTION(code))
            return input_bytes < serial_requests[i].in || output_bytes < serial_requests[i].out
                       ? LBK_SERIAL_CHECK_TOO_SMALL
                       : LBK_SERIAL_CHECK_OK;
    }
    return LBK_SERIAL_CHECK_UNKNOWN;
}

enum lbk_access_need lbk_serial_access_needed(uint32_t code, uint32_t purge_mask)
{
    switch (LBK_SERIAL_FUNCTION(code)) {
    case LBK_SERIAL_GET_BAUD_RATE:
    case LBK_SERIAL_GET_LINE_CONTROL:
    case LBK_SERIAL_GET_CHARS:
    case LBK_SERIAL_GET_HANDFLOW:
    case LBK_SERIAL_GET_TIMEOUTS:
    case LBK_SERIAL_GET_WAIT_MASK:
    case LBK_SERIAL_GET_MODEMSTATUS:
    case LBK_SERIAL_GET_PROPERTIES:
    case LBK_SERIAL_GET_DTRRTS:
    case LBK_SERIAL_CONFIG_SIZE:
    case LBK_SERIAL_GET_STATS:
    case LBK_SERIAL_GET_MODEM_CONTROL:
        return LBK_NEEDS_NOTHING;
    case LBK_SERIAL_PURGE: {
        int rx = (purge_mask & (LBK_SERIAL_PURGE_RXABORT | LBK_SERIAL_PURGE_RXCLEAR)) != 0;
        int tx = (purge_mask & (LBK_SERIAL_PURGE_TXABORT | LBK_SERIAL_PURGE_TXCLEAR)) != 0;

        return rx && tx ? LBK_NEEDS_READ_AND_WRITE : tx ? LBK_NEEDS_WRITE : LBK_NEEDS_READ;
    }
    case LBK_SERIAL_SET_BAUD_RATE:
    case LBK_SERIAL_SET_QUEUE_SIZE:
    case LBK_SERIAL_SET_LINE_CONTROL:
    case LBK_SERIAL_SET_TIMEOUTS:
    case LBK_SERIAL_SET_WAIT_MASK:
    case LBK_SERIAL_SET_CHARS:
    case LBK_SERIAL_SET_HANDFLOW: /* SetCommState sends it, with the DTR and RTS requests */
    case LBK_SERIAL_SET_DTR:
    case LBK_SERIAL_CLR_DTR:
    case LBK_SERIAL_SET_RTS:
    case LBK_SERIAL_CLR_RTS:
    case LBK_SERIAL_WAIT_ON_MASK:
    case LBK_SERIAL_GET_COMMSTATUS: /* takes the errors it reports; cbOutQue is the sender's */
    case LBK_SERIAL_CLEAR_STATS:
    case LBK_SERIAL_SET_MODEM_CONTROL: /* its own DTR and RTS, like SET_DTR */
    case LBK_SERIAL_SET_FIFO_CONTROL:
    case LBK_SERIAL_LSRMST_INSERT:
        return LBK_NEEDS_READ_OR_WRITE;
    default: /* IMMEDIATE_CHAR, XOFF_COUNTER, BREAK, XON/XOFF (hold or release its output), RESET, codes not served */
        return LBK_NEEDS_WRITE;
    }
}

int lbk_access_allows(enum lbk_access_need need, int can_read, int can_write)
{
    switch (need) {
    case LBK_NEEDS_NOTHING:
        return 1;
    case LBK_NEEDS_READ:
        return can_read != 0;
    case LBK_NEEDS_READ_OR_WRITE:
        return can_read != 0 || can_write != 0;
    case LBK_NEEDS_READ_AND_WRITE:
        return can_read != 0 && can_write != 0;
    case LBK_NEEDS_WRITE:
    default:
        return can_write != 0;
    }
}

uint32_t lbk_serial_char_half_bits(const struct lbk_serial_line_control *line)
{
    uint32_t stop_halves = line->stop_bits == 0 ? 2u : line->stop_bits == 1 ? 3u : 4u;

    return 2u * (1u + line->word_length + (line->parity != 0 ? 1u : 0u)) + stop_halves;
}

uint64_t lbk_serial_ticks_per_char(uint32_t baud_rate, const struct lbk_serial_line_control *line, uint64_t frequency)
{
    uint64_t halves = lbk_serial_char_half_bits(line);
    uint64_t divisor = 2u * (uint64_t)(baud_rate != 0 ? baud_rate : 1u);
    /* halves <= 26 and a counter's frequency below 2^58: no overflow. Rounded up: never faster. */
    uint64_t ticks = (halves * frequency + divisor - 1) / divisor;

    return ticks != 0 ? ticks : 1;
}

uint64_t lbk_pacer_allowed(const struct lbk_pacer *pacer, int64_t now, uint64_t ticks_per_char, uint64_t burst)
{
    uint64_t allowed;

    if (now <= pacer->free_at)
        return 0;
    allowed = (uint64_t)(now - pacer->free_at) / ticks_per_char;
    return allowed < burst ? allowed : burst;
}

void lbk_pacer_sent(struct lbk_pacer *pacer, int64_t now, uint64_t ticks_per_char, uint64_t burst, uint64_t count)
{
    int64_t earliest = now - (int64_t)(burst * ticks_per_char); /* an idle line saves up no more than burst */

    if (pacer->free_at < earliest)
        pacer->free_at = earliest;
    pacer->free_at += (int64_t)(count * ticks_per_char);
}

int64_t lbk_pacer_next(const struct lbk_pacer *pacer, uint64_t ticks_per_char)
{
    return pacer->free_at + (int64_t)ticks_per_char;
}

static uint16_t upper(uint16_t c)
{
    return (c >= 'a' && c <= 'z') ? (uint16_t)(c - 'a' + 'A') : c;
}

/* One entry, spaces trimmed: 0 for "-", n for "COM<n>", -1 otherwise. */
static int parse_port(const uint16_t *text, size_t chars)
{
    uint32_t n = 0;
    size_t i;

    while (chars > 0 && text[0] == ' ') {
        text++;
        chars--;
    }
    while (chars > 0 && text[chars - 1] == ' ')
        chars--;
    if (chars == 1 && text[0] == '-')
        return 0;
    if (chars < 4 || chars > 6 || upper(text[0]) != 'C' || upper(text[1]) != 'O' || upper(text[2]) != 'M' ||
        text[3] == '0')
        return -1;
    for (i = 3; i < chars; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        n = n * 10 + (uint32_t)(text[i] - '0');
    }
    return n >= 1 && n <= LBK_SERIAL_MAX_PORT ? (int)n : -1;
}

int lbk_serial_parse_port_names(const uint16_t *text, size_t chars, uint16_t *ports, size_t max_ends)
{
    size_t end = 0, start = 0, i, j;

    for (i = 0; i < max_ends; i++)
        ports[i] = 0;
    if (chars == 0)
        return 0;
    for (i = 0; i <= chars; i++) {
        int port;

        if (i < chars && text[i] != ',')
            continue;
        if (end == max_ends)
            return -1;
        port = parse_port(text + start, i - start);
        if (port < 0)
            return -1;
        for (j = 0; j < end && port != 0; j++) {
            if (ports[j] == port)
                return -1;
        }
        ports[end++] = (uint16_t)port;
        start = i + 1;
    }
    return 0;
}

size_t lbk_serial_format_port_names(const uint16_t *ports, size_t ends, uint16_t *text, size_t max_chars)
{
    size_t used = 0, i;

    for (i = 0; i < ends; i++) {
        uint16_t digits[3];
        size_t count = 0, need;
        uint32_t n = ports[i];

        if (n > LBK_SERIAL_MAX_PORT)
            goto TooSmall;
        for (; n != 0; n /= 10)
            digits[count++] = (uint16_t)('0' + n % 10);
        need = (i > 0) + (count == 0 ? 1 : 3 + count);
        if (used + need + 1 > max_chars)
            goto TooSmall;
        if (i > 0)
            text[used++] = ',';
        if (count == 0) {
            text[used++] = '-';
            continue;
        }
        text[used++] = 'C';
        text[used++] = 'O';
        text[used++] = 'M';
        while (count > 0)
            text[used++] = digits[--count];
    }
    if (used + 1 > max_chars)
        goto TooSmall;
    text[used] = 0;
    return used;
TooSmall:
    if (max_chars > 0)
        text[0] = 0;
    return 0;
}
