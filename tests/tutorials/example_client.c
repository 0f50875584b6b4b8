/*
 * example_client.c - the first tutorial's client, written afresh (user mode, Windows).
 * Opens \\.\Example and writes one NUL-terminated string to it, terminator included.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

int main(void)
{
    static const char message[] = "Hello from user mode!";
    HANDLE device;
    DWORD written = 0;

    device = CreateFileW(L"\\\\.\\Example", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (device == INVALID_HANDLE_VALUE) {
        printf("example_client: CreateFile failed: error %lu\n", GetLastError());
        return 1;
    }
    if (!WriteFile(device, message, (DWORD)sizeof(message), &written, NULL) || written != sizeof(message)) {
        printf("example_client: WriteFile failed: error %lu, %lu bytes\n", GetLastError(), written);
        CloseHandle(device);
        return 2;
    }
    CloseHandle(device);
    printf("example_client: wrote %lu bytes\n", written);
    return 0;
}
