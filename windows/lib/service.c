/*
 * service.c - installing, starting, stopping and removing the driver as a kernel service
 * through the service control manager (user mode, Windows). See lbk_client.h.
 */
#include <wchar.h>

#include "lbk_client.h"

#define LBK__SERVICES_KEY L"SYSTEM\\CurrentControlSet\\Services\\"
/* How long an install waits for an earlier service of the same name to finish being deleted. */
#define LBK__DELETE_WAIT_MS 15000u

/* Opens the SCM and one service with the given access; the caller closes both. */
static DWORD lbk__open_service(const wchar_t *name, DWORD access, SC_HANDLE *manager, SC_HANDLE *service)
{
    *service = NULL;
    *manager = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (*manager == NULL)
        return GetLastError();
    *service = OpenServiceW(*manager, name, access);
    if (*service == NULL) {
        DWORD error = GetLastError();

        CloseServiceHandle(*manager);
        *manager = NULL;
        return error;
    }
    return ERROR_SUCCESS;
}

static void lbk__close_service(SC_HANDLE manager, SC_HANDLE service)
{
    if (service != NULL)
        CloseServiceHandle(service);
    if (manager != NULL)
        CloseServiceHandle(manager);
}

static DWORD lbk__parameters_path(const wchar_t *name, wchar_t *path, size_t chars)
{
    if (wcslen(LBK__SERVICES_KEY) + wcslen(name) + wcslen(L"\\Parameters") >= chars)
        return ERROR_INVALID_NAME;
    wcscpy(path, LBK__SERVICES_KEY);
    wcscat(path, name);
    wcscat(path, L"\\Parameters");
    return ERROR_SUCCESS;
}

/* Whether the service's Parameters say Plug and Play (PlugAndPlay = 1); FALSE when unreadable. */
static BOOL lbk__is_plug_and_play(const wchar_t *name)
{
    wchar_t path[512];
    DWORD value = 0, bytes = sizeof(value);

    return lbk__parameters_path(name, path, sizeof(path) / sizeof(path[0])) == ERROR_SUCCESS &&
           RegGetValueW(HKEY_LOCAL_MACHINE, path, LBK_PARAM_PLUG_AND_PLAY, RRF_RT_REG_DWORD, NULL, &value, &bytes) ==
               ERROR_SUCCESS &&
           value == 1;
}

static DWORD lbk__set_string(HKEY key, const wchar_t *value, const wchar_t *text)
{
    return (DWORD)RegSetValueExW(key, value, 0, REG_SZ, (const BYTE *)text, (DWORD)((wcslen(text) + 1) * sizeof(wchar_t)));
}

static DWORD lbk__set_dword(HKEY key, const wchar_t *value, DWORD number)
{
    return (DWORD)RegSetValueExW(key, value, 0, REG_DWORD, (const BYTE *)&number, sizeof(number));
}

/* Writes only what the config sets; the driver's defaults cover the rest. */
static DWORD lbk__write_parameters(const lbk_service_config *config)
{
    wchar_t path[256];
    DWORD error = lbk__parameters_path(config->name, path, sizeof(path) / sizeof(path[0]));
    HKEY key;

    if (error != ERROR_SUCCESS)
        return error;
    error = (DWORD)RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL);
    if (error != ERROR_SUCCESS)
        return error;
    if (config->device_name != NULL)
        error = lbk__set_string(key, LBK_PARAM_DEVICE_NAME, config->device_name);
    if (error == ERROR_SUCCESS && config->io_method != NULL)
        error = lbk__set_string(key, LBK_PARAM_IO_METHOD, config->io_method);
    if (error == ERROR_SUCCESS && config->buffer_size != 0)
        error = lbk__set_dword(key, LBK_PARAM_BUFFER_SIZE, config->buffer_size);
    if (error == ERROR_SUCCESS && config->trace_level != 0)
        error = lbk__set_dword(key, LBK_PARAM_TRACE_LEVEL, config->trace_level);
    if (error == ERROR_SUCCESS && config->device_count != 0)
        error = lbk__set_dword(key, LBK_PARAM_DEVICE_COUNT, config->device_count);
    if (error == ERROR_SUCCESS && config->message_mode)
        error = lbk__set_dword(key, LBK_PARAM_MESSAGE_MODE, 1);
    if (error == ERROR_SUCCESS && config->pairs)
        error = lbk__set_dword(key, LBK_PARAM_PAIRS, 1);
    if (error == ERROR_SUCCESS && config->when_peer_closed != NULL)
        error = lbk__set_string(key, LBK_PARAM_WHEN_PEER_CLOSED, config->when_peer_closed);
    if (error == ERROR_SUCCESS && config->security != NULL)
        error = lbk__set_string(key, LBK_PARAM_SECURITY, config->security);
    if (error == ERROR_SUCCESS && config->serial_pairs != NULL)
        error = lbk__set_string(key, LBK_PARAM_SERIAL, config->serial_pairs);
    else if (error == ERROR_SUCCESS && config->serial)
        error = lbk__set_dword(key, LBK_PARAM_SERIAL, 1);
    if (error == ERROR_SUCCESS && config->paced_pairs != NULL)
        error = lbk__set_string(key, LBK_PARAM_BAUD_EMULATION, config->paced_pairs);
    else if (error == ERROR_SUCCESS && config->baud_emulation)
        error = lbk__set_dword(key, LBK_PARAM_BAUD_EMULATION, 1);
    if (error == ERROR_SUCCESS && config->port_names != NULL)
        error = lbk__set_string(key, LBK_PARAM_PORT_NAMES, config->port_names);
    if (error == ERROR_SUCCESS && config->pending_requests_per_handle != 0)
        error = lbk__set_dword(key, LBK_PARAM_PENDING_REQUESTS_PER_HANDLE, config->pending_requests_per_handle);
    if (error == ERROR_SUCCESS && config->pending_bytes_per_handle != 0)
        error = lbk__set_dword(key, LBK_PARAM_PENDING_BYTES_PER_HANDLE, config->pending_bytes_per_handle);
    if (error == ERROR_SUCCESS && config->pending_requests_per_device != 0)
        error = lbk__set_dword(key, LBK_PARAM_PENDING_REQUESTS_PER_DEVICE, config->pending_requests_per_device);
    if (error == ERROR_SUCCESS && config->pending_bytes_per_device != 0)
        error = lbk__set_dword(key, LBK_PARAM_PENDING_BYTES_PER_DEVICE, config->pending_bytes_per_device);
    RegCloseKey(key);
    return error;
}

static void lbk__delete_parameters(const wchar_t *name)
{
    wchar_t path[256];

    if (lbk__parameters_path(name, path, sizeof(path) / sizeof(path[0])) == ERROR_SUCCESS)
        RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
}

DWORD lbk_service_install(const lbk_service_config *config)
{
    SC_HANDLE manager, service;
    DWORD error, waited;

    manager = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (manager == NULL)
        return GetLastError();
    for (waited = 0;; waited += 50) {
        service = CreateServiceW(manager, config->name, config->name, SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER,
                                 SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, config->image_path, NULL, NULL, NULL,
                                 NULL, NULL);
        /* A service of that name uninstalled a moment ago is gone only once the last handle to it
           closes (under Wine, once its winedevice process has exited): wait for that, briefly. */
        if (service != NULL || GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE || waited >= LBK__DELETE_WAIT_MS)
            break;
        Sleep(50);
    }
    if (service == NULL) {
        error = GetLastError();
        CloseServiceHandle(manager);
        return error;
    }
    error = lbk__write_parameters(config);
    if (error != ERROR_SUCCESS) {
        lbk__delete_parameters(config->name);
        DeleteService(service);
    }
    lbk__close_service(manager, service);
    return error;
}

DWORD lbk_service_start(const wchar_t *name)
{
    SC_HANDLE manager, service;
    DWORD error = lbk__open_service(name, SERVICE_START, &manager, &service);

    if (error != ERROR_SUCCESS)
        return error;
    if (!StartServiceW(service, 0, NULL))
        error = GetLastError();
    lbk__close_service(manager, service);
    return error;
}

DWORD lbk_service_stop(const wchar_t *name, DWORD timeout_ms)
{
    SC_HANDLE manager, service;
    SERVICE_STATUS status;
    DWORD error = lbk__open_service(name, SERVICE_STOP | SERVICE_QUERY_STATUS, &manager, &service);
    DWORD start = GetTickCount(), devices = 0;

    if (error != ERROR_SUCCESS)
        return error;
    /* A driver serving Plug and Play devices stops when they are removed: Windows refuses the
       stop with this error, and Wine would let it time out. Only a PnP-mode service can have
       them, so only its stop pays for asking SetupAPI. */
    if (lbk__is_plug_and_play(name) && lbk_pnp_count_devices_of(name, &devices) == ERROR_SUCCESS && devices != 0) {
        error = ERROR_INVALID_SERVICE_CONTROL;
        goto out;
    }
    if (!ControlService(service, SERVICE_CONTROL_STOP, &status)) {
        error = GetLastError();
        goto out;
    }
    while (status.dwCurrentState != SERVICE_STOPPED) {
        if (GetTickCount() - start >= timeout_ms) {
            error = ERROR_TIMEOUT;
            goto out;
        }
        Sleep(20);
        if (!QueryServiceStatus(service, &status)) {
            error = GetLastError();
            goto out;
        }
    }
out:
    lbk__close_service(manager, service);
    return error;
}

DWORD lbk_service_uninstall(const wchar_t *name)
{
    SC_HANDLE manager, service;
    DWORD error = lbk__open_service(name, DELETE, &manager, &service);

    if (error != ERROR_SUCCESS)
        return error;
    lbk__delete_parameters(name);
    if (!DeleteService(service))
        error = GetLastError();
    lbk__close_service(manager, service);
    return error;
}

DWORD lbk_service_query(const wchar_t *name, DWORD *state)
{
    SC_HANDLE manager, service;
    SERVICE_STATUS status;
    DWORD error = lbk__open_service(name, SERVICE_QUERY_STATUS, &manager, &service);

    if (error != ERROR_SUCCESS)
        return error;
    if (QueryServiceStatus(service, &status))
        *state = status.dwCurrentState;
    else
        error = GetLastError();
    lbk__close_service(manager, service);
    return error;
}
