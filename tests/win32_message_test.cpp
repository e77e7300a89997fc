// FormatMessageA/W and LocalAlloc/LocalFree: the system table, inserts and escapes,
// widths, buffers, and the errors Windows gives (docs/compat.md, "Messages").
#include <cstdarg>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "windows.h"

namespace {

std::string system_text(DWORD id, DWORD flags = 0) {
    char buf[512];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS | flags, nullptr, id, 0, buf,
                             sizeof buf, nullptr);
    return n ? std::string(buf, n) : std::string("<failed ") + std::to_string(GetLastError()) + ">";
}

DWORD format_va(DWORD flags, const char* format, char* buffer, DWORD size, ...) {
    va_list args;
    va_start(args, size);
    DWORD n = FormatMessageA(flags | FORMAT_MESSAGE_FROM_STRING, format, 0, 0, buffer, size, &args);
    va_end(args);
    return n;
}

TEST(Messages, SystemMessagesDescribeTheWin32CodesAndEndWithALineBreak) {
    for (DWORD id : {ERROR_SUCCESS, ERROR_ACCESS_DENIED, ERROR_IO_PENDING, ERROR_OPERATION_ABORTED, ERROR_DEVICE_REMOVED,
                     ERROR_NEGATIVE_SEEK, ERROR_INVALID_FUNCTION}) {
        std::string text = system_text(id);
        ASSERT_GT(text.size(), 3u) << id;
        EXPECT_EQ(text.substr(text.size() - 2), "\r\n") << id;
        EXPECT_EQ(text.find('%'), std::string::npos) << id;
    }
    EXPECT_EQ(system_text(ERROR_ACCESS_DENIED), "Access is denied.\r\n");
    // An HRESULT of FACILITY_WIN32 finds the same message.
    EXPECT_EQ(system_text(0x80070005), system_text(ERROR_ACCESS_DENIED));
    // No such message.
    EXPECT_EQ(system_text(0x12345), "<failed 317>");
    // FORMAT_MESSAGE_MAX_WIDTH_MASK: the text's own line breaks become spaces.
    EXPECT_EQ(system_text(ERROR_ACCESS_DENIED, FORMAT_MESSAGE_MAX_WIDTH_MASK), "Access is denied. ");
}

TEST(Messages, TheLanguageIsEnglishOrNone) {
    char buf[128];
    EXPECT_GT(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_BUSY,
                             MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), buf, sizeof buf, nullptr),
              0u);
    EXPECT_GT(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_BUSY, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                             buf, sizeof buf, nullptr),
              0u);
    EXPECT_GT(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_BUSY, LANG_USER_DEFAULT, buf, sizeof buf, nullptr),
              0u);
    EXPECT_EQ(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_BUSY, MAKELANGID(0x07, SUBLANG_DEFAULT), buf,
                             sizeof buf, nullptr),
              0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_RESOURCE_LANG_NOT_FOUND));
    // Modules have no message tables; with FROM_SYSTEM too, the system's is used.
    EXPECT_EQ(FormatMessageA(FORMAT_MESSAGE_FROM_HMODULE, nullptr, ERROR_BUSY, 0, buf, sizeof buf, nullptr), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_RESOURCE_TYPE_NOT_FOUND));
    EXPECT_GT(FormatMessageA(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_BUSY, 0, buf,
                             sizeof buf, nullptr),
              0u);
    EXPECT_EQ(FormatMessageA(0, nullptr, ERROR_BUSY, 0, buf, sizeof buf, nullptr), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

TEST(Messages, AllocatedBuffersComeFromLocalAlloc) {
    LPSTR text = reinterpret_cast<LPSTR>(0x1);
    DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             nullptr, ERROR_FILE_NOT_FOUND, 0, reinterpret_cast<LPSTR>(&text), 0, nullptr);
    ASSERT_GT(n, 0u);
    EXPECT_EQ(std::strlen(text), n);
    EXPECT_EQ(LocalFree(text), nullptr);
    // A failure leaves the pointer NULL.
    n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM, nullptr, 0x12345, 0,
                       reinterpret_cast<LPSTR>(&text), 0, nullptr);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(text, nullptr);
    // Without it, a buffer too small fails.
    char small[8];
    EXPECT_EQ(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_FILE_NOT_FOUND, 0, small, sizeof small, nullptr),
              0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_FILE_NOT_FOUND, 0, nullptr, 100, nullptr), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

TEST(Messages, InsertsTakeWindowsFormatsFromAnArrayOrAVaList) {
    char buf[256];
    DWORD_PTR array[] = {reinterpret_cast<DWORD_PTR>("disk"), 4000000000u, 0xbeef};
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY,
                             "%1 has %2!lu! blocks%n[%3!06x!] 100%% %1!.2s!", 0, 0, buf, sizeof buf,
                             reinterpret_cast<va_list*>(array));
    EXPECT_EQ(std::string(buf, n), "disk has 4000000000 blocks\r\n[00beef] 100% di");
    n = format_va(0, "%2!d! before %1, %t%3!*d!|%0 and nothing after", buf, sizeof buf, "first", -7, 5, 42);
    EXPECT_EQ(std::string(buf, n), "-7 before first, \t   42|");
    // FORMAT_MESSAGE_IGNORE_INSERTS keeps them as they are; without arguments they fail.
    n = format_va(FORMAT_MESSAGE_IGNORE_INSERTS, "%1 and %2!d!%.", buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n), "%1 and %2!d!.");
    EXPECT_EQ(FormatMessageA(FORMAT_MESSAGE_FROM_STRING, "value %1", 0, 0, buf, sizeof buf, nullptr), 0u);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

TEST(Messages, AWidthBreaksLongLinesAtSpaces) {
    char buf[256];
    DWORD n = format_va(12, "one two three four five six", buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n), "one two\r\nthree four\r\nfive six");
}

TEST(Messages, FormatMessageWReadsWideStringsAndKeepsNonAscii) {
    wchar_t buf[128];
    DWORD_PTR array[] = {reinterpret_cast<DWORD_PTR>(L"caf\u00e9"), reinterpret_cast<DWORD_PTR>("narrow")};
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY, L"\u00bb%1 and %2!S!", 0, 0,
                             buf, 128, reinterpret_cast<va_list*>(array));
    EXPECT_EQ(std::wstring(buf, n), L"\u00bbcaf\u00e9 and narrow");
    n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, ERROR_ACCESS_DENIED, 0, buf,
                       128, nullptr);
    EXPECT_EQ(std::wstring(buf, n), L"Access is denied.\r\n");
    LPWSTR text = nullptr;
    n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_IO_PENDING, 0,
                       reinterpret_cast<LPWSTR>(&text), 0, nullptr);
    ASSERT_GT(n, 0u);
    EXPECT_EQ(std::wcslen(text), n);
    LocalFree(text);
}

TEST(Messages, LocalAllocGivesFixedMemoryOnly) {
    auto* p = static_cast<unsigned char*>(LocalAlloc(LPTR, 64));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(p[i], 0);
    EXPECT_EQ(LocalFree(p), nullptr);
    EXPECT_EQ(LocalFree(nullptr), nullptr);
    EXPECT_EQ(LocalAlloc(LMEM_MOVEABLE, 16), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

}  // namespace
