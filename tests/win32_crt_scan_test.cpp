// MSVC's bounds-checked scanf family (S-SCAN-1..3 in docs/design.md): sizes after the
// buffers of %c, %s and %[, Windows's integer sizes, and the return values, as the
// event sample's eventtest.c (sscanf_s "%f" and "%d") and Microsoft's scanf_s page use them.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "test_support.hpp"
#include "windows.h"

namespace {

TEST(CrtScan, S_SCAN_1_IntegerSizesAreWindows) {
    ULONG words[2] = {0xAAAAAAAAu, 0xBBBBBBBBu};
    EXPECT_EQ(sscanf_s("5 7", "%lu %lx", &words[0], &words[1]), 2);
    EXPECT_EQ(words[0], 5u);
    EXPECT_EQ(words[1], 7u) << "%ld/%lu/%lx store 32 bits: a ULONG each, nothing past it";
    LONG pair[2] = {0, 0x11111111};
    EXPECT_EQ(sscanf_s("-3", "%ld", &pair[0]), 1);
    EXPECT_EQ(pair[0], -3);
    EXPECT_EQ(pair[1], 0x11111111);
    ULONGLONG big = 0, big2 = 0;
    EXPECT_EQ(sscanf_s("12345678901 9876543210", "%I64u %llu", &big, &big2), 2);
    EXPECT_EQ(big, 12345678901ull);
    EXPECT_EQ(big2, 9876543210ull);
    SIZE_T pointer_sized = 0;
    short small = 0;
    EXPECT_EQ(sscanf_s("4294967296 -2", "%Iu %hd", &pointer_sized, &small), 2);
    EXPECT_EQ(pointer_sized, 4294967296ull);
    EXPECT_EQ(small, -2);
    // eventtest.c's arguments.
    float delay = 0;
    unsigned type = 9;
    double precise = 0;
    EXPECT_EQ(sscanf_s("1.5", "%f", &delay), 1);
    EXPECT_EQ(sscanf_s("0", "%d", &type), 1);
    EXPECT_EQ(sscanf_s("2.25", "%lf", &precise), 1);
    EXPECT_EQ(delay, 1.5f);
    EXPECT_EQ(type, 0u);
    EXPECT_EQ(precise, 2.25);
}

TEST(CrtScan, S_SCAN_2_BuffersTakeTheirSize) {
    char first[4], second[3] = {'x', 'y', 'z'};
    EXPECT_EQ(sscanf_s("abc def", "%s %s", first, 4u, second, 3u), 1)
        << "\"def\" needs 4 characters with its terminator: the scan ends there";
    EXPECT_STREQ(first, "abc");
    EXPECT_EQ(std::memcmp(second, "xyz", 3), 0) << "a token that does not fit writes nothing";
    // A width keeps a token within the buffer: the rest is the next field's.
    char part[3], rest[8];
    EXPECT_EQ(sscanf_s("abcdef", "%2s%s", part, 3u, rest, 8u), 2);
    EXPECT_STREQ(part, "ab");
    EXPECT_STREQ(rest, "cdef");
    // Characters: one by default, as many as the width, never more than the size.
    char c = 0, four[4];
    EXPECT_EQ(sscanf_s("xyz", "%c", &c, 1u), 1);
    EXPECT_EQ(c, 'x');
    EXPECT_EQ(sscanf_s("wxyz", "%4c", four, 4u), 1);
    EXPECT_EQ(std::memcmp(four, "wxyz", 4), 0);
    EXPECT_EQ(sscanf_s("wxyz", "%4c", four, 3u), 0);
    // Scan sets, wide strings (%S in the narrow function) and suppressed fields, which
    // take no size.
    char key[8], value[8];
    EXPECT_EQ(sscanf_s("name,value", "%[^,],%s", key, 8u, value, 8u), 2);
    EXPECT_STREQ(key, "name");
    EXPECT_STREQ(value, "value");
    WCHAR wide[8];
    EXPECT_EQ(sscanf_s("skip wide", "%*s %S", wide, 8u), 1);
    EXPECT_STREQ(wide, L"wide");
    int n = -1, i = 0;
    EXPECT_EQ(sscanf_s("12 34", "%d%n", &i, &n), 1) << "%n is not counted";
    EXPECT_EQ(i, 12);
    EXPECT_EQ(n, 2);
    short at = -1;
    EXPECT_EQ(sscanf_s("12 34", "%d %d%hn", &i, &i, &at), 2);
    EXPECT_EQ(at, 5) << "counted from the start of the input, not of the last field";
}

TEST(CrtScan, S_SCAN_3_ReturnValues) {
    int i = 0;
    EXPECT_EQ(sscanf_s("", "%d", &i), EOF) << "the input ends before the first conversion";
    EXPECT_EQ(sscanf_s("   ", " %d", &i), EOF);
    EXPECT_EQ(sscanf_s("abc", "%d", &i), 0) << "no match: no field assigned";
    EXPECT_EQ(sscanf_s("1", "%d %d", &i, &i), 1) << "an end after a conversion is not EOF";
    int n = -1;
    EXPECT_EQ(sscanf_s("", "%n%d", &n, &i), EOF) << "%n reads nothing";
    EXPECT_EQ(n, 0);
    errno = 0;
    EXPECT_EQ(sscanf_s("1", nullptr), EOF);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(sscanf_s(nullptr, "%d", &i), EOF);
    EXPECT_EQ(errno, EINVAL);
    // fscanf_s reads on where the previous piece stopped.
    FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    std::fputs("10 hello 3.5\n", f);
    std::rewind(f);
    char word[6];
    float x = 0;
    EXPECT_EQ(fscanf_s(f, "%d %s %f", &i, word, 6u, &x), 3);
    EXPECT_EQ(i, 10);
    EXPECT_STREQ(word, "hello");
    EXPECT_EQ(x, 3.5f);
    EXPECT_EQ(fscanf_s(f, "%d", &i), EOF);
    std::fclose(f);
}

}  // namespace
