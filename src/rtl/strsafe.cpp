// <ntstrsafe.h>'s formatting engine: its Printf family calls these two exports, built
// on the formatter DbgPrint uses (rtl::format_windows), so that a format means the same
// in KdPrint and in RtlStringCbPrintfA.
#include <climits>
#include <clocale>
#include <cstdint>
#include <cstring>
#include <cwchar>
#include <string>

#include "rtl/windows_format.hpp"
#include "ntstrsafe.h"  // the prototypes the header calls

namespace {

void put_utf8(std::string& out, wchar_t c) {
    char buf[MB_LEN_MAX];
    std::mbstate_t st{};
    size_t k = std::wcrtomb(buf, c, &st);
    if (k == static_cast<size_t>(-1)) out += '?';
    else out.append(buf, k);
}

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

template <typename Char>
size_t deliver(Char* buffer, size_t count, const std::basic_string<Char>& text) {
    if (count > 0 && buffer) {
        size_t n = text.size() < count ? text.size() : count - 1;
        std::memcpy(buffer, text.data(), n * sizeof(Char));
        buffer[n] = Char(0);
    }
    return text.size();
}

}  // namespace

extern "C" {

NTIO_API size_t ntio_vsnprintf_windows(char* Buffer, size_t Count, const char* Format, va_list Args) {
    if (!Format) return SIZE_MAX;
    try {
        ntio::rtl::Utf8Scope utf8;
        return deliver(Buffer, Count, ntio::rtl::format_windows(Format, Args));
    } catch (...) {  // std::bad_alloc must not cross into C
        return SIZE_MAX;
    }
}

NTIO_API size_t ntio_vswprintf_windows(wchar_t* Buffer, size_t Count, const wchar_t* Format, va_list Args) {
    if (!Format) return SIZE_MAX;
    try {
        ntio::rtl::Utf8Scope utf8;
        return deliver(Buffer, Count, ntio::rtl::from_multibyte(ntio::rtl::format_windows(narrow_format(Format).c_str(), Args)));
    } catch (...) {
        return SIZE_MAX;
    }
}

}  // extern "C"
