/* ntio compat: <wdmsec.h>, IoCreateDeviceSecure and the SDDL strings drivers pass it.
 *
 * ntio runs one program as one user, with no security descriptors on objects, so the
 * SDDL string has nothing to restrict: IoCreateDeviceSecure checks it has the form
 * Windows requires (a protected DACL, "D:P..."; anything else is
 * STATUS_INVALID_PARAMETER, as on Windows) and creates the device as IoCreateDevice
 * does. The class GUID may be NULL, as on Windows; it is recorded nowhere (there is no
 * class key whose security could override the string). docs/compat.md. */
#ifndef NTIO_COMPAT_WDMSEC_H
#define NTIO_COMPAT_WDMSEC_H

#include "wdm.h"

NTIO_EXTERN_C_BEGIN

NTIO_API NTSTATUS IoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                       PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                       ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                       PCUNICODE_STRING DefaultSDDLString, LPCGUID DeviceClassGuid,
                                       PDEVICE_OBJECT *DeviceObject);

/* The WDK's predefined strings: who may open the device (SY system, BA administrators,
 * WD everyone, RC restricted code; GA all, GR/GW/GX read/write/execute). */
#define NTIO_SDDL(name, text) static const UNICODE_STRING name __attribute__((unused)) = RTL_CONSTANT_STRING(text)
NTIO_SDDL(SDDL_DEVOBJ_KERNEL_ONLY, L"D:P");
NTIO_SDDL(SDDL_DEVOBJ_SYS_ALL, L"D:P(A;;GA;;;SY)");
NTIO_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_ALL, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
NTIO_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RX, L"D:P(A;;GA;;;SY)(A;;GRGX;;;BA)");
NTIO_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R, L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)");
NTIO_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R,
          L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGW;;;WD)(A;;GR;;;RC)");
NTIO_SDDL(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX,
          L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)");
#undef NTIO_SDDL

NTIO_EXTERN_C_END
#endif
