// .reg files: how a user seeds the registry before drivers load (`ntio run --registry
// FILE`, NTIO_REGISTRY, Options::registry_files). The format is regedit's export
// format, so a file exported on Windows loads as it is:
//
//   Windows Registry Editor Version 5.00        (or REGEDIT4)
//   [HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\echo\Parameters]
//   "Name"="text"                      REG_SZ
//   "Count"=dword:0000000a             REG_DWORD
//   "Blob"=hex:01,02,03                REG_BINARY
//   "Path"=hex(2):25,00,...            any type by number, bytes as written
//   @="default value"                  the key's unnamed value
//   "Old"=-                            deletes a value
//   [-HKEY_LOCAL_MACHINE\...\Old]      deletes a key and everything under it
//
// Key names may also be NT paths (\Registry\Machine\...). Strings written as hex of
// a string type (1, 2, 6, 7) are UTF-16LE in a version-5 file and ANSI in a REGEDIT4
// one; ntio stores them as its WCHAR (wchar_t, 4 bytes), as every string value.
#include <cstdio>
#include <fstream>
#include <iterator>

#include "cm/registry.hpp"

namespace ntio::cm {
namespace {

std::wstring decode_utf8(const std::string& in) {
    std::wstring out;
    for (size_t i = 0; i < in.size();) {
        auto c = static_cast<unsigned char>(in[i]);
        int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (extra < 0 || i + extra >= in.size() + (extra == 0 ? 1 : 0)) {
            out += L'\uFFFD';
            ++i;
            continue;
        }
        uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
        for (int k = 1; k <= extra; ++k) cp = cp << 6 | (static_cast<unsigned char>(in[i + k]) & 0x3F);
        out += static_cast<wchar_t>(cp);
        i += extra + 1;
    }
    return out;
}

std::wstring decode_utf16le(const uint8_t* p, size_t n) {
    std::wstring out;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t u = p[i] | p[i + 1] << 8;
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < n) {
            uint32_t low = p[i + 2] | p[i + 3] << 8;
            if (low >= 0xDC00 && low < 0xE000) {
                u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
                i += 2;
            }
        }
        out += static_cast<wchar_t>(u);
    }
    return out;
}

// The absolute NT path of a key name as a .reg file writes it, or "" when its root is
// not one ntio has.
std::wstring nt_path(std::wstring_view name) {
    struct Root {
        const wchar_t* short_name;
        const wchar_t* long_name;
        const wchar_t* path;
    };
    static const Root roots[] = {
        {L"HKLM", L"HKEY_LOCAL_MACHINE", L"\\REGISTRY\\MACHINE"},
        {L"HKU", L"HKEY_USERS", L"\\REGISTRY\\USER"},
        {L"HKCR", L"HKEY_CLASSES_ROOT", L"\\REGISTRY\\MACHINE\\SOFTWARE\\Classes"},
    };
    if (!name.empty() && name[0] == L'\\') return std::wstring(name);
    size_t end = std::min(name.find(L'\\'), name.size());
    std::wstring_view root = name.substr(0, end);
    for (const Root& r : roots)
        if (same_name(root, r.short_name) || same_name(root, r.long_name))
            return std::wstring(r.path) + std::wstring(name.substr(end));
    return {};
}

class Parser {
public:
    Parser(Registry& r, const std::string& file) : m_registry(r), m_file(file) {}

    bool run(std::wstring_view text, std::string* error) {
        std::vector<std::pair<std::wstring, int>> lines = logical_lines(text);
        size_t first = 0;
        while (first < lines.size() && trim(lines[first].first).empty()) ++first;
        if (first == lines.size()) return fail(1, "empty file; a .reg file begins with its header line", error);
        std::wstring_view header = trim(lines[first].first);
        if (header == L"Windows Registry Editor Version 5.00") m_unicode = true;
        else if (header == L"REGEDIT4") m_unicode = false;
        else
            return fail(lines[first].second,
                        "the first line must be \"Windows Registry Editor Version 5.00\" or \"REGEDIT4\"", error);
        std::lock_guard g(m_registry.lock);
        for (size_t i = first + 1; i < lines.size(); ++i) {
            std::wstring_view line = trim(lines[i].first);
            if (line.empty() || line[0] == L';') continue;
            std::string what;
            if (!(line[0] == L'[' ? key_line(line, &what) : value_line(line, &what)))
                return fail(lines[i].second, what, error);
        }
        return true;
    }

private:
    static std::wstring_view trim(std::wstring_view s) {
        while (!s.empty() && (s.front() == L' ' || s.front() == L'\t' || s.front() == L'\r')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == L' ' || s.back() == L'\t' || s.back() == L'\r')) s.remove_suffix(1);
        return s;
    }

    // Physical lines joined where one ends with a backslash outside a string (hex
    // data split by regedit), each with its first line number.
    static std::vector<std::pair<std::wstring, int>> logical_lines(std::wstring_view text) {
        std::vector<std::pair<std::wstring, int>> out;
        int number = 0;
        bool continuing = false;
        while (!text.empty() || continuing) {
            size_t end = std::min(text.find(L'\n'), text.size());
            std::wstring_view line = trim(text.substr(0, end));
            text.remove_prefix(end == text.size() ? end : end + 1);
            ++number;
            if (continuing) out.back().first += line;
            else out.emplace_back(std::wstring(line), number);
            std::wstring& cur = out.back().first;
            bool hex_data = cur.find(L"=hex") != std::wstring::npos;
            continuing = hex_data && !cur.empty() && cur.back() == L'\\' && !text.empty();
            if (continuing) cur.pop_back();
            if (text.empty() && !continuing) break;
        }
        return out;
    }

    bool fail(int line, const std::string& what, std::string* error) {
        *error = m_file + ":" + std::to_string(line) + ": " + what;
        return false;
    }

    bool key_line(std::wstring_view line, std::string* what) {
        if (line.back() != L']') return *what = "a key line ends with ']'", false;
        line = line.substr(1, line.size() - 2);
        bool remove = !line.empty() && line[0] == L'-';
        if (remove) line.remove_prefix(1);
        std::wstring path = nt_path(line);
        if (path.empty())
            return *what = "unknown root key (HKEY_LOCAL_MACHINE, HKEY_USERS, HKEY_CLASSES_ROOT or an NT path "
                           "\\Registry\\...)",
                   false;
        m_key.reset();
        std::shared_ptr<Key> key;
        bool created;
        if (remove) {
            if (NT_SUCCESS(m_registry.walk(nullptr, path, false, false, false, &key, &created)))
                if (!delete_tree(key.get())) return *what = "this key cannot be deleted", false;
            return true;
        }
        NTSTATUS s = m_registry.walk(nullptr, path, true, true, false, &key, &created);
        if (!NT_SUCCESS(s)) return *what = "cannot create this key (a bad name, or under a volatile key)", false;
        m_key = std::move(key);
        return true;
    }

    bool delete_tree(Key* key) {
        while (!key->subkeys.empty())
            if (!delete_tree(key->subkeys.back().get())) return false;
        return NT_SUCCESS(m_registry.delete_key(key));
    }

    // A quoted string at the start of `s` with \\ and \" escapes; the rest after it.
    static bool quoted(std::wstring_view& s, std::wstring* out) {
        if (s.empty() || s[0] != L'"') return false;
        out->clear();
        for (size_t i = 1; i < s.size(); ++i) {
            if (s[i] == L'\\' && i + 1 < s.size()) {
                *out += s[++i];
            } else if (s[i] == L'"') {
                s.remove_prefix(i + 1);
                return true;
            } else {
                *out += s[i];
            }
        }
        return false;
    }

    static int hex_digit(wchar_t c) {
        if (c >= L'0' && c <= L'9') return c - L'0';
        if (c >= L'a' && c <= L'f') return c - L'a' + 10;
        if (c >= L'A' && c <= L'F') return c - L'A' + 10;
        return -1;
    }

    static bool hex_bytes(std::wstring_view s, std::vector<uint8_t>* out) {
        out->clear();
        while (!s.empty()) {
            s = trim(s);
            size_t end = std::min(s.find(L','), s.size());
            std::wstring_view b = trim(s.substr(0, end));
            if (b.empty() && end == s.size()) break;
            if (b.size() < 1 || b.size() > 2) return false;
            unsigned v = 0;
            for (wchar_t c : b) {
                int d = hex_digit(c);
                if (d < 0) return false;
                v = v * 16 + d;
            }
            out->push_back(static_cast<uint8_t>(v));
            s.remove_prefix(end == s.size() ? end : end + 1);
        }
        return true;
    }

    static void put_string(std::vector<uint8_t>* data, const std::wstring& text) {
        auto* p = reinterpret_cast<const uint8_t*>(text.c_str());
        data->assign(p, p + (text.size() + 1) * sizeof(WCHAR));  // with its terminating NUL
    }

    bool value_line(std::wstring_view line, std::string* what) {
        if (!m_key) return *what = "a value before any [key] line", false;
        std::wstring name;
        if (line[0] == L'@') {
            line.remove_prefix(1);
        } else if (!quoted(line, &name)) {
            return *what = "a value line begins with \"name\" or @", false;
        }
        line = trim(line);
        if (line.empty() || line[0] != L'=') return *what = "'=' expected after the value's name", false;
        line = trim(line.substr(1));
        if (line == L"-") {
            m_registry.delete_value(m_key.get(), name);
            return true;
        }
        ULONG type;
        std::vector<uint8_t> data;
        std::wstring text;
        if (quoted(line, &text)) {
            if (!trim(line).empty()) return *what = "text after the closing quote", false;
            type = REG_SZ;
            put_string(&data, text);
        } else if (line.substr(0, 6) == L"dword:") {
            std::wstring_view digits = line.substr(6);
            if (digits.empty() || digits.size() > 8) return *what = "dword: takes 1 to 8 hex digits", false;
            ULONG v = 0;
            for (wchar_t c : digits) {
                int d = hex_digit(c);
                if (d < 0) return *what = "dword: takes hex digits", false;
                v = v * 16 + d;
            }
            type = REG_DWORD;
            data.assign(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + sizeof v);
        } else if (line.substr(0, 3) == L"hex") {
            line.remove_prefix(3);
            type = REG_BINARY;
            if (!line.empty() && line[0] == L'(') {
                size_t close = line.find(L')');
                if (close == std::wstring_view::npos) return *what = "hex( without )", false;
                std::wstring number(line.substr(1, close - 1));
                wchar_t* end = nullptr;
                unsigned long t = std::wcstoul(number.c_str(), &end, 16);
                if (number.empty() || *end) return *what = "hex(N): N is a hex type number", false;
                type = static_cast<ULONG>(t);
                line.remove_prefix(close + 1);
            }
            if (line.empty() || line[0] != L':') return *what = "':' expected after hex", false;
            if (!hex_bytes(line.substr(1), &data)) return *what = "hex data is bytes like 0a,ff,...", false;
            if (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ || type == REG_LINK) {
                std::wstring s = m_unicode ? decode_utf16le(data.data(), data.size())
                                           : std::wstring(data.begin(), data.end());
                auto* p = reinterpret_cast<const uint8_t*>(s.data());
                data.assign(p, p + s.size() * sizeof(WCHAR));
            }
        } else {
            return *what = "the data is \"text\", dword:, hex: or hex(N):", false;
        }
        m_registry.set_value(m_key.get(), name, type, data.data(), data.size());
        return true;
    }

    Registry& m_registry;
    std::string m_file;
    bool m_unicode = true;
    std::shared_ptr<Key> m_key;
};

}  // namespace

bool load_reg_text(Registry& r, std::wstring_view text, const std::string& name, std::string* error) {
    return Parser(r, name).run(text, error);
}

bool load_reg_file(Registry& r, const std::string& path, std::string* error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *error = path + ": cannot be read";
        return false;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::wstring text;
    if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xFE)
        text = decode_utf16le(reinterpret_cast<const uint8_t*>(bytes.data()) + 2, bytes.size() - 2);
    else if (bytes.size() >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0)
        text = decode_utf8(bytes.substr(3));
    else
        text = decode_utf8(bytes);
    return load_reg_text(r, text, path, error);
}

}  // namespace ntio::cm
