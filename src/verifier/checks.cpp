#include "verifier/checks.hpp"

#include <cctype>
#include <cstdio>

namespace ntio::verifier {
namespace {

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// The action a check switched on without an explicit one gets.
Action enabled_action(const CheckInfo& c, Action mode) {
    if (c.kind == Kind::warning) return Action::report;
    return mode == Action::off ? Action::report : mode;
}

}  // namespace

Settings default_settings(Action mode) {
    Settings s;
    s.mode = mode;
    for (size_t i = 0; i < kCheckCount; ++i)
        s.actions[i] = mode == Action::off || !kChecks[i].on_by_default ? Action::off : enabled_action(kChecks[i], mode);
    return s;
}

// GCC 12 warns here (-Wrestrict) about the string it builds, a false positive of its
// own (GCC bug 105329, string concatenation inlined into memcpy); off for this function.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
static std::string describe_bad_mode(std::string_view text) {
    return "'" + std::string(text) + "' is not a verifier mode; use off, report or fail";
}
#pragma GCC diagnostic pop

bool parse_mode(std::string_view text, Action* mode, std::string* error) {
    text = trim(text);
    if (same_name(text, "off")) *mode = Action::off;
    else if (same_name(text, "report")) *mode = Action::report;
    else if (same_name(text, "fail")) *mode = Action::fail;
    else {
        if (error) *error = describe_bad_mode(text);
        return false;
    }
    return true;
}

bool find_check(std::string_view name, Check* out) {
    for (size_t i = 0; i < kCheckCount; ++i)
        if (same_name(name, kChecks[i].name)) {
            *out = static_cast<Check>(i);
            return true;
        }
    return false;
}

bool apply_checks(std::string_view list, Settings& s, std::string* error) {
    Settings result = s;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        std::string_view name = trim(item.substr(0, eq));
        std::string_view value = eq == std::string_view::npos ? std::string_view("on") : trim(item.substr(eq + 1));
        bool explicit_action = !same_name(value, "on");
        Action action = Action::report;
        if (explicit_action && !parse_mode(value, &action, nullptr)) {
            if (error)
                *error = "verifier check setting '" + std::string(item) +
                         "': the value after '=' is on, off, report or fail";
            return false;
        }
        if (same_name(name, "all")) {
            for (size_t i = 0; i < kCheckCount; ++i)
                result.actions[i] = explicit_action ? action : enabled_action(kChecks[i], result.mode);
            continue;
        }
        Check c;
        if (!find_check(name, &c)) {
            if (error)
                *error = "unknown verifier check '" + std::string(name) + "'; the checks are: all, " + check_names();
            return false;
        }
        result.actions[static_cast<size_t>(c)] = explicit_action ? action : enabled_action(info(c), result.mode);
    }
    s = result;
    return true;
}

std::string check_names() {
    std::string out;
    for (size_t i = 0; i < kCheckCount; ++i) {
        if (i) out += ", ";
        out += kChecks[i].name;
    }
    return out;
}

std::string describe_checks() {
    std::string out;
    for (const CheckInfo& c : kChecks) {
        char code[16] = "";
        if (c.code) std::snprintf(code, sizeof code, " (0x%X)", static_cast<unsigned>(c.code));
        out += std::string(c.name) + "\n    " + (c.kind == Kind::warning ? "warning" : "bug") + ", " +
               (c.on_by_default ? "on" : "off") + " by default" +
               (*c.bugcheck ? std::string("; Windows: ") + c.bugcheck + code : std::string()) + "\n    " +
               c.summary + "\n";
    }
    return out;
}

}  // namespace ntio::verifier
