/* ntio compat: SetupAPI's device information sets, the part applications use to find a
 * PnP driver's device by interface class and open it (docs/design.md, S-SDI):
 *
 *   HDEVINFO set = SetupDiGetClassDevsW(&GUID_X, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
 *   SP_DEVICE_INTERFACE_DATA ifd;
 *   ifd.cbSize = sizeof(ifd);
 *   for (DWORD i = 0; SetupDiEnumDeviceInterfaces(set, NULL, &GUID_X, i, &ifd); ++i) {
 *       DWORD size = 0;
 *       SetupDiGetDeviceInterfaceDetailW(set, &ifd, NULL, 0, &size, NULL);  // ERROR_INSUFFICIENT_BUFFER
 *       SP_DEVICE_INTERFACE_DETAIL_DATA_W *detail = malloc(size);
 *       detail->cbSize = sizeof(*detail);  // the fixed part: 8, as on x64 Windows
 *       SetupDiGetDeviceInterfaceDetailW(set, &ifd, detail, size, NULL, NULL);
 *       // detail->DevicePath: \\?\ROOT#ECHO#0000#{guid}, the name CM_Get_Device_Interface_List
 *       // gives, ready for CreateFile
 *   }
 *   SetupDiDestroyDeviceInfoList(set);  // GetLastError() after the loop: ERROR_NO_MORE_ITEMS
 *
 * A set is a snapshot of the PnP manager's devices and interfaces when it was made.
 * Failures return FALSE (or INVALID_HANDLE_VALUE) and set the last error. Only what is
 * declared here exists; installation, properties, registry keys and class lists do not. */
#ifndef NTIO_COMPAT_SETUPAPI_H
#define NTIO_COMPAT_SETUPAPI_H

#include "windows.h"

NTIO_EXTERN_C_BEGIN

/* A device information set: SetupDiGetClassDevs makes one, SetupDiDestroyDeviceInfoList
 * frees it. INVALID_HANDLE_VALUE on failure. */
typedef PVOID HDEVINFO;

#ifndef NTIO_HWND_DEFINED
#define NTIO_HWND_DEFINED
typedef struct HWND__ *HWND; /* there are no windows; hwndParent is ignored */
#endif

/* One device in a set. ClassGuid: its setup class, System for every ntio device (ntio has
 * no INF files; S-REG-10 puts their software keys there too). DevInst: the device's number
 * in the PnP manager, from 1. */
typedef struct _SP_DEVINFO_DATA {
    DWORD cbSize; /* sizeof(SP_DEVINFO_DATA) */
    GUID ClassGuid;
    DWORD DevInst;
    ULONG_PTR Reserved;
} SP_DEVINFO_DATA, *PSP_DEVINFO_DATA;

/* One device interface in a set. */
typedef struct _SP_DEVICE_INTERFACE_DATA {
    DWORD cbSize; /* sizeof(SP_DEVICE_INTERFACE_DATA) */
    GUID InterfaceClassGuid;
    DWORD Flags; /* SPINT_* */
    ULONG_PTR Reserved;
} SP_DEVICE_INTERFACE_DATA, *PSP_DEVICE_INTERFACE_DATA;

/* An interface's path. cbSize is the fixed part's size, sizeof(the structure): 8 for
 * both forms, as on x64 Windows; any other value is ERROR_INVALID_USER_BUFFER. The
 * DevicePath runs on past the structure, into the rest of the caller's buffer. */
typedef struct _SP_DEVICE_INTERFACE_DETAIL_DATA_A {
    DWORD cbSize;
    CHAR DevicePath[ANYSIZE_ARRAY];
} SP_DEVICE_INTERFACE_DETAIL_DATA_A, *PSP_DEVICE_INTERFACE_DETAIL_DATA_A;

typedef struct _SP_DEVICE_INTERFACE_DETAIL_DATA_W {
    DWORD cbSize;
    WCHAR DevicePath[ANYSIZE_ARRAY];
} SP_DEVICE_INTERFACE_DETAIL_DATA_W, *PSP_DEVICE_INTERFACE_DETAIL_DATA_W;

/* SP_DEVICE_INTERFACE_DATA.Flags */
#define SPINT_ACTIVE 0x00000001  /* enabled, on a device that is started */
#define SPINT_DEFAULT 0x00000002 /* never set: ntio has no default interfaces */
#define SPINT_REMOVED 0x00000004 /* never set: ntio has no interface removal */

/* Flags of SetupDiGetClassDevs */
#define DIGCF_DEFAULT 0x00000001 /* refused with ERROR_NOT_SUPPORTED: no default interfaces */
#define DIGCF_PRESENT 0x00000002
#define DIGCF_ALLCLASSES 0x00000004
#define DIGCF_PROFILE 0x00000008 /* every device is in the one hardware profile */
#define DIGCF_DEVICEINTERFACE 0x00000010

/* The Windows 2000 names, which older samples use. */
#define DIGCF_INTERFACEDEVICE DIGCF_DEVICEINTERFACE
#define SPID_ACTIVE SPINT_ACTIVE
#define SPID_DEFAULT SPINT_DEFAULT
#define SPID_REMOVED SPINT_REMOVED
typedef SP_DEVICE_INTERFACE_DATA SP_INTERFACE_DEVICE_DATA, *PSP_INTERFACE_DEVICE_DATA;
typedef SP_DEVICE_INTERFACE_DETAIL_DATA_A SP_INTERFACE_DEVICE_DETAIL_DATA_A, *PSP_INTERFACE_DEVICE_DETAIL_DATA_A;
typedef SP_DEVICE_INTERFACE_DETAIL_DATA_W SP_INTERFACE_DEVICE_DETAIL_DATA_W, *PSP_INTERFACE_DEVICE_DETAIL_DATA_W;
#define SetupDiEnumInterfaceDevice SetupDiEnumDeviceInterfaces
#define SetupDiGetInterfaceDeviceDetailA SetupDiGetDeviceInterfaceDetailA
#define SetupDiGetInterfaceDeviceDetailW SetupDiGetDeviceInterfaceDetailW

/* DIGCF_DEVICEINTERFACE: the devices with an interface of class ClassGuid (of any class
 * with DIGCF_ALLCLASSES, which ignores ClassGuid), and those interfaces; DIGCF_PRESENT
 * keeps the active ones only, else every interface registered is there, active or not.
 * Without it: devices by setup class, all of them with DIGCF_ALLCLASSES, all or none for a
 * ClassGuid (System or another class); DIGCF_PRESENT keeps the devices present.
 * Enumerator: NULL, an enumerator ("ROOT") or a device instance ID ("ROOT\\ECHO\\0000"),
 * matched whole components at the start of instance IDs.
 * Errors: ERROR_INVALID_PARAMETER (no ClassGuid without DIGCF_ALLCLASSES), ERROR_INVALID_FLAGS
 * (an undefined flag), ERROR_NOT_SUPPORTED (DIGCF_DEFAULT). */
NTIO_API HDEVINFO SetupDiGetClassDevsW(const GUID *ClassGuid, PCWSTR Enumerator, HWND hwndParent, DWORD Flags);
NTIO_API HDEVINFO SetupDiGetClassDevsA(const GUID *ClassGuid, PCSTR Enumerator, HWND hwndParent, DWORD Flags);

/* Frees the set; ERROR_INVALID_HANDLE for one already freed or never made. */
NTIO_API BOOL SetupDiDestroyDeviceInfoList(HDEVINFO DeviceInfoSet);

/* The set's MemberIndex-th device; ERROR_NO_MORE_ITEMS past the last. */
NTIO_API BOOL SetupDiEnumDeviceInfo(HDEVINFO DeviceInfoSet, DWORD MemberIndex, PSP_DEVINFO_DATA DeviceInfoData);

/* The MemberIndex-th interface of class InterfaceClassGuid in the set (of the device
 * DeviceInfoData when it is not NULL); ERROR_NO_MORE_ITEMS past the last. */
NTIO_API BOOL SetupDiEnumDeviceInterfaces(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                          const GUID *InterfaceClassGuid, DWORD MemberIndex,
                                          PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData);

/* The interface's path. *RequiredSize: offsetof(DevicePath) + the path's characters with
 * its NUL, in bytes. A buffer too small (or NULL with size 0) is ERROR_INSUFFICIENT_BUFFER,
 * with *RequiredSize and DeviceInfoData filled all the same. */
NTIO_API BOOL SetupDiGetDeviceInterfaceDetailW(HDEVINFO DeviceInfoSet, PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData,
                                               PSP_DEVICE_INTERFACE_DETAIL_DATA_W DeviceInterfaceDetailData,
                                               DWORD DeviceInterfaceDetailDataSize, PDWORD RequiredSize,
                                               PSP_DEVINFO_DATA DeviceInfoData);
NTIO_API BOOL SetupDiGetDeviceInterfaceDetailA(HDEVINFO DeviceInfoSet, PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData,
                                               PSP_DEVICE_INTERFACE_DETAIL_DATA_A DeviceInterfaceDetailData,
                                               DWORD DeviceInterfaceDetailDataSize, PDWORD RequiredSize,
                                               PSP_DEVINFO_DATA DeviceInfoData);

/* The device's instance ID ("ROOT\\ECHO\\0000"); sizes in characters with the NUL. */
NTIO_API BOOL SetupDiGetDeviceInstanceIdW(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                          PWSTR DeviceInstanceId, DWORD DeviceInstanceIdSize, PDWORD RequiredSize);
NTIO_API BOOL SetupDiGetDeviceInstanceIdA(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                          PSTR DeviceInstanceId, DWORD DeviceInstanceIdSize, PDWORD RequiredSize);

#ifdef UNICODE
#define SetupDiGetClassDevs SetupDiGetClassDevsW
#define SetupDiGetDeviceInterfaceDetail SetupDiGetDeviceInterfaceDetailW
#define SetupDiGetInterfaceDeviceDetail SetupDiGetDeviceInterfaceDetailW
#define SetupDiGetDeviceInstanceId SetupDiGetDeviceInstanceIdW
typedef SP_DEVICE_INTERFACE_DETAIL_DATA_W SP_DEVICE_INTERFACE_DETAIL_DATA, *PSP_DEVICE_INTERFACE_DETAIL_DATA;
typedef SP_DEVICE_INTERFACE_DETAIL_DATA_W SP_INTERFACE_DEVICE_DETAIL_DATA, *PSP_INTERFACE_DEVICE_DETAIL_DATA;
#else
#define SetupDiGetClassDevs SetupDiGetClassDevsA
#define SetupDiGetDeviceInterfaceDetail SetupDiGetDeviceInterfaceDetailA
#define SetupDiGetInterfaceDeviceDetail SetupDiGetDeviceInterfaceDetailA
#define SetupDiGetDeviceInstanceId SetupDiGetDeviceInstanceIdA
typedef SP_DEVICE_INTERFACE_DETAIL_DATA_A SP_DEVICE_INTERFACE_DETAIL_DATA, *PSP_DEVICE_INTERFACE_DETAIL_DATA;
typedef SP_DEVICE_INTERFACE_DETAIL_DATA_A SP_INTERFACE_DEVICE_DETAIL_DATA, *PSP_INTERFACE_DEVICE_DETAIL_DATA;
#endif

NTIO_EXTERN_C_END
#endif
