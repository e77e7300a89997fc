// What the verifier needs of callback objects (ex/callback.cpp) to end the registrations a
// driver left at unload (verifier/drivers.cpp: CallbackLeftAtUnload).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ntio::ex {

// Unregisters, as ExUnregisterCallback does (waiting for a call in progress on another
// thread), every registration whose routine lies in [begin, end); returns a description of
// each for the report.
std::vector<std::string> unregister_callbacks_in(uintptr_t begin, uintptr_t end);

}  // namespace ntio::ex
