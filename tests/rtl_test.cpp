// Rtl: the status table (S-DSP-19), counted strings, lists, interlocked, GUIDs.
#include <initguid.h>

#include "test_support.hpp"

DEFINE_GUID(GUID_NTIO_TEST, 0xcdc35b6e, 0x0be4, 0x4936, 0xbf, 0x5f, 0x55, 0x37, 0x38, 0x0a, 0x7c, 0x1a);

namespace {

using ntio::testing::RealTimeTest;
class Rtl : public RealTimeTest {};

TEST(RtlStatus, S_DSP_19_TableOfCommonStatuses) {
    struct {
        NTSTATUS status;
        ULONG error;
    } rows[] = {
        {STATUS_SUCCESS, ERROR_SUCCESS},
        {STATUS_TIMEOUT, ERROR_TIMEOUT},
        {STATUS_PENDING, ERROR_IO_PENDING},
        {STATUS_BUFFER_OVERFLOW, ERROR_MORE_DATA},
        {STATUS_DEVICE_BUSY, ERROR_BUSY},
        {STATUS_NO_MORE_ENTRIES, ERROR_NO_MORE_ITEMS},
        {STATUS_UNSUCCESSFUL, ERROR_GEN_FAILURE},
        {STATUS_NOT_IMPLEMENTED, ERROR_INVALID_FUNCTION},
        {STATUS_INFO_LENGTH_MISMATCH, ERROR_BAD_LENGTH},
        {STATUS_ACCESS_VIOLATION, ERROR_NOACCESS},
        {STATUS_INVALID_HANDLE, ERROR_INVALID_HANDLE},
        {STATUS_INVALID_PARAMETER, ERROR_INVALID_PARAMETER},
        {STATUS_NO_SUCH_DEVICE, ERROR_FILE_NOT_FOUND},
        {STATUS_INVALID_DEVICE_REQUEST, ERROR_INVALID_FUNCTION},
        {STATUS_END_OF_FILE, ERROR_HANDLE_EOF},
        {STATUS_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY},
        {STATUS_ACCESS_DENIED, ERROR_ACCESS_DENIED},
        {STATUS_BUFFER_TOO_SMALL, ERROR_INSUFFICIENT_BUFFER},
        {STATUS_OBJECT_TYPE_MISMATCH, ERROR_INVALID_HANDLE},
        {STATUS_OBJECT_NAME_NOT_FOUND, ERROR_FILE_NOT_FOUND},
        {STATUS_SHARING_VIOLATION, ERROR_SHARING_VIOLATION},
        {STATUS_DELETE_PENDING, ERROR_ACCESS_DENIED},
        {STATUS_INSUFFICIENT_RESOURCES, ERROR_NO_SYSTEM_RESOURCES},
        {STATUS_DEVICE_NOT_READY, ERROR_NOT_READY},
        {STATUS_IO_TIMEOUT, ERROR_SEM_TIMEOUT},
        {STATUS_NOT_SUPPORTED, ERROR_NOT_SUPPORTED},
        {STATUS_DEVICE_DOES_NOT_EXIST, ERROR_DEV_NOT_EXIST},
        {STATUS_CANCELLED, ERROR_OPERATION_ABORTED},
        {STATUS_NOT_FOUND, ERROR_NOT_FOUND},
        {STATUS_DEVICE_REMOVED, ERROR_DEVICE_REMOVED},
        {STATUS_SEMAPHORE_LIMIT_EXCEEDED, ERROR_TOO_MANY_POSTS},
        {STATUS_MUTANT_NOT_OWNED, ERROR_NOT_OWNER},
        // Rows checked against Windows's own mapping after black-box testing found them
        // missing or different.
        {STATUS_TOO_MANY_OPENED_FILES, ERROR_TOO_MANY_OPEN_FILES},
        {STATUS_DEVICE_NOT_CONNECTED, ERROR_DEVICE_NOT_CONNECTED},
        {STATUS_INVALID_USER_BUFFER, ERROR_INVALID_USER_BUFFER},
        {STATUS_UNEXPECTED_IO_ERROR, ERROR_IO_DEVICE},
    };
    for (auto& r : rows) EXPECT_EQ(RtlNtStatusToDosError(r.status), r.error) << std::hex << r.status;
}

// The statuses device drivers complete requests with (media, power, tape, pipe and
// protocol errors), as Windows maps them; probing found drivers using them failed to
// compile (the names were missing) and their callers saw ERROR_MR_MID_NOT_FOUND.
TEST(RtlStatus, S_DSP_19_DeviceStatusesDriversReturn) {
    struct {
        NTSTATUS status;
        ULONG error;
    } rows[] = {
        {STATUS_MORE_ENTRIES, ERROR_MORE_DATA},
        {STATUS_PARTIAL_COPY, ERROR_PARTIAL_COPY},
        {STATUS_DEVICE_PAPER_EMPTY, ERROR_OUT_OF_PAPER},
        {STATUS_DEVICE_POWERED_OFF, ERROR_NOT_READY},
        {STATUS_DEVICE_OFF_LINE, ERROR_NOT_READY},
        {STATUS_FILEMARK_DETECTED, ERROR_FILEMARK_DETECTED},
        {STATUS_MEDIA_CHANGED, ERROR_MEDIA_CHANGED},
        {STATUS_BUS_RESET, ERROR_BUS_RESET},
        {STATUS_BEGINNING_OF_MEDIA, ERROR_BEGINNING_OF_MEDIA},
        {STATUS_SETMARK_DETECTED, ERROR_SETMARK_DETECTED},
        {STATUS_DEVICE_REQUIRES_CLEANING, ERROR_DEVICE_REQUIRES_CLEANING},
        {STATUS_DEVICE_DOOR_OPEN, ERROR_DEVICE_DOOR_OPEN},
        {STATUS_NONEXISTENT_SECTOR, ERROR_SECTOR_NOT_FOUND},
        {STATUS_MORE_PROCESSING_REQUIRED, ERROR_MORE_DATA},
        {STATUS_INVALID_SYSTEM_SERVICE, ERROR_INVALID_FUNCTION},
        {STATUS_DISK_CORRUPT_ERROR, ERROR_DISK_CORRUPT},
        {STATUS_DATA_OVERRUN, ERROR_IO_DEVICE},
        {STATUS_DATA_LATE_ERROR, ERROR_IO_DEVICE},
        {STATUS_QUOTA_EXCEEDED, ERROR_NOT_ENOUGH_QUOTA},
        {STATUS_FILE_LOCK_CONFLICT, ERROR_LOCK_VIOLATION},
        {STATUS_LOCK_NOT_GRANTED, ERROR_LOCK_VIOLATION},
        {STATUS_FILE_INVALID, ERROR_FILE_INVALID},
        {STATUS_DEVICE_POWER_FAILURE, ERROR_NOT_READY},
        {STATUS_INSTANCE_NOT_AVAILABLE, ERROR_PIPE_BUSY},
        {STATUS_PIPE_NOT_AVAILABLE, ERROR_PIPE_BUSY},
        {STATUS_INVALID_PIPE_STATE, ERROR_BAD_PIPE},
        {STATUS_PIPE_BUSY, ERROR_PIPE_BUSY},
        {STATUS_ILLEGAL_FUNCTION, ERROR_INVALID_FUNCTION},
        {STATUS_PIPE_CLOSING, ERROR_NO_DATA},
        {STATUS_FILE_FORCED_CLOSED, ERROR_HANDLE_EOF},
        {STATUS_TOO_MANY_COMMANDS, ERROR_TOO_MANY_CMDS},
        {STATUS_ADAPTER_HARDWARE_ERROR, ERROR_ADAP_HDW_ERR},
        {STATUS_BAD_DEVICE_TYPE, ERROR_BAD_DEV_TYPE},
        {STATUS_REQUEST_NOT_ACCEPTED, ERROR_REQ_NOT_ACCEP},
        {STATUS_PIPE_EMPTY, ERROR_NO_DATA},
        {STATUS_FILE_CORRUPT_ERROR, ERROR_FILE_CORRUPT},
        {STATUS_FILE_DELETED, ERROR_ACCESS_DENIED},
        {STATUS_FILE_CLOSED, ERROR_INVALID_HANDLE},
        {STATUS_COMMITMENT_LIMIT, ERROR_COMMITMENT_LIMIT},
        {STATUS_PIPE_BROKEN, ERROR_BROKEN_PIPE},
        {STATUS_UNRECOGNIZED_VOLUME, ERROR_UNRECOGNIZED_VOLUME},
        {STATUS_SHARED_IRQ_BUSY, ERROR_IRQ_BUSY},
        {STATUS_PARTITION_FAILURE, ERROR_PARTITION_FAILURE},
        {STATUS_INVALID_BLOCK_LENGTH, ERROR_INVALID_BLOCK_LENGTH},
        {STATUS_DEVICE_NOT_PARTITIONED, ERROR_DEVICE_NOT_PARTITIONED},
        {STATUS_UNABLE_TO_LOCK_MEDIA, ERROR_UNABLE_TO_LOCK_MEDIA},
        {STATUS_UNABLE_TO_UNLOAD_MEDIA, ERROR_UNABLE_TO_UNLOAD_MEDIA},
        {STATUS_EOM_OVERFLOW, ERROR_EOM_OVERFLOW},
        {STATUS_NO_MEDIA, ERROR_NO_MEDIA_IN_DRIVE},
        {STATUS_DEVICE_CONFIGURATION_ERROR, ERROR_INVALID_PARAMETER},
        {STATUS_DRIVER_INTERNAL_ERROR, ERROR_IO_DEVICE},
        {STATUS_DEVICE_PROTOCOL_ERROR, ERROR_IO_DEVICE},
        {STATUS_TOO_LATE, ERROR_WRITE_PROTECT},
        {STATUS_CONNECTION_REFUSED, ERROR_CONNECTION_REFUSED},
        {STATUS_PLUGPLAY_NO_DEVICE, ERROR_SERVICE_DISABLED},
        {STATUS_VOLUME_DISMOUNTED, ERROR_NOT_READY},
        {STATUS_REINITIALIZATION_NEEDED, ERROR_DEVICE_REINITIALIZATION_NEEDED},
    };
    for (auto& r : rows) {
        EXPECT_EQ(RtlNtStatusToDosError(r.status), r.error) << std::hex << r.status;
        // Every error the table gives has a system message.
        char text[256];
        EXPECT_NE(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, r.error, 0,
                                 text, sizeof text, nullptr),
                  0u)
            << r.error;
    }
}

// Values that were wrong in <ntstatus.h>: STATUS_PIPE_BROKEN had STATUS_PIPE_DISCONNECTED's
// value (so it mapped to ERROR_PIPE_NOT_CONNECTED), STATUS_NO_SUCH_MEMBER another code's.
TEST(RtlStatus, S_DSP_19_StatusValuesAreWindowsOwn) {
    static_assert(static_cast<ULONG>(STATUS_PIPE_BROKEN) == 0xC000014Bu);
    static_assert(static_cast<ULONG>(STATUS_PIPE_DISCONNECTED) == 0xC00000B0u);
    static_assert(static_cast<ULONG>(STATUS_NO_SUCH_MEMBER) == 0xC000017Au);
    static_assert(static_cast<ULONG>(STATUS_FILE_CLOSED) == 0xC0000128u);
    static_assert(static_cast<ULONG>(STATUS_DEVICE_OFF_LINE) == 0x80000010u);
    EXPECT_EQ(RtlNtStatusToDosError(STATUS_PIPE_DISCONNECTED), static_cast<ULONG>(ERROR_PIPE_NOT_CONNECTED));
    EXPECT_EQ(RtlNtStatusToDosError(STATUS_PIPE_BROKEN), static_cast<ULONG>(ERROR_BROKEN_PIPE));
}

TEST(RtlBytes, ByteSwapRoutinesAndIntrinsics) {
    EXPECT_EQ(RtlUshortByteSwap(0x1122), 0x2211);
    EXPECT_EQ(RtlUlongByteSwap(0x11223344u), 0x44332211u);
    EXPECT_EQ(RtlUlonglongByteSwap(0x0102030405060708ull), 0x0807060504030201ull);
    EXPECT_EQ(_byteswap_ulong(0xA1B2C3D4u), 0xD4C3B2A1u);
    // The argument is converted to the routine's width first, as the WDK's macros do.
    EXPECT_EQ(RtlUshortByteSwap(0xFFFF0102u), 0x0201);
}

TEST(RtlStatus, S_DSP_19_MappingAlgorithm) {
    // Customer-defined statuses pass through unchanged.
    EXPECT_EQ(RtlNtStatusToDosError(static_cast<NTSTATUS>(0xE0001234)), 0xE0001234u);
    // 0xD... is treated as 0xC...
    EXPECT_EQ(RtlNtStatusToDosError(static_cast<NTSTATUS>(0xD0000022)), static_cast<ULONG>(ERROR_ACCESS_DENIED));
    // HRESULT-style wrappers of Win32 errors return the low word.
    EXPECT_EQ(RtlNtStatusToDosError(static_cast<NTSTATUS>(0xC0010005)), 5u);
    EXPECT_EQ(RtlNtStatusToDosError(static_cast<NTSTATUS>(0x80070057)), 0x57u);
    // Unmapped: ERROR_MR_MID_NOT_FOUND.
    EXPECT_EQ(RtlNtStatusToDosError(static_cast<NTSTATUS>(0xC0FFEE01)), static_cast<ULONG>(ERROR_MR_MID_NOT_FOUND));
}

TEST(RtlStatus, StatusClasses) {
    EXPECT_TRUE(NT_SUCCESS(STATUS_TIMEOUT));
    EXPECT_TRUE(NT_SUCCESS(STATUS_OBJECT_NAME_EXISTS));
    EXPECT_TRUE(NT_INFORMATION(STATUS_OBJECT_NAME_EXISTS));
    EXPECT_FALSE(NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
    EXPECT_TRUE(NT_WARNING(STATUS_BUFFER_OVERFLOW));
    EXPECT_FALSE(NT_ERROR(STATUS_BUFFER_OVERFLOW));  // a warning is neither success nor error
    EXPECT_TRUE(NT_ERROR(STATUS_CANCELLED));
}

TEST(RtlTypes, WindowsWidths) {
    static_assert(sizeof(ULONG) == 4 && sizeof(LONG) == 4 && sizeof(DWORD) == 4);
    static_assert(std::is_same_v<ULONG, DWORD>, "ULONG and DWORD must be one type");
    static_assert(sizeof(ULONG_PTR) == sizeof(void*) && sizeof(LONGLONG) == 8 && sizeof(LARGE_INTEGER) == 8);
    static_assert(std::is_same_v<WCHAR, wchar_t>);
    static_assert(sizeof(BOOLEAN) == 1 && sizeof(BOOL) == 4 && sizeof(USHORT) == 2);
    LARGE_INTEGER li;
    li.QuadPart = 0x0000000100000002LL;
    EXPECT_EQ(li.LowPart, 2u);
    EXPECT_EQ(li.HighPart, 1);
    EXPECT_EQ(li.u.LowPart, 2u);
}

TEST(RtlList, InsertRemoveAndContainingRecord) {
    struct Item {
        int value;
        LIST_ENTRY link;
    };
    LIST_ENTRY head;
    InitializeListHead(&head);
    EXPECT_TRUE(IsListEmpty(&head));
    Item a{1, {}}, b{2, {}}, c{3, {}};
    InsertTailList(&head, &a.link);
    InsertTailList(&head, &b.link);
    InsertHeadList(&head, &c.link);
    EXPECT_EQ(CONTAINING_RECORD(head.Flink, Item, link)->value, 3);
    EXPECT_EQ(CONTAINING_RECORD(RemoveTailList(&head), Item, link)->value, 2);
    EXPECT_FALSE(RemoveEntryList(&c.link));  // not the last one
    EXPECT_TRUE(RemoveEntryList(&a.link));   // list now empty
    EXPECT_TRUE(IsListEmpty(&head));
    EXPECT_EQ(FIELD_OFFSET(Item, link), static_cast<LONG>(offsetof(Item, link)));

    SINGLE_LIST_ENTRY s{nullptr}, x{nullptr}, y{nullptr};
    PushEntryList(&s, &x);
    PushEntryList(&s, &y);
    EXPECT_EQ(PopEntryList(&s), &y);
    EXPECT_EQ(PopEntryList(&s), &x);
    EXPECT_EQ(PopEntryList(&s), nullptr);
}

TEST(RtlInterlocked, ReturnValues) {
    LONG v = 5;
    EXPECT_EQ(InterlockedIncrement(&v), 6);
    EXPECT_EQ(InterlockedDecrement(&v), 5);
    EXPECT_EQ(InterlockedExchange(&v, 9), 5);
    EXPECT_EQ(InterlockedCompareExchange(&v, 1, 9), 9);  // returns the initial value
    EXPECT_EQ(v, 1);
    EXPECT_EQ(InterlockedCompareExchange(&v, 7, 3), 1);  // no exchange
    EXPECT_EQ(v, 1);
    EXPECT_EQ(InterlockedExchangeAdd(&v, 10), 1);
    EXPECT_EQ(InterlockedOr(&v, 0x100), 11);
    LONG64 w = 1;
    EXPECT_EQ(InterlockedIncrement64(&w), 2);
    void* p = nullptr;
    int x;
    EXPECT_EQ(InterlockedCompareExchangePointer(&p, &x, nullptr), nullptr);
    EXPECT_EQ(p, &x);
}

TEST_F(Rtl, UnicodeStrings) {
    UNICODE_STRING a, b;
    RtlInitUnicodeString(&a, L"\\Device\\Echo");
    EXPECT_EQ(a.Length, 12 * sizeof(WCHAR));
    EXPECT_EQ(a.MaximumLength, 13 * sizeof(WCHAR));
    RtlInitUnicodeString(&b, L"\\DEVICE\\ECHO");
    EXPECT_FALSE(RtlEqualUnicodeString(&a, &b, FALSE));
    EXPECT_TRUE(RtlEqualUnicodeString(&a, &b, TRUE));
    EXPECT_LT(RtlCompareUnicodeString(&b, &a, FALSE), 0);

    WCHAR buf[32];
    UNICODE_STRING d{0, sizeof(buf), buf};
    RtlCopyUnicodeString(&d, &a);
    EXPECT_EQ(RtlAppendUnicodeToString(&d, L"0"), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(d.Buffer, d.Length / sizeof(WCHAR)), L"\\Device\\Echo0");
    WCHAR small[4];
    UNICODE_STRING s{0, sizeof(small), small};
    EXPECT_EQ(RtlAppendUnicodeStringToString(&s, &a), STATUS_BUFFER_TOO_SMALL);

    UNICODE_STRING prefix = RTL_CONSTANT_STRING(L"\\Device\\");
    EXPECT_TRUE(RtlPrefixUnicodeString(&prefix, &a, FALSE));

    ANSI_STRING ansi;
    RtlInitAnsiString(&ansi, "Hello");
    UNICODE_STRING wide;
    ASSERT_EQ(RtlAnsiStringToUnicodeString(&wide, &ansi, TRUE), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(wide.Buffer, wide.Length / sizeof(WCHAR)), L"Hello");
    ANSI_STRING back;
    ASSERT_EQ(RtlUnicodeStringToAnsiString(&back, &wide, TRUE), STATUS_SUCCESS);
    EXPECT_EQ(std::string(back.Buffer, back.Length), "Hello");
    RtlFreeUnicodeString(&wide);
    RtlFreeAnsiString(&back);
    EXPECT_TRUE(sys.pool_usage().empty()) << "Rtl allocations are freed by RtlFree*String";
}

TEST_F(Rtl, IntegersAndMemory) {
    WCHAR buf[16];
    UNICODE_STRING s{0, sizeof(buf), buf};
    ASSERT_EQ(RtlIntegerToUnicodeString(255, 16, &s), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(s.Buffer, s.Length / sizeof(WCHAR)), L"FF");
    ULONG v = 0;
    UNICODE_STRING n = RTL_CONSTANT_STRING(L"  0x1F");
    ASSERT_EQ(RtlUnicodeStringToInteger(&n, 0, &v), STATUS_SUCCESS);
    EXPECT_EQ(v, 31u);
    ASSERT_EQ(RtlCharToInteger("-12", 10, &v), STATUS_SUCCESS);
    EXPECT_EQ(static_cast<LONG>(v), -12);
    char a[] = "abcdef", b[] = "abcxef";
    EXPECT_EQ(RtlCompareMemory(a, b, 6), 3u);
    RtlZeroMemory(a, 3);
    EXPECT_EQ(a[2], 0);
    EXPECT_TRUE(RtlEqualMemory(a + 3, b + 3, 0));
}

TEST_F(Rtl, GuidsRoundTrip) {
    UNICODE_STRING text;
    ASSERT_EQ(RtlStringFromGUID(GUID_NTIO_TEST, &text), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(text.Buffer, text.Length / sizeof(WCHAR)), L"{CDC35B6E-0BE4-4936-BF5F-5537380A7C1A}");
    GUID g{};
    ASSERT_EQ(RtlGUIDFromString(&text, &g), STATUS_SUCCESS);
    EXPECT_TRUE(IsEqualGUID(g, GUID_NTIO_TEST));
    RtlFreeUnicodeString(&text);
    UNICODE_STRING bad = RTL_CONSTANT_STRING(L"{not-a-guid}");
    EXPECT_EQ(RtlGUIDFromString(&bad, &g), STATUS_INVALID_PARAMETER);
}

}  // namespace
