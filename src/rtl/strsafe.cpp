// <ntstrsafe.h>'s formatting engine: its Printf family calls these two exports, built
// on the formatter DbgPrint uses (rtl::format_windows), so that a format means the same
// in KdPrint and in RtlStringCbPrintfA.
#include <climits>
#include <clocale>
#include <cstdint>
#include <cstring>
#include <cwchar>
#include <locale.h>
#include <string>

#include "rtl/windows_format.hpp"
#include "ntstrsafe.h"  // the prototypes the header calls

namespace {

// format_windows turns wide text into multibyte with wcrtomb, which follows the thread's
// LC_CTYPE; ntio never calls setlocale, so in the "C" locale every character above 0x7f
// would become '?'. Formatting under C.UTF-8 keeps them (and lets the W side decode the
// text back). uselocale is per thread, so the program's own locale is left alone.
class Utf8Scope {
public:
    Utf8Scope() {
        static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
        if (utf8) old_ = uselocale(utf8);
    }
    ~Utf8Scope() {
        if (old_) uselocale(old_);
    }
    Utf8Scope(const Utf8Scope&) = delete;
    Utf8Scope& operator=(const Utf8Scope&) = delete;

private:
    locale_t old_ = static_cast<locale_t>(0);
};

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

// UTF-8 back to wchar_t; a byte that does not decode (a %hs argument in another code
// page) becomes the code point of the same value rather than stopping the conversion.
std::wstring widen(const std::string& s) {
    std::wstring out;
    std::mbstate_t st{};
    for (size_t i = 0; i < s.size();) {
        wchar_t w;
        size_t k = std::mbrtowc(&w, s.data() + i, s.size() - i, &st);
        if (k == 0) k = 1, w = L'\0';  // an embedded NUL (%c of 0) is kept
        if (k == static_cast<size_t>(-1) || k == static_cast<size_t>(-2)) {
            st = std::mbstate_t{};
            w = static_cast<wchar_t>(static_cast<unsigned char>(s[i]));
            k = 1;
        }
        out += w;
        i += k;
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
        Utf8Scope utf8;
        return deliver(Buffer, Count, ntio::rtl::format_windows(Format, Args));
    } catch (...) {  // std::bad_alloc must not cross into C
        return SIZE_MAX;
    }
}

NTIO_API size_t ntio_vswprintf_windows(wchar_t* Buffer, size_t Count, const wchar_t* Format, va_list Args) {
    if (!Format) return SIZE_MAX;
    try {
        Utf8Scope utf8;
        return deliver(Buffer, Count, widen(ntio::rtl::format_windows(narrow_format(Format).c_str(), Args)));
    } catch (...) {
        return SIZE_MAX;
    }
}

}  // extern "C"
