/* ntio compat, Win32 side: opening devices and overlapped I/O. Part of <windows.h>. */
#ifndef NTIO_COMPAT_WIN32_FILE_H
#define NTIO_COMPAT_WIN32_FILE_H

NTIO_EXTERN_C_BEGIN

/* Internal/InternalHigh are the request's IO_STATUS_BLOCK (status, bytes). */
typedef struct _OVERLAPPED {
    ULONG_PTR Internal;
    ULONG_PTR InternalHigh;
    union {
        struct {
            DWORD Offset;
            DWORD OffsetHigh;
        };
        PVOID Pointer;
    };
    HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

typedef VOID(WINAPI *LPOVERLAPPED_COMPLETION_ROUTINE)(DWORD dwErrorCode, DWORD dwNumberOfBytesTransfered,
                                                      LPOVERLAPPED lpOverlapped);

#define CREATE_NEW 1
#define CREATE_ALWAYS 2
#define OPEN_EXISTING 3
#define OPEN_ALWAYS 4
#define TRUNCATE_EXISTING 5

#define FILE_FLAG_WRITE_THROUGH 0x80000000U
#define FILE_FLAG_OVERLAPPED 0x40000000U
#define FILE_FLAG_NO_BUFFERING 0x20000000U
#define FILE_FLAG_RANDOM_ACCESS 0x10000000U
#define FILE_FLAG_SEQUENTIAL_SCAN 0x08000000U
#define FILE_FLAG_DELETE_ON_CLOSE 0x04000000U
#define FILE_FLAG_BACKUP_SEMANTICS 0x02000000U

/* A memory read, no system call (S-W32-8). The read is atomic (acquire), because the
 * request may be completing on another thread: it pairs with the completion's store of
 * the status, so that ThreadSanitizer sees the poll as the synchronization it is, and a
 * poller that sees the request done also sees InternalHigh. */
#define HasOverlappedIoCompleted(lpOverlapped) \
    ((DWORD)__atomic_load_n((const LONG*)&(lpOverlapped)->Internal, __ATOMIC_ACQUIRE) != (DWORD)STATUS_PENDING)

NTIO_API HANDLE CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                            LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                            DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
NTIO_API HANDLE CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                            LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                            DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
/* CreateFile2 (Windows 8): CreateFileW with the attributes, flags and security-QoS flags
 * in a parameter block (NULL for none); docs/design.md, S-W32F-1. */
typedef struct _CREATEFILE2_EXTENDED_PARAMETERS {
    DWORD dwSize;
    DWORD dwFileAttributes;
    DWORD dwFileFlags;
    DWORD dwSecurityQosFlags;
    LPSECURITY_ATTRIBUTES lpSecurityAttributes;
    HANDLE hTemplateFile;
} CREATEFILE2_EXTENDED_PARAMETERS, *PCREATEFILE2_EXTENDED_PARAMETERS, *LPCREATEFILE2_EXTENDED_PARAMETERS;
NTIO_API HANDLE CreateFile2(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                            DWORD dwCreationDisposition, LPCREATEFILE2_EXTENDED_PARAMETERS pCreateExParams);
NTIO_API BOOL DeviceIoControl(HANDLE hDevice, DWORD dwIoControlCode, LPVOID lpInBuffer, DWORD nInBufferSize,
                              LPVOID lpOutBuffer, DWORD nOutBufferSize, LPDWORD lpBytesReturned,
                              LPOVERLAPPED lpOverlapped);
NTIO_API BOOL ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
                       LPOVERLAPPED lpOverlapped);
NTIO_API BOOL WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPDWORD lpNumberOfBytesWritten,
                        LPOVERLAPPED lpOverlapped);
/* Overlapped reads and writes that report through a completion routine, run as a user
 * APC in the calling thread's next alertable wait; hEvent is left to the caller. */
NTIO_API BOOL ReadFileEx(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPOVERLAPPED lpOverlapped,
                         LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
NTIO_API BOOL WriteFileEx(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPOVERLAPPED lpOverlapped,
                          LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
NTIO_API BOOL GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                  BOOL bWait);
NTIO_API BOOL GetOverlappedResultEx(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                    DWORD dwMilliseconds, BOOL bAlertable);

/* The file pointer, size and type, and flushing (S-INF-7): translations to
 * NtSetInformationFile / NtQueryInformationFile (FilePositionInformation,
 * FileStandardInformation), NtQueryVolumeInformationFile (FileFsDeviceInformation) and
 * NtFlushBuffersFile. A device's size and flush are its driver's to answer. */
#define FILE_BEGIN 0
#define FILE_CURRENT 1
#define FILE_END 2
#define INVALID_SET_FILE_POINTER ((DWORD)-1)
#define INVALID_FILE_SIZE ((DWORD)0xFFFFFFFF)
#define FILE_TYPE_UNKNOWN 0x0000
#define FILE_TYPE_DISK 0x0001
#define FILE_TYPE_CHAR 0x0002
#define FILE_TYPE_PIPE 0x0003
#define FILE_TYPE_REMOTE 0x8000

NTIO_API DWORD SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh, DWORD dwMoveMethod);
NTIO_API BOOL SetFilePointerEx(HANDLE hFile, LARGE_INTEGER liDistanceToMove, PLARGE_INTEGER lpNewFilePointer,
                               DWORD dwMoveMethod);
NTIO_API DWORD GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh);
NTIO_API BOOL GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize);
NTIO_API DWORD GetFileType(HANDLE hFile);
/* The process's current directory (the host's), as Windows reports it: the length without
 * the terminator when it fits, else the size needed with it; 0 and the error on failure.
 * The A form passes the host's bytes through; the W form widens them (UTF-8). */
NTIO_API DWORD GetCurrentDirectoryA(DWORD nBufferLength, LPSTR lpBuffer);
NTIO_API DWORD GetCurrentDirectoryW(DWORD nBufferLength, LPWSTR lpBuffer);
#ifdef UNICODE
#define GetCurrentDirectory GetCurrentDirectoryW
#else
#define GetCurrentDirectory GetCurrentDirectoryA
#endif
/* The target of the MS-DOS device name (the \?? symbolic link a driver made with
 * IoCreateSymbolicLink) as a MULTI_SZ, or with a NULL name every such name; the count of
 * characters stored, both final NULs included. ERROR_FILE_NOT_FOUND for an unknown name,
 * ERROR_INSUFFICIENT_BUFFER when the list does not fit. */
NTIO_API DWORD QueryDosDeviceA(LPCSTR lpDeviceName, LPSTR lpTargetPath, DWORD ucchMax);
NTIO_API DWORD QueryDosDeviceW(LPCWSTR lpDeviceName, LPWSTR lpTargetPath, DWORD ucchMax);
#ifdef UNICODE
#define QueryDosDevice QueryDosDeviceW
#else
#define QueryDosDevice QueryDosDeviceA
#endif
NTIO_API BOOL FlushFileBuffers(HANDLE hFile);
/* The end of file at the file pointer (FileEndOfFileInformation to the driver). */
NTIO_API BOOL SetEndOfFile(HANDLE hFile);

/* File information by handle (S-INF-8..10). GetFileInformationByHandle asks the driver
 * for FileAllInformation and the volume's FileFsVolumeInformation; the Ex calls map a
 * FILE_INFO_BY_HANDLE_CLASS to its one NT class. WCHAR is 4 bytes here: FileNameLength
 * counts bytes, as on Windows, so it is 4 per character. */
typedef struct _BY_HANDLE_FILE_INFORMATION {
    DWORD dwFileAttributes;
    FILETIME ftCreationTime;
    FILETIME ftLastAccessTime;
    FILETIME ftLastWriteTime;
    DWORD dwVolumeSerialNumber;
    DWORD nFileSizeHigh;
    DWORD nFileSizeLow;
    DWORD nNumberOfLinks;
    DWORD nFileIndexHigh;
    DWORD nFileIndexLow;
} BY_HANDLE_FILE_INFORMATION, *PBY_HANDLE_FILE_INFORMATION, *LPBY_HANDLE_FILE_INFORMATION;

typedef enum _FILE_INFO_BY_HANDLE_CLASS {
    FileBasicInfo = 0,
    FileStandardInfo = 1,
    FileNameInfo = 2,
    FileRenameInfo = 3,
    FileDispositionInfo = 4,
    FileAllocationInfo = 5,
    FileEndOfFileInfo = 6,
    FileStreamInfo = 7,
    FileCompressionInfo = 8,
    FileAttributeTagInfo = 9,
    FileIdBothDirectoryInfo = 10,
    FileIdBothDirectoryRestartInfo = 11,
    FileIoPriorityHintInfo = 12,
    FileRemoteProtocolInfo = 13,
    FileFullDirectoryInfo = 14,
    FileFullDirectoryRestartInfo = 15,
    FileStorageInfo = 16,
    FileAlignmentInfo = 17,
    FileIdInfo = 18,
    FileIdExtdDirectoryInfo = 19,
    FileIdExtdDirectoryRestartInfo = 20,
    FileDispositionInfoEx = 21,
    FileRenameInfoEx = 22,
    FileCaseSensitiveInfo = 23,
    FileNormalizedNameInfo = 24,
    MaximumFileInfoByHandleClass = 25
} FILE_INFO_BY_HANDLE_CLASS, *PFILE_INFO_BY_HANDLE_CLASS;

typedef struct _FILE_BASIC_INFO {
    LARGE_INTEGER CreationTime;
    LARGE_INTEGER LastAccessTime;
    LARGE_INTEGER LastWriteTime;
    LARGE_INTEGER ChangeTime;
    DWORD FileAttributes;
} FILE_BASIC_INFO, *PFILE_BASIC_INFO;
typedef struct _FILE_STANDARD_INFO {
    LARGE_INTEGER AllocationSize;
    LARGE_INTEGER EndOfFile;
    DWORD NumberOfLinks;
    BOOLEAN DeletePending;
    BOOLEAN Directory;
} FILE_STANDARD_INFO, *PFILE_STANDARD_INFO;
typedef struct _FILE_NAME_INFO {
    DWORD FileNameLength; /* bytes */
    WCHAR FileName[1];
} FILE_NAME_INFO, *PFILE_NAME_INFO;
typedef struct _FILE_END_OF_FILE_INFO {
    LARGE_INTEGER EndOfFile;
} FILE_END_OF_FILE_INFO, *PFILE_END_OF_FILE_INFO;
typedef struct _FILE_ALLOCATION_INFO {
    LARGE_INTEGER AllocationSize;
} FILE_ALLOCATION_INFO, *PFILE_ALLOCATION_INFO;
typedef struct _FILE_DISPOSITION_INFO {
    BOOLEAN DeleteFile;
} FILE_DISPOSITION_INFO, *PFILE_DISPOSITION_INFO;
typedef struct _FILE_ATTRIBUTE_TAG_INFO {
    DWORD FileAttributes;
    DWORD ReparseTag;
} FILE_ATTRIBUTE_TAG_INFO, *PFILE_ATTRIBUTE_TAG_INFO;
typedef struct _FILE_ALIGNMENT_INFO {
    ULONG AlignmentRequirement;
} FILE_ALIGNMENT_INFO, *PFILE_ALIGNMENT_INFO;

NTIO_API BOOL GetFileInformationByHandle(HANDLE hFile, LPBY_HANDLE_FILE_INFORMATION lpFileInformation);
NTIO_API BOOL GetFileInformationByHandleEx(HANDLE hFile, FILE_INFO_BY_HANDLE_CLASS FileInformationClass,
                                           LPVOID lpFileInformation, DWORD dwBufferSize);
NTIO_API BOOL SetFileInformationByHandle(HANDLE hFile, FILE_INFO_BY_HANDLE_CLASS FileInformationClass,
                                         LPVOID lpFileInformation, DWORD dwBufferSize);

/* Cancellation (S-CAN-8..10). CancelIo: the calling thread's requests on the handle;
 * CancelIoEx: any thread's, all of them or the one using lpOverlapped;
 * CancelSynchronousIo: a thread's blocked synchronous request. */
NTIO_API BOOL CancelIo(HANDLE hFile);
NTIO_API BOOL CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped);
NTIO_API BOOL CancelSynchronousIo(HANDLE hThread);

#ifdef UNICODE
#define CreateFile CreateFileW
#else
#define CreateFile CreateFileA
#endif

NTIO_EXTERN_C_END
#endif
