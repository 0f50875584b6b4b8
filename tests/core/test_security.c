/* test_security.c - unit tests of the SDDL subset and the descriptor it builds (host, ASan/UBSan). */
#include <stdint.h>
#include <string.h>

#include "../../core/lbk_security.h"
#include "test_main.h"

static size_t utf16(const char *text, uint16_t *out)
{
    size_t i;

    for (i = 0; text[i] != '\0'; i++)
        out[i] = (uint16_t)(unsigned char)text[i];
    return i;
}

static uint8_t descriptor[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
static uint16_t text[LBK_SDDL_MAX_CHARS * 2];

/* Parses an ASCII string; returns the error, with the descriptor's length in *bytes. */
static enum lbk_sddl_error build(const char *sddl, size_t *bytes)
{
    size_t chars = utf16(sddl, text);

    memset(descriptor, 0xCC, sizeof(descriptor));
    return lbk_sddl_to_descriptor(text, chars, descriptor, bytes, NULL);
}

/* The bytes Windows' own ConvertStringSecurityDescriptorToSecurityDescriptor gives for the
   default string, once GA is mapped to FILE_ALL_ACCESS. */
static const uint8_t default_descriptor[] = {
    0x01, 0x00, 0x04, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, /* header */
    0x02, 0x00, 0x34, 0x00, 0x02, 0x00, 0x00, 0x00,                           /* ACL */
    0x00, 0x00, 0x14, 0x00, 0xFF, 0x01, 0x1F, 0x00,                           /* SYSTEM */
    0x01, 0x01, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0,
    0x00, 0x00, 0x18, 0x00, 0xFF, 0x01, 0x1F, 0x00,                           /* Administrators */
    0x01, 0x02, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0,
};

TEST(security_default_is_system_and_administrators_all_access)
{
    size_t bytes;

    ASSERT_EQ(LBK_SDDL_OK, build(LBK_DEFAULT_SDDL, &bytes));
    ASSERT_EQ(sizeof(default_descriptor), bytes);
    ASSERT_TRUE(memcmp(descriptor, default_descriptor, bytes) == 0);
}

TEST(security_rights_map_generic_to_file_rights)
{
    size_t bytes;

    ASSERT_EQ(LBK_SDDL_OK, build("D:(A;;GRGW;;;WD)", &bytes));
    ASSERT_EQ(0x0004u | 0x8000u, descriptor[2] | (descriptor[3] << 8)); /* not protected */
    ASSERT_EQ(0x0012019Fu, descriptor[32] | (descriptor[33] << 8) | (descriptor[34] << 16) |
                               ((uint32_t)descriptor[35] << 24));
    /* Everyone: S-1-1-0, one sub-authority that is 0. */
    ASSERT_EQ(1, descriptor[37]);
    ASSERT_EQ(1, descriptor[43]);
    ASSERT_EQ(0, descriptor[44]);
    ASSERT_EQ(20 + 8 + 20, bytes);

    ASSERT_EQ(LBK_SDDL_OK, build("D:P(A;;0x120089;;;BU)", &bytes));
    ASSERT_EQ(0x00120089u, descriptor[32] | (descriptor[33] << 8) | (descriptor[34] << 16));
    ASSERT_EQ(LBK_SDDL_OK, build("D:P(A;;FRRCSDWDWO;;;AU)", &bytes));
    ASSERT_EQ(0x001F0089u, descriptor[32] | (descriptor[33] << 8) | (descriptor[34] << 16));
}

TEST(security_sid_strings_and_limits)
{
    size_t bytes;

    /* A domain account: authority 5, five sub-authorities, the last above 2^31. */
    ASSERT_EQ(LBK_SDDL_OK, build("D:P(A;;GA;;;S-1-5-21-1-2-3-4294967295)", &bytes));
    ASSERT_EQ(5, descriptor[37]);
    ASSERT_EQ(5, descriptor[43]);
    ASSERT_EQ(0xFF, descriptor[44 + 16]);
    ASSERT_EQ(0xFF, descriptor[44 + 19]);
    ASSERT_EQ(20 + 8 + 8 + 8 + 20, bytes);
    /* The identifier authority is 48 bits, big-endian, in decimal or hex. */
    ASSERT_EQ(LBK_SDDL_OK, build("D:(A;;GA;;;S-1-281474976710655)", &bytes));
    ASSERT_EQ(0, descriptor[37]);
    ASSERT_EQ(0xFF, descriptor[38]);
    ASSERT_EQ(0xFF, descriptor[43]);
    ASSERT_EQ(LBK_SDDL_OK, build("D:(A;;GA;;;S-1-0x010203040506-7)", &bytes));
    ASSERT_EQ(0x01, descriptor[38]);
    ASSERT_EQ(0x06, descriptor[43]);
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;S-1-281474976710656)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;S-1-5-4294967296)", &bytes));
    ASSERT_EQ(LBK_SDDL_OK, build("D:(A;;GA;;;S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15)", &bytes));
    ASSERT_EQ(15, descriptor[37]);
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;S-2-5-18)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;S-1-5-)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;S-1-)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;XX)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;sy)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SID, build("D:(A;;GA;;;)", &bytes));
}

TEST(security_every_alias_is_known)
{
    static const char *const aliases[] = { "SY", "BA", "BU", "BG", "WD", "AU", "IU", "LS", "NS", "RC", "AN" };
    char sddl[32];
    size_t i, bytes;

    for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        memcpy(sddl, "D:(A;;GA;;;", 11);
        memcpy(sddl + 11, aliases[i], 2);
        memcpy(sddl + 13, ")", 2);
        ASSERT_EQ(LBK_SDDL_OK, build(sddl, &bytes));
        ASSERT_EQ(descriptor[38 + 5] == 1 ? 1 : 5, descriptor[43]); /* authority 1 (WD) or 5 */
    }
}

TEST(security_refuses_what_it_cannot_apply)
{
    size_t bytes = 99;

    ASSERT_EQ(LBK_SDDL_EMPTY, build("", &bytes));
    ASSERT_EQ(0, bytes);
    ASSERT_EQ(LBK_SDDL_NOT_DACL, build("O:BAD:(A;;GA;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_NOT_DACL, build("S:(AU;SA;GA;;;WD)", &bytes));
    ASSERT_EQ(LBK_SDDL_NOT_DACL, build("d:(A;;GA;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_NO_ACES, build("D:", &bytes));
    ASSERT_EQ(LBK_SDDL_NO_ACES, build("D:P", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_FLAGS, build("D:PAI(A;;GA;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_FLAGS, build("D:AR(A;;GA;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_NOT_ALLOW, build("D:(D;;GA;;;WD)", &bytes));
    ASSERT_EQ(LBK_SDDL_NOT_ALLOW, build("D:(AU;;GA;;;WD)", &bytes));
    ASSERT_EQ(LBK_SDDL_NOT_ALLOW, build("D:(OA;;GA;;;WD)", &bytes));
    ASSERT_EQ(LBK_SDDL_ACE_FLAGS, build("D:(A;CI;GA;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_OBJECT_ACE, build("D:(A;;GA;bf967aba-0de6-11d0-a285-00aa003049e2;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_OBJECT_ACE, build("D:(A;;GA;;x;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;GZ;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;G;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;0x;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;0x0;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;0x123456789;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_RIGHTS, build("D:(A;;0x1G;;;SY)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SYNTAX, build("D:(A;;GA;;;SY", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SYNTAX, build("D:(A;;GA;;;SY) ", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SYNTAX, build("D:(A;;GA;;;SY)x", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SYNTAX, build("D:(A;;GA;;;SY;)", &bytes));
    ASSERT_EQ(LBK_SDDL_BAD_SYNTAX, build("D:(;;GA;;;SY)", &bytes));
    ASSERT_EQ(0, bytes);
}

TEST(security_bounds_entries_and_length)
{
    char sddl[LBK_SDDL_MAX_CHARS * 2];
    size_t i, bytes, offset;

    strcpy(sddl, "D:P");
    for (i = 0; i < LBK_SDDL_MAX_ACES; i++)
        strcat(sddl, "(A;;GA;;;SY)");
    ASSERT_EQ(LBK_SDDL_OK, build(sddl, &bytes));
    ASSERT_EQ(LBK_SDDL_MAX_ACES, descriptor[24]);
    ASSERT_TRUE(bytes <= LBK_SECURITY_DESCRIPTOR_MAX_BYTES);
    strcat(sddl, "(A;;GA;;;SY)");
    ASSERT_EQ(LBK_SDDL_TOO_MANY_ACES, build(sddl, &bytes));

    /* Longer than 512 characters is refused before parsing; the longest SIDs still fit. */
    strcpy(sddl, "D:");
    for (i = 0; i < LBK_SDDL_MAX_ACES; i++)
        strcat(sddl, "(A;;GA;;;S-1-5-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0)");
    ASSERT_TRUE(strlen(sddl) > LBK_SDDL_MAX_CHARS);
    ASSERT_EQ(LBK_SDDL_TOO_LONG, build(sddl, &bytes));
    sddl[2 + 11 * 45] = '\0';
    ASSERT_EQ(LBK_SDDL_OK, build(sddl, &bytes));
    ASSERT_EQ(20 + 8 + 11 * (8 + 8 + 4 * 15), bytes);
    ASSERT_TRUE(bytes <= LBK_SECURITY_DESCRIPTOR_MAX_BYTES);

    /* The error's offset points at what is wrong. */
    i = utf16("D:(A;;GA;;;SY)(A;;GA;;;QQ)", text);
    ASSERT_EQ(LBK_SDDL_BAD_SID, lbk_sddl_to_descriptor(text, i, descriptor, &bytes, &offset));
    ASSERT_EQ(23, offset);
}

TEST(security_text_is_utf16_and_not_terminated)
{
    size_t chars = utf16(LBK_DEFAULT_SDDL, text), bytes;

    /* A character past the given length is not read; one outside ASCII is refused. */
    text[chars] = 'x';
    ASSERT_EQ(LBK_SDDL_OK, lbk_sddl_to_descriptor(text, chars, descriptor, &bytes, NULL));
    text[12] = 0x0100 | 'S'; /* "SY" with a high byte in its S: not an alias */
    ASSERT_EQ(LBK_SDDL_BAD_SID, lbk_sddl_to_descriptor(text, chars, descriptor, &bytes, NULL));
}

TEST(security_every_error_has_text)
{
    int e;

    for (e = LBK_SDDL_OK; e <= LBK_SDDL_BAD_SID; e++)
        ASSERT_TRUE(lbk_sddl_strerror((enum lbk_sddl_error)e)[0] != '\0');
    ASSERT_TRUE(strcmp(lbk_sddl_strerror((enum lbk_sddl_error)99), "unknown security string error") == 0);
}
