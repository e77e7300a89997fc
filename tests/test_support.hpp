// Shared helpers for the scenario tests: every test gets a fresh runtime.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "ntio/ntio.hpp"
#include "windows.h"
#include "wdm.h"

namespace ntio::testing {

// A fresh runtime on the virtual clock: 3-second scenarios take microseconds and
// every timestamp is exact.
class VirtualTimeTest : public ::testing::Test {
protected:
    System sys{{.clock = Clock::virtual_time}};
    // Milliseconds of virtual time since the runtime started.
    int64_t now_ms() const { return std::chrono::duration_cast<std::chrono::milliseconds>(sys.now()).count(); }
};

class RealTimeTest : public ::testing::Test {
protected:
    System sys{{.clock = Clock::real}};
};

inline LARGE_INTEGER relative_ms(LONGLONG ms) {
    LARGE_INTEGER li;
    li.QuadPart = -ms * 10000;
    return li;
}

// Runs `f` on a new Win32 thread and returns its handle.
inline HANDLE spawn(std::function<void()> f) {
    auto* heap = new std::function<void()>(std::move(f));
    return CreateThread(
        nullptr, 0,
        [](LPVOID p) -> DWORD {
            auto* fn = static_cast<std::function<void()>*>(p);
            (*fn)();
            delete fn;
            return 0;
        },
        heap, 0, nullptr);
}

inline void join(HANDLE h) {
    ASSERT_EQ(WaitForSingleObject(h, INFINITE), WAIT_OBJECT_0);
    CloseHandle(h);
}

}  // namespace ntio::testing
