/* test_config.c - unit tests of the configuration checks (host, ASan/UBSan). */
#include <stdint.h>
#include <string.h>

#include "../../core/lbk_config.h"
#include "test_main.h"

TEST(config_io_methods_in_any_case)
{
    uint16_t text[16];
    enum lbk_io_method method = LBK_IO_NEITHER;

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_parse_io_method(text, lbk_test_utf16("buffered", text), &method));
    ASSERT_EQ(LBK_IO_BUFFERED, method);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_parse_io_method(text, lbk_test_utf16("Direct", text), &method));
    ASSERT_EQ(LBK_IO_DIRECT, method);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_parse_io_method(text, lbk_test_utf16("NEITHER", text), &method));
    ASSERT_EQ(LBK_IO_NEITHER, method);
}

TEST(config_io_method_rejects_near_misses)
{
    uint16_t text[16];
    enum lbk_io_method method = LBK_IO_DIRECT;
    static const char *const bad[] = { "", "buffer", "bufferedx", "direct ", " direct", "io", "neither2" };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT_EQ(LBK_CONFIG_UNKNOWN_METHOD, lbk_config_parse_io_method(text, lbk_test_utf16(bad[i], text), &method));
    ASSERT_EQ(LBK_IO_DIRECT, method); /* untouched on failure */
}

TEST(config_io_method_rejects_non_ascii_lookalikes)
{
    uint16_t text[8] = { 'd', 'i', 'r', 'e', 'c', 0x0442, 0 }; /* Cyrillic 'т' */
    enum lbk_io_method method;

    ASSERT_EQ(LBK_CONFIG_UNKNOWN_METHOD, lbk_config_parse_io_method(text, 6, &method));
}

TEST(config_buffer_size_limits)
{
    ASSERT_EQ(LBK_CONFIG_TOO_SMALL, lbk_config_check_buffer_size(0));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_buffer_size(1));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_buffer_size(LBK_DEFAULT_BUFFER_SIZE));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_buffer_size(LBK_MAX_BUFFER_SIZE));
    ASSERT_EQ(LBK_CONFIG_TOO_LARGE, lbk_config_check_buffer_size(LBK_MAX_BUFFER_SIZE + 1ull));
    ASSERT_EQ(LBK_CONFIG_TOO_LARGE, lbk_config_check_buffer_size(UINT64_MAX));
}

TEST(config_trace_level_limits)
{
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_trace_level(0));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_trace_level(3));
    ASSERT_EQ(LBK_CONFIG_BAD_TRACE_LEVEL, lbk_config_check_trace_level(4));
}

TEST(config_names)
{
    uint16_t text[80];
    size_t i;

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_name(text, lbk_test_utf16("LBK", text)));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_name(text, lbk_test_utf16("Example_2.a-b", text)));
    ASSERT_EQ(LBK_CONFIG_EMPTY, lbk_config_check_name(text, 0));
    ASSERT_EQ(LBK_CONFIG_BAD_CHARACTER, lbk_config_check_name(text, lbk_test_utf16("a\\b", text)));
    ASSERT_EQ(LBK_CONFIG_BAD_CHARACTER, lbk_config_check_name(text, lbk_test_utf16("a b", text)));
    ASSERT_EQ(LBK_CONFIG_BAD_CHARACTER, lbk_config_check_name(text, lbk_test_utf16("a:", text)));
    for (i = 0; i < LBK_MAX_NAME_CHARS; i++)
        text[i] = 'x';
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_name(text, LBK_MAX_NAME_CHARS));
    text[LBK_MAX_NAME_CHARS] = 'x';
    ASSERT_EQ(LBK_CONFIG_TOO_LONG, lbk_config_check_name(text, LBK_MAX_NAME_CHARS + 1));
}

TEST(config_trim_drops_trailing_nuls_only)
{
    uint16_t text[8] = { 'a', 0, 'b', 0, 0, 0 };

    ASSERT_EQ(3, lbk_config_trim(text, 6));
    ASSERT_EQ(0, lbk_config_trim(text + 3, 3));
    ASSERT_EQ(0, lbk_config_trim(text, 0));
}

TEST(config_last_component_of_registry_path)
{
    uint16_t text[96];
    size_t n = lbk_test_utf16("\\Registry\\Machine\\System\\CurrentControlSet\\Services\\LBK", text);

    ASSERT_EQ(n - 3, lbk_config_last_component(text, n));
    n = lbk_test_utf16("Plain", text);
    ASSERT_EQ(0, lbk_config_last_component(text, n));
    n = lbk_test_utf16("Trailing\\", text);
    ASSERT_EQ(n, lbk_config_last_component(text, n)); /* empty name: check_name rejects it */
    ASSERT_EQ(0, lbk_config_last_component(text, 0));
}

TEST(config_every_error_has_text)
{
    int e;

    for (e = LBK_CONFIG_OK; e <= LBK_CONFIG_PNP_ONE_DEVICE; e++)
        ASSERT_TRUE(strcmp(lbk_config_strerror((enum lbk_config_error)e), "unknown configuration error") != 0);
}

static struct lbk_config default_config(void)
{
    struct lbk_config config;
    uint16_t path[64];

    memset(&config, 0xA5, sizeof(config));
    (void)lbk_config_init(&config, path, lbk_test_utf16("\\Registry\\Machine\\Services\\LBK", path));
    return config;
}

TEST(config_init_takes_service_name_and_defaults)
{
    struct lbk_config config = default_config();
    uint16_t path[64];

    ASSERT_EQ('L', config.name[0]);
    ASSERT_EQ('K', config.name[2]);
    ASSERT_EQ(0, config.name[3]);
    ASSERT_EQ(LBK_DEFAULT_BUFFER_SIZE, config.buffer_size);
    ASSERT_EQ(LBK_IO_BUFFERED, config.io_method);
    ASSERT_EQ(0, config.trace_level);
    ASSERT_EQ(LBK_CONFIG_EMPTY, lbk_config_init(&config, path, lbk_test_utf16("\\Services\\", path)));
    ASSERT_EQ(LBK_CONFIG_BAD_CHARACTER, lbk_config_init(&config, path, lbk_test_utf16("\\Services\\a b", path)));
}

TEST(config_apply_dwords_checks_type_length_and_range)
{
    struct lbk_config config = default_config();
    struct lbk_config before;
    unsigned char raw[9] = { 0 };
    uint32_t value = 4096;

    memcpy(raw + 1, &value, sizeof(value)); /* unaligned, as registry data may be */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_DWORD, raw + 1, 4));
    ASSERT_EQ(4096, config.buffer_size);
    before = config;
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_SZ, raw, 4));
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_DWORD, raw, 8));
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_DWORD, raw, 0));
    value = 0;
    ASSERT_EQ(LBK_CONFIG_TOO_SMALL, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_DWORD, &value, 4));
    value = UINT32_MAX;
    ASSERT_EQ(LBK_CONFIG_TOO_LARGE, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_DWORD, &value, 4));
    ASSERT_TRUE(memcmp(&before, &config, sizeof(config)) == 0); /* errors change nothing */
    ASSERT_EQ(LBK_CONFIG_CLAMPED, lbk_config_apply(&config, LBK_PARAM_ID_TRACE_LEVEL, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(LBK_CONFIG_MAX_TRACE_LEVEL, config.trace_level);
    value = 2;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_TRACE_LEVEL, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(2, config.trace_level);
}

TEST(config_apply_strings_trims_and_bounds)
{
    struct lbk_config config = default_config();
    uint16_t text[200] = { 0 };
    size_t n;

    n = lbk_test_utf16("Other", text);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_SZ, text, (n + 3) * 2));
    ASSERT_EQ('O', config.name[0]);
    ASSERT_EQ(0, config.name[5]);
    /* An odd trailing byte carries no character. */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_SZ, text, n * 2 + 1));
    ASSERT_EQ(LBK_CONFIG_EMPTY, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_SZ, text, 1));
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_DWORD, text, 4));
    /* 63 characters and any number of trailing NULs fit; a 64th character does not. */
    for (n = 0; n < LBK_MAX_NAME_CHARS; n++)
        text[n] = 'n';
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_SZ, text, sizeof(text)));
    ASSERT_EQ(0, config.name[LBK_MAX_NAME_CHARS]);
    text[LBK_MAX_NAME_CHARS] = 'n';
    ASSERT_EQ(LBK_CONFIG_TOO_LONG, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_SZ, text, sizeof(text)));
    text[LBK_MAX_NAME_CHARS] = 0;
    text[150] = 'z'; /* far past the limit, after NULs */
    ASSERT_EQ(LBK_CONFIG_TOO_LONG, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_NAME, LBK_REG_SZ, text, sizeof(text)));
    ASSERT_EQ(LBK_CONFIG_UNKNOWN_METHOD, lbk_config_apply(&config, LBK_PARAM_ID_IO_METHOD, LBK_REG_SZ, text, sizeof(text)));
    n = lbk_test_utf16("neither", text);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_IO_METHOD, LBK_REG_SZ, text, n * 2));
    ASSERT_EQ(LBK_IO_NEITHER, config.io_method);
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_COUNT, LBK_REG_SZ, text, n * 2));
}

TEST(config_device_count_pairs_and_message_mode)
{
    struct lbk_config config = default_config();
    struct lbk_config before;
    uint32_t value;
    uint16_t text[16];
    size_t n;

    ASSERT_EQ(1, config.device_count);
    ASSERT_EQ(0, config.pairs);
    ASSERT_EQ(0, config.message_mode);
    ASSERT_EQ(LBK_PEER_CLOSED_PEND, config.when_peer_closed);
    before = config;
    value = 0;
    ASSERT_EQ(LBK_CONFIG_BAD_COUNT, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_COUNT, LBK_REG_DWORD, &value, 4));
    value = LBK_MAX_DEVICE_COUNT + 1;
    ASSERT_EQ(LBK_CONFIG_BAD_COUNT, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_COUNT, LBK_REG_DWORD, &value, 4));
    value = 2;
    ASSERT_EQ(LBK_CONFIG_NOT_BOOLEAN, lbk_config_apply(&config, LBK_PARAM_ID_PAIRS, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(LBK_CONFIG_NOT_BOOLEAN, lbk_config_apply(&config, LBK_PARAM_ID_MESSAGE_MODE, LBK_REG_DWORD, &value, 4));
    n = lbk_test_utf16("sometimes", text);
    ASSERT_EQ(LBK_CONFIG_UNKNOWN_POLICY,
              lbk_config_apply(&config, LBK_PARAM_ID_WHEN_PEER_CLOSED, LBK_REG_SZ, text, n * 2));
    ASSERT_TRUE(memcmp(&before, &config, sizeof(config)) == 0);
    value = LBK_MAX_DEVICE_COUNT;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_DEVICE_COUNT, LBK_REG_DWORD, &value, 4));
    value = 1;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PAIRS, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_MESSAGE_MODE, LBK_REG_DWORD, &value, 4));
    n = lbk_test_utf16("Discard", text);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_WHEN_PEER_CLOSED, LBK_REG_SZ, text, n * 2));
    ASSERT_EQ(LBK_PEER_CLOSED_DISCARD, config.when_peer_closed);
    ASSERT_EQ(LBK_MAX_DEVICE_COUNT, config.device_count);
    ASSERT_EQ(1, config.pairs);
    ASSERT_EQ(1, config.message_mode);
    ASSERT_EQ(2 * LBK_MAX_DEVICE_COUNT, lbk_config_device_total(&config));
}

/* name as ASCII, for comparisons */
static const char *ascii(const uint16_t *name)
{
    static char out[LBK_MAX_NAME_CHARS + 1];
    size_t i;

    for (i = 0; i < LBK_MAX_NAME_CHARS && name[i] != 0; i++)
        out[i] = (char)name[i];
    out[i] = 0;
    return out;
}

TEST(config_device_names_follow_count_and_pairs)
{
    struct lbk_config config = default_config();
    uint16_t name[LBK_MAX_NAME_CHARS + 1];

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_ROLE_LOOPBACK, lbk_config_device_name(&config, 0, name));
    ASSERT_TRUE(strcmp(ascii(name), "LBK") == 0); /* a count of 1 keeps the tutorials' name */
    config.device_count = 12;
    ASSERT_EQ(LBK_ROLE_LOOPBACK, lbk_config_device_name(&config, 0, name));
    ASSERT_TRUE(strcmp(ascii(name), "LBK0") == 0);
    lbk_config_device_name(&config, 11, name);
    ASSERT_TRUE(strcmp(ascii(name), "LBK11") == 0);
    config.pairs = 1;
    ASSERT_EQ(LBK_ROLE_A, lbk_config_device_name(&config, 0, name));
    ASSERT_TRUE(strcmp(ascii(name), "LBK0A") == 0);
    ASSERT_EQ(LBK_ROLE_B, lbk_config_device_name(&config, 23, name));
    ASSERT_TRUE(strcmp(ascii(name), "LBK11B") == 0);
    config.device_count = 1;
    ASSERT_EQ(LBK_ROLE_B, lbk_config_device_name(&config, 1, name));
    ASSERT_TRUE(strcmp(ascii(name), "LBKB") == 0);
}

TEST(config_whole_bounds_total_buffer_and_name_length)
{
    struct lbk_config config = default_config();
    size_t i;

    config.buffer_size = LBK_MAX_BUFFER_SIZE;
    config.device_count = 4;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config)); /* exactly 1 GiB */
    config.pairs = 1;
    ASSERT_EQ(LBK_CONFIG_TOTAL_TOO_LARGE, lbk_config_check_whole(&config));
    config.buffer_size = 4096;
    for (i = 0; i < LBK_MAX_NAME_CHARS - 2; i++)
        config.name[i] = 'n';
    config.name[i] = 0; /* 61 characters + "3A" = 63 */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    config.device_count = 10; /* + "9A": still 63 */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    config.device_count = 11; /* + "10A": 64 */
    ASSERT_EQ(LBK_CONFIG_NAMES_TOO_LONG, lbk_config_check_whole(&config));
    config.device_count = 0;
    ASSERT_EQ(LBK_CONFIG_BAD_COUNT, lbk_config_check_whole(&config));
}

TEST(config_plug_and_play_is_one_loopback_device_per_node)
{
    struct lbk_config config = default_config();
    uint16_t name[LBK_MAX_NAME_CHARS + 1];
    const uint32_t one = 1, two = 2;
    size_t i;

    ASSERT_EQ(0u, config.plug_and_play); /* legacy unless the INF says otherwise */
    ASSERT_EQ(LBK_CONFIG_NOT_BOOLEAN, lbk_config_apply(&config, LBK_PARAM_ID_PLUG_AND_PLAY, LBK_REG_DWORD, &two, 4));
    ASSERT_EQ(0u, config.plug_and_play);
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_PLUG_AND_PLAY, LBK_REG_SZ, &one, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PLUG_AND_PLAY, LBK_REG_DWORD, &one, 4));
    ASSERT_EQ(1u, config.plug_and_play);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    /* Every node is named by its slot, the first one too, so no node takes the legacy name. */
    ASSERT_EQ(LBK_ROLE_LOOPBACK, lbk_config_device_name(&config, 0, name));
    ASSERT_TRUE(strcmp(ascii(name), "LBK0") == 0);
    lbk_config_device_name(&config, LBK_MAX_DEVICE_COUNT - 1, name);
    ASSERT_TRUE(strcmp(ascii(name), "LBK63") == 0);
    config.device_count = 2;
    ASSERT_EQ(LBK_CONFIG_PNP_ONE_DEVICE, lbk_config_check_whole(&config));
    config.device_count = 1;
    config.pairs = 1;
    ASSERT_EQ(LBK_CONFIG_PNP_ONE_DEVICE, lbk_config_check_whole(&config));
    config.pairs = 0;
    for (i = 0; i < LBK_MAX_NAME_CHARS - 2; i++)
        config.name[i] = 'n';
    config.name[i] = 0; /* 61 characters + "63" = 63 */
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    config.name[i] = 'n';
    config.name[i + 1] = 0; /* 62 + "63" = 64 */
    ASSERT_EQ(LBK_CONFIG_NAMES_TOO_LONG, lbk_config_check_whole(&config));
}

TEST(config_security_defaults_to_system_and_administrators)
{
    struct lbk_config config = default_config();
    uint8_t expected[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
    uint16_t text[64];
    size_t bytes = 0;

    ASSERT_EQ(LBK_SDDL_OK, lbk_sddl_to_descriptor(text, lbk_test_utf16(LBK_DEFAULT_SDDL, text), expected, &bytes, NULL));
    ASSERT_EQ(bytes, config.security_bytes);
    ASSERT_TRUE(memcmp(expected, config.security_descriptor, bytes) == 0);
}

TEST(config_security_applies_a_valid_string_only)
{
    struct lbk_config config = default_config();
    struct lbk_config before;
    uint16_t text[LBK_SDDL_MAX_CHARS + 40] = { 0 };
    size_t n, i;

    /* Everyone may read and write: one entry, with trailing NULs as REG_SZ often has. */
    n = lbk_test_utf16("D:P(A;;GRGW;;;WD)", text);
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_SECURITY, LBK_REG_SZ, text, (n + 2) * 2));
    ASSERT_EQ(20 + 8 + 20, config.security_bytes);
    ASSERT_EQ(1, config.security_descriptor[24]);
    before = config;
    n = lbk_test_utf16("D:P(A;;GA;;;Everyone)", text);
    ASSERT_EQ(LBK_CONFIG_BAD_SECURITY, lbk_config_apply(&config, LBK_PARAM_ID_SECURITY, LBK_REG_SZ, text, n * 2));
    ASSERT_EQ(LBK_CONFIG_BAD_SECURITY, lbk_config_apply(&config, LBK_PARAM_ID_SECURITY, LBK_REG_SZ, text, 0));
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE, lbk_config_apply(&config, LBK_PARAM_ID_SECURITY, LBK_REG_DWORD, text, 4));
    /* 513 characters: refused unread, not cut to a valid prefix. */
    n = lbk_test_utf16("D:P(A;;GA;;;SY)", text);
    for (i = n; i < LBK_SDDL_MAX_CHARS + 1; i++)
        text[i] = ' ';
    ASSERT_EQ(LBK_CONFIG_BAD_SECURITY,
              lbk_config_apply(&config, LBK_PARAM_ID_SECURITY, LBK_REG_SZ, text, (LBK_SDDL_MAX_CHARS + 1) * 2));
    ASSERT_TRUE(memcmp(&before, &config, sizeof(config)) == 0);
}
