/*
 * lbk_tester.c - the second tutorial's tester, written afresh (user mode, Windows).
 * Opens \\.\LBK with no sharing, writes a buffer, reads it back on the same handle and checks
 * that what came back is what went in. Exit code 0 when it is.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

int main(void)
{
    static const char out[] = "This buffer goes around the loopback device.";
    char in[sizeof(out)] = { 0 };
    HANDLE device;
    DWORD written = 0, read = 0;

    device = CreateFileW(L"\\\\.\\LBK", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (device == INVALID_HANDLE_VALUE) {
        printf("lbk_tester: CreateFile failed: error %lu\n", GetLastError());
        return 1;
    }
    if (!WriteFile(device, out, (DWORD)sizeof(out), &written, NULL)) {
        printf("lbk_tester: WriteFile failed: error %lu\n", GetLastError());
        return 2;
    }
    if (!ReadFile(device, in, (DWORD)sizeof(in), &read, NULL)) {
        printf("lbk_tester: ReadFile failed: error %lu\n", GetLastError());
        return 4;
    }
    if (!CloseHandle(device)) {
        printf("lbk_tester: CloseHandle failed: error %lu\n", GetLastError());
        return 6;
    }
    if (written != sizeof(out) || read != sizeof(out) || memcmp(in, out, sizeof(out)) != 0) {
        printf("lbk_tester: wrote %lu bytes, read %lu, and they differ\n", written, read);
        return 7;
    }
    printf("lbk_tester: wrote and read back %lu bytes\n", read);
    return 0;
}
