// Code pages (S-NLS-1..3 in docs/design.md): MultiByteToWideChar and
// WideCharToMultiByte for UTF-8 and the ANSI code page (ISO-8859-1), with Windows's
// size queries, short buffers and invalid input.
#include <string>

#include "test_support.hpp"
#include "windows.h"

namespace {

TEST(CodePages, S_NLS_1_Utf8BothWays) {
    const char* utf8 = "caf\xC3\xA9 \xF0\x9F\x98\x80";  // "café 😀"
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, utf8, -1, nullptr, 0), 7) << "six code points and the NUL";
    WCHAR wide[8];
    ASSERT_EQ(MultiByteToWideChar(CP_UTF8, 0, utf8, -1, wide, 8), 7);
    EXPECT_STREQ(wide, L"caf\u00e9 \U0001F600");
    EXPECT_EQ(WideCharToMultiByte(CP_UTF8, 0, wide, -1, nullptr, 0, nullptr, nullptr), 11);
    char back[16];
    ASSERT_EQ(WideCharToMultiByte(CP_UTF8, 0, wide, -1, back, sizeof back, nullptr, nullptr), 11);
    EXPECT_STREQ(back, utf8);
    // An explicit length converts no terminator.
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, utf8, 3, wide, 8), 3);
}

TEST(CodePages, S_NLS_2_InvalidInputAndShortBuffers) {
    WCHAR wide[8];
    // A stray continuation byte and a sequence cut short: U+FFFD, or an error when strict.
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, "a\x80" "b\xE2\x82", 5, wide, 8), 4);
    EXPECT_EQ(wide[1], static_cast<WCHAR>(0xFFFD));
    EXPECT_EQ(wide[3], static_cast<WCHAR>(0xFFFD));
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, "a\x80", 2, wide, 8), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_UNICODE_TRANSLATION));
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, "\xC0\xAF", 2, wide, 8), 2) << "an overlong form is two bad bytes";
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, "\xED\xA0\x80", 3, wide, 8), 3) << "an encoded surrogate";
    // A surrogate code point in a wide string.
    const WCHAR lone[] = {L'x', static_cast<WCHAR>(0xD800), 0};
    char narrow[8];
    EXPECT_EQ(WideCharToMultiByte(CP_UTF8, 0, lone, -1, narrow, 8, nullptr, nullptr), 5);
    EXPECT_EQ(std::string(narrow), "x\xEF\xBF\xBD");
    EXPECT_EQ(WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, lone, -1, narrow, 8, nullptr, nullptr), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_UNICODE_TRANSLATION));
    // Too small: 0 and ERROR_INSUFFICIENT_BUFFER.
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, "hello", -1, wide, 3), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(WideCharToMultiByte(CP_UTF8, 0, L"hello", -1, narrow, 3, nullptr, nullptr), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    // Bad arguments.
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, "a", 0, wide, 8), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, 0, nullptr, -1, wide, 8), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(MultiByteToWideChar(CP_UTF8, MB_PRECOMPOSED, "a", -1, wide, 8), 0);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FLAGS));
    EXPECT_EQ(MultiByteToWideChar(932, 0, "a", -1, wide, 8), 0) << "a code page ntio does not have";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    BOOL used = FALSE;
    EXPECT_EQ(WideCharToMultiByte(CP_UTF8, 0, L"a", -1, narrow, 8, nullptr, &used), 0) << "no default char in UTF-8";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

TEST(CodePages, S_NLS_3_TheAnsiCodePageIsLatin1) {
    EXPECT_EQ(GetACP(), 28591u);
    WCHAR wide[4];
    ASSERT_EQ(MultiByteToWideChar(CP_ACP, 0, "\xE9\xFF", 2, wide, 4), 2);
    EXPECT_EQ(wide[0], static_cast<WCHAR>(0xE9));
    EXPECT_EQ(wide[1], static_cast<WCHAR>(0xFF));
    char narrow[8];
    BOOL used = TRUE;
    ASSERT_EQ(WideCharToMultiByte(CP_ACP, 0, L"\u00e9!", -1, narrow, 8, nullptr, &used), 3);
    EXPECT_FALSE(used);
    EXPECT_EQ(static_cast<unsigned char>(narrow[0]), 0xE9);
    char star = '*';
    ASSERT_EQ(WideCharToMultiByte(CP_ACP, 0, L"a\u20acb", 3, narrow, 8, &star, &used), 3);
    EXPECT_TRUE(used) << "the euro sign is not in ISO-8859-1";
    EXPECT_EQ(std::string(narrow, 3), "a*b");
    ASSERT_EQ(WideCharToMultiByte(CP_ACP, 0, L"\u20ac", 1, narrow, 8, nullptr, nullptr), 1);
    EXPECT_EQ(narrow[0], '?');
}

}  // namespace
