/* The disk driver's client (test compat.disk_c): the disk class's requests through
 * <winioctl.h> (S-DISK-1), direct I/O with partial transfers and the end of the disk as
 * ReadFile documents it for synchronous and overlapped handles, and FILE_FLAG_NO_BUFFERING's
 * whole sectors (S-DISK-2). Strict C11. */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
#include <string.h>

/* The codes and layouts are Windows's (S-DISK-1). */
_Static_assert(IOCTL_DISK_GET_DRIVE_GEOMETRY == 0x00070000u, "IOCTL_DISK_GET_DRIVE_GEOMETRY");
_Static_assert(IOCTL_DISK_GET_LENGTH_INFO == 0x0007405Cu, "IOCTL_DISK_GET_LENGTH_INFO");
_Static_assert(IOCTL_DISK_GET_DRIVE_GEOMETRY_EX == 0x000700A0u, "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX");
_Static_assert(IOCTL_DISK_GET_PARTITION_INFO == 0x00074004u, "IOCTL_DISK_GET_PARTITION_INFO");
_Static_assert(IOCTL_DISK_IS_WRITABLE == 0x00070024u, "IOCTL_DISK_IS_WRITABLE");
_Static_assert(IOCTL_STORAGE_CHECK_VERIFY == 0x002D4800u, "IOCTL_STORAGE_CHECK_VERIFY");
_Static_assert(IOCTL_STORAGE_GET_DEVICE_NUMBER == 0x002D1080u, "IOCTL_STORAGE_GET_DEVICE_NUMBER");
_Static_assert(sizeof(DISK_GEOMETRY) == 24 && sizeof(GET_LENGTH_INFORMATION) == 8, "disk structures");
_Static_assert(sizeof(PARTITION_INFORMATION) == 32 && sizeof(STORAGE_DEVICE_NUMBER) == 12, "partition, device number");
_Static_assert(FixedMedia == 12 && F3_32M_512 == 25, "MEDIA_TYPE in Windows's order");

static int bad;
#define CHECK(c, ...) do { if (!(c)) { bad++; printf("FAILED: " __VA_ARGS__); printf("\n"); } } while (0)

int main(void)
{
    static _Alignas(16) UCHAR buf[4096], back[4096];
    DWORD n;
    HANDLE h = CreateFileA("\\\\.\\ProbeDisk", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) { printf("open: %lu\n", GetLastError()); return 1; }
    GET_LENGTH_INFORMATION li;
    BOOL ok = DeviceIoControl(h, IOCTL_DISK_GET_LENGTH_INFO, NULL, 0, &li, sizeof li, &n, NULL);
    printf("length: ok %d %lld bytes\n", ok, li.Length.QuadPart);
    CHECK(ok && li.Length.QuadPart == 8192, "length");
    DISK_GEOMETRY g;
    ok = DeviceIoControl(h, IOCTL_DISK_GET_DRIVE_GEOMETRY, NULL, 0, &g, sizeof g, &n, NULL);
    printf("geometry: ok %d sector %lu spt %lu\n", ok, g.BytesPerSector, g.SectorsPerTrack);
    CHECK(ok && g.BytesPerSector == 512, "geometry");

    for (int i = 0; i < 4096; i++) buf[i] = (UCHAR)(i * 13);
    ok = WriteFile(h, buf, 4096, &n, NULL);
    CHECK(ok && n == 4096, "write 4096: %d %lu %lu", ok, n, GetLastError());
    // The position moved with the write; the next write lands at 4096.
    ok = WriteFile(h, buf, 1024, &n, NULL);
    CHECK(ok && n == 1024, "write 1024: %d %lu", ok, n);
    ok = WriteFile(h, buf, 100, &n, NULL);   // not a sector multiple
    CHECK(!ok && GetLastError() == ERROR_INVALID_PARAMETER, "odd write: %d %lu", ok, GetLastError());

    LARGE_INTEGER pos = { .QuadPart = 4096 };
    ok = SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
    CHECK(ok, "seek: %lu", GetLastError());
    ok = ReadFile(h, back, 1024, &n, NULL);
    CHECK(ok && n == 1024 && memcmp(back, buf, 1024) == 0, "read back at 4096: %d %lu", ok, n);
    // Partial at the end: 7680 + 4096 reaches past 8192.
    pos.QuadPart = 7680;
    SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
    ok = ReadFile(h, back, 4096, &n, NULL);
    CHECK(ok && n == 512, "partial read: %d %lu", ok, n);
    LARGE_INTEGER now; pos.QuadPart = 0;
    ok = SetFilePointerEx(h, pos, &now, FILE_CURRENT);
    CHECK(ok && now.QuadPart == 8192, "position after partial read: %lld", now.QuadPart);
    // At the end: a synchronous read succeeds with 0 bytes (ReadFile's documented EOF).
    ok = ReadFile(h, back, 512, &n, NULL);
    CHECK(ok && n == 0, "sync read at EOF: ok %d n %lu err %lu", ok, n, GetLastError());
    // Zero-length read: no MDL, success.
    ok = ReadFile(h, back, 0, &n, NULL);
    CHECK(ok && n == 0, "zero read: %d", ok);
    CloseHandle(h);

    // Overlapped handle: offsets from the OVERLAPPED; EOF is ERROR_HANDLE_EOF.
    h = CreateFileW(L"\\\\.\\ProbeDisk", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED, NULL);
    OVERLAPPED ov = {0};
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ov.Offset = 1;   // unaligned offsets are the driver's business here
    ok = ReadFile(h, back, 10, NULL, &ov);
    if (!ok && GetLastError() == ERROR_IO_PENDING) ok = GetOverlappedResult(h, &ov, &n, TRUE);
    else GetOverlappedResult(h, &ov, &n, FALSE);
    CHECK(ok && n == 10 && back[0] == buf[1] && back[9] == buf[10], "overlapped read at 1: %d %lu", ok, n);
    ov.Offset = 9000;
    ok = ReadFile(h, back, 512, NULL, &ov);
    DWORD e1 = GetLastError();
    // Failed in the dispatch routine: the event and the OVERLAPPED are left alone, as on
    // Windows for an error returned without pending, so no GetOverlappedResult here.
    printf("overlapped EOF: ReadFile %d err %lu, Internal 0x%lx\n", ok, e1, (ULONG)ov.Internal);
    CHECK(!ok && e1 == ERROR_HANDLE_EOF, "overlapped EOF");
    CloseHandle(h);
    // FILE_FLAG_NO_BUFFERING: the I/O manager wants sector-multiple offsets and lengths
    // (IoCreateDevice gives a FILE_DEVICE_DISK a 512-byte SectorSize).
    h = CreateFileW(L"\\\\.\\ProbeDisk", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_FLAG_NO_BUFFERING, NULL);
    SetLastError(0);
    ok = ReadFile(h, back, 10, &n, NULL);
    printf("no-buffering read of 10 bytes: ok %d err %lu\n", ok, GetLastError());
    CHECK(!ok && GetLastError() == ERROR_INVALID_PARAMETER, "no-buffering unaligned length");
    ok = ReadFile(h, back, 512, &n, NULL);
    CHECK(ok && n == 512, "no-buffering aligned read: %d %lu", ok, GetLastError());
    CloseHandle(h);
    CloseHandle(ov.hEvent);
    printf(bad ? "disk: FAILED\n" : "disk: all checks passed\n");
    return bad;
}
