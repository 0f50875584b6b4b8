/*
 * lbk_security.c - the SDDL subset of lbk_security.h to a self-relative security descriptor
 * (any mode, any OS).
 */
#include "lbk_security.h"

const char *lbk_sddl_strerror(enum lbk_sddl_error error)
{
    switch (error) {
    case LBK_SDDL_OK: return "valid";
    case LBK_SDDL_EMPTY: return "the security string is empty";
    case LBK_SDDL_TOO_LONG: return "the security string is longer than 512 characters";
    case LBK_SDDL_NOT_DACL: return "the security string must start with D: (only a DACL is supported)";
    case LBK_SDDL_BAD_FLAGS: return "the DACL flags must be none or P";
    case LBK_SDDL_NO_ACES: return "the DACL has no entry, so nobody could open the device";
    case LBK_SDDL_TOO_MANY_ACES: return "the DACL has more than 16 entries";
    case LBK_SDDL_BAD_SYNTAX: return "an entry is not of the form (A;;rights;;;sid)";
    case LBK_SDDL_NOT_ALLOW: return "only allow entries (A) are supported";
    case LBK_SDDL_ACE_FLAGS: return "entry flags are not supported on a device object";
    case LBK_SDDL_OBJECT_ACE: return "object entries (GUIDs) are not supported";
    case LBK_SDDL_BAD_RIGHTS: return "unknown or missing access rights";
    case LBK_SDDL_BAD_SID: return "unknown account alias or malformed SID";
    }
    return "unknown security string error";
}

/* Access masks as winnt.h numbers them. */
#define FILE_ALL 0x001F01FFu
#define FILE_READ 0x00120089u
#define FILE_WRITE 0x00120116u
#define FILE_EXECUTE 0x001200A0u
#define READ_CONTROL 0x00020000u
#define DELETE_RIGHT 0x00010000u
#define WRITE_DAC 0x00040000u
#define WRITE_OWNER 0x00080000u

static const struct {
    char code[3];
    uint32_t mask;
} rights_codes[] = {
    { "GA", FILE_ALL }, { "GR", FILE_READ }, { "GW", FILE_WRITE }, { "GX", FILE_EXECUTE },
    { "FA", FILE_ALL }, { "FR", FILE_READ }, { "FW", FILE_WRITE }, { "FX", FILE_EXECUTE },
    { "RC", READ_CONTROL }, { "SD", DELETE_RIGHT }, { "WD", WRITE_DAC }, { "WO", WRITE_OWNER },
};

/* Well-known accounts: S-1-authority-sub[0](-sub[1]). */
static const struct {
    char alias[3];
    uint8_t authority;
    uint8_t count;
    uint32_t sub[2];
} sid_aliases[] = {
    { "SY", 5, 1, { 18 } },  { "BA", 5, 2, { 32, 544 } }, { "BU", 5, 2, { 32, 545 } },
    { "BG", 5, 2, { 32, 546 } }, { "WD", 1, 1, { 0 } },  { "AU", 5, 1, { 11 } },
    { "IU", 5, 1, { 4 } },   { "LS", 5, 1, { 19 } },     { "NS", 5, 1, { 20 } },
    { "RC", 5, 1, { 12 } },  { "AN", 5, 1, { 7 } },
};

struct sid {
    uint64_t authority; /* 48 bits */
    uint32_t sub[LBK_SID_MAX_SUB_AUTHORITIES];
    size_t count;
};

struct cursor {
    const uint16_t *text;
    size_t chars;
    size_t at;
};

static int peek(const struct cursor *c)
{
    return c->at < c->chars ? (int)c->text[c->at] : -1;
}

static int take(struct cursor *c, char expected)
{
    if (peek(c) != (unsigned char)expected)
        return 0;
    c->at++;
    return 1;
}

static int take_pair(struct cursor *c, const char pair[3])
{
    if (c->at + 2 > c->chars || c->text[c->at] != (unsigned char)pair[0] ||
        c->text[c->at + 1] != (unsigned char)pair[1])
        return 0;
    c->at += 2;
    return 1;
}

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decimal digits up to limit; 0 when there are none or the number exceeds limit. */
static int take_decimal(struct cursor *c, uint64_t limit, uint64_t *value)
{
    size_t start = c->at;

    *value = 0;
    while (peek(c) >= '0' && peek(c) <= '9') {
        uint64_t digit = (uint64_t)(peek(c) - '0');

        if (*value > (limit - digit) / 10)
            return 0;
        *value = *value * 10 + digit;
        c->at++;
    }
    return c->at != start;
}

static enum lbk_sddl_error take_rights(struct cursor *c, uint32_t *mask)
{
    *mask = 0;
    if (take_pair(c, "0x") || take_pair(c, "0X")) {
        size_t digits = 0;

        while (hex_value(peek(c)) >= 0) {
            if (++digits > 8)
                return LBK_SDDL_BAD_RIGHTS;
            *mask = (*mask << 4) | (uint32_t)hex_value(peek(c));
            c->at++;
        }
        return (digits != 0 && *mask != 0) ? LBK_SDDL_OK : LBK_SDDL_BAD_RIGHTS;
    }
    while (peek(c) != ';') {
        size_t i;

        for (i = 0; i < sizeof(rights_codes) / sizeof(rights_codes[0]); i++) {
            if (take_pair(c, rights_codes[i].code)) {
                *mask |= rights_codes[i].mask;
                break;
            }
        }
        if (i == sizeof(rights_codes) / sizeof(rights_codes[0]))
            return LBK_SDDL_BAD_RIGHTS;
    }
    return *mask != 0 ? LBK_SDDL_OK : LBK_SDDL_BAD_RIGHTS;
}

/* S-1-<authority>(-<sub>)*, the authority in decimal (48 bits) or 0x hex as SDDL writes it. */
static enum lbk_sddl_error take_sid_string(struct cursor *c, struct sid *sid)
{
    uint64_t value;

    if (!take_pair(c, "S-") || !take(c, '1') || !take(c, '-'))
        return LBK_SDDL_BAD_SID;
    if (take_pair(c, "0x") || take_pair(c, "0X")) {
        size_t digits = 0;

        sid->authority = 0;
        while (hex_value(peek(c)) >= 0) {
            if (++digits > 12)
                return LBK_SDDL_BAD_SID;
            sid->authority = (sid->authority << 4) | (uint64_t)hex_value(peek(c));
            c->at++;
        }
        if (digits == 0)
            return LBK_SDDL_BAD_SID;
    } else if (!take_decimal(c, 0xFFFFFFFFFFFFull, &sid->authority)) {
        return LBK_SDDL_BAD_SID;
    }
    sid->count = 0;
    while (take(c, '-')) {
        if (sid->count == LBK_SID_MAX_SUB_AUTHORITIES || !take_decimal(c, 0xFFFFFFFFu, &value))
            return LBK_SDDL_BAD_SID;
        sid->sub[sid->count++] = (uint32_t)value;
    }
    return LBK_SDDL_OK;
}

static enum lbk_sddl_error take_sid(struct cursor *c, struct sid *sid)
{
    size_t i, j;

    if (peek(c) == 'S' && c->at + 1 < c->chars && c->text[c->at + 1] == '-')
        return take_sid_string(c, sid);
    for (i = 0; i < sizeof(sid_aliases) / sizeof(sid_aliases[0]); i++) {
        if (take_pair(c, sid_aliases[i].alias)) {
            sid->authority = sid_aliases[i].authority;
            sid->count = sid_aliases[i].count;
            for (j = 0; j < sid->count; j++)
                sid->sub[j] = sid_aliases[i].sub[j];
            return LBK_SDDL_OK;
        }
    }
    return LBK_SDDL_BAD_SID;
}

static void put16(uint8_t *out, size_t at, uint32_t value)
{
    out[at] = (uint8_t)value;
    out[at + 1] = (uint8_t)(value >> 8);
}

static void put32(uint8_t *out, size_t at, uint32_t value)
{
    put16(out, at, value & 0xFFFFu);
    put16(out, at + 2, value >> 16);
}

/* ACCESS_ALLOWED_ACE: header (type 0, flags 0, size), mask, then the SID. Returns its size. */
static size_t put_ace(uint8_t *out, size_t at, uint32_t mask, const struct sid *sid)
{
    size_t size = 8 + 8 + 4 * sid->count;
    size_t i;

    out[at] = 0;     /* ACCESS_ALLOWED_ACE_TYPE */
    out[at + 1] = 0; /* no inheritance */
    put16(out, at + 2, (uint32_t)size);
    put32(out, at + 4, mask);
    out[at + 8] = 1; /* SID_REVISION */
    out[at + 9] = (uint8_t)sid->count;
    for (i = 0; i < 6; i++) /* the identifier authority is big-endian */
        out[at + 10 + i] = (uint8_t)(sid->authority >> (8 * (5 - i)));
    for (i = 0; i < sid->count; i++)
        put32(out, at + 16 + 4 * i, sid->sub[i]);
    return size;
}

/* One "(A;;rights;;;sid)" entry, written at *at. */
static enum lbk_sddl_error take_ace(struct cursor *c, uint8_t *out, size_t *at)
{
    enum lbk_sddl_error error;
    struct sid sid;
    uint32_t mask;

    if (!take(c, '('))
        return LBK_SDDL_BAD_SYNTAX;
    if (!take(c, 'A'))
        return peek(c) == ';' ? LBK_SDDL_BAD_SYNTAX : LBK_SDDL_NOT_ALLOW;
    if (!take(c, ';'))
        return LBK_SDDL_NOT_ALLOW; /* "AU", "AL" and the like */
    if (!take(c, ';'))
        return LBK_SDDL_ACE_FLAGS;
    if ((error = take_rights(c, &mask)) != LBK_SDDL_OK)
        return error;
    if (!take(c, ';'))
        return LBK_SDDL_BAD_RIGHTS;
    /* The object and inherited-object GUID fields: both must be empty. */
    if (!take(c, ';'))
        return LBK_SDDL_OBJECT_ACE;
    if (!take(c, ';'))
        return LBK_SDDL_OBJECT_ACE;
    if ((error = take_sid(c, &sid)) != LBK_SDDL_OK)
        return error;
    if (!take(c, ')'))
        return peek(c) == '-' || (peek(c) >= '0' && peek(c) <= '9') ? LBK_SDDL_BAD_SID : LBK_SDDL_BAD_SYNTAX;
    *at += put_ace(out, *at, mask, &sid);
    return LBK_SDDL_OK;
}

static enum lbk_sddl_error parse(struct cursor *c, uint8_t *out, size_t *bytes)
{
    uint32_t control = 0x8000u | 0x0004u; /* SE_SELF_RELATIVE | SE_DACL_PRESENT */
    size_t at = 20 + 8, aces = 0;

    if (c->chars == 0)
        return LBK_SDDL_EMPTY;
    if (c->chars > LBK_SDDL_MAX_CHARS)
        return LBK_SDDL_TOO_LONG;
    if (!take_pair(c, "D:"))
        return LBK_SDDL_NOT_DACL;
    if (take(c, 'P'))
        control |= 0x1000u; /* SE_DACL_PROTECTED */
    if (peek(c) != '(')
        return peek(c) == -1 ? LBK_SDDL_NO_ACES : LBK_SDDL_BAD_FLAGS;
    while (peek(c) == '(') {
        enum lbk_sddl_error error;

        if (aces == LBK_SDDL_MAX_ACES)
            return LBK_SDDL_TOO_MANY_ACES;
        if ((error = take_ace(c, out, &at)) != LBK_SDDL_OK)
            return error;
        aces++;
    }
    if (peek(c) != -1)
        return LBK_SDDL_BAD_SYNTAX;

    /* SECURITY_DESCRIPTOR_RELATIVE: revision 1, control, no owner, group or SACL, DACL at 20. */
    out[0] = 1;
    out[1] = 0;
    put16(out, 2, control);
    put32(out, 4, 0);
    put32(out, 8, 0);
    put32(out, 12, 0);
    put32(out, 16, 20);
    /* ACL: revision 2, size, entry count. */
    out[20] = 2;
    out[21] = 0;
    put16(out, 22, (uint32_t)(at - 20));
    put16(out, 24, (uint32_t)aces);
    put16(out, 26, 0);
    *bytes = at;
    return LBK_SDDL_OK;
}

enum lbk_sddl_error lbk_sddl_to_descriptor(const uint16_t *text, size_t chars, uint8_t *out, size_t *bytes,
                                           size_t *offset)
{
    struct cursor c = { text, chars, 0 };
    enum lbk_sddl_error error = parse(&c, out, bytes);

    if (error != LBK_SDDL_OK)
        *bytes = 0;
    if (offset != NULL)
        *offset = c.at;
    return error;
}
