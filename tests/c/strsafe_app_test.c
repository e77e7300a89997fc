/* <strsafe.h> for applications (tests compat.strsafe and compat.strsafe_unicode): every
 * routine once with its HRESULT outcomes, and the generic names as the Echo sample's
 * client uses them (StringCchCopy of a device interface path, with and without UNICODE).
 * The workers are <ntstrsafe.h>'s, whose own test (compat.ntstrsafe) covers the edge
 * cases one by one; this one checks the mapping to HRESULTs and the A/W/generic names.
 * Strict C11 like an application. */
#include <windows.h>
#include <strsafe.h>

#include <stdio.h>

#include "check.h"

static HRESULT vprintf_a(char *dst, size_t cch, const char *format, ...) {
    HRESULT hr;
    va_list args;
    va_start(args, format);
    hr = StringCchVPrintfA(dst, cch, format, args);
    va_end(args);
    return hr;
}

static HRESULT vprintf_cb_w(wchar_t *dst, size_t cb, const wchar_t *format, ...) {
    HRESULT hr;
    va_list args;
    va_start(args, format);
    hr = StringCbVPrintfW(dst, cb, format, args);
    va_end(args);
    return hr;
}

static void test_results(void) {
    char a[8];
    wchar_t w[8];
    size_t n = 99;

    CHECK(STRSAFE_E_INSUFFICIENT_BUFFER == HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    CHECK(STRSAFE_E_INVALID_PARAMETER == HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER));

    CHECK(StringCchCopyA(a, sizeof a, "hello") == S_OK && strcmp(a, "hello") == 0);
    CHECK(StringCchCopyA(a, 4, "hello") == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(a, "hel") == 0);
    a[0] = '#';
    CHECK(StringCchCopyA(a, 0, "x") == STRSAFE_E_INVALID_PARAMETER && a[0] == '#');
    CHECK(StringCchCopyA(a, (size_t)STRSAFE_MAX_CCH + 1, "x") == STRSAFE_E_INVALID_PARAMETER && a[0] == '#');
    CHECK(FAILED(StringCchCopyA(a, 2, "xy")) && SUCCEEDED(StringCchCopyA(a, 3, "xy")));
    CHECK(StringCbCopyA(a, sizeof a, "0123456789") == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(a, "0123456") == 0);
    CHECK(StringCchCopyNA(a, sizeof a, "hello", 2) == S_OK && strcmp(a, "he") == 0);
    CHECK(StringCbCopyNA(a, 3, "hello", 4) == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(a, "he") == 0);
    CHECK(StringCchCatA(a, sizeof a, "llo") == S_OK && strcmp(a, "hello") == 0);
    CHECK(StringCbCatA(a, sizeof a, "world") == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(a, "hellowo") == 0);
    strcpy(a, "ab");
    CHECK(StringCchCatNA(a, sizeof a, "cdef", 2) == S_OK && strcmp(a, "abcd") == 0);
    CHECK(StringCbCatNA(a, sizeof a, NULL, 2) == STRSAFE_E_INVALID_PARAMETER && strcmp(a, "abcd") == 0);
    CHECK(StringCchLengthA("abc", 4, &n) == S_OK && n == 3);
    CHECK(StringCbLengthA("abc", 3, &n) == STRSAFE_E_INVALID_PARAMETER && n == 0);

    CHECK(StringCchCopyW(w, 8, L"wide") == S_OK && wcscmp(w, L"wide") == 0);
    CHECK(StringCbCopyW(w, 3 * sizeof(wchar_t), L"wide") == STRSAFE_E_INSUFFICIENT_BUFFER && wcscmp(w, L"wi") == 0);
    CHECK(StringCchCopyNW(w, 8, L"wide", 1) == S_OK && wcscmp(w, L"w") == 0);
    CHECK(StringCbCopyNW(w, sizeof w, L"wide", 2 * sizeof(wchar_t)) == S_OK && wcscmp(w, L"wi") == 0);
    CHECK(StringCchCatW(w, 8, L"de") == S_OK && wcscmp(w, L"wide") == 0);
    CHECK(StringCbCatW(w, sizeof w, L"r than") == STRSAFE_E_INSUFFICIENT_BUFFER && wcscmp(w, L"wider t") == 0);
    wcscpy(w, L"ab");
    CHECK(StringCchCatNW(w, 8, L"cdef", 2) == S_OK && wcscmp(w, L"abcd") == 0);
    CHECK(StringCbCatNW(w, sizeof w, L"ef", sizeof(wchar_t)) == S_OK && wcscmp(w, L"abcde") == 0);
    CHECK(StringCchLengthW(L"abc", 4, &n) == S_OK && n == 3);
    CHECK(StringCbLengthW(L"abc", sizeof w, &n) == S_OK && n == 3 * sizeof(wchar_t));
}

static void test_printf(void) {
    char a[32];
    wchar_t w[32];
    DWORD code = 0xC0000001u;
    ULONG low = 7;

    /* Windows's formats, not glibc's: %lu is 32 bits, %ws a wide string, %S the other width */
    CHECK(StringCchPrintfA(a, 32, "%lu|%ws|%S|%s", low, L"wide", L"S", "n") == S_OK &&
          strcmp(a, "7|wide|S|n") == 0);
    CHECK(StringCbPrintfA(a, 8, "0x%08lX", code) == STRSAFE_E_INSUFFICIENT_BUFFER && strcmp(a, "0xC0000") == 0);
    CHECK(vprintf_a(a, 32, "%d-%d", 1, 2) == S_OK && strcmp(a, "1-2") == 0);
    /* in the W routines %s is wide and %S narrow, as in MSVC's wide printf */
    CHECK(StringCchPrintfW(w, 32, L"%s+%S=%u", L"wide", "narrow", 3u) == S_OK && wcscmp(w, L"wide+narrow=3") == 0);
    CHECK(StringCbPrintfW(w, 4 * sizeof(wchar_t), L"%s", L"truncated") == STRSAFE_E_INSUFFICIENT_BUFFER &&
          wcscmp(w, L"tru") == 0);
    CHECK(vprintf_cb_w(w, sizeof w, L"%lu", low) == S_OK && wcscmp(w, L"7") == 0);
    a[0] = '#';
    CHECK(StringCchPrintfA(a, 0, "x") == STRSAFE_E_INVALID_PARAMETER && a[0] == '#');
}

/* The Echo client's GetDevicePath: the first path of a CM_Get_Device_Interface_List
 * multi-string, copied with the generic name into a TCHAR buffer. */
static void test_generic_names(void) {
    TCHAR path[64];
    TCHAR small[8];
    size_t n = 0;
#ifdef UNICODE
    static const WCHAR list[] = L"\\\\?\\ROOT#ECHO#0000#{cdc35b6e}\0\\\\?\\ROOT#ECHO#0001#{cdc35b6e}\0";
    CHECK(sizeof(TCHAR) == sizeof(WCHAR));
#else
    static const char list[] = "\\\\?\\ROOT#ECHO#0000#{cdc35b6e}\0\\\\?\\ROOT#ECHO#0001#{cdc35b6e}\0";
    CHECK(sizeof(TCHAR) == 1);
#endif
    CHECK(StringCchCopy(path, sizeof path / sizeof path[0], list) == S_OK);
    CHECK(StringCchLength(path, sizeof path / sizeof path[0], &n) == S_OK && n == 29);
    CHECK(StringCbLength(path, sizeof path, &n) == S_OK && n == 29 * sizeof(TCHAR));
    CHECK(StringCchCopy(small, 8, list) == STRSAFE_E_INSUFFICIENT_BUFFER && small[7] == 0);
    CHECK(StringCbCopy(small, sizeof small, TEXT("ab")) == S_OK);
    CHECK(StringCchCat(small, 8, TEXT("cd")) == S_OK && StringCbCat(small, sizeof small, TEXT("efgh")) ==
                                                            STRSAFE_E_INSUFFICIENT_BUFFER);
    CHECK(StringCchCopyN(small, 8, TEXT("xyz"), 2) == S_OK && StringCbCopyN(small, sizeof small, TEXT("xyz"), sizeof(TCHAR)) == S_OK);
    CHECK(StringCchCatN(small, 8, TEXT("yz"), 1) == S_OK && StringCbCatN(small, sizeof small, TEXT("z"), sizeof(TCHAR)) == S_OK);
    CHECK(StringCchLength(small, 8, &n) == S_OK && n == 3);
    CHECK(StringCchPrintf(small, 8, TEXT("%d%d"), 4, 2) == S_OK && StringCbPrintf(small, sizeof small, TEXT("%u"), 9u) == S_OK);
}

int main(void) {
    test_results();
    test_printf();
    test_generic_names();
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("strsafe: %d checks passed\n", checks);
    return 0;
}
