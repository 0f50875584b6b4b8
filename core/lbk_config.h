/*
 * lbk_config.h - checks of the configuration a driver reads from outside (any mode, any OS).
 * The driver reads raw registry values; these functions decide whether they are usable, so the
 * same rules hold for every port and can be unit-tested and fuzzed natively.
 */
#ifndef LBK_CONFIG_H
#define LBK_CONFIG_H

#include "lbk_base.h"
#include "../include/lbk_ioctl.h"
#include "lbk_security.h"
#include "lbk_serial.h"
#include "lbk_flow.h"
#include "lbk_limits.h"

enum lbk_config_error {
    LBK_CONFIG_OK = 0,
    LBK_CONFIG_EMPTY,         /* a name with no characters */
    LBK_CONFIG_TOO_LONG,      /* a name over LBK_MAX_NAME_CHARS */
    LBK_CONFIG_BAD_CHARACTER, /* a name with a character outside [A-Za-z0-9_.-] */
    LBK_CONFIG_TOO_SMALL,     /* a buffer size below LBK_MIN_BUFFER_SIZE */
    LBK_CONFIG_TOO_LARGE,     /* a buffer size above LBK_MAX_BUFFER_SIZE */
    LBK_CONFIG_UNKNOWN_METHOD, /* an I/O method other than buffered, direct, neither */
    LBK_CONFIG_BAD_TRACE_LEVEL, /* a trace level above LBK_CONFIG_MAX_TRACE_LEVEL */
    LBK_CONFIG_WRONG_TYPE,    /* a registry value of another type, or a DWORD not 4 bytes long */
    LBK_CONFIG_CLAMPED,       /* not an error: the value was out of range and was clamped */
    LBK_CONFIG_BAD_COUNT,     /* a device count of 0 or above LBK_MAX_DEVICE_COUNT */
    LBK_CONFIG_NOT_BOOLEAN,   /* MessageMode or Pairs other than 0 or 1 */
    LBK_CONFIG_UNKNOWN_POLICY, /* WhenPeerClosed other than pend, fail, discard */
    LBK_CONFIG_TOTAL_TOO_LARGE, /* devices x ends x buffer size above LBK_MAX_TOTAL_BUFFER */
    LBK_CONFIG_NAMES_TOO_LONG, /* the name plus the devices' suffixes exceeds 63 characters */
    LBK_CONFIG_BAD_SECURITY,  /* Security outside the SDDL subset (lbk_sddl_to_descriptor says why) */
    LBK_CONFIG_PNP_ONE_DEVICE, /* PlugAndPlay with DeviceCount above 1 or Pairs: a node is one device */
    LBK_CONFIG_SERIAL_NEEDS_PAIRS, /* Serial without Pairs, or with MessageMode */
    LBK_CONFIG_BAD_PORT_NAMES,     /* PortNames outside its grammar (lbk_serial.h), or a name twice */
    LBK_CONFIG_PORTS_NEED_SERIAL,  /* PortNames or BaudEmulation without Serial, or more names than pair ends */
    LBK_CONFIG_BAD_PAIR_LIST,      /* Serial or BaudEmulation lists a pair number at or above DeviceCount, or is not a list */
    LBK_CONFIG_BAD_PENDING_LIMIT,  /* a Pending* value out of its range, or a handle's above its device's */
    LBK_CONFIG_BAD_WIRING          /* Wiring outside its grammar (lbk_flow.h), more entries than ends, or
                                      another wiring than null-modem on an end that is not serial */
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

/* Registry value types, numbered as on every Windows version (winnt.h). */
#define LBK_REG_SZ 1u
#define LBK_REG_DWORD 4u

/* The service's Parameters values, in the order the driver applies them. */
enum lbk_param {
    LBK_PARAM_ID_TRACE_LEVEL,
    LBK_PARAM_ID_DEVICE_NAME,
    LBK_PARAM_ID_BUFFER_SIZE,
    LBK_PARAM_ID_IO_METHOD,
    LBK_PARAM_ID_DEVICE_COUNT,
    LBK_PARAM_ID_MESSAGE_MODE,
    LBK_PARAM_ID_PAIRS,
    LBK_PARAM_ID_WHEN_PEER_CLOSED,
    LBK_PARAM_ID_SECURITY,
    LBK_PARAM_ID_PLUG_AND_PLAY,
    LBK_PARAM_ID_SERIAL,
    LBK_PARAM_ID_PORT_NAMES,
    LBK_PARAM_ID_BAUD_EMULATION,
    LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE,
    LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE,
    LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE,
    LBK_PARAM_ID_PENDING_BYTES_PER_DEVICE,
    LBK_PARAM_ID_WIRING,
    LBK_PARAM_ID_COUNT
};

/* A device's configuration once every value has been applied. */
struct lbk_config {
    uint16_t name[LBK_MAX_NAME_CHARS + 1]; /* NUL-terminated */
    uint32_t buffer_size;
    enum lbk_io_method io_method;
    uint32_t trace_level;
    uint32_t device_count;  /* devices, or pairs when pairs is set */
    uint32_t message_mode;  /* 0 or 1 */
    uint32_t pairs;         /* 0 or 1 */
    enum lbk_peer_closed when_peer_closed;
    /* 0: the service's start creates the devices (legacy). 1: the INF install's device nodes do,
       one loopback device each, named <Name><slot> (slot 0..LBK_MAX_DEVICE_COUNT-1). */
    uint32_t plug_and_play;
    /* The pairs that are null-modem cables whose ends serial programs use as COM ports
       (lbk_serial.h), a bit per pair: Serial as REG_DWORD 1 sets every bit, as REG_SZ "0,2" those. */
    uint64_t serial_pairs;
    /* The COM port number of each end, by device index (PortNames), 0 for none. */
    uint16_t ports[2 * LBK_MAX_DEVICE_COUNT];
    /* The serial pairs whose bytes reach the peer no faster than the sending end's line settings
       would carry them (BaudEmulation, as Serial). */
    uint64_t paced_pairs;
    /* How each end's modem inputs are wired, by device index (Wiring), null-modem by default. */
    struct lbk_flow_wiring wiring[2 * LBK_MAX_DEVICE_COUNT];
    /* What pending requests may hold (lbk_limits.h), the Pending* values. */
    struct lbk_limits limits;
    /* Who may open the devices: a self-relative descriptor, LBK_DEFAULT_SDDL unless Security says. */
    uint32_t security_bytes;
    uint8_t security_descriptor[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
};

/* Defaults, with the name taken from the last component of the service's registry path. */
enum lbk_config_error lbk_config_init(struct lbk_config *config, const uint16_t *registry_path,
                                      size_t path_chars);

/*
 * Decodes and checks one raw registry value (its type, and data of any length and alignment, as
 * the registry hands it over) and stores it in config. On an error config is unchanged; on
 * LBK_CONFIG_CLAMPED (TraceLevel above 3) the clamped value is stored.
 */
enum lbk_config_error lbk_config_apply(struct lbk_config *config, enum lbk_param param,
                                       uint32_t type, const void *data, size_t bytes);

/* "pend" | "fail" | "discard", in any letter case. */
enum lbk_config_error lbk_config_parse_peer_closed(const uint16_t *text, size_t chars,
                                                   enum lbk_peer_closed *policy);

/*
 * Checks what no single value can: the total buffer size, and that every device name fits.
 * Called once every value has been applied.
 */
enum lbk_config_error lbk_config_check_whole(const struct lbk_config *config);

/* Devices the configuration creates: device_count, twice that for pairs. */
uint32_t lbk_config_device_total(const struct lbk_config *config);

/*
 * The name of device index (0 .. lbk_config_device_total - 1) into name[LBK_MAX_NAME_CHARS + 1]:
 * <Name>, <Name><unit>, and for pairs A or B after that; even indexes are the A ends. With
 * plug_and_play, index is the node's slot and the name is always <Name><slot>.
 * Returns its role. The configuration must have passed lbk_config_check_whole.
 */
/* Whether pair unit (0 .. device_count - 1) is a serial pair, and a paced one. */
int lbk_config_pair_is_serial(const struct lbk_config *config, uint32_t unit);
int lbk_config_pair_is_paced(const struct lbk_config *config, uint32_t unit);

enum lbk_role lbk_config_device_name(const struct lbk_config *config, uint32_t index, uint16_t *name);

#endif /* LBK_CONFIG_H */
