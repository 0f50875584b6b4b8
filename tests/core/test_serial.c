/* test_serial.c - the serial personality's rules: line settings, modem wiring, COMMTIMEOUTS,
   IOCTL lengths and the PortNames grammar. */
#include <string.h>

#include "test_main.h"
#include "../../core/lbk_serial.h"
#include "../../core/lbk_config.h"

#define MAXDWORD_ 0xFFFFFFFFu


TEST(serial_line_control_allows_what_a_uart_sends)
{
    struct lbk_serial_line_control line = { 0, 0, 8 };

    ASSERT_EQ(0, lbk_serial_check_line_control(&line));
    line.word_length = 4;
    ASSERT_EQ(-1, lbk_serial_check_line_control(&line));
    line.word_length = 9;
    ASSERT_EQ(-1, lbk_serial_check_line_control(&line));
    line.word_length = 5;
    line.stop_bits = 1; /* 1.5 stop bits: only with 5 data bits */
    ASSERT_EQ(0, lbk_serial_check_line_control(&line));
    line.word_length = 6;
    ASSERT_EQ(-1, lbk_serial_check_line_control(&line));
    line.stop_bits = 2;
    ASSERT_EQ(0, lbk_serial_check_line_control(&line));
    line.word_length = 5; /* 2 stop bits: not with 5 */
    ASSERT_EQ(-1, lbk_serial_check_line_control(&line));
    line.stop_bits = 3;
    line.word_length = 8;
    ASSERT_EQ(-1, lbk_serial_check_line_control(&line));
    line.stop_bits = 0;
    line.parity = 4; /* space */
    ASSERT_EQ(0, lbk_serial_check_line_control(&line));
    line.parity = 5;
    ASSERT_EQ(-1, lbk_serial_check_line_control(&line));
    ASSERT_EQ(-1, lbk_serial_check_baud_rate(0));
    ASSERT_EQ(0, lbk_serial_check_baud_rate(1));
    ASSERT_EQ(0, lbk_serial_check_baud_rate(921600));
}

TEST(serial_handflow_refuses_unknown_bits_and_limits_past_the_buffer)
{
    struct lbk_serial_settings settings;
    struct lbk_serial_handflow h;

    lbk_serial_default_settings(&settings, 4096);
    h = settings.handflow;
    ASSERT_EQ(0, lbk_serial_check_handflow(&h, 4096));
    ASSERT_TRUE(lbk_serial_handflow_dtr(&h) && lbk_serial_handflow_rts(&h));
    h.control_handshake = LBK_SERIAL_DTR_MASK; /* control and handshake at once */
    ASSERT_EQ(-1, lbk_serial_check_handflow(&h, 4096));
    h.control_handshake = 0x100;
    ASSERT_EQ(-1, lbk_serial_check_handflow(&h, 4096));
    h = settings.handflow;
    h.flow_replace |= 0x100;
    ASSERT_EQ(-1, lbk_serial_check_handflow(&h, 4096));
    h = settings.handflow;
    h.xoff_limit = 4097;
    ASSERT_EQ(-1, lbk_serial_check_handflow(&h, 4096));
    h.xoff_limit = -1;
    ASSERT_EQ(-1, lbk_serial_check_handflow(&h, 4096));
    h = settings.handflow;
    h.control_handshake = 0;
    h.flow_replace = 0;
    ASSERT_EQ(0, lbk_serial_check_handflow(&h, 4096));
    ASSERT_TRUE(!lbk_serial_handflow_dtr(&h) && !lbk_serial_handflow_rts(&h));
    h.control_handshake = LBK_SERIAL_DTR_HANDSHAKE;
    h.flow_replace = LBK_SERIAL_RTS_HANDSHAKE;
    ASSERT_TRUE(lbk_serial_handflow_dtr(&h) && lbk_serial_handflow_rts(&h));
    ASSERT_EQ(9600u, settings.baud_rate);
    ASSERT_EQ(8u, settings.line.word_length);
    ASSERT_EQ(0x11u, settings.chars.xon_char);
    ASSERT_EQ(0x13u, settings.chars.xoff_char);
}

TEST(serial_null_modem_wires_dtr_to_dsr_and_dcd_and_rts_to_cts)
{
    ASSERT_EQ(0u, lbk_serial_modem_status(0, 0));
    ASSERT_EQ(LBK_SERIAL_DSR_STATE | LBK_SERIAL_DCD_STATE, lbk_serial_modem_status(1, 0));
    ASSERT_EQ(LBK_SERIAL_CTS_STATE, lbk_serial_modem_status(0, 1));
    ASSERT_EQ(LBK_SERIAL_CTS_STATE | LBK_SERIAL_DSR_STATE | LBK_SERIAL_DCD_STATE, lbk_serial_modem_status(1, 1));
    ASSERT_EQ(LBK_SERIAL_EV_DSR | LBK_SERIAL_EV_RLSD,
              lbk_serial_modem_events(lbk_serial_modem_status(0, 1), lbk_serial_modem_status(1, 1)));
    ASSERT_EQ(LBK_SERIAL_EV_CTS, lbk_serial_modem_events(lbk_serial_modem_status(1, 1), lbk_serial_modem_status(1, 0)));
    ASSERT_EQ(0u, lbk_serial_modem_events(lbk_serial_modem_status(1, 1), lbk_serial_modem_status(1, 1)));
}

TEST(serial_read_plans_follow_commtimeouts)
{
    struct lbk_serial_timeouts t = { 0, 0, 0, 0, 0 };
    struct lbk_serial_read_plan plan;

    lbk_serial_read_plan(&t, 100, &plan); /* all zero: wait until the buffer is full */
    ASSERT_EQ(LBK_SERIAL_READ_FILL, plan.mode);
    ASSERT_EQ(0u, plan.total_ms);
    ASSERT_EQ(0u, plan.interval_ms);
    t.read_interval = MAXDWORD_; /* MAXDWORD, 0, 0: at once */
    lbk_serial_read_plan(&t, 100, &plan);
    ASSERT_EQ(LBK_SERIAL_READ_IMMEDIATE, plan.mode);
    t.read_total_multiplier = MAXDWORD_;
    t.read_total_constant = 250; /* MAXDWORD, MAXDWORD, 250: first byte, or 250 ms */
    lbk_serial_read_plan(&t, 100, &plan);
    ASSERT_EQ(LBK_SERIAL_READ_FIRST_BYTE, plan.mode);
    ASSERT_EQ(250u, plan.total_ms);
    t.read_total_constant = 0; /* MAXDWORD, MAXDWORD, 0 is not the special case: 49 days a byte */
    lbk_serial_read_plan(&t, 2, &plan);
    ASSERT_EQ(LBK_SERIAL_READ_FILL, plan.mode);
    ASSERT_EQ(LBK_SERIAL_MAX_TIMEOUT_MS, plan.total_ms); /* capped, not wrapped */
    ASSERT_EQ(0u, plan.interval_ms);
    t.read_interval = 20;
    t.read_total_multiplier = 10;
    t.read_total_constant = 100;
    lbk_serial_read_plan(&t, 50, &plan);
    ASSERT_EQ(LBK_SERIAL_READ_FILL, plan.mode);
    ASSERT_EQ(600u, plan.total_ms);
    ASSERT_EQ(20u, plan.interval_ms);
    t.read_total_multiplier = 0;
    t.read_total_constant = 0;
    lbk_serial_read_plan(&t, 50, &plan); /* an interval alone */
    ASSERT_EQ(0u, plan.total_ms);
    ASSERT_EQ(20u, plan.interval_ms);
    t.read_interval = MAXDWORD_;
    t.read_total_multiplier = MAXDWORD_;
    t.read_total_constant = MAXDWORD_;
    ASSERT_EQ(-1, lbk_serial_check_timeouts(&t));
    t.read_total_constant = 1;
    ASSERT_EQ(0, lbk_serial_check_timeouts(&t));
    t.write_total_multiplier = 0;
    t.write_total_constant = 0;
    ASSERT_EQ(0u, lbk_serial_write_timeout(&t, 1000));
    t.write_total_multiplier = 2;
    t.write_total_constant = 50;
    ASSERT_EQ(2050u, lbk_serial_write_timeout(&t, 1000));
    t.write_total_multiplier = MAXDWORD_;
    ASSERT_EQ(LBK_SERIAL_MAX_TIMEOUT_MS, lbk_serial_write_timeout(&t, MAXDWORD_));
}

TEST(serial_control_check_knows_the_comm_api_codes_and_their_sizes)
{
    ASSERT_EQ(0x001b0050u, LBK_SERIAL_CODE(LBK_SERIAL_GET_BAUD_RATE)); /* IOCTL_SERIAL_GET_BAUD_RATE */
    ASSERT_EQ(0x001b0048u, LBK_SERIAL_CODE(LBK_SERIAL_WAIT_ON_MASK));
    ASSERT_EQ(LBK_SERIAL_CHECK_OK, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_GET_BAUD_RATE), 0, 4));
    ASSERT_EQ(LBK_SERIAL_CHECK_TOO_SMALL, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_GET_BAUD_RATE), 0, 3));
    ASSERT_EQ(LBK_SERIAL_CHECK_TOO_SMALL, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_SET_TIMEOUTS), 19, 0));
    ASSERT_EQ(LBK_SERIAL_CHECK_OK, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_SET_TIMEOUTS), 20, 0));
    ASSERT_EQ(LBK_SERIAL_CHECK_TOO_SMALL,
              lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_GET_PROPERTIES), 0, LBK_SERIAL_COMMPROP_BYTES - 1));
    ASSERT_EQ(LBK_SERIAL_CHECK_OK, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_SET_DTR), 0, 0));
    ASSERT_EQ(LBK_SERIAL_CHECK_OK, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_XOFF_COUNTER), 12, 0));
    ASSERT_EQ(LBK_SERIAL_CHECK_TOO_SMALL, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_XOFF_COUNTER), 9, 0));
    ASSERT_EQ(0x001b008cu, LBK_SERIAL_CODE(LBK_SERIAL_GET_STATS)); /* IOCTL_SERIAL_GET_STATS */
    ASSERT_EQ(0x001b009cu, LBK_SERIAL_CODE(LBK_SERIAL_SET_FIFO_CONTROL));
    /* ntddser.h's codes this driver does not serve: GET_COMMCONFIG, SET_COMMCONFIG. */
    ASSERT_EQ(LBK_SERIAL_CHECK_UNKNOWN, lbk_serial_control_check(LBK_SERIAL_CODE(33), 64, 64));
    ASSERT_EQ(LBK_SERIAL_CHECK_UNKNOWN, lbk_serial_control_check(LBK_SERIAL_CODE(34), 64, 64));
    ASSERT_EQ(LBK_SERIAL_CHECK_UNKNOWN, lbk_serial_control_check(LBK_SERIAL_CODE(0x40), 64, 64));
    ASSERT_EQ(LBK_SERIAL_CHECK_UNKNOWN, lbk_serial_control_check(LBK_SERIAL_CODE(LBK_SERIAL_SET_DTR) | 1u, 0, 0));
    ASSERT_EQ(LBK_SERIAL_CHECK_UNKNOWN, lbk_serial_control_check(0x8B4B2000u, 64, 64));
}

/* Every reply the table lets through fits the structure the driver writes, padding included:
   GET_COMMSTATUS once passed 18 bytes for a 20-byte SERIAL_STATUS, 2 bytes past the buffer. */
TEST(serial_control_check_sizes_are_the_structures_sizes)
{
    static const struct {
        uint32_t function, in, out;
    } sizes[] = {
        { LBK_SERIAL_GET_COMMSTATUS, 0, sizeof(struct lbk_serial_status) },
        { LBK_SERIAL_GET_HANDFLOW, 0, sizeof(struct lbk_serial_handflow) },
        { LBK_SERIAL_SET_HANDFLOW, sizeof(struct lbk_serial_handflow), 0 },
        { LBK_SERIAL_GET_CHARS, 0, sizeof(struct lbk_serial_chars) },
        { LBK_SERIAL_SET_CHARS, sizeof(struct lbk_serial_chars), 0 },
        { LBK_SERIAL_GET_LINE_CONTROL, 0, sizeof(struct lbk_serial_line_control) },
        { LBK_SERIAL_GET_TIMEOUTS, 0, sizeof(struct lbk_serial_timeouts) },
        { LBK_SERIAL_SET_QUEUE_SIZE, sizeof(struct lbk_serial_queue_size), 0 },
        { LBK_SERIAL_GET_PROPERTIES, 0, LBK_SERIAL_COMMPROP_BYTES },
        { LBK_SERIAL_XOFF_COUNTER, sizeof(struct lbk_serial_xoff_counter), 0 },
        { LBK_SERIAL_LSRMST_INSERT, 1, 0 },
        { LBK_SERIAL_CONFIG_SIZE, 0, 4 },
        { LBK_SERIAL_GET_STATS, 0, sizeof(struct lbk_serial_perf_stats) },
        { LBK_SERIAL_CLEAR_STATS, 0, 0 },
        { LBK_SERIAL_GET_MODEM_CONTROL, 0, 4 },
        { LBK_SERIAL_SET_MODEM_CONTROL, 4, 0 },
        { LBK_SERIAL_SET_FIFO_CONTROL, 4, 0 },
    };
    size_t i;

    ASSERT_EQ(20, sizeof(struct lbk_serial_status));
    ASSERT_EQ(24, sizeof(struct lbk_serial_perf_stats)); /* SERIALPERF_STATS: six ULONGs */
    ASSERT_EQ(12, sizeof(struct lbk_serial_xoff_counter)); /* SERIAL_XOFF_COUNTER, padding included */
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint32_t code = LBK_SERIAL_CODE(sizes[i].function);

        ASSERT_EQ(LBK_SERIAL_CHECK_OK, lbk_serial_control_check(code, sizes[i].in, sizes[i].out));
        if (sizes[i].out != 0)
            ASSERT_EQ(LBK_SERIAL_CHECK_TOO_SMALL, lbk_serial_control_check(code, sizes[i].in, sizes[i].out - 1));
        if (sizes[i].in != 0)
            ASSERT_EQ(LBK_SERIAL_CHECK_TOO_SMALL, lbk_serial_control_check(code, sizes[i].in - 1, sizes[i].out));
    }
}

/* The access table of docs/driver.md, request by request. */
TEST(serial_access_needed_follows_the_table)
{
    static const uint32_t nothing[] = { LBK_SERIAL_GET_BAUD_RATE, LBK_SERIAL_GET_LINE_CONTROL, LBK_SERIAL_GET_CHARS,
                                        LBK_SERIAL_GET_HANDFLOW, LBK_SERIAL_GET_TIMEOUTS, LBK_SERIAL_GET_WAIT_MASK,
                                        LBK_SERIAL_GET_MODEMSTATUS, LBK_SERIAL_GET_PROPERTIES, LBK_SERIAL_GET_DTRRTS,
                                        LBK_SERIAL_CONFIG_SIZE,   LBK_SERIAL_GET_STATS,     LBK_SERIAL_GET_MODEM_CONTROL };
    /* What SetCommState, SetCommTimeouts, SetCommMask, EscapeCommFunction(SETDTR...),
       WaitCommEvent and ClearCommError send: a read-only or a write-only program needs them. */
    static const uint32_t own[] = { LBK_SERIAL_SET_BAUD_RATE, LBK_SERIAL_SET_QUEUE_SIZE, LBK_SERIAL_SET_LINE_CONTROL,
                                    LBK_SERIAL_SET_TIMEOUTS,  LBK_SERIAL_SET_WAIT_MASK,  LBK_SERIAL_SET_CHARS,
                                    LBK_SERIAL_SET_HANDFLOW,  LBK_SERIAL_SET_DTR,        LBK_SERIAL_CLR_DTR,
                                    LBK_SERIAL_SET_RTS,       LBK_SERIAL_CLR_RTS,        LBK_SERIAL_WAIT_ON_MASK,
                                    LBK_SERIAL_GET_COMMSTATUS, LBK_SERIAL_CLEAR_STATS,   LBK_SERIAL_SET_MODEM_CONTROL,
                                    LBK_SERIAL_SET_FIFO_CONTROL, LBK_SERIAL_LSRMST_INSERT };
    static const uint32_t to_peer[] = { LBK_SERIAL_SET_BREAK_ON, LBK_SERIAL_SET_BREAK_OFF, LBK_SERIAL_IMMEDIATE_CHAR,
                                        LBK_SERIAL_RESET_DEVICE, LBK_SERIAL_SET_XOFF,      LBK_SERIAL_SET_XON,
                                        LBK_SERIAL_XOFF_COUNTER, 0x7FF };
    size_t i;

    for (i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++)
        ASSERT_EQ(LBK_NEEDS_NOTHING, lbk_serial_access_needed(LBK_SERIAL_CODE(nothing[i]), 0));
    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        ASSERT_EQ(LBK_NEEDS_READ_OR_WRITE, lbk_serial_access_needed(LBK_SERIAL_CODE(own[i]), 0));
    for (i = 0; i < sizeof(to_peer) / sizeof(to_peer[0]); i++)
        ASSERT_EQ(LBK_NEEDS_WRITE, lbk_serial_access_needed(LBK_SERIAL_CODE(to_peer[i]), 0));
    ASSERT_EQ(LBK_NEEDS_READ, lbk_serial_access_needed(LBK_SERIAL_CODE(LBK_SERIAL_PURGE),
                                                       LBK_SERIAL_PURGE_RXABORT | LBK_SERIAL_PURGE_RXCLEAR));
    ASSERT_EQ(LBK_NEEDS_WRITE, lbk_serial_access_needed(LBK_SERIAL_CODE(LBK_SERIAL_PURGE), LBK_SERIAL_PURGE_TXCLEAR));
    /* Both directions: both accesses (a write-only handle once dropped what was received). */
    ASSERT_EQ(LBK_NEEDS_READ_AND_WRITE, lbk_serial_access_needed(LBK_SERIAL_CODE(LBK_SERIAL_PURGE),
                                                                 LBK_SERIAL_PURGE_RXCLEAR | LBK_SERIAL_PURGE_TXABORT));
}

TEST(access_allows_by_what_the_handle_may_do)
{
    int r, w;

    for (r = 0; r <= 1; r++) {
        for (w = 0; w <= 1; w++) {
            ASSERT_EQ(1, lbk_access_allows(LBK_NEEDS_NOTHING, r, w));
            ASSERT_EQ(r, lbk_access_allows(LBK_NEEDS_READ, r, w));
            ASSERT_EQ(r | w, lbk_access_allows(LBK_NEEDS_READ_OR_WRITE, r, w));
            ASSERT_EQ(w, lbk_access_allows(LBK_NEEDS_WRITE, r, w));
            ASSERT_EQ(r & w, lbk_access_allows(LBK_NEEDS_READ_AND_WRITE, r, w));
        }
    }
}

TEST(serial_port_names_parse_in_device_order)
{
    uint16_t text[64], ports[8];

    ASSERT_EQ(0, lbk_serial_parse_port_names(text, lbk_test_utf16("COM5,com6, - ,COM256", text), ports, 8));
    ASSERT_EQ(5u, ports[0]);
    ASSERT_EQ(6u, ports[1]);
    ASSERT_EQ(0u, ports[2]);
    ASSERT_EQ(256u, ports[3]);
    ASSERT_EQ(0u, ports[4]);
    ASSERT_EQ(0, lbk_serial_parse_port_names(text, 0, ports, 8));
    ASSERT_EQ(0u, ports[0]);
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM5,COM5", text), ports, 8));
    ASSERT_EQ(0, lbk_serial_parse_port_names(text, lbk_test_utf16("-,-", text), ports, 8)); /* "-" may repeat */
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM0", text), ports, 8));
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM05", text), ports, 8));
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM257", text), ports, 8));
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("LPT1", text), ports, 8));
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM1,", text), ports, 8));
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM1 COM2", text), ports, 8));
    ASSERT_EQ(-1, lbk_serial_parse_port_names(text, lbk_test_utf16("COM1,COM2,COM3", text), ports, 2));
}

/* What the bus keeps per pair is written by one and read back by the other. */
TEST(serial_port_names_format_what_parse_reads)
{
    static const uint16_t cases[][2] = { { 5, 6 }, { 0, 256 }, { 1, 0 }, { 0, 0 }, { 99, 100 } };
    uint16_t text[LBK_SERIAL_PAIR_NAMES_CHARS + 1], ports[2], expected[16];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t chars = lbk_serial_format_port_names(cases[i], 2, text, sizeof(text) / sizeof(text[0]));
        ASSERT_TRUE(chars > 0 && text[chars] == 0);
        ASSERT_EQ(0, lbk_serial_parse_port_names(text, chars, ports, 2));
        ASSERT_EQ(cases[i][0], ports[0]);
        ASSERT_EQ(cases[i][1], ports[1]);
    }
    ASSERT_EQ(lbk_test_utf16("COM256,COM256", expected),
              lbk_serial_format_port_names((const uint16_t[]){ 256, 256 }, 2, text, LBK_SERIAL_PAIR_NAMES_CHARS + 1));
    ASSERT_EQ(0, memcmp(expected, text, 13 * sizeof(uint16_t)));
    ASSERT_EQ(lbk_test_utf16("-,COM7", expected), lbk_serial_format_port_names((const uint16_t[]){ 0, 7 }, 2, text, 7));
    ASSERT_EQ(0, memcmp(expected, text, 6 * sizeof(uint16_t)));
    /* One character short of the NUL, or a port out of range: nothing, and an empty string. */
    ASSERT_EQ(0u, lbk_serial_format_port_names((const uint16_t[]){ 0, 7 }, 2, text, 6));
    ASSERT_EQ(0u, text[0]);
    ASSERT_EQ(0u, lbk_serial_format_port_names((const uint16_t[]){ 257, 7 }, 2, text, 16));
    ASSERT_EQ(0u, text[0]);
    ASSERT_EQ(0u, lbk_serial_format_port_names((const uint16_t[]){ 1, 2 }, 2, text, 0));
}

TEST(config_serial_needs_pairs_and_port_names_need_serial)
{
    static const uint16_t path[] = { 'L', 'B', 'K' };
    struct lbk_config config;
    uint16_t text[64];
    uint32_t one = 1, two = 2;
    size_t chars = lbk_test_utf16("COM5,COM6,COM7", text);

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_init(&config, path, 3));
    ASSERT_EQ(0u, config.serial_pairs);
    ASSERT_EQ(LBK_CONFIG_NOT_BOOLEAN, lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_DWORD, &two, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_SERIAL_NEEDS_PAIRS, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PAIRS, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_MESSAGE_MODE, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_SERIAL_NEEDS_PAIRS, lbk_config_check_whole(&config));
    config.message_mode = 0;
    /* Three names, one pair: two ends. */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PORT_NAMES, LBK_REG_SZ, text, chars * 2));
    ASSERT_EQ(7u, config.ports[2]);
    ASSERT_EQ(LBK_CONFIG_PORTS_NEED_SERIAL, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_COUNT, LBK_REG_DWORD, &two, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    config.serial_pairs = 0;
    ASSERT_EQ(LBK_CONFIG_PORTS_NEED_SERIAL, lbk_config_check_whole(&config));
    chars = lbk_test_utf16("COM5,COM5", text);
    ASSERT_EQ(LBK_CONFIG_BAD_PORT_NAMES, lbk_config_apply(&config, LBK_PARAM_ID_PORT_NAMES, LBK_REG_SZ, text, chars * 2));
    ASSERT_EQ(5u, config.ports[0]); /* unchanged on an error */
    ASSERT_EQ(7u, config.ports[2]);
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_PORT_NAMES, LBK_REG_DWORD, &one, 4));
    config.ports[0] = config.ports[1] = config.ports[2] = 0;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_BAUD_EMULATION, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_PORTS_NEED_SERIAL, lbk_config_check_whole(&config)); /* no serial pair here */
    config.serial_pairs = ~(uint64_t)0;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
}

TEST(serial_pacer_lets_bytes_through_no_faster_than_the_line)
{
    struct lbk_serial_line_control line = { 0, 0, 8 }; /* 8N1: 10 bits */
    struct lbk_serial_line_control odd = { 1, 1, 5 };  /* 5 data, parity, 1.5 stop: 8.5 bits */
    struct lbk_pacer pacer = { 0 };
    const uint64_t frequency = 10000000; /* 10 MHz, as Windows' counter usually is */
    uint64_t tpc = lbk_serial_ticks_per_char(9600, &line, frequency), burst = 9, sent = 0;
    int64_t now = 1000000000;

    ASSERT_EQ(20u, lbk_serial_char_half_bits(&line));
    ASSERT_EQ(17u, lbk_serial_char_half_bits(&odd));
    ASSERT_EQ(10417u, tpc); /* 960 characters a second, rounded to be never faster */
    ASSERT_EQ(1u, lbk_serial_ticks_per_char(4000000000u, &line, 1000));
    ASSERT_EQ(10000000u, lbk_serial_ticks_per_char(1, &line, 1000000)); /* 1 baud: 10 s a character */
    /* An idle line lets a burst through at once, then nothing until a character's time passed. */
    ASSERT_EQ(burst, lbk_pacer_allowed(&pacer, now, tpc, burst));
    lbk_pacer_sent(&pacer, now, tpc, burst, burst);
    ASSERT_EQ(0u, lbk_pacer_allowed(&pacer, now, tpc, burst));
    ASSERT_EQ(0u, lbk_pacer_allowed(&pacer, lbk_pacer_next(&pacer, tpc) - 1, tpc, burst));
    ASSERT_EQ(1u, lbk_pacer_allowed(&pacer, lbk_pacer_next(&pacer, tpc), tpc, burst));
    /* Over one simulated second, taking all that is allowed every 3 ms: at most the line rate plus the burst. */
    sent = burst;
    {
        int64_t t;

        for (t = now; t <= now + (int64_t)frequency; t += 30000) {
            uint64_t n = lbk_pacer_allowed(&pacer, t, tpc, burst);

            lbk_pacer_sent(&pacer, t, tpc, burst, n);
            sent += n;
        }
    }
    ASSERT_TRUE(sent <= 960 + burst);
    ASSERT_TRUE(sent >= 950);
}

TEST(config_serial_and_baud_emulation_can_name_pairs)
{
    static const uint16_t path[] = { 'S', 'E', 'R' };
    struct lbk_config config;
    uint16_t text[64];
    uint32_t one = 1, three = 3;

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_init(&config, path, 3));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PAIRS, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_COUNT, LBK_REG_DWORD, &three, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_SZ, text,
                                              2 * lbk_test_utf16(" 0, 2", text)));
    ASSERT_TRUE(lbk_config_pair_is_serial(&config, 0) && !lbk_config_pair_is_serial(&config, 1) &&
                lbk_config_pair_is_serial(&config, 2));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    /* Pacing a pair that is not serial, or a COM name on one: refused. */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_BAUD_EMULATION, LBK_REG_SZ, text,
                                              2 * lbk_test_utf16("1", text)));
    ASSERT_EQ(LBK_CONFIG_PORTS_NEED_SERIAL, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_BAUD_EMULATION, LBK_REG_SZ, text,
                                              2 * lbk_test_utf16("2", text)));
    ASSERT_TRUE(lbk_config_pair_is_paced(&config, 2) && !lbk_config_pair_is_paced(&config, 0));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PORT_NAMES, LBK_REG_SZ, text,
                                              2 * lbk_test_utf16("-,-,COM3", text)));
    ASSERT_EQ(LBK_CONFIG_PORTS_NEED_SERIAL, lbk_config_check_whole(&config)); /* end 2 is pair 1's A */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PORT_NAMES, LBK_REG_SZ, text,
                                              2 * lbk_test_utf16("COM3,-,-,-,COM4", text)));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    /* A pair that does not exist, and text that is no list. */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_SZ, text,
                                              2 * lbk_test_utf16("0,2,3", text)));
    ASSERT_EQ(LBK_CONFIG_BAD_PAIR_LIST, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_BAD_PAIR_LIST,
              lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_SZ, text, 2 * lbk_test_utf16("0,,2", text)));
    ASSERT_EQ(LBK_CONFIG_BAD_PAIR_LIST,
              lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_SZ, text, 2 * lbk_test_utf16("64", text)));
    ASSERT_EQ(LBK_CONFIG_BAD_PAIR_LIST,
              lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_SZ, text, 2 * lbk_test_utf16("", text)));
    ASSERT_EQ(LBK_CONFIG_BAD_PAIR_LIST,
              lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_SZ, text, 2 * lbk_test_utf16("1 2", text)));
    ASSERT_EQ(LBK_CONFIG_NOT_BOOLEAN, lbk_config_apply(&config, LBK_PARAM_ID_SERIAL, LBK_REG_DWORD, &three, 4));
}
