// Loading and unloading drivers (issue 3, point 2): modules by path, DriverEntry
// linked into the program, several drivers in one process, failures, and what a
// driver leaves behind.
#include "command_support.hpp"
#include "io_test_support.hpp"

namespace {

using namespace ntio::testing;
class Drivers : public IoTest {};
class DriverLoading : public VirtualTimeTest {};

TEST_F(Drivers, DriverEntryGetsItsObjectAndRegistryPathOnASystemThread) {
    EXPECT_EQ(testdrv::state().driver_name, L"\\Driver\\ntiotest");
    EXPECT_EQ(testdrv::state().registry_path, L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\ntiotest");
    EXPECT_EQ(testdrv::state().entry_irql, PASSIVE_LEVEL);
    EXPECT_TRUE(testdrv::state().entry_on_system_thread);
    EXPECT_EQ(testdrv::state().driver->DriverExtension->DriverObject, testdrv::state().driver);
    // DO_DEVICE_INITIALIZING is cleared for devices made in DriverEntry (S-W32-12).
    for (PDEVICE_OBJECT d = testdrv::state().driver->DeviceObject; d; d = d->NextDevice) {
        EXPECT_FALSE(d->Flags & DO_DEVICE_INITIALIZING);
        EXPECT_EQ(d->StackSize, 1);
        EXPECT_EQ(d->DriverObject, testdrv::state().driver);
    }
    EXPECT_TRUE(sys.unload_driver("ntiotest"));
    EXPECT_TRUE(testdrv::state().unloaded);
    EXPECT_FALSE(sys.unload_driver("ntiotest"));
    EXPECT_EQ(CreateFileA("\\\\.\\TestBuffered", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr),
              INVALID_HANDLE_VALUE);
}

// A service starts once: the same module (or another module with the same service
// name, in any case) is refused while the first is loaded, and loads again after an
// unload.
TEST_F(DriverLoading, ADriverNameLoadsOnceAtATime) {
    ASSERT_EQ(sys.load_driver(NTIO_TEST_PENDING_DRIVER), STATUS_SUCCESS);
    EXPECT_EQ(sys.load_driver(NTIO_TEST_PENDING_DRIVER), STATUS_OBJECT_NAME_COLLISION);
    EXPECT_EQ(sys.load_driver("PENDING_IOCTL_DRIVER", reinterpret_cast<ntio::System::DriverEntryFunction>(
                                                          &testdrv::DriverEntry)),
              STATUS_OBJECT_NAME_COLLISION);
    EXPECT_EQ(CreateFileA("\\\\.\\TestBuffered", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr),
              INVALID_HANDLE_VALUE)
        << "the refused DriverEntry never ran";
    EXPECT_TRUE(sys.unload_driver("pending_ioctl_driver"));
    EXPECT_EQ(sys.load_driver(NTIO_TEST_PENDING_DRIVER), STATUS_SUCCESS);
    HANDLE h = CreateFileA("\\\\.\\PendingIoctl", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    EXPECT_NE(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

TEST_F(DriverLoading, ModulesLoadByPathAndSeveralLiveInOneProcess) {
    ASSERT_EQ(sys.load_driver(NTIO_TEST_PENDING_DRIVER), STATUS_SUCCESS);
    ASSERT_EQ(sys.load_driver(NTIO_TEST_SYSTHREAD_DRIVER), STATUS_SUCCESS);
    HANDLE a = CreateFileA("\\\\.\\PendingIoctl", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    HANDLE b = CreateFileA("\\\\.\\SysThread", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    EXPECT_NE(a, INVALID_HANDLE_VALUE);
    EXPECT_NE(b, INVALID_HANDLE_VALUE);
    CloseHandle(a);
    CloseHandle(b);
    EXPECT_TRUE(sys.unload_driver("pending_ioctl_driver"));
    EXPECT_TRUE(sys.unload_driver("systhread_driver"));
    EXPECT_EQ(sys.leak_report(), "");
}

TEST_F(DriverLoading, FailuresAreReportedAndLeaveNoDriver) {
    EXPECT_EQ(sys.load_driver("/nonexistent/driver.so"), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(sys.load_driver(NTIO_TEST_NOT_A_DRIVER), STATUS_INVALID_PARAMETER) << "a module without DriverEntry";
    auto failing = [](_DRIVER_OBJECT*, _UNICODE_STRING*) -> int32_t { return STATUS_INSUFFICIENT_RESOURCES; };
    EXPECT_EQ(sys.load_driver("failing", failing), STATUS_INSUFFICIENT_RESOURCES);
    EXPECT_FALSE(sys.unload_driver("failing"));
}

TEST_F(DriverLoading, DevicesLeftAtUnloadAreReported) {
    auto leaky = [](_DRIVER_OBJECT* d, _UNICODE_STRING*) -> int32_t {
        UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Leaky");
        PDEVICE_OBJECT dev;
        d->DriverUnload = [](PDRIVER_OBJECT) {};  // forgets IoDeleteDevice
        return IoCreateDevice(d, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    };
    ASSERT_EQ(sys.load_driver("leaky", leaky), STATUS_SUCCESS);
    ::testing::internal::CaptureStderr();
    EXPECT_TRUE(sys.unload_driver("leaky"));
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("DRIVER BUG DeviceLeftAtUnload: driver \\Driver\\leaky unloaded and left \\Device\\Leaky "
                       "behind"),
              std::string::npos)
        << err;
}

// ---- ntio run --require-drivers ----------------------------------------------------------------

// The PnP C driver loads, then a module without DriverEntry does not: by default the
// program runs without it (as a Windows program runs when a service fails to start);
// with --require-drivers (or NTIO_REQUIRE_DRIVERS=1) the run ends with 125 before main,
// and the driver that did load unloads as at any exit.
CommandRun run_drivers(const std::string& how) {
    return run_command(how + " " + NTIO_TEST_PNP_C_APP + " 2>&1");
}
const std::string kTwoDrivers =
    std::string("--driver ") + NTIO_TEST_PNP_C_DRIVER + " --driver " + NTIO_TEST_NOT_A_DRIVER;

TEST(RequireDrivers, ByDefaultTheProgramRunsWithoutTheDriverThatFailed) {
    CommandRun r = run_drivers(std::string(NTIO_TEST_CLI) + " run " + kTwoDrivers + " --");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("has no DriverEntry"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("1 device(s) found and answered in order"), std::string::npos) << r.output;
}

TEST(RequireDrivers, AFailedLoadEndsTheRunBeforeMainAndUnloadsTheOthers) {
    for (std::string how : {std::string(NTIO_TEST_CLI) + " run --require-drivers " + kTwoDrivers + " --",
                            std::string("NTIO_REQUIRE_DRIVERS=1 NTIO_DRIVERS=") + NTIO_TEST_PNP_C_DRIVER + ":" +
                                NTIO_TEST_NOT_A_DRIVER}) {
        CommandRun r = run_drivers(how);
        EXPECT_EQ(r.exit_code, 125) << how << "\n" << r.output;
        EXPECT_NE(r.output.find("has no DriverEntry"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("did not load and drivers are required"), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("interface 0:"), std::string::npos) << "main ran:\n" << r.output;
        EXPECT_NE(r.output.find("PnpTest: unloaded after 1 device(s)"), std::string::npos) << r.output;
    }
}

TEST(RequireDrivers, DriversThatAllLoadRunTheProgram) {
    CommandRun r = run_drivers(std::string(NTIO_TEST_CLI) + " run --require-drivers --driver " +
                               NTIO_TEST_PNP_C_DRIVER + " --");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("1 device(s) found and answered in order"), std::string::npos) << r.output;
}

}  // namespace
