/*
 * runtime.c - the start routine and the few pieces of mingw-w64's runtime that the ARM64 builds of
 * lbkctl and the test programs need. Debian has no aarch64 mingw-w64 runtime, so they are linked
 * with -nostdlib against import libraries made from the .def files beside this one.
 *
 * Debian's arm64 Wine builds msvcrt.dll and user32.dll as Linux code, whose va_list is AAPCS64's
 * structure, not the char pointer of Windows on ARM64: a va_list handed to their v*printf is
 * misread (docs/reliability.md, Wine finding 22). Their variadic printf functions receive integer
 * and pointer arguments where Windows puts them (x0-x7, then the stack), so the v* routines the
 * programs call are forwarded to those with up to LBK_FORWARDED_SLOTS integer-sized arguments.
 * That holds for every format these programs use (integers, pointers, strings; no floating
 * point: lbkstress prints doubles and is not built for ARM64), and is right on Windows too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <windows.h>

extern int __wgetmainargs(int *argc, wchar_t ***argv, wchar_t ***env, int expand, int *start_info);
int wmain(int argc, wchar_t **argv);
void mainCRTStartup(void);

void mainCRTStartup(void)
{
    wchar_t **argv, **env;
    int argc, start_info = 0;

    if (__wgetmainargs(&argc, &argv, &env, 0, &start_info) < 0)
        ExitProcess(255);
    exit(wmain(argc, argv));
}

/* mingw-w64's stdio.h names the standard streams __acrt_iob_func(n), which msvcrt.dll lacks. */
static FILE *__cdecl stream_by_index(unsigned index)
{
    return &__iob_func()[index];
}
FILE *(__cdecl *__imp___acrt_iob_func)(unsigned) = stream_by_index;

/* Each variadic argument of these formats fills one 8-byte slot. Reading slots past the caller's
   last argument reads its own stack frame, which the callee then ignores. */
#define LBK_FORWARDED_SLOTS 16
#define TAKE_SLOTS(args, slot)                                   \
    do {                                                          \
        for (int i_ = 0; i_ < LBK_FORWARDED_SLOTS; i_++)          \
            (slot)[i_] = va_arg(args, unsigned long long);        \
    } while (0)
#define SLOTS(s) s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15]

static int __cdecl forward_vsnprintf(char *buffer, size_t size, const char *format, va_list args)
{
    unsigned long long slot[LBK_FORWARDED_SLOTS];

    TAKE_SLOTS(args, slot);
    return _snprintf(buffer, size, format, SLOTS(slot));
}
int(__cdecl *__imp__vsnprintf)(char *, size_t, const char *, va_list) = forward_vsnprintf;

static int __cdecl forward_vscprintf(const char *format, va_list args)
{
    unsigned long long slot[LBK_FORWARDED_SLOTS];

    TAKE_SLOTS(args, slot);
    return _scprintf(format, SLOTS(slot));
}
int(__cdecl *__imp__vscprintf)(const char *, va_list) = forward_vscprintf;

/* Reached by mingw-w64's swprintf, whose x64 build (mingw's own printf) always terminates the text
   and returns the length it needs: so does this one, as msvcrt's _snwprintf does neither. */
static int __cdecl forward_vsnwprintf(wchar_t *buffer, size_t size, const wchar_t *format, va_list args)
{
    unsigned long long slot[LBK_FORWARDED_SLOTS];
    int written;

    TAKE_SLOTS(args, slot);
    written = _snwprintf(buffer, size, format, SLOTS(slot));
    if (written < 0 || (size_t)written >= size) {
        if (size != 0)
            buffer[size - 1] = L'\0';
        written = _scwprintf(format, SLOTS(slot));
    }
    return written;
}
int(__cdecl *__imp__vsnwprintf)(wchar_t *, size_t, const wchar_t *, va_list) = forward_vsnwprintf;

static int WINAPI forward_wvsprintfA(char *buffer, const char *format, va_list args)
{
    unsigned long long slot[LBK_FORWARDED_SLOTS];

    TAKE_SLOTS(args, slot);
    return wsprintfA(buffer, format, SLOTS(slot));
}
int(WINAPI *__imp_wvsprintfA)(char *, const char *, va_list) = forward_wvsprintfA;

int vfprintf(FILE *stream, const char *format, va_list args)
{
    unsigned long long slot[LBK_FORWARDED_SLOTS];

    TAKE_SLOTS(args, slot);
    return fprintf(stream, format, SLOTS(slot));
}

int vprintf(const char *format, va_list args)
{
    return vfprintf(stdout, format, args);
}

/* mingw-w64's vsnprintf when its own printf is not used: C99's return value, always terminated. */
int __ms_vsnprintf(char *buffer, size_t size, const char *format, va_list args);
int __ms_vsnprintf(char *buffer, size_t size, const char *format, va_list args)
{
    va_list again;
    int written;

    va_copy(again, args);
    written = forward_vsnprintf(buffer, size, format, args);
    if (written < 0 || (size_t)written >= size) {
        if (size != 0)
            buffer[size - 1] = '\0';
        written = forward_vscprintf(format, again);
    }
    va_end(again);
    return written;
}

unsigned long long wcstoull(const wchar_t *text, wchar_t **end, int base)
{
    return _wcstoui64(text, end, base);
}
