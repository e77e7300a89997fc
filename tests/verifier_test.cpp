// The verifier's acceptance (issue 7): one test per check, each with the buggy driver
// (tests/drivers/buggy_driver.cpp) making that one mistake, asserting the rule named and
// the object the report names; the report handler and fixture of <ntio/gtest.hpp>; the
// check settings; and fault injection finding the buggy driver's planted error-path leak,
// reproducibly from the seed it prints.
#include <gtest/gtest-spi.h>

#include <regex>
#include <stdexcept>

#include "drivers/buggy_driver.hpp"
#include "ntio/gtest.hpp"

// The planted leak is the point of the fault-injection test: LeakSanitizer is told so.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define NTIO_PLANTED_LEAKS_AHEAD __lsan::ScopedDisabler planted_leaks_ahead
#else
#define NTIO_PLANTED_LEAKS_AHEAD
#endif

namespace {

using ntio::VerifierReport;

constexpr const char* kDriver = "\\Driver\\buggy";

HANDLE open_device(const char* name, bool overlapped = false) {
    return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                       overlapped ? FILE_FLAG_OVERLAPPED : 0, nullptr);
}

// A synchronous IOCTL; returns DeviceIoControl's result (GetLastError() for the code).
BOOL ioctl(HANDLE h, ULONG code) {
    DWORD bytes = 0;
    return DeviceIoControl(h, code, nullptr, 0, nullptr, 0, &bytes, nullptr);
}

int32_t load_buggy(ntio::System& sys) {
    return sys.load_driver("buggy", reinterpret_cast<ntio::System::DriverEntryFunction>(&buggy::DriverEntry));
}

// The buggy driver in a fresh verified runtime; each test sends the code of its mistake.
class Verifier : public ntio::testing::DriverTest {
protected:
    void SetUp() override {
        buggy::reset();
        configure(buggy::config());
        ASSERT_EQ(load_buggy(sys), STATUS_SUCCESS);
        h = open_device(buggy::kWin32Name);
        ASSERT_NE(h, INVALID_HANDLE_VALUE);
    }
    void TearDown() override {
        if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
        DriverTest::TearDown();
    }
    virtual void configure(buggy::Config&) {}

    // Sends `code` expecting exactly one report of `check`, and returns it.
    VerifierReport one_report(const char* check, ULONG code) {
        auto e = verifier.expect(check);
        ioctl(h, code);
        std::vector<VerifierReport> r = e.reports();
        EXPECT_EQ(r.size(), 1u) << check;
        return r.empty() ? VerifierReport{} : r[0];
    }
    // The report names the buggy driver and `device`, and quotes the driver's source line.
    static void expect_object(const VerifierReport& r, const std::string& device, bool irp = true) {
        EXPECT_EQ(r.driver, kDriver) << r.text;
        EXPECT_EQ(r.device, device) << r.text;
        if (irp) {
            EXPECT_NE(r.irp, 0u) << r.text;
        }
        EXPECT_NE(r.text.find("NTIO_VERIFIER_CHECKS=" + r.check + "=off"), std::string::npos)
            << "says how to change the check:\n" << r.text;
    }
    static void expect_site_in_driver(const VerifierReport& r) {
        EXPECT_NE(r.call_site.find("buggy_driver.cpp:"), std::string::npos) << r.text;
    }

    HANDLE h = INVALID_HANDLE_VALUE;
};

// ---- IRPs ---------------------------------------------------------------------------------

TEST_F(Verifier, MULTIPLE_IRP_COMPLETE_REQUESTS_CompletingTwiceShowsBothCompletions) {
    VerifierReport r = one_report("MULTIPLE_IRP_COMPLETE_REQUESTS", buggy::IOCTL_COMPLETE_TWICE);
    EXPECT_EQ(r.bugcheck, "MULTIPLE_IRP_COMPLETE_REQUESTS");
    expect_object(r, "\\Device\\Buggy");
    expect_site_in_driver(r);
    // The IRP's history: dispatched, completed once, freed; the report is the second completion.
    std::string id = "IRP #" + std::to_string(r.irp);
    EXPECT_NE(r.text.find(id + " (IRP_MJ_DEVICE_CONTROL) history"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("IoCallDriver to \\Device\\Buggy"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("IoCompleteRequest with status 0x00000000"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("freed"), std::string::npos) << r.text;
}

TEST_F(Verifier, PendingStatusAtCompletion_CompletingWithStatusPending) {
    VerifierReport r = one_report("PendingStatusAtCompletion", buggy::IOCTL_COMPLETE_PENDING);
    EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_IOMANAGER_VIOLATION");
    expect_object(r, "\\Device\\Buggy");
    expect_site_in_driver(r);
}

TEST_F(Verifier, ReturnedPendingNotMarked_PendingWithoutIoMarkIrpPending) {
    // The DPC completes it 10 ms later; the check compares the return with the mark then.
    VerifierReport r = one_report("ReturnedPendingNotMarked", buggy::IOCTL_PENDING_NOT_MARKED);
    expect_object(r, "\\Device\\Buggy");
    EXPECT_NE(r.text.find("returned 0x00000103"), std::string::npos) << "the history shows the return:\n" << r.text;
}

TEST_F(Verifier, MarkedPendingNotReturned_IsAWarning_S_DSP_4) {
    VerifierReport r = one_report("MarkedPendingNotReturned", buggy::IOCTL_MARKED_NOT_PENDING);
    EXPECT_TRUE(r.warning);
    expect_object(r, "\\Device\\Buggy");
    EXPECT_NE(r.text.find("IoMarkIrpPending (stack location 1) at "), std::string::npos)
        << "the mark's source line is in the history:\n" << r.text;
}

TEST_F(Verifier, IrpUsedAfterFree_CancellingAnIrpAfterCompletingIt) {
    VerifierReport r = one_report("IrpUsedAfterFree", buggy::IOCTL_CANCEL_AFTER_COMPLETE);
    expect_object(r, "\\Device\\Buggy");
    EXPECT_NE(r.message.find("IoCancelIrp on IRP #" + std::to_string(r.irp)), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("freed (its memory is poisoned"), std::string::npos) << r.text;
}

// The four entry points a freed IRP must not reach (IoCancelIrp above): each is caught,
// names the same IRP, and says it was given to IoFreeIrp.
TEST_F(Verifier, IrpUsedAfterFree_IoCallDriverIoFreeIrpIoCompleteRequestOnAFreedIrp) {
    auto e = verifier.expect("IrpUsedAfterFree");
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_USE_FREED_IRP));
    std::vector<VerifierReport> r = e.reports();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_NE(r[0].call_site.find("buggy_driver.cpp:"), std::string::npos) << r[0].text;
    EXPECT_NE(r[0].message.find("IoCallDriver on IRP #"), std::string::npos) << r[0].text;
    EXPECT_NE(r[1].message.find("IoFreeIrp on IRP #"), std::string::npos) << r[1].text;
    EXPECT_NE(r[2].message.find("IoCompleteRequest on IRP #"), std::string::npos) << r[2].text;
    for (const VerifierReport& x : r) {
        EXPECT_EQ(x.irp, r[0].irp);
        EXPECT_EQ(x.driver, kDriver);
        EXPECT_NE(x.text.find("built by \\Driver\\buggy"), std::string::npos) << x.text;
        EXPECT_NE(x.text.find("IoFreeIrp"), std::string::npos) << x.text;
    }
}

TEST_F(Verifier, NO_MORE_IRP_STACK_LOCATIONS_ForwardingWithoutALocation) {
    VerifierReport r = one_report("NO_MORE_IRP_STACK_LOCATIONS", buggy::IOCTL_FORWARD_NO_LOCATION);
    EXPECT_EQ(r.bugcheck, "NO_MORE_IRP_STACK_LOCATIONS");
    EXPECT_EQ(r.device, "\\Device\\BuggyLower") << "names the target it could not reach:\n" << r.text;
    EXPECT_EQ(r.driver, kDriver);
    EXPECT_NE(r.irp, 0u);
    expect_site_in_driver(r);
}

TEST_F(Verifier, CANCEL_STATE_IN_COMPLETED_IRP_CancelRoutineStillSet) {
    VerifierReport r = one_report("CANCEL_STATE_IN_COMPLETED_IRP", buggy::IOCTL_CANCEL_ROUTINE_LEFT);
    EXPECT_EQ(r.bugcheck, "CANCEL_STATE_IN_COMPLETED_IRP");
    expect_object(r, "\\Device\\Buggy");
    expect_site_in_driver(r);
}

// ---- IRQL and spin locks ------------------------------------------------------------------

TEST_F(Verifier, WaitAtDispatchLevel_ATimedWaitUnderASpinLock) {
    VerifierReport r = one_report("WaitAtDispatchLevel", buggy::IOCTL_WAIT_AT_DISPATCH);
    EXPECT_EQ(r.bugcheck, "IRQL_NOT_LESS_OR_EQUAL");
    EXPECT_EQ(r.driver, kDriver);
    expect_site_in_driver(r);
    EXPECT_NE(r.call_site.find(":"), std::string::npos);
    EXPECT_NE(r.text.find("(KeDelayExecutionThread)"), std::string::npos) << r.text;
}

TEST_F(Verifier, PagedCodeAtDispatchLevel_PagedCodeUnderASpinLock) {
    VerifierReport r = one_report("PagedCodeAtDispatchLevel", buggy::IOCTL_PAGED_CODE_AT_DISPATCH);
    EXPECT_EQ(r.driver, kDriver);
    EXPECT_NE(r.message.find("PageableHelper"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("buggy_driver.cpp"), std::string::npos) << r.text;
}

TEST_F(Verifier, SPIN_LOCK_NOT_OWNED_ReleasingALockNotHeld) {
    VerifierReport r = one_report("SPIN_LOCK_NOT_OWNED", buggy::IOCTL_RELEASE_NOT_HELD);
    EXPECT_EQ(r.driver, kDriver);
    expect_site_in_driver(r);
    EXPECT_NE(r.message.find("not held at all"), std::string::npos) << r.text;
}

TEST_F(Verifier, SpinLockReleaseIrql_ReleasingToTheWrongIrql) {
    VerifierReport r = one_report("SpinLockReleaseIrql", buggy::IOCTL_RELEASE_WRONG_IRQL);
    EXPECT_EQ(r.driver, kDriver);
    expect_site_in_driver(r);
    EXPECT_NE(r.message.find("NewIrql 2"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("when the IRQL was 0"), std::string::npos) << r.text;
}

TEST_F(Verifier, IRQL_UNEXPECTED_VALUE_ADispatchRoutineReturningRaised) {
    VerifierReport r = one_report("IRQL_UNEXPECTED_VALUE", buggy::IOCTL_RETURN_RAISED);
    KeLowerIrql(PASSIVE_LEVEL);  // what the driver left raised, on this thread
    EXPECT_EQ(r.bugcheck, "IRQL_UNEXPECTED_VALUE");
    expect_object(r, "\\Device\\Buggy", false);
    EXPECT_NE(r.message.find("returned at IRQL 2 but was called at IRQL 0"), std::string::npos) << r.text;
}

TEST_F(Verifier, LockOrderInversion_BothOrdersNameEverySite) {
    ASSERT_TRUE(ioctl(h, buggy::IOCTL_LOCK_A_THEN_B)) << "one order alone is fine";
    VerifierReport r = one_report("LockOrderInversion", buggy::IOCTL_LOCK_B_THEN_A);
    EXPECT_EQ(r.driver, kDriver);
    // Both orders, each with its two acquisition sites in the driver.
    std::regex site(R"(buggy_driver\.cpp:\d+)");
    auto sites = std::distance(std::sregex_iterator(r.message.begin(), r.message.end(), site), std::sregex_iterator());
    EXPECT_EQ(sites, 4) << r.text;
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_LOCK_B_THEN_A)) << "reported once per pair";
}

// ---- StartIo ------------------------------------------------------------------------------

class StalledStartIo : public Verifier {
    void configure(buggy::Config& c) override { c.stall_startio = true; }
};

TEST_F(StalledStartIo, StartIoStalled_NoIoStartNextPacketWithinTheBound) {
    HANDLE q = open_device(buggy::kStartIoWin32Name, true);
    ASSERT_NE(q, INVALID_HANDLE_VALUE);
    auto stalled = verifier.expect("StartIoStalled");
    OVERLAPPED first{}, second{};
    first.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    second.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    DWORD n;
    DeviceIoControl(q, buggy::IOCTL_OK, nullptr, 0, nullptr, 0, &n, &first);
    DeviceIoControl(q, buggy::IOCTL_OK, nullptr, 0, nullptr, 0, &n, &second);
    EXPECT_EQ(WaitForSingleObject(first.hEvent, 0), WAIT_OBJECT_0) << "StartIo completed the first at once";
    int64_t t0 = now_ms();
    EXPECT_EQ(WaitForSingleObject(second.hEvent, 5000), WAIT_TIMEOUT) << "the second never starts";
    ASSERT_EQ(stalled.reports().size(), 1u);
    VerifierReport r = stalled.reports()[0];
    EXPECT_EQ(r.device, "\\Device\\BuggyStartIo") << r.text;
    EXPECT_EQ(r.driver, kDriver);
    EXPECT_NE(r.message.find("1 request(s) wait in the device queue"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("completed 1000.000 ms ago"), std::string::npos)
        << "the default bound, exact in virtual time (t0 " << t0 << "):\n" << r.text;
    CloseHandle(q);  // its IRP_MJ_CLEANUP starts the queued request
    EXPECT_EQ(WaitForSingleObject(second.hEvent, 0), WAIT_OBJECT_0);
    CloseHandle(first.hEvent);
    CloseHandle(second.hEvent);
}

// ---- what a driver leaves at unload --------------------------------------------------------

struct LeavesBehind : Verifier {
    void configure(buggy::Config& c) override {
        c.leave_device = c.leave_link = c.leave_thread = c.leak_pool_at_unload = true;
    }
};

TEST_F(LeavesBehind, DeviceLinkThreadPoolAndIrpLeftAtUnloadAreEachReported) {
    ASSERT_TRUE(ioctl(h, buggy::IOCTL_ALLOCATE_IRP_KEEP));
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    auto device = verifier.expect("DeviceLeftAtUnload");
    auto link = verifier.expect("SymbolicLinkLeftAtUnload");
    auto thread = verifier.expect("ThreadLeftAtUnload");
    auto pool = verifier.expect("PoolLeftAtUnload");
    auto irp = verifier.expect("IrpLeftAtUnload");
    ASSERT_TRUE(sys.unload_driver("buggy"));
    buggy::stop_left_thread();
    ASSERT_EQ(device.reports().size(), 1u);
    EXPECT_EQ(device.reports()[0].device, "\\Device\\BuggyLower");
    EXPECT_EQ(device.reports()[0].driver, kDriver);
    ASSERT_EQ(link.reports().size(), 1u);
    EXPECT_NE(link.reports()[0].message.find("\\DOSDEVICES\\BUGGY"), std::string::npos) << link.reports()[0].text;
    EXPECT_EQ(link.reports()[0].driver, kDriver);
    ASSERT_EQ(thread.reports().size(), 1u);
    EXPECT_EQ(thread.reports()[0].bugcheck, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
    EXPECT_EQ(thread.reports()[0].driver, kDriver);
    ASSERT_EQ(pool.reports().size(), 1u) << "one report per tag";
    EXPECT_NE(pool.reports()[0].message.find("1 pool allocation(s), 24 byte(s), tagged 'BgL1'"), std::string::npos)
        << pool.reports()[0].text;
    EXPECT_EQ(pool.reports()[0].driver, kDriver);
    ASSERT_EQ(irp.reports().size(), 1u);
    EXPECT_NE(irp.reports()[0].irp, 0u);
    EXPECT_NE(irp.reports()[0].text.find("built by \\Driver\\buggy"), std::string::npos) << irp.reports()[0].text;
    EXPECT_GE(sys.live_irps(), 1) << "reported, not freed behind the driver's back";
}

// A request still pending when every handle has closed, and still held at unload.
TEST(VerifierTeardown, IrpPendingAfterCleanup_AndIrpLeftAtUnload) {
    ntio::testing::VerifierGuard verifier;
    auto after_cleanup = verifier.expect("IrpPendingAfterCleanup");
    auto at_unload = verifier.expect("IrpLeftAtUnload");
    buggy::reset();
    {
        ntio::System sys(ntio::testing::DriverTest::verified_options());
        ASSERT_EQ(load_buggy(sys), STATUS_SUCCESS);
        HANDLE h = open_device(buggy::kWin32Name, true);
        OVERLAPPED ov{};
        DWORD n;
        EXPECT_FALSE(DeviceIoControl(h, buggy::IOCTL_HOLD, nullptr, 0, nullptr, 0, &n, &ov));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
        CloseHandle(h);  // the driver's cleanup does not complete what it holds
    }
    ASSERT_EQ(after_cleanup.reports().size(), 1u);
    EXPECT_NE(after_cleanup.reports()[0].message.find("\\Device\\Buggy"), std::string::npos)
        << after_cleanup.reports()[0].text;
    ASSERT_EQ(at_unload.reports().size(), 1u);
    EXPECT_EQ(at_unload.reports()[0].driver, kDriver);
    EXPECT_NE(at_unload.reports()[0].message.find("dispatched to \\Device\\Buggy is not completed"), std::string::npos)
        << at_unload.reports()[0].text;
}

// ---- the fixture, the handler and the settings ------------------------------------------------

TEST_F(Verifier, AnUnexpectedReportFailsTheTestWithItsText) {
    ::testing::TestPartResultArray failures;
    {
        ::testing::ScopedFakeTestPartResultReporter intercept(
            ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
        ioctl(h, buggy::IOCTL_COMPLETE_TWICE);
    }
    ASSERT_EQ(failures.size(), 1);
    std::string message = failures.GetTestPartResult(0).message();
    EXPECT_NE(message.find("DRIVER BUG MULTIPLE_IRP_COMPLETE_REQUESTS"), std::string::npos) << message;
    EXPECT_NE(message.find("buggy_driver.cpp"), std::string::npos) << message;
}

TEST_F(Verifier, ExpectDriverBugMacroClaimsTheReport) {
    EXPECT_DRIVER_BUG("CANCEL_STATE_IN_COMPLETED_IRP", ioctl(h, buggy::IOCTL_CANCEL_ROUTINE_LEFT));
    EXPECT_DRIVER_WARNING("MarkedPendingNotReturned", ioctl(h, buggy::IOCTL_MARKED_NOT_PENDING));
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_OK)) << "a clean request reports nothing";
}

TEST_F(Verifier, ACheckSwitchedOffReportsNothingAndCountsNothing) {
    ntio::set_verifier_checks("CANCEL_STATE_IN_COMPLETED_IRP=off");
    uint64_t bugs = ntio::driver_bug_count();
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_CANCEL_ROUTINE_LEFT));
    EXPECT_EQ(ntio::driver_bug_count(), bugs);
    EXPECT_TRUE(verifier.reports().empty());
}

TEST(VerifierSettings, UnknownCheckNamesAreRefusedWithTheListOfNames) {
    ntio::Options o;
    o.verifier_checks = "all,NoSuchCheck=fail";
    try {
        ntio::System sys(o);
        FAIL() << "accepted an unknown check";
    } catch (const std::invalid_argument& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("unknown verifier check 'NoSuchCheck'"), std::string::npos) << what;
        EXPECT_NE(what.find("MULTIPLE_IRP_COMPLETE_REQUESTS"), std::string::npos) << what;
        EXPECT_NE(what.find("LockOrderInversion"), std::string::npos) << what;
    }
    o.verifier_checks = "StartIoRecursion=loud";
    EXPECT_THROW(ntio::System{o}, std::invalid_argument);
    EXPECT_THROW(ntio::set_verifier_checks("Nope"), std::invalid_argument);
    o.verifier_checks = "";
    o.verifier = "sometimes";
    EXPECT_THROW(ntio::System{o}, std::invalid_argument);
}

TEST(VerifierSettings, EveryCheckHasAName) {
    std::vector<std::string> names = ntio::verifier_check_names();
    EXPECT_GE(names.size(), 50u);
    for (const char* must : {"MULTIPLE_IRP_COMPLETE_REQUESTS", "CANCEL_STATE_IN_COMPLETED_IRP",
                             "NO_MORE_IRP_STACK_LOCATIONS", "IRQL_NOT_LESS_OR_EQUAL", "WaitAtDispatchLevel",
                             "StartIoStalled", "LockOrderInversion", "IrpUsedAfterFree", "PoolLeftAtUnload"})
        EXPECT_NE(std::find(names.begin(), names.end(), must), names.end()) << must;
}

// ---- fault injection ------------------------------------------------------------------------

ntio::Options with_faults(const std::string& faults) {
    ntio::Options o = ntio::testing::DriverTest::verified_options();
    o.faults = faults;
    return o;
}

// Ten IOCTL_ALLOCATE_TWO under `faults`, then unload: the texts of the PoolLeftAtUnload
// reports, and the settings the run printed.
struct AllocationRun {
    std::vector<std::string> leaks;
    std::string settings;
    int succeeded = 0;
};
AllocationRun run_allocations(const std::string& faults) {
    NTIO_PLANTED_LEAKS_AHEAD;
    AllocationRun run;
    ntio::testing::VerifierGuard verifier;
    auto leaks = verifier.expect("PoolLeftAtUnload");
    buggy::reset();
    {
        ntio::System sys(with_faults(faults));
        run.settings = ntio::fault_injection_settings();
        EXPECT_EQ(load_buggy(sys), STATUS_SUCCESS);
        HANDLE h = open_device(buggy::kWin32Name);
        for (int i = 0; i < 10; ++i) run.succeeded += ioctl(h, buggy::IOCTL_ALLOCATE_TWO) ? 1 : 0;
        CloseHandle(h);
        EXPECT_TRUE(sys.unload_driver("buggy"));
    }
    for (const VerifierReport& r : leaks.reports()) run.leaks.push_back(r.text);
    return run;
}

TEST(FaultInjection, FindsThePlantedLeakOnTheErrorPathAndReplaysItFromThePrintedSeed) {
    // Random seeds (none given): the second allocation fails now and then, and the
    // driver's error path then leaks the first.
    AllocationRun found;
    for (int attempt = 0; attempt < 20 && found.leaks.empty(); ++attempt) found = run_allocations("pool=0.3,tags=BgB1");
    ASSERT_FALSE(found.leaks.empty()) << "20 runs of 10 requests at 30% never failed the second allocation";
    const std::string& leak = found.leaks[0];
    EXPECT_NE(leak.find("tagged 'BgA1'"), std::string::npos) << "the first block of the failed pair:\n" << leak;
    // The report carries the settings, seed included, that replay the run.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(leak, m, std::regex(R"(NTIO_FAULTS=(seed=\d+,pool=0\.3,tags=BgB1) replays)")))
        << leak;
    EXPECT_EQ(m[1].str(), found.settings);
    AllocationRun replay = run_allocations(m[1].str());
    EXPECT_EQ(replay.succeeded, found.succeeded);
    EXPECT_EQ(replay.leaks, found.leaks) << "the same seed fails the same allocations";
}

class FaultsTest : public ntio::testing::DriverTest {
protected:
    explicit FaultsTest(const std::string& faults) : DriverTest(with_faults(faults)) {}
    void SetUp() override {
        ASSERT_EQ(load_buggy(sys), STATUS_SUCCESS);
        h = open_device(buggy::kWin32Name);
    }
    void TearDown() override {
        CloseHandle(h);
        DriverTest::TearDown();
    }
    HANDLE h = INVALID_HANDLE_VALUE;
};

// Driver Verifier's "force pending I/O requests": a driver that takes IoCallDriver's
// STATUS_PENDING for the final status is caught; the one that waits is not.
struct ForcedPending : FaultsTest {
    ForcedPending() : FaultsTest("seed=7,pending=1") { buggy::reset(); }
};

TEST_F(ForcedPending, ACallerThatDoesNotWaitIsCaughtOneThatWaitsIsNot) {
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_CALL_LOWER)) << "waits on STATUS_PENDING: correct";
    auto e = verifier.expect("PendingStatusAtCompletion");
    // It then also passes STATUS_PENDING up, unmarked: the second consequence of the bug.
    auto unmarked = verifier.expect("ReturnedPendingNotMarked");
    ioctl(h, buggy::IOCTL_CALL_LOWER_NO_WAIT);
    ASSERT_EQ(e.reports().size(), 1u);
    EXPECT_EQ(unmarked.reports().size(), 1u);
    EXPECT_EQ(e.reports()[0].device, "\\Device\\Buggy");
    EXPECT_NE(e.reports()[0].text.find("fault injection is on; NTIO_FAULTS=seed=7,pending=1 replays this run"),
              std::string::npos)
        << e.reports()[0].text;
}

// Delayed completions: the lower device's answer arrives delay_ms later, in exact virtual time.
struct DelayedCompletion : FaultsTest {
    DelayedCompletion() : FaultsTest("seed=7,delay=1,delay_ms=250") { buggy::reset(); }
};

TEST_F(DelayedCompletion, TheCallerWaitsExactlyTheDelay) {
    int64_t t0 = now_ms();
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_CALL_LOWER));
    EXPECT_EQ(now_ms() - t0, 250);
}

// Injected cancels: a request that pends is cancelled within cancel_ms; the driver's cancel
// routine finishes it and the caller sees ERROR_OPERATION_ABORTED.
struct InjectedCancel : FaultsTest {
    InjectedCancel() : FaultsTest("seed=7,cancel=1,cancel_ms=40") { buggy::reset(); }
    void SetUp() override {
        ASSERT_EQ(load_buggy(sys), STATUS_SUCCESS);
        h = open_device(buggy::kWin32Name, true);
    }
};

TEST_F(InjectedCancel, APendingRequestIsCancelledWithinTheWindow) {
    OVERLAPPED ov{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    DWORD n = 0;
    int64_t t0 = now_ms();
    EXPECT_FALSE(DeviceIoControl(h, buggy::IOCTL_HOLD, nullptr, 0, nullptr, 0, &n, &ov));
    ASSERT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &n, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    EXPECT_LE(now_ms() - t0, 40);
    EXPECT_EQ(buggy::holds_cancelled(), 1);
    CloseHandle(ov.hEvent);
}

// Determinism: the same seed makes the same choices; the choices follow the probability.
TEST(FaultInjection, TheSameSeedForcesPendingOnTheSameCalls) {
    auto pattern = [](const std::string& faults) {
        ntio::testing::VerifierGuard verifier;
        auto caught = verifier.expect("PendingStatusAtCompletion");
        auto unmarked = verifier.expect("ReturnedPendingNotMarked");
        buggy::reset();
        std::string p;
        {
            ntio::System sys(with_faults(faults));
            EXPECT_EQ(load_buggy(sys), STATUS_SUCCESS);
            HANDLE h = open_device(buggy::kWin32Name);
            for (int i = 0; i < 32; ++i) {
                size_t before = caught.reports().size();
                ioctl(h, buggy::IOCTL_CALL_LOWER_NO_WAIT);
                p += caught.reports().size() > before ? 'P' : '.';
            }
            CloseHandle(h);
        }
        return p;
    };
    std::string a = pattern("seed=99,pending=0.5"), b = pattern("seed=99,pending=0.5");
    EXPECT_EQ(a, b);
    EXPECT_NE(a.find('P'), std::string::npos);
    EXPECT_NE(a.find('.'), std::string::npos);
    EXPECT_NE(pattern("seed=100,pending=0.5"), a) << "another seed, other choices (32 coin flips)";
    EXPECT_EQ(pattern("seed=1,pending=#3|#5"), "..P.P" + std::string(27, '.')) << "#N: exactly those calls";
}

TEST(FaultInjection, BadSettingsAreRefused) {
    EXPECT_THROW(ntio::System{with_faults("pool=2")}, std::invalid_argument);
    EXPECT_THROW(ntio::System{with_faults("pool=#0")}, std::invalid_argument);
    EXPECT_THROW(ntio::System{with_faults("bogus=1")}, std::invalid_argument);
    EXPECT_THROW(ntio::System{with_faults("scope=some")}, std::invalid_argument);
}

}  // namespace
