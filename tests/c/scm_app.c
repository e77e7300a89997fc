/* An application that installs, starts, uses, stops and removes its own driver through
 * the service control manager the way Microsoft's WDM sample apps do (install.c of
 * general/ioctl/wdm): the device is not there, so it builds "<current directory>\\
 * scmdemo.sys", creates the service, starts it, opens \\.\ScmDemo, stops and deletes
 * the service (S-SCM-1..6). Run with `ntio run` and no --driver, in the directory of
 * scmdemo.so. It leaves the service started a second time for the process exit to unload. */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
#include <string.h>
#include <strsafe.h>

#include "check.h"
#include "scm_public.h"

#define DRIVER_NAME "scmdemo"

static DWORD state_of(SC_HANDLE service) {
    SERVICE_STATUS status;
    memset(&status, 0xcc, sizeof status);
    return QueryServiceStatus(service, &status) ? status.dwCurrentState : 0;
}

static BOOL hello(HANDLE device, char *out, DWORD size) {
    DWORD bytes = 0;
    memset(out, 0, size);
    return DeviceIoControl(device, IOCTL_SCM_HELLO, NULL, 0, out, size, &bytes, NULL) && bytes == strlen(out) + 1;
}

int main(void) {
    char location[MAX_PATH];
    char answer[64];
    SC_HANDLE manager, service, again;
    SERVICE_STATUS status;
    SERVICE_STATUS_PROCESS process;
    DWORD needed = 0;
    HANDLE device;

    setvbuf(stdout, NULL, _IONBF, 0); /* in order with the driver's DbgPrint lines on stderr */
    /* The sample's first step: the device is not there yet. */
    device = CreateFileA("\\\\.\\ScmDemo", GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(device == INVALID_HANDLE_VALUE && GetLastError() == ERROR_FILE_NOT_FOUND);

    /* SetupDriverName: the current directory and the driver's .sys name. */
    CHECK(GetCurrentDirectoryA(sizeof location, location) != 0);
    CHECK(SUCCEEDED(StringCbCatA(location, sizeof location, "\\" DRIVER_NAME ".sys")));

    /* InstallDriver + StartDriver. */
    manager = OpenSCManagerA(NULL, NULL, SC_MANAGER_ALL_ACCESS);
    CHECK(manager != NULL);
    service = CreateServiceA(manager, DRIVER_NAME, DRIVER_NAME, SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER,
                             SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, location, NULL, NULL, NULL, NULL, NULL);
    CHECK(service != NULL);
    CHECK(state_of(service) == SERVICE_STOPPED);
    again = CreateServiceA(manager, DRIVER_NAME, DRIVER_NAME, SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER,
                           SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, location, NULL, NULL, NULL, NULL, NULL);
    CHECK(again == NULL && GetLastError() == ERROR_SERVICE_EXISTS);
    CHECK(CloseServiceHandle(service));
    service = OpenServiceA(manager, DRIVER_NAME, SERVICE_ALL_ACCESS);
    CHECK(service != NULL);
    CHECK(StartServiceA(service, 0, NULL));
    CHECK(!StartServiceA(service, 0, NULL) && GetLastError() == ERROR_SERVICE_ALREADY_RUNNING);
    CHECK(QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, (LPBYTE)&process, sizeof process, &needed));
    CHECK(needed == sizeof process && process.dwCurrentState == SERVICE_RUNNING &&
          process.dwServiceType == SERVICE_KERNEL_DRIVER && process.dwControlsAccepted == SERVICE_ACCEPT_STOP &&
          process.dwProcessId == 0);

    /* The sample's second CreateFile, then its requests. */
    device = CreateFileA("\\\\.\\ScmDemo", GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(device != INVALID_HANDLE_VALUE);
    CHECK(hello(device, answer, sizeof answer) && strcmp(answer, "scmdemo 1") == 0);
    printf("scm: started through the SCM, the device answers \"%s\"\n", answer);

    /* A stop while the handle is open waits for the last close (S-SCM-5). */
    CHECK(ControlService(service, SERVICE_CONTROL_STOP, &status));
    CHECK(status.dwCurrentState == SERVICE_STOP_PENDING);
    CHECK(CreateFileA("\\\\.\\ScmDemo", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE);
    CHECK(hello(device, answer, sizeof answer) && strcmp(answer, "scmdemo 2") == 0);
    CHECK(!ControlService(service, SERVICE_CONTROL_STOP, &status) &&
          GetLastError() == ERROR_SERVICE_CANNOT_ACCEPT_CTRL);
    printf("scm: stop pending while a handle is open\n");
    CHECK(CloseHandle(device));
    {
        int waits = 0;
        while (state_of(service) == SERVICE_STOP_PENDING && waits++ < 100) Sleep(10);
    }
    CHECK(state_of(service) == SERVICE_STOPPED);
    CHECK(!ControlService(service, SERVICE_CONTROL_STOP, &status) && GetLastError() == ERROR_SERVICE_NOT_ACTIVE);
    printf("scm: stopped at the last close\n");

    /* Started again, stopped at once (no handle open), then RemoveDriver. */
    CHECK(StartServiceA(service, 0, NULL));
    CHECK(ControlService(service, SERVICE_CONTROL_STOP, &status) && status.dwCurrentState == SERVICE_STOPPED);
    CHECK(DeleteService(service));
    CHECK(!DeleteService(service) && GetLastError() == ERROR_SERVICE_MARKED_FOR_DELETE);
    CHECK(CloseServiceHandle(service));
    CHECK(OpenServiceA(manager, DRIVER_NAME, SERVICE_ALL_ACCESS) == NULL &&
          GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST);
    CHECK(!CloseServiceHandle(service) && GetLastError() == ERROR_INVALID_HANDLE);
    printf("scm: deleted\n");

    /* Installed once more and left running: the process exit unloads it (S-SCM-6). */
    service = CreateServiceA(manager, DRIVER_NAME, DRIVER_NAME, SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER,
                             SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, location, NULL, NULL, NULL, NULL, NULL);
    CHECK(service != NULL && StartServiceA(service, 0, NULL));
    device = CreateFileA("\\\\.\\ScmDemo", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(device != INVALID_HANDLE_VALUE && hello(device, answer, sizeof answer) &&
          strcmp(answer, "scmdemo 1") == 0);
    CHECK(CloseHandle(device));
    CHECK(CloseServiceHandle(service) && CloseServiceHandle(manager));
    if (failures) return 1;
    printf("scm: all checks passed\n");
    return 0;
}
