/* The client of sized_driver.c, as an outside program would be written: the size, the
   file pointer, a read at the pointer, the device type, the information by handle and
   a flush, each line printed for the Information.* command test to check. */
#include <stdio.h>
#include <windows.h>
#include <winternl.h>

static int failed(const char* what) {
    printf("%s failed: error %u\n", what, (unsigned)GetLastError());
    return 1;
}

int main(void) {
    HANDLE h = CreateFileA("\\\\.\\SizedTest", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    LARGE_INTEGER size, to, at;
    unsigned char buf[16];
    DWORD got = 0, high = 0, low, i;
    FILE_END_OF_FILE_INFORMATION eof;
    IO_STATUS_BLOCK iosb;
    NTSTATUS status;
    if (h == INVALID_HANDLE_VALUE) return failed("CreateFile");
    if (!GetFileSizeEx(h, &size)) return failed("GetFileSizeEx");
    printf("size: %lld\n", size.QuadPart);
    to.QuadPart = -10;
    if (!SetFilePointerEx(h, to, &at, FILE_END)) return failed("SetFilePointerEx");
    printf("pointer: %lld\n", at.QuadPart);
    if (!ReadFile(h, buf, sizeof(buf), &got, NULL)) return failed("ReadFile");
    for (i = 0; i < got; ++i)
        if (buf[i] != (unsigned char)((at.QuadPart + i) % 251)) return failed("the data check");
    printf("read at the pointer: %u bytes, then at %u\n", (unsigned)got, (unsigned)SetFilePointer(h, 0, NULL, FILE_CURRENT));
    if (SetFilePointer(h, -1, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER)
        printf("before the start: error %u\n", (unsigned)GetLastError());
    eof.EndOfFile.QuadPart = 0x100000010LL;
    status = NtSetInformationFile(h, &iosb, &eof, sizeof(eof), FileEndOfFileInformation);
    if (!NT_SUCCESS(status)) return failed("NtSetInformationFile");
    low = GetFileSize(h, &high);
    printf("new size: high %u low %u\n", (unsigned)high, (unsigned)low);
    printf("type: %u (disk %u)\n", (unsigned)GetFileType(h), (unsigned)FILE_TYPE_DISK);
    if (SetFilePointer(h, 4096, NULL, FILE_BEGIN) != 4096 || !SetEndOfFile(h)) return failed("SetEndOfFile");
    if (!GetFileSizeEx(h, &size)) return failed("GetFileSizeEx");
    printf("after SetEndOfFile: %lld\n", size.QuadPart);
    {
        /* A disk's sectors are 512 bytes: unbuffered I/O moves in whole sectors. */
        HANDLE raw = CreateFileA("\\\\.\\SizedTest", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                                 OPEN_EXISTING, FILE_FLAG_NO_BUFFERING, NULL);
        if (raw == INVALID_HANDLE_VALUE) return failed("CreateFile unbuffered");
        if (SetFilePointer(raw, 3, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER)
            printf("unaligned unbuffered seek: error %u\n", (unsigned)GetLastError());
        printf("aligned unbuffered seek: %u\n", (unsigned)SetFilePointer(raw, 1024, NULL, FILE_BEGIN));
        CloseHandle(raw);
    }
    {
        FILE_STANDARD_INFO standard;
        BY_HANDLE_FILE_INFORMATION info;
        if (!GetFileInformationByHandleEx(h, FileStandardInfo, &standard, sizeof(standard)))
            return failed("GetFileInformationByHandleEx");
        printf("standard info: end of file %lld, %u link\n", standard.EndOfFile.QuadPart,
               (unsigned)standard.NumberOfLinks);
        /* The driver answers FileStandardInformation only: FileAllInformation is its
           STATUS_INVALID_PARAMETER. */
        if (!GetFileInformationByHandle(h, &info))
            printf("information by handle: not answered, error %u\n", (unsigned)GetLastError());
    }
    if (!FlushFileBuffers(h) || !FlushFileBuffers(h)) return failed("FlushFileBuffers");
    CloseHandle(h);
    return 0;
}
