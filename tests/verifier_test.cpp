// The verifier's acceptance (issue 7): one test per check, each with the buggy driver
// (tests/drivers/buggy_driver.cpp, or buggy_pnp_driver.cpp for the mistakes that need
// AddDevice, IRP_MN_REMOVE_DEVICE or a driver without StartIo) making that one mistake,
// asserting the rule named and the object the report names; the report handler and
// fixture of <ntio/gtest.hpp>; the check settings; and fault injection finding the buggy
// driver's planted error-path leak, reproducibly from the seed it prints.
//
// Every check of src/verifier/checks.def has its test here, named after the check. The
// object a report names depends on what the mistake concerns: an IRP (its id, device and
// driver), a device (device and driver), or a lock, a dispatcher object, pool or an MDL,
// which have no name of their own: those reports name the driver whose code made the
// call and, where the compat macros capture it, the driver's source line.
//
// Mistakes that hang or crash on Windows are made here as ntio survives them: a spin
// lock or fast mutex acquired again by its owner is reported and let through (the next
// release ends the inner acquisition), a cancel routine that keeps the cancel spin lock
// has it released for it, a refused IoFreeIrp or IoReuseIrp leaves the IRP to its owner.
// BAD_POOL_CALLER's double free is caught because freed pool waits in a quarantine (the
// last 256 frees of blocks up to 64 KB) before going back to the C library: the second
// free still finds the freed block's header, in memory nobody else was given.
#include <dlfcn.h>
#include <gtest/gtest-spi.h>

#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

#include "drivers/buggy_driver.hpp"
#include "drivers/buggy_pnp_driver.hpp"
#include "drivers/filter_driver.hpp"
#include "drivers/test_driver.hpp"
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
    Verifier() = default;
    explicit Verifier(const ntio::Options& options) : DriverTest(options) {}
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

    // Sends `code` expecting exactly one report of `check`, and returns it (and in
    // *result what DeviceIoControl returned).
    VerifierReport one_report(const char* check, ULONG code, BOOL* result = nullptr) {
        auto e = verifier.expect(check);
        BOOL ok = ioctl(h, code);
        if (result) *result = ok;
        std::vector<VerifierReport> r = e.reports();
        EXPECT_EQ(r.size(), 1u) << check;
        return r.empty() ? VerifierReport{} : r[0];
    }
    // A report about no IRP or device: it names the buggy driver and the setting.
    static void expect_driver(const VerifierReport& r) {
        EXPECT_EQ(r.driver, kDriver) << r.text;
        EXPECT_NE(r.text.find("NTIO_VERIFIER_CHECKS=" + r.check + "=off"), std::string::npos)
            << "says how to change the check:\n" << r.text;
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

// S-CMP-1 with the default checks, which keep no IRP records: the first completion
// takes IoCompleteRequest's common path (a synchronous handle, completed inside
// dispatch, no data), which frees the IRP into the thread's lookaside without marking
// it completed. The second must still be caught, by the freed IRP's magic, and leave the
// caller the first completion's result and the lookaside whole for the next requests.
TEST_F(Verifier, MULTIPLE_IRP_COMPLETE_REQUESTS_CaughtWithoutIrpRecords) {
    ntio::set_verifier_checks("IrpUsedAfterFree=off,ReturnedPendingNotMarked=off,MarkedPendingNotReturned=off,"
                              "IrpLeftAtUnload=off,StartIoStalled=off");
    // The thread's first free registers its lookaside (the general path); after it the
    // common path has room.
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(ioctl(h, buggy::IOCTL_OK));
    BOOL ok = FALSE;
    VerifierReport r = one_report("MULTIPLE_IRP_COMPLETE_REQUESTS", buggy::IOCTL_COMPLETE_TWICE, &ok);
    EXPECT_EQ(r.bugcheck, "MULTIPLE_IRP_COMPLETE_REQUESTS");
    expect_site_in_driver(r);
    EXPECT_TRUE(ok) << "the caller has the first completion's STATUS_SUCCESS";
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(ioctl(h, buggy::IOCTL_OK)) << "request " << i << " after it";
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

// The quarantine holds the last 1024 freed IRPs: one used again after 1000 more requests
// were freed is still caught, and named. (Were it evicted, its memory would serve a later
// request and be quarantined again as that request's IRP: the report would name that
// one, hundreds of numbers later. IRP numbers grow by one per IRP a thread allocates.)
TEST_F(Verifier, IrpUsedAfterFree_StillCaughtAThousandRequestsLater) {
    uint64_t before = one_report("MULTIPLE_IRP_COMPLETE_REQUESTS", buggy::IOCTL_COMPLETE_TWICE).irp;
    ASSERT_TRUE(ioctl(h, buggy::IOCTL_COMPLETE_AND_KEEP));
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(ioctl(h, buggy::IOCTL_OK));
    VerifierReport r = one_report("IrpUsedAfterFree", buggy::IOCTL_CANCEL_KEPT);
    expect_object(r, "\\Device\\Buggy");
    EXPECT_GT(r.irp, before);
    EXPECT_LT(r.irp, before + 16) << "the kept IRP, not a later one in its memory";
    EXPECT_NE(r.message.find("IoCancelIrp on IRP #" + std::to_string(r.irp)), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("freed (its memory is poisoned"), std::string::npos) << r.text;
}

// Past the quarantine's depth its IRPs' memory and records serve new requests: a mistake
// made then is reported as at the start, with the IRP's own history only.
TEST_F(Verifier, MULTIPLE_IRP_COMPLETE_REQUESTS_AfterTheQuarantineTurnedOver) {
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(ioctl(h, buggy::IOCTL_OK));
    VerifierReport r = one_report("MULTIPLE_IRP_COMPLETE_REQUESTS", buggy::IOCTL_COMPLETE_TWICE);
    expect_object(r, "\\Device\\Buggy");
    std::string id = "IRP #" + std::to_string(r.irp);
    EXPECT_NE(r.text.find(id + " (IRP_MJ_DEVICE_CONTROL) history"), std::string::npos) << r.text;
    auto count = [&](const std::string& what) {
        size_t n = 0;
        for (size_t at = r.text.find(what); at != std::string::npos; at = r.text.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("IoCallDriver to \\Device\\Buggy"), 1u) << r.text;
    EXPECT_EQ(count("IoCompleteRequest with status 0x00000000"), 1u) << r.text;
    EXPECT_EQ(count("freed (its memory is poisoned"), 1u) << r.text;
}

// On the real clock a history's times may be read from the CPU's time-stamp counter and
// converted when the report is written (verifier/irp_tracker.cpp): they are in order, and
// fall between the runtime's start and now.
class VerifierRealTime : public Verifier {
protected:
    VerifierRealTime() : Verifier(real_clock()) {}
    static ntio::Options real_clock() {
        ntio::Options o = verified_options();
        o.clock = ntio::Clock::real;
        return o;
    }
};

TEST_F(VerifierRealTime, HistoryTimesAreInOrderAndWithinTheRun) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    double start = std::chrono::duration<double, std::milli>(sys.now()).count();
    VerifierReport r = one_report("MULTIPLE_IRP_COMPLETE_REQUESTS", buggy::IOCTL_COMPLETE_TWICE);
    double end = std::chrono::duration<double, std::milli>(sys.now()).count();
    std::regex line(R"(\n +([0-9]+\.[0-9]{3}) ms  thread)");
    std::vector<double> times;
    for (auto it = std::sregex_iterator(r.text.begin(), r.text.end(), line); it != std::sregex_iterator(); ++it)
        times.push_back(std::stod((*it)[1]));
    ASSERT_GE(times.size(), 3u) << r.text;  // dispatched, completed, freed
    EXPECT_GE(times.front(), start - 0.01) << r.text;
    EXPECT_LE(times.back(), end + 0.01) << r.text;
    for (size_t i = 1; i < times.size(); ++i) EXPECT_LE(times[i - 1], times[i]) << r.text;
}

TEST_F(Verifier, NO_MORE_IRP_STACK_LOCATIONS_ForwardingWithoutALocation) {
    VerifierReport r = one_report("NO_MORE_IRP_STACK_LOCATIONS", buggy::IOCTL_FORWARD_NO_LOCATION);
    EXPECT_EQ(r.bugcheck, "NO_MORE_IRP_STACK_LOCATIONS");
    EXPECT_EQ(r.device, "\\Device\\BuggyLower") << "names the target it could not reach:\n" << r.text;
    EXPECT_EQ(r.driver, kDriver);
    EXPECT_NE(r.irp, 0u);
    expect_site_in_driver(r);
}

// The helpers that write the next location name their own line, whoever sent the IRP:
// from an application, or by IoCallDriver from a driver (here this file), whose line
// is not the callee's. With and without the IRP records (two IoCallDriver paths).
TEST_F(Verifier, NO_MORE_IRP_STACK_LOCATIONS_TheHelpersNameTheirOwnLine) {
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, buggy::kDevice);
    PFILE_OBJECT fo = nullptr;
    PDEVICE_OBJECT device = nullptr;
    ASSERT_EQ(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fo, &device), STATUS_SUCCESS);
    for (bool records : {true, false}) {
        if (!records)
            ntio::set_verifier_checks("IrpUsedAfterFree=off,ReturnedPendingNotMarked=off,MarkedPendingNotReturned=off,"
                                      "IrpLeftAtUnload=off,StartIoStalled=off");
        for (bool from_driver : {false, true}) {
            SCOPED_TRACE(std::string(records ? "with" : "without") + " IRP records, sent by " +
                         (from_driver ? "IoCallDriver" : "DeviceIoControl"));
            auto e = verifier.expect("NO_MORE_IRP_STACK_LOCATIONS");
            if (from_driver) {
                KEVENT done;
                KeInitializeEvent(&done, NotificationEvent, FALSE);
                IO_STATUS_BLOCK iosb{};
                PIRP irp = IoBuildDeviceIoControlRequest(buggy::IOCTL_COPY_NO_LOCATION, device, nullptr, 0, nullptr,
                                                         0, FALSE, &done, &iosb);
                ASSERT_NE(irp, nullptr);
                EXPECT_EQ(IoCallDriver(device, irp), STATUS_SUCCESS);
            } else {
                EXPECT_TRUE(ioctl(h, buggy::IOCTL_COPY_NO_LOCATION));
            }
            std::vector<VerifierReport> r = e.reports();
            ASSERT_EQ(r.size(), 2u);
            const char* helpers[] = {"IoCopyCurrentIrpStackLocationToNext", "IoSetCompletionRoutine"};
            for (size_t i = 0; i < 2; ++i) {
                expect_site_in_driver(r[i]);
                EXPECT_NE(r[i].text.find(std::string("(") + helpers[i] + ")\n"), std::string::npos)
                    << "the site is the helper's own call:\n" << r[i].text;
            }
        }
    }
    ObDereferenceObject(fo);
}

// A report from an API that records no line of its own (IoFreeIrp), made by a driver
// that another driver's IoCallDriver called: it names no line rather than the caller's.
TEST_F(Verifier, FreeIrpNotOwned_ACalledDriversReportDoesNotNameItsCallersLine) {
    ntio::set_verifier_checks("IrpUsedAfterFree=off,ReturnedPendingNotMarked=off,MarkedPendingNotReturned=off,"
                              "IrpLeftAtUnload=off,StartIoStalled=off");  // the unverified IoCallDriver
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, buggy::kDevice);
    PFILE_OBJECT fo = nullptr;
    PDEVICE_OBJECT device = nullptr;
    ASSERT_EQ(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fo, &device), STATUS_SUCCESS);
    auto e = verifier.expect("FreeIrpNotOwned");
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    PIRP irp = IoBuildDeviceIoControlRequest(buggy::IOCTL_FREE_CALLERS_IRP, device, nullptr, 0, nullptr, 0, FALSE,
                                             &done, &iosb);
    ASSERT_NE(irp, nullptr);
    EXPECT_EQ(IoCallDriver(device, irp), STATUS_SUCCESS);
    std::vector<VerifierReport> r = e.reports();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].call_site.find("verifier_test.cpp"), std::string::npos)
        << "the IoCallDriver that sent the IRP is not where the bug is:\n" << r[0].text;
    ObDereferenceObject(fo);
}

TEST_F(Verifier, CANCEL_STATE_IN_COMPLETED_IRP_CancelRoutineStillSet) {
    VerifierReport r = one_report("CANCEL_STATE_IN_COMPLETED_IRP", buggy::IOCTL_CANCEL_ROUTINE_LEFT);
    EXPECT_EQ(r.bugcheck, "CANCEL_STATE_IN_COMPLETED_IRP");
    expect_object(r, "\\Device\\Buggy");
    expect_site_in_driver(r);
}

// S-CAN-3: no IoCompleteRequest while holding a spin lock, the cancel spin lock least of all.
TEST_F(Verifier, CompletedUnderCancelSpinLock_CompletingWhileHoldingIt_S_CAN_3) {
    VerifierReport r = one_report("CompletedUnderCancelSpinLock", buggy::IOCTL_COMPLETE_UNDER_CANCEL_LOCK);
    expect_object(r, "\\Device\\Buggy");
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("(IoCompleteRequest)"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("IoCompleteRequest on IRP #" + std::to_string(r.irp)), std::string::npos) << r.text;
}

// S-CAN-3: a cancel routine releases the cancel spin lock. This one hands the IRP to a DPC
// and returns holding it; ntio reports, releases it to the canceller's IRQL, and the
// lock works for the next cancellation.
TEST_F(Verifier, CancelSpinLockNotReleased_ACancelRoutineKeepingTheLock_S_CAN_3) {
    HANDLE q = open_device(buggy::kWin32Name, true);
    ASSERT_NE(q, INVALID_HANDLE_VALUE);
    auto e = verifier.expect("CancelSpinLockNotReleased");
    OVERLAPPED ov{}, held{};
    ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    held.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    DWORD n;
    EXPECT_FALSE(DeviceIoControl(q, buggy::IOCTL_CANCEL_KEEPS_LOCK, nullptr, 0, nullptr, 0, &n, &ov));
    ASSERT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    EXPECT_TRUE(CancelIoEx(q, &ov));
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    expect_object(r, "\\Device\\Buggy");
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL) << "released to the canceller's IRQL";
    EXPECT_FALSE(GetOverlappedResult(q, &ov, &n, TRUE)) << "the DPC completed it";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    // The lock is free: a well-behaved cancel routine runs and finishes its request.
    EXPECT_FALSE(DeviceIoControl(q, buggy::IOCTL_HOLD, nullptr, 0, nullptr, 0, &n, &held));
    EXPECT_TRUE(CancelIoEx(q, &held));
    EXPECT_FALSE(GetOverlappedResult(q, &held, &n, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    EXPECT_EQ(buggy::holds_cancelled(), 1);
    EXPECT_EQ(e.reports().size(), 1u);
    CloseHandle(ov.hEvent);
    CloseHandle(held.hEvent);
    CloseHandle(q);
}

// S-CMP-10: Information larger than the output buffer; ntio copies what fits.
TEST_F(Verifier, InformationTooLarge_InformationPastTheOutputBuffer_S_CMP_10) {
    auto e = verifier.expect("InformationTooLarge");
    char out[8];
    DWORD bytes = 0;
    EXPECT_TRUE(DeviceIoControl(h, buggy::IOCTL_INFORMATION_TOO_LARGE, nullptr, 0, out, sizeof out, &bytes, nullptr));
    EXPECT_EQ(bytes, sizeof out) << "clamped to the caller's buffer";
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    expect_object(r, "\\Device\\Buggy");
    expect_site_in_driver(r);
    EXPECT_NE(r.message.find("IoStatus.Information = 64 but the caller's buffer holds 8 bytes"), std::string::npos)
        << r.text;
}

// S-CMP-12: an IoAllocateIrp IRP must come back to its creator through a completion
// routine returning STATUS_MORE_PROCESSING_REQUIRED. The report names the device that
// completed it and the line of that completion.
TEST_F(Verifier, IrpNotReclaimed_SendingItsOwnIrpWithoutACompletionRoutine_S_CMP_12) {
    BOOL ok = FALSE;
    VerifierReport r = one_report("IrpNotReclaimed", buggy::IOCTL_SEND_WITHOUT_ROUTINE, &ok);
    EXPECT_TRUE(ok);
    EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_IOMANAGER_VIOLATION");
    expect_object(r, "\\Device\\BuggyLower");
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("built by \\Driver\\buggy"), std::string::npos) << r.text;
}

// S-CMP-9: the I/O manager frees the IRPs it built for callers, at completion (a driver
// frees only what it allocated, S-BLD-1). The refused IoFreeIrp leaves the IRP alive, and
// the caller gets its completion.
TEST_F(Verifier, FreeIrpNotOwned_IoFreeIrpOnTheCallersIrp_S_CMP_9) {
    BOOL ok = FALSE;
    VerifierReport r = one_report("FreeIrpNotOwned", buggy::IOCTL_FREE_CALLERS_IRP, &ok);
    EXPECT_TRUE(ok) << "not freed: the driver's completion still reached the caller";
    EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_IOMANAGER_VIOLATION");
    expect_object(r, "\\Device\\Buggy");
    EXPECT_NE(r.message.find("IoFreeIrp on IRP #" + std::to_string(r.irp) + ", which the I/O manager built for a caller"),
              std::string::npos)
        << r.text;
}

// S-BLD-5: IoReuseIrp is for the driver's own IoAllocateIrp/IoInitializeIrp IRPs.
TEST_F(Verifier, ReuseIrpInvalid_IoReuseIrpOnTheCallersIrp_S_BLD_5) {
    BOOL ok = FALSE;
    VerifierReport r = one_report("ReuseIrpInvalid", buggy::IOCTL_REUSE_CALLERS_IRP, &ok);
    EXPECT_TRUE(ok) << "not reused: the request completed as the caller's";
    expect_object(r, "\\Device\\Buggy");
    EXPECT_NE(r.message.find("IoReuseIrp on IRP #" + std::to_string(r.irp) + ", which was built by the I/O manager"),
              std::string::npos)
        << r.text;
}

// S-CAN-12: a thread that exits cancels its requests and waits for them; StartIo holds this
// one with no cancel routine, so after 5 minutes it is disassociated and reported.
TEST_F(Verifier, IO_DRIVER_CANCEL_TIMEOUT_StartIoHoldsAnExitingThreadsRequest_S_CAN_12) {
    struct Request {
        HANDLE device;
        OVERLAPPED ov;
    } req{open_device(buggy::kStartIoWin32Name, true), {}};
    ASSERT_NE(req.device, INVALID_HANDLE_VALUE);
    req.ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    auto e = verifier.expect("IO_DRIVER_CANCEL_TIMEOUT");
    int64_t t0 = now_ms();
    HANDLE t = CreateThread(
        nullptr, 0,
        [](LPVOID p) -> DWORD {
            auto* r = static_cast<Request*>(p);
            DWORD n;
            DeviceIoControl(r->device, buggy::IOCTL_HOLD, nullptr, 0, nullptr, 0, &n, &r->ov);
            return 0;  // exits while StartIo holds the request
        },
        &req, 0, nullptr);
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    CloseHandle(t);
    EXPECT_GE(now_ms() - t0, 300000) << "the exit waited 5 minutes for the driver";
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    expect_object(r, "\\Device\\BuggyStartIo");
    EXPECT_NE(r.message.find("1 request(s) of an exiting thread (IRP #" + std::to_string(r.irp) + ")"),
              std::string::npos)
        << r.text;
    EXPECT_TRUE(buggy::finish_held_startio());
    EXPECT_EQ(WaitForSingleObject(req.ov.hEvent, 0), static_cast<DWORD>(WAIT_TIMEOUT))
        << "the late completion does not reach the exited thread's OVERLAPPED (S-CMP-8)";
    CloseHandle(req.ov.hEvent);
    CloseHandle(req.device);
}

// S-DSP-1 and S-CMP-4 in a device stack: two filters over the test driver's device,
// each passing requests down with a completion routine and returning IoCallDriver's
// status. When the bottom driver pends, each filter returns STATUS_PENDING for its own
// location, which its routine must mark (`if (Irp->PendingReturned) IoMarkIrpPending`).
// A request to a three-level stack needs an IRP larger than the lookaside's, which is
// how this went unchecked before.
class VerifiedStack : public ntio::testing::DriverTest {
protected:
    void SetUp() override {
        testdrv::reset();
        filterdrv::reset();
        ASSERT_EQ(sys.load_driver("ntiotest", reinterpret_cast<ntio::System::DriverEntryFunction>(&testdrv::DriverEntry)),
                  STATUS_SUCCESS);
        ASSERT_EQ(sys.load_driver("ntiofilter", reinterpret_cast<ntio::System::DriverEntryFunction>(&filterdrv::DriverEntry)),
                  STATUS_SUCCESS);
        ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &lower_filter, nullptr), STATUS_SUCCESS);
        ASSERT_EQ(filterdrv::attach(L"\\Device\\TestBuffered", &upper_filter, nullptr), STATUS_SUCCESS);
    }
    void TearDown() override {
        if (upper_filter) filterdrv::detach(upper_filter);
        if (lower_filter) filterdrv::detach(lower_filter);
        DriverTest::TearDown();
    }
    // An overlapped IOCTL the test driver completes 100 ms later; true if it succeeded.
    bool pended_request() {
        HANDLE f = CreateFileA("\\\\.\\TestBuffered", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED, nullptr);
        EXPECT_NE(f, INVALID_HANDLE_VALUE);
        testdrv::Script s;
        s.finish = testdrv::Finish::later;
        s.delay_ms = 100;
        OVERLAPPED ov{};
        ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        DWORD n = 0;
        EXPECT_FALSE(DeviceIoControl(f, testdrv::IOCTL_BUFFERED, &s, sizeof s, nullptr, 0, nullptr, &ov));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
        bool ok = GetOverlappedResult(f, &ov, &n, TRUE);
        CloseHandle(ov.hEvent);
        CloseHandle(f);
        return ok;
    }
    PDEVICE_OBJECT lower_filter = nullptr, upper_filter = nullptr;
};

TEST_F(VerifiedStack, ReturnedPendingNotMarked_FiltersWhoseRoutinesDoNotMarkTheirLocation_S_CMP_4) {
    auto e = verifier.expect("ReturnedPendingNotMarked");
    filterdrv::state().remark_pending = false;
    EXPECT_TRUE(pended_request()) << "the overlapped caller is still told (the bottom location was marked)";
    std::vector<VerifierReport> r = e.reports();
    ASSERT_EQ(r.size(), 2u) << "one per filter";
    std::set<std::string> devices, locations;
    for (const VerifierReport& one : r) {
        EXPECT_EQ(one.driver, "\\Driver\\ntiofilter") << one.text;
        devices.insert(one.device);
        for (const char* at : {"its stack location (2)", "its stack location (3)"})
            if (one.text.find(at) != std::string::npos) locations.insert(at);
    }
    EXPECT_EQ(devices.size(), 2u) << "each filter's device is named";
    EXPECT_EQ(locations.size(), 2u) << "locations 2 and 3";
}

TEST_F(VerifiedStack, FiltersThatMarkTheirLocationAreNotReported_S_CMP_4) {
    // The guard fails the test on any report.
    EXPECT_TRUE(pended_request());
    EXPECT_EQ(filterdrv::state().calls.size(), 2u) << "both routines ran";
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
    EXPECT_EQ(r.bugcheck, "IRQL_UNEXPECTED_VALUE");
    expect_object(r, "\\Device\\Buggy", false);
    EXPECT_NE(r.message.find("returned at IRQL 2 but was called at IRQL 0"), std::string::npos) << r.text;
    // Reported and gone on from: the caller is back at its own IRQL, so what follows
    // (another request, the close) runs and is checked at PASSIVE_LEVEL, with no
    // reports that would blame the driver for ntio's own calls (any report fails the test).
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_LOCK_A_THEN_B));
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

// S-KE-3: a routine called above its maximum IRQL (paged pool at DISPATCH_LEVEL).
TEST_F(Verifier, IRQL_NOT_LESS_OR_EQUAL_PagedPoolUnderASpinLock_S_KE_3) {
    VerifierReport r = one_report("IRQL_NOT_LESS_OR_EQUAL", buggy::IOCTL_PAGED_POOL_UNDER_LOCK);
    EXPECT_EQ(r.bugcheck, "IRQL_NOT_LESS_OR_EQUAL");
    expect_driver(r);
    EXPECT_NE(r.message.find("ExAllocatePoolWithTag called at IRQL 2 (maximum 1)"), std::string::npos) << r.text;
}

// S-KE-1: KeRaiseIrql to a lower level than the current one.
TEST_F(Verifier, IRQL_NOT_GREATER_OR_EQUAL_RaisingToALowerIrql_S_KE_1) {
    VerifierReport r = one_report("IRQL_NOT_GREATER_OR_EQUAL", buggy::IOCTL_RAISE_TO_LOWER);
    EXPECT_EQ(r.bugcheck, "IRQL_NOT_GREATER_OR_EQUAL");
    expect_driver(r);
    EXPECT_NE(r.message.find("KeRaiseIrql to 1 from the higher IRQL 2"), std::string::npos) << r.text;
}

// S-KE-3, S-KE-20: KeReleaseSpinLock runs at exactly DISPATCH_LEVEL, where the lock holds it.
TEST_F(Verifier, IRQL_NOT_DISPATCH_LEVEL_ReleasingASpinLockAfterLoweringTheIrql_S_KE_20) {
    VerifierReport r = one_report("IRQL_NOT_DISPATCH_LEVEL", buggy::IOCTL_RELEASE_AT_PASSIVE);
    EXPECT_EQ(r.bugcheck, "IRQL_NOT_DISPATCH_LEVEL");
    expect_driver(r);
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("(KeReleaseSpinLock)"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("at IRQL 0"), std::string::npos) << r.text;
}

TEST_F(Verifier, APC_INDEX_MISMATCH_LeavingACriticalRegionNeverEntered) {
    VerifierReport r = one_report("APC_INDEX_MISMATCH", buggy::IOCTL_LEAVE_CRITICAL_REGION);
    EXPECT_EQ(r.bugcheck, "APC_INDEX_MISMATCH");
    expect_driver(r);
    EXPECT_NE(r.message.find("KeLeaveCriticalRegion without KeEnterCriticalRegion"), std::string::npos) << r.text;
}

// S-KE-20: spin locks are not recursive. On Windows the second acquisition spins forever;
// ntio reports it and lets it through, the inner release ends it, the outer one frees the
// lock: the next requests take the lock again without a report.
TEST_F(Verifier, SPIN_LOCK_ALREADY_OWNED_AcquiringItsOwnLockAgain_S_KE_20) {
    VerifierReport r = one_report("SPIN_LOCK_ALREADY_OWNED", buggy::IOCTL_ACQUIRE_TWICE);
    EXPECT_EQ(r.bugcheck, "SPIN_LOCK_ALREADY_OWNED");
    expect_driver(r);
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("(KeAcquireSpinLockAtDpcLevel)"), std::string::npos) << r.text;
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_LOCK_A_THEN_B)) << "the lock was released, without another report";
    EXPECT_EQ(one_report("SPIN_LOCK_ALREADY_OWNED", buggy::IOCTL_ACQUIRE_TWICE).call_site, r.call_site)
        << "the same mistake again: one report again";
}

// ---- dispatcher objects, executive resources, parameters, asserts ---------------------------

// S-KE-17: only the owner releases a KMUTEX; the mutex stays as it was.
TEST_F(Verifier, THREAD_NOT_MUTEX_OWNER_ReleasingAMutexNeverAcquired_S_KE_17) {
    VerifierReport r = one_report("THREAD_NOT_MUTEX_OWNER", buggy::IOCTL_RELEASE_MUTEX_NOT_OWNED);
    EXPECT_EQ(r.bugcheck, "THREAD_NOT_MUTEX_OWNER");
    expect_driver(r);
    EXPECT_NE(r.message.find("by a thread that does not own it"), std::string::npos) << r.text;
}

// S-KE-16: Windows raises STATUS_SEMAPHORE_LIMIT_EXCEEDED; the count stays as it was.
TEST_F(Verifier, SemaphoreLimitExceeded_ReleasingPastTheLimit_S_KE_16) {
    VerifierReport r = one_report("SemaphoreLimitExceeded", buggy::IOCTL_SEMAPHORE_PAST_LIMIT);
    expect_driver(r);
    EXPECT_NE(r.message.find("adjustment 2) would pass the limit 1 (count 0)"), std::string::npos) << r.text;
    EXPECT_EQ(one_report("SemaphoreLimitExceeded", buggy::IOCTL_SEMAPHORE_PAST_LIMIT).message, r.message)
        << "the count did not move";
}

// S-KE-18: fast mutexes are not recursive. On Windows the second ExAcquireFastMutex never
// returns; ntio reports it and lets it through, and the two releases leave the mutex free
// and the IRQL where it was (the dispatch routine returns at PASSIVE_LEVEL, or
// IRQL_UNEXPECTED_VALUE would fail the test).
TEST_F(Verifier, FastMutexMisuse_AcquiringItsOwnFastMutexAgain_S_KE_18) {
    VerifierReport r = one_report("FastMutexMisuse", buggy::IOCTL_FAST_MUTEX_TWICE);
    expect_driver(r);
    EXPECT_NE(r.message.find("ExAcquireFastMutex"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("by its owner"), std::string::npos) << r.text;
    // Left held, the next request's first acquisition would be reported too.
    EXPECT_EQ(one_report("FastMutexMisuse", buggy::IOCTL_FAST_MUTEX_TWICE).message, r.message);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

// S-KE-3's waits: more than THREAD_WAIT_OBJECTS (3) objects need a KWAIT_BLOCK array.
TEST_F(Verifier, MAXIMUM_WAIT_OBJECTS_EXCEEDED_FourObjectsWithoutWaitBlocks) {
    BOOL ok = FALSE;
    VerifierReport r = one_report("MAXIMUM_WAIT_OBJECTS_EXCEEDED", buggy::IOCTL_WAIT_FOUR_WITHOUT_BLOCKS, &ok);
    EXPECT_TRUE(ok) << "the wait itself was satisfied";
    EXPECT_EQ(r.bugcheck, "MAXIMUM_WAIT_OBJECTS_EXCEEDED");
    expect_driver(r);
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("(KeWaitForMultipleObjects)"), std::string::npos) << r.text;
}

// S-KE-19: every ExReleaseResourceLite pairs with an acquisition by the same thread.
TEST_F(Verifier, RESOURCE_NOT_OWNED_ReleasingAResourceNotHeld_S_KE_19) {
    VerifierReport r = one_report("RESOURCE_NOT_OWNED", buggy::IOCTL_RELEASE_RESOURCE_NOT_OWNED);
    EXPECT_EQ(r.bugcheck, "RESOURCE_NOT_OWNED");
    expect_driver(r);
    EXPECT_NE(r.message.find("ExReleaseResourceLite"), std::string::npos) << r.text;
}

// S-KE-19: an ERESOURCE is acquired inside a critical region (or at APC_LEVEL).
TEST_F(Verifier, ResourceMisuse_AcquiringOutsideACriticalRegion_S_KE_19) {
    VerifierReport r = one_report("ResourceMisuse", buggy::IOCTL_RESOURCE_OUTSIDE_REGION);
    expect_driver(r);
    EXPECT_NE(r.message.find("ExAcquireResourceExclusiveLite outside a critical region"), std::string::npos) << r.text;
}

// S-PL-4: a push lock too is acquired inside a critical region (or at APC_LEVEL).
TEST_F(Verifier, PushLockMisuse_AcquiringOutsideACriticalRegion_S_PL_4) {
    VerifierReport r = one_report("PushLockMisuse", buggy::IOCTL_PUSH_LOCK_OUTSIDE_REGION);
    expect_driver(r);
    EXPECT_NE(r.message.find("ExAcquirePushLockExclusiveEx outside a critical region"), std::string::npos) << r.text;
}

// S-KE-12's interval is required.
TEST_F(Verifier, InvalidParameter_DelayWithANullInterval) {
    VerifierReport r = one_report("InvalidParameter", buggy::IOCTL_DELAY_NULL_INTERVAL);
    expect_driver(r);
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("(KeDelayExecutionThread)"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("NULL interval"), std::string::npos) << r.text;
}

TEST_F(Verifier, AssertionFailed_AssertingInputTheCallerDidNotSend) {
    VerifierReport r = one_report("AssertionFailed", buggy::IOCTL_ASSERT_INPUT);
    expect_driver(r);
    expect_site_in_driver(r);
    EXPECT_NE(r.text.find("(ASSERT)"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("ASSERT(sl->Parameters.DeviceIoControl.InputBufferLength >= sizeof(ULONG)) failed at "),
              std::string::npos)
        << r.text;
}

// ---- memory: pool and MDLs ------------------------------------------------------------------

TEST_F(Verifier, BAD_POOL_CALLER_FreeingNull) {
    VerifierReport r = one_report("BAD_POOL_CALLER", buggy::IOCTL_FREE_NULL);
    EXPECT_EQ(r.bugcheck, "BAD_POOL_CALLER");
    expect_driver(r);
    EXPECT_NE(r.message.find("ExFreePoolWithTag(NULL)"), std::string::npos) << r.text;
}

TEST_F(Verifier, BAD_POOL_CALLER_FreeingTheSameBlockTwice) {
    VerifierReport r = one_report("BAD_POOL_CALLER", buggy::IOCTL_FREE_TWICE);
    EXPECT_EQ(r.bugcheck, "BAD_POOL_CALLER");
    expect_driver(r);
    EXPECT_NE(r.message.find("double free of pool tagged 'BgA1' (24 bytes)"), std::string::npos) << r.text;
    // The pool's books saw one allocation and one free: nothing of 'BgA1' is left.
    for (const ntio::PoolTagUsage& u : sys.pool_usage()) EXPECT_NE(u.tag_text, "BgA1") << u.allocations;
}

TEST_F(Verifier, PoolTagMismatch_FreeingWithAnotherTag) {
    VerifierReport r = one_report("PoolTagMismatch", buggy::IOCTL_FREE_WRONG_TAG);
    EXPECT_TRUE(r.warning);
    expect_driver(r);
    EXPECT_NE(r.message.find("freed with tag 'BgB1' but allocated with 'BgA1'"), std::string::npos) << r.text;
}

// POOL_FLAG_RAISE_ON_FAILURE: Windows raises instead of returning NULL; ntio returns NULL
// and reports (fault injection never fails such an allocation, so only an impossible
// size does).
TEST_F(Verifier, PoolAllocationRaised_AnAllocationThatMustSucceedFails) {
    BOOL ok = TRUE;
    VerifierReport r = one_report("PoolAllocationRaised", buggy::IOCTL_ALLOCATE_MUST_SUCCEED, &ok);
    EXPECT_FALSE(ok) << "the driver saw NULL";
    expect_driver(r);
    EXPECT_NE(r.message.find("POOL_FLAG_RAISE_ON_FAILURE"), std::string::npos) << r.text;
}

// S-BLD-1: locked pages are unlocked (MmUnlockPages) before the MDL is freed.
TEST_F(Verifier, MdlMisuse_FreeingAnMdlWithItsPagesLocked_S_BLD_1) {
    VerifierReport r = one_report("MdlMisuse", buggy::IOCTL_FREE_LOCKED_MDL);
    expect_driver(r);
    EXPECT_NE(r.message.find("on an MDL whose pages are still locked"), std::string::npos) << r.text;
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

// S-DQ-8: StartIo that completes its IRP and calls IoStartNextPacket re-enters itself for
// the next queued request. The first request is held, two more queue behind it; finishing
// the first from outside starts the second, whose StartIo starts the third inside it.
TEST_F(Verifier, StartIoRecursion_IoStartNextPacketInsideStartIo_S_DQ_8) {
    HANDLE q = open_device(buggy::kStartIoWin32Name, true);
    ASSERT_NE(q, INVALID_HANDLE_VALUE);
    auto e = verifier.expect("StartIoRecursion");
    OVERLAPPED ov[3] = {};
    DWORD n;
    const ULONG codes[3] = {buggy::IOCTL_HOLD, buggy::IOCTL_OK, buggy::IOCTL_OK};
    for (int i = 0; i < 3; ++i) {
        ov[i].hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        EXPECT_FALSE(DeviceIoControl(q, codes[i], nullptr, 0, nullptr, 0, &n, &ov[i]));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    }
    EXPECT_TRUE(e.reports().empty()) << "one StartIo at a time so far";
    EXPECT_TRUE(buggy::finish_held_startio());
    for (auto& o : ov) {
        EXPECT_EQ(WaitForSingleObject(o.hEvent, 0), WAIT_OBJECT_0);
        CloseHandle(o.hEvent);
    }
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    EXPECT_TRUE(r.warning);
    expect_object(r, "\\Device\\BuggyStartIo");
    EXPECT_NE(r.message.find("IoSetStartIoAttributes"), std::string::npos) << "says what to do:\n" << r.text;
    CloseHandle(q);
}

// ---- device objects, stacks, device queues, remove locks ---------------------------------

// S-IRP-4: IoDetachDevice takes the device something is attached to.
TEST_F(Verifier, DeviceStackMisuse_DetachingADeviceWithNothingAttached_S_IRP_4) {
    VerifierReport r = one_report("DeviceStackMisuse", buggy::IOCTL_DETACH_NOTHING);
    EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_IOMANAGER_VIOLATION");
    expect_object(r, "\\Device\\BuggyLower", false);
    EXPECT_NE(r.message.find("IoDetachDevice(\\Device\\BuggyLower): nothing is attached to it"), std::string::npos)
        << r.text;
}

// S-PNP-3's order: the upper device detaches before the lower one is deleted.
TEST_F(Verifier, DeleteDeviceWithUpperAttached_DeletingTheBottomOfAStackFirst_S_PNP_3) {
    BOOL ok = FALSE;
    VerifierReport r = one_report("DeleteDeviceWithUpperAttached", buggy::IOCTL_DELETE_UNDER_UPPER, &ok);
    EXPECT_TRUE(ok) << "the driver's stack was built and taken down";
    EXPECT_TRUE(r.warning);
    expect_object(r, "\\Device\\BuggyBottom", false);
}

// S-DQ-3: KeRemoveDeviceQueue on a queue that is not busy.
TEST_F(Verifier, DEVICE_QUEUE_NOT_BUSY_RemovingFromAnIdleQueue_S_DQ_3) {
    VerifierReport r = one_report("DEVICE_QUEUE_NOT_BUSY", buggy::IOCTL_REMOVE_IDLE_QUEUE);
    EXPECT_EQ(r.bugcheck, "DEVICE_QUEUE_NOT_BUSY");
    expect_driver(r);
    EXPECT_NE(r.message.find("KeRemoveDeviceQueue on a device queue that is not busy"), std::string::npos) << r.text;
}

// S-RL-2: each successful IoAcquireRemoveLock is released once.
TEST_F(Verifier, RemoveLockMisuse_ReleasingOnceMoreThanAcquired_S_RL_2) {
    VerifierReport r = one_report("RemoveLockMisuse", buggy::IOCTL_RELEASE_REMOVE_LOCK_TWICE);
    EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_IOMANAGER_VIOLATION");
    expect_driver(r);
    EXPECT_NE(r.message.find("without a matching IoAcquireRemoveLock"), std::string::npos) << r.text;
    // The lock's count was kept usable: the same mistake again is one report again, on the same lock.
    std::string lock = r.message.substr(0, r.message.find(", tag"));
    EXPECT_EQ(one_report("RemoveLockMisuse", buggy::IOCTL_RELEASE_REMOVE_LOCK_TWICE).message.rfind(lock, 0), 0u)
        << lock;
}

// ---- Plug and Play, and a driver without StartIo (buggy_pnp_driver.cpp) ---------------------

constexpr const char* kPnpDriver = "\\Driver\\buggypnp";

class VerifierPnp : public ntio::testing::DriverTest {
protected:
    int32_t load(const buggy_pnp::Config& c) {
        buggy_pnp::reset();
        buggy_pnp::config() = c;
        return sys.load_driver("buggypnp", reinterpret_cast<ntio::System::DriverEntryFunction>(&buggy_pnp::DriverEntry),
                               1);
    }
    static void expect_pnp_object(const VerifierReport& r, const std::string& device) {
        EXPECT_EQ(r.driver, kPnpDriver) << r.text;
        EXPECT_EQ(r.device, device) << r.text;
        EXPECT_NE(r.text.find("NTIO_VERIFIER_CHECKS=" + r.check + "=off"), std::string::npos) << r.text;
    }
};

TEST_F(VerifierPnp, PnpNoFunctionDevice_AddDeviceAttachesNothing) {
    auto e = verifier.expect("PnpNoFunctionDevice");
    ASSERT_EQ(load({.no_fdo = true}), STATUS_SUCCESS);
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    EXPECT_TRUE(r.warning);
    EXPECT_EQ(r.driver, kPnpDriver) << "the driver whose AddDevice ran, not the PDO's:\n" << r.text;
    EXPECT_EQ(r.device.rfind("\\Device\\", 0), 0u) << "the PDO:\n" << r.text;
    EXPECT_NE(r.message.find(buggy_pnp::kInstance), std::string::npos) << r.text;
}

// S-W32-12: until AddDevice clears DO_DEVICE_INITIALIZING nothing opens or attaches.
TEST_F(VerifierPnp, PnpDeviceStillInitializing_AddDeviceLeavesTheFlag_S_W32_12) {
    auto e = verifier.expect("PnpDeviceStillInitializing");
    ASSERT_EQ(load({.leave_initializing = true}), STATUS_SUCCESS);
    ASSERT_EQ(e.reports().size(), 1u);
    EXPECT_TRUE(e.reports()[0].warning);
    expect_pnp_object(e.reports()[0], "\\Device\\BuggyPnp");
}

// Interfaces are registered on the PDO AddDevice received.
TEST_F(VerifierPnp, PNP_DETECTED_FATAL_ERROR_RegisteringAnInterfaceOnItsOwnFdo) {
    auto e = verifier.expect("PNP_DETECTED_FATAL_ERROR");
    ASSERT_EQ(load({.interface_on_fdo = true}), STATUS_SUCCESS);
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    EXPECT_EQ(r.bugcheck, "PNP_DETECTED_FATAL_ERROR");
    expect_pnp_object(r, "\\Device\\BuggyPnp");
    EXPECT_NE(r.message.find("IoRegisterDeviceInterface on \\Device\\BuggyPnp, which is not a PDO"), std::string::npos)
        << r.text;
}

// S-PNP-3: IRP_MN_REMOVE_DEVICE detaches and deletes the device. ntio detaches it; the
// driver's DriverUnload deletes it once its last device is gone.
TEST_F(VerifierPnp, PnpDeviceLeftAttached_RemoveThatNeitherDetachesNorDeletes_S_PNP_3) {
    ASSERT_EQ(load({.remove_forgets_fdo = true}), STATUS_SUCCESS);
    auto e = verifier.expect("PnpDeviceLeftAttached");
    EXPECT_EQ(sys.remove_device(buggy_pnp::kInstance), STATUS_SUCCESS);
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    expect_pnp_object(r, "\\Device\\BuggyPnp");
    EXPECT_NE(r.message.find("after IRP_MN_REMOVE_DEVICE for " + std::string(buggy_pnp::kInstance)), std::string::npos)
        << r.text;
    EXPECT_TRUE(buggy_pnp::unloaded());
    EXPECT_EQ(buggy_pnp::fdo(), nullptr);
}

// S-DQ-5: IoStartPacket calls the driver's StartIo; this driver never set one.
TEST_F(VerifierPnp, NoStartIoRoutine_IoStartPacketWithoutDriverStartIo_S_DQ_5) {
    ASSERT_EQ(load({}), STATUS_SUCCESS);
    PDEVICE_OBJECT fdo = buggy_pnp::fdo();
    ASSERT_NE(fdo, nullptr);
    auto e = verifier.expect("NoStartIoRoutine");
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    PIRP irp = IoBuildDeviceIoControlRequest(buggy_pnp::IOCTL_START_PACKET, fdo, nullptr, 0, nullptr, 0, FALSE, &done,
                                             &iosb);
    ASSERT_NE(irp, nullptr);
    if (IoCallDriver(fdo, irp) == STATUS_PENDING) KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    EXPECT_EQ(iosb.Status, STATUS_SUCCESS) << "the dispatch routine finished what StartIo would have";
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_IOMANAGER_VIOLATION");
    expect_pnp_object(r, "\\Device\\BuggyPnp");
    EXPECT_NE(r.irp, 0u) << r.text;
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

// S-VER-EX-1: lookaside lists (the classic ones and a LOOKASIDE_LIST_EX, S-EX-11) and an
// ERESOURCE that DriverEntry initialized and DriverUnload did not delete. Each is reported
// once, saying where it lives, and deleted: the lists' kept blocks go back to pool, so
// PoolLeftAtUnload has nothing of theirs to report.
bool pool_has_tag(ntio::System& sys, ULONG tag) {
    for (const ntio::PoolTagUsage& u : sys.pool_usage())
        if (u.tag == tag) return true;
    return false;
}

struct LeavesLookasides : Verifier {
    void configure(buggy::Config& c) override { c.leave_lookasides = true; }
};

TEST_F(LeavesLookasides, LookasideLeftAtUnload_BothListsAreReportedWhereTheyLiveAndDeleted_S_VER_EX_1) {
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    ASSERT_TRUE(pool_has_tag(sys, buggy::kPoolTagNpagedList)) << "the list keeps the block it took back";
    auto e = verifier.expect("LookasideLeftAtUnload");
    ASSERT_TRUE(sys.unload_driver("buggy"));
    std::vector<VerifierReport> reports = e.reports();
    ASSERT_EQ(reports.size(), 3u);
    const VerifierReport* npaged = nullptr;
    const VerifierReport* paged = nullptr;
    const VerifierReport* ex = nullptr;
    for (const VerifierReport& r : reports) {
        EXPECT_EQ(r.bugcheck, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS") << r.text;
        EXPECT_EQ(r.driver, kDriver) << r.text;
        (r.message.find("LOOKASIDE_LIST_EX") != std::string::npos           ? ex
         : r.message.find("nonpaged lookaside list") != std::string::npos ? npaged
                                                                          : paged) = &r;
    }
    ASSERT_TRUE(npaged && paged && ex);
    EXPECT_NE(npaged->message.find("driver \\Driver\\buggy unloaded without deleting the nonpaged lookaside list at "),
              std::string::npos)
        << npaged->text;
    EXPECT_NE(npaged->message.find("(tag 'BgN1', 40-byte entries), a global of "), std::string::npos)
        << "a global of the image (this test program):\n" << npaged->text;
    EXPECT_NE(npaged->message.find("ExDeleteNPagedLookasideList it in DriverUnload. ntio deletes it"),
              std::string::npos)
        << npaged->text;
    EXPECT_NE(paged->message.find("the paged lookaside list at "), std::string::npos) << paged->text;
    EXPECT_NE(paged->message.find("(tag 'BgP1', 56-byte entries), in memory it allocated"), std::string::npos)
        << paged->text;
    EXPECT_NE(paged->message.find("ExDeletePagedLookasideList it in DriverUnload"), std::string::npos) << paged->text;
    EXPECT_NE(ex->message.find("the paged lookaside list (LOOKASIDE_LIST_EX) at "), std::string::npos) << ex->text;
    EXPECT_NE(ex->message.find("(tag 'BgX1', 72-byte entries), in memory it allocated"), std::string::npos)
        << ex->text;
    EXPECT_NE(ex->message.find("ExDeleteLookasideListEx it in DriverUnload. ntio deletes it"), std::string::npos)
        << ex->text;
    EXPECT_FALSE(pool_has_tag(sys, buggy::kPoolTagNpagedList)) << "deleted: its kept block went back to pool";
    EXPECT_FALSE(pool_has_tag(sys, buggy::kPoolTagPagedList));
    EXPECT_FALSE(pool_has_tag(sys, buggy::kPoolTagExList));
}

struct LeavesResource : Verifier {
    void configure(buggy::Config& c) override { c.leave_resource = true; }
};

TEST_F(LeavesResource, ResourceLeftAtUnload_TheUndeletedResourceIsReportedAndDeleted_S_VER_EX_1) {
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    auto e = verifier.expect("ResourceLeftAtUnload");
    ASSERT_TRUE(sys.unload_driver("buggy"));
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    EXPECT_EQ(r.bugcheck, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
    EXPECT_EQ(r.driver, kDriver);
    EXPECT_NE(r.message.find("driver \\Driver\\buggy unloaded without deleting the ERESOURCE at "), std::string::npos)
        << r.text;
    EXPECT_NE(r.message.find("ExDeleteResourceLite it in DriverUnload. ntio deletes it"), std::string::npos) << r.text;
}

// S-VER-EX-1: the same driver deleting everything it initialized is not reported.
TEST_F(Verifier, DeletedListsAndResourcesLeaveNothingToReportAtUnload_S_VER_EX_1) {
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    ASSERT_TRUE(sys.unload_driver("buggy"));
    EXPECT_TRUE(verifier.reports().empty());
}

// S-VER-EX-2: pool freed with an initialized ERESOURCE and lookaside lists inside (a
// classic one and a LOOKASIDE_LIST_EX, S-EX-11): each reported at the free, and deleted
// before the memory goes (nothing left for the unload). The block is cache-aligned pool
// (S-POOL-1), as the classic list's type asks.
TEST_F(Verifier, ResourceOrLookasideInFreedMemory_PoolFreedWithAResourceAndAListInside_S_VER_EX_2) {
    auto e = verifier.expect("ResourceOrLookasideInFreedMemory");
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_FREE_POOL_WITH_OBJECTS));
    ASSERT_EQ(e.reports().size(), 3u);
    bool resource = false, list = false, ex_list = false;
    for (const VerifierReport& r : e.reports()) {
        EXPECT_EQ(r.bugcheck, "DRIVER_VERIFIER_DETECTED_VIOLATION") << r.text;
        expect_driver(r);
        EXPECT_EQ(r.message.find("ExFreePoolWithTag frees "), 0u) << r.text;
        EXPECT_NE(r.message.find("initialized by \\Driver\\buggy and not deleted"), std::string::npos) << r.text;
        resource = resource || r.message.find("with the ERESOURCE at ") != std::string::npos;
        list = list || r.message.find("the nonpaged lookaside list at ") != std::string::npos;
        if (r.message.find("the nonpaged lookaside list at ") != std::string::npos) {
            EXPECT_NE(r.message.find("(tag 'BgO1', 32-byte entries)"), std::string::npos) << r.text;
        }
        if (r.message.find("LOOKASIDE_LIST_EX") != std::string::npos) {
            ex_list = true;
            EXPECT_NE(r.message.find("the nonpaged lookaside list (LOOKASIDE_LIST_EX) at "), std::string::npos)
                << r.text;
            EXPECT_NE(r.message.find("(tag 'BgO1', 24-byte entries)"), std::string::npos) << r.text;
            EXPECT_NE(r.message.find("ExDeleteLookasideListEx it before the free. ntio deletes it"), std::string::npos)
                << r.text;
        }
    }
    EXPECT_TRUE(resource && list && ex_list);
    EXPECT_FALSE(pool_has_tag(sys, buggy::kPoolTagObjects)) << "the block, and the block the list kept, are freed";
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    auto lists = verifier.expect("LookasideLeftAtUnload");
    auto resources = verifier.expect("ResourceLeftAtUnload");
    EXPECT_TRUE(sys.unload_driver("buggy"));
    EXPECT_TRUE(lists.reports().empty() && resources.reports().empty()) << "no longer listed: nothing at unload";
}

TEST_F(Verifier, ResourceOrLookasideInFreedMemory_DeviceDeletedWithAListInItsExtension_S_VER_EX_2) {
    auto e = verifier.expect("ResourceOrLookasideInFreedMemory");
    EXPECT_TRUE(ioctl(h, buggy::IOCTL_DELETE_DEVICE_WITH_LIST));
    ASSERT_EQ(e.reports().size(), 1u);
    VerifierReport r = e.reports()[0];
    expect_driver(r);
    EXPECT_EQ(r.message.find("deleting a device (its extension) frees "), 0u) << r.text;
    EXPECT_NE(r.message.find("the paged lookaside list at "), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("(tag 'BgP1', 48-byte entries)"), std::string::npos) << r.text;
    EXPECT_NE(r.message.find("ExDeletePagedLookasideList it before the free. ntio deletes it"), std::string::npos)
        << r.text;
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

// The acceptance itself: every check of checks.def has a test here named after it
// (<Check>_<what the driver does>), except the unload checks, which one test shares.
TEST(VerifierSettings, EveryCheckHasATestThatProvokesIt) {
    const std::map<std::string, std::string> shared = {
        {"DeviceLeftAtUnload", "LeavesBehind.DeviceLinkThreadPoolAndIrpLeftAtUnloadAreEachReported"},
        {"SymbolicLinkLeftAtUnload", "LeavesBehind.DeviceLinkThreadPoolAndIrpLeftAtUnloadAreEachReported"},
        {"ThreadLeftAtUnload", "LeavesBehind.DeviceLinkThreadPoolAndIrpLeftAtUnloadAreEachReported"},
        {"PoolLeftAtUnload", "LeavesBehind.DeviceLinkThreadPoolAndIrpLeftAtUnloadAreEachReported"},
        {"IrpLeftAtUnload", "LeavesBehind.DeviceLinkThreadPoolAndIrpLeftAtUnloadAreEachReported"},
    };
    std::set<std::string> tests;  // "Suite.Name", every test of the program, filtered or not
    const ::testing::UnitTest* unit = ::testing::UnitTest::GetInstance();
    for (int i = 0; i < unit->total_test_suite_count(); ++i) {
        const ::testing::TestSuite* suite = unit->GetTestSuite(i);
        for (int j = 0; j < suite->total_test_count(); ++j)
            tests.insert(std::string(suite->name()) + "." + suite->GetTestInfo(j)->name());
    }
    for (const std::string& check : ntio::verifier_check_names()) {
        auto it = shared.find(check);
        bool found = it != shared.end() && tests.count(it->second);
        for (const std::string& t : tests)
            found = found || t.find("." + check + "_") != std::string::npos;
        EXPECT_TRUE(found) << "no test named " << check << "_... provokes the check " << check;
    }
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

// ---- what a driver module leaves at unload -------------------------------------------

namespace {
class VerifierModules : public ntio::testing::DriverTest {};

// TimerLeftAtUnload (0xCE): tests/c/timer_left_driver.c sets a 100 ms periodic timer with a
// DPC and does not cancel it; the report names the driver and the timer, once, and the
// timer is cancelled: its DPC does not run again, however long the clock then moves.
TEST_F(VerifierModules, TimerLeftAtUnload_APeriodicTimerIsReportedAndCancelled) {
    size_t idle_timers = sys.run_until_idle();
    ASSERT_EQ(sys.load_driver(NTIO_TEST_TIMER_LEFT_DRIVER), STATUS_SUCCESS);
    Sleep(350);  // virtual: three expiries
    EXPECT_EQ(sys.run_until_idle(), idle_timers + 1) << "the driver's periodic timer is set";
    auto left = verifier.expect("TimerLeftAtUnload");
    ASSERT_TRUE(sys.unload_driver("timerleft"));
    ASSERT_EQ(left.reports().size(), 1u);
    EXPECT_EQ(left.reports()[0].bugcheck, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
    EXPECT_EQ(left.reports()[0].driver, "\\Driver\\timerleft");
    EXPECT_NE(left.reports()[0].message.find("the KTIMER at "), std::string::npos) << left.reports()[0].text;
    EXPECT_EQ(sys.run_until_idle(), idle_timers) << "cancelled: it cannot run into the unloaded driver";
    EXPECT_EQ(left.reports().size(), 1u);
}
}  // namespace

namespace {
// tests/c/work_left_driver.c's exports, found in its mapping (the runtime opened it
// RTLD_LOCAL: dlopen with RTLD_NOLOAD gives the same module).
template <typename F>
F* work_left_export(const char* name) {
    void* module = dlopen(NTIO_TEST_WORK_LEFT_DRIVER, RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(module, nullptr) << dlerror();
    auto* f = module ? reinterpret_cast<F*>(dlsym(module, name)) : nullptr;
    EXPECT_NE(f, nullptr) << name;
    if (module) dlclose(module);  // the runtime's reference keeps it mapped
    return f;
}

// A work item of the test program's that blocks until `release` is set.
struct Blocker {
    WORK_QUEUE_ITEM item;
    KEVENT* release;
    std::atomic<int>* done;
};
VOID BlockerRoutine(PVOID p) {
    auto* b = static_cast<Blocker*>(p);
    KeWaitForSingleObject(b->release, Executive, KernelMode, FALSE, nullptr);
    b->done->fetch_add(1);
}

// WorkItemLeftAtUnload (0xCE, S-VER-EX-3/4): the driver's DriverEntry queued two items that
// are running at unload (one returns 300 ms after it started, one waits for the test), and
// DriverUnload queues a third while every worker is busy, so it is still queued. The
// queued one is reported and taken off the queue: it never runs, even once workers are
// free. The running ones are each reported, after ntio waited (1 s of the virtual clock)
// for them: the one that returned meanwhile says so, the other is left running.
TEST_F(VerifierModules, WorkItemLeftAtUnload_QueuedOnesAreRemovedAndRunningOnesWaitedFor) {
    auto left = verifier.expect("WorkItemLeftAtUnload");
    auto callback = verifier.expect("CallbackLeftAtUnload");  // the driver leaves one too
    ASSERT_EQ(sys.load_driver(NTIO_TEST_WORK_LEFT_DRIVER), STATUS_SUCCESS);
    auto late_ran = work_left_export<LONG()>("workleft_late_ran");
    auto release = work_left_export<void()>("workleft_release");
    ASSERT_TRUE(late_ran && release);
    Sleep(50);  // virtual: the driver's two items have started and wait
    // Every worker busy (the pool stops growing at 64 threads, ex/work_queue.hpp): the item
    // DriverUnload queues cannot start before the check looks at the queue.
    KEVENT free_workers;
    KeInitializeEvent(&free_workers, NotificationEvent, FALSE);
    std::atomic<int> done{0};
    std::vector<Blocker> blockers(64);
    for (Blocker& b : blockers) {
        b.release = &free_workers;
        b.done = &done;
        ExInitializeWorkItem(&b.item, BlockerRoutine, &b);
        ExQueueWorkItem(&b.item, DelayedWorkQueue);
    }
    Sleep(10);  // virtual: the workers have taken the blockers
    ASSERT_TRUE(sys.unload_driver("workleft"));
    ASSERT_EQ(left.reports().size(), 3u);
    std::string queued = left.reports()[0].message, returned = left.reports()[1].message,
                running = left.reports()[2].message;
    if (returned.find("returned within") == std::string::npos) std::swap(returned, running);
    EXPECT_NE(queued.find("still queued"), std::string::npos) << queued;
    EXPECT_NE(queued.find("ntio takes it off the queue"), std::string::npos) << queued;
    EXPECT_NE(returned.find("ntio waited for it: it returned within 2"), std::string::npos)
        << "300 ms after it started, 50 + 10 ms before the unload: " << returned;
    EXPECT_NE(running.find("still running 1000 ms later"), std::string::npos) << running;
    for (const auto& r : left.reports()) {
        EXPECT_EQ(r.bugcheck, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
        EXPECT_EQ(r.driver, "\\Driver\\workleft");
    }
    release();  // the item left running returns
    KeSetEvent(&free_workers, IO_NO_INCREMENT, FALSE);
    while (done.load() < 64) Sleep(1);
    Sleep(100);  // virtual: any item still queued has had its turn
    EXPECT_EQ(late_ran(), 0) << "the item queued at unload was taken off the queue";
    EXPECT_EQ(left.reports().size(), 3u);
}

// CallbackLeftAtUnload (0xCE, S-VER-EX-5): the driver registered a routine on
// \Callback\WorkLeftTest and unloads without ExUnregisterCallback. Reported once, naming
// the object, and unregistered: ExNotifyCallback no longer calls the unloaded driver.
TEST_F(VerifierModules, CallbackLeftAtUnload_IsReportedAndUnregistered) {
    auto left = verifier.expect("CallbackLeftAtUnload");
    auto work = verifier.expect("WorkItemLeftAtUnload");  // the driver leaves work items too
    ASSERT_EQ(sys.load_driver(NTIO_TEST_WORK_LEFT_DRIVER), STATUS_SUCCESS);
    auto notified = work_left_export<LONG()>("workleft_notified");
    auto release = work_left_export<void()>("workleft_release");
    ASSERT_TRUE(notified && release);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Callback\\WorkLeftTest");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE, nullptr, nullptr);
    PCALLBACK_OBJECT object = nullptr;
    ASSERT_EQ(ExCreateCallback(&object, &oa, FALSE, TRUE), STATUS_SUCCESS);
    ExNotifyCallback(object, nullptr, nullptr);
    EXPECT_EQ(notified(), 1);
    ASSERT_TRUE(sys.unload_driver("workleft"));
    const auto reports = left.reports();  // a copy: the element must outlive the statement
    ASSERT_EQ(reports.size(), 1u);
    const auto& r = reports[0];
    EXPECT_EQ(r.bugcheck, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS");
    EXPECT_EQ(r.driver, "\\Driver\\workleft");
    EXPECT_NE(r.message.find("on the callback object \\Callback\\WorkLeftTest"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("ntio unregisters it"), std::string::npos) << r.message;
    ExNotifyCallback(object, nullptr, nullptr);
    EXPECT_EQ(notified(), 1) << "unregistered: the unloaded driver is not called";
    ObDereferenceObject(object);
    // The registration's reference went with it: with ours gone, so has the object.
    EXPECT_EQ(ExCreateCallback(&object, &oa, FALSE, TRUE), STATUS_OBJECT_NAME_NOT_FOUND);
    release();
}
}  // namespace

namespace {
// NullDispatchRoutine: a DriverEntry that sets MajorFunction entries to NULL. Both are
// reported at load and given back the invalid-request routine, so a request of that
// kind fails with ERROR_INVALID_FUNCTION instead of calling address 0.
NTSTATUS NullCreateClose(PDEVICE_OBJECT, PIRP irp) {
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}
VOID NullUnload(PDRIVER_OBJECT driver) {
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\NullDispatch");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(driver->DeviceObject);
}
NTSTATUS NullDispatchEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\NullDispatch");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\NullDispatch");
    PDEVICE_OBJECT dev;
    NTSTATUS s = IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(s)) return s;
    IoCreateSymbolicLink(&link, &name);
    driver->MajorFunction[IRP_MJ_CREATE] = NullCreateClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = NullCreateClose;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = nullptr;
    driver->MajorFunction[IRP_MJ_CLEANUP] = nullptr;
    driver->DriverUnload = NullUnload;
    return STATUS_SUCCESS;
}

TEST_F(VerifierModules, NullDispatchRoutine_EntriesLeftNullAreReportedAndRefuseTheirRequests) {
    auto null_entries = verifier.expect("NullDispatchRoutine");
    ASSERT_EQ(sys.load_driver("nulldispatch", reinterpret_cast<ntio::System::DriverEntryFunction>(&NullDispatchEntry)),
              STATUS_SUCCESS);
    ASSERT_EQ(null_entries.reports().size(), 2u);
    EXPECT_NE(null_entries.reports()[0].message.find("MajorFunction[0xe] (IRP_MJ_DEVICE_CONTROL)"), std::string::npos)
        << null_entries.reports()[0].text;
    EXPECT_NE(null_entries.reports()[1].message.find("MajorFunction[0x12] (IRP_MJ_CLEANUP)"), std::string::npos)
        << null_entries.reports()[1].text;
    HANDLE h = CreateFileW(L"\\\\.\\NullDispatch", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    DWORD got = 7;
    EXPECT_FALSE(DeviceIoControl(h, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS), nullptr, 0,
                                 nullptr, 0, &got, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FUNCTION));
    EXPECT_TRUE(CloseHandle(h)) << "IRP_MJ_CLEANUP refused, the close goes on";
    EXPECT_TRUE(sys.unload_driver("nulldispatch"));
}
}  // namespace

namespace {
// REFERENCE_BY_POINTER (0x18): one ObDereferenceObject too many while a handle is open.
// Reported at the dereference that reaches zero; the object stays alive for the handle,
// which still works, and the close frees it (no leak, no use after free under ASan).
TEST_F(VerifierModules, REFERENCE_BY_POINTER_OneDereferenceTooManyWithAHandleOpen) {
    HANDLE h = nullptr;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    PVOID event = nullptr;
    ASSERT_EQ(ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, *ExEventObjectType, KernelMode, &event, nullptr),
              STATUS_SUCCESS);
    ObDereferenceObject(event);  // the reference it took
    auto too_many = verifier.expect("REFERENCE_BY_POINTER");
    ObDereferenceObject(event);  // one more: the handle's
    ASSERT_EQ(too_many.reports().size(), 1u);
    EXPECT_EQ(too_many.reports()[0].bugcheck, "REFERENCE_BY_POINTER");
    EXPECT_NE(too_many.reports()[0].message.find("1 handle(s) to it still open"), std::string::npos)
        << too_many.reports()[0].text;
    EXPECT_EQ(ZwSetEvent(h, nullptr), STATUS_SUCCESS) << "the object is still alive behind its handle";
    EXPECT_EQ(ZwWaitForSingleObject(h, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
}
}  // namespace

namespace {
// INVALID_KERNEL_HANDLE (0x93): kernel-mode code closing a handle protected from close
// (S-OBH-3). Windows stops; ntio reports it and the handle stays open, as a user-mode
// close leaves it, until its protection is cleared.
TEST_F(VerifierModules, INVALID_KERNEL_HANDLE_ZwCloseOfAProtectedHandle) {
    HANDLE h = nullptr;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    OBJECT_HANDLE_FLAG_INFORMATION protect = {FALSE, TRUE};
    ASSERT_EQ(ObSetHandleAttributes(h, &protect, KernelMode), STATUS_SUCCESS);
    auto report = verifier.expect("INVALID_KERNEL_HANDLE");
    EXPECT_EQ(ZwClose(h), STATUS_HANDLE_NOT_CLOSABLE);
    ASSERT_EQ(report.reports().size(), 1u);
    EXPECT_EQ(report.reports()[0].bugcheck, "INVALID_KERNEL_HANDLE");
    EXPECT_NE(report.reports()[0].message.find("protected from close"), std::string::npos) << report.reports()[0].text;
    EXPECT_EQ(ZwSetEvent(h, nullptr), STATUS_SUCCESS) << "the handle is still open";
    protect.ProtectFromClose = FALSE;
    ASSERT_EQ(ObSetHandleAttributes(h, &protect, KernelMode), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
    EXPECT_EQ(report.reports().size(), 1u) << "an unprotected close reports nothing";
}
}  // namespace

namespace {
// TIMER_OR_DPC_INVALID (0xC7): memory freed with a KTIMER still set, or a KDPC still
// queued, inside it. Reported at the free and cancelled, so the timer does not fire from
// freed memory (the routine never runs; no expiry is left).
struct ArmedBlock {
    KTIMER timer;
    KDPC dpc;
};
std::atomic<int> g_freed_dpc_ran{0};
VOID FreedDpc(PKDPC, PVOID, PVOID, PVOID) { ++g_freed_dpc_ran; }

TEST_F(VerifierModules, TIMER_OR_DPC_INVALID_PoolFreedWithItsTimerSet) {
    size_t idle_timers = sys.run_until_idle();
    auto* block = static_cast<ArmedBlock*>(ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(ArmedBlock), 'dmrA'));
    ASSERT_NE(block, nullptr);
    KeInitializeTimer(&block->timer);
    KeInitializeDpc(&block->dpc, FreedDpc, nullptr);
    LARGE_INTEGER due;
    due.QuadPart = -1000 * 10000LL;
    KeSetTimer(&block->timer, due, &block->dpc);
    g_freed_dpc_ran = 0;
    auto invalid = verifier.expect("TIMER_OR_DPC_INVALID");
    ExFreePoolWithTag(block, 'dmrA');
    ASSERT_EQ(invalid.reports().size(), 1u);
    EXPECT_EQ(invalid.reports()[0].bugcheck, "TIMER_OR_DPC_INVALID");
    EXPECT_NE(invalid.reports()[0].message.find("is still set"), std::string::npos) << invalid.reports()[0].text;
    EXPECT_EQ(sys.run_until_idle(), idle_timers) << "cancelled: nothing left to fire";
    Sleep(2000);
    EXPECT_EQ(g_freed_dpc_ran, 0);
}

struct Extension {
    KTIMER timer;
    KDPC dpc;
};
NTSTATUS DeleteWithTimerEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    PDEVICE_OBJECT dev = nullptr;
    NTSTATUS s = IoCreateDevice(driver, sizeof(Extension), nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(s)) return s;
    auto* ext = static_cast<Extension*>(dev->DeviceExtension);
    KeInitializeTimer(&ext->timer);
    KeInitializeDpc(&ext->dpc, FreedDpc, nullptr);
    LARGE_INTEGER due;
    due.QuadPart = -500 * 10000LL;
    KeSetTimerEx(&ext->timer, due, 100, &ext->dpc);
    IoDeleteDevice(dev);  // the timer in its extension is still set
    return STATUS_SUCCESS;
}

TEST_F(VerifierModules, TIMER_OR_DPC_INVALID_DeviceDeletedWithATimerInItsExtension) {
    g_freed_dpc_ran = 0;
    auto invalid = verifier.expect("TIMER_OR_DPC_INVALID");
    ASSERT_EQ(sys.load_driver("deltimer", reinterpret_cast<ntio::System::DriverEntryFunction>(&DeleteWithTimerEntry)),
              STATUS_SUCCESS);
    ASSERT_EQ(invalid.reports().size(), 1u);
    EXPECT_NE(invalid.reports()[0].message.find("deleting a device (its extension)"), std::string::npos)
        << invalid.reports()[0].text;
    Sleep(1000);
    EXPECT_EQ(g_freed_dpc_ran, 0);
    EXPECT_TRUE(sys.unload_driver("deltimer"));
}
}  // namespace
