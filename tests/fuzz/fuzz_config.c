/*
 * fuzz_config.c - libFuzzer target: the driver's parser of registry values (host, ASan/UBSan).
 * Input: a parameter id, a registry type, then the value's raw data, of any length and
 * alignment, as ZwQueryValueKey hands it to the driver. A value is applied to a valid
 * configuration; whatever it says, the configuration must stay valid, and an error or a
 * clamp must leave the other fields unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_config.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_valid(const struct lbk_config *config)
{
    size_t chars = 0;

    while (chars <= LBK_MAX_NAME_CHARS && config->name[chars] != 0)
        chars++;
    CHECK(chars <= LBK_MAX_NAME_CHARS);
    CHECK(lbk_config_check_name(config->name, chars) == LBK_CONFIG_OK);
    CHECK(lbk_config_check_buffer_size(config->buffer_size) == LBK_CONFIG_OK);
    CHECK(config->io_method == LBK_IO_BUFFERED || config->io_method == LBK_IO_DIRECT ||
          config->io_method == LBK_IO_NEITHER);
    CHECK(config->trace_level <= LBK_CONFIG_MAX_TRACE_LEVEL);
    CHECK(config->device_count >= 1 && config->device_count <= LBK_MAX_DEVICE_COUNT);
    CHECK(config->message_mode <= 1 && config->pairs <= 1);
    CHECK(config->when_peer_closed == LBK_PEER_CLOSED_PEND || config->when_peer_closed == LBK_PEER_CLOSED_FAIL ||
          config->when_peer_closed == LBK_PEER_CLOSED_DISCARD);
    CHECK(config->security_bytes >= 28 && config->security_bytes <= LBK_SECURITY_DESCRIPTOR_MAX_BYTES);
}

/* A configuration that passes the whole check names every device validly and distinctly enough. */
static void check_names(const struct lbk_config *config)
{
    uint16_t name[LBK_MAX_NAME_CHARS + 1];
    uint32_t i;

    if (lbk_config_check_whole(config) != LBK_CONFIG_OK)
        return;
    CHECK((uint64_t)lbk_config_device_total(config) * config->buffer_size <= LBK_MAX_TOTAL_BUFFER);
    for (i = 0; i < lbk_config_device_total(config); i++) {
        size_t chars = 0;

        lbk_config_device_name(config, i, name);
        while (chars <= LBK_MAX_NAME_CHARS && name[chars] != 0)
            chars++;
        CHECK(lbk_config_check_name(name, chars) == LBK_CONFIG_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t path[] = { '\\', 'S', 'v', 'c', '\\', 'L', 'B', 'K' };
    struct lbk_config config, before;
    enum lbk_config_error error;
    enum lbk_param param;
    uint32_t type;
    uint8_t *value;

    if (size < 2)
        return 0;
    CHECK(lbk_config_init(&config, path, sizeof(path) / sizeof(path[0])) == LBK_CONFIG_OK);
    check_valid(&config);
    param = (enum lbk_param)(data[0] % (LBK_PARAM_ID_COUNT + 1));
    type = data[1] % 8; /* REG_NONE .. REG_MULTI_SZ, around the two types that count */
    /* A copy of exactly the value's size, so ASan sees any read past its end. */
    value = malloc(size - 2 + 1);
    CHECK(value != NULL);
    memcpy(value, data + 2, size - 2);
    before = config;
    error = lbk_config_apply(&config, param, type, value, size - 2);
    free(value);
    check_valid(&config);
    CHECK(lbk_config_strerror(error)[0] != '\0');
    if (error != LBK_CONFIG_OK && error != LBK_CONFIG_CLAMPED)
        CHECK(memcmp(&config, &before, sizeof(config)) == 0);
    check_names(&config);
    if (error == LBK_CONFIG_CLAMPED) {
        CHECK(param == LBK_PARAM_ID_TRACE_LEVEL && config.trace_level == LBK_CONFIG_MAX_TRACE_LEVEL);
        before.trace_level = config.trace_level;
        CHECK(memcmp(&config, &before, sizeof(config)) == 0);
    }
    return 0;
}
