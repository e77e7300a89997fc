// The verifier's check registry (checks.def) and the parser of its settings:
// NTIO_VERIFIER (the default for every check), NTIO_VERIFIER_CHECKS (per check) and
// their `ntio run` and Options equivalents. Free of the runtime, so that the ntio
// command validates the same names before it starts a program.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ntio::verifier {

enum class Check : uint16_t {
#define NTIO_CHECK(name, bugcheck, code, kind, on_by_default, summary) name,
#include "verifier/checks.def"
#undef NTIO_CHECK
};

enum class Kind : uint8_t { bug, warning };

// What a check does when it finds something: nothing, print and count, or stop (abort
// the program; a test's report handler fails the test instead).
enum class Action : uint8_t { off, report, fail };

struct CheckInfo {
    const char* name;
    const char* bugcheck;  // "" when Windows has no bugcheck for it
    uint32_t code;
    Kind kind;
    bool on_by_default;
    const char* summary;
};

inline constexpr CheckInfo kChecks[] = {
#define NTIO_CHECK(name, bugcheck, code, kind, on_by_default, summary) \
    {#name, bugcheck, code, Kind::kind, on_by_default, summary},
#define on true
#define off false
#include "verifier/checks.def"
#undef on
#undef off
#undef NTIO_CHECK
};
inline constexpr size_t kCheckCount = sizeof(kChecks) / sizeof(kChecks[0]);

inline const CheckInfo& info(Check c) { return kChecks[static_cast<size_t>(c)]; }

// Every check's action.
struct Settings {
    Action mode = Action::report;  // NTIO_VERIFIER: the action of a check switched on by name or by default
    Action actions[kCheckCount]{};
};

// The settings NTIO_VERIFIER=`mode` gives before any per-check setting: the checks that
// are on by default act with `mode` (warnings only report unless set to fail by name),
// the others are off; mode `off` switches everything off.
Settings default_settings(Action mode);

// "off", "report" or "fail". False (and *error) for anything else.
bool parse_mode(std::string_view text, Action* mode, std::string* error);

// Applies an NTIO_VERIFIER_CHECKS list to `s`, left to right:
//   NAME or NAME=on      the check acts with the mode (a warning reports)
//   NAME=off|report|fail that action
//   all, all=ACTION      every check, the same way
// Names are case-insensitive. False, with *error naming the bad item and listing the
// valid names, on anything else; `s` is then unchanged.
bool apply_checks(std::string_view list, Settings& s, std::string* error);

// Looks a check up by name (case-insensitive).
bool find_check(std::string_view name, Check* out);

// "NAME1, NAME2, ..." for error messages.
std::string check_names();
// One line per check: name, default, what Windows calls it, what it catches (`ntio checks`).
std::string describe_checks();

}  // namespace ntio::verifier
