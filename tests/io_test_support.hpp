// Fixture for the I/O manager tests: a fresh virtual-time runtime with the scripted
// test driver loaded, and helpers to open its devices and build scripts.
#pragma once
#include <string>

#include "drivers/test_driver.hpp"
#include "test_support.hpp"

namespace ntio::testing {

class IoTest : public VirtualTimeTest {
protected:
    void SetUp() override {
        testdrv::reset();
        ASSERT_EQ(sys.load_driver("ntiotest", reinterpret_cast<System::DriverEntryFunction>(&testdrv::DriverEntry)),
                  STATUS_SUCCESS);
        bugs_before = ntio::driver_bug_count();
    }
    void TearDown() override {
        // Every test ends with every request completed exactly once and nothing leaked.
        EXPECT_EQ(testdrv::held_count(), 0u);
        EXPECT_EQ(sys.live_irps(), 0);
    }

    static std::string win32_name(const wchar_t* device, const char* suffix = "") {
        std::string n = "\\\\.\\";
        for (const wchar_t* p = device; *p; ++p) n += static_cast<char>(*p);
        return n + suffix;
    }
    HANDLE open(const wchar_t* device, bool overlapped, DWORD access = GENERIC_READ | GENERIC_WRITE,
                DWORD share = 0, const char* suffix = "") {
        return CreateFileA(win32_name(device, suffix).c_str(), access, share, nullptr, OPEN_EXISTING,
                           overlapped ? FILE_FLAG_OVERLAPPED : FILE_ATTRIBUTE_NORMAL, nullptr);
    }
    static testdrv::Script now(NTSTATUS status, ULONG information = 0, ULONG fill = 0) {
        testdrv::Script s;
        s.status = status;
        s.information = information;
        s.fill_length = fill;
        return s;
    }
    static testdrv::Script later(NTSTATUS status, ULONG delay_ms, ULONG information = 0, ULONG fill = 0) {
        testdrv::Script s = now(status, information, fill);
        s.finish = testdrv::Finish::later;
        s.delay_ms = delay_ms;
        return s;
    }
    static testdrv::Script held() {
        testdrv::Script s;
        s.finish = testdrv::Finish::held;
        return s;
    }
    uint64_t new_driver_bugs() const { return ntio::driver_bug_count() - bugs_before; }
    uint64_t bugs_before = 0;
};

}  // namespace ntio::testing
