// MSVC's bounds-checked scanf family (win32/crt_scan.h; S-SCAN in docs/design.md).
//
// glibc has no sscanf_s, and its sscanf reads some of MSVC's formats otherwise (%ld
// stores 64 bits there, %S and %I64d do not exist), so the format is taken apart one
// conversion at a time: each piece (the text before a conversion, the conversion in
// glibc's spelling, and a %n) goes to glibc's scanner, which does the matching, with the
// argument this conversion takes. Strings, characters and scan sets go into a buffer of
// ntio's first, so a token too long for the caller's size is caught before it is stored.
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <cwchar>
#include <string>
#include <vector>

#include "windows.h"

namespace {

// Where the characters come from: a string (the position moves by what each piece
// consumed) or a stream (which keeps its own).
struct Input {
    const char* text = nullptr;  // sscanf_s
    size_t pos = 0;
    FILE* stream = nullptr;  // scanf_s, fscanf_s
    long long total = 0;     // characters consumed by this call, for %n

    // One piece with at most one argument besides its %n; what glibc returns.
    int scan(const std::string& piece, void* arg, int* consumed) {
        if (stream) return arg ? std::fscanf(stream, piece.c_str(), arg, consumed)
                               : std::fscanf(stream, piece.c_str(), consumed);
        return arg ? std::sscanf(text + pos, piece.c_str(), arg, consumed)
                   : std::sscanf(text + pos, piece.c_str(), consumed);
    }
    void advance(int consumed) {
        if (!stream) pos += static_cast<size_t>(consumed);
        total += consumed;
    }
};

enum class Kind { Integer, Floating, Pointer, Count, Chars, String, Set };

struct Conversion {
    bool suppressed = false;
    unsigned width = 0;    // 0: none given
    std::string length;    // glibc's length modifier
    bool wide = false;     // %c, %s, %[ into WCHARs
    Kind kind = Kind::Integer;
    std::string spec;      // glibc's conversion character, or "[...]"
};

bool is_integer(char c) {
    return std::strchr("diouxX", c) != nullptr;
}

// The conversion at f (after its '%'); f moves past it. False for one MSVC would reject.
bool parse_conversion(const char*& f, Conversion* c) {
    if (*f == '*') {
        c->suppressed = true;
        ++f;
    }
    while (*f >= '0' && *f <= '9') c->width = c->width * 10 + static_cast<unsigned>(*f++ - '0');
    // MSVC's length modifiers: l is 32 bits on an integer (Windows's long), double on a
    // float and wide on a character or string; I64 and ll are 64 bits; I is pointer-sized.
    std::string ms;
    if (!std::strncmp(f, "I64", 3)) {
        ms = "I64";
        f += 3;
    } else if (!std::strncmp(f, "I32", 3)) {
        ms = "I32";
        f += 3;
    } else if (*f == 'I') {
        ms = "I";
        ++f;
    } else if (!std::strncmp(f, "hh", 2) || !std::strncmp(f, "ll", 2)) {
        ms.assign(f, 2);
        f += 2;
    } else if (*f && std::strchr("hlLjztw", *f)) {
        ms.assign(f, 1);
        ++f;
    }
    char conv = *f;
    if (!conv) return false;
    ++f;
    if (is_integer(conv) || conv == 'n') {
        c->kind = conv == 'n' ? Kind::Count : Kind::Integer;
        if (ms == "l" || ms == "I32" || ms == "w") c->length = "";
        else if (ms == "I64" || ms == "ll" || ms == "L") c->length = "ll";
        else if (ms == "I") c->length = "z";
        else c->length = ms;  // h, hh, j, z, t
        c->spec = std::string(1, conv);
        return true;
    }
    if (std::strchr("eEfFgGaA", conv)) {
        c->kind = Kind::Floating;
        c->length = (ms == "l" || ms == "L") ? ms : "";
        c->spec = std::string(1, conv);
        return true;
    }
    if (conv == 'p') {
        c->kind = Kind::Pointer;
        c->spec = "p";
        return true;
    }
    if (conv == 'c' || conv == 'C' || conv == 's' || conv == 'S' || conv == '[') {
        // In the narrow functions %C and %S are wide, and h makes any of them narrow.
        c->wide = (conv == 'C' || conv == 'S' || ms == "l" || ms == "w") && ms != "h";
        if (conv == '[') {
            c->kind = Kind::Set;
            const char* start = f - 1;
            if (*f == '^') ++f;
            if (*f == ']') ++f;
            while (*f && *f != ']') ++f;
            if (*f != ']') return false;
            ++f;
            c->spec.assign(start, static_cast<size_t>(f - start));
        } else {
            c->kind = (conv == 'c' || conv == 'C') ? Kind::Chars : Kind::String;
            c->spec = (conv == 'c' || conv == 'C') ? "c" : "s";
        }
        return true;
    }
    return false;
}

// What scan_sized did with its token.
enum Sized { SizedEnd = EOF, SizedNoMatch = 0, SizedStored = 1, SizedTooSmall = 2 };

// A %c, %s or %[ into the caller's buffer of `size` characters. SizedTooSmall: the token
// did not fit; the buffer is left as it was and the scan ends.
template <typename Char>
Sized scan_sized(Input& in, const std::string& literal, const Conversion& c, Char* out, unsigned size, int* consumed) {
    const bool chars = c.kind == Kind::Chars;
    unsigned want = chars ? (c.width ? c.width : 1) : 0;
    if (chars && size < want) return SizedTooSmall;
    if (!chars && size == 0) return SizedTooSmall;
    // At most `size` characters for a string: one that long leaves no room for the
    // terminator, which tells a token too long from one that fits.
    unsigned width = chars ? want : ((c.width && c.width < size) ? c.width : size);
    std::vector<Char> buffer(width + 1, Char(0));
    std::string piece = literal + "%" + std::to_string(width) + (sizeof(Char) == 1 ? "" : "l") + c.spec + "%n";
    *consumed = -1;
    int r = in.scan(piece, buffer.data(), consumed);
    if (r == EOF && *consumed < 0) return SizedEnd;
    if (r < 1 || *consumed < 0) return SizedNoMatch;
    if (chars) {
        std::memcpy(out, buffer.data(), want * sizeof(Char));
        return SizedStored;
    }
    size_t length = 0;
    while (buffer[length]) ++length;
    if (length >= size) return SizedTooSmall;  // "nothing is written to that buffer"
    std::memcpy(out, buffer.data(), (length + 1) * sizeof(Char));
    return SizedStored;
}

// %n's value, at the size its (glibc) length modifier names.
void store_count(void* out, const std::string& length, long long count) {
    if (!out) return;
    if (length == "hh") *static_cast<signed char*>(out) = static_cast<signed char>(count);
    else if (length == "h") *static_cast<short*>(out) = static_cast<short>(count);
    else if (length == "ll") *static_cast<long long*>(out) = count;
    else if (length == "j") *static_cast<intmax_t*>(out) = count;
    else if (length == "z") *static_cast<size_t*>(out) = static_cast<size_t>(count);
    else if (length == "t") *static_cast<ptrdiff_t*>(out) = static_cast<ptrdiff_t>(count);
    else *static_cast<int*>(out) = static_cast<int>(count);
}

int scan_all(Input in, const char* format, va_list* args) {
    if (!format || (!in.stream && !in.text)) {
        errno = EINVAL;
        return EOF;
    }
    int assigned = 0;
    bool converted = false;  // a conversion was reached (an EOF after one is not EOF)
    const char* f = format;
    while (*f) {
        std::string literal;
        while (*f && !(f[0] == '%' && f[1] != '%')) {
            if (f[0] == '%') {  // "%%"
                literal += "%%";
                f += 2;
            } else {
                literal += *f++;
            }
        }
        if (!*f) break;  // text after the last conversion changes nothing returned
        ++f;
        Conversion c;
        if (!parse_conversion(f, &c)) {
            errno = EINVAL;
            return assigned || converted ? assigned : EOF;
        }
        int consumed = -1;
        if (c.kind == Kind::Chars || c.kind == Kind::String || c.kind == Kind::Set) {
            if (c.suppressed) {
                std::string piece = literal + "%*" + (c.width ? std::to_string(c.width) : "") + c.spec + "%n";
                int r = in.scan(piece, nullptr, &consumed);
                if (consumed < 0) return (r == EOF && !converted && !assigned) ? EOF : assigned;
            } else {
                void* out = va_arg(*args, void*);
                unsigned size = va_arg(*args, unsigned);
                if (!out) {
                    errno = EINVAL;
                    return EOF;
                }
                Sized r = c.wide ? scan_sized(in, literal, c, static_cast<wchar_t*>(out), size, &consumed)
                                 : scan_sized(in, literal, c, static_cast<char*>(out), size, &consumed);
                if (r == SizedEnd) return (!converted && !assigned) ? EOF : assigned;
                if (r != SizedStored) return assigned;
                ++assigned;
            }
        } else if (c.kind == Kind::Count) {
            // The characters this call consumed, not just this piece's: the literal before
            // it first, then the count stored at its size.
            int r = in.scan(literal + "%n", nullptr, &consumed);
            if (consumed < 0) return (r == EOF && !converted && !assigned) ? EOF : assigned;
            in.advance(consumed);
            if (!c.suppressed) store_count(va_arg(*args, void*), c.length, in.total);
            continue;  // reads nothing: an end of input after it is still before the first conversion
        } else {
            std::string piece = literal + "%" + (c.suppressed ? "*" : "") + (c.width ? std::to_string(c.width) : "") +
                                c.length + c.spec + "%n";
            void* out = c.suppressed ? nullptr : va_arg(*args, void*);
            int r = in.scan(piece, out, &consumed);
            if (consumed < 0) return (r == EOF && !converted && !assigned) ? EOF : assigned;
            if (!c.suppressed) ++assigned;
        }
        converted = true;
        in.advance(consumed);
    }
    return assigned;
}

}  // namespace

extern "C" {

int vsscanf_s(const char* buffer, const char* format, va_list args) {
    Input in;
    in.text = buffer;
    va_list copy;
    va_copy(copy, args);
    int r = scan_all(in, format, &copy);
    va_end(copy);
    return r;
}

int sscanf_s(const char* buffer, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int r = vsscanf_s(buffer, format, args);
    va_end(args);
    return r;
}

int vfscanf_s(FILE* stream, const char* format, va_list args) {
    if (!stream) {
        errno = EINVAL;
        return EOF;
    }
    Input in;
    in.stream = stream;
    va_list copy;
    va_copy(copy, args);
    int r = scan_all(in, format, &copy);
    va_end(copy);
    return r;
}

int fscanf_s(FILE* stream, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int r = vfscanf_s(stream, format, args);
    va_end(args);
    return r;
}

int vscanf_s(const char* format, va_list args) {
    return vfscanf_s(stdin, format, args);
}

int scanf_s(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int r = vfscanf_s(stdin, format, args);
    va_end(args);
    return r;
}

}  // extern "C"
