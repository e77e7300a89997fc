// MultiByteToWideChar / WideCharToMultiByte (S-NLS-1..3 in docs/design.md, "Code
// pages"): UTF-8 and ntio's ANSI code page (ISO-8859-1) to and from WCHAR strings, which
// hold one code point per WCHAR (UTF-32: WCHAR is wchar_t, 4 bytes).
#include <cwchar>
#include <string>

#include "win32/win32.hpp"
#include "windows.h"

using namespace ntio::win32;

namespace {

constexpr UINT kLatin1 = 28591;
constexpr char32_t kReplacement = 0xFFFD;

bool is_ansi(UINT cp) { return cp == CP_ACP || cp == CP_OEMCP || cp == CP_THREAD_ACP || cp == kLatin1; }

bool valid_code_point(char32_t c) { return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF); }

// Decodes UTF-8; an invalid sequence (stray byte, overlong form, surrogate, beyond
// U+10FFFF, cut short) is one U+FFFD per maximal bad prefix, or stops the conversion
// when `strict`. Returns false on an invalid sequence in strict mode.
bool decode_utf8(const unsigned char* s, size_t n, bool strict, std::u32string* out) {
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        if (b < 0x80) {
            out->push_back(b);
            ++i;
            continue;
        }
        size_t need = b >= 0xF0 && b <= 0xF4 ? 3 : b >= 0xE0 ? 2 : b >= 0xC2 && b < 0xE0 ? 1 : 0;
        if (b >= 0xF5) need = 0;
        char32_t c = need == 3 ? b & 0x07 : need == 2 ? b & 0x0F : b & 0x1F;
        size_t j = 1;
        for (; need && j <= need && i + j < n; ++j) {
            unsigned char cont = s[i + j];
            if ((cont & 0xC0) != 0x80) break;
            // The second byte's range rules out overlong forms, surrogates and > U+10FFFF.
            if (j == 1 && ((b == 0xE0 && cont < 0xA0) || (b == 0xED && cont > 0x9F) || (b == 0xF0 && cont < 0x90) ||
                           (b == 0xF4 && cont > 0x8F)))
                break;
            c = (c << 6) | (cont & 0x3F);
        }
        if (need && j == need + 1) {
            out->push_back(c);
            i += j;
            continue;
        }
        if (strict) return false;
        out->push_back(kReplacement);
        i += need ? j : 1;
    }
    return true;
}

void encode_utf8(char32_t c, std::string* out) {
    if (c < 0x80) {
        out->push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out->push_back(static_cast<char>(0xC0 | (c >> 6)));
        out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out->push_back(static_cast<char>(0xE0 | (c >> 12)));
        out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out->push_back(static_cast<char>(0xF0 | (c >> 18)));
        out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

// Copies a converted string out: its length when it fits (or when `capacity` is 0, the
// size asked for), else 0 and ERROR_INSUFFICIENT_BUFFER with what fitted written.
template <typename Char, typename String>
int deliver(const String& s, Char* out, int capacity) {
    if (s.size() > static_cast<size_t>(INT32_MAX)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    int n = static_cast<int>(s.size());
    if (capacity == 0) return n;
    for (int i = 0; i < n && i < capacity; ++i) out[i] = static_cast<Char>(s[i]);
    if (n > capacity) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    }
    return n;
}

int fail(DWORD error) {
    set_last_error(error);
    return 0;
}

}  // namespace

extern "C" {

int MultiByteToWideChar(UINT CodePage, DWORD dwFlags, LPCCH lpMultiByteStr, int cbMultiByte, LPWSTR lpWideCharStr,
                        int cchWideChar) {
    if (!lpMultiByteStr || cbMultiByte == 0 || cbMultiByte < -1 || cchWideChar < 0 || (cchWideChar && !lpWideCharStr) ||
        (cchWideChar && static_cast<const void*>(lpMultiByteStr) == static_cast<const void*>(lpWideCharStr)))
        return fail(ERROR_INVALID_PARAMETER);
    size_t n = cbMultiByte == -1 ? std::char_traits<char>::length(lpMultiByteStr) + 1 : static_cast<size_t>(cbMultiByte);
    auto bytes = reinterpret_cast<const unsigned char*>(lpMultiByteStr);
    std::u32string wide;
    if (CodePage == CP_UTF8) {
        if (dwFlags & ~MB_ERR_INVALID_CHARS) return fail(ERROR_INVALID_FLAGS);
        if (!decode_utf8(bytes, n, dwFlags & MB_ERR_INVALID_CHARS, &wide)) return fail(ERROR_NO_UNICODE_TRANSLATION);
    } else if (is_ansi(CodePage)) {
        if (dwFlags & ~(MB_PRECOMPOSED | MB_COMPOSITE | MB_USEGLYPHCHARS | MB_ERR_INVALID_CHARS))
            return fail(ERROR_INVALID_FLAGS);
        wide.assign(bytes, bytes + n);  // every byte is a character of ISO-8859-1
    } else {
        return fail(ERROR_INVALID_PARAMETER);  // a code page ntio does not have
    }
    return deliver(wide, lpWideCharStr, cchWideChar);
}

int WideCharToMultiByte(UINT CodePage, DWORD dwFlags, LPCWCH lpWideCharStr, int cchWideChar, LPSTR lpMultiByteStr,
                        int cbMultiByte, LPCCH lpDefaultChar, LPBOOL lpUsedDefaultChar) {
    if (!lpWideCharStr || cchWideChar == 0 || cchWideChar < -1 || cbMultiByte < 0 || (cbMultiByte && !lpMultiByteStr) ||
        (cbMultiByte && static_cast<const void*>(lpWideCharStr) == static_cast<const void*>(lpMultiByteStr)))
        return fail(ERROR_INVALID_PARAMETER);
    size_t n = cchWideChar == -1 ? std::wcslen(lpWideCharStr) + 1 : static_cast<size_t>(cchWideChar);
    std::string narrow;
    if (CodePage == CP_UTF8) {
        // No default character in UTF-8: every code point has a form.
        if (lpDefaultChar || lpUsedDefaultChar) return fail(ERROR_INVALID_PARAMETER);
        if (dwFlags & ~WC_ERR_INVALID_CHARS) return fail(ERROR_INVALID_FLAGS);
        for (size_t i = 0; i < n; ++i) {
            auto c = static_cast<char32_t>(lpWideCharStr[i]);
            if (!valid_code_point(c)) {
                if (dwFlags & WC_ERR_INVALID_CHARS) return fail(ERROR_NO_UNICODE_TRANSLATION);
                c = kReplacement;
            }
            encode_utf8(c, &narrow);
        }
    } else if (is_ansi(CodePage)) {
        if (dwFlags & ~(WC_COMPOSITECHECK | WC_DISCARDNS | WC_SEPCHARS | WC_DEFAULTCHAR | WC_NO_BEST_FIT_CHARS))
            return fail(ERROR_INVALID_FLAGS);
        char fallback = lpDefaultChar ? *lpDefaultChar : '?';
        bool used = false;
        for (size_t i = 0; i < n; ++i) {
            auto c = static_cast<char32_t>(lpWideCharStr[i]);
            if (c > 0xFF) {
                used = true;
                narrow.push_back(fallback);
            } else {
                narrow.push_back(static_cast<char>(c));
            }
        }
        if (lpUsedDefaultChar) *lpUsedDefaultChar = used ? TRUE : FALSE;
    } else {
        return fail(ERROR_INVALID_PARAMETER);
    }
    return deliver(narrow, lpMultiByteStr, cbMultiByte);
}

UINT GetACP(VOID) { return kLatin1; }
UINT GetOEMCP(VOID) { return kLatin1; }

}  // extern "C"
