/* A driver in strict C11 that uses the WDM routines beyond the articles' (test
 * compat.wdm_extras_c; rules S-MDL-1..4, S-PO-1..3, S-EX-4..10, S-IOH-1..3, S-POOL-1 in
 * docs/design.md): every request holds run-down protection, which DriverUnload runs
 * down; a METHOD_OUT_DIRECT output is written one page at a time through a partial MDL
 * reused with MmPrepareMdlForReuse; a power IRP goes through PoCallDriver to the
 * driver's own power routine, which records the state with PoSetPowerState; DriverEntry
 * keeps records in generic tables under a push lock (S-GT, S-PL). */
#include <ntddk.h>
#include <wdmsec.h>
#include <dontuse.h>
#include <DriverSpecs.h>
#include <wdmguid.h>

#include "wdm_extras_public.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ExtrasUnload;
static DRIVER_DISPATCH ExtrasCreateClose, ExtrasControl, ExtrasPower, ExtrasShutdown;
static IO_COMPLETION_ROUTINE PowerDone;

static EX_RUNDOWN_REF g_rundown;
static PDEVICE_OBJECT g_device;
static POWER_STATE g_replaced_in_power_routine;
static PVOID g_notification;
static LONG g_callback_calls;

static NTSTATUS Finish(PIRP Irp, NTSTATUS status, ULONG_PTR information) {
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS ExtrasCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    return Finish(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS ExtrasPower(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    if (sl->MinorFunction == IRP_MN_SET_POWER && sl->Parameters.Power.Type == DevicePowerState)
        g_replaced_in_power_routine = PoSetPowerState(DeviceObject, DevicePowerState, sl->Parameters.Power.State);
    PoStartNextPowerIrp(Irp);
    return Finish(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS PowerDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS FillByPages(PIRP Irp) {
    PMDL whole = Irp->MdlAddress;
    PMDL part;
    PCHAR va;
    ULONG length, offset;
    if (!whole) return STATUS_INVALID_PARAMETER;
    va = (PCHAR)MmGetMdlVirtualAddress(whole);
    length = MmGetMdlByteCount(whole);
    part = IoAllocateMdl(va, PAGE_SIZE, FALSE, FALSE, NULL);
    if (!part) return STATUS_INSUFFICIENT_RESOURCES;
    for (offset = 0; offset < length; offset += PAGE_SIZE) {
        ULONG chunk = length - offset < PAGE_SIZE ? length - offset : PAGE_SIZE;
        PCHAR system;
        IoBuildPartialMdl(whole, part, va + offset, chunk);
        system = (PCHAR)MmGetSystemAddressForMdlSafe(part, NormalPagePriority | MdlMappingNoExecute);
        if (!system) {
            IoFreeMdl(part);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        RtlFillMemory(system, chunk, (UCHAR)('A' + offset / PAGE_SIZE));
        MmPrepareMdlForReuse(part);
    }
    IoFreeMdl(part);
    return STATUS_SUCCESS;
}

static NTSTATUS PowerThroughPoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG* out = (ULONG*)Irp->AssociatedIrp.SystemBuffer;
    PIRP power;
    PIO_STACK_LOCATION next;
    KEVENT done;
    POWER_STATE d3, d0;
    if (sl->Parameters.DeviceIoControl.OutputBufferLength < 2 * sizeof(ULONG)) return STATUS_BUFFER_TOO_SMALL;
    power = IoAllocateIrp(DeviceObject->StackSize, FALSE);
    if (!power) return STATUS_INSUFFICIENT_RESOURCES;
    power->IoStatus.Status = STATUS_NOT_SUPPORTED;
    next = IoGetNextIrpStackLocation(power);
    next->MajorFunction = IRP_MJ_POWER;
    next->MinorFunction = IRP_MN_SET_POWER;
    next->Parameters.Power.Type = DevicePowerState;
    d3.DeviceState = PowerDeviceD3;
    next->Parameters.Power.State = d3;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoSetCompletionRoutine(power, PowerDone, &done, TRUE, TRUE, TRUE);
    if (PoCallDriver(DeviceObject, power) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    IoFreeIrp(power);
    d0.DeviceState = PowerDeviceD0;
    out[0] = (ULONG)g_replaced_in_power_routine.DeviceState;
    out[1] = (ULONG)PoSetPowerState(DeviceObject, DevicePowerState, d0).DeviceState;
    Irp->IoStatus.Information = 2 * sizeof(ULONG);
    return STATUS_SUCCESS;
}

static NTSTATUS ExtrasControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;
    if (!ExAcquireRundownProtection(&g_rundown)) return Finish(Irp, STATUS_DELETE_PENDING, 0);
    /* An application's request: its mode is the caller's, and the stack has room. */
    if (KeGetPreviousMode() != UserMode || IoGetRemainingStackSize() < 4096) {
        status = STATUS_INVALID_DEVICE_STATE;
    } else {
        Irp->IoStatus.Information = 0;
        switch (sl->Parameters.DeviceIoControl.IoControlCode) {
        case IOCTL_EXTRAS_FILL:
            status = FillByPages(Irp);
            if (NT_SUCCESS(status)) Irp->IoStatus.Information = sl->Parameters.DeviceIoControl.OutputBufferLength;
            break;
        case IOCTL_EXTRAS_POWER:
            status = PowerThroughPoCallDriver(DeviceObject, Irp);
            break;
        default:
            status = STATUS_INVALID_DEVICE_REQUEST;
        }
    }
    ExReleaseRundownProtection(&g_rundown);
    return Finish(Irp, status, Irp->IoStatus.Information);
}

/* Registered in DriverEntry: the runtime's end sends it before the unload. */
static NTSTATUS ExtrasShutdown(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
    UNREFERENCED_PARAMETER(DeviceObject);
    DbgPrint("wdm_extras: IRP_MJ_SHUTDOWN at IRQL %u\n", (unsigned)KeGetCurrentIrql());
    return Finish(Irp, STATUS_SUCCESS, 0);
}

/* S-CB: a callback object's routine, and a PnP notification routine (S-PNPN) for a class
 * no device has, so it is never called. */
static CALLBACK_FUNCTION Counted;
static DRIVER_NOTIFICATION_CALLBACK_ROUTINE InterfaceChanged;
static VOID Counted(PVOID Context, PVOID Argument1, PVOID Argument2) {
    UNREFERENCED_PARAMETER(Argument2);
    if (Context == (PVOID)&g_callback_calls && Argument1 == (PVOID)&g_callback_calls)
        InterlockedIncrement(&g_callback_calls);
}
static NTSTATUS InterfaceChanged(PVOID NotificationStructure, PVOID Context) {
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = (PDEVICE_INTERFACE_CHANGE_NOTIFICATION)NotificationStructure;
    UNREFERENCED_PARAMETER(Context);
    DbgPrint("wdm_extras: unexpected interface %s\n",
             IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) ? "arrival" : "removal");
    return STATUS_SUCCESS;
}

/* Two routines on a named callback object, notified once; the object opened again by name. */
static LONG CallbackRoundTrip(void) {
    UNICODE_STRING cb_name = RTL_CONSTANT_STRING(L"\\Callback\\WdmExtras");
    OBJECT_ATTRIBUTES oa;
    PCALLBACK_OBJECT created = NULL, opened = NULL;
    PVOID r1, r2;
    InitializeObjectAttributes(&oa, &cb_name, OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (!NT_SUCCESS(ExCreateCallback(&created, &oa, TRUE, TRUE))) return -1;
    if (!NT_SUCCESS(ExCreateCallback(&opened, &oa, FALSE, FALSE)) || opened != created) return -2;
    r1 = ExRegisterCallback(created, Counted, &g_callback_calls);
    r2 = ExRegisterCallback(opened, Counted, &g_callback_calls);
    ExNotifyCallback(created, &g_callback_calls, NULL);
    if (r1) ExUnregisterCallback(r1);
    if (r2) ExUnregisterCallback(r2);
    ObDereferenceObject(opened);
    ObDereferenceObject(created);
    return g_callback_calls;
}

static VOID ExtrasUnload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\WdmExtras");
    UNREFERENCED_PARAMETER(DriverObject);
    IoUnregisterPlugPlayNotificationEx(g_notification);
    ExWaitForRundownProtectionRelease(&g_rundown);
    DbgPrint("wdm_extras: run down, %s\n", ExAcquireRundownProtection(&g_rundown) ? "still open" : "closed");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(g_device);
}

/* The platform and version macros a driver's shared headers test (sdkddkver.h). */
#if !defined(_WDMDDK_) || !defined(_NTDDK_) || !defined(_WIN64) || NTDDI_VERSION < NTDDI_WIN10_VB
#error "the WDK's header and version macros are missing"
#endif
/* A vendor device type (0x8000-0xFFFF) sets bit 31: still an unsigned constant that
 * pedantic C takes as a case label and #if can compute. */
#define IOCTL_VENDOR_PROBE CTL_CODE(0x8001, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#if IOCTL_VENDOR_PROBE != 0x80012004u
#error "CTL_CODE of a vendor device type"
#endif
static int is_vendor_probe(ULONG code) {
    switch (code) {
    case IOCTL_VENDOR_PROBE: return 1;
    default: return 0;
    }
}

/* MSVC spellings in driver code: a pool tag as a multi-character literal (no
 * -Wno-multichar needed), __declspec(align(...)) written out, and __forceinline. */
typedef struct __declspec(align(16)) _EXTRAS_ALIGNED {
    UCHAR Byte;
} EXTRAS_ALIGNED;
C_ASSERT(__alignof__(EXTRAS_ALIGNED) == 16);
static __forceinline ULONG Twice(ULONG x) { return x * 2; }

/* Annotated as the WDK's samples annotate (sal.h: analysis only); a quota allocation that
 * returns NULL instead of raising, zeroed; the 32x32 products. */
_Must_inspect_result_ _Success_(return != 0) static BOOLEAN
QuotaAndProducts(_Out_writes_bytes_all_(Size) PUCHAR Out, _In_ ULONG Size) {
    PUCHAR p = (PUCHAR)ExAllocatePoolQuotaZero((POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), Size,
                                              'WdXq');
    ULONG i;
    BOOLEAN zeroed = TRUE;
    if (!p) return FALSE;
    for (i = 0; i < Size; ++i) zeroed = zeroed && p[i] == 0;
    RtlCopyMemory(Out, p, Size);
    ExFreePoolWithTag(p, 'WdXq');
    return zeroed && Twice(21) == 42 && Int32x32To64(-2, 0x40000000) == -0x80000000LL &&
           UInt32x32To64(0xFFFFFFFFu, 2u) == 0x1FFFFFFFEULL;
}

/* A LOOKASIDE_LIST_EX inside the driver's own data, which its routines reach from the list
 * they are given (the pattern of Microsoft's ExInitializeLookasideListEx page), in a
 * cache-aligned pool block. */
typedef struct {
    LONG allocations;
    LONG frees;
    LOOKASIDE_LIST_EX list;
} LIST_DATA;
static ALLOCATE_FUNCTION_EX ListAllocate;
static FREE_FUNCTION_EX ListFree;
static PVOID ListAllocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, PLOOKASIDE_LIST_EX Lookaside) {
    LIST_DATA *data = CONTAINING_RECORD(Lookaside, LIST_DATA, list);
    PVOID entry = ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
    if (entry) InterlockedIncrement(&data->allocations);
    return entry;
}
static VOID ListFree(PVOID Buffer, PLOOKASIDE_LIST_EX Lookaside) {
    InterlockedIncrement(&CONTAINING_RECORD(Lookaside, LIST_DATA, list)->frees);
    ExFreePool(Buffer);
}
static BOOLEAN LookasideEx(void) {
    LIST_DATA *data = (LIST_DATA *)ExAllocatePoolZero(NonPagedPoolNxCacheAligned, sizeof(LIST_DATA), 'WdXl');
    PVOID a, b, page;
    BOOLEAN ok;
    if (!data || ((ULONG_PTR)data & (KeGetRecommendedSharedDataAlignment() - 1)) != 0) return FALSE;
    if (ExInitializeLookasideListEx(&data->list, ListAllocate, ListFree, NonPagedPoolNx, 3, 64, 'WdXl', 0) !=
        STATUS_INVALID_PARAMETER_5)
        return FALSE;
    if (!NT_SUCCESS(ExInitializeLookasideListEx(&data->list, ListAllocate, ListFree, NonPagedPoolNx,
                                                EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL, 64, 'WdXl', 0)))
        return FALSE;
    a = ExAllocateFromLookasideListEx(&data->list);
    b = ExAllocateFromLookasideListEx(&data->list);
    if (a) ExFreeToLookasideListEx(&data->list, a);
    ok = a && b && data->allocations == 2 && ExAllocateFromLookasideListEx(&data->list) == a;
    if (b) ExFreeToLookasideListEx(&data->list, b);
    if (a) ExFreeToLookasideListEx(&data->list, a);
    ExFlushLookasideListEx(&data->list); /* both kept entries go to ListFree */
    ok = ok && data->frees == 2;
    ExDeleteLookasideListEx(&data->list);
    ExFreePoolWithTag(data, 'WdXl');
    page = ExAllocatePool2(POOL_FLAG_NON_PAGED, PAGE_SIZE, 'WdXl'); /* a page from PAGE_SIZE up */
    ok = ok && page && BYTE_OFFSET(page) == 0;
    if (page) ExFreePoolWithTag(page, 'WdXl');
    return ok;
}

/* An error log entry as drivers write one: the packet, one dump word, one insertion string. */
static void LogStarted(PDEVICE_OBJECT device) {
    static const WCHAR insert[] = L"WdmExtras";
    UCHAR size = (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) + sizeof(insert));
    PIO_ERROR_LOG_PACKET entry;
    C_ASSERT(sizeof(IO_ERROR_LOG_PACKET) + sizeof(insert) <= ERROR_LOG_MAXIMUM_SIZE);
    entry = (PIO_ERROR_LOG_PACKET)IoAllocateErrorLogEntry(device, size);
    if (!entry) return; /* not fatal, as the WDK says */
    entry->ErrorCode = STATUS_SUCCESS;
    entry->UniqueErrorValue = 0x1234;
    entry->DumpDataSize = sizeof(ULONG);
    entry->DumpData[0] = 42;
    entry->NumberOfStrings = 1;
    entry->StringOffset = (USHORT)sizeof(IO_ERROR_LOG_PACKET);
    RtlCopyMemory((PUCHAR)entry + entry->StringOffset, insert, sizeof(insert));
    IoWriteErrorLogEntry(entry);
}

/* A file system's kind of bookkeeping (S-GT, S-PL): records in an AVL table and a
 * splay table from the pool, guarded by a push lock inside a critical region; prints the
 * keys in order as it deletes them. */
typedef struct _EXTRAS_RECORD {
    ULONG Key;
} EXTRAS_RECORD;
static RTL_AVL_COMPARE_ROUTINE CompareRecords;
static RTL_AVL_ALLOCATE_ROUTINE AllocateRecord;
static RTL_AVL_FREE_ROUTINE FreeRecord;
static RTL_GENERIC_COMPARE_ROUTINE CompareSplayRecords;
static RTL_GENERIC_ALLOCATE_ROUTINE AllocateSplayRecord;
static RTL_GENERIC_FREE_ROUTINE FreeSplayRecord;
static RTL_GENERIC_COMPARE_RESULTS Compare(PVOID First, PVOID Second) {
    ULONG a = ((EXTRAS_RECORD *)First)->Key, b = ((EXTRAS_RECORD *)Second)->Key;
    return a < b ? GenericLessThan : a > b ? GenericGreaterThan : GenericEqual;
}
static RTL_GENERIC_COMPARE_RESULTS CompareRecords(PRTL_AVL_TABLE Table, PVOID First, PVOID Second) {
    UNREFERENCED_PARAMETER(Table);
    return Compare(First, Second);
}
static PVOID AllocateRecord(PRTL_AVL_TABLE Table, CLONG ByteSize) {
    UNREFERENCED_PARAMETER(Table);
    return ExAllocatePool2(POOL_FLAG_PAGED, ByteSize, 'WdXt');
}
static VOID FreeRecord(PRTL_AVL_TABLE Table, PVOID Buffer) {
    UNREFERENCED_PARAMETER(Table);
    ExFreePoolWithTag(Buffer, 'WdXt');
}
static RTL_GENERIC_COMPARE_RESULTS CompareSplayRecords(PRTL_GENERIC_TABLE Table, PVOID First, PVOID Second) {
    UNREFERENCED_PARAMETER(Table);
    return Compare(First, Second);
}
static PVOID AllocateSplayRecord(PRTL_GENERIC_TABLE Table, CLONG ByteSize) {
    UNREFERENCED_PARAMETER(Table);
    return ExAllocatePool2(POOL_FLAG_PAGED, ByteSize, 'WdXs');
}
static VOID FreeSplayRecord(PRTL_GENERIC_TABLE Table, PVOID Buffer) {
    UNREFERENCED_PARAMETER(Table);
    ExFreePoolWithTag(Buffer, 'WdXs');
}
static BOOLEAN TablesUnderAPushLock(void) {
    static const ULONG keys[] = {30, 10, 20};
    RTL_AVL_TABLE avl;
    RTL_GENERIC_TABLE splay;
    EX_PUSH_LOCK lock;
    EXTRAS_RECORD record, *found;
    BOOLEAN is_new = FALSE, ok = TRUE;
    ULONG i;
    ExInitializePushLock(&lock);
    RtlInitializeGenericTableAvl(&avl, CompareRecords, AllocateRecord, FreeRecord, NULL);
    RtlInitializeGenericTable(&splay, CompareSplayRecords, AllocateSplayRecord, FreeSplayRecord, NULL);
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&lock);
    for (i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        record.Key = keys[i];
        ok = ok && RtlInsertElementGenericTableAvl(&avl, &record, sizeof record, &is_new) && is_new;
        ok = ok && RtlInsertElementGenericTable(&splay, &record, sizeof record, &is_new) && is_new;
    }
    ExReleasePushLockExclusive(&lock);
    ExAcquirePushLockShared(&lock);
    ok = ok && RtlNumberGenericTableElementsAvl(&avl) == 3 &&
         ((EXTRAS_RECORD *)RtlGetElementGenericTable(&splay, 0))->Key == 30;
    ExReleasePushLockShared(&lock);
    KeLeaveCriticalRegion();
    while ((found = (EXTRAS_RECORD *)RtlEnumerateGenericTableAvl(&avl, TRUE)) != NULL) {
        DbgPrint("tables: %lu\n", (unsigned long)found->Key);
        record = *found;
        ok = ok && RtlDeleteElementGenericTableAvl(&avl, &record) && RtlDeleteElementGenericTable(&splay, &record);
    }
    return ok && RtlIsGenericTableEmptyAvl(&avl) && RtlIsGenericTableEmpty(&splay);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    UNICODE_STRING bad_sddl = RTL_CONSTANT_STRING(L"O:BAG:SY");
    UNICODE_STRING other = RTL_CONSTANT_STRING(L"\\Device\\WdmExtrasRefused");
    PDEVICE_OBJECT refused = NULL;
    UCHAR scratch[16];
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\WdmExtras");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\WdmExtras");
    WCHAR text[8];
    UNICODE_STRING empty;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    RtlInitEmptyUnicodeString(&empty, text, sizeof text);
    if (empty.Length != 0 || !IoIsErrorUserInduced(STATUS_NO_MEDIA_IN_DEVICE)) return STATUS_UNSUCCESSFUL;
    NT_VERIFY(empty.Length == 0); /* a statement: no -Wunused-value under -Werror */
    if (!is_vendor_probe(0x80012004u) || is_vendor_probe(0x00012004u)) return STATUS_UNSUCCESSFUL;
    KdBreakPoint(); /* DBG is not defined: nothing, as in a release build of the WDK */
    if (!QuotaAndProducts(scratch, sizeof scratch)) return STATUS_UNSUCCESSFUL;
    if (!TablesUnderAPushLock()) return STATUS_UNSUCCESSFUL;
    if (!LookasideEx()) return STATUS_UNSUCCESSFUL;
    /* an SDDL string without a protected DACL ("D:P") is refused, and makes no device */
    if (IoCreateDeviceSecure(DriverObject, 0, &other, FILE_DEVICE_UNKNOWN, 0, FALSE, &bad_sddl, NULL, &refused) !=
            STATUS_INVALID_PARAMETER ||
        refused != NULL || DriverObject->DeviceObject != NULL)
        return STATUS_UNSUCCESSFUL;
    ExInitializeRundownProtection(&g_rundown);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = ExtrasCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = ExtrasCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ExtrasControl;
    DriverObject->MajorFunction[IRP_MJ_POWER] = ExtrasPower;
    DriverObject->MajorFunction[IRP_MJ_SHUTDOWN] = ExtrasShutdown;
    DriverObject->DriverUnload = ExtrasUnload;
    status = IoCreateDeviceSecure(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
                                  NULL, &g_device);
    if (!NT_SUCCESS(status)) return status;
    g_device->Flags |= DO_DIRECT_IO;
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(g_device);
        return status;
    }
    g_device->Flags &= ~DO_DEVICE_INITIALIZING;
    status = IoRegisterShutdownNotification(g_device);
    if (!NT_SUCCESS(status)) return status;
    LogStarted(g_device);
    {
        /* {4f1e2d3c-...}: a class no device registers */
        static GUID no_devices = {0x4f1e2d3c, 0x1111, 0x2222, {0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa}};
        status = IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                                PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES, &no_devices,
                                                DriverObject, InterfaceChanged, NULL, &g_notification);
        DbgPrint("wdm_extras: callbacks %d, notification 0x%08X\n", (int)CallbackRoundTrip(), (unsigned)status);
        if (!NT_SUCCESS(status)) return status;
    }
    return STATUS_SUCCESS;
}
