/* Exercises every routine of <ntstrsafe.h> against libntio's formatter (test
 * compat.ntstrsafe): sizes of 0 and over the maximum, truncation, NULLs, Cat on a full
 * destination, and Windows's formats (%wZ, %Z, 32-bit %lu, %S and %s in both widths).
 * Strict C11 like a driver; compat_cxx_test.cpp includes the header as C++. */
#include <ntstrsafe.h>

#include <stdio.h>

#include "check.h"


static NTSTATUS cch_vprintf_a(char *dst, size_t cch, const char *format, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, format);
    status = RtlStringCchVPrintfA(dst, cch, format, args);
    va_end(args);
    return status;
}
static NTSTATUS cb_vprintf_a(char *dst, size_t cb, const char *format, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, format);
    status = RtlStringCbVPrintfA(dst, cb, format, args);
    va_end(args);
    return status;
}
static NTSTATUS cch_vprintf_w(wchar_t *dst, size_t cch, const wchar_t *format, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, format);
    status = RtlStringCchVPrintfW(dst, cch, format, args);
    va_end(args);
    return status;
}
static NTSTATUS cb_vprintf_w(wchar_t *dst, size_t cb, const wchar_t *format, ...) {
    NTSTATUS status;
    va_list args;
    va_start(args, format);
    status = RtlStringCbVPrintfW(dst, cb, format, args);
    va_end(args);
    return status;
}

static void test_copy(void) {
    char a[8];
    wchar_t w[8];
    const char unterminated[3] = {'x', 'y', 'z'}; /* no NUL: CopyN must not read past 3 */
    const wchar_t wunterminated[3] = {L'x', L'y', L'z'};

    CHECK(RtlStringCchCopyA(a, sizeof a, "hello") == STATUS_SUCCESS && strcmp(a, "hello") == 0);
    CHECK(RtlStringCchCopyA(a, 4, "hello") == STATUS_BUFFER_OVERFLOW && strcmp(a, "hel") == 0);
    CHECK(RtlStringCchCopyA(a, 6, "hello") == STATUS_SUCCESS && strcmp(a, "hello") == 0); /* exact fit */
    memset(a, '#', sizeof a);
    CHECK(RtlStringCchCopyA(a, 0, "hello") == STATUS_INVALID_PARAMETER && a[0] == '#');
    CHECK(RtlStringCchCopyA(a, (size_t)NTSTRSAFE_MAX_CCH + 1, "x") == STATUS_INVALID_PARAMETER && a[0] == '#');
    CHECK(RtlStringCchCopyA(a, sizeof a, NULL) == STATUS_INVALID_PARAMETER && a[0] == '\0');
    CHECK(RtlStringCchCopyA(NULL, 8, "x") == STATUS_INVALID_PARAMETER);
    CHECK(RtlStringCbCopyA(a, sizeof a, "0123456789") == STATUS_BUFFER_OVERFLOW && strcmp(a, "0123456") == 0);

    CHECK(RtlStringCchCopyW(w, 8, L"wide") == STATUS_SUCCESS && wcscmp(w, L"wide") == 0);
    CHECK(RtlStringCchCopyW(w, 3, L"wide") == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"wi") == 0);
    w[0] = L'#';
    CHECK(RtlStringCchCopyW(w, 0, L"wide") == STATUS_INVALID_PARAMETER && w[0] == L'#');
    CHECK(RtlStringCbCopyW(w, sizeof w, L"0123456789") == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"0123456") == 0);
    /* a byte count that is not whole characters is rounded down; under one character is 0 */
    CHECK(RtlStringCbCopyW(w, 3 * sizeof(wchar_t) + 1, L"abcd") == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"ab") == 0);
    w[0] = L'#';
    CHECK(RtlStringCbCopyW(w, sizeof(wchar_t) - 1, L"a") == STATUS_INVALID_PARAMETER && w[0] == L'#');

    CHECK(RtlStringCchCopyNA(a, sizeof a, unterminated, 3) == STATUS_SUCCESS && strcmp(a, "xyz") == 0);
    CHECK(RtlStringCchCopyNA(a, sizeof a, "hello", 2) == STATUS_SUCCESS && strcmp(a, "he") == 0);
    CHECK(RtlStringCchCopyNA(a, sizeof a, "hi", 100) == STATUS_SUCCESS && strcmp(a, "hi") == 0);
    CHECK(RtlStringCchCopyNA(a, 3, "hello", 4) == STATUS_BUFFER_OVERFLOW && strcmp(a, "he") == 0);
    CHECK(RtlStringCchCopyNA(a, sizeof a, "hello", (size_t)NTSTRSAFE_MAX_CCH + 1) == STATUS_INVALID_PARAMETER &&
          a[0] == '\0');
    CHECK(RtlStringCbCopyNA(a, sizeof a, "hello", 3) == STATUS_SUCCESS && strcmp(a, "hel") == 0);
    CHECK(RtlStringCchCopyNW(w, 8, wunterminated, 3) == STATUS_SUCCESS && wcscmp(w, L"xyz") == 0);
    CHECK(RtlStringCchCopyNW(w, 2, L"hello", 3) == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"h") == 0);
    CHECK(RtlStringCbCopyNW(w, sizeof w, L"hello", 2 * sizeof(wchar_t)) == STATUS_SUCCESS && wcscmp(w, L"he") == 0);
    CHECK(RtlStringCbCopyNW(w, sizeof w, wunterminated, sizeof wunterminated) == STATUS_SUCCESS &&
          wcscmp(w, L"xyz") == 0);
}

static void test_cat(void) {
    char a[8];
    wchar_t w[8];
    const char tail[2] = {'!', '?'};

    strcpy(a, "ab");
    CHECK(RtlStringCchCatA(a, sizeof a, "cd") == STATUS_SUCCESS && strcmp(a, "abcd") == 0);
    CHECK(RtlStringCchCatA(a, sizeof a, "efghij") == STATUS_BUFFER_OVERFLOW && strcmp(a, "abcdefg") == 0);
    CHECK(RtlStringCchCatA(a, sizeof a, "x") == STATUS_BUFFER_OVERFLOW && strcmp(a, "abcdefg") == 0); /* full */
    memset(a, 'z', sizeof a); /* no terminator within the size: refused, left alone */
    CHECK(RtlStringCchCatA(a, sizeof a, "x") == STATUS_INVALID_PARAMETER && a[0] == 'z' && a[7] == 'z');
    CHECK(RtlStringCbCatA(a, sizeof a, "x") == STATUS_INVALID_PARAMETER && a[7] == 'z');
    strcpy(a, "ab");
    CHECK(RtlStringCchCatA(a, 0, "x") == STATUS_INVALID_PARAMETER && strcmp(a, "ab") == 0);
    CHECK(RtlStringCchCatA(a, sizeof a, NULL) == STATUS_INVALID_PARAMETER && strcmp(a, "ab") == 0);
    CHECK(RtlStringCbCatA(a, 4, "cd") == STATUS_BUFFER_OVERFLOW && strcmp(a, "abc") == 0);
    strcpy(a, "ab");
    CHECK(RtlStringCchCatNA(a, sizeof a, tail, 2) == STATUS_SUCCESS && strcmp(a, "ab!?") == 0);
    CHECK(RtlStringCbCatNA(a, sizeof a, "xyz", 1) == STATUS_SUCCESS && strcmp(a, "ab!?x") == 0);

    wcscpy(w, L"ab");
    CHECK(RtlStringCchCatW(w, 8, L"cd") == STATUS_SUCCESS && wcscmp(w, L"abcd") == 0);
    CHECK(RtlStringCbCatW(w, 6 * sizeof(wchar_t), L"efg") == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"abcde") == 0);
    wmemset(w, L'z', 8);
    CHECK(RtlStringCchCatW(w, 8, L"x") == STATUS_INVALID_PARAMETER && w[0] == L'z' && w[7] == L'z');
    CHECK(RtlStringCbCatW(w, sizeof w, L"x") == STATUS_INVALID_PARAMETER && w[7] == L'z');
    wcscpy(w, L"ab");
    CHECK(RtlStringCchCatNW(w, 8, L"cdef", 2) == STATUS_SUCCESS && wcscmp(w, L"abcd") == 0);
    CHECK(RtlStringCbCatNW(w, sizeof w, L"efgh", 3 * sizeof(wchar_t)) == STATUS_SUCCESS && wcscmp(w, L"abcdefg") == 0);
    CHECK(RtlStringCbCatNW(w, sizeof w, L"h", sizeof(wchar_t)) == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"abcdefg") == 0);
}

static void test_length(void) {
    size_t n = 99;
    const char full[4] = {'a', 'b', 'c', 'd'};
    const wchar_t wfull[2] = {L'a', L'b'};

    CHECK(RtlStringCchLengthA("abc", 4, &n) == STATUS_SUCCESS && n == 3);
    CHECK(RtlStringCchLengthA("abc", 3, &n) == STATUS_INVALID_PARAMETER && n == 0); /* NUL must fit too */
    n = 99;
    CHECK(RtlStringCchLengthA(full, sizeof full, &n) == STATUS_INVALID_PARAMETER && n == 0);
    n = 99;
    CHECK(RtlStringCchLengthA(NULL, 4, &n) == STATUS_INVALID_PARAMETER && n == 0);
    CHECK(RtlStringCchLengthA("abc", (size_t)NTSTRSAFE_MAX_CCH + 1, &n) == STATUS_INVALID_PARAMETER);
    CHECK(RtlStringCchLengthA("abc", 10, NULL) == STATUS_SUCCESS);
    CHECK(RtlStringCchLengthA(NULL, 10, NULL) == STATUS_INVALID_PARAMETER);
    CHECK(RtlStringCbLengthA("abc", 10, &n) == STATUS_SUCCESS && n == 3);
    CHECK(RtlStringCchLengthW(L"abc", 4, &n) == STATUS_SUCCESS && n == 3);
    n = 99;
    CHECK(RtlStringCchLengthW(wfull, 2, &n) == STATUS_INVALID_PARAMETER && n == 0);
    CHECK(RtlStringCbLengthW(L"abc", 4 * sizeof(wchar_t), &n) == STATUS_SUCCESS && n == 3 * sizeof(wchar_t));
    n = 99;
    CHECK(RtlStringCbLengthW(L"abc", 3 * sizeof(wchar_t), &n) == STATUS_INVALID_PARAMETER && n == 0);
    n = 99;
    CHECK(RtlStringCbLengthW(NULL, 8, &n) == STATUS_INVALID_PARAMETER && n == 0);
}

/* Formats that mean the same to glibc and to Windows: run in both builds. */
static void test_printf_common(void) {
    char a[16];
    wchar_t w[16];

    CHECK(RtlStringCchPrintfA(a, sizeof a, "%d-%s", 42, "ok") == STATUS_SUCCESS && strcmp(a, "42-ok") == 0);
    CHECK(RtlStringCchPrintfA(a, 6, "%d", 1234567) == STATUS_BUFFER_OVERFLOW && strcmp(a, "12345") == 0);
    CHECK(RtlStringCchPrintfA(a, 8, "%s", "1234567") == STATUS_SUCCESS && strcmp(a, "1234567") == 0);
    CHECK(RtlStringCchPrintfA(a, 7, "%s", "1234567") == STATUS_BUFFER_OVERFLOW && strcmp(a, "123456") == 0);
    a[0] = '#';
    CHECK(RtlStringCchPrintfA(a, 0, "%d", 1) == STATUS_INVALID_PARAMETER && a[0] == '#');
    CHECK(RtlStringCchPrintfA(a, sizeof a, NULL) == STATUS_INVALID_PARAMETER && a[0] == '\0');
    CHECK(RtlStringCbPrintfA(a, sizeof a, "[%5d]", 7) == STATUS_SUCCESS && strcmp(a, "[    7]") == 0);
    CHECK(cch_vprintf_a(a, sizeof a, "%x", 255u) == STATUS_SUCCESS && strcmp(a, "ff") == 0);
    CHECK(cb_vprintf_a(a, 3, "%d", 12345) == STATUS_BUFFER_OVERFLOW && strcmp(a, "12") == 0);

    CHECK(RtlStringCchPrintfW(w, 16, L"%d/%x", 10, 255u) == STATUS_SUCCESS && wcscmp(w, L"10/ff") == 0);
    CHECK(RtlStringCchPrintfW(w, 4, L"%d", 123456) == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"123") == 0);
    w[0] = L'#';
    CHECK(RtlStringCchPrintfW(w, 0, L"%d", 1) == STATUS_INVALID_PARAMETER && w[0] == L'#');
    CHECK(RtlStringCbPrintfW(w, 1, L"%d", 1) == STATUS_INVALID_PARAMETER && w[0] == L'#');
    CHECK(RtlStringCbPrintfW(w, 3 * sizeof(wchar_t), L"%d", 1234) == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"12") == 0);
    CHECK(cch_vprintf_w(w, 16, L"<%d>", -3) == STATUS_SUCCESS && wcscmp(w, L"<-3>") == 0);
    CHECK(cb_vprintf_w(w, sizeof w, L"%u", 7u) == STATUS_SUCCESS && wcscmp(w, L"7") == 0);
}

/* Windows' format rules: need the real exports. */
static void test_printf_windows(void) {
    char a[64];
    wchar_t w[64];
    ULONG big = 4000000000u; /* 32-bit: %lu must read an unsigned int, not a long */
    LONG negative = -5;
    ULONGLONG wide64 = 0x123456789ULL;
    SIZE_T size = 12345;
    wchar_t name_chars[] = {L'D', L'e', L'v', L'X', L'Y'}; /* counted, not terminated */
    char ansi_chars[] = {'a', 'n', 's', 'i', '!'};
    UNICODE_STRING name;
    ANSI_STRING ansi;
    wchar_t accented[] = L"caf\u00e9";
    name.Buffer = name_chars;
    name.Length = (USHORT)(3 * sizeof(WCHAR));
    name.MaximumLength = (USHORT)sizeof name_chars;
    ansi.Buffer = ansi_chars;
    ansi.Length = 4;
    ansi.MaximumLength = (USHORT)sizeof ansi_chars;

    CHECK(RtlStringCchPrintfA(a, sizeof a, "%lu %ld %lx", big, negative, big) == STATUS_SUCCESS &&
          strcmp(a, "4000000000 -5 ee6b2800") == 0);
    CHECK(RtlStringCbPrintfA(a, sizeof a, "%I64x %llu %Iu", wide64, wide64, size) == STATUS_SUCCESS &&
          strcmp(a, "123456789 4886718345 12345") == 0);
    CHECK(RtlStringCchPrintfA(a, sizeof a, "[%wZ] [%Z]", &name, &ansi) == STATUS_SUCCESS &&
          strcmp(a, "[Dev] [ansi]") == 0);
    CHECK(RtlStringCchPrintfA(a, sizeof a, "%S|%ws|%ls|%hs|%s|%C", L"w1", L"w2", L"w3", "n1", "n2", (int)L'Q') ==
              STATUS_SUCCESS &&
          strcmp(a, "w1|w2|w3|n1|n2|Q") == 0);
    CHECK(RtlStringCchPrintfA(a, 6, "%wZ-%lu", &name, big) == STATUS_BUFFER_OVERFLOW && strcmp(a, "Dev-4") == 0);
    CHECK(cch_vprintf_a(a, sizeof a, "%lu/%wZ", big, &name) == STATUS_SUCCESS && strcmp(a, "4000000000/Dev") == 0);

    CHECK(RtlStringCchPrintfW(w, 64, L"%s|%ls|%ws|%S|%hs", L"w1", L"w2", L"w3", "n1", "n2") == STATUS_SUCCESS &&
          wcscmp(w, L"w1|w2|w3|n1|n2") == 0);
    CHECK(RtlStringCchPrintfW(w, 64, L"%c%C%lc%hc", (int)L'a', 'b', (int)L'c', 'd') == STATUS_SUCCESS &&
          wcscmp(w, L"abcd") == 0);
    CHECK(RtlStringCbPrintfW(w, sizeof w, L"%lu %ld [%wZ] [%Z] %I64u", big, negative, &name, &ansi, wide64) ==
              STATUS_SUCCESS &&
          wcscmp(w, L"4000000000 -5 [Dev] [ansi] 4886718345") == 0);
    CHECK(RtlStringCchPrintfW(w, 64, L"%s/%wZ", accented, &name) == STATUS_SUCCESS &&
          wcscmp(w, L"caf\u00e9/Dev") == 0);
    CHECK(RtlStringCchPrintfW(w, 64, L"\u00e9%d", 1) == STATUS_SUCCESS && wcscmp(w, L"\u00e91") == 0);
    CHECK(RtlStringCchPrintfW(w, 5, L"%s", accented) == STATUS_SUCCESS && wcscmp(w, accented) == 0);
    CHECK(RtlStringCchPrintfW(w, 4, L"%s", accented) == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"caf") == 0);
    CHECK(RtlStringCchPrintfW(w, 64, L"%.2s|%-4s|%3s", L"abc", L"x", L"y") == STATUS_SUCCESS &&
          wcscmp(w, L"ab|x   |  y") == 0);
    CHECK(cb_vprintf_w(w, sizeof w, L"%S=%lu", "n", big) == STATUS_SUCCESS && wcscmp(w, L"n=4000000000") == 0);
    CHECK(cch_vprintf_w(w, 7, L"%wZ%s", &name, L"1234") == STATUS_BUFFER_OVERFLOW && wcscmp(w, L"Dev123") == 0);
    CHECK(RtlStringCchPrintfW(w, 64, L"100%%") == STATUS_SUCCESS && wcscmp(w, L"100%") == 0);
}

/* The counted-string routines: no terminator needed, Length set to what was written,
 * STATUS_BUFFER_OVERFLOW with as much as fits, invalid strings refused. */
static void test_unicode_strings(void) {
    WCHAR buffer[6];
    UNICODE_STRING dst, src, bad;
    RtlInitEmptyUnicodeString(&dst, buffer, sizeof buffer);
    CHECK(RtlUnicodeStringInit(&src, L"abc") == STATUS_SUCCESS && src.Length == 3 * sizeof(WCHAR) &&
          src.MaximumLength == 4 * sizeof(WCHAR));
    CHECK(RtlUnicodeStringInit(&bad, NULL) == STATUS_SUCCESS && bad.Length == 0 && bad.Buffer == NULL);
    CHECK(RtlUnicodeStringValidate(&src) == STATUS_SUCCESS);
    CHECK(RtlUnicodeStringCopy(&dst, &src) == STATUS_SUCCESS && dst.Length == 3 * sizeof(WCHAR) &&
          wcsncmp(dst.Buffer, L"abc", 3) == 0);
    CHECK(RtlUnicodeStringCatString(&dst, L"def") == STATUS_SUCCESS && dst.Length == sizeof buffer &&
          wcsncmp(dst.Buffer, L"abcdef", 6) == 0); /* exactly full: no terminator needed */
    CHECK(RtlUnicodeStringCat(&dst, &src) == STATUS_BUFFER_OVERFLOW && dst.Length == sizeof buffer);
    CHECK(RtlUnicodeStringCopyString(&dst, L"0123456789") == STATUS_BUFFER_OVERFLOW && dst.Length == sizeof buffer &&
          wcsncmp(dst.Buffer, L"012345", 6) == 0);
    CHECK(RtlUnicodeStringCbCopyStringN(&dst, L"xyz", 2 * sizeof(WCHAR)) == STATUS_SUCCESS &&
          dst.Length == 2 * sizeof(WCHAR) && wcsncmp(dst.Buffer, L"xy", 2) == 0);
    CHECK(RtlUnicodeStringCchCopyStringN(&dst, L"xyz", 1) == STATUS_SUCCESS && dst.Length == sizeof(WCHAR));
    CHECK(RtlUnicodeStringPrintf(&dst, L"%d-%s", 42, L"ok") == STATUS_SUCCESS && dst.Length == 5 * sizeof(WCHAR) &&
          wcsncmp(dst.Buffer, L"42-ok", 5) == 0);
    CHECK(RtlUnicodeStringPrintf(&dst, L"%s", L"abcdef") == STATUS_SUCCESS && dst.Length == sizeof buffer);
    CHECK(RtlUnicodeStringPrintf(&dst, L"%wZ+", &src) == STATUS_SUCCESS && wcsncmp(dst.Buffer, L"abc+", 4) == 0);
    CHECK(RtlUnicodeStringPrintf(&dst, L"%s", L"toolongtext") == STATUS_BUFFER_OVERFLOW &&
          dst.Length == sizeof buffer && wcsncmp(dst.Buffer, L"toolon", 6) == 0);
    bad = dst;
    bad.Length = bad.MaximumLength + sizeof(WCHAR); /* longer than its maximum */
    CHECK(RtlUnicodeStringValidate(&bad) == STATUS_INVALID_PARAMETER);
    CHECK(RtlUnicodeStringCopy(&bad, &src) == STATUS_INVALID_PARAMETER);
    bad = dst;
    bad.Length = 3; /* not whole characters */
    CHECK(RtlUnicodeStringCat(&dst, &bad) == STATUS_INVALID_PARAMETER);
    CHECK(RtlUnicodeStringCopyString(&dst, NULL) == STATUS_INVALID_PARAMETER);
}

int main(void) {
    test_unicode_strings();
    test_copy();
    test_cat();
    test_length();
    test_printf_common();
    test_printf_windows();
    printf("%d of %d checks passed\n", checks - failures, checks);
    return failures != 0;
}
