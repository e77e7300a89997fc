/* The printf family an application gets from <windows.h> (test compat.printf): Windows's
 * format rules (32-bit %lu, %ws, %S, %I64d, wide %s in the wide functions), MSVC's return
 * values for snprintf, _snprintf, swprintf and _snwprintf, and narrow and wide output
 * mixed on one stream (docs/compat.md, "printf in application code").
 * With the argument "overflow" it calls sprintf_s on a buffer too small, which ends the
 * program as MSVC's runtime does (test compat.printf_s_overflow). Strict C11. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <inttypes.h>
#include <wchar.h>

#include "check.h"

static int v_snprintf(char *buffer, size_t count, const char *format, ...) {
    int n;
    va_list args;
    va_start(args, format);
    n = _vsnprintf(buffer, count, format, args);
    va_end(args);
    return n;
}

static void test_formats(void) {
    char a[64];
    DWORD big = 0xFFFFFFFFu;
    ULONG seven = 7;
    LONG minus = -5;
    ULONGLONG wide64 = 0x123456789ULL;
    /* A 32-bit argument in a stack slot whose upper half is not zero: glibc's %lu
     * reads 8 bytes there. Nine arguments put the last ones on the stack. */
    CHECK(sprintf(a, "%lu %lu %lu %lu %lu %lu %lu %lu %lu", seven, seven, seven, seven, seven, seven, seven, big,
                  seven) == 26);
    CHECK(strcmp(a, "7 7 7 7 7 7 7 4294967295 7") == 0);
    CHECK(snprintf(a, sizeof a, "%ld|%lx|%I64x|%I64d", minus, big, wide64, (LONGLONG)-1) > 0 &&
          strcmp(a, "-5|ffffffff|123456789|-1") == 0);
    CHECK(snprintf(a, sizeof a, "%ws|%S|%ls|%hs|%s|%wc%C", L"ws", L"S", L"ls", "hs", "s", L'w', L'C') > 0 &&
          strcmp(a, "ws|S|ls|hs|s|wC") == 0);
    CHECK(snprintf(a, sizeof a, "%Iu|%p", (SIZE_T)12, (void *)0x1234) > 0 && strcmp(a, "12|0000000000001234") == 0);
    /* <inttypes.h>'s 64-bit conversions spell "lld" after <windows.h>, as MSVC's do */
    CHECK(snprintf(a, sizeof a, "%" PRId64 "|%" PRIu64 "|%" PRIxPTR, (int64_t)-5000000000LL, (uint64_t)5000000000ULL,
                   (uintptr_t)0x123456789ULL) > 0 &&
          strcmp(a, "-5000000000|5000000000|123456789") == 0);
    CHECK(snprintf(a, sizeof a, "%5.2f|%-4d|%04x", 3.14159, 42, 0xab) > 0 && strcmp(a, " 3.14|42  |00ab") == 0);
}

static void test_returns(void) {
    char a[8];
    wchar_t w[8];

    /* snprintf (C99, as MSVC's since 2015): terminated, the whole length back */
    memset(a, '#', sizeof a);
    CHECK(snprintf(a, 4, "%s", "abcdef") == 6 && strcmp(a, "abc") == 0);
    CHECK(snprintf(NULL, 0, "%d", 12345) == 5);
    /* _snprintf: no terminator when the text fills the buffer, -1 when it does not fit */
    memset(a, '#', sizeof a);
    CHECK(_snprintf(a, 4, "%s", "abcd") == 4 && memcmp(a, "abcd#", 5) == 0);
    memset(a, '#', sizeof a);
    CHECK(_snprintf(a, 4, "%s", "abcdef") == -1 && memcmp(a, "abcd#", 5) == 0);
    CHECK(_snprintf(a, 8, "%s", "abc") == 3 && strcmp(a, "abc") == 0);
    CHECK(v_snprintf(a, 2, "%d", 123) == -1 && memcmp(a, "12", 2) == 0);
    CHECK(_snprintf(NULL, 0, "%d", 12345) == 5 && _snwprintf(NULL, 0, L"%d", 12) == 2); /* the length asked for */
    CHECK(sprintf_s(a, sizeof a, "%lu", (ULONG)1234567) == 7 && strcmp(a, "1234567") == 0);

    /* swprintf (standard): terminated, negative when truncated; %s is wide, %S narrow */
    CHECK(swprintf(w, 8, L"%s+%S", L"ab", "cd") == 5 && wcscmp(w, L"ab+cd") == 0);
    CHECK(swprintf(w, 4, L"%s", L"abcdef") < 0 && wcscmp(w, L"abc") == 0);
    wmemset(w, L'#', 8);
    CHECK(_snwprintf(w, 3, L"%s", L"abc") == 3 && w[2] == L'c' && w[3] == L'#');
    CHECK(swprintf_s(w, 8, L"%lu", (ULONG)99) == 2 && wcscmp(w, L"99") == 0);
    {
        /* width and precision count characters, not the bytes of their UTF-8 */
        wchar_t x[24];
        CHECK(swprintf(x, 24, L"%.3s|%-4s|%3s|%2c", L"\u00e4\u00f6\u00fc\u00df", L"\u00e4b", L"\u00e9", L'\u00e9') == 15 &&
              wcscmp(x, L"\u00e4\u00f6\u00fc|\u00e4b  |  \u00e9| \u00e9") == 0);
    }
}

/* Narrow and wide output on one stream, read back: glibc would fix the stream's
 * orientation at the first call and drop the other kind. */
static void test_streams(void) {
    char text[64] = {0};
    size_t n;
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fprintf(f, "narrow %lu;", (DWORD)1) == 9);
    CHECK(fwprintf(f, L"wide %s %S;", L"\u00e9t\u00e9", "x") == 11); /* characters, not bytes */
    CHECK(fprintf(f, "%ws", L"end") == 3);
    rewind(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    CHECK(n == strlen("narrow 1;wide \xc3\xa9t\xc3\xa9 x;end"));
    CHECK(strcmp(text, "narrow 1;wide \xc3\xa9t\xc3\xa9 x;end") == 0);

    /* a stream glibc's own wide output oriented is written as wide text */
    f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fputws(L"[", f) >= 0 && fwide(f, 0) > 0);
    CHECK(fprintf(f, "%lu", (DWORD)42) == 2 && fwprintf(f, L"%s]", L"w") == 2);
    rewind(f);
    {
        wchar_t back[16] = {0};
        CHECK(fgetws(back, 16, f) != NULL && wcscmp(back, L"[42w]") == 0);
    }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) {
        char small[4];
        sprintf_s(small, sizeof small, "%s", "too long");
        return 0; /* not reached: sprintf_s ends the program */
    }
    test_formats();
    test_returns();
    test_streams();
    wprintf(L"%s: ", L"printf");
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
