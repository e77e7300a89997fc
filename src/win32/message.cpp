// FormatMessageA/W and LocalAlloc/LocalFree. The system table is win32/messages.inc
// (ntio's descriptions of <winerror.h>'s codes); inserts are formatted by the same
// engine as DbgPrint (rtl::format_windows), so %1!lu! reads a 32-bit value as Windows
// does.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rtl/windows_format.hpp"
#include "win32/win32.hpp"

using namespace ntio::win32;

namespace {

struct Message {
    DWORD id;
    const char* text;
};
constexpr Message kMessages[] = {
#define NTIO_MESSAGE(code, text) {code, text},
#include "win32/messages.inc"
#undef NTIO_MESSAGE
};

// System messages end with a line break, as Windows's do.
bool system_message(DWORD id, std::string* text) {
    // An HRESULT of FACILITY_WIN32 names the Win32 code in its low word.
    if ((id & 0xFFFF0000u) == 0x80070000u) id &= 0xFFFF;
    for (const Message& m : kMessages)
        if (m.id == id) {
            *text = std::string(m.text) + "\r\n";
            return true;
        }
    return false;
}

// English, or no language in particular: the only language the table has.
bool language_available(DWORD language) {
    WORD primary = PRIMARYLANGID(language);
    return language == 0 || primary == LANG_NEUTRAL || primary == LANG_ENGLISH;
}

// The insert arguments: an array of DWORD_PTRs, or a va_list read in order as far as
// the highest insert used so far (every argument takes one pointer-sized slot).
class Arguments {
public:
    Arguments(va_list* list, bool array) : m_list(list), m_array(array) {}
    bool present() const { return m_list != nullptr; }
    ULONG_PTR get(unsigned n) {  // 1-based
        if (m_array) return reinterpret_cast<const ULONG_PTR*>(m_list)[n - 1];
        while (m_read.size() < n) m_read.push_back(va_arg(*m_list, ULONG_PTR));
        return m_read[n - 1];
    }

private:
    va_list* m_list;
    bool m_array;
    std::vector<ULONG_PTR> m_read;
};

// One insert through the Windows formatter. On x86-64 every argument travels in an
// 8-byte slot, so a value read as int or as a pointer from a ULONG_PTR slot is right.
std::string format_one(const char* format, ...) {
    va_list args;
    va_start(args, format);
    std::string out = ntio::rtl::format_windows(format, args);
    va_end(args);
    return out;
}

// FormatMessageW's specs: %s is a wide string there and %S a narrow one (the formatter
// reads the A meanings), as MSVC's wide printf has them.
std::string wide_api_spec(const std::string& spec) {
    if (spec.empty()) return spec;
    std::string out = spec.substr(0, spec.size() - 1);
    char conv = spec.back();
    bool h = !out.empty() && out.back() == 'h';
    bool lw = !out.empty() && (out.back() == 'l' || out.back() == 'w');
    if (h || lw) out.pop_back();
    switch (conv) {
    case 's': return out + (h ? "hs" : "ws");
    case 'S': return out + (lw ? "ws" : "hs");
    case 'c': return out + (h ? "hc" : "wc");
    case 'C': return out + (lw ? "wc" : "hc");
    default: return spec;
    }
}

enum class Result { ok, bad_arguments };

// The message text with its escapes and inserts done, and the line width applied.
Result expand(const std::string& text, DWORD flags, Arguments& args, bool wide_api, std::string* out) {
    unsigned width = flags & FORMAT_MESSAGE_MAX_WIDTH_MASK;
    bool ignore_inserts = flags & FORMAT_MESSAGE_IGNORE_INSERTS;
    std::string s;
    for (size_t i = 0; i < text.size();) {
        char c = text[i];
        if (c == '\r' || c == '\n') {
            size_t n = (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
            // The text's own line breaks: kept, or a space when the caller sets a width.
            if (width) s += ' ';
            else s.append(text, i, n);
            i += n;
            continue;
        }
        if (c != '%' || i + 1 >= text.size()) {
            s += c;
            ++i;
            continue;
        }
        char e = text[i + 1];
        if (e >= '1' && e <= '9') {
            size_t j = i + 2;
            unsigned n = e - '0';
            if (j < text.size() && text[j] >= '0' && text[j] <= '9') n = n * 10 + (text[j++] - '0');
            std::string spec = "s";
            if (j < text.size() && text[j] == '!') {
                size_t close = text.find('!', j + 1);
                if (close == std::string::npos) return Result::bad_arguments;
                spec = text.substr(j + 1, close - j - 1);
                j = close + 1;
            }
            if (ignore_inserts) {
                s.append(text, i, j - i);
            } else {
                if (!args.present() || spec.empty()) return Result::bad_arguments;
                std::string f = "%" + (wide_api ? wide_api_spec(spec) : spec);
                // A * in the spec takes the width (and precision) from the next arguments.
                unsigned stars = static_cast<unsigned>(std::count(spec.begin(), spec.end(), '*'));
                if (stars == 0) s += format_one(f.c_str(), args.get(n));
                else if (stars == 1) s += format_one(f.c_str(), args.get(n), args.get(n + 1));
                else s += format_one(f.c_str(), args.get(n), args.get(n + 1), args.get(n + 2));
            }
            i = j;
            continue;
        }
        i += 2;
        switch (e) {
        case '0': *out = s; return Result::ok;  // ends the message, without a line break
        case 'n': s += "\r\n"; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        default: s += e; break;  // %%, %space, %., %! and anything else: the character
        }
    }
    // A width below 255 also breaks lines longer than it, at the last space that fits.
    if (width && width < FORMAT_MESSAGE_MAX_WIDTH_MASK) {
        std::string wrapped;
        size_t line_start = 0, last_space = std::string::npos;
        for (char ch : s) {
            if (ch == '\n') {
                wrapped += ch;
                line_start = wrapped.size();
                last_space = std::string::npos;
                continue;
            }
            wrapped += ch;
            if (ch == ' ') last_space = wrapped.size() - 1;
            if (wrapped.size() - line_start > width && last_space != std::string::npos && last_space >= line_start) {
                wrapped.replace(last_space, 1, "\r\n");
                line_start = last_space + 2;
                last_space = std::string::npos;
            }
        }
        s = wrapped;
    }
    *out = s;
    return Result::ok;
}

// The message, or 0 with the last error. `source_text`: FROM_STRING's format, already
// narrow.
DWORD message(DWORD flags, const std::string* source_text, DWORD id, DWORD language, va_list* arguments,
              bool wide_api, std::string* out) {
    std::string text;
    if (flags & FORMAT_MESSAGE_FROM_STRING) {
        text = *source_text;
    } else if (flags & (FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_FROM_HMODULE)) {
        // Modules (FROM_HMODULE) have no message tables in ntio: only the system's.
        if (!(flags & FORMAT_MESSAGE_FROM_SYSTEM)) {
            set_last_error(ERROR_RESOURCE_TYPE_NOT_FOUND);
            return 0;
        }
        if (!language_available(language)) {
            set_last_error(ERROR_RESOURCE_LANG_NOT_FOUND);
            return 0;
        }
        if (!system_message(id, &text)) {
            set_last_error(ERROR_MR_MID_NOT_FOUND);
            return 0;
        }
    } else {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    Arguments args(arguments, flags & FORMAT_MESSAGE_ARGUMENT_ARRAY);
    if (expand(text, flags, args, wide_api, out) != Result::ok) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    return 1;
}

// The result into the caller's buffer, or a LocalAlloc'd one whose address goes where
// lpBuffer points (FORMAT_MESSAGE_ALLOCATE_BUFFER; nSize is then a minimum).
template <typename Char>
DWORD deliver(const std::basic_string<Char>& text, DWORD flags, void* buffer, DWORD size) {
    if (flags & FORMAT_MESSAGE_ALLOCATE_BUFFER) {
        size_t chars = std::max<size_t>(size, text.size() + 1);
        auto* p = static_cast<Char*>(LocalAlloc(LMEM_FIXED, chars * sizeof(Char)));
        if (!p) return 0;  // LocalAlloc set the error
        std::memcpy(p, text.c_str(), (text.size() + 1) * sizeof(Char));
        *static_cast<Char**>(buffer) = p;
        return static_cast<DWORD>(text.size());
    }
    if (size < text.size() + 1) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    }
    std::memcpy(buffer, text.c_str(), (text.size() + 1) * sizeof(Char));
    return static_cast<DWORD>(text.size());
}

}  // namespace

extern "C" {

HLOCAL LocalAlloc(UINT uFlags, SIZE_T uBytes) {
    if (uFlags & ~static_cast<UINT>(LMEM_ZEROINIT)) {
        set_last_error(ERROR_INVALID_PARAMETER);  // LMEM_MOVEABLE and the rest: not provided
        return nullptr;
    }
    void* p = (uFlags & LMEM_ZEROINIT) ? std::calloc(1, uBytes ? uBytes : 1) : std::malloc(uBytes ? uBytes : 1);
    if (!p) set_last_error(ERROR_NOT_ENOUGH_MEMORY);
    return p;
}

HLOCAL LocalFree(HLOCAL hMem) {
    std::free(hMem);
    return nullptr;
}

DWORD FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId, LPSTR lpBuffer,
                     DWORD nSize, va_list* Arguments) {
    if (!lpBuffer || ((dwFlags & FORMAT_MESSAGE_FROM_STRING) && !lpSource)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER) *reinterpret_cast<LPSTR*>(lpBuffer) = nullptr;
    std::string source = (dwFlags & FORMAT_MESSAGE_FROM_STRING) ? static_cast<const char*>(lpSource) : "";
    std::string text;
    if (!message(dwFlags, &source, dwMessageId, dwLanguageId, Arguments, false, &text)) return 0;
    return deliver(text, dwFlags, lpBuffer, nSize);
}

DWORD FormatMessageW(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId, LPWSTR lpBuffer,
                     DWORD nSize, va_list* Arguments) {
    if (!lpBuffer || ((dwFlags & FORMAT_MESSAGE_FROM_STRING) && !lpSource)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER) *reinterpret_cast<LPWSTR*>(lpBuffer) = nullptr;
    // Through UTF-8 and back, so that non-ASCII text and inserts survive (rtl::Utf8Scope).
    ntio::rtl::Utf8Scope utf8;
    std::string source =
        (dwFlags & FORMAT_MESSAGE_FROM_STRING) ? ntio::rtl::to_multibyte(static_cast<const wchar_t*>(lpSource)) : "";
    std::string text;
    if (!message(dwFlags, &source, dwMessageId, dwLanguageId, Arguments, true, &text)) return 0;
    return deliver(ntio::rtl::from_multibyte(text), dwFlags, lpBuffer, nSize);
}

}  // extern "C"
