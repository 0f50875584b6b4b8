/*
 * pe_checksum.c - sets or checks the CheckSum field of a PE image (host build tool).
 * Windows refuses to load a driver whose checksum is wrong; lld leaves it 0. The sum is the
 * one imagehlp's CheckSumMappedFile computes: the file as 16-bit little-endian words, the
 * CheckSum field itself counted as 0, folded to 16 bits, plus the file's length.
 * Usage: pe_checksum set|verify FILE. Exit 0 done or matching, 1 mismatch, 2 error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Offset of the CheckSum field, or 0 when the file is not a PE image. */
static size_t checksum_offset(const unsigned char *image, size_t size)
{
    size_t pe;

    if (size < 0x40 || image[0] != 'M' || image[1] != 'Z')
        return 0;
    pe = le32(image + 0x3C);
    /* Signature (4) + COFF header (20); CheckSum is at 64 in both optional-header formats. */
    if (pe > size || size - pe < 4 + 20 + 68 || memcmp(image + pe, "PE\0\0", 4) != 0)
        return 0;
    return pe + 4 + 20 + 64;
}

static uint32_t compute(const unsigned char *image, size_t size, size_t field)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i < size; i += 2) {
        uint32_t word = image[i] | (i + 1 < size ? (uint32_t)image[i + 1] << 8 : 0);

        if (i >= field && i < field + 4)
            word = 0;
        sum += word;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint32_t)(sum & 0xFFFF) + (uint32_t)size;
}

int main(int argc, char **argv)
{
    unsigned char *image;
    size_t size, field;
    uint32_t stored, actual;
    long length;
    FILE *file;
    int set;

    if (argc != 3 || (strcmp(argv[1], "set") != 0 && strcmp(argv[1], "verify") != 0)) {
        fprintf(stderr, "usage: pe_checksum set|verify FILE\n");
        return 2;
    }
    set = strcmp(argv[1], "set") == 0;
    file = fopen(argv[2], set ? "r+b" : "rb");
    if (file == NULL) {
        perror(argv[2]);
        return 2;
    }
    if (fseek(file, 0, SEEK_END) != 0 || (length = ftell(file)) <= 0 || fseek(file, 0, SEEK_SET) != 0) {
        perror(argv[2]);
        fclose(file);
        return 2;
    }
    size = (size_t)length;
    image = malloc(size);
    if (image == NULL || fread(image, 1, size, file) != size) {
        fprintf(stderr, "pe_checksum: %s: cannot read\n", argv[2]);
        free(image);
        fclose(file);
        return 2;
    }
    field = checksum_offset(image, size);
    if (field == 0) {
        fprintf(stderr, "pe_checksum: %s: not a PE image\n", argv[2]);
        free(image);
        fclose(file);
        return 2;
    }
    stored = le32(image + field);
    actual = compute(image, size, field);
    if (set) {
        unsigned char bytes[4] = { (unsigned char)actual, (unsigned char)(actual >> 8), (unsigned char)(actual >> 16),
                                   (unsigned char)(actual >> 24) };

        int written = fseek(file, (long)field, SEEK_SET) == 0 && fwrite(bytes, 1, 4, file) == 4;

        free(image);
        if (fclose(file) != 0 || !written) {
            fprintf(stderr, "pe_checksum: %s: cannot write\n", argv[2]);
            return 2;
        }
        printf("pe_checksum: %s: checksum set to 0x%08x\n", argv[2], actual);
        return 0;
    }
    fclose(file);
    free(image);
    if (stored != actual) {
        fprintf(stderr, "pe_checksum: %s: checksum 0x%08x, should be 0x%08x\n", argv[2], stored, actual);
        return 1;
    }
    printf("pe_checksum: %s: checksum 0x%08x is correct\n", argv[2], actual);
    return 0;
}
