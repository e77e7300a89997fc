/* ntio compat, kernel side: the I/O manager's objects and routines: drivers,
 * devices, file objects, IRPs and their stack locations, MDLs, completion.
 * Part of <wdm.h>.
 *
 * Field names are the ones drivers use (Irp->IoStatus, Irp->AssociatedIrp.SystemBuffer,
 * Irp->Tail.Overlay.DriverContext, DeviceObject->DeviceExtension, ...). Layouts are
 * ntio's own; ABI compatibility with Windows binaries is not a goal.
 *
 * IRP ownership (who may touch it):
 *
 *   creator (I/O manager or driver) ──IoCallDriver──▶ dispatch routine (owns it)
 *        ▲                                   │ returns STATUS_PENDING after IoMarkIrpPending:
 *        │                                   │ keeps owning it (queue, StartIo, thread...)
 *        │                                   ▼
 *        └─ completion routine ◀── IoCompleteRequest (the caller gives it up)
 *           (STATUS_MORE_PROCESSING_REQUIRED hands it back to that routine's driver)
 */
#ifndef NTIO_COMPAT_KERNEL_IO_H
#define NTIO_COMPAT_KERNEL_IO_H

#include "../devioctl.h"

NTIO_EXTERN_C_BEGIN

struct _IRP;
struct _DEVICE_OBJECT;
struct _DRIVER_OBJECT;
struct _FILE_OBJECT;
struct _IO_STACK_LOCATION;
typedef struct _IRP *PIRP;
typedef struct _DEVICE_OBJECT *PDEVICE_OBJECT;
typedef struct _DRIVER_OBJECT *PDRIVER_OBJECT;
typedef struct _FILE_OBJECT *PFILE_OBJECT;
typedef struct _IO_STACK_LOCATION *PIO_STACK_LOCATION;

/* ---- status block (IO_STATUS_BLOCK is in nt_services.h, for applications too), MDL ---- */
typedef VOID IO_APC_ROUTINE(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved);
typedef IO_APC_ROUTINE *PIO_APC_ROUTINE;

/* A memory descriptor list. ntio runs drivers and applications in one address space,
 * so a locked MDL's system address is the buffer itself. */
typedef struct _MDL {
    struct _MDL *Next;
    CSHORT Size;
    CSHORT MdlFlags;
    struct _EPROCESS *Process;
    PVOID MappedSystemVa;
    PVOID StartVa; /* page-aligned start of the buffer */
    ULONG ByteCount;
    ULONG ByteOffset;
} MDL, *PMDL;

#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008
#define MDL_PARTIAL 0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020
#define MDL_IO_PAGE_READ 0x0040
#define MDL_WRITE_OPERATION 0x0080

#define PAGE_SIZE 0x1000
#define PAGE_SHIFT 12
#define BYTE_OFFSET(Va) ((ULONG)((ULONG_PTR)(Va) & (PAGE_SIZE - 1)))
#define PAGE_ALIGN(Va) ((PVOID)((ULONG_PTR)(Va) & ~(ULONG_PTR)(PAGE_SIZE - 1)))
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~(ULONG_PTR)(PAGE_SIZE - 1))
#define BYTES_TO_PAGES(Size) ((ULONG)((ULONG_PTR)(Size) >> PAGE_SHIFT) + (((ULONG)(Size) & (PAGE_SIZE - 1)) != 0))
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size) \
    ((ULONG)((((ULONG_PTR)(Size)) >> PAGE_SHIFT) + ((BYTE_OFFSET(Va) + ((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) + (PAGE_SIZE - 1)) >> PAGE_SHIFT)))
/* A page frame number, as Windows's MDLs carry after their header (ntio's carry none:
   the pages are the process's own). MmSizeOfMdl counts them, as Windows sizes an MDL. */
typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;
#define MmGetMdlVirtualAddress(Mdl) ((PVOID)((PCHAR)((Mdl)->StartVa) + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl) ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl) ((Mdl)->ByteOffset)

typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;
typedef enum _MM_PAGE_PRIORITY { LowPagePriority, NormalPagePriority = 16, HighPagePriority = 32 } MM_PAGE_PRIORITY;
#define MdlMappingNoWrite 0x80000000
#define MdlMappingNoExecute 0x40000000

NTIO_API PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota, struct _IRP *Irp);
NTIO_API VOID IoFreeMdl(PMDL Mdl);
NTIO_API VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);
NTIO_API VOID MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation);
NTIO_API VOID MmUnlockPages(PMDL MemoryDescriptorList);
NTIO_API PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority);
NTIO_API PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode, ULONG CacheType,
                                            PVOID RequestedAddress, ULONG BugCheckOnFailure, ULONG Priority);
NTIO_API SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length);
/* MmMapLockedPagesSpecifyCache(Mdl, AccessMode, MmCached, NULL, TRUE, NormalPagePriority). */
NTIO_API PVOID MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode);
/* Ends a mapping made by MmMapLockedPages(SpecifyCache) or MmGetSystemAddressForMdlSafe.
 * Both mappings are the buffer itself in ntio; the verifier reports an address that is
 * not the MDL's. */
NTIO_API VOID MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList);
/* TargetMdl describes [VirtualAddress, +Length) of SourceMdl's buffer (Length 0: to the
 * end of it). It shares the source's system mapping when the source has one; otherwise
 * MmGetSystemAddressForMdlSafe maps it, and MmPrepareMdlForReuse or IoFreeMdl ends that
 * mapping. */
NTIO_API VOID IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length);
/* An MDL in the caller's own storage (at least MmSizeOfMdl bytes), as the WDK's macro
 * fills it. */
#define MmInitializeMdl(MemoryDescriptorList, BaseVa, Length)                                        \
    do {                                                                                            \
        PMDL ntio_mdl_ = (MemoryDescriptorList);                                                    \
        PVOID ntio_va_ = (PVOID)(BaseVa);                                                           \
        SIZE_T ntio_length_ = (SIZE_T)(Length);                                                     \
        ntio_mdl_->Next = NULL;                                                                     \
        ntio_mdl_->Size = (CSHORT)(sizeof(MDL) +                                                    \
                                   sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES(ntio_va_, ntio_length_)); \
        ntio_mdl_->MdlFlags = 0;                                                                    \
        ntio_mdl_->StartVa = PAGE_ALIGN(ntio_va_);                                                  \
        ntio_mdl_->ByteOffset = BYTE_OFFSET(ntio_va_);                                              \
        ntio_mdl_->ByteCount = (ULONG)ntio_length_;                                                 \
    } while (0)
/* Before a partial MDL is built again: ends the mapping MmGetSystemAddressForMdlSafe gave
 * it, if it has one of its own. */
#define MmPrepareMdlForReuse(Mdl)                                                          \
    do {                                                                                  \
        PMDL ntio_reused_ = (Mdl);                                                        \
        if (ntio_reused_->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED)                        \
            MmUnmapLockedPages(ntio_reused_->MappedSystemVa, ntio_reused_);               \
    } while (0)
/* A kernel routine (one of libntio's Ke/Ex/Io/Mm/Ps/Ob/Rtl/Zw/Nt/... exports) by
 * name, or NULL when ntio does not have it. */
NTIO_API PVOID MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName);
/* TRUE when reading the byte at VirtualAddress would not fault: it is mapped and
 * readable (S-KAPI-9). Any IRQL. */
NTIO_API BOOLEAN MmIsAddressValid(PVOID VirtualAddress);
#define MmCached 1
#define MmGetSystemAddressForMdl(Mdl) MmGetSystemAddressForMdlSafe((Mdl), NormalPagePriority)

/* ---- device queue ------------------------------------------------------------------ */
typedef struct _KDEVICE_QUEUE_ENTRY {
    LIST_ENTRY DeviceListEntry;
    ULONG SortKey;
    BOOLEAN Inserted;
} KDEVICE_QUEUE_ENTRY, *PKDEVICE_QUEUE_ENTRY, *PRKDEVICE_QUEUE_ENTRY;

typedef struct _KDEVICE_QUEUE {
    CSHORT Type;
    CSHORT Size;
    LIST_ENTRY DeviceListHead;
    KSPIN_LOCK Lock;
    BOOLEAN Busy;
} KDEVICE_QUEUE, *PKDEVICE_QUEUE, *PRKDEVICE_QUEUE;

/* ---- role types (WDK style: declare `static DRIVER_DISPATCH MyDispatch;`) ----------- */
typedef NTSTATUS DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;
typedef NTSTATUS DRIVER_DISPATCH(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_RAISED;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_PAGED;
typedef VOID DRIVER_STARTIO(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_STARTIO *PDRIVER_STARTIO;
typedef VOID DRIVER_UNLOAD(struct _DRIVER_OBJECT *DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
typedef NTSTATUS DRIVER_ADD_DEVICE(struct _DRIVER_OBJECT *DriverObject, struct _DEVICE_OBJECT *PhysicalDeviceObject);
typedef DRIVER_ADD_DEVICE *PDRIVER_ADD_DEVICE;
typedef VOID DRIVER_CANCEL(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_CANCEL *PDRIVER_CANCEL;
typedef NTSTATUS IO_COMPLETION_ROUTINE(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp, PVOID Context);
typedef IO_COMPLETION_ROUTINE *PIO_COMPLETION_ROUTINE;
typedef VOID IO_DPC_ROUTINE(PKDPC Dpc, struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp, PVOID Context);
typedef IO_DPC_ROUTINE *PIO_DPC_ROUTINE;
typedef KDEFERRED_ROUTINE KDEFERRED_ROUTINE_T;

/* ---- driver object ------------------------------------------------------------------- */
#define IRP_MJ_CREATE 0x00
#define IRP_MJ_CREATE_NAMED_PIPE 0x01
#define IRP_MJ_CLOSE 0x02
#define IRP_MJ_READ 0x03
#define IRP_MJ_WRITE 0x04
#define IRP_MJ_QUERY_INFORMATION 0x05
#define IRP_MJ_SET_INFORMATION 0x06
#define IRP_MJ_QUERY_EA 0x07
#define IRP_MJ_SET_EA 0x08
#define IRP_MJ_FLUSH_BUFFERS 0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION 0x0a
#define IRP_MJ_SET_VOLUME_INFORMATION 0x0b
#define IRP_MJ_DIRECTORY_CONTROL 0x0c
#define IRP_MJ_FILE_SYSTEM_CONTROL 0x0d
#define IRP_MJ_DEVICE_CONTROL 0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL 0x0f
#define IRP_MJ_SCSI IRP_MJ_INTERNAL_DEVICE_CONTROL
#define IRP_MJ_SHUTDOWN 0x10
#define IRP_MJ_LOCK_CONTROL 0x11
#define IRP_MJ_CLEANUP 0x12
#define IRP_MJ_CREATE_MAILSLOT 0x13
#define IRP_MJ_QUERY_SECURITY 0x14
#define IRP_MJ_SET_SECURITY 0x15
#define IRP_MJ_POWER 0x16
#define IRP_MJ_SYSTEM_CONTROL 0x17
#define IRP_MJ_DEVICE_CHANGE 0x18
#define IRP_MJ_QUERY_QUOTA 0x19
#define IRP_MJ_SET_QUOTA 0x1a
#define IRP_MJ_PNP 0x1b
#define IRP_MJ_PNP_POWER IRP_MJ_PNP
#define IRP_MJ_MAXIMUM_FUNCTION 0x1b

#define IRP_MN_USER_FS_REQUEST 0x00

typedef struct _DRIVER_EXTENSION {
    struct _DRIVER_OBJECT *DriverObject;
    PDRIVER_ADD_DEVICE AddDevice;
    ULONG Count;
    UNICODE_STRING ServiceKeyName;
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

typedef struct _DRIVER_OBJECT {
    CSHORT Type;
    CSHORT Size;
    PDEVICE_OBJECT DeviceObject; /* the driver's devices, newest first, through NextDevice */
    ULONG Flags;
    PVOID DriverStart;
    ULONG DriverSize;
    PVOID DriverSection;
    PDRIVER_EXTENSION DriverExtension;
    UNICODE_STRING DriverName;
    PUNICODE_STRING HardwareDatabase;
    PVOID FastIoDispatch;
    PDRIVER_INITIALIZE DriverInit;
    PDRIVER_STARTIO DriverStartIo;
    PDRIVER_UNLOAD DriverUnload;
    PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
} DRIVER_OBJECT;

/* ---- device object --------------------------------------------------------------------- */
#define DO_VERIFY_VOLUME 0x00000002
#define DO_BUFFERED_IO 0x00000004
#define DO_EXCLUSIVE 0x00000008
#define DO_DIRECT_IO 0x00000010
#define DO_MAP_IO_BUFFER 0x00000020
#define DO_DEVICE_HAS_NAME 0x00000040
#define DO_DEVICE_INITIALIZING 0x00000080
#define DO_SHUTDOWN_REGISTERED 0x00000800
#define DO_BUS_ENUMERATED_DEVICE 0x00001000
#define DO_POWER_PAGABLE 0x00002000
#define DO_POWER_INRUSH 0x00004000

#define FILE_REMOVABLE_MEDIA 0x00000001
#define FILE_READ_ONLY_DEVICE 0x00000002
#define FILE_FLOPPY_DISKETTE 0x00000004
#define FILE_WRITE_ONCE_MEDIA 0x00000008
#define FILE_REMOTE_DEVICE 0x00000010
#define FILE_DEVICE_IS_MOUNTED 0x00000020
#define FILE_VIRTUAL_VOLUME 0x00000040
#define FILE_DEVICE_SECURE_OPEN 0x00000100
#define FILE_CHARACTERISTIC_PNP_DEVICE 0x00000800

struct _DEVOBJ_EXTENSION;

typedef struct _DEVICE_OBJECT {
    CSHORT Type;
    USHORT Size;
    LONG ReferenceCount;
    struct _DRIVER_OBJECT *DriverObject;
    struct _DEVICE_OBJECT *NextDevice;
    struct _DEVICE_OBJECT *AttachedDevice;
    struct _IRP *CurrentIrp;
    PVOID Timer;
    ULONG Flags;
    ULONG Characteristics;
    PVOID Vpb;
    PVOID DeviceExtension;
    DEVICE_TYPE DeviceType;
    CCHAR StackSize;
    union {
        LIST_ENTRY ListEntry;
    } Queue;
    ULONG AlignmentRequirement;
    KDEVICE_QUEUE DeviceQueue;
    KDPC Dpc;
    ULONG ActiveThreadCount;
    PVOID SecurityDescriptor;
    KEVENT DeviceLock;
    USHORT SectorSize;
    USHORT Spare1;
    struct _DEVOBJ_EXTENSION *DeviceObjectExtension; /* runtime-owned */
    PVOID Reserved;
} DEVICE_OBJECT;

#define FILE_BYTE_ALIGNMENT 0x00000000
#define FILE_WORD_ALIGNMENT 0x00000001
#define FILE_LONG_ALIGNMENT 0x00000003
#define FILE_QUAD_ALIGNMENT 0x00000007

/* ---- file object --------------------------------------------------------------------------- */
#define FO_FILE_OPEN 0x00000001
#define FO_SYNCHRONOUS_IO 0x00000002
/* ByteOffset values of IRP_MJ_READ/IRP_MJ_WRITE (with HighPart -1): use the file
   object's position; append. */
#define FILE_USE_FILE_POINTER_POSITION 0xfffffffe
#define FILE_WRITE_TO_END_OF_FILE 0xffffffff
#define FO_ALERTABLE_IO 0x00000004
#define FO_NO_INTERMEDIATE_BUFFERING 0x00000008
#define FO_WRITE_THROUGH 0x00000010
#define FO_SEQUENTIAL_ONLY 0x00000020
#define FO_HANDLE_CREATED 0x00040000
#define FO_CLEANUP_COMPLETE 0x00004000
/* SetFileCompletionNotificationModes (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, FILE_SKIP_SET_EVENT_ON_HANDLE) */
#define FO_SKIP_COMPLETION_PORT 0x02000000
#define FO_SKIP_SET_EVENT 0x04000000

typedef struct _IO_COMPLETION_CONTEXT {
    PVOID Port;
    PVOID Key;
} IO_COMPLETION_CONTEXT, *PIO_COMPLETION_CONTEXT;

typedef struct _FILE_OBJECT {
    CSHORT Type;
    CSHORT Size;
    PDEVICE_OBJECT DeviceObject;
    PVOID Vpb;
    PVOID FsContext;
    PVOID FsContext2;
    PVOID SectionObjectPointer;
    PVOID PrivateCacheMap;
    NTSTATUS FinalStatus;
    struct _FILE_OBJECT *RelatedFileObject;
    BOOLEAN LockOperation;
    BOOLEAN DeletePending;
    BOOLEAN ReadAccess;
    BOOLEAN WriteAccess;
    BOOLEAN DeleteAccess;
    BOOLEAN SharedRead;
    BOOLEAN SharedWrite;
    BOOLEAN SharedDelete;
    ULONG Flags;
    UNICODE_STRING FileName; /* what followed the device name when it was opened, e.g. L"\\ref" */
    LARGE_INTEGER CurrentByteOffset;
    volatile ULONG Waiters;
    volatile ULONG Busy;
    PVOID LastLock;
    KEVENT Lock;
    KEVENT Event;
    volatile PIO_COMPLETION_CONTEXT CompletionContext;
    KSPIN_LOCK IrpListLock;
    LIST_ENTRY IrpList;
    volatile PVOID FileObjectExtension; /* runtime-owned */
} FILE_OBJECT;

typedef struct _SHARE_ACCESS {
    ULONG OpenCount;
    ULONG Readers;
    ULONG Writers;
    ULONG Deleters;
    ULONG SharedRead;
    ULONG SharedWrite;
    ULONG SharedDelete;
} SHARE_ACCESS, *PSHARE_ACCESS;

/* ---- IRP and stack locations -------------------------------------------------------------- */
#define IO_TYPE_ADAPTER 1
#define IO_TYPE_CONTROLLER 2
#define IO_TYPE_DEVICE 3
#define IO_TYPE_DRIVER 4
#define IO_TYPE_FILE 5
#define IO_TYPE_IRP 6
#define IO_TYPE_MASTER_ADAPTER 7
#define IO_TYPE_OPEN_PACKET 8
#define IO_TYPE_TIMER 9
#define IO_TYPE_VPB 10
#define IO_TYPE_ERROR_LOG 11
#define IO_TYPE_ERROR_MESSAGE 12
#define IO_TYPE_DEVICE_OBJECT_EXTENSION 13

#define IRP_NOCACHE 0x00000001
#define IRP_PAGING_IO 0x00000002
#define IRP_MOUNT_COMPLETION 0x00000002
#define IRP_SYNCHRONOUS_API 0x00000004
#define IRP_ASSOCIATED_IRP 0x00000008
#define IRP_BUFFERED_IO 0x00000010
#define IRP_DEALLOCATE_BUFFER 0x00000020
#define IRP_INPUT_OPERATION 0x00000040
#define IRP_SYNCHRONOUS_PAGING_IO 0x00000040
#define IRP_CREATE_OPERATION 0x00000080
#define IRP_READ_OPERATION 0x00000100
#define IRP_WRITE_OPERATION 0x00000200
#define IRP_CLOSE_OPERATION 0x00000400
#define IRP_DEFER_IO_COMPLETION 0x00000800
#define IRP_OB_QUERY_NAME 0x00001000
#define IRP_HOLD_DEVICE_QUEUE 0x00002000

#define IRP_QUOTA_CHARGED 0x01
#define IRP_ALLOCATED_MUST_SUCCEED 0x02
#define IRP_ALLOCATED_FIXED_SIZE 0x04
#define IRP_LOOKASIDE_ALLOCATION 0x08

#define SL_PENDING_RETURNED 0x01
#define SL_ERROR_RETURNED 0x02
#define SL_INVOKE_ON_CANCEL 0x20
#define SL_INVOKE_ON_SUCCESS 0x40
#define SL_INVOKE_ON_ERROR 0x80

#define SL_FORCE_ACCESS_CHECK 0x01
#define SL_OPEN_PAGING_FILE 0x02
#define SL_OPEN_TARGET_DIRECTORY 0x04
#define SL_CASE_SENSITIVE 0x80
#define SL_KEY_SPECIFIED 0x01
#define SL_OVERRIDE_VERIFY_VOLUME 0x02
#define SL_WRITE_THROUGH 0x04
#define SL_FT_SEQUENTIAL_WRITE 0x08

typedef struct _IO_SECURITY_CONTEXT {
    PVOID SecurityQos;
    PVOID AccessState;
    ACCESS_MASK DesiredAccess;
    ULONG FullCreateOptions;
} IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT;

typedef enum _DEVICE_RELATION_TYPE {
    BusRelations, EjectionRelations, PowerRelations, RemovalRelations, TargetDeviceRelation,
    SingleBusRelations, TransportRelations
} DEVICE_RELATION_TYPE;

/* ---- power: the types a power dispatch routine reads ------------------------------ */
typedef enum _SYSTEM_POWER_STATE {
    PowerSystemUnspecified = 0, PowerSystemWorking, PowerSystemSleeping1, PowerSystemSleeping2,
    PowerSystemSleeping3, PowerSystemHibernate, PowerSystemShutdown, PowerSystemMaximum
} SYSTEM_POWER_STATE, *PSYSTEM_POWER_STATE;
typedef enum _DEVICE_POWER_STATE {
    PowerDeviceUnspecified = 0, PowerDeviceD0, PowerDeviceD1, PowerDeviceD2, PowerDeviceD3, PowerDeviceMaximum
} DEVICE_POWER_STATE, *PDEVICE_POWER_STATE;
typedef union _POWER_STATE {
    SYSTEM_POWER_STATE SystemState;
    DEVICE_POWER_STATE DeviceState;
} POWER_STATE, *PPOWER_STATE;
typedef enum _POWER_STATE_TYPE { SystemPowerState = 0, DevicePowerState } POWER_STATE_TYPE, *PPOWER_STATE_TYPE;
typedef enum _POWER_ACTION {
    PowerActionNone = 0, PowerActionReserved, PowerActionSleep, PowerActionHibernate, PowerActionShutdown,
    PowerActionShutdownReset, PowerActionShutdownOff, PowerActionWarmEject, PowerActionDisplayOff
} POWER_ACTION, *PPOWER_ACTION;
typedef struct _SYSTEM_POWER_STATE_CONTEXT {
    union {
        struct {
            ULONG Reserved1 : 8;
            ULONG TargetSystemState : 4;
            ULONG EffectiveSystemState : 4;
            ULONG CurrentSystemState : 4;
            ULONG IgnoreHibernationPath : 1;
            ULONG PseudoTransition : 1;
            ULONG KernelSoftReboot : 1;
            ULONG DirectedDripsTransition : 1;
            ULONG Reserved2 : 8;
        };
        ULONG ContextAsUlong;
    };
} SYSTEM_POWER_STATE_CONTEXT, *PSYSTEM_POWER_STATE_CONTEXT;
#define IRP_MN_WAIT_WAKE 0x00
#define IRP_MN_POWER_SEQUENCE 0x01
#define IRP_MN_SET_POWER 0x02
#define IRP_MN_QUERY_POWER 0x03

typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;
    union {
        struct {
            PIO_SECURITY_CONTEXT SecurityContext;
            ULONG Options;
            USHORT FileAttributes;
            USHORT ShareAccess;
            ULONG EaLength;
        } Create;
        struct {
            ULONG Length;
            ULONG Key;
            LARGE_INTEGER ByteOffset;
        } Read;
        struct {
            ULONG Length;
            ULONG Key;
            LARGE_INTEGER ByteOffset;
        } Write;
        struct {
            ULONG OutputBufferLength;
            ULONG InputBufferLength;
            ULONG IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
        struct {
            ULONG OutputBufferLength;
            ULONG InputBufferLength;
            ULONG FsControlCode;
            PVOID Type3InputBuffer;
        } FileSystemControl;
        struct {
            ULONG Length;
            FILE_INFORMATION_CLASS POINTER_ALIGNMENT FileInformationClass;
        } QueryFile;
        struct {
            ULONG Length;
            FILE_INFORMATION_CLASS POINTER_ALIGNMENT FileInformationClass;
            PFILE_OBJECT FileObject;
            union {
                struct {
                    BOOLEAN ReplaceIfExists;
                    BOOLEAN AdvanceOnly;
                };
                ULONG ClusterCount;
                HANDLE DeleteHandle;
            };
        } SetFile;
        struct {
            ULONG Length;
            FS_INFORMATION_CLASS POINTER_ALIGNMENT FsInformationClass;
        } QueryVolume;
        struct {
            DEVICE_RELATION_TYPE Type;
        } QueryDeviceRelations;
        struct {
            PVOID AllocatedResources;
            PVOID AllocatedResourcesTranslated;
        } StartDevice;
        struct {
            SYSTEM_POWER_STATE PowerState;
        } WaitWake;
        struct {
            union {
                ULONG SystemContext;
                SYSTEM_POWER_STATE_CONTEXT SystemPowerStateContext;
            };
            POWER_STATE_TYPE POINTER_ALIGNMENT Type;
            POWER_STATE POINTER_ALIGNMENT State;
            POWER_ACTION POINTER_ALIGNMENT ShutdownType;
        } Power;
        struct {
            PVOID Argument1;
            PVOID Argument2;
            PVOID Argument3;
            PVOID Argument4;
        } Others;
    } Parameters;
    PDEVICE_OBJECT DeviceObject;
    PFILE_OBJECT FileObject;
    PIO_COMPLETION_ROUTINE CompletionRoutine;
    PVOID Context;
} IO_STACK_LOCATION;

typedef struct _IRP {
    CSHORT Type;
    USHORT Size;
    PMDL MdlAddress;
    ULONG Flags;
    union {
        struct _IRP *MasterIrp;
        volatile LONG IrpCount;
        PVOID SystemBuffer;
    } AssociatedIrp;
    LIST_ENTRY ThreadListEntry;
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    BOOLEAN PendingReturned;
    CHAR StackCount;
    CHAR CurrentLocation;
    BOOLEAN Cancel;
    KIRQL CancelIrql;
    CCHAR ApcEnvironment;
    UCHAR AllocationFlags;
    PIO_STATUS_BLOCK UserIosb;
    PKEVENT UserEvent;
    union {
        struct {
            PIO_APC_ROUTINE UserApcRoutine;
            PVOID UserApcContext;
        } AsynchronousParameters;
        LARGE_INTEGER AllocationSize;
    } Overlay;
    volatile PDRIVER_CANCEL CancelRoutine;
    PVOID UserBuffer;
    union {
        struct {
            union {
                KDEVICE_QUEUE_ENTRY DeviceQueueEntry;
                struct {
                    PVOID DriverContext[4];
                };
            };
            PETHREAD Thread;
            PCHAR AuxiliaryBuffer;
            struct {
                LIST_ENTRY ListEntry;
                union {
                    struct _IO_STACK_LOCATION *CurrentStackLocation;
                    ULONG PacketType;
                };
            };
            struct _FILE_OBJECT *OriginalFileObject;
        } Overlay;
        PVOID CompletionKey;
    } Tail;
    PVOID NtioPrivate; /* runtime-owned: the I/O manager's bookkeeping for this IRP */
} IRP;

/* Bytes of runtime state an IRP carries after its stack locations when a driver builds
 * it in its own memory (IoInitializeIrp); IoSizeOfIrp counts them. */
#define NTIO_IRP_PRIVATE_BYTES 64

/* ---- stack location helpers ---------------------------------------------------------------- */
FORCEINLINE PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp) { return Irp->Tail.Overlay.CurrentStackLocation; }
FORCEINLINE PIO_STACK_LOCATION IoGetNextIrpStackLocation(PIRP Irp) { return Irp->Tail.Overlay.CurrentStackLocation - 1; }
FORCEINLINE VOID IoSetNextIrpStackLocation(PIRP Irp) {
    Irp->CurrentLocation--;
    Irp->Tail.Overlay.CurrentStackLocation--;
}
FORCEINLINE VOID IoSkipCurrentIrpStackLocation(PIRP Irp) {
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
}
/* Reports NO_MORE_IRP_STACK_LOCATIONS for a helper that would write below the IRP's first
 * location (which overlaps the IRP itself) and tells it not to. The At form names the
 * driver's line (File NULL: none); the helpers below are macros that pass it, unless
 * NTIO_NO_CALL_SITES is defined. */
NTIO_API BOOLEAN NtioNoNextStackLocation(PIRP Irp, const char *Api);
NTIO_API BOOLEAN NtioNoNextStackLocationAt(PIRP Irp, const char *Api, PCSTR File, ULONG Line);
FORCEINLINE VOID NtioCopyCurrentIrpStackLocationToNextAt(PIRP Irp, PCSTR File, ULONG Line) {
    if (Irp->CurrentLocation <= 1 &&
        NtioNoNextStackLocationAt(Irp, "IoCopyCurrentIrpStackLocationToNext", File, Line))
        return;
    PIO_STACK_LOCATION cur = IoGetCurrentIrpStackLocation(Irp), next = IoGetNextIrpStackLocation(Irp);
    memcpy(next, cur, FIELD_OFFSET(IO_STACK_LOCATION, CompletionRoutine));
    next->Control = 0;
}
#ifdef NTIO_NO_CALL_SITES
FORCEINLINE VOID IoCopyCurrentIrpStackLocationToNext(PIRP Irp) { NtioCopyCurrentIrpStackLocationToNextAt(Irp, NULL, 0); }
#else
#define IoCopyCurrentIrpStackLocationToNext(Irp) NtioCopyCurrentIrpStackLocationToNextAt((Irp), __FILE__, __LINE__)
#endif
/* Set while the verifier keeps IRP histories: IoMarkIrpPending then records the call
 * (file and line) in the IRP's history. Read-only for drivers. */
NTIO_API extern unsigned char NtioVerifierTracksIrps;
NTIO_API VOID NtioNoteIrpPending(PIRP Irp, PCSTR File, ULONG Line);
FORCEINLINE VOID NtioMarkIrpPendingAt(PIRP Irp, PCSTR File, ULONG Line) {
    IoGetCurrentIrpStackLocation(Irp)->Control |= SL_PENDING_RETURNED;
    if (__atomic_load_n(&NtioVerifierTracksIrps, __ATOMIC_RELAXED)) NtioNoteIrpPending(Irp, File, Line);
}
#ifdef NTIO_NO_CALL_SITES
FORCEINLINE VOID IoMarkIrpPending(PIRP Irp) { NtioMarkIrpPendingAt(Irp, NULL, 0); }
#else
#define IoMarkIrpPending(Irp) NtioMarkIrpPendingAt((Irp), __FILE__, __LINE__)
#endif
FORCEINLINE VOID NtioSetCompletionRoutineAt(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                            BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel,
                                            PCSTR File, ULONG Line) {
    if (Irp->CurrentLocation <= 1 && NtioNoNextStackLocationAt(Irp, "IoSetCompletionRoutine", File, Line)) return;
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(Irp);
    next->CompletionRoutine = CompletionRoutine;
    next->Context = Context;
    next->Control = 0;
    if (InvokeOnSuccess) next->Control = SL_INVOKE_ON_SUCCESS;
    if (InvokeOnError) next->Control |= SL_INVOKE_ON_ERROR;
    if (InvokeOnCancel) next->Control |= SL_INVOKE_ON_CANCEL;
}
#ifdef NTIO_NO_CALL_SITES
FORCEINLINE VOID IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                        BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel) {
    NtioSetCompletionRoutineAt(Irp, CompletionRoutine, Context, InvokeOnSuccess, InvokeOnError, InvokeOnCancel, NULL, 0);
}
#else
#define IoSetCompletionRoutine(Irp, CompletionRoutine, Context, InvokeOnSuccess, InvokeOnError, InvokeOnCancel) \
    NtioSetCompletionRoutineAt((Irp), (CompletionRoutine), (Context), (InvokeOnSuccess), (InvokeOnError),      \
                               (InvokeOnCancel), __FILE__, __LINE__)
#endif
/* S-CAN-4: an atomic exchange that returns the previous routine. */
FORCEINLINE PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine) {
    return __atomic_exchange_n(&Irp->CancelRoutine, CancelRoutine, __ATOMIC_SEQ_CST);
}
FORCEINLINE ULONG IoGetFunctionCodeFromCtlCode(ULONG ControlCode) { return (ControlCode >> 2) & 0x00000FFF; }
#define IoSizeOfIrp(StackSize) \
    ((USHORT)(sizeof(IRP) + (StackSize) * sizeof(IO_STACK_LOCATION) + NTIO_IRP_PRIVATE_BYTES))

/* ---- routines ---------------------------------------------------------------------------------- */
NTIO_API NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
                                 DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                 PDEVICE_OBJECT *DeviceObject);
NTIO_API VOID IoDeleteDevice(PDEVICE_OBJECT DeviceObject);
NTIO_API NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName);
NTIO_API NTSTATUS IoCreateUnprotectedSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName);
NTIO_API NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName);

/* The device's DPC (DpcForIsr): DEVICE_OBJECT::Dpc, whose routine gets the device, the
   IRP and the context IoRequestDpc passes. The cast goes through a plain function type:
   the two routine types differ only in their pointer parameters' types, as in the WDK. */
FORCEINLINE VOID IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine) {
    KeInitializeDpc(&DeviceObject->Dpc, (PKDEFERRED_ROUTINE)(void (*)(void))DpcRoutine, DeviceObject);
}
FORCEINLINE VOID IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
    KeInsertQueueDpc(&DeviceObject->Dpc, Irp, Context);
}

/* The device's I/O timer (DEVICE_OBJECT::Timer): once started, its routine runs once a
   second at DISPATCH_LEVEL until IoStopTimer (docs/design.md, "The device's DPC and I/O timer"). */
typedef VOID IO_TIMER_ROUTINE(PDEVICE_OBJECT DeviceObject, PVOID Context);
typedef IO_TIMER_ROUTINE *PIO_TIMER_ROUTINE;
NTIO_API NTSTATUS IoInitializeTimer(PDEVICE_OBJECT DeviceObject, PIO_TIMER_ROUTINE TimerRoutine, PVOID Context);
NTIO_API VOID IoStartTimer(PDEVICE_OBJECT DeviceObject);
NTIO_API VOID IoStopTimer(PDEVICE_OBJECT DeviceObject);

/* Device stacks (S-IRP-4/5): requests to a device go to the top of its stack. */
NTIO_API PDEVICE_OBJECT IoGetAttachedDevice(PDEVICE_OBJECT DeviceObject);
NTIO_API PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject);
NTIO_API PDEVICE_OBJECT IoGetLowerDeviceObject(PDEVICE_OBJECT DeviceObject);
NTIO_API PDEVICE_OBJECT IoGetDeviceAttachmentBaseRef(PDEVICE_OBJECT DeviceObject);
NTIO_API PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject);
NTIO_API PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice);
NTIO_API NTSTATUS IoAttachDeviceToDeviceStackSafe(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice,
                                                  PDEVICE_OBJECT *AttachedToDeviceObject);
NTIO_API NTSTATUS IoAttachDevice(PDEVICE_OBJECT SourceDevice, PUNICODE_STRING TargetDevice,
                                 PDEVICE_OBJECT *AttachedDevice);
NTIO_API VOID IoDetachDevice(PDEVICE_OBJECT TargetDevice);
NTIO_API NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                           PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject);
/* The forward-and-wait pattern in one call: the current location copied to the next, a
 * routine that signals and stops the completion (STATUS_MORE_PROCESSING_REQUIRED), the
 * call, and a wait when it pended. TRUE when the IRP went down (its IoStatus holds the
 * lower driver's result; the caller completes it); FALSE, untouched, when the IRP has no
 * location left for the next driver. At PASSIVE_LEVEL. */
NTIO_API BOOLEAN IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp);
/* S-IRP-9: like IoSetCompletionRoutine, but the driver stays loaded until the routine has
 * returned; fails with STATUS_INSUFFICIENT_RESOURCES (and sets nothing) when out of memory. */
NTIO_API NTSTATUS IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                           PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                           BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel);

NTIO_API PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota);
NTIO_API VOID IoFreeIrp(PIRP Irp);

/* Driver-built IRPs (S-BLD-1..6). IoAllocateIrp, IoInitializeIrp and
 * IoBuildAsynchronousFsdRequest IRPs are the creator's to free (completion routine returning
 * STATUS_MORE_PROCESSING_REQUIRED, then IoFreeIrp; IoFreeIrp does not free MDLs or a system
 * buffer). IoBuildSynchronousFsdRequest and IoBuildDeviceIoControlRequest IRPs are freed
 * by the I/O manager: never IoFreeIrp them. */
NTIO_API VOID IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize);
NTIO_API VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus);
NTIO_API PIRP IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                            ULONG Length, PLARGE_INTEGER StartingOffset,
                                            PIO_STATUS_BLOCK IoStatusBlock);
NTIO_API PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                           ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                           PIO_STATUS_BLOCK IoStatusBlock);
NTIO_API PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject, PVOID InputBuffer,
                                            ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength,
                                            BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                            PIO_STATUS_BLOCK IoStatusBlock);
NTIO_API PIRP IoMakeAssociatedIrp(PIRP Irp, CCHAR StackSize);
NTIO_API NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
NTIO_API VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost);
/* The same with the caller's source line, which verifier reports quote. The macros use
 * them; code that defines NTIO_NO_CALL_SITES (or takes the functions' addresses) calls
 * the plain ones. */
NTIO_API NTSTATUS NtioCallDriverAt(PDEVICE_OBJECT DeviceObject, PIRP Irp, PCSTR File, ULONG Line);
NTIO_API VOID NtioCompleteRequestAt(PIRP Irp, CCHAR PriorityBoost, PCSTR File, ULONG Line);
#ifdef NTIO_NO_CALL_SITES
#define IoCallDriver(DeviceObject, Irp) IofCallDriver((DeviceObject), (Irp))
#define IoCompleteRequest(Irp, PriorityBoost) IofCompleteRequest((Irp), (PriorityBoost))
#else
#define IoCallDriver(DeviceObject, Irp) NtioCallDriverAt((DeviceObject), (Irp), __FILE__, __LINE__)
#define IoCompleteRequest(Irp, PriorityBoost) NtioCompleteRequestAt((Irp), (PriorityBoost), __FILE__, __LINE__)
#endif
/* Power (no power IRPs are ever sent by ntio; see docs/compat.md): since Windows Vista,
 * PoCallDriver is IoCallDriver and PoStartNextPowerIrp has nothing to do. PoSetPowerState
 * records the device's state and returns the one it replaces. */
NTIO_API NTSTATUS PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
NTIO_API VOID PoStartNextPowerIrp(PIRP Irp);
NTIO_API POWER_STATE PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type, POWER_STATE State);
#ifndef NTIO_NO_CALL_SITES
#define PoCallDriver(DeviceObject, Irp) NtioCallDriverAt((DeviceObject), (Irp), __FILE__, __LINE__)
#endif
NTIO_API PEPROCESS IoGetRequestorProcess(PIRP Irp);
NTIO_API BOOLEAN IoIsOperationSynchronous(PIRP Irp);
/* The process of the thread that issued the request; 0 for an IRP with no thread. */
NTIO_API ULONG IoGetRequestorProcessId(PIRP Irp);
/* FALSE: every requestor is a 64-bit process, so no 32-bit layout to thunk (S-DRT-2). */
NTIO_API BOOLEAN IoIs32bitProcess(PIRP Irp);
NTIO_API BOOLEAN IoIsSystemThread(PETHREAD Thread);
/* The failures a user can cause and fix (no media, a write-protected or wrong volume,
 * a device not ready or timed out), as the WDK's macro lists them. */
#define IoIsErrorUserInduced(Status)                                                          \
    ((BOOLEAN)((Status) == STATUS_DEVICE_NOT_READY || (Status) == STATUS_IO_TIMEOUT ||        \
               (Status) == STATUS_MEDIA_WRITE_PROTECTED || (Status) == STATUS_NO_MEDIA_IN_DEVICE || \
               (Status) == STATUS_UNRECOGNIZED_MEDIA || (Status) == STATUS_VERIFY_REQUIRED ||  \
               (Status) == STATUS_WRONG_VOLUME))
/* The calling thread's stack: its lowest and one-past-highest addresses, and the bytes
 * left below the current frame. */
NTIO_API VOID IoGetStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit);
NTIO_API ULONG_PTR IoGetRemainingStackSize(VOID);

NTIO_API NTSTATUS IoCheckShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                                     PSHARE_ACCESS ShareAccess, BOOLEAN Update);
NTIO_API VOID IoUpdateShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess);
NTIO_API VOID IoRemoveShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess);
NTIO_API VOID IoSetShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                               PSHARE_ACCESS ShareAccess);

/* ---- remove locks (S-RL-1..4) ------------------------------------------------------------ */
typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
    BOOLEAN Removed;
    BOOLEAN Reserved[3];
    volatile LONG IoCount;
    KEVENT RemoveEvent;
} IO_REMOVE_LOCK_COMMON_BLOCK;

typedef struct _IO_REMOVE_LOCK {
    IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK;

NTIO_API VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                       ULONG HighWatermark, ULONG RemlockSize);
NTIO_API NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                        ULONG RemlockSize);
NTIO_API VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);
NTIO_API VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);
#define IoInitializeRemoveLock(Lock, AllocateTag, MaxLockedMinutes, HighWatermark) \
    IoInitializeRemoveLockEx((Lock), (AllocateTag), (MaxLockedMinutes), (HighWatermark), sizeof(IO_REMOVE_LOCK))
#define IoAcquireRemoveLock(RemoveLock, Tag) \
    IoAcquireRemoveLockEx((RemoveLock), (PVOID)(Tag), __FILE__, __LINE__, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLock(RemoveLock, Tag) IoReleaseRemoveLockEx((RemoveLock), (PVOID)(Tag), sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag) \
    IoReleaseRemoveLockAndWaitEx((RemoveLock), (PVOID)(Tag), sizeof(IO_REMOVE_LOCK))

/* ---- device queues (S-DQ-1..4) ------------------------------------------------------------ */
NTIO_API VOID KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue);
NTIO_API BOOLEAN KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);
NTIO_API BOOLEAN KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry,
                                          ULONG SortKey);
NTIO_API PKDEVICE_QUEUE_ENTRY KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue);
NTIO_API PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey);
NTIO_API PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueueIfBusy(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey);
NTIO_API BOOLEAN KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);

/* ---- StartIo (S-DQ-5..10) -------------------------------------------------------------------- */
NTIO_API VOID IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key, PDRIVER_CANCEL CancelFunction);
NTIO_API VOID IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable);
NTIO_API VOID IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key);
NTIO_API VOID IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo, BOOLEAN NonCancelable);

/* ---- cancellation (S-CAN-1..7) ------------------------------------------------------------------ */
NTIO_API VOID IoAcquireCancelSpinLock(PKIRQL Irql);
NTIO_API VOID IoReleaseCancelSpinLock(KIRQL Irql);
NTIO_API BOOLEAN IoCancelIrp(PIRP Irp);

/* Cancel-safe queues. The library keeps its context in Irp->Tail.Overlay.DriverContext[3]. */
struct _IO_CSQ;
typedef VOID IO_CSQ_INSERT_IRP(struct _IO_CSQ *Csq, PIRP Irp);
typedef IO_CSQ_INSERT_IRP *PIO_CSQ_INSERT_IRP;
typedef NTSTATUS IO_CSQ_INSERT_IRP_EX(struct _IO_CSQ *Csq, PIRP Irp, PVOID InsertContext);
typedef IO_CSQ_INSERT_IRP_EX *PIO_CSQ_INSERT_IRP_EX;
typedef VOID IO_CSQ_REMOVE_IRP(struct _IO_CSQ *Csq, PIRP Irp);
typedef IO_CSQ_REMOVE_IRP *PIO_CSQ_REMOVE_IRP;
typedef PIRP IO_CSQ_PEEK_NEXT_IRP(struct _IO_CSQ *Csq, PIRP Irp, PVOID PeekContext);
typedef IO_CSQ_PEEK_NEXT_IRP *PIO_CSQ_PEEK_NEXT_IRP;
typedef VOID IO_CSQ_ACQUIRE_LOCK(struct _IO_CSQ *Csq, PKIRQL Irql);
typedef IO_CSQ_ACQUIRE_LOCK *PIO_CSQ_ACQUIRE_LOCK;
typedef VOID IO_CSQ_RELEASE_LOCK(struct _IO_CSQ *Csq, KIRQL Irql);
typedef IO_CSQ_RELEASE_LOCK *PIO_CSQ_RELEASE_LOCK;
typedef VOID IO_CSQ_COMPLETE_CANCELED_IRP(struct _IO_CSQ *Csq, PIRP Irp);
typedef IO_CSQ_COMPLETE_CANCELED_IRP *PIO_CSQ_COMPLETE_CANCELED_IRP;

#define IO_TYPE_CSQ_IRP_CONTEXT 1
#define IO_TYPE_CSQ 2
#define IO_TYPE_CSQ_EX 3

typedef struct _IO_CSQ {
    ULONG Type;
    PIO_CSQ_INSERT_IRP CsqInsertIrp;
    PIO_CSQ_REMOVE_IRP CsqRemoveIrp;
    PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp;
    PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock;
    PIO_CSQ_RELEASE_LOCK CsqReleaseLock;
    PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp;
    PIO_CSQ_INSERT_IRP_EX CsqInsertIrpEx; /* set by IoCsqInitializeEx */
    PVOID ReservePointer;
} IO_CSQ, *PIO_CSQ;

typedef struct _IO_CSQ_IRP_CONTEXT {
    ULONG Type;
    PIRP Irp;
    PIO_CSQ Csq;
} IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;

NTIO_API NTSTATUS IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                  PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                  PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                  PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
NTIO_API NTSTATUS IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                    PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                    PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                    PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
NTIO_API VOID IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context);
NTIO_API NTSTATUS IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, PVOID InsertContext);
NTIO_API PIRP IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext);
NTIO_API PIRP IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context);

/* ---- I/O work items ---------------------------------------------------------------
 * ExQueueWorkItem's safe form: the device (or driver) object stays referenced while the
 * item is queued and its routine runs, so the driver's code and the object outlive it.
 * The routine may free its own item (IoFreeWorkItem) or queue it again. */
typedef struct _IO_WORKITEM *PIO_WORKITEM;
typedef VOID IO_WORKITEM_ROUTINE(PDEVICE_OBJECT DeviceObject, PVOID Context);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;
typedef VOID IO_WORKITEM_ROUTINE_EX(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem);
typedef IO_WORKITEM_ROUTINE_EX *PIO_WORKITEM_ROUTINE_EX;

NTIO_API PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject);
NTIO_API VOID IoFreeWorkItem(PIO_WORKITEM IoWorkItem);
NTIO_API VOID IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine, WORK_QUEUE_TYPE QueueType,
                              PVOID Context);
NTIO_API VOID IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                                WORK_QUEUE_TYPE QueueType, PVOID Context);
/* A work item in the driver's own memory: IoSizeofWorkItem() bytes, IoInitializeWorkItem
 * with a device or driver object, IoUninitializeWorkItem before the memory goes. */
NTIO_API ULONG IoSizeofWorkItem(VOID);
NTIO_API VOID IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem);
NTIO_API VOID IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem);

/* ---- The system error log -----------------------------------------------------------
 * A driver reports a device error as Windows's Event Viewer shows it: IoAllocateErrorLogEntry
 * gives a zeroed packet of EntrySize bytes (NULL when the object is not a device or driver
 * object, or EntrySize is smaller than the packet itself; a driver must carry on without
 * it), the driver fills it and IoWriteErrorLogEntry records and frees it, or
 * IoFreeErrorLogEntry frees it unwritten. ntio records an entry as one line of the debug
 * output (where DbgPrint goes) and in the IRP trace (docs/running.md, "The error log"). */
typedef struct _IO_ERROR_LOG_PACKET {
    UCHAR MajorFunctionCode;
    UCHAR RetryCount;
    USHORT DumpDataSize; /* bytes of DumpData */
    USHORT NumberOfStrings;
    USHORT StringOffset; /* from the packet's start: NumberOfStrings NUL-terminated WCHAR strings */
    USHORT EventCategory;
    NTSTATUS ErrorCode; /* the message id (IO_ERR_* or the driver's message file's) */
    ULONG UniqueErrorValue;
    NTSTATUS FinalStatus;
    ULONG SequenceNumber;
    ULONG IoControlCode;
    LARGE_INTEGER DeviceOffset;
    ULONG DumpData[1];
} IO_ERROR_LOG_PACKET, *PIO_ERROR_LOG_PACKET;

/* The message the I/O manager hands the event log service: the packet after a header,
 * and the driver's name. The size limits below follow from it, as in the WDK. */
typedef struct _IO_ERROR_LOG_MESSAGE {
    USHORT Type;
    USHORT Size;
    USHORT DriverNameLength;
    LARGE_INTEGER TimeStamp;
    ULONG DriverNameOffset;
    IO_ERROR_LOG_PACKET EntryData;
} IO_ERROR_LOG_MESSAGE, *PIO_ERROR_LOG_MESSAGE;

#define ERROR_LOG_LIMIT_SIZE (256 - 16)
#define IO_ERROR_LOG_MESSAGE_HEADER_LENGTH \
    (sizeof(IO_ERROR_LOG_MESSAGE) - sizeof(IO_ERROR_LOG_PACKET) + (sizeof(WCHAR) * 40))
#define ERROR_LOG_MESSAGE_LIMIT_SIZE 512
#define PORT_MAXIMUM_MESSAGE_LENGTH 512
#define IO_ERROR_LOG_MESSAGE_LENGTH                                                        \
    ((PORT_MAXIMUM_MESSAGE_LENGTH > ERROR_LOG_MESSAGE_LIMIT_SIZE) ? ERROR_LOG_MESSAGE_LIMIT_SIZE \
                                                                  : PORT_MAXIMUM_MESSAGE_LENGTH)
#define ERROR_LOG_MAXIMUM_SIZE (IO_ERROR_LOG_MESSAGE_LENGTH - IO_ERROR_LOG_MESSAGE_HEADER_LENGTH)

/* ---- Shutdown notification ---------------------------------------------------------------
 * A registered device gets IRP_MJ_SHUTDOWN (at its stack's top, PASSIVE_LEVEL, a system
 * thread) when the runtime ends, after the handles closed and before any driver unloads:
 * newest registration first, the last-chance list after the others. IoDeleteDevice
 * unregisters a device still registered. */
NTIO_API NTSTATUS IoRegisterShutdownNotification(PDEVICE_OBJECT DeviceObject);
NTIO_API NTSTATUS IoRegisterLastChanceShutdownNotification(PDEVICE_OBJECT DeviceObject);
NTIO_API VOID IoUnregisterShutdownNotification(PDEVICE_OBJECT DeviceObject);

/* ---- Driver object extensions (S-DRVX-1..2) -------------------------------------------
 * A zeroed context area per (driver object, ClientIdentificationAddress), found again with
 * IoGetDriverObjectExtension (NULL when there is none) and freed with the driver object.
 * A second one with the same address is STATUS_OBJECT_NAME_COLLISION. At IRQL <=
 * DISPATCH_LEVEL. */
NTIO_API NTSTATUS IoAllocateDriverObjectExtension(PDRIVER_OBJECT DriverObject, PVOID ClientIdentificationAddress,
                                                  ULONG DriverObjectExtensionSize, PVOID *DriverObjectExtension);
NTIO_API PVOID IoGetDriverObjectExtension(PDRIVER_OBJECT DriverObject, PVOID ClientIdentificationAddress);

/* ---- Reinitialization (S-DRVX-3..5) ----------------------------------------------------
 * The routine runs once the drivers loaded together have all initialized: for `ntio run
 * --driver` (NTIO_DRIVERS), after the last one's DriverEntry and devices and before the
 * program's main; for System::load_driver, when that driver has loaded. At PASSIVE_LEVEL
 * on a system thread, Count being how many times the driver's routines were called,
 * this call included. It may register itself again to run after the others. A boot
 * driver's routine (IoRegisterBootDriverReinitialization) runs at the same point, after
 * the ordinary ones: ntio starts every driver after the devices exist. */
typedef VOID DRIVER_REINITIALIZE(struct _DRIVER_OBJECT *DriverObject, PVOID Context, ULONG Count);
typedef DRIVER_REINITIALIZE *PDRIVER_REINITIALIZE;
NTIO_API VOID IoRegisterDriverReinitialization(PDRIVER_OBJECT DriverObject,
                                               PDRIVER_REINITIALIZE DriverReinitializationRoutine, PVOID Context);
NTIO_API VOID IoRegisterBootDriverReinitialization(PDRIVER_OBJECT DriverObject,
                                                   PDRIVER_REINITIALIZE DriverReinitializationRoutine, PVOID Context);

NTIO_API PVOID IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize);
NTIO_API VOID IoWriteErrorLogEntry(PVOID ElEntry);
NTIO_API VOID IoFreeErrorLogEntry(PVOID ElEntry);

NTIO_EXTERN_C_END
#endif
