#include "rtl/windows_format.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <climits>
#include <cwchar>

#include <locale.h>

#include "wdm.h"

namespace ntio::rtl {
namespace {

enum class Size { normal, half, byte, long32, wide64, pointer, long_double, wide_text, narrow_text };

void append_wide(std::string& out, const wchar_t* s, size_t n) {
    for (size_t i = 0; i < n && s[i]; ++i) {
        wchar_t c = s[i];
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else {  // UTF-8
            char buf[8];
            mbstate_t st{};
            size_t k = wcrtomb(buf, c, &st);
            if (k == static_cast<size_t>(-1)) out += '?';
            else out.append(buf, k);
        }
    }
}

template <typename T>
void append_formatted(std::string& out, const std::string& spec, T value) {
    char buf[128];
    int n = std::snprintf(buf, sizeof buf, spec.c_str(), value);
    if (n < 0) return;
    if (static_cast<size_t>(n) < sizeof buf) {
        out.append(buf, static_cast<size_t>(n));
    } else {
        std::string big(static_cast<size_t>(n) + 1, '\0');
        std::snprintf(big.data(), big.size(), spec.c_str(), value);
        out.append(big.data(), static_cast<size_t>(n));
    }
}

// Pads the UTF-8 of a wide string or character to the field width, counting characters,
// not bytes: each is one WCHAR in a wide result, and snprintf's byte count would pad "é"
// short and cut a character in two. (The precision was applied to the wide characters.)
void append_wide_field(std::string& out, const std::string& flags_width_precision, const std::string& text) {
    bool left = false;
    size_t i = 0, width = 0;
    const std::string& f = flags_width_precision;
    while (i < f.size() && std::strchr("-+ #0", f[i])) left |= f[i++] == '-';
    while (i < f.size() && f[i] >= '0' && f[i] <= '9') width = width * 10 + static_cast<size_t>(f[i++] - '0');
    size_t chars = 0;
    for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
    std::string pad(width > chars ? width - chars : 0, ' ');
    out += left ? text + pad : pad + text;
}

// Pads `text` to the field width and precision of a %s conversion.
void append_string(std::string& out, const std::string& flags_width_precision, const std::string& text) {
    append_formatted(out, "%" + flags_width_precision + "s", text.c_str());
}

void put_utf8(std::string& out, wchar_t c) {
    char buf[MB_LEN_MAX];
    std::mbstate_t st{};
    size_t k = std::wcrtomb(buf, c, &st);
    if (k == static_cast<size_t>(-1)) out += '?';
    else out.append(buf, k);
}

}  // namespace

// A W routine's format, rewritten as the equivalent A format: the string and character
// conversions swap their default width (%s is wide in wprintf, %S narrow), spelled with
// the explicit prefixes format_windows reads (%ws/%wc wide, %hs/%hc narrow). Everything
// else, %wZ and %Z included, means the same in both and is copied.
std::string narrow_format(const wchar_t* f) {
    std::string out;
    while (*f) {
        if (*f != L'%') {
            put_utf8(out, *f++);
            continue;
        }
        out += '%';
        ++f;
        if (*f == L'%') {
            out += '%';
            ++f;
            continue;
        }
        while (*f && std::wcschr(L"-+ #0123456789.*", *f)) out += static_cast<char>(*f++);
        std::string size;
        while (*f && std::wcschr(L"hlwILzjt3264", *f)) size += static_cast<char>(*f++);
        wchar_t conv = *f;
        if (!conv) {
            out += size;
            break;
        }
        ++f;
        bool h = size == "h", lw = size == "l" || size == "w";
        switch (conv) {
        case L's': out += h ? "hs" : "ws"; break;
        case L'S': out += lw ? "ws" : "hs"; break;
        case L'c': out += h ? "hc" : "wc"; break;
        case L'C': out += lw ? "wc" : "hc"; break;
        default:
            out += size;
            put_utf8(out, conv);
            break;
        }
    }
    return out;
}

std::wstring format_windows_wide(const wchar_t* format, va_list args) {
    Utf8Scope utf8;
    return from_multibyte(format_windows(narrow_format(format).c_str(), args));
}

std::string format_windows(const char* f, va_list args) {
    std::string out;
    while (*f) {
        if (*f != '%') {
            out += *f++;
            continue;
        }
        const char* start = f++;
        if (*f == '%') {
            out += '%';
            ++f;
            continue;
        }
        std::string fwp;  // flags, width, precision (with '*' resolved)
        while (*f && std::strchr("-+ #0", *f)) fwp += *f++;
        if (*f == '*') {
            fwp += std::to_string(va_arg(args, int));
            ++f;
        } else {
            while (*f >= '0' && *f <= '9') fwp += *f++;
        }
        // The precision also bounds how much of a %s argument is read: "%.*s" is how a
        // driver prints a buffer that has no terminating NUL.
        size_t precision = SIZE_MAX;
        if (*f == '.') {
            fwp += *f++;
            if (*f == '*') {
                int p = va_arg(args, int);
                fwp += std::to_string(p);
                if (p >= 0) precision = static_cast<size_t>(p);
                ++f;
            } else {
                size_t p = 0;
                while (*f >= '0' && *f <= '9') {
                    p = p * 10 + static_cast<size_t>(*f - '0');
                    fwp += *f++;
                }
                precision = p;
            }
        }
        Size size = Size::normal;
        if (f[0] == 'I' && f[1] == '6' && f[2] == '4') size = Size::wide64, f += 3;
        else if (f[0] == 'I' && f[1] == '3' && f[2] == '2') size = Size::long32, f += 3;
        else if (f[0] == 'I') size = Size::pointer, f += 1;
        else if (f[0] == 'l' && f[1] == 'l') size = Size::wide64, f += 2;
        else if (f[0] == 'h' && f[1] == 'h') size = Size::byte, f += 2;
        else if (f[0] == 'l') size = Size::long32, f += 1;
        else if (f[0] == 'w') size = Size::wide_text, f += 1;
        else if (f[0] == 'h') size = Size::half, f += 1;
        else if (f[0] == 'z' || f[0] == 't' || f[0] == 'j') size = Size::pointer, f += 1;
        else if (f[0] == 'L') size = Size::long_double, f += 1;
        char conv = *f ? *f++ : '\0';
        switch (conv) {
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            std::string spec = "%" + fwp;
            if (size == Size::wide64 || size == Size::pointer) {
                append_formatted(out, spec + "ll" + conv, va_arg(args, long long));
            } else {
                int v = va_arg(args, int);  // h, hh, l and plain: all promoted 32-bit on Windows
                if (size == Size::half) v = (conv == 'd' || conv == 'i') ? static_cast<short>(v) : static_cast<unsigned short>(v);
                if (size == Size::byte) v = (conv == 'd' || conv == 'i') ? static_cast<signed char>(v) : static_cast<unsigned char>(v);
                append_formatted(out, spec + conv, v);
            }
            break;
        }
        case 'c':
        case 'C': {
            int c = va_arg(args, int);
            // %C is wide unless h makes it narrow (%hC), as %S is; %lc/%wc are wide.
            bool wide = conv == 'C' ? size != Size::half : (size == Size::long32 || size == Size::wide_text);
            if (wide) {
                wchar_t w = static_cast<wchar_t>(c);
                std::string s;
                if (w == 0) s.assign(1, '\0');  // the NUL itself, as %c writes it
                else append_wide(s, &w, 1);
                append_wide_field(out, fwp, s);
            } else {
                append_formatted(out, "%" + fwp + "c", c);
            }
            break;
        }
        case 's':
        case 'S': {
            bool wide = conv == 'S' ? size != Size::half : (size == Size::long32 || size == Size::wide_text);
            if (wide) {
                const wchar_t* w = va_arg(args, const wchar_t*);
                std::string s;
                if (w) append_wide(s, w, precision);
                else s = std::string("(null)", precision < 6 ? precision : 6);
                append_wide_field(out, fwp, s);
            } else {
                const char* s = va_arg(args, const char*);
                append_string(out, fwp, s ? std::string(s, strnlen(s, precision)) : std::string("(null)"));
            }
            break;
        }
        case 'Z': {
            std::string s;
            if (size == Size::wide_text) {
                // Width and precision count characters, as for %ws.
                auto* us = va_arg(args, const UNICODE_STRING*);
                if (us && us->Buffer) append_wide(s, us->Buffer, std::min<size_t>(us->Length / sizeof(WCHAR), precision));
                else s = std::string("(null)", precision < 6 ? precision : 6);
                append_wide_field(out, fwp, s);
                break;
            } else {
                auto* as = va_arg(args, const ANSI_STRING*);
                if (as && as->Buffer) s.assign(as->Buffer, as->Length);
                else s = "(null)";
            }
            append_string(out, fwp, s);
            break;
        }
        case 'p':
            // As the CRT and the kernel print it: the pointer's 16 hex digits, upper
            // case, no 0x (glibc would print 0x1234).
            append_formatted(out, "%" + fwp + (fwp.find('.') == std::string::npos ? ".16llX" : "llX"),
                             static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(va_arg(args, void*))));
            break;
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            if (size == Size::long_double) append_formatted(out, "%" + fwp + "L" + conv, va_arg(args, long double));
            else append_formatted(out, "%" + fwp + conv, va_arg(args, double));
            break;
        case 'n':
            (void)va_arg(args, int*);  // never written: a format string must not write memory
            break;
        default:
            out.append(start, f);  // unknown conversion: shown as written
            break;
        }
    }
    return out;
}

Utf8Scope::Utf8Scope() : m_old(nullptr) {
    static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
    if (utf8) m_old = uselocale(utf8);
}

Utf8Scope::~Utf8Scope() {
    if (m_old) uselocale(static_cast<locale_t>(m_old));
}

std::string to_multibyte(const wchar_t* text) {
    std::string out;
    std::mbstate_t st{};
    char buf[MB_LEN_MAX];
    for (; *text; ++text) {
        size_t k = std::wcrtomb(buf, *text, &st);
        if (k == static_cast<size_t>(-1)) {
            out += '?';
            st = std::mbstate_t{};
        } else {
            out.append(buf, k);
        }
    }
    return out;
}

std::wstring from_multibyte(const std::string& text) {
    std::wstring out;
    std::mbstate_t st{};
    for (size_t i = 0; i < text.size();) {
        wchar_t w;
        size_t k = std::mbrtowc(&w, text.data() + i, text.size() - i, &st);
        if (k == 0) k = 1, w = L'\0';  // an embedded NUL (a %c of 0) is kept
        if (k == static_cast<size_t>(-1) || k == static_cast<size_t>(-2)) {
            st = std::mbstate_t{};
            w = static_cast<wchar_t>(static_cast<unsigned char>(text[i]));
            k = 1;
        }
        out += w;
        i += k;
    }
    return out;
}

}  // namespace ntio::rtl
