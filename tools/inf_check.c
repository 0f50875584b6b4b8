/*
 * inf_check.c - checks lbk.inf and lbkport.inf (host tool, run at every build): the INF syntax
 * this project's INFs use, the rules Windows' installer and InfVerif apply to them, and their
 * Parameters, Security and bus pair values through the same core code the driver uses to read
 * them. An INF of the Ports class is the bus ends' (lbkport.inf); any other, the driver's. Prints
 * one line per problem, "FILE:LINE: what", and exits 1 if there is any. Usage: inf_check FILE.inf
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/lbk_config.h"
#include "../core/lbk_security.h"
#include "../core/lbk_serial.h"
#include "../include/lbk_ioctl.h"

#define MAX_LINES 1024
#define MAX_FIELDS 8
#define MAX_TEXT 512

/* One entry of a section: "key = f0, f1, ..." or just "f0, f1, ...", with %strings% expanded. */
typedef struct entry {
    int line;
    char key[MAX_TEXT]; /* empty when the line has no '=' */
    int field_count;
    char fields[MAX_FIELDS][MAX_TEXT];
    char section[MAX_TEXT];
} entry;

static entry entries[MAX_LINES];
static int entry_count;
static const char *file_name;
static int problems;

static void problem(int line, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    fprintf(stderr, "%s:%d: ", file_name, line);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    problems++;
}

static int same(const char *a, const char *b)
{
    while (*a != '\0' && tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
        a++;
        b++;
    }
    return tolower((unsigned char)*a) == tolower((unsigned char)*b);
}

static void trim(char *text)
{
    size_t n = strlen(text), start = 0;

    while (n > 0 && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    while (isspace((unsigned char)text[start]))
        start++;
    memmove(text, text + start, n - start + 1);
}

/* Splits value at commas outside quotes into fields, unquoting ("" is one "). */
static int split_fields(const char *value, char fields[MAX_FIELDS][MAX_TEXT], int line)
{
    int count = 0, quoted = 0;
    size_t n = 0;

    memset(fields, 0, sizeof(char) * MAX_FIELDS * MAX_TEXT);
    for (;; value++) {
        if (*value == '"') {
            if (quoted && value[1] == '"') {
                value++;
            } else {
                quoted = !quoted;
                continue;
            }
        } else if ((*value == ',' && !quoted) || *value == '\0') {
            if (count == MAX_FIELDS) {
                problem(line, "more than %d fields", MAX_FIELDS);
                return count;
            }
            fields[count][n] = '\0';
            trim(fields[count]);
            count++;
            n = 0;
            if (*value == '\0')
                break;
            continue;
        }
        if (n + 1 < MAX_TEXT)
            fields[count < MAX_FIELDS ? count : MAX_FIELDS - 1][n++] = *value;
    }
    if (quoted)
        problem(line, "a quote is not closed");
    return count;
}

static const entry *find(const char *section, const char *key)
{
    int i;

    for (i = 0; i < entry_count; i++)
        if (same(entries[i].section, section) && same(entries[i].key, key))
            return &entries[i];
    return NULL;
}

static int has_section(const char *section)
{
    int i;

    for (i = 0; i < entry_count; i++)
        if (same(entries[i].section, section))
            return 1;
    return 0;
}

/* Replaces %name% by its [Strings] value; %NN% (a directory id) stays. Unknown names are problems. */
static void expand(char *text, int line)
{
    char out[MAX_TEXT] = "";
    const char *p = text;

    while (*p != '\0') {
        const char *end = *p == '%' ? strchr(p + 1, '%') : NULL;
        char name[MAX_TEXT];
        const entry *string;

        if (strlen(out) + 1 >= sizeof(out)) {
            problem(line, "a value longer than %d characters", MAX_TEXT - 1);
            break;
        }
        if (end == NULL) {
            strncat(out, p, 1);
            p++;
            continue;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
        string = find("Strings", name);
        if (string != NULL) {
            strncat(out, string->fields[0], sizeof(out) - strlen(out) - 1);
        } else if (name[0] != '\0' && strspn(name, "0123456789") == strlen(name)) {
            size_t room = sizeof(out) - strlen(out) - 1, n = (size_t)(end - p + 1);

            strncat(out, p, n < room ? n : room); /* a directory id such as %13% stays */
        } else {
            problem(line, "%%%s%% is not defined in [Strings]", name);
        }
        p = end + 1;
    }
    memcpy(text, out, strlen(out) + 1); /* out is no longer than MAX_TEXT - 1 */
}

static int read_inf(FILE *file)
{
    char raw[MAX_TEXT * 2], section[MAX_TEXT] = "";
    int line = 0, i, f;

    while (fgets(raw, sizeof(raw), file) != NULL) {
        char *p, *equals = NULL;
        int quoted = 0;
        entry *e;

        line++;
        for (p = raw; *p != '\0'; p++) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == ';' && !quoted) {
                *p = '\0';
                break;
            } else if (*p == '=' && !quoted && equals == NULL) {
                equals = p;
            }
        }
        trim(raw);
        if (raw[0] == '\0')
            continue;
        if (raw[0] == '[') {
            p = strchr(raw, ']');
            if (p == NULL || p[1] != '\0') {
                problem(line, "a section name must be [name] alone on its line");
                continue;
            }
            *p = '\0';
            snprintf(section, sizeof(section), "%.500s", raw + 1);
            if (has_section(section))
                problem(line, "section [%s] appears twice", section);
            continue;
        }
        if (section[0] == '\0') {
            problem(line, "a line before any section");
            continue;
        }
        if (entry_count == MAX_LINES) {
            problem(line, "too many lines");
            return -1;
        }
        e = &entries[entry_count++];
        memset(e, 0, sizeof(*e));
        e->line = line;
        snprintf(e->section, sizeof(e->section), "%s", section);
        if (equals != NULL) {
            *equals = '\0';
            snprintf(e->key, sizeof(e->key), "%.500s", raw);
            trim(e->key);
            e->field_count = split_fields(equals + 1, e->fields, line);
        } else {
            e->field_count = split_fields(raw, e->fields, line);
        }
    }
    /* Strings first, so that every other value can use them. */
    for (i = 0; i < entry_count; i++) {
        if (same(entries[i].section, "Strings"))
            continue;
        expand(entries[i].key, entries[i].line);
        for (f = 0; f < entries[i].field_count; f++)
            expand(entries[i].fields[f], entries[i].line);
    }
    return 0;
}

/* A value of [Version]: present and, when want is not NULL, equal to it (case aside). */
static const entry *version(const char *key, const char *want)
{
    const entry *e = find("Version", key);

    if (e == NULL)
        problem(0, "[Version] has no %s", key);
    else if (want != NULL && !same(e->fields[0], want))
        problem(e->line, "%s must be %s, not %s", key, want, e->fields[0]);
    return e;
}

/* Whether the INF is lbkport.inf's kind: the bus ends, in the Ports class. */
static int ports_inf;

static void check_version(void)
{
    const entry *e;
    unsigned month, day, year, a, b, c, d;
    char guid[64];

    version("Signature", "$Windows NT$");
    e = version("Class", NULL);
    ports_inf = e != NULL && same(e->fields[0], "Ports");
    snprintf(guid, sizeof(guid), "%s", ports_inf ? LBK_PORTS_CLASS_GUID_TEXT : LBK_SETUP_CLASS_GUID_TEXT);
    version("ClassGuid", guid);
    version("Provider", NULL);
    version("CatalogFile", NULL);
    version("PnpLockdown", "1");
    e = version("DriverVer", NULL);
    if (e != NULL && (e->field_count != 2 || sscanf(e->fields[0], "%2u/%2u/%4u", &month, &day, &year) != 3 ||
                      month < 1 || month > 12 || day < 1 || day > 31 ||
                      sscanf(e->fields[1], "%u.%u.%u.%u", &a, &b, &c, &d) != 4))
        problem(e->line, "DriverVer must be mm/dd/yyyy,w.x.y.z");
}

/* Every name listed by a directive (CopyFiles = a, b) must be a section. */
static void check_sections_named(const entry *e)
{
    int f;

    for (f = 0; f < e->field_count; f++)
        if (e->fields[f][0] != '@' && !has_section(e->fields[f]))
            problem(e->line, "%s names [%s], which does not exist", e->key, e->fields[f]);
}

/* The architectures the INFs install on: Windows' decoration of each, and the package's folder of
   its image (scripts/package.sh). */
static const char *const architectures[] = {"amd64", "arm64"};
#define ARCHITECTURE_COUNT (sizeof(architectures) / sizeof(architectures[0]))

/* Each file copied must come, on each architecture, from a disk that exists and from that
   architecture's folder of the package: [SourceDisksFiles.<arch>], or [SourceDisksFiles] where
   that has no entry for it. */
static void check_files(const char *copy_section)
{
    int i;
    size_t a;

    for (i = 0; i < entry_count; i++) {
        const entry *file = &entries[i];

        if (!same(file->section, copy_section))
            continue;
        for (a = 0; a < ARCHITECTURE_COUNT; a++) {
            char files[MAX_TEXT];
            const entry *source;

            snprintf(files, sizeof(files), "SourceDisksFiles.%s", architectures[a]);
            source = find(files, file->fields[0]);
            if (source == NULL)
                source = find("SourceDisksFiles", file->fields[0]);
            if (source == NULL) {
                problem(file->line, "%s is not in [%s]", file->fields[0], files);
                continue;
            }
            if (find("SourceDisksNames", source->fields[0]) == NULL)
                problem(source->line, "disk %s is not in [SourceDisksNames]", source->fields[0]);
            if (source->field_count < 2 || !same(source->fields[1], architectures[a]))
                problem(source->line, "%s for %s must come from the package's %s folder (%s = 1,%s)",
                        file->fields[0], architectures[a], architectures[a], file->fields[0], architectures[a]);
        }
    }
}

/* A UTF-16 copy of ASCII text, as the registry would hand it to the driver. */
static size_t to_utf16(const char *text, uint16_t *out, size_t max)
{
    size_t n = 0;

    while (n < max && text[n] != '\0') {
        out[n] = (uint16_t)(unsigned char)text[n];
        n++;
    }
    return n;
}

static int lower_ascii(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Which Parameters value name is (any letter case), or -1. */
static int parameter_id(const char *name)
{
    static const struct { const wchar_t *name; enum lbk_param id; } names[] = {
        { LBK_PARAM_TRACE_LEVEL, LBK_PARAM_ID_TRACE_LEVEL },     { LBK_PARAM_DEVICE_NAME, LBK_PARAM_ID_DEVICE_NAME },
        { LBK_PARAM_BUFFER_SIZE, LBK_PARAM_ID_BUFFER_SIZE },     { LBK_PARAM_IO_METHOD, LBK_PARAM_ID_IO_METHOD },
        { LBK_PARAM_DEVICE_COUNT, LBK_PARAM_ID_DEVICE_COUNT },   { LBK_PARAM_MESSAGE_MODE, LBK_PARAM_ID_MESSAGE_MODE },
        { LBK_PARAM_PAIRS, LBK_PARAM_ID_PAIRS },                 { LBK_PARAM_WHEN_PEER_CLOSED, LBK_PARAM_ID_WHEN_PEER_CLOSED },
        { LBK_PARAM_SECURITY, LBK_PARAM_ID_SECURITY },           { LBK_PARAM_PLUG_AND_PLAY, LBK_PARAM_ID_PLUG_AND_PLAY },
        { LBK_PARAM_SERIAL, LBK_PARAM_ID_SERIAL },               { LBK_PARAM_PORT_NAMES, LBK_PARAM_ID_PORT_NAMES },
        { LBK_PARAM_BAUD_EMULATION, LBK_PARAM_ID_BAUD_EMULATION },
        { LBK_PARAM_PENDING_REQUESTS_PER_HANDLE, LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE },
        { LBK_PARAM_PENDING_BYTES_PER_HANDLE, LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE },
        { LBK_PARAM_PENDING_REQUESTS_PER_DEVICE, LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE },
        { LBK_PARAM_PENDING_BYTES_PER_DEVICE, LBK_PARAM_ID_PENDING_BYTES_PER_DEVICE },
    };
    size_t i, k;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (k = 0; name[k] != '\0' && lower_ascii((unsigned char)name[k]) == lower_ascii((int)names[i].name[k]); k++)
            ;
        if (name[k] == '\0' && names[i].name[k] == L'\0')
            return (int)names[i].id;
    }
    return -1;
}

static void check_same_security(const struct lbk_config *config);

/*
 * The service's Parameters, each through lbk_config_apply as the driver reads it, then the whole
 * through lbk_config_check_whole. Flags: 0 is REG_SZ, 0x00010001 REG_DWORD (all this INF needs).
 */
static void check_parameters(const char *addreg_section)
{
    static const char service_path[] = "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\LBK";
    uint16_t path[sizeof(service_path)], text[MAX_TEXT];
    struct lbk_config config;
    enum lbk_config_error error;
    int i, line = 0;

    lbk_config_init(&config, path, to_utf16(service_path, path, sizeof(path)));
    for (i = 0; i < entry_count; i++) {
        const entry *e = &entries[i];
        unsigned long flags;
        uint32_t dword;
        int id;

        if (!same(e->section, addreg_section))
            continue;
        line = e->line;
        if (e->field_count != 5 || !same(e->fields[0], "HKR") || !same(e->fields[1], "Parameters")) {
            problem(e->line, "a service value must be HKR,Parameters,name,flags,value");
            continue;
        }
        id = parameter_id(e->fields[2]);
        if (id < 0) {
            problem(e->line, "Parameters\\%s is no value the driver reads", e->fields[2]);
            continue;
        }
        flags = strtoul(e->fields[3], NULL, 0);
        if (flags == 0x00010001ul) {
            dword = (uint32_t)strtoul(e->fields[4], NULL, 0);
            error = lbk_config_apply(&config, (enum lbk_param)id, LBK_REG_DWORD, &dword, sizeof(dword));
        } else if (flags == 0) {
            size_t chars = to_utf16(e->fields[4], text, MAX_TEXT - 1);

            text[chars] = 0;
            error = lbk_config_apply(&config, (enum lbk_param)id, LBK_REG_SZ, text, (chars + 1) * sizeof(text[0]));
        } else {
            problem(e->line, "flags %s: only 0 (REG_SZ) and 0x00010001 (REG_DWORD) are used here", e->fields[3]);
            continue;
        }
        if (error != LBK_CONFIG_OK)
            problem(e->line, "Parameters\\%s = %s: %s", e->fields[2], e->fields[4], lbk_config_strerror(error));
    }
    error = lbk_config_check_whole(&config);
    if (error != LBK_CONFIG_OK)
        problem(line, "the Parameters together: %s", lbk_config_strerror(error));
    check_same_security(&config);
    /* Without it the service would make its own devices at start and refuse the node's. */
    if (!config.plug_and_play)
        problem(line, "Parameters must set PlugAndPlay to 1 (0x00010001, 1): the device node makes the device");
}

/* The device node's descriptor (HKR,,Security in the .HW section), once check_security read it. */
static uint8_t node_descriptor[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
static size_t node_descriptor_bytes;
static int node_security_line;

static void check_security(const entry *e)
{
    uint16_t text[MAX_TEXT];
    size_t offset = 0;
    enum lbk_sddl_error error;

    error = lbk_sddl_to_descriptor(text, to_utf16(e->fields[4], text, MAX_TEXT), node_descriptor,
                                   &node_descriptor_bytes, &offset);
    if (error != LBK_SDDL_OK)
        problem(e->line, "Security \"%s\": %s at character %zu", e->fields[4], lbk_sddl_strerror(error), offset + 1);
    else
        node_security_line = e->line;
}

/*
 * Opens through the device interface are checked against the device node's descriptor, opens
 * through the device's name against the one the driver applies from Parameters\Security (or its
 * default): the two must be the same descriptor, or one path would let in whom the other keeps out.
 */
static void check_same_security(const struct lbk_config *config)
{
    /* The driver's, kept for the bus's node, which is checked after the service. */
    static uint8_t driver_descriptor[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
    static size_t driver_descriptor_bytes;

    if (config != NULL) {
        memcpy(driver_descriptor, config->security_descriptor, config->security_bytes);
        driver_descriptor_bytes = config->security_bytes;
    }
    if (node_security_line == 0 || driver_descriptor_bytes == 0)
        return; /* reported already */
    if (node_descriptor_bytes != driver_descriptor_bytes ||
        memcmp(node_descriptor, driver_descriptor, node_descriptor_bytes) != 0)
        problem(node_security_line, "the device node's Security is not the descriptor the driver applies from "
                                    "Parameters\\Security (or its default): opens by interface and by name would differ");
}

/* The device's service and its section, which the bus's must be too. */
static char service_name[MAX_TEXT], service_section[MAX_TEXT];

static void check_service(const char *install)
{
    char name[MAX_TEXT];
    const entry *add, *e;
    unsigned long flags;

    snprintf(name, sizeof(name), "%.400s.Services", install);
    add = find(name, "AddService");
    if (add == NULL) {
        problem(0, "[%s] has no AddService", name);
        return;
    }
    flags = strtoul(add->fields[1], NULL, 0);
    if (add->field_count < 3 || !(flags & 0x2))
        problem(add->line, "AddService must name the service, flag it 0x00000002 (the device's function driver) and name its section");
    if (add->field_count < 3 || !has_section(add->fields[2])) {
        problem(add->line, "AddService's section does not exist");
        return;
    }
    snprintf(service_name, sizeof(service_name), "%s", add->fields[0]);
    snprintf(service_section, sizeof(service_section), "%s", add->fields[2]);
    snprintf(name, sizeof(name), "%s", add->fields[2]);
    e = find(name, "ServiceType");
    if (e == NULL || strtoul(e->fields[0], NULL, 0) != 1)
        problem(e != NULL ? e->line : add->line, "ServiceType must be 1 (a kernel driver)");
    e = find(name, "StartType");
    if (e == NULL || strtoul(e->fields[0], NULL, 0) != 3)
        problem(e != NULL ? e->line : add->line, "StartType must be 3 (on demand: Plug and Play starts it)");
    e = find(name, "ErrorControl");
    if (e == NULL || strtoul(e->fields[0], NULL, 0) > 3)
        problem(e != NULL ? e->line : add->line, "ErrorControl must be 0 to 3");
    e = find(name, "ServiceBinary");
    if (e == NULL || !same(e->fields[0], "%13%\\lbk.sys"))
        problem(e != NULL ? e->line : add->line, "ServiceBinary must be %%13%%\\lbk.sys (the driver store)");
    e = find(name, "AddReg");
    if (e == NULL) {
        problem(add->line, "the service section has no AddReg for its Parameters");
        return;
    }
    check_sections_named(e);
    check_parameters(e->fields[0]);
}

/* The install section of the model with hardware_id into install; 0 (reported) unless listed once. */
static int find_model(const char *models, const char *hardware_id, char *install, size_t size)
{
    int i, hardware_ids = 0;

    for (i = 0; i < entry_count; i++) {
        if (same(entries[i].section, models) && entries[i].field_count == 2 &&
            same(entries[i].fields[1], hardware_id)) {
            snprintf(install, size, "%s", entries[i].fields[0]);
            hardware_ids++;
        }
    }
    if (hardware_ids != 1)
        problem(0, "[%s] must list the hardware id %s once", models, hardware_id);
    return hardware_ids == 1;
}

/* The device node's HKR,,Security in the install's .NT.HW AddReg sections; then each_value on
   the other HKR,, values there. */
static void check_hardware_key(const char *install, void (*each_value)(const entry *))
{
    char name[MAX_TEXT];
    const entry *e;
    int i, f, found = 0;

    node_security_line = 0;
    snprintf(name, sizeof(name), "%.400s.NT.HW", install);
    e = find(name, "AddReg");
    if (e == NULL) {
        problem(0, "[%s] has no AddReg with the device's Security", name);
        return;
    }
    check_sections_named(e);
    for (f = 0; f < e->field_count; f++) {
        for (i = 0; i < entry_count; i++) {
            if (!same(entries[i].section, e->fields[f]) || entries[i].field_count < 3)
                continue;
            if (entries[i].field_count == 5 && same(entries[i].fields[2], "Security")) {
                check_security(&entries[i]);
                found = 1;
            } else if (each_value != NULL) {
                each_value(&entries[i]);
            } else {
                problem(entries[i].line, "%s is no value of the device key this device reads", entries[i].fields[2]);
            }
        }
    }
    if (!found)
        problem(e->line, "[%s] sets no HKR,,Security", e->fields[0]);
}

/* A pair the bus makes at its first start: HKR,,Pair<n>,REG_SZ (0 or 0x2, noclobber),"COMa,COMb". */
static void check_bus_value(const entry *e)
{
    uint16_t text[MAX_TEXT], ports[2];
    char *end;
    unsigned long number;

    if (strncmp(e->fields[2], "Pair", 4) != 0 || e->fields[2][4] == '\0' ||
        (number = strtoul(e->fields[2] + 4, &end, 10), *end != '\0') || number >= LBK_BUS_MAX_PAIRS ||
        (e->fields[2][4] == '0' && e->fields[2][5] != '\0')) {
        problem(e->line, "%s is no value of the bus's device key (Security, or Pair0 .. Pair%u)", e->fields[2],
                LBK_BUS_MAX_PAIRS - 1);
        return;
    }
    if (e->field_count != 5 || (strtoul(e->fields[3], NULL, 0) & ~0x2ul) != 0)
        problem(e->line, "%s must be REG_SZ (0x00000000, or 0x00000002 to keep what is there)", e->fields[2]);
    else if (lbk_serial_parse_port_names(text, to_utf16(e->fields[4], text, MAX_TEXT), ports, 2) != 0)
        problem(e->line, "%s = \"%s\" is not two COM names COM1..COM256 or -, comma-separated", e->fields[2],
                e->fields[4]);
}

/* The bus (lbk.inf's Root\LBKBUS): the image copied, its Security, its pairs, the same service. */
static void check_bus_install(const char *models, const char *service)
{
    char install[MAX_TEXT], name[MAX_TEXT];
    const entry *e;

    if (!find_model(models, "Root\\LBKBUS", install, sizeof(install)))
        return;
    snprintf(name, sizeof(name), "%.400s.NT", install);
    e = find(name, "CopyFiles");
    if (e == NULL)
        problem(0, "[%s] has no CopyFiles", name);
    else
        check_sections_named(e);
    check_hardware_key(install, check_bus_value);
    check_same_security(NULL);
    snprintf(name, sizeof(name), "%.400s.NT.Services", install);
    e = find(name, "AddService");
    if (e == NULL || e->field_count < 3 || !same(e->fields[0], service) || !(strtoul(e->fields[1], NULL, 0) & 0x2) ||
        !same(e->fields[2], service_section))
        problem(e != NULL ? e->line : 0, "the bus's AddService must be the device's: %s, 0x00000002, %s", service,
                service_section);
}

/* lbkport.inf: the bus's ends, LBK\SerialPort, with no function driver (the bus serves them). */
static void check_port_install(const char *models)
{
    char install[MAX_TEXT], name[MAX_TEXT];
    const entry *e;

    if (!find_model(models, "LBK\\SerialPort", install, sizeof(install)))
        return;
    check_hardware_key(install, NULL);
    snprintf(name, sizeof(name), "%.400s.NT.Services", install);
    e = find(name, "AddService");
    if (e == NULL || e->fields[0][0] != '\0' || e->field_count != 2 || strtoul(e->fields[1], NULL, 0) != 0x2)
        problem(e != NULL ? e->line : 0, "[%s] must install no function driver: AddService = , 0x00000002", name);
}

/* Both architectures install the same devices the same way: one models section checked in full,
   the other the same entries in any order. */
static int has_entry(const char *section, const entry *e)
{
    int i, f;

    for (i = 0; i < entry_count; i++) {
        if (!same(entries[i].section, section) || !same(entries[i].key, e->key) ||
            entries[i].field_count != e->field_count)
            continue;
        for (f = 0; f < e->field_count && same(entries[i].fields[f], e->fields[f]); f++)
            ;
        if (f == e->field_count)
            return 1;
    }
    return 0;
}

static void check_same_models(const char *models, const char *other)
{
    int i;

    for (i = 0; i < entry_count; i++)
        if ((same(entries[i].section, models) && !has_entry(other, &entries[i])) ||
            (same(entries[i].section, other) && !has_entry(models, &entries[i])))
            problem(entries[i].line, "[%s] must list the same models as [%s]", other, models);
}

static void check_install(const char *models)
{
    char install[MAX_TEXT] = "", name[MAX_TEXT];
    const entry *e;

    if (!find_model(models, "Root\\LBK", install, sizeof(install)))
        return;
    snprintf(name, sizeof(name), "%.400s.NT", install);
    e = find(name, "CopyFiles");
    if (e == NULL) {
        problem(0, "[%s] has no CopyFiles", name);
    } else {
        check_sections_named(e);
        check_files(e->fields[0]);
    }
    e = find("DestinationDirs", "DefaultDestDir");
    if (e == NULL || strcmp(e->fields[0], "13") != 0)
        problem(e != NULL ? e->line : 0, "DefaultDestDir must be 13 (run from the driver store)");
    check_hardware_key(install, NULL);
    snprintf(name, sizeof(name), "%.400s.NT", install);
    check_service(name);
    check_bus_install(models, service_name);
}

int main(int argc, char **argv)
{
    const entry *manufacturer;
    FILE *file;
    int f;

    if (argc != 2) {
        fprintf(stderr, "usage: inf_check FILE.inf\n");
        return 2;
    }
    file_name = argv[1];
    file = fopen(file_name, "r");
    if (file == NULL) {
        perror(file_name);
        return 2;
    }
    read_inf(file);
    fclose(file);
    check_version();
    manufacturer = NULL;
    for (f = 0; f < entry_count; f++)
        if (same(entries[f].section, "Manufacturer"))
            manufacturer = &entries[f];
    if (manufacturer == NULL) {
        problem(0, "no [Manufacturer] entry");
    } else {
        char models[MAX_TEXT], arm64_models[MAX_TEXT];
        int amd64 = 0, arm64 = 0;

        for (f = 1; f < manufacturer->field_count; f++) {
            amd64 |= same(manufacturer->fields[f], "NTamd64");
            arm64 |= same(manufacturer->fields[f], "NTarm64");
        }
        if (!amd64 || !arm64)
            problem(manufacturer->line, "[Manufacturer] must decorate its models NTamd64 (x64) and NTarm64 (ARM64)");
        snprintf(models, sizeof(models), "%.400s.NTamd64", manufacturer->fields[0]);
        snprintf(arm64_models, sizeof(arm64_models), "%.400s.NTarm64", manufacturer->fields[0]);
        if (!has_section(models))
            problem(manufacturer->line, "[%s] does not exist", models);
        else if (ports_inf)
            check_port_install(models);
        else
            check_install(models);
        if (arm64 && !has_section(arm64_models))
            problem(manufacturer->line, "[%s] does not exist", arm64_models);
        else if (arm64)
            check_same_models(models, arm64_models);
    }
    for (f = 0; f < entry_count; f++)
        if (same(entries[f].key, "AddReg") || same(entries[f].key, "CopyFiles"))
            check_sections_named(&entries[f]);
    if (problems == 0)
        printf("inf_check: %s: no problems\n", file_name);
    return problems != 0;
}
