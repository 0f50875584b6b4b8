/*
 * example_loader.c - the first tutorial's loader, written afresh (user mode, Windows).
 * "load": creates the demand-start kernel service "Example" for C:\example.sys and starts it;
 * "unload": stops and deletes it. Talks to the SCM directly, as the tutorial does, not through
 * the project's library. Exit code 0 on success, else the failing call's Win32 error.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

static int failed(const char *call)
{
    DWORD error = GetLastError();

    printf("example_loader: %s failed: error %lu\n", call, error);
    return (int)error;
}

int main(int argc, char **argv)
{
    SC_HANDLE manager, service;
    SERVICE_STATUS status;
    int result = 0;

    if (argc != 2 || (strcmp(argv[1], "load") != 0 && strcmp(argv[1], "unload") != 0)) {
        printf("usage: example_loader load|unload\n");
        return 1;
    }
    manager = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (manager == NULL)
        return failed("OpenSCManager");
    if (strcmp(argv[1], "load") == 0) {
        service = CreateServiceW(manager, L"Example", L"Example Driver", SERVICE_START | DELETE | SERVICE_STOP,
                                 SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START, SERVICE_ERROR_IGNORE,
                                 L"C:\\example.sys", NULL, NULL, NULL, NULL, NULL);
        if (service == NULL)
            result = failed("CreateService");
        else if (!StartServiceW(service, 0, NULL))
            result = failed("StartService");
    } else {
        service = OpenServiceW(manager, L"Example", SERVICE_STOP | DELETE);
        if (service == NULL)
            result = failed("OpenService");
        else if (!ControlService(service, SERVICE_CONTROL_STOP, &status))
            result = failed("ControlService");
        else if (!DeleteService(service))
            result = failed("DeleteService");
    }
    if (service != NULL)
        CloseServiceHandle(service);
    CloseServiceHandle(manager);
    if (result == 0)
        printf("example_loader: %s done\n", argv[1]);
    return result;
}
