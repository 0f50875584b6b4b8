/*
 * fuzz_security.c - libFuzzer target: the Parameters\Security parser (host, ASan/UBSan).
 * Input: the string's bytes, each one UTF-16 unit (a first byte of 1 reads the rest as raw
 * UTF-16 pairs instead). Whatever the string, the parser must not read past it nor write past
 * the documented maximum; what it accepts must be a well-formed self-relative descriptor, and
 * writing that descriptor back as SDDL (hex rights, S-1-... SIDs) must parse to the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_security.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (get16(p + 2) << 16); }

/* Checks the layout and renders it back as SDDL into sddl; returns its length. */
static size_t check_and_render(const uint8_t *sd, size_t bytes, char *sddl, size_t room)
{
    uint32_t control = get16(sd + 2);
    size_t at = 28, aces, i, used;

    CHECK(bytes >= 28 && bytes <= LBK_SECURITY_DESCRIPTOR_MAX_BYTES);
    CHECK(sd[0] == 1 && sd[1] == 0);
    CHECK((control & ~0x1000u) == 0x8004u);
    CHECK(get32(sd + 4) == 0 && get32(sd + 8) == 0 && get32(sd + 12) == 0 && get32(sd + 16) == 20);
    CHECK(sd[20] == 2 && get16(sd + 22) == bytes - 20 && get16(sd + 26) == 0);
    aces = get16(sd + 24);
    CHECK(aces >= 1 && aces <= LBK_SDDL_MAX_ACES);
    used = (size_t)snprintf(sddl, room, "D:%s", (control & 0x1000u) ? "P" : "");
    for (i = 0; i < aces; i++) {
        size_t size, subs, j;
        uint64_t authority = 0;

        CHECK(at + 16 <= bytes);
        size = get16(sd + at + 2);
        subs = sd[at + 9];
        CHECK(sd[at] == 0 && sd[at + 1] == 0 && sd[at + 8] == 1);
        CHECK(subs <= LBK_SID_MAX_SUB_AUTHORITIES && size == 16 + 4 * subs && at + size <= bytes);
        CHECK(get32(sd + at + 4) != 0);
        for (j = 0; j < 6; j++)
            authority = (authority << 8) | sd[at + 10 + j];
        used += (size_t)snprintf(sddl + used, room - used, "(A;;0x%x;;;S-1-%llu", (unsigned)get32(sd + at + 4),
                                 (unsigned long long)authority);
        for (j = 0; j < subs; j++)
            used += (size_t)snprintf(sddl + used, room - used, "-%u", (unsigned)get32(sd + at + 16 + 4 * j));
        used += (size_t)snprintf(sddl + used, room - used, ")");
        CHECK(used < room);
        at += size;
    }
    CHECK(at == bytes);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t sd[LBK_SECURITY_DESCRIPTOR_MAX_BYTES + 16], again[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
    static char sddl[LBK_SDDL_MAX_ACES * 256];
    static uint16_t rendered[sizeof(sddl)];
    enum lbk_sddl_error error;
    size_t chars, bytes, again_bytes, offset, i, n;
    uint16_t *text;

    if (size > 0 && data[0] == 1) {
        chars = (size - 1) / 2;
        text = malloc(chars * sizeof(*text) + 1);
        CHECK(text != NULL);
        for (i = 0; i < chars; i++)
            text[i] = (uint16_t)(data[1 + 2 * i] | (data[2 + 2 * i] << 8));
    } else {
        chars = size;
        text = malloc(chars * sizeof(*text) + 1); /* exactly the string: ASan sees any overread */
        CHECK(text != NULL);
        for (i = 0; i < chars; i++)
            text[i] = data[i];
    }
    memset(sd, 0xA5, sizeof(sd));
    error = lbk_sddl_to_descriptor(text, chars, sd, &bytes, &offset);
    free(text);
    CHECK(lbk_sddl_strerror(error)[0] != '\0');
    CHECK(offset <= chars);
    for (i = LBK_SECURITY_DESCRIPTOR_MAX_BYTES; i < sizeof(sd); i++)
        CHECK(sd[i] == 0xA5);
    if (error != LBK_SDDL_OK) {
        CHECK(bytes == 0);
        return 0;
    }
    n = check_and_render(sd, bytes, sddl, sizeof(sddl));
    if (n > LBK_SDDL_MAX_CHARS)
        return 0; /* the hex form can be longer than what was accepted */
    for (i = 0; i < n; i++)
        rendered[i] = (uint16_t)(unsigned char)sddl[i];
    CHECK(lbk_sddl_to_descriptor(rendered, n, again, &again_bytes, NULL) == LBK_SDDL_OK);
    CHECK(again_bytes == bytes && memcmp(again, sd, bytes) == 0);
    return 0;
}
