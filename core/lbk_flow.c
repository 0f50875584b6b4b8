/*
 * lbk_flow.c - the handshake rules of a serial end (any mode, any OS). See lbk_flow.h.
 */
#include "lbk_flow.h"

void lbk_flow_wiring_null_modem(struct lbk_flow_wiring *wiring)
{
    wiring->cts = LBK_PIN_PEER_RTS;
    wiring->dsr = LBK_PIN_PEER_DTR;
    wiring->dcd = LBK_PIN_PEER_DTR;
    wiring->ri = LBK_PIN_OFF;
}

void lbk_flow_wiring_loopback(struct lbk_flow_wiring *wiring)
{
    wiring->cts = LBK_PIN_OWN_RTS;
    wiring->dsr = LBK_PIN_OWN_DTR;
    wiring->dcd = LBK_PIN_OWN_DTR;
    wiring->ri = LBK_PIN_OFF;
}

int lbk_flow_wiring_is_null_modem(const struct lbk_flow_wiring *wiring)
{
    return wiring->cts == LBK_PIN_PEER_RTS && wiring->dsr == LBK_PIN_PEER_DTR && wiring->dcd == LBK_PIN_PEER_DTR &&
           wiring->ri == LBK_PIN_OFF;
}

static uint16_t lower(uint16_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint16_t)(c - 'A' + 'a') : c;
}

/* Whether text[0 .. chars) is word, in any letter case. */
static int is_word(const uint16_t *text, size_t chars, const char *word)
{
    size_t i;

    for (i = 0; i < chars; i++) {
        if (word[i] == '\0' || lower(text[i]) != (uint16_t)(unsigned char)word[i])
            return 0;
    }
    return word[chars] == '\0';
}

/* text[*start .. *end) without the spaces around it. */
static void trim(const uint16_t *text, size_t *start, size_t *end)
{
    while (*start < *end && text[*start] == ' ')
        (*start)++;
    while (*end > *start && text[*end - 1] == ' ')
        (*end)--;
}

static const char *const pin_names[LBK_PIN_COUNT] = { "off", "on", "rrts", "rdtr", "rts", "dtr" };
static const char *const line_names[4] = { "cts", "dsr", "dcd", "ri" };

/* One "line=source" item: 0 with *line (0..3) and *pin, or -1. */
static int parse_item(const uint16_t *text, size_t chars, int *line, int *pin)
{
    size_t equals = 0, i, start = 0, end;

    while (equals < chars && text[equals] != '=')
        equals++;
    if (equals == chars)
        return -1;
    end = equals;
    trim(text, &start, &end);
    *line = -1;
    for (i = 0; i < 4; i++) {
        if (is_word(text + start, end - start, line_names[i]))
            *line = (int)i;
    }
    start = equals + 1;
    end = chars;
    trim(text, &start, &end);
    *pin = -1;
    for (i = 0; i < LBK_PIN_COUNT; i++) {
        if (is_word(text + start, end - start, pin_names[i]))
            *pin = (int)i;
    }
    return *line < 0 || *pin < 0 ? -1 : 0;
}

int lbk_flow_parse_wiring(const uint16_t *text, size_t chars, struct lbk_flow_wiring *wiring)
{
    struct lbk_flow_wiring result;
    uint8_t *lines[4];
    unsigned seen = 0;
    size_t start = 0, end = chars, i;

    lbk_flow_wiring_null_modem(&result);
    lines[0] = &result.cts;
    lines[1] = &result.dsr;
    lines[2] = &result.dcd;
    lines[3] = &result.ri;
    trim(text, &start, &end);
    if (end == start || is_word(text + start, end - start, "-") || is_word(text + start, end - start, "null-modem")) {
        *wiring = result;
        return 0;
    }
    if (is_word(text + start, end - start, "loopback")) {
        lbk_flow_wiring_loopback(wiring);
        return 0;
    }
    for (i = start; i <= end; i++) {
        int line, pin;

        if (i < end && text[i] != ',')
            continue;
        if (parse_item(text + start, i - start, &line, &pin) != 0 || (seen & (1u << line)) != 0)
            return -1;
        seen |= 1u << line;
        *lines[line] = (uint8_t)pin;
        start = i + 1;
    }
    *wiring = result;
    return 0;
}

int lbk_flow_parse_wiring_list(const uint16_t *text, size_t chars, struct lbk_flow_wiring *ends, size_t max_ends)
{
    size_t end = 0, start = 0, i;

    for (i = 0; i < max_ends; i++)
        lbk_flow_wiring_null_modem(&ends[i]);
    if (chars == 0)
        return 0;
    for (i = 0; i <= chars; i++) {
        if (i < chars && text[i] != ';')
            continue;
        if (end == max_ends || lbk_flow_parse_wiring(text + start, i - start, &ends[end]) != 0)
            return -1;
        end++;
        start = i + 1;
    }
    return 0;
}

int lbk_flow_wiring_is_valid(const struct lbk_flow_wiring *wiring)
{
    return wiring->cts < LBK_PIN_COUNT && wiring->dsr < LBK_PIN_COUNT && wiring->dcd < LBK_PIN_COUNT &&
           wiring->ri < LBK_PIN_COUNT;
}

/* Appends the ASCII word at text[*length], which the caller has sized. */
static void append(uint16_t *text, size_t *length, const char *word)
{
    while (*word != '\0')
        text[(*length)++] = (uint16_t)(unsigned char)*word++;
}

size_t lbk_flow_format_wiring(const struct lbk_flow_wiring *wiring, uint16_t *text, size_t capacity)
{
    struct lbk_flow_wiring loopback;
    const uint8_t pins[4] = { wiring->cts, wiring->dsr, wiring->dcd, wiring->ri };
    size_t length = 0, i;

    if (capacity == 0)
        return 0;
    text[0] = 0;
    if (capacity < LBK_FLOW_WIRING_TEXT_CHARS + 1 || !lbk_flow_wiring_is_valid(wiring))
        return 0;
    lbk_flow_wiring_loopback(&loopback);
    if (lbk_flow_wiring_is_null_modem(wiring)) {
        append(text, &length, "null-modem");
    } else if (wiring->cts == loopback.cts && wiring->dsr == loopback.dsr && wiring->dcd == loopback.dcd &&
               wiring->ri == loopback.ri) {
        append(text, &length, "loopback");
    } else {
        for (i = 0; i < 4; i++) { /* at most 3 x "cts=rrts", "ri=rrts" and 3 commas: 34 */
            if (i != 0)
                append(text, &length, ",");
            append(text, &length, line_names[i]);
            append(text, &length, "=");
            append(text, &length, pin_names[pins[i]]);
        }
    }
    text[length] = 0;
    return length;
}

static int pin_level(uint8_t pin, uint32_t own_lines, uint32_t peer_lines)
{
    switch (pin) {
    case LBK_PIN_ON:
        return 1;
    case LBK_PIN_PEER_RTS:
        return (peer_lines & LBK_FLOW_RTS) != 0;
    case LBK_PIN_PEER_DTR:
        return (peer_lines & LBK_FLOW_DTR) != 0;
    case LBK_PIN_OWN_RTS:
        return (own_lines & LBK_FLOW_RTS) != 0;
    case LBK_PIN_OWN_DTR:
        return (own_lines & LBK_FLOW_DTR) != 0;
    case LBK_PIN_OFF:
    default:
        return 0;
    }
}

uint32_t lbk_flow_modem_status(const struct lbk_flow_wiring *wiring, uint32_t own_lines, uint32_t peer_lines)
{
    return (pin_level(wiring->cts, own_lines, peer_lines) ? LBK_SERIAL_CTS_STATE : 0u) |
           (pin_level(wiring->dsr, own_lines, peer_lines) ? LBK_SERIAL_DSR_STATE : 0u) |
           (pin_level(wiring->dcd, own_lines, peer_lines) ? LBK_SERIAL_DCD_STATE : 0u) |
           (pin_level(wiring->ri, own_lines, peer_lines) ? LBK_SERIAL_RI_STATE : 0u);
}

int lbk_flow_rx_controlled(const struct lbk_serial_handflow *handflow)
{
    return (handflow->flow_replace & LBK_SERIAL_AUTO_RECEIVE) != 0 ||
           (handflow->flow_replace & LBK_SERIAL_RTS_MASK) == LBK_SERIAL_RTS_HANDSHAKE ||
           (handflow->control_handshake & LBK_SERIAL_DTR_MASK) == LBK_SERIAL_DTR_HANDSHAKE;
}

uint32_t lbk_flow_tx_holds(const struct lbk_serial_handflow *handflow, const struct lbk_flow *flow,
                           uint32_t modem_status)
{
    uint32_t holds = 0, control = handflow->control_handshake;

    if ((control & LBK_SERIAL_CTS_HANDSHAKE) && !(modem_status & LBK_SERIAL_CTS_STATE))
        holds |= LBK_SERIAL_TX_WAITING_FOR_CTS;
    if ((control & LBK_SERIAL_DSR_HANDSHAKE) && !(modem_status & LBK_SERIAL_DSR_STATE))
        holds |= LBK_SERIAL_TX_WAITING_FOR_DSR;
    if ((control & LBK_SERIAL_DCD_HANDSHAKE) && !(modem_status & LBK_SERIAL_DCD_STATE))
        holds |= LBK_SERIAL_TX_WAITING_FOR_DCD;
    /* SET_XOFF holds without fOutX too; an XOFF of its own, only without XOFF_CONTINUE. */
    if (flow->xoff_received ||
        (flow->xoff_sent && (handflow->flow_replace & LBK_SERIAL_AUTO_RECEIVE) &&
         !(handflow->flow_replace & LBK_SERIAL_XOFF_CONTINUE)))
        holds |= LBK_SERIAL_TX_WAITING_FOR_XON;
    return holds;
}

int lbk_flow_rx_ignored(const struct lbk_serial_handflow *handflow, uint32_t modem_status)
{
    return (handflow->control_handshake & LBK_SERIAL_DSR_SENSITIVITY) != 0 && !(modem_status & LBK_SERIAL_DSR_STATE);
}

uint32_t lbk_flow_hold_reasons(const struct lbk_serial_handflow *handflow, const struct lbk_flow *flow,
                               uint32_t modem_status)
{
    uint32_t reasons = lbk_flow_tx_holds(handflow, flow, modem_status);

    if (flow->xoff_sent)
        reasons |= LBK_SERIAL_TX_WAITING_XOFF_SENT;
    if (lbk_flow_rx_ignored(handflow, modem_status))
        reasons |= LBK_SERIAL_RX_WAITING_FOR_DSR;
    return reasons;
}

/* The level at which the end starts holding its input: capacity - XoffLim, at least 1 (at 0
   an empty input would hold, and could never drain below the level to release). */
static uint32_t xoff_level(const struct lbk_serial_handflow *handflow, uint32_t capacity)
{
    uint32_t limit = handflow->xoff_limit < 0 ? 0u : (uint32_t)handflow->xoff_limit;

    return limit + 1u > capacity ? 1u : capacity - limit;
}

static void stop_holding(struct lbk_flow *flow)
{
    flow->rx_holding = 0;
    if (flow->send == LBK_FLOW_SEND_XOFF) {
        /* Not gone yet: the peer never saw it, so no XON either. */
        flow->send = LBK_FLOW_SEND_NONE;
        flow->xoff_sent = 0;
    } else if (flow->xoff_sent) {
        flow->send = LBK_FLOW_SEND_XON;
    }
}

int lbk_flow_rx_update(struct lbk_flow *flow, const struct lbk_serial_handflow *handflow, uint32_t queued,
                       uint32_t capacity)
{
    struct lbk_flow before = *flow;
    uint32_t level = xoff_level(handflow, capacity);
    uint32_t xon = handflow->xon_limit < 0 ? 0u : (uint32_t)handflow->xon_limit;

    if (!lbk_flow_rx_controlled(handflow)) {
        if (flow->rx_holding || (flow->xoff_sent && flow->send != LBK_FLOW_SEND_XON))
            stop_holding(flow);
    } else if (!flow->rx_holding && queued >= level) {
        flow->rx_holding = 1;
        if ((handflow->flow_replace & LBK_SERIAL_AUTO_RECEIVE) && !flow->xoff_sent) {
            flow->xoff_sent = 1;
            flow->send = LBK_FLOW_SEND_XOFF;
        }
    } else if (flow->rx_holding && queued <= xon && queued < level) {
        stop_holding(flow);
    }
    return before.rx_holding != flow->rx_holding || before.xoff_sent != flow->xoff_sent || before.send != flow->send;
}

int lbk_flow_handflow_changed(struct lbk_flow *flow, const struct lbk_serial_handflow *before,
                              const struct lbk_serial_handflow *after)
{
    struct lbk_flow was = *flow;

    if ((before->flow_replace & LBK_SERIAL_AUTO_TRANSMIT) && !(after->flow_replace & LBK_SERIAL_AUTO_TRANSMIT))
        flow->xoff_received = 0;
    if (!(after->flow_replace & LBK_SERIAL_AUTO_RECEIVE) && flow->xoff_sent) {
        if (flow->send == LBK_FLOW_SEND_XOFF) {
            flow->send = LBK_FLOW_SEND_NONE; /* never went: the peer needs no XON */
            flow->xoff_sent = 0;
        } else {
            flow->send = LBK_FLOW_SEND_XON;
        }
    }
    return was.xoff_received != flow->xoff_received || was.xoff_sent != flow->xoff_sent || was.send != flow->send;
}

uint32_t lbk_flow_rx_room(const struct lbk_flow *flow, const struct lbk_serial_handflow *handflow, uint32_t queued,
                          uint32_t capacity, uint32_t want)
{
    uint32_t level = xoff_level(handflow, capacity);

    if (!lbk_flow_rx_controlled(handflow) || flow->rx_holding)
        return want;
    if (queued >= level)
        return 0;
    return level - queued < want ? level - queued : want;
}

uint32_t lbk_flow_lines(const struct lbk_serial_handflow *handflow, const struct lbk_flow *flow, uint32_t set_lines,
                        int has_output)
{
    uint32_t lines = set_lines & (LBK_FLOW_DTR | LBK_FLOW_RTS);

    if ((handflow->control_handshake & LBK_SERIAL_DTR_MASK) == LBK_SERIAL_DTR_HANDSHAKE)
        lines = flow->rx_holding ? lines & ~LBK_FLOW_DTR : lines | LBK_FLOW_DTR;
    switch (handflow->flow_replace & LBK_SERIAL_RTS_MASK) {
    case LBK_SERIAL_RTS_HANDSHAKE:
        lines = flow->rx_holding ? lines & ~LBK_FLOW_RTS : lines | LBK_FLOW_RTS;
        break;
    case LBK_SERIAL_TRANSMIT_TOGGLE:
        lines = has_output ? lines | LBK_FLOW_RTS : lines & ~LBK_FLOW_RTS;
        break;
    default:
        break;
    }
    return lines;
}

size_t lbk_flow_scan(const uint8_t *bytes, size_t count, uint8_t xon, uint8_t xoff)
{
    size_t i;

    for (i = 0; i < count; i++) {
        if (bytes[i] == xon || bytes[i] == xoff)
            return i;
    }
    return count;
}

void lbk_flow_received_char(struct lbk_flow *flow, const struct lbk_serial_chars *chars, uint8_t c)
{
    if (c == chars->xoff_char)
        flow->xoff_received = 1;
    else if (c == chars->xon_char)
        flow->xoff_received = 0;
}

void lbk_flow_sent_char(struct lbk_flow *flow)
{
    if (flow->send == LBK_FLOW_SEND_XON)
        flow->xoff_sent = 0;
    flow->send = LBK_FLOW_SEND_NONE;
}
