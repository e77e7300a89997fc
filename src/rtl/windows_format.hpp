// printf formatting with Windows' rules (DbgPrint, and later trace messages).
#pragma once
#include <cstdarg>
#include <string>

namespace ntio::rtl {
// %ld/%lu/%lx/%li are 32-bit; %lld, %I64d and %I64x 64-bit; %Id/%Iu/%Ix pointer-sized;
// %hs narrow and %ls/%ws/%S wide strings; %wZ a PUNICODE_STRING, %Z a PANSI_STRING;
// %C/%wc a wide character. Everything else as in C.
std::string format_windows(const char* format, va_list args);
}  // namespace ntio::rtl
