// The C runtime's printf family with Windows's format rules, for application code
// (<windows.h> maps the names here; win32/crt_print.h says why). Each call formats with
// DbgPrint's engine (rtl::format_windows) into a string, then writes or copies it with
// the return value MSVC's runtime gives for that function.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rtl/windows_format.hpp"
#include "win32/win32.hpp"

namespace {

// The formatted text, UTF-8 for the wide functions; false when the format is NULL or
// memory ran out (the runtime's EINVAL and -1).
bool format_narrow(const char* format, va_list args, std::string* out) {
    if (!format) {
        errno = EINVAL;
        return false;
    }
    try {
        ntio::rtl::Utf8Scope utf8;
        *out = ntio::rtl::format_windows(format, args);
        return true;
    } catch (...) {  // std::bad_alloc must not cross into C
        errno = ENOMEM;
        return false;
    }
}

bool format_wide(const wchar_t* format, va_list args, std::wstring* out) {
    if (!format) {
        errno = EINVAL;
        return false;
    }
    try {
        *out = ntio::rtl::format_windows_wide(format, args);
        return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
}

int write_text(FILE* stream, const std::string& text, int result) {
    if (!stream) {
        errno = EINVAL;
        return -1;
    }
    if (text.empty()) return result;
    if (fwide(stream, 0) > 0) {  // made wide by glibc's own wide output: write it as wide text
        std::wstring wide;
        try {
            ntio::rtl::Utf8Scope utf8;
            wide = ntio::rtl::from_multibyte(text);
        } catch (...) {
            errno = ENOMEM;
            return -1;
        }
        return std::fputws(wide.c_str(), stream) < 0 ? -1 : result;
    }
    if (std::fwrite(text.data(), 1, text.size(), stream) != text.size()) return -1;
    return result;
}

// Wide text goes out as UTF-8 through the narrow stream (see the header).
int write_wide(FILE* stream, const std::wstring& text) {
    std::string bytes;
    try {
        ntio::rtl::Utf8Scope utf8;
        bytes = ntio::rtl::to_multibyte(text.c_str());
    } catch (...) {
        errno = ENOMEM;
        return -1;
    }
    return write_text(stream, bytes, static_cast<int>(text.size()));
}

// MSVC's _snprintf: the terminator only when it fits; -1 when the text does not. A NULL
// buffer with a count of 0 asks for the length (Microsoft's snprintf page).
template <typename Char>
int copy_legacy(Char* buffer, size_t count, const std::basic_string<Char>& text) {
    if (!buffer && count == 0) return static_cast<int>(text.size());
    if (text.size() > count) {
        if (buffer) std::memcpy(buffer, text.data(), count * sizeof(Char));
        return -1;
    }
    if (buffer) {
        std::memcpy(buffer, text.data(), text.size() * sizeof(Char));
        if (text.size() < count) buffer[text.size()] = Char(0);
    }
    return static_cast<int>(text.size());
}

// sprintf_s: the whole text and its terminator, or the runtime's invalid-parameter end.
template <typename Char>
int copy_secure(const char* function, Char* buffer, size_t size, const std::basic_string<Char>& text) {
    if (!buffer || size == 0 || text.size() >= size) {
        if (buffer && size > 0) buffer[0] = Char(0);
        std::fprintf(stderr,
                     "ntio: %s: the buffer of %zu characters cannot hold the %zu formatted characters and their "
                     "terminator; MSVC's runtime ends the program here (invalid parameter)\n",
                     function, size, text.size());
        std::abort();
    }
    std::memcpy(buffer, text.data(), (text.size() + 1) * sizeof(Char));
    return static_cast<int>(text.size());
}

}  // namespace

extern "C" {

int ntio_vfprintf(FILE* stream, const char* format, va_list args) {
    std::string text;
    if (!format_narrow(format, args, &text)) return -1;
    return write_text(stream, text, static_cast<int>(text.size()));
}
int ntio_vprintf(const char* format, va_list args) { return ntio_vfprintf(stdout, format, args); }
int ntio_fprintf(FILE* stream, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vfprintf(stream, format, args);
    va_end(args);
    return n;
}
int ntio_printf(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vfprintf(stdout, format, args);
    va_end(args);
    return n;
}

int ntio_vsprintf(char* buffer, const char* format, va_list args) {
    std::string text;
    if (!buffer || !format_narrow(format, args, &text)) return -1;
    std::memcpy(buffer, text.c_str(), text.size() + 1);
    return static_cast<int>(text.size());
}
int ntio_sprintf(char* buffer, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vsprintf(buffer, format, args);
    va_end(args);
    return n;
}
int ntio_vsnprintf(char* buffer, size_t count, const char* format, va_list args) {
    std::string text;
    if (!format_narrow(format, args, &text)) return -1;
    return static_cast<int>(ntio::rtl::copy_terminated(buffer, count, text));
}
int ntio_snprintf(char* buffer, size_t count, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vsnprintf(buffer, count, format, args);
    va_end(args);
    return n;
}
int ntio__vsnprintf(char* buffer, size_t count, const char* format, va_list args) {
    std::string text;
    if (!format_narrow(format, args, &text)) return -1;
    return copy_legacy(buffer, count, text);
}
int ntio__snprintf(char* buffer, size_t count, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio__vsnprintf(buffer, count, format, args);
    va_end(args);
    return n;
}
int ntio_vsprintf_s(char* buffer, size_t size, const char* format, va_list args) {
    std::string text;
    if (!format_narrow(format, args, &text)) return -1;
    return copy_secure("sprintf_s", buffer, size, text);
}
int ntio_sprintf_s(char* buffer, size_t size, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vsprintf_s(buffer, size, format, args);
    va_end(args);
    return n;
}

int ntio_vfwprintf(FILE* stream, const wchar_t* format, va_list args) {
    std::wstring text;
    if (!format_wide(format, args, &text)) return -1;
    return write_wide(stream, text);
}
int ntio_vwprintf(const wchar_t* format, va_list args) { return ntio_vfwprintf(stdout, format, args); }
int ntio_fwprintf(FILE* stream, const wchar_t* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vfwprintf(stream, format, args);
    va_end(args);
    return n;
}
int ntio_wprintf(const wchar_t* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vfwprintf(stdout, format, args);
    va_end(args);
    return n;
}
// The standard swprintf (MSVC's since 2015): terminated, and negative when truncated.
int ntio_vswprintf(wchar_t* buffer, size_t count, const wchar_t* format, va_list args) {
    std::wstring text;
    if (!format_wide(format, args, &text)) return -1;
    int n = static_cast<int>(ntio::rtl::copy_terminated(buffer, count, text));
    return text.size() < count ? n : -1;
}
int ntio_swprintf(wchar_t* buffer, size_t count, const wchar_t* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio_vswprintf(buffer, count, format, args);
    va_end(args);
    return n;
}
int ntio__vsnwprintf(wchar_t* buffer, size_t count, const wchar_t* format, va_list args) {
    std::wstring text;
    if (!format_wide(format, args, &text)) return -1;
    return copy_legacy(buffer, count, text);
}
int ntio__snwprintf(wchar_t* buffer, size_t count, const wchar_t* format, ...) {
    va_list args;
    va_start(args, format);
    int n = ntio__vsnwprintf(buffer, count, format, args);
    va_end(args);
    return n;
}
int ntio_swprintf_s(wchar_t* buffer, size_t size, const wchar_t* format, ...) {
    std::wstring text;
    va_list args;
    va_start(args, format);
    bool ok = format_wide(format, args, &text);
    va_end(args);
    if (!ok) return -1;
    return copy_secure("swprintf_s", buffer, size, text);
}

}  // extern "C"
