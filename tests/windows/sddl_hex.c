/*
 * sddl_hex.c - prints the self-relative security descriptor that Windows' own SDDL converter
 * (advapi32) makes of a string, in hex (user mode, test helper). scripts/test-wine.sh compares it
 * with the descriptor the driver logs after applying Parameters\Security, so the core's encoder
 * is checked against an implementation that is not ours. Usage: sddl_hex SDDL
 */
#include <windows.h>
#include <sddl.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    PSECURITY_DESCRIPTOR descriptor = NULL;
    ULONG bytes = 0, i;

    if (argc != 2) {
        fwprintf(stderr, L"usage: sddl_hex SDDL\n");
        return 1;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(argv[1], SDDL_REVISION_1, &descriptor, &bytes)) {
        fwprintf(stderr, L"sddl_hex: not valid SDDL: error %lu\n", GetLastError());
        return 2;
    }
    for (i = 0; i < bytes; i++)
        wprintf(L"%02x", ((const unsigned char *)descriptor)[i]);
    wprintf(L"\n");
    LocalFree(descriptor);
    return 0;
}
