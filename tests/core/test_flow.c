/* test_flow.c - the handshake's rules: the wiring grammar and what it makes an end read, output
   holds, the input's XOFF/XON limits, the lines handshake and toggle drive, XON/XOFF scanning,
   and the Wiring value in the configuration. */
#include <string.h>

#include "test_main.h"
#include "../../core/lbk_flow.h"
#include "../../core/lbk_config.h"

static int parse(const char *text, struct lbk_flow_wiring *wiring)
{
    uint16_t wide[256];
    size_t chars = lbk_test_utf16(text, wide);

    return lbk_flow_parse_wiring(wide, chars, wiring);
}

static int same(const struct lbk_flow_wiring *w, uint8_t cts, uint8_t dsr, uint8_t dcd, uint8_t ri)
{
    return w->cts == cts && w->dsr == dsr && w->dcd == dcd && w->ri == ri;
}

TEST(flow_wiring_parses_presets_and_pin_maps)
{
    struct lbk_flow_wiring w;

    ASSERT_EQ(0, parse("", &w));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&w));
    ASSERT_EQ(0, parse(" - ", &w));
    ASSERT_TRUE(same(&w, LBK_PIN_PEER_RTS, LBK_PIN_PEER_DTR, LBK_PIN_PEER_DTR, LBK_PIN_OFF));
    ASSERT_EQ(0, parse("Null-Modem", &w));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&w));
    ASSERT_EQ(0, parse("loopback", &w));
    ASSERT_TRUE(same(&w, LBK_PIN_OWN_RTS, LBK_PIN_OWN_DTR, LBK_PIN_OWN_DTR, LBK_PIN_OFF));
    ASSERT_EQ(0, parse("cts=rrts,dsr=rdtr,dcd=rdtr,ri=off", &w));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&w));
    ASSERT_EQ(0, parse(" CTS = on , ri=RDTR", &w)); /* the lines not named keep null-modem's */
    ASSERT_TRUE(same(&w, LBK_PIN_ON, LBK_PIN_PEER_DTR, LBK_PIN_PEER_DTR, LBK_PIN_PEER_DTR));
    ASSERT_EQ(0, parse("dsr=dtr,dcd=off,cts=rts", &w));
    ASSERT_TRUE(same(&w, LBK_PIN_OWN_RTS, LBK_PIN_OWN_DTR, LBK_PIN_OFF, LBK_PIN_OFF));
}

TEST(flow_wiring_refuses_what_is_outside_the_grammar)
{
    static const char *const bad[] = { "cts", "cts=", "=rrts", "cts=rrts,", ",cts=rrts", "cts=rrts,cts=on",
                                       "rts=cts", "cts=rrtsx", "cts=rr ts", "loopback,cts=on", "cts=on;dsr=on",
                                       "cts==on", "null", "x" };
    struct lbk_flow_wiring w;
    size_t i;

    lbk_flow_wiring_loopback(&w);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &w) != -1) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
            ASSERT_TRUE(0);
        }
    }
    ASSERT_TRUE(same(&w, LBK_PIN_OWN_RTS, LBK_PIN_OWN_DTR, LBK_PIN_OWN_DTR, LBK_PIN_OFF)); /* unchanged */
}

TEST(flow_wiring_list_is_per_end_in_device_order)
{
    struct lbk_flow_wiring ends[4];
    uint16_t text[128];
    size_t chars = lbk_test_utf16("loopback;;cts=on", text);

    ASSERT_EQ(0, lbk_flow_parse_wiring_list(text, chars, ends, 4));
    ASSERT_TRUE(same(&ends[0], LBK_PIN_OWN_RTS, LBK_PIN_OWN_DTR, LBK_PIN_OWN_DTR, LBK_PIN_OFF));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&ends[1]));
    ASSERT_TRUE(same(&ends[2], LBK_PIN_ON, LBK_PIN_PEER_DTR, LBK_PIN_PEER_DTR, LBK_PIN_OFF));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&ends[3])); /* fewer entries than ends */
    chars = lbk_test_utf16("-;-;-", text);
    ASSERT_EQ(-1, lbk_flow_parse_wiring_list(text, chars, ends, 2)); /* more entries than ends */
    chars = lbk_test_utf16("-;bogus", text);
    ASSERT_EQ(-1, lbk_flow_parse_wiring_list(text, chars, ends, 2));
    ASSERT_EQ(0, lbk_flow_parse_wiring_list(text, 0, ends, 2));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&ends[0]));
}

TEST(flow_modem_status_follows_the_wiring)
{
    struct lbk_flow_wiring w;
    uint32_t all = LBK_FLOW_DTR | LBK_FLOW_RTS;

    lbk_flow_wiring_null_modem(&w);
    /* The null-modem cable is what lbk_serial_modem_status always gave. */
    ASSERT_EQ(lbk_serial_modem_status(1, 1), lbk_flow_modem_status(&w, 0, all));
    ASSERT_EQ(lbk_serial_modem_status(1, 0), lbk_flow_modem_status(&w, all, LBK_FLOW_DTR));
    ASSERT_EQ(lbk_serial_modem_status(0, 1), lbk_flow_modem_status(&w, all, LBK_FLOW_RTS));
    ASSERT_EQ(0u, lbk_flow_modem_status(&w, all, 0));
    lbk_flow_wiring_loopback(&w);
    ASSERT_EQ(LBK_SERIAL_CTS_STATE, lbk_flow_modem_status(&w, LBK_FLOW_RTS, all));
    ASSERT_EQ(LBK_SERIAL_DSR_STATE | LBK_SERIAL_DCD_STATE, lbk_flow_modem_status(&w, LBK_FLOW_DTR, 0));
    w.ri = LBK_PIN_ON;
    w.cts = LBK_PIN_OFF;
    ASSERT_EQ(LBK_SERIAL_RI_STATE, lbk_flow_modem_status(&w, 0, all));
}

TEST(flow_output_holds_by_line_and_xoff)
{
    struct lbk_serial_handflow hf = { LBK_SERIAL_DTR_CONTROL, LBK_SERIAL_RTS_CONTROL, 100, 100 };
    struct lbk_flow flow;
    uint32_t none = 0, all = LBK_SERIAL_CTS_STATE | LBK_SERIAL_DSR_STATE | LBK_SERIAL_DCD_STATE;

    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(0u, lbk_flow_tx_holds(&hf, &flow, none)); /* no handshake: lines do not matter */
    hf.control_handshake |= LBK_SERIAL_CTS_HANDSHAKE;
    ASSERT_EQ(LBK_SERIAL_TX_WAITING_FOR_CTS, lbk_flow_tx_holds(&hf, &flow, none));
    ASSERT_EQ(0u, lbk_flow_tx_holds(&hf, &flow, LBK_SERIAL_CTS_STATE));
    hf.control_handshake |= LBK_SERIAL_DSR_HANDSHAKE | LBK_SERIAL_DCD_HANDSHAKE;
    ASSERT_EQ(LBK_FLOW_LINE_HOLDS, lbk_flow_tx_holds(&hf, &flow, none));
    ASSERT_EQ(LBK_SERIAL_TX_WAITING_FOR_DSR, lbk_flow_tx_holds(&hf, &flow, LBK_SERIAL_CTS_STATE | LBK_SERIAL_DCD_STATE));
    ASSERT_EQ(0u, lbk_flow_tx_holds(&hf, &flow, all));
    /* An XOFF received (or SET_XOFF) holds, with or without fOutX, until XON. */
    flow.xoff_received = 1;
    ASSERT_EQ(LBK_SERIAL_TX_WAITING_FOR_XON, lbk_flow_tx_holds(&hf, &flow, all));
    ASSERT_EQ(LBK_SERIAL_TX_WAITING_FOR_XON, lbk_flow_hold_reasons(&hf, &flow, all));
    flow.xoff_received = 0;
    /* Its own XOFF sent: reported; holds its output too unless XOFF_CONTINUE. */
    hf.flow_replace |= LBK_SERIAL_AUTO_RECEIVE;
    flow.xoff_sent = 1;
    ASSERT_EQ(LBK_SERIAL_TX_WAITING_FOR_XON, lbk_flow_tx_holds(&hf, &flow, all));
    hf.flow_replace |= LBK_SERIAL_XOFF_CONTINUE;
    ASSERT_EQ(0u, lbk_flow_tx_holds(&hf, &flow, all));
    ASSERT_EQ(LBK_SERIAL_TX_WAITING_XOFF_SENT, lbk_flow_hold_reasons(&hf, &flow, all));
    /* DSR sensitivity: input ignored while DSR is low. */
    flow.xoff_sent = 0;
    hf.control_handshake = LBK_SERIAL_DSR_SENSITIVITY;
    ASSERT_EQ(1, lbk_flow_rx_ignored(&hf, LBK_SERIAL_CTS_STATE));
    ASSERT_EQ(0, lbk_flow_rx_ignored(&hf, LBK_SERIAL_DSR_STATE));
    ASSERT_EQ(LBK_SERIAL_RX_WAITING_FOR_DSR, lbk_flow_hold_reasons(&hf, &flow, 0));
}

/* Every wiring there is (6^4) formats as text that parses back to it, within the stated length. */
TEST(flow_wiring_text_round_trips_every_wiring)
{
    uint16_t text[LBK_FLOW_WIRING_TEXT_CHARS + 2];
    struct lbk_flow_wiring w, back;
    size_t longest = 0;
    unsigned n;

    for (n = 0; n < LBK_PIN_COUNT * LBK_PIN_COUNT * LBK_PIN_COUNT * LBK_PIN_COUNT; n++) {
        size_t length;

        w.cts = (uint8_t)(n % LBK_PIN_COUNT);
        w.dsr = (uint8_t)(n / LBK_PIN_COUNT % LBK_PIN_COUNT);
        w.dcd = (uint8_t)(n / (LBK_PIN_COUNT * LBK_PIN_COUNT) % LBK_PIN_COUNT);
        w.ri = (uint8_t)(n / (LBK_PIN_COUNT * LBK_PIN_COUNT * LBK_PIN_COUNT));
        memset(text, 0xAA, sizeof(text));
        length = lbk_flow_format_wiring(&w, text, LBK_FLOW_WIRING_TEXT_CHARS + 1);
        ASSERT_TRUE(length > 0 && length <= LBK_FLOW_WIRING_TEXT_CHARS);
        ASSERT_EQ(0, text[length]);
        ASSERT_EQ(0xAAAA, text[LBK_FLOW_WIRING_TEXT_CHARS + 1]); /* nothing past the capacity */
        memset(&back, 0xFF, sizeof(back));
        ASSERT_EQ(0, lbk_flow_parse_wiring(text, length, &back));
        ASSERT_TRUE(same(&back, w.cts, w.dsr, w.dcd, w.ri));
        if (length > longest)
            longest = length;
    }
    ASSERT_EQ(LBK_FLOW_WIRING_TEXT_CHARS, longest); /* the bound is tight, not a guess */
    lbk_flow_wiring_null_modem(&w);
    lbk_flow_format_wiring(&w, text, sizeof(text) / sizeof(text[0]));
    ASSERT_EQ('n', text[0]);
    lbk_flow_wiring_loopback(&w);
    lbk_flow_format_wiring(&w, text, sizeof(text) / sizeof(text[0]));
    ASSERT_EQ('l', text[0]);
}

TEST(flow_wiring_text_refuses_small_buffers_and_bad_pins)
{
    uint16_t text[LBK_FLOW_WIRING_TEXT_CHARS + 1];
    struct lbk_flow_wiring w;

    lbk_flow_wiring_null_modem(&w);
    text[0] = 'x';
    ASSERT_EQ(0, lbk_flow_format_wiring(&w, text, LBK_FLOW_WIRING_TEXT_CHARS));
    ASSERT_EQ(0, text[0]);
    ASSERT_EQ(0, lbk_flow_format_wiring(&w, text, 0));
    ASSERT_TRUE(lbk_flow_wiring_is_valid(&w));
    w.ri = LBK_PIN_COUNT;
    ASSERT_TRUE(!lbk_flow_wiring_is_valid(&w));
    text[0] = 'x';
    ASSERT_EQ(0, lbk_flow_format_wiring(&w, text, LBK_FLOW_WIRING_TEXT_CHARS + 1));
    ASSERT_EQ(0, text[0]);
    w.ri = LBK_PIN_OFF;
    w.cts = 0xFF;
    ASSERT_TRUE(!lbk_flow_wiring_is_valid(&w));
}

TEST(flow_input_limits_send_xoff_then_xon)
{
    /* 1000-byte input, XOFF at 1000 - 200 = 800 queued, XON at 100 or fewer. */
    struct lbk_serial_handflow hf = { LBK_SERIAL_DTR_CONTROL, LBK_SERIAL_RTS_CONTROL | LBK_SERIAL_AUTO_RECEIVE, 100,
                                      200 };
    struct lbk_flow flow;

    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 799, 1000));
    ASSERT_EQ(1u, lbk_flow_rx_room(&flow, &hf, 799, 1000, 50)); /* up to the limit, then the check */
    ASSERT_EQ(0u, lbk_flow_rx_room(&flow, &hf, 800, 1000, 50));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 800, 1000));
    ASSERT_EQ(1, flow.rx_holding);
    ASSERT_EQ(1, flow.xoff_sent);
    ASSERT_EQ(LBK_FLOW_SEND_XOFF, flow.send);
    ASSERT_EQ(50u, lbk_flow_rx_room(&flow, &hf, 900, 1000, 50)); /* holding: no more stops */
    lbk_flow_sent_char(&flow);
    ASSERT_EQ(LBK_FLOW_SEND_NONE, flow.send);
    ASSERT_EQ(1, flow.xoff_sent);
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 1000, 1000)); /* once */
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 101, 1000)); /* between the limits: no change */
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 100, 1000));
    ASSERT_EQ(0, flow.rx_holding);
    ASSERT_EQ(LBK_FLOW_SEND_XON, flow.send);
    ASSERT_EQ(1, flow.xoff_sent); /* until the XON goes */
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 50, 1000)); /* an XON that cannot go yet is no change */
    lbk_flow_sent_char(&flow);
    ASSERT_EQ(0, flow.xoff_sent);
    /* An XOFF that never went is withdrawn rather than followed by XON. */
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 850, 1000));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 0, 1000));
    ASSERT_EQ(LBK_FLOW_SEND_NONE, flow.send);
    ASSERT_EQ(0, flow.xoff_sent);
    /* fInX turned off while its XOFF is out: XON follows. */
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 900, 1000));
    lbk_flow_sent_char(&flow);
    hf.flow_replace = LBK_SERIAL_RTS_CONTROL;
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 900, 1000));
    ASSERT_EQ(LBK_FLOW_SEND_XON, flow.send);
    ASSERT_EQ(0, flow.rx_holding);
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 900, 1000));
    ASSERT_EQ(50u, lbk_flow_rx_room(&flow, &hf, 999, 1000, 50)); /* no receive flow control */
}

TEST(flow_limits_where_they_meet_and_past_the_buffer)
{
    /* XonLim 600 above the XOFF level 1000 - 500 = 500: holding wins until below 500. */
    struct lbk_serial_handflow hf = { LBK_SERIAL_DTR_HANDSHAKE, 0, 600, 500 };
    struct lbk_flow flow;

    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 500, 1000));
    ASSERT_EQ(0, flow.xoff_sent); /* DTR handshake only: no XOFF */
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 500, 1000));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 499, 1000));
    /* XoffLim = the whole buffer (the check allows it): holding from the first byte, and
       released once the input is empty again (a level of 0 would hold for ever). */
    hf.xoff_limit = 1000;
    hf.xon_limit = 0;
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 0, 1000));
    ASSERT_EQ(1u, lbk_flow_rx_room(&flow, &hf, 0, 1000, 10));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 1, 1000));
    ASSERT_EQ(1, flow.rx_holding);
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 1, 1000));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &hf, 0, 1000));
    ASSERT_EQ(0, flow.rx_holding);
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &hf, 0, 1000)); /* and stays so: no flapping */
}

TEST(flow_handflow_turned_off_releases_what_it_held)
{
    struct lbk_serial_handflow on = { LBK_SERIAL_DTR_CONTROL,
                                      LBK_SERIAL_RTS_HANDSHAKE | LBK_SERIAL_AUTO_TRANSMIT | LBK_SERIAL_AUTO_RECEIVE,
                                      100, 200 };
    struct lbk_serial_handflow off = on;
    struct lbk_flow flow;

    /* fOutX off: an XOFF received no longer holds the output (serial.sys clears it). */
    memset(&flow, 0, sizeof(flow));
    flow.xoff_received = 1;
    off.flow_replace = on.flow_replace & ~LBK_SERIAL_AUTO_TRANSMIT;
    ASSERT_EQ(1, lbk_flow_handflow_changed(&flow, &on, &off));
    ASSERT_EQ(0, flow.xoff_received);
    ASSERT_EQ(0, lbk_flow_handflow_changed(&flow, &on, &off));
    /* Without fOutX before, a SET_XOFF hold stays: only its own XOFF is fOutX's. */
    flow.xoff_received = 1;
    ASSERT_EQ(0, lbk_flow_handflow_changed(&flow, &off, &off));
    ASSERT_EQ(1, flow.xoff_received);
    /* fInX off while its XOFF is out, RTS handshake still on (still holding): XON at once. */
    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &on, 800, 1000));
    lbk_flow_sent_char(&flow);
    off.flow_replace = on.flow_replace & ~LBK_SERIAL_AUTO_RECEIVE;
    ASSERT_EQ(1, lbk_flow_handflow_changed(&flow, &on, &off));
    ASSERT_EQ(LBK_FLOW_SEND_XON, flow.send);
    ASSERT_EQ(1, flow.rx_holding); /* the RTS handshake still holds */
    ASSERT_EQ(0, lbk_flow_rx_update(&flow, &off, 800, 1000));
    lbk_flow_sent_char(&flow);
    ASSERT_EQ(0, flow.xoff_sent);
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &off, 100, 1000)); /* drained: the line rises, no second XON */
    ASSERT_EQ(LBK_FLOW_SEND_NONE, flow.send);
    /* An XOFF not yet gone is withdrawn instead. */
    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(1, lbk_flow_rx_update(&flow, &on, 800, 1000));
    ASSERT_EQ(1, lbk_flow_handflow_changed(&flow, &on, &off));
    ASSERT_EQ(LBK_FLOW_SEND_NONE, flow.send);
    ASSERT_EQ(0, flow.xoff_sent);
}

TEST(flow_lines_by_handshake_and_toggle)
{
    struct lbk_serial_handflow hf = { LBK_SERIAL_DTR_HANDSHAKE, LBK_SERIAL_RTS_HANDSHAKE, 10, 10 };
    struct lbk_flow flow;
    uint32_t all = LBK_FLOW_DTR | LBK_FLOW_RTS;

    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(all, lbk_flow_lines(&hf, &flow, 0, 0));
    flow.rx_holding = 1;
    ASSERT_EQ(0u, lbk_flow_lines(&hf, &flow, all, 1));
    hf.flow_replace = LBK_SERIAL_TRANSMIT_TOGGLE;
    ASSERT_EQ(LBK_FLOW_RTS, lbk_flow_lines(&hf, &flow, 0, 1));
    ASSERT_EQ(0u, lbk_flow_lines(&hf, &flow, all, 0));
    hf.control_handshake = LBK_SERIAL_DTR_CONTROL;
    hf.flow_replace = LBK_SERIAL_RTS_CONTROL;
    ASSERT_EQ(LBK_FLOW_DTR, lbk_flow_lines(&hf, &flow, LBK_FLOW_DTR, 1)); /* control: as set */
    ASSERT_EQ(1, lbk_flow_rx_controlled(&(struct lbk_serial_handflow){ 0, LBK_SERIAL_AUTO_RECEIVE, 0, 0 }));
    ASSERT_EQ(0, lbk_flow_rx_controlled(&hf));
    ASSERT_EQ(0, lbk_flow_rx_controlled(&(struct lbk_serial_handflow){ 0, LBK_SERIAL_TRANSMIT_TOGGLE, 0, 0 }));
}

TEST(flow_xon_xoff_scan_and_receive)
{
    static const uint8_t plain[] = { 'a', 'b', 0x12, 0x14, 0x00, 0xFF };
    static const uint8_t mixed[] = { 'a', 0x13, 'b', 0x11 };
    struct lbk_serial_chars chars = { 0, 0, 0, 0, 0x11, 0x13 };
    struct lbk_flow flow;

    memset(&flow, 0, sizeof(flow));
    ASSERT_EQ(sizeof(plain), lbk_flow_scan(plain, sizeof(plain), 0x11, 0x13)); /* data with neither passes */
    ASSERT_EQ(1u, lbk_flow_scan(mixed, sizeof(mixed), 0x11, 0x13));
    ASSERT_EQ(0u, lbk_flow_scan(mixed + 1, 3, 0x11, 0x13));
    ASSERT_EQ(0u, lbk_flow_scan(mixed, 0, 0x11, 0x13));
    lbk_flow_received_char(&flow, &chars, 0x13);
    ASSERT_EQ(1, flow.xoff_received);
    lbk_flow_received_char(&flow, &chars, 0x13);
    ASSERT_EQ(1, flow.xoff_received);
    lbk_flow_received_char(&flow, &chars, 0x11);
    ASSERT_EQ(0, flow.xoff_received);
}

TEST(config_wiring_is_per_serial_end)
{
    static const uint16_t path[] = { 'L', 'B', 'K' };
    struct lbk_config config;
    uint16_t text[128];
    uint32_t one = 1, two = 2;
    size_t chars = lbk_test_utf16("loopback;cts=on", text);

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_init(&config, path, 3));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&config.wiring[0]));
    ASSERT_TRUE(lbk_flow_wiring_is_null_modem(&config.wiring[2 * LBK_MAX_DEVICE_COUNT - 1]));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PAIRS, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_WIRING, LBK_REG_SZ, text, chars * 2));
    ASSERT_EQ(LBK_PIN_OWN_RTS, config.wiring[0].cts);
    ASSERT_EQ(LBK_PIN_ON, config.wiring[1].cts);
    ASSERT_EQ(LBK_CONFIG_BAD_WIRING, lbk_config_check_whole(&config)); /* not a serial pair */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    chars = lbk_test_utf16("-;-;loopback", text); /* a third end, with one pair */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_WIRING, LBK_REG_SZ, text, chars * 2));
    ASSERT_EQ(LBK_CONFIG_BAD_WIRING, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_COUNT, LBK_REG_DWORD, &two, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    chars = lbk_test_utf16("cts=bogus", text);
    ASSERT_EQ(LBK_CONFIG_BAD_WIRING, lbk_config_apply(&config, LBK_PARAM_ID_WIRING, LBK_REG_SZ, text, chars * 2));
    ASSERT_EQ(LBK_PIN_OWN_RTS, config.wiring[2].cts); /* unchanged on an error */
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_WIRING, LBK_REG_DWORD, &one, 4));
}
