// printf formatting with Windows' rules (DbgPrint, and later trace messages).
#pragma once
#include <cstdarg>
#include <string>

namespace ntio::rtl {
// %ld/%lu/%lx/%li are 32-bit; %lld, %I64d and %I64x 64-bit; %Id/%Iu/%Ix pointer-sized;
// %hs narrow and %ls/%ws/%S wide strings; %wZ a PUNICODE_STRING, %Z a PANSI_STRING;
// %C/%wc a wide character. Everything else as in C.
std::string format_windows(const char* format, va_list args);

// A wide format (wprintf's: %s is wide, %S narrow) rewritten as the narrow format that
// means the same to format_windows (%ws, %hs). Literal text becomes UTF-8 in the thread's
// conversion, so call it inside a Utf8Scope.
std::string narrow_format(const wchar_t* format);

// A wide format (wprintf's rules) formatted to wide text: narrow_format, format_windows,
// and back from UTF-8. Opens its own Utf8Scope.
std::wstring format_windows_wide(const wchar_t* format, va_list args);

// C99's bounded copy into a buffer of `count` characters: at most count - 1 of them and a
// terminator (nothing when count is 0 or there is no buffer); the whole length back.
template <typename Char>
size_t copy_terminated(Char* buffer, size_t count, const std::basic_string<Char>& text) {
    if (count > 0 && buffer) {
        size_t n = text.size() < count ? text.size() : count - 1;
        for (size_t i = 0; i < n; ++i) buffer[i] = text[i];
        buffer[n] = Char(0);
    }
    return text.size();
}

// Wide text through the narrow formatter and back: format_windows converts wide
// arguments with wcrtomb, which follows the thread's LC_CTYPE, and ntio never calls
// setlocale. Inside a Utf8Scope the calling thread converts to and from UTF-8 (the
// program's own locale is left alone), so non-ASCII characters survive the round trip.
class Utf8Scope {
public:
    Utf8Scope();
    ~Utf8Scope();
    Utf8Scope(const Utf8Scope&) = delete;
    Utf8Scope& operator=(const Utf8Scope&) = delete;

private:
    void* m_old;
};
// In the thread's current conversion (UTF-8 inside a Utf8Scope). A character that does
// not convert becomes '?'; a byte that does not decode becomes the code point of its value.
std::string to_multibyte(const wchar_t* text);
std::wstring from_multibyte(const std::string& text);
}  // namespace ntio::rtl
