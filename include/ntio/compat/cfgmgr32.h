/* ntio compat: the Configuration Manager's device-interface lists, as an application
 * finds a PnP driver's device by interface class GUID (S-W32-23):
 *
 *   ULONG len;
 *   CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&GUID_X, NULL, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
 *   WCHAR *list = malloc(len * sizeof(WCHAR));
 *   CM_Get_Device_Interface_ListW((LPGUID)&GUID_X, NULL, list, len, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
 *   // list: "\\?\ROOT#ECHO#0000#{guid}\0\\?\ROOT#ECHO#0001#{guid}\0\0", ready for CreateFile
 *
 * Lengths are in characters. The list is a MULTI_SZ: each path NUL-terminated, then one
 * more NUL; an empty list is a single NUL (length 1). A list that grew between the two
 * calls gives CR_BUFFER_SMALL: get the size again and retry. */
#ifndef NTIO_COMPAT_CFGMGR32_H
#define NTIO_COMPAT_CFGMGR32_H

#include "windows.h"

NTIO_EXTERN_C_BEGIN

typedef DWORD RETURN_TYPE;
typedef RETURN_TYPE CONFIGRET;
typedef DWORD DEVNODE, DEVINST;
typedef DEVNODE *PDEVNODE, *PDEVINST;
typedef CHAR *DEVNODEID_A, *DEVINSTID_A;
typedef WCHAR *DEVNODEID_W, *DEVINSTID_W;
#ifndef NTIO_PZZSTR_DEFINED
#define NTIO_PZZSTR_DEFINED
typedef CHAR *PZZSTR;
typedef const CHAR *PCZZSTR;
typedef WCHAR *PZZWSTR;
typedef const WCHAR *PCZZWSTR;
#endif

#define MAX_DEVICE_ID_LEN 200
#define MAX_DEVNODE_ID_LEN MAX_DEVICE_ID_LEN
#define MAX_GUID_STRING_LEN 39

/* ulFlags of the interface-list functions */
#define CM_GET_DEVICE_INTERFACE_LIST_PRESENT 0x00000000     /* enabled interfaces of devices present now */
#define CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES 0x00000001 /* every registered interface */
#define CM_GET_DEVICE_INTERFACE_LIST_BITS 0x00000001

/* CONFIGRET values */
#define CR_SUCCESS 0x00000000
#define CR_DEFAULT 0x00000001
#define CR_OUT_OF_MEMORY 0x00000002
#define CR_INVALID_POINTER 0x00000003
#define CR_INVALID_FLAG 0x00000004
#define CR_INVALID_DEVNODE 0x00000005
#define CR_INVALID_DEVINST CR_INVALID_DEVNODE
#define CR_INVALID_RES_DES 0x00000006
#define CR_INVALID_LOG_CONF 0x00000007
#define CR_INVALID_ARBITRATOR 0x00000008
#define CR_INVALID_NODELIST 0x00000009
#define CR_DEVNODE_HAS_REQS 0x0000000A
#define CR_DEVINST_HAS_REQS CR_DEVNODE_HAS_REQS
#define CR_INVALID_RESOURCEID 0x0000000B
#define CR_DLVXD_NOT_FOUND 0x0000000C
#define CR_NO_SUCH_DEVNODE 0x0000000D
#define CR_NO_SUCH_DEVINST CR_NO_SUCH_DEVNODE
#define CR_NO_MORE_LOG_CONF 0x0000000E
#define CR_NO_MORE_RES_DES 0x0000000F
#define CR_ALREADY_SUCH_DEVNODE 0x00000010
#define CR_ALREADY_SUCH_DEVINST CR_ALREADY_SUCH_DEVNODE
#define CR_INVALID_RANGE_LIST 0x00000011
#define CR_INVALID_RANGE 0x00000012
#define CR_FAILURE 0x00000013
#define CR_NO_SUCH_LOGICAL_DEV 0x00000014
#define CR_CREATE_BLOCKED 0x00000015
#define CR_NOT_SYSTEM_VM 0x00000016
#define CR_REMOVE_VETOED 0x00000017
#define CR_APM_VETOED 0x00000018
#define CR_INVALID_LOAD_TYPE 0x00000019
#define CR_BUFFER_SMALL 0x0000001A
#define CR_NO_ARBITRATOR 0x0000001B
#define CR_NO_REGISTRY_HANDLE 0x0000001C
#define CR_REGISTRY_ERROR 0x0000001D
#define CR_INVALID_DEVICE_ID 0x0000001E
#define CR_INVALID_DATA 0x0000001F
#define CR_INVALID_API 0x00000020
#define CR_DEVLOADER_NOT_READY 0x00000021
#define CR_NEED_RESTART 0x00000022
#define CR_NO_MORE_HW_PROFILES 0x00000023
#define CR_DEVICE_NOT_THERE 0x00000024
#define CR_NO_SUCH_VALUE 0x00000025
#define CR_WRONG_TYPE 0x00000026
#define CR_INVALID_PRIORITY 0x00000027
#define CR_NOT_DISABLEABLE 0x00000028
#define CR_FREE_RESOURCES 0x00000029
#define CR_QUERY_VETOED 0x0000002A
#define CR_CANT_SHARE_IRQ 0x0000002B
#define CR_NO_DEPENDENT 0x0000002C
#define CR_SAME_RESOURCES 0x0000002D
#define CR_NO_SUCH_REGISTRY_KEY 0x0000002E
#define CR_INVALID_MACHINENAME 0x0000002F
#define CR_REMOTE_COMM_FAILURE 0x00000030
#define CR_MACHINE_UNAVAILABLE 0x00000031
#define CR_NO_CM_SERVICES 0x00000032
#define CR_ACCESS_DENIED 0x00000033
#define CR_CALL_NOT_IMPLEMENTED 0x00000034
#define CR_INVALID_PROPERTY 0x00000035
#define CR_DEVICE_INTERFACE_ACTIVE 0x00000036
#define CR_NO_SUCH_DEVICE_INTERFACE 0x00000037
#define CR_INVALID_REFERENCE_STRING 0x00000038
#define CR_INVALID_CONFLICT_LIST 0x00000039
#define CR_INVALID_INDEX 0x0000003A
#define CR_INVALID_STRUCTURE_SIZE 0x0000003B
#define NUM_CR_RESULTS 0x0000003C

/* pDeviceID: NULL or "" for every device, or an instance ID such as "ROOT\\ECHO\\0000" for that
 * device's interfaces only (CR_NO_SUCH_DEVNODE when no such device was ever created).
 * Errors: CR_INVALID_POINTER (NULL pulLen, class GUID or Buffer, or BufferLen 0),
 * CR_INVALID_FLAG, CR_INVALID_DEVICE_ID (longer than MAX_DEVICE_ID_LEN), CR_BUFFER_SMALL
 * (the buffer then holds an empty list when BufferLen allows). */
NTIO_API CONFIGRET CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid,
                                                      DEVINSTID_W pDeviceID, ULONG ulFlags);
NTIO_API CONFIGRET CM_Get_Device_Interface_List_SizeA(PULONG pulLen, LPGUID InterfaceClassGuid,
                                                      DEVINSTID_A pDeviceID, ULONG ulFlags);
NTIO_API CONFIGRET CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID, PZZWSTR Buffer,
                                                 ULONG BufferLen, ULONG ulFlags);
NTIO_API CONFIGRET CM_Get_Device_Interface_ListA(LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID, PZZSTR Buffer,
                                                 ULONG BufferLen, ULONG ulFlags);

#ifdef UNICODE
#define CM_Get_Device_Interface_List_Size CM_Get_Device_Interface_List_SizeW
#define CM_Get_Device_Interface_List CM_Get_Device_Interface_ListW
#else
#define CM_Get_Device_Interface_List_Size CM_Get_Device_Interface_List_SizeA
#define CM_Get_Device_Interface_List CM_Get_Device_Interface_ListA
#endif

NTIO_EXTERN_C_END
#endif
