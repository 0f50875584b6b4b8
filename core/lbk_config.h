/*
 * lbk_config.h - checks of the configuration a driver reads from outside (any mode, any OS).
 * The driver reads raw registry values; these functions decide whether they are usable, so the
 * same rules hold for every port and can be unit-tested and fuzzed natively.
 */
#ifndef LBK_CONFIG_H
#define LBK_CONFIG_H

#include "lbk_base.h"
#include "../include/lbk_ioctl.h"

enum lbk_config_error {
    LBK_CONFIG_OK = 0,
    LBK_CONFIG_EMPTY,         /* a name with no characters */
    LBK_CONFIG_TOO_LONG,      /* a name over LBK_MAX_NAME_CHARS */
    LBK_CONFIG_BAD_CHARACTER, /* a name with a character outside [A-Za-z0-9_.-] */
    LBK_CONFIG_TOO_SMALL,     /* a buffer size below LBK_MIN_BUFFER_SIZE */
    LBK_CONFIG_TOO_LARGE,     /* a buffer size above LBK_MAX_BUFFER_SIZE */
    LBK_CONFIG_UNKNOWN_METHOD, /* an I/O method other than buffered, direct, neither */
    LBK_CONFIG_BAD_TRACE_LEVEL /* a trace level above LBK_CONFIG_MAX_TRACE_LEVEL */
};

#define LBK_CONFIG_MAX_TRACE_LEVEL 3u

/* One line of English for the log; never NULL. */
const char *lbk_config_strerror(enum lbk_config_error error);

/* Length of a UTF-16 string of at most max_chars units, without trailing NULs: registry REG_SZ
   data may or may not include its terminator, and may carry several. */
size_t lbk_config_trim(const uint16_t *text, size_t max_chars);

/* A device name: 1..LBK_MAX_NAME_CHARS characters from [A-Za-z0-9_.-], which are valid in an
   object name and need no quoting anywhere the name is shown. */
enum lbk_config_error lbk_config_check_name(const uint16_t *name, size_t chars);

/* Where the last component of a registry path starts ("\...\Services\LBK" -> offset of "LBK");
   the whole string when it has no backslash. */
size_t lbk_config_last_component(const uint16_t *path, size_t chars);

/* "buffered" | "direct" | "neither", in any letter case. */
enum lbk_config_error lbk_config_parse_io_method(const uint16_t *text, size_t chars,
                                                 enum lbk_io_method *method);

enum lbk_config_error lbk_config_check_buffer_size(uint64_t bytes);
enum lbk_config_error lbk_config_check_trace_level(uint64_t level);

#endif /* LBK_CONFIG_H */
