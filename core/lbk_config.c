/*
 * lbk_config.c - configuration checks (any mode, any OS). See lbk_config.h for the rules.
 */
#include "lbk_config.h"

const char *lbk_config_strerror(enum lbk_config_error error)
{
    switch (error) {
    case LBK_CONFIG_OK: return "valid";
    case LBK_CONFIG_EMPTY: return "the name is empty";
    case LBK_CONFIG_TOO_LONG: return "the name is longer than 63 characters";
    case LBK_CONFIG_BAD_CHARACTER: return "the name has a character outside A-Z a-z 0-9 _ . -";
    case LBK_CONFIG_TOO_SMALL: return "the buffer size is below 1 byte";
    case LBK_CONFIG_TOO_LARGE: return "the buffer size is above 256 MiB";
    case LBK_CONFIG_UNKNOWN_METHOD: return "the I/O method is not buffered, direct or neither";
    case LBK_CONFIG_BAD_TRACE_LEVEL: return "the trace level is above 3";
    case LBK_CONFIG_WRONG_TYPE: return "wrong registry type (REG_DWORD or REG_SZ expected)";
    case LBK_CONFIG_CLAMPED: return "the trace level is above 3 and was clamped to 3";
    case LBK_CONFIG_BAD_COUNT: return "the device count is not between 1 and 64";
    case LBK_CONFIG_NOT_BOOLEAN: return "the value is not 0 or 1";
    case LBK_CONFIG_UNKNOWN_POLICY: return "the policy is not pend, fail or discard";
    case LBK_CONFIG_TOTAL_TOO_LARGE: return "devices x buffer size is above 1 GiB";
    case LBK_CONFIG_NAMES_TOO_LONG: return "the name with its device suffix is longer than 63 characters";
    case LBK_CONFIG_BAD_SECURITY: return "the security string is not in the supported SDDL subset";
    case LBK_CONFIG_PNP_ONE_DEVICE:
        return "with PlugAndPlay 1 each device node is one loopback device: DeviceCount must be 1 and Pairs 0";
    case LBK_CONFIG_SERIAL_NEEDS_PAIRS: return "Serial 1 needs Pairs 1 and MessageMode 0: a serial port is one end of a byte stream";
    case LBK_CONFIG_BAD_PORT_NAMES:
        return "PortNames is not a comma-separated list of COM1..COM256 or -, each name at most once";
    case LBK_CONFIG_PORTS_NEED_SERIAL:
        return "PortNames and BaudEmulation need Serial for their pairs, and PortNames at most one name per pair end";
    case LBK_CONFIG_BAD_WIRING:
        return "Wiring is not a ';'-separated list of null-modem, loopback, - or cts=,dsr=,dcd=,ri= rrts|rdtr|rts|dtr|on|off, "
               "one per serial pair end";
    case LBK_CONFIG_BAD_PAIR_LIST:
        return "Serial or BaudEmulation is not 0, 1 or a comma-separated list of pair numbers below DeviceCount";
    case LBK_CONFIG_BAD_PENDING_LIMIT:
        return "a Pending limit is out of range (requests 1..65536, bytes from 64 KiB and BufferSize) or a handle's is above its device's";
    }
    return "unknown configuration error";
}

size_t lbk_config_trim(const uint16_t *text, size_t max_chars)
{
    size_t chars = max_chars;

    while (chars > 0 && text[chars - 1] == 0)
        chars--;
    return chars;
}

static int is_name_char(uint16_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

enum lbk_config_error lbk_config_check_name(const uint16_t *name, size_t chars)
{
    size_t i;

    if (chars == 0)
        return LBK_CONFIG_EMPTY;
    if (chars > LBK_MAX_NAME_CHARS)
        return LBK_CONFIG_TOO_LONG;
    for (i = 0; i < chars; i++) {
        if (!is_name_char(name[i]))
            return LBK_CONFIG_BAD_CHARACTER;
    }
    return LBK_CONFIG_OK;
}

size_t lbk_config_last_component(const uint16_t *path, size_t chars)
{
    size_t i = chars;

    while (i > 0 && path[i - 1] != '\\')
        i--;
    return i;
}

static uint16_t to_lower(uint16_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint16_t)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of UTF-16 text with a lower-case ASCII word. */
static int equals_word(const uint16_t *text, size_t chars, const char *word)
{
    size_t i;

    for (i = 0; i < chars; i++) {
        if (word[i] == '\0' || to_lower(text[i]) != (uint16_t)(unsigned char)word[i])
            return 0;
    }
    return word[chars] == '\0';
}

enum lbk_config_error lbk_config_parse_io_method(const uint16_t *text, size_t chars,
                                                 enum lbk_io_method *method)
{
    if (equals_word(text, chars, "buffered"))
        *method = LBK_IO_BUFFERED;
    else if (equals_word(text, chars, "direct"))
        *method = LBK_IO_DIRECT;
    else if (equals_word(text, chars, "neither"))
        *method = LBK_IO_NEITHER;
    else
        return LBK_CONFIG_UNKNOWN_METHOD;
    return LBK_CONFIG_OK;
}

enum lbk_config_error lbk_config_parse_peer_closed(const uint16_t *text, size_t chars,
                                                   enum lbk_peer_closed *policy)
{
    if (equals_word(text, chars, "pend"))
        *policy = LBK_PEER_CLOSED_PEND;
    else if (equals_word(text, chars, "fail"))
        *policy = LBK_PEER_CLOSED_FAIL;
    else if (equals_word(text, chars, "discard"))
        *policy = LBK_PEER_CLOSED_DISCARD;
    else
        return LBK_CONFIG_UNKNOWN_POLICY;
    return LBK_CONFIG_OK;
}

uint32_t lbk_config_device_total(const struct lbk_config *config)
{
    return config->device_count * (config->pairs ? 2u : 1u);
}

/* Characters the devices add to the name: the unit's decimal digits, then A or B. */
static size_t suffix_chars(const struct lbk_config *config)
{
    size_t digits = 0;
    uint32_t last = config->plug_and_play ? LBK_MAX_DEVICE_COUNT - 1 : config->device_count - 1;

    if (config->device_count > 1 || config->plug_and_play) {
        do {
            digits++;
            last /= 10;
        } while (last != 0);
    }
    return digits + (config->pairs ? 1u : 0u);
}

enum lbk_config_error lbk_config_check_whole(const struct lbk_config *config)
{
    size_t chars = 0, i;

    if (config->device_count < 1 || config->device_count > LBK_MAX_DEVICE_COUNT)
        return LBK_CONFIG_BAD_COUNT;
    if (config->plug_and_play && (config->device_count != 1 || config->pairs))
        return LBK_CONFIG_PNP_ONE_DEVICE;
    if (config->serial_pairs != 0 && (!config->pairs || config->message_mode))
        return LBK_CONFIG_SERIAL_NEEDS_PAIRS;
    /* A list (not "all") may name only pairs that exist. */
    for (i = config->device_count; i < 64; i++) {
        if ((config->serial_pairs != ~(uint64_t)0 && ((config->serial_pairs >> i) & 1u)) ||
            (config->paced_pairs != ~(uint64_t)0 && ((config->paced_pairs >> i) & 1u)))
            return LBK_CONFIG_BAD_PAIR_LIST;
    }
    for (i = 0; i < config->device_count; i++) {
        if (lbk_config_pair_is_paced(config, (uint32_t)i) && !lbk_config_pair_is_serial(config, (uint32_t)i))
            return LBK_CONFIG_PORTS_NEED_SERIAL;
    }
    for (i = 0; i < sizeof(config->ports) / sizeof(config->ports[0]); i++) {
        if (config->ports[i] != 0 &&
            (i >= lbk_config_device_total(config) || !lbk_config_pair_is_serial(config, (uint32_t)(i / 2))))
            return LBK_CONFIG_PORTS_NEED_SERIAL;
    }
    for (i = 0; i < sizeof(config->wiring) / sizeof(config->wiring[0]); i++) {
        if (!lbk_flow_wiring_is_null_modem(&config->wiring[i]) &&
            (i >= lbk_config_device_total(config) || !lbk_config_pair_is_serial(config, (uint32_t)(i / 2))))
            return LBK_CONFIG_BAD_WIRING;
    }
    if ((uint64_t)lbk_config_device_total(config) * config->buffer_size > LBK_MAX_TOTAL_BUFFER)
        return LBK_CONFIG_TOTAL_TOO_LARGE;
    /* A neither read of the whole buffer holds a bounce of that size: one must be able to wait. */
    if (lbk_limits_check(&config->limits) != 0 || config->limits.handle_bytes < config->buffer_size)
        return LBK_CONFIG_BAD_PENDING_LIMIT;
    while (config->name[chars] != 0)
        chars++;
    if (chars + suffix_chars(config) > LBK_MAX_NAME_CHARS)
        return LBK_CONFIG_NAMES_TOO_LONG;
    return LBK_CONFIG_OK;
}

enum lbk_role lbk_config_device_name(const struct lbk_config *config, uint32_t index, uint16_t *name)
{
    uint32_t unit = config->pairs ? index / 2 : index;
    size_t chars = 0, digits = suffix_chars(config) - (config->pairs ? 1u : 0u);

    while (config->name[chars] != 0) {
        name[chars] = config->name[chars];
        chars++;
    }
    /* Fixed width per configuration would pad with zeros; plain decimal reads better: LBK0..LBK10. */
    if (digits != 0) {
        uint16_t reversed[4];
        size_t n = 0, i;

        do {
            reversed[n++] = (uint16_t)('0' + unit % 10);
            unit /= 10;
        } while (unit != 0);
        for (i = 0; i < n; i++)
            name[chars++] = reversed[n - 1 - i];
    }
    if (config->pairs)
        name[chars++] = (uint16_t)((index % 2) == 0 ? 'A' : 'B');
    name[chars] = 0;
    if (!config->pairs)
        return LBK_ROLE_LOOPBACK;
    return (index % 2) == 0 ? LBK_ROLE_A : LBK_ROLE_B;
}

enum lbk_config_error lbk_config_check_buffer_size(uint64_t bytes)
{
    if (bytes < LBK_MIN_BUFFER_SIZE)
        return LBK_CONFIG_TOO_SMALL;
    if (bytes > LBK_MAX_BUFFER_SIZE)
        return LBK_CONFIG_TOO_LARGE;
    return LBK_CONFIG_OK;
}

enum lbk_config_error lbk_config_check_trace_level(uint64_t level)
{
    return level > LBK_CONFIG_MAX_TRACE_LEVEL ? LBK_CONFIG_BAD_TRACE_LEVEL : LBK_CONFIG_OK;
}

/* The descriptor of LBK_DEFAULT_SDDL, built by the same parser as a configured one. */
static enum lbk_config_error default_security(struct lbk_config *config)
{
    static const char sddl[] = LBK_DEFAULT_SDDL;
    uint16_t text[sizeof(sddl) - 1];
    size_t i, bytes = 0;

    for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        text[i] = (uint16_t)(unsigned char)sddl[i];
    if (lbk_sddl_to_descriptor(text, sizeof(text) / sizeof(text[0]), config->security_descriptor, &bytes, NULL) !=
        LBK_SDDL_OK)
        return LBK_CONFIG_BAD_SECURITY; /* cannot happen: a unit test parses the default */
    config->security_bytes = (uint32_t)bytes;
    return LBK_CONFIG_OK;
}

enum lbk_config_error lbk_config_init(struct lbk_config *config, const uint16_t *registry_path,
                                      size_t path_chars)
{
    size_t start = lbk_config_last_component(registry_path, path_chars);
    size_t chars = path_chars - start;
    enum lbk_config_error error = lbk_config_check_name(registry_path + start, chars);

    if (error != LBK_CONFIG_OK)
        return error;
    lbk__copy(config->name, registry_path + start, chars * sizeof(uint16_t));
    config->name[chars] = 0;
    config->buffer_size = LBK_DEFAULT_BUFFER_SIZE;
    config->io_method = LBK_IO_BUFFERED;
    config->trace_level = 0;
    config->device_count = 1;
    config->message_mode = 0;
    config->pairs = 0;
    config->plug_and_play = 0;
    config->serial_pairs = 0;
    config->paced_pairs = 0;
    for (chars = 0; chars < sizeof(config->ports) / sizeof(config->ports[0]); chars++)
        config->ports[chars] = 0;
    for (chars = 0; chars < sizeof(config->wiring) / sizeof(config->wiring[0]); chars++)
        lbk_flow_wiring_null_modem(&config->wiring[chars]);
    config->when_peer_closed = LBK_PEER_CLOSED_PEND;
    lbk_limits_default(&config->limits);
    return default_security(config);
}

/*
 * REG_SZ data may be unaligned and may end in an odd byte, which carries no character. text has
 * room for max_chars + 1 units; a longer value, trailing NULs aside, is LBK_CONFIG_TOO_LONG.
 */
static enum lbk_config_error decode_text(uint32_t type, const void *data, size_t bytes, size_t max_chars,
                                         uint16_t *text, size_t *chars)
{
    size_t units = bytes / sizeof(uint16_t);

    if (type != LBK_REG_SZ)
        return LBK_CONFIG_WRONG_TYPE;
    /* Longer than any valid value even after trailing NULs are trimmed? Then say so unread. */
    if (units > max_chars + 1) {
        const unsigned char *tail = (const unsigned char *)data + (max_chars + 1) * sizeof(uint16_t);
        size_t i;

        for (i = 0; i < (units - max_chars - 1) * sizeof(uint16_t); i++) {
            if (tail[i] != 0)
                return LBK_CONFIG_TOO_LONG;
        }
        units = max_chars + 1;
    }
    lbk__copy(text, data, units * sizeof(uint16_t));
    *chars = lbk_config_trim(text, units);
    return LBK_CONFIG_OK;
}

/* "0,2, 5": pair numbers 0..63, comma-separated, spaces around them ignored; at least one. */
static int parse_pair_list(const uint16_t *text, size_t chars, uint64_t *mask)
{
    size_t i = 0;

    *mask = 0;
    for (;;) {
        uint32_t n = 0;
        size_t digits = 0;

        while (i < chars && text[i] == ' ')
            i++;
        while (i < chars && text[i] >= '0' && text[i] <= '9' && digits < 3) {
            n = n * 10 + (uint32_t)(text[i++] - '0');
            digits++;
        }
        while (i < chars && text[i] == ' ')
            i++;
        if (digits == 0 || n >= 64)
            return -1;
        *mask |= (uint64_t)1 << n;
        if (i == chars)
            return 0;
        if (text[i++] != ',')
            return -1;
    }
}

int lbk_config_pair_is_serial(const struct lbk_config *config, uint32_t unit)
{
    return unit < 64 && ((config->serial_pairs >> unit) & 1u) != 0;
}

int lbk_config_pair_is_paced(const struct lbk_config *config, uint32_t unit)
{
    return unit < 64 && ((config->paced_pairs >> unit) & 1u) != 0;
}

static enum lbk_config_error decode_dword(uint32_t type, const void *data, size_t bytes, uint32_t *value)
{
    if (type != LBK_REG_DWORD || bytes != sizeof(*value))
        return LBK_CONFIG_WRONG_TYPE;
    lbk__copy(value, data, sizeof(*value));
    return LBK_CONFIG_OK;
}

enum lbk_config_error lbk_config_apply(struct lbk_config *config, enum lbk_param param,
                                       uint32_t type, const void *data, size_t bytes)
{
    uint16_t text[LBK_SDDL_MAX_CHARS + 1];
    uint8_t descriptor[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
    enum lbk_config_error error;
    uint32_t number = 0;
    size_t chars = 0, descriptor_bytes = 0;

    switch (param) {
    case LBK_PARAM_ID_TRACE_LEVEL:
        error = decode_dword(type, data, bytes, &number);
        if (error != LBK_CONFIG_OK)
            return error;
        if (lbk_config_check_trace_level(number) != LBK_CONFIG_OK) {
            config->trace_level = LBK_CONFIG_MAX_TRACE_LEVEL;
            return LBK_CONFIG_CLAMPED;
        }
        config->trace_level = number;
        return LBK_CONFIG_OK;
    case LBK_PARAM_ID_BUFFER_SIZE:
        error = decode_dword(type, data, bytes, &number);
        if (error == LBK_CONFIG_OK)
            error = lbk_config_check_buffer_size(number);
        if (error == LBK_CONFIG_OK)
            config->buffer_size = number;
        return error;
    case LBK_PARAM_ID_DEVICE_NAME:
        error = decode_text(type, data, bytes, LBK_MAX_NAME_CHARS, text, &chars);
        if (error == LBK_CONFIG_OK)
            error = lbk_config_check_name(text, chars);
        if (error == LBK_CONFIG_OK) {
            lbk__copy(config->name, text, chars * sizeof(uint16_t));
            config->name[chars] = 0;
        }
        return error;
    case LBK_PARAM_ID_IO_METHOD:
        error = decode_text(type, data, bytes, LBK_MAX_NAME_CHARS, text, &chars);
        if (error == LBK_CONFIG_OK)
            error = lbk_config_parse_io_method(text, chars, &config->io_method);
        return error == LBK_CONFIG_TOO_LONG ? LBK_CONFIG_UNKNOWN_METHOD : error;
    case LBK_PARAM_ID_DEVICE_COUNT:
        error = decode_dword(type, data, bytes, &number);
        if (error == LBK_CONFIG_OK && (number < 1 || number > LBK_MAX_DEVICE_COUNT))
            error = LBK_CONFIG_BAD_COUNT;
        if (error == LBK_CONFIG_OK)
            config->device_count = number;
        return error;
    case LBK_PARAM_ID_SERIAL:
    case LBK_PARAM_ID_BAUD_EMULATION: {
        uint64_t mask = 0;

        if (type == LBK_REG_SZ) {
            error = decode_text(type, data, bytes, (size_t)LBK_MAX_NAME_CHARS * 2, text, &chars);
            if (error == LBK_CONFIG_OK && parse_pair_list(text, chars, &mask) != 0)
                error = LBK_CONFIG_BAD_PAIR_LIST;
            if (error == LBK_CONFIG_TOO_LONG)
                error = LBK_CONFIG_BAD_PAIR_LIST;
        } else {
            error = decode_dword(type, data, bytes, &number);
            if (error == LBK_CONFIG_OK && number > 1)
                error = LBK_CONFIG_NOT_BOOLEAN;
            mask = number ? ~(uint64_t)0 : 0;
        }
        if (error != LBK_CONFIG_OK)
            return error;
        if (param == LBK_PARAM_ID_SERIAL)
            config->serial_pairs = mask;
        else
            config->paced_pairs = mask;
        return LBK_CONFIG_OK;
    }
    case LBK_PARAM_ID_MESSAGE_MODE:
    case LBK_PARAM_ID_PAIRS:
    case LBK_PARAM_ID_PLUG_AND_PLAY:
        error = decode_dword(type, data, bytes, &number);
        if (error == LBK_CONFIG_OK && number > 1)
            error = LBK_CONFIG_NOT_BOOLEAN;
        if (error != LBK_CONFIG_OK)
            return error;
        if (param == LBK_PARAM_ID_MESSAGE_MODE)
            config->message_mode = number;
        else if (param == LBK_PARAM_ID_PAIRS)
            config->pairs = number;
        else
            config->plug_and_play = number;
        return LBK_CONFIG_OK;
    case LBK_PARAM_ID_WHEN_PEER_CLOSED:
        error = decode_text(type, data, bytes, LBK_MAX_NAME_CHARS, text, &chars);
        if (error == LBK_CONFIG_OK)
            error = lbk_config_parse_peer_closed(text, chars, &config->when_peer_closed);
        return error == LBK_CONFIG_TOO_LONG ? LBK_CONFIG_UNKNOWN_POLICY : error;
    case LBK_PARAM_ID_SECURITY:
        error = decode_text(type, data, bytes, LBK_SDDL_MAX_CHARS, text, &chars);
        if (error == LBK_CONFIG_OK &&
            lbk_sddl_to_descriptor(text, chars, descriptor, &descriptor_bytes, NULL) != LBK_SDDL_OK)
            error = LBK_CONFIG_BAD_SECURITY;
        if (error == LBK_CONFIG_OK) {
            lbk__copy(config->security_descriptor, descriptor, descriptor_bytes);
            config->security_bytes = (uint32_t)descriptor_bytes;
        }
        return error == LBK_CONFIG_TOO_LONG ? LBK_CONFIG_BAD_SECURITY : error;
    case LBK_PARAM_ID_PORT_NAMES: {
        uint16_t ports[sizeof(config->ports) / sizeof(config->ports[0])];

        error = decode_text(type, data, bytes, LBK_SDDL_MAX_CHARS, text, &chars);
        if (error == LBK_CONFIG_OK && lbk_serial_parse_port_names(text, chars, ports, sizeof(ports) / sizeof(ports[0])) != 0)
            error = LBK_CONFIG_BAD_PORT_NAMES;
        if (error == LBK_CONFIG_OK)
            lbk__copy(config->ports, ports, sizeof(ports));
        return error == LBK_CONFIG_TOO_LONG ? LBK_CONFIG_BAD_PORT_NAMES : error;
    }
    case LBK_PARAM_ID_WIRING: {
        struct lbk_flow_wiring wiring[sizeof(config->wiring) / sizeof(config->wiring[0])];

        error = decode_text(type, data, bytes, LBK_SDDL_MAX_CHARS, text, &chars);
        if (error == LBK_CONFIG_OK &&
            lbk_flow_parse_wiring_list(text, chars, wiring, sizeof(wiring) / sizeof(wiring[0])) != 0)
            error = LBK_CONFIG_BAD_WIRING;
        if (error == LBK_CONFIG_OK)
            lbk__copy(config->wiring, wiring, sizeof(wiring));
        return error == LBK_CONFIG_TOO_LONG ? LBK_CONFIG_BAD_WIRING : error;
    }
    case LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE:
    case LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE:
    case LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE:
    case LBK_PARAM_ID_PENDING_BYTES_PER_DEVICE: {
        int is_requests = param == LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE ||
                          param == LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE;

        error = decode_dword(type, data, bytes, &number);
        if (error != LBK_CONFIG_OK)
            return error;
        /* Each value's own range here; how a handle's compares with its device's, once all are in. */
        if (is_requests ? number < 1 || number > LBK_MAX_PENDING_REQUESTS : number < LBK_MIN_PENDING_BYTES)
            return LBK_CONFIG_BAD_PENDING_LIMIT;
        if (param == LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE)
            config->limits.handle_requests = number;
        else if (param == LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE)
            config->limits.device_requests = number;
        else if (param == LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE)
            config->limits.handle_bytes = number;
        else
            config->limits.device_bytes = number;
        return LBK_CONFIG_OK;
    }
    case LBK_PARAM_ID_COUNT:
        break;
    }
    return LBK_CONFIG_WRONG_TYPE;
}
