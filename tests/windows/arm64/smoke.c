/*
 * smoke.c - the loopback device driven by an ARM64 program, for the ARM64 driver under Debian's
 * arm64 Wine (scripts/test-wine-arm64.sh). Debian has no aarch64 mingw-w64 runtime, so this is
 * built freestanding: kernel32 only, through an import library made from kernel32.def, and its
 * own entry point. One PASS/FAIL line per check on standard output; exit status 1 if any failed.
 *
 * It writes pattern-filled buffers of every length up to 600 bytes and of the lengths around the
 * buffer's boundaries, reads each back into a buffer with canaries on both sides, checks order
 * across several writes, GET_INFO, an unknown IOCTL, and a read timeout on the empty device (the
 * driver's timer thread).
 */
#include <windows.h>
#include <winioctl.h>

#include "../../../include/lbk_ioctl.h"

/* clang may turn loops into calls to these; there is no C runtime to provide them. */
void *memset(void *destination, int value, size_t bytes);
void *memcpy(void *destination, const void *source, size_t bytes);
void *memset(void *destination, int value, size_t bytes)
{
    volatile unsigned char *d = destination;
    while (bytes-- > 0)
        *d++ = (unsigned char)value;
    return destination;
}
void *memcpy(void *destination, const void *source, size_t bytes)
{
    volatile unsigned char *d = destination;
    const unsigned char *s = source;
    while (bytes-- > 0)
        *d++ = *s++;
    return destination;
}

static HANDLE output;
static int failures;

static void say(const char *text)
{
    DWORD length = 0, written;
    while (text[length] != '\0')
        length++;
    WriteFile(output, text, length, &written, NULL);
}

static void say_number(unsigned long value)
{
    char digits[24];
    int at = (int)sizeof(digits) - 1;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && at > 0);
    say(&digits[at]);
}

static void result(int passed, const char *name, unsigned long detail)
{
    say(passed ? "PASS wine-arm64: " : "FAIL wine-arm64: ");
    say(name);
    if (!passed) {
        say(" (");
        say_number(detail);
        say(")");
        failures++;
    }
    say("\n");
}

static unsigned char Pattern(unsigned long length, unsigned long index)
{
    return (unsigned char)(index * 31u + length * 7u + 1u);
}

#define CANARY 0xA5u
#define MOST 65536u
static unsigned char sent[MOST], received[MOST + 32];

/* Writes length bytes, reads them back; 0 if they came back whole and nothing past them changed,
   else a number that says what went wrong. */
static unsigned long RoundTrip(HANDLE device, unsigned long length)
{
    DWORD moved = 0;
    unsigned long i;

    for (i = 0; i < length; i++)
        sent[i] = Pattern(length, i);
    for (i = 0; i < sizeof(received); i++)
        received[i] = CANARY;
    if (!WriteFile(device, sent, length, &moved, NULL))
        return 1000000u + GetLastError();
    if (moved != length)
        return 2000000u + moved;
    if (!ReadFile(device, received + 16, length, &moved, NULL))
        return 3000000u + GetLastError();
    if (moved != length)
        return 4000000u + moved;
    for (i = 0; i < length; i++)
        if (received[16 + i] != sent[i])
            return 5000000u + i;
    for (i = 0; i < 16; i++)
        if (received[i] != CANARY || received[16 + length + i] != CANARY)
            return 6000000u + i;
    return 0;
}

static void Checks(void)
{
    static const unsigned long edges[] = {1023, 1024, 1025, 4095, 4096, 4097, 32767, 32768, 65535, 65536};
    HANDLE device;
    unsigned long length, failed_length = 0, why = 0;
    unsigned int i;
    DWORD moved;
    lbk_device_info info;
    lbk_handle_options options;

    device = CreateFileW(L"\\\\.\\LBK", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    result(device != INVALID_HANDLE_VALUE, "open \\\\.\\LBK for reading and writing", GetLastError());
    if (device == INVALID_HANDLE_VALUE)
        return;

    memset(&info, 0, sizeof(info));
    result(DeviceIoControl(device, IOCTL_LBK_GET_INFO, NULL, 0, &info, sizeof(info), &moved, NULL) &&
               moved == sizeof(info) && info.struct_size == sizeof(info) &&
               info.protocol_version == LBK_PROTOCOL_VERSION && info.capacity == MOST,
           "GET_INFO: protocol version and a 64 KiB buffer", info.capacity);

    for (length = 1; length <= 600 && why == 0; length++)
        if ((why = RoundTrip(device, length)) != 0)
            failed_length = length;
    result(why == 0, "every length from 1 to 600 bytes comes back whole, canaries untouched", why + failed_length);
    why = 0;
    for (i = 0; i < sizeof(edges) / sizeof(edges[0]) && why == 0; i++)
        if ((why = RoundTrip(device, edges[i])) != 0)
            failed_length = edges[i];
    result(why == 0, "lengths around 1, 4 and 32 KiB and the whole 64 KiB buffer come back whole", why + failed_length);

    /* Three writes, one read: the bytes in the order written. */
    why = 0;
    for (i = 0; i < 3 && why == 0; i++) {
        unsigned char piece[100];
        unsigned int j;
        for (j = 0; j < sizeof(piece); j++)
            piece[j] = (unsigned char)(i * 100 + j);
        if (!WriteFile(device, piece, sizeof(piece), &moved, NULL) || moved != sizeof(piece))
            why = 1 + i;
    }
    if (why == 0 && (!ReadFile(device, received, 300, &moved, NULL) || moved != 300))
        why = 10;
    for (i = 0; i < 300 && why == 0; i++)
        if (received[i] != (unsigned char)((i / 100) * 100 + i % 100))
            why = 100 + i;
    result(why == 0, "three writes read back in one read, in order", why);

    result(!DeviceIoControl(device, LBK_CTL_CODE(0xFFF, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS), NULL, 0, NULL, 0,
                            &moved, NULL) &&
               GetLastError() == ERROR_INVALID_FUNCTION,
           "an unknown IOCTL fails with ERROR_INVALID_FUNCTION", GetLastError());

    /* A read on the empty device ends at its timeout: the timer thread completes it. */
    memset(&options, 0, sizeof(options));
    options.read_timeout_ms = 200;
    result(DeviceIoControl(device, IOCTL_LBK_SET_HANDLE_OPTIONS, &options, sizeof(options), NULL, 0, &moved, NULL),
           "SET_HANDLE_OPTIONS: a 200 ms read timeout", GetLastError());
    moved = 12345;
    result(ReadFile(device, received, 16, &moved, NULL) && moved == 0,
           "a read of the empty device times out with 0 bytes", moved);
    result(CloseHandle(device), "close the handle", GetLastError());
}

void SmokeMain(void);
void SmokeMain(void)
{
    output = GetStdHandle(STD_OUTPUT_HANDLE);
    Checks();
    ExitProcess(failures != 0);
}
