/* ntio compat: the Nt* system services for synchronization objects and handles.
 * The Win32 layer (CreateEvent, WaitForSingleObject, ...) is a thin translation
 * of these, as kernelbase is of ntdll on Windows. */
#ifndef NTIO_COMPAT_KERNEL_NT_SERVICES_H
#define NTIO_COMPAT_KERNEL_NT_SERVICES_H

NTIO_EXTERN_C_BEGIN

/* A request's final status and byte count (an OVERLAPPED's Internal and InternalHigh). */
typedef struct _IO_STATUS_BLOCK {
    union {
        NTSTATUS Status;
        PVOID Pointer;
    };
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;
typedef VOID NTIO_IO_APC_ROUTINE(PVOID ApcContext, struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG Reserved);

/* Drivers by their service key (\Registry\Machine\System\CurrentControlSet\Services\
 * <name>, whose ImagePath names the module; docs/design.md, S-SCM). NtLoadDriver runs
 * DriverEntry before it returns; NtUnloadDriver calls DriverUnload, or later when a
 * device of the driver still has open handles. */
NTIO_API NTSTATUS NtLoadDriver(PUNICODE_STRING DriverServiceName);
NTIO_API NTSTATUS ZwLoadDriver(PUNICODE_STRING DriverServiceName);
NTIO_API NTSTATUS NtUnloadDriver(PUNICODE_STRING DriverServiceName);
NTIO_API NTSTATUS ZwUnloadDriver(PUNICODE_STRING DriverServiceName);

/* Files and devices. IoStatusBlock/ApcRoutine are PIO_STATUS_BLOCK/PIO_APC_ROUTINE. */
NTIO_API NTSTATUS NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                               struct _IO_STATUS_BLOCK *IoStatusBlock, PLARGE_INTEGER AllocationSize,
                               ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions,
                               PVOID EaBuffer, ULONG EaLength);
/* ZwCreateFile with FILE_OPEN, no allocation size, attributes or extended attributes. */
NTIO_API NTSTATUS ZwOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions);
NTIO_API NTSTATUS NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG ShareAccess, ULONG OpenOptions);
NTIO_API NTSTATUS NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine,
                                        PVOID ApcContext, struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG IoControlCode,
                                        PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                        ULONG OutputBufferLength);
NTIO_API NTSTATUS NtFsControlFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                                  struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG FsControlCode, PVOID InputBuffer,
                                  ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength);
NTIO_API NTSTATUS NtReadFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                             PLARGE_INTEGER ByteOffset, PULONG Key);
NTIO_API NTSTATUS NtWriteFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                              struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                              PLARGE_INTEGER ByteOffset, PULONG Key);
NTIO_API NTSTATUS NtCancelIoFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS NtCancelIoFileEx(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoRequestToCancel,
                                   struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS NtCancelSynchronousIoFile(HANDLE ThreadHandle, struct _IO_STATUS_BLOCK *IoRequestToCancel,
                                            struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                               struct _IO_STATUS_BLOCK *IoStatusBlock, PLARGE_INTEGER AllocationSize,
                               ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions,
                               PVOID EaBuffer, ULONG EaLength);
NTIO_API NTSTATUS ZwDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine,
                                        PVOID ApcContext, struct _IO_STATUS_BLOCK *IoStatusBlock, ULONG IoControlCode,
                                        PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                        ULONG OutputBufferLength);
NTIO_API NTSTATUS ZwReadFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                             struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                             PLARGE_INTEGER ByteOffset, PULONG Key);
NTIO_API NTSTATUS ZwWriteFile(HANDLE FileHandle, HANDLE Event, NTIO_IO_APC_ROUTINE *ApcRoutine, PVOID ApcContext,
                              struct _IO_STATUS_BLOCK *IoStatusBlock, PVOID Buffer, ULONG Length,
                              PLARGE_INTEGER ByteOffset, PULONG Key);

/* File information (NtQueryInformationFile / NtSetInformationFile). Only the classes a
 * device's driver can be asked about are named; the I/O manager answers
 * FilePositionInformation on a synchronous file object, FileModeInformation and
 * FileAlignmentInformation itself and sends the others to the driver
 * (IRP_MJ_QUERY_INFORMATION / IRP_MJ_SET_INFORMATION). The numbers are Windows's. */
typedef enum _FILE_INFORMATION_CLASS {
    FileBasicInformation = 4,
    FileStandardInformation = 5,
    FileInternalInformation = 6,
    FileEaInformation = 7,
    FileAccessInformation = 8,
    FileNameInformation = 9,
    FileDispositionInformation = 13,
    FilePositionInformation = 14,
    FileModeInformation = 16,
    FileAlignmentInformation = 17,
    FileAllInformation = 18,
    FileAllocationInformation = 19,
    FileEndOfFileInformation = 20,
    FileAttributeTagInformation = 35,
    FileMaximumInformation = 77
} FILE_INFORMATION_CLASS, *PFILE_INFORMATION_CLASS;

typedef struct _FILE_BASIC_INFORMATION {
    LARGE_INTEGER CreationTime;
    LARGE_INTEGER LastAccessTime;
    LARGE_INTEGER LastWriteTime;
    LARGE_INTEGER ChangeTime;
    ULONG FileAttributes;
} FILE_BASIC_INFORMATION, *PFILE_BASIC_INFORMATION;
typedef struct _FILE_STANDARD_INFORMATION {
    LARGE_INTEGER AllocationSize;
    LARGE_INTEGER EndOfFile;
    ULONG NumberOfLinks;
    BOOLEAN DeletePending;
    BOOLEAN Directory;
} FILE_STANDARD_INFORMATION, *PFILE_STANDARD_INFORMATION;
typedef struct _FILE_INTERNAL_INFORMATION {
    LARGE_INTEGER IndexNumber;
} FILE_INTERNAL_INFORMATION, *PFILE_INTERNAL_INFORMATION;
typedef struct _FILE_EA_INFORMATION {
    ULONG EaSize;
} FILE_EA_INFORMATION, *PFILE_EA_INFORMATION;
typedef struct _FILE_ACCESS_INFORMATION {
    ACCESS_MASK AccessFlags;
} FILE_ACCESS_INFORMATION, *PFILE_ACCESS_INFORMATION;
typedef struct _FILE_NAME_INFORMATION {
    ULONG FileNameLength;
    WCHAR FileName[1];
} FILE_NAME_INFORMATION, *PFILE_NAME_INFORMATION;
typedef struct _FILE_DISPOSITION_INFORMATION {
    BOOLEAN DeleteFile;
} FILE_DISPOSITION_INFORMATION, *PFILE_DISPOSITION_INFORMATION;
typedef struct _FILE_POSITION_INFORMATION {
    LARGE_INTEGER CurrentByteOffset;
} FILE_POSITION_INFORMATION, *PFILE_POSITION_INFORMATION;
typedef struct _FILE_MODE_INFORMATION {
    ULONG Mode;
} FILE_MODE_INFORMATION, *PFILE_MODE_INFORMATION;
typedef struct _FILE_ALIGNMENT_INFORMATION {
    ULONG AlignmentRequirement;
} FILE_ALIGNMENT_INFORMATION, *PFILE_ALIGNMENT_INFORMATION;
typedef struct _FILE_ALLOCATION_INFORMATION {
    LARGE_INTEGER AllocationSize;
} FILE_ALLOCATION_INFORMATION, *PFILE_ALLOCATION_INFORMATION;
typedef struct _FILE_END_OF_FILE_INFORMATION {
    LARGE_INTEGER EndOfFile;
} FILE_END_OF_FILE_INFORMATION, *PFILE_END_OF_FILE_INFORMATION;
typedef struct _FILE_ATTRIBUTE_TAG_INFORMATION {
    ULONG FileAttributes;
    ULONG ReparseTag;
} FILE_ATTRIBUTE_TAG_INFORMATION, *PFILE_ATTRIBUTE_TAG_INFORMATION;
/* Every class a driver answers about a file, in one request (GetFileInformationByHandle's):
 * a buffer of sizeof(FILE_ALL_INFORMATION) holds one WCHAR of the name, so a longer name
 * is STATUS_BUFFER_OVERFLOW with the rest filled in. */
typedef struct _FILE_ALL_INFORMATION {
    FILE_BASIC_INFORMATION BasicInformation;
    FILE_STANDARD_INFORMATION StandardInformation;
    FILE_INTERNAL_INFORMATION InternalInformation;
    FILE_EA_INFORMATION EaInformation;
    FILE_ACCESS_INFORMATION AccessInformation;
    FILE_POSITION_INFORMATION PositionInformation;
    FILE_MODE_INFORMATION ModeInformation;
    FILE_ALIGNMENT_INFORMATION AlignmentInformation;
    FILE_NAME_INFORMATION NameInformation;
} FILE_ALL_INFORMATION, *PFILE_ALL_INFORMATION;

/* Volume information: the I/O manager answers FileFsDeviceInformation from the device
 * object; the other classes go to the driver (IRP_MJ_QUERY_VOLUME_INFORMATION). */
typedef enum _FSINFOCLASS {
    FileFsVolumeInformation = 1,
    FileFsSizeInformation = 3,
    FileFsDeviceInformation = 4,
    FileFsAttributeInformation = 5,
    FileFsMaximumInformation = 14
} FS_INFORMATION_CLASS, *PFS_INFORMATION_CLASS;
typedef struct _FILE_FS_VOLUME_INFORMATION {
    LARGE_INTEGER VolumeCreationTime;
    ULONG VolumeSerialNumber;
    ULONG VolumeLabelLength; /* bytes */
    BOOLEAN SupportsObjects;
    WCHAR VolumeLabel[1];
} FILE_FS_VOLUME_INFORMATION, *PFILE_FS_VOLUME_INFORMATION;
typedef struct _FILE_FS_DEVICE_INFORMATION {
    ULONG DeviceType; /* DEVICE_TYPE */
    ULONG Characteristics;
} FILE_FS_DEVICE_INFORMATION, *PFILE_FS_DEVICE_INFORMATION;

NTIO_API NTSTATUS NtQueryInformationFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock,
                                         PVOID FileInformation, ULONG Length,
                                         FILE_INFORMATION_CLASS FileInformationClass);
NTIO_API NTSTATUS NtSetInformationFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock,
                                       PVOID FileInformation, ULONG Length,
                                       FILE_INFORMATION_CLASS FileInformationClass);
NTIO_API NTSTATUS NtQueryVolumeInformationFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock,
                                               PVOID FsInformation, ULONG Length,
                                               FS_INFORMATION_CLASS FsInformationClass);
NTIO_API NTSTATUS NtFlushBuffersFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock);
NTIO_API NTSTATUS ZwQueryInformationFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock,
                                         PVOID FileInformation, ULONG Length,
                                         FILE_INFORMATION_CLASS FileInformationClass);
NTIO_API NTSTATUS ZwSetInformationFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock,
                                       PVOID FileInformation, ULONG Length,
                                       FILE_INFORMATION_CLASS FileInformationClass);
NTIO_API NTSTATUS ZwQueryVolumeInformationFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock,
                                               PVOID FsInformation, ULONG Length,
                                               FS_INFORMATION_CLASS FsInformationClass);
NTIO_API NTSTATUS ZwFlushBuffersFile(HANDLE FileHandle, struct _IO_STATUS_BLOCK *IoStatusBlock);

NTIO_API NTSTATUS NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                EVENT_TYPE EventType, BOOLEAN InitialState);
NTIO_API NTSTATUS NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTIO_API NTSTATUS NtSetEvent(HANDLE EventHandle, PLONG PreviousState);
NTIO_API NTSTATUS NtResetEvent(HANDLE EventHandle, PLONG PreviousState);
NTIO_API NTSTATUS NtClearEvent(HANDLE EventHandle);
NTIO_API NTSTATUS NtPulseEvent(HANDLE EventHandle, PLONG PreviousState);
NTIO_API NTSTATUS NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount, LONG MaximumCount);
NTIO_API NTSTATUS NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTIO_API NTSTATUS NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount);
NTIO_API NTSTATUS NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                 BOOLEAN InitialOwner);
NTIO_API NTSTATUS NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes);
NTIO_API NTSTATUS NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);
NTIO_API NTSTATUS NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTIO_API NTSTATUS NtWaitForMultipleObjects(ULONG Count, const HANDLE *Handles, WAIT_TYPE WaitType, BOOLEAN Alertable,
                                           PLARGE_INTEGER Timeout);
NTIO_API NTSTATUS NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER DelayInterval);
NTIO_API NTSTATUS NtSignalAndWaitForSingleObject(HANDLE SignalHandle, HANDLE WaitHandle, BOOLEAN Alertable,
                                                 PLARGE_INTEGER Timeout);
/* User APCs: a routine queued to a thread runs when that thread next waits alertably in
 * user mode (the wait then returns STATUS_USER_APC), or calls NtTestAlert. The handle
 * needs THREAD_SET_CONTEXT; a thread that has ended gets STATUS_UNSUCCESSFUL. */
typedef VOID (NTAPI *PPS_APC_ROUTINE)(PVOID ApcArgument1, PVOID ApcArgument2, PVOID ApcArgument3);
NTIO_API NTSTATUS NtQueueApcThread(HANDLE ThreadHandle, PPS_APC_ROUTINE ApcRoutine, PVOID ApcArgument1,
                                   PVOID ApcArgument2, PVOID ApcArgument3);
NTIO_API NTSTATUS NtTestAlert(VOID);
NTIO_API NTSTATUS NtClose(HANDLE Handle);
#ifndef DUPLICATE_CLOSE_SOURCE
#define DUPLICATE_CLOSE_SOURCE 0x00000001U
#define DUPLICATE_SAME_ACCESS 0x00000002U
#endif
#define DUPLICATE_SAME_ATTRIBUTES 0x00000004U
/* HandleAttributes: OBJ_INHERIT and OBJ_PROTECT_CLOSE give the new handle those flags;
 * DUPLICATE_SAME_ATTRIBUTES gives it the source's instead (S-OBH-4). */
NTIO_API NTSTATUS NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                                    PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                    ULONG Options);
NTIO_API NTSTATUS ZwDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                                    PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                    ULONG Options);
typedef enum _OBJECT_INFORMATION_CLASS {
    ObjectBasicInformation = 0,
    ObjectNameInformation = 1,
    ObjectTypeInformation = 2,
    ObjectTypesInformation = 3,
    ObjectHandleFlagInformation = 4,
    ObjectSessionInformation = 5,
    ObjectSessionObjectInformation = 6
} OBJECT_INFORMATION_CLASS;
/* Only ObjectHandleFlagInformation (an OBJECT_HANDLE_FLAG_INFORMATION, exactly its size) is
 * implemented; the other classes fail with STATUS_NOT_IMPLEMENTED (docs/compat.md). */
NTIO_API NTSTATUS NtQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                PVOID ObjectInformation, ULONG ObjectInformationLength, PULONG ReturnLength);
NTIO_API NTSTATUS ZwQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                PVOID ObjectInformation, ULONG ObjectInformationLength, PULONG ReturnLength);
NTIO_API NTSTATUS NtSetInformationObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                         PVOID ObjectInformation, ULONG ObjectInformationLength);
NTIO_API NTSTATUS ZwSetInformationObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                         PVOID ObjectInformation, ULONG ObjectInformationLength);

NTIO_EXTERN_C_END
#endif
