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


extern "C" {

NTIO_API size_t ntio_vsnprintf_windows(char* Buffer, size_t Count, const char* Format, va_list Args) {
    if (!Format) return SIZE_MAX;
    try {
        ntio::rtl::Utf8Scope utf8;
        return ntio::rtl::copy_terminated(Buffer, Count, ntio::rtl::format_windows(Format, Args));
    } catch (...) {  // std::bad_alloc must not cross into C
        return SIZE_MAX;
    }
}

NTIO_API size_t ntio_vswprintf_windows(wchar_t* Buffer, size_t Count, const wchar_t* Format, va_list Args) {
    if (!Format) return SIZE_MAX;
    try {
        return ntio::rtl::copy_terminated(Buffer, Count, ntio::rtl::format_windows_wide(Format, Args));
    } catch (...) {
        return SIZE_MAX;
    }
}

// For the counted strings of RtlUnicodeStringPrintf: at most Count characters and no
// terminator (a UNICODE_STRING needs none); the whole length back, SIZE_MAX on error.
NTIO_API size_t ntio_vswprintf_windows_counted(wchar_t* Buffer, size_t Count, const wchar_t* Format, va_list Args) {
    if (!Format) return SIZE_MAX;
    try {
        std::wstring text = ntio::rtl::format_windows_wide(Format, Args);
        size_t n = text.size() < Count ? text.size() : Count;
        if (Buffer && n) std::memcpy(Buffer, text.data(), n * sizeof(wchar_t));
        return text.size();
    } catch (...) {
        return SIZE_MAX;
    }
}

}  // extern "C"
