// Driver runtime routines outside the I/O model proper (docs/design.md, "Driver runtime
// odds and ends", S-DRT-1..5): DPC importance and target processor, the requestor's
// process, the driver runtime's NX opt-in and ExFreePool2, calendar time, the version.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "ntio/gtest.hpp"
#include "wdm.h"
#include "windows.h"

namespace {

class DriverRuntime : public ntio::testing::DriverTest {};

struct Order {
    std::vector<int> ran;
    std::atomic<bool> release{false}, running{false};
    ULONG processor = 0xffffffff;
};
struct Entry {
    Order* order;
    int id;
};

VOID Record(PKDPC, PVOID ctx, PVOID, PVOID) {
    auto* e = static_cast<Entry*>(ctx);
    e->order->ran.push_back(e->id);
    e->order->processor = KeGetCurrentProcessorNumber();
}
VOID Hold(PKDPC, PVOID ctx, PVOID, PVOID) {
    auto* o = static_cast<Order*>(ctx);
    o->running = true;
    while (!o->release) std::this_thread::yield();
}

// S-DRT-1: a HighImportance DPC goes to the head of the queue, the others to its tail.
TEST_F(DriverRuntime, S_DRT_1_HighImportanceDpcsJumpTheQueue) {
    Order order;
    KDPC hold, low, medium, high;
    Entry e_low{&order, 1}, e_medium{&order, 2}, e_high{&order, 3};
    KeInitializeDpc(&hold, Hold, &order);
    KeInitializeDpc(&low, Record, &e_low);
    KeInitializeDpc(&medium, Record, &e_medium);
    KeInitializeDpc(&high, Record, &e_high);
    KeSetImportanceDpc(&low, LowImportance);
    KeSetImportanceDpc(&high, HighImportance);
    EXPECT_EQ(high.Importance, HighImportance);
    ASSERT_TRUE(KeInsertQueueDpc(&hold, nullptr, nullptr));  // keeps the DPC thread busy
    while (!order.running) std::this_thread::yield();
    KeInsertQueueDpc(&low, nullptr, nullptr);
    KeInsertQueueDpc(&medium, nullptr, nullptr);
    KeInsertQueueDpc(&high, nullptr, nullptr);
    order.release = true;
    KeFlushQueuedDpcs();
    EXPECT_EQ(order.ran, (std::vector<int>{3, 1, 2}));
    EXPECT_DRIVER_BUG("InvalidParameter", KeSetImportanceDpc(&low, static_cast<KDPC_IMPORTANCE>(7)));
    EXPECT_EQ(low.Importance, LowImportance) << "a bad importance changes nothing";
}

// S-DRT-1: a targeted DPC reads its target as the current processor while it runs.
TEST_F(DriverRuntime, S_DRT_1_TargetedDpcRunsAsItsProcessor) {
    ULONG count = KeQueryActiveProcessorCount(nullptr);
    ASSERT_GE(count, 1u);
    EXPECT_EQ(KeQueryActiveProcessorCountEx(0), count);
    EXPECT_EQ(KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS), count);
    EXPECT_EQ(KeQueryActiveProcessorCountEx(1), 0u) << "one processor group";
    Order order;
    Entry e{&order, 1};
    KDPC dpc;
    KeInitializeDpc(&dpc, Record, &e);
    KeSetTargetProcessorDpc(&dpc, static_cast<CCHAR>(count - 1));
    KeInsertQueueDpc(&dpc, nullptr, nullptr);
    KeFlushQueuedDpcs();
    EXPECT_EQ(order.processor, count - 1);
    KeSetTargetProcessorDpc(&dpc, 0);  // and the other end, so a host processor cannot pass for both
    KeInsertQueueDpc(&dpc, nullptr, nullptr);
    KeFlushQueuedDpcs();
    EXPECT_EQ(order.processor, 0u);
    EXPECT_DRIVER_BUG("InvalidParameter", KeSetTargetProcessorDpc(&dpc, static_cast<CCHAR>(count)));
    EXPECT_GE(KeQueryUnbiasedInterruptTime(), 0u);
    EXPECT_LE(KeQueryUnbiasedInterruptTime(), KeQueryInterruptTime()) << "no sleep: the same clock";
}

// S-DRT-2: the requestor's process is the one process when the IRP has a thread; every
// requestor is 64-bit.
TEST_F(DriverRuntime, S_DRT_2_RequestorProcessAndBitness) {
    PIRP irp = IoAllocateIrp(1, FALSE);
    ASSERT_NE(irp, nullptr);
    EXPECT_EQ(IoGetRequestorProcessId(irp), 0u) << "IoAllocateIrp leaves Thread NULL (S-IRP-1)";
    EXPECT_EQ(IoGetRequestorProcess(irp), nullptr);
    irp->Tail.Overlay.Thread = PsGetCurrentThread();
    EXPECT_EQ(IoGetRequestorProcessId(irp), static_cast<ULONG>(getpid()));
    EXPECT_FALSE(IoIs32bitProcess(irp));
    IoFreeIrp(irp);
    EXPECT_EQ(PsGetProcessId(PsGetCurrentProcess()), PsGetCurrentProcessId());
    EXPECT_EQ(PsGetProcessId(IoGetCurrentProcess()), reinterpret_cast<HANDLE>(static_cast<uintptr_t>(getpid())));
    EXPECT_FALSE(IoIsSystemThread(PsGetCurrentThread())) << "the test's thread is not a system thread";
}

// S-PS-1: a driver that records, for each request, IoGetRequestorProcessId and the
// process its dispatch routine runs in.
struct RequestorSeen {
    ULONG requestor = 0;
    PEPROCESS requestor_process = nullptr;
    ULONG dispatch_pid = 0;
};
RequestorSeen g_requestor;
PDEVICE_OBJECT g_requestor_device = nullptr;

NTSTATUS RecordRequestor(PDEVICE_OBJECT, PIRP Irp) {
    if (IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        g_requestor.requestor = IoGetRequestorProcessId(Irp);
        g_requestor.requestor_process = IoGetRequestorProcess(Irp);
        g_requestor.dispatch_pid = HandleToULong(PsGetCurrentProcessId());
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

VOID RequestorUnload(PDRIVER_OBJECT) {
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\RequestorProbe");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(g_requestor_device);
}

NTSTATUS RequestorEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    for (auto& f : DriverObject->MajorFunction) f = RecordRequestor;
    DriverObject->DriverUnload = RequestorUnload;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\RequestorProbe");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\RequestorProbe");
    NTSTATUS s = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_requestor_device);
    if (NT_SUCCESS(s)) s = IoCreateSymbolicLink(&link, &name);
    return s;
}

constexpr ULONG kProbeIoctl = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);

// A kernel-built IOCTL (IoBuildDeviceIoControlRequest) to the probe, from the calling thread.
void send_kernel_ioctl() {
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    PIRP irp = IoBuildDeviceIoControlRequest(kProbeIoctl, g_requestor_device, nullptr, 0, nullptr, 0, FALSE, &done,
                                             &iosb);
    ASSERT_NE(irp, nullptr);
    if (IoCallDriver(g_requestor_device, irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
}

VOID SendFromSystemThread(PVOID ctx) {
    send_kernel_ioctl();
    KeSetEvent(static_cast<PKEVENT>(ctx), IO_NO_INCREMENT, FALSE);
}

// S-PS-1, S-DRT-2: the requestor is the process of the thread that issued the IRP: the
// program for its DeviceIoControl and for an IRP one of its threads built; the System
// process (4) for an IRP a system thread built. The dispatch routine runs in the
// requestor's context (these are all sent synchronously).
TEST_F(DriverRuntime, S_PS_1_RequestorProcessIsTheIssuingThreadsProcess) {
    ASSERT_EQ(sys.load_driver("requestor", reinterpret_cast<ntio::System::DriverEntryFunction>(&RequestorEntry)),
              STATUS_SUCCESS);
    const ULONG program = GetCurrentProcessId();
    HANDLE h = CreateFileA("\\\\.\\RequestorProbe", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0,
                           nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    DWORD bytes = 0;
    g_requestor = {};
    ASSERT_TRUE(DeviceIoControl(h, kProbeIoctl, nullptr, 0, nullptr, 0, &bytes, nullptr));
    EXPECT_EQ(g_requestor.requestor, program) << "a user request";
    EXPECT_EQ(g_requestor.requestor_process, PsGetCurrentProcess());
    EXPECT_EQ(g_requestor.dispatch_pid, program);
    CloseHandle(h);

    g_requestor = {};
    send_kernel_ioctl();
    EXPECT_EQ(g_requestor.requestor, program) << "built by one of the program's threads";

    g_requestor = {};
    KEVENT sent;
    KeInitializeEvent(&sent, NotificationEvent, FALSE);
    HANDLE t;
    ASSERT_EQ(PsCreateSystemThread(&t, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, SendFromSystemThread, &sent),
              STATUS_SUCCESS);
    KeWaitForSingleObject(&sent, Executive, KernelMode, FALSE, nullptr);
    ZwClose(t);
    EXPECT_EQ(g_requestor.requestor, 4u) << "built by a system thread";
    EXPECT_EQ(g_requestor.requestor_process, PsInitialSystemProcess);
    EXPECT_EQ(g_requestor.dispatch_pid, 4u);
}

struct SystemThreadProbe {
    std::atomic<int> is_system{-1};
};
VOID ProbeSystemThread(PVOID ctx) {
    static_cast<SystemThreadProbe*>(ctx)->is_system = IoIsSystemThread(PsGetCurrentThread()) ? 1 : 0;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

TEST_F(DriverRuntime, S_DRT_2_SystemThreadsAreSystemThreads) {
    SystemThreadProbe probe;
    HANDLE h;
    ASSERT_EQ(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, ProbeSystemThread, &probe),
              STATUS_SUCCESS);
    PVOID thread;
    ASSERT_EQ(ObReferenceObjectByHandle(h, SYNCHRONIZE, nullptr, KernelMode, &thread, nullptr), STATUS_SUCCESS);
    KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr);
    ObDereferenceObject(thread);
    ZwClose(h);
    EXPECT_EQ(probe.is_system, 1);
}

// S-DRT-3: the NX opt-in is accepted, other runtime flags are reported; ExFreePool2
// frees as ExFreePoolWithTag does and refuses extended parameters.
TEST_F(DriverRuntime, S_DRT_3_DriverRuntimeAndExFreePool2) {
    ExInitializeDriverRuntime(DrvRtPoolNxOptIn);
    EXPECT_DRIVER_BUG("InvalidParameter", ExInitializeDriverRuntime(0x10));
    PVOID p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 'trDT');
    ASSERT_NE(p, nullptr);
    int param = 0;
    EXPECT_DRIVER_BUG("InvalidParameter",
                      ExFreePool2(p, 'trDT', reinterpret_cast<PCPOOL_EXTENDED_PARAMETER>(&param), 1));
    ExFreePool2(p, 'trDT', nullptr, 0);  // still allocated after the refusal: freed now
    EXPECT_DRIVER_BUG("BAD_POOL_CALLER", ExFreePool2(p, 'trDT', nullptr, 0));  // the second free
}

// Sets the host's time zone for one test, then puts the previous one back.
class ScopedZone {
public:
    explicit ScopedZone(const char* tz) {
        const char* old = getenv("TZ");
        m_had = old != nullptr;
        if (m_had) m_old = old;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~ScopedZone() {
        if (m_had) setenv("TZ", m_old.c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }

private:
    bool m_had = false;
    std::string m_old;
};

// S-DRT-4: system time <-> calendar fields, both ways, and the host zone's local time.
TEST_F(DriverRuntime, S_DRT_4_TimeFieldsRoundTrip) {
    LARGE_INTEGER t;
    TIME_FIELDS f;
    t.QuadPart = 0;
    RtlTimeToTimeFields(&t, &f);
    EXPECT_EQ(f.Year, 1601);
    EXPECT_EQ(f.Month, 1);
    EXPECT_EQ(f.Day, 1);
    EXPECT_EQ(f.Weekday, 1) << "1601-01-01 was a Monday";
    // 2000-02-29 12:34:56.789, a Tuesday: the Unix epoch's offset plus 951827696.789 s
    t.QuadPart = (11644473600LL + 951827696LL) * 10000000LL + 7890000LL;
    RtlTimeToTimeFields(&t, &f);
    EXPECT_EQ(f.Year, 2000);
    EXPECT_EQ(f.Month, 2);
    EXPECT_EQ(f.Day, 29);
    EXPECT_EQ(f.Hour, 12);
    EXPECT_EQ(f.Minute, 34);
    EXPECT_EQ(f.Second, 56);
    EXPECT_EQ(f.Milliseconds, 789);
    EXPECT_EQ(f.Weekday, 2);
    LARGE_INTEGER back;
    ASSERT_TRUE(RtlTimeFieldsToTime(&f, &back));
    EXPECT_EQ(back.QuadPart, t.QuadPart);
    // every field checked; 1900 is not a leap year, 2000 is
    TIME_FIELDS bad = f;
    bad.Year = 1900;
    EXPECT_FALSE(RtlTimeFieldsToTime(&bad, &back));
    bad = f;
    bad.Month = 13;
    EXPECT_FALSE(RtlTimeFieldsToTime(&bad, &back));
    bad = f;
    bad.Milliseconds = 1000;
    EXPECT_FALSE(RtlTimeFieldsToTime(&bad, &back));
    bad = f;
    bad.Year = 1600;
    EXPECT_FALSE(RtlTimeFieldsToTime(&bad, &back));
    // local time: the host zone's current offset (a fixed UTC-5 zone here), and back again
    ScopedZone zone("EST5");
    LARGE_INTEGER now, local, utc;
    KeQuerySystemTime(&now);
    ExSystemTimeToLocalTime(&now, &local);
    EXPECT_EQ(local.QuadPart - now.QuadPart, -5 * 3600 * 10000000LL);
    ExLocalTimeToSystemTime(&local, &utc);
    EXPECT_EQ(utc.QuadPart, now.QuadPart);
}

// S-DRT-5: Windows 10 version 2004 in both structure sizes; another size is refused.
TEST_F(DriverRuntime, S_DRT_5_VersionIsWindows10Version2004) {
    RTL_OSVERSIONINFOEXW ex{};
    ex.dwOSVersionInfoSize = sizeof ex;
    ASSERT_EQ(RtlGetVersion(reinterpret_cast<PRTL_OSVERSIONINFOW>(&ex)), STATUS_SUCCESS);
    EXPECT_EQ(ex.dwMajorVersion, 10u);
    EXPECT_EQ(ex.dwMinorVersion, 0u);
    EXPECT_EQ(ex.dwBuildNumber, 19041u);
    EXPECT_EQ(ex.dwPlatformId, static_cast<ULONG>(VER_PLATFORM_WIN32_NT));
    EXPECT_EQ(ex.wProductType, VER_NT_WORKSTATION);
    RTL_OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof v;
    EXPECT_EQ(RtlGetVersion(&v), STATUS_SUCCESS);
    EXPECT_EQ(v.dwBuildNumber, 19041u);
    v.dwOSVersionInfoSize = 12;
    EXPECT_EQ(RtlGetVersion(&v), STATUS_INVALID_PARAMETER);
}

}  // namespace

// ---- The system error log (S-ELOG-1..4) ------------------------------------------------

PDEVICE_OBJECT g_log_device;
PDRIVER_OBJECT g_log_driver;
VOID LogUnload(PDRIVER_OBJECT driver) { IoDeleteDevice(driver->DeviceObject); }
NTSTATUS LogEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\ErrLogTest");
    driver->DriverUnload = LogUnload;
    g_log_driver = driver;
    return IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_log_device);
}

uint64_t error_log_pool(ntio::System& sys) {
    for (const ntio::PoolTagUsage& u : sys.pool_usage())
        if (u.tag_text == "ErrL") return u.allocations;
    return 0;
}

class ErrorLog : public DriverRuntime {
protected:
    void SetUp() override { ASSERT_EQ(sys.load_driver("errlog", &LogEntry), STATUS_SUCCESS); }
};

// S-ELOG-1: an entry comes zeroed at the size asked for; written, it is one record with
// every field, the dump data and the strings, and its pool is gone.
TEST_F(ErrorLog, S_ELOG_1_WrittenEntryIsRecordedWithItsFieldsAndFreed) {
    const wchar_t port[] = L"COM7";
    UCHAR size = sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG) + sizeof(port);
    auto* p = static_cast<PIO_ERROR_LOG_PACKET>(IoAllocateErrorLogEntry(g_log_device, size));
    ASSERT_NE(p, nullptr);
    const auto* bytes = reinterpret_cast<const unsigned char*>(p);
    for (UCHAR i = 0; i < size; ++i) ASSERT_EQ(bytes[i], 0) << "byte " << int(i);
    EXPECT_EQ(error_log_pool(sys), 1u);
    p->MajorFunctionCode = IRP_MJ_DEVICE_CONTROL;
    p->RetryCount = 2;
    p->ErrorCode = static_cast<NTSTATUS>(0xC0040004);
    p->FinalStatus = STATUS_IO_TIMEOUT;
    p->UniqueErrorValue = 77;
    p->SequenceNumber = 5;
    p->IoControlCode = 0x222003;
    p->DeviceOffset.QuadPart = 4096;
    p->DumpDataSize = 2 * sizeof(ULONG);
    p->DumpData[0] = 0xdeadbeef;
    p->DumpData[1] = 0x12;
    p->NumberOfStrings = 1;
    p->StringOffset = static_cast<USHORT>(sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG));
    std::memcpy(reinterpret_cast<unsigned char*>(p) + p->StringOffset, port, sizeof(port));
    IoWriteErrorLogEntry(p);
    EXPECT_EQ(error_log_pool(sys), 0u) << "IoWriteErrorLogEntry frees the entry";
    std::vector<std::string> log = sys.error_log();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0],
              "error log: \\Driver\\errlog, device \\Device\\ErrLogTest: ErrorCode 0xc0040004, FinalStatus 0xc00000b5, "
              "UniqueErrorValue 77, MajorFunctionCode 0x0e, RetryCount 2, SequenceNumber 5, IoControlCode 0x222003, "
              "DeviceOffset 4096, EventCategory 0, dump data deadbeef 00000012, strings \"COM7\"");
}

// S-ELOG-2: an entry for the driver object, freed unwritten, leaves no record and no pool.
TEST_F(ErrorLog, S_ELOG_2_FreedEntryIsNotRecorded) {
    PVOID p = IoAllocateErrorLogEntry(g_log_driver, sizeof(IO_ERROR_LOG_PACKET));
    ASSERT_NE(p, nullptr);
    IoFreeErrorLogEntry(p);
    EXPECT_TRUE(sys.error_log().empty());
    EXPECT_EQ(error_log_pool(sys), 0u);
    PVOID q = IoAllocateErrorLogEntry(g_log_driver, sizeof(IO_ERROR_LOG_PACKET));
    ASSERT_NE(q, nullptr);
    IoWriteErrorLogEntry(q);
    ASSERT_EQ(sys.error_log().size(), 1u);
    EXPECT_EQ(sys.error_log()[0].rfind("error log: \\Driver\\errlog: ErrorCode 0x00000000,", 0), 0u)
        << sys.error_log()[0];
}

// S-ELOG-3: no entry for a missing object, an object that is neither a device nor a
// driver, or a size smaller than the packet.
TEST_F(ErrorLog, S_ELOG_3_NoEntryForBadObjectOrSize) {
    EXPECT_EQ(IoAllocateErrorLogEntry(nullptr, sizeof(IO_ERROR_LOG_PACKET)), nullptr);
    EXPECT_EQ(IoAllocateErrorLogEntry(g_log_device, sizeof(IO_ERROR_LOG_PACKET) - 1), nullptr);
    KEVENT event;
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_EQ(IoAllocateErrorLogEntry(&event, 64), nullptr));
    EXPECT_EQ(error_log_pool(sys), 0u);
}

// S-ELOG-4: writing or freeing an entry twice, and strings or dump data outside the
// entry, are reported; what lies outside is not read.
TEST_F(ErrorLog, S_ELOG_4_MisusedEntriesAreReported) {
    PVOID p = IoAllocateErrorLogEntry(g_log_device, sizeof(IO_ERROR_LOG_PACKET));
    ASSERT_NE(p, nullptr);
    IoWriteErrorLogEntry(p);
    EXPECT_DRIVER_BUG("InvalidParameter", IoWriteErrorLogEntry(p));
    EXPECT_DRIVER_BUG("InvalidParameter", IoFreeErrorLogEntry(p));
    EXPECT_EQ(sys.error_log().size(), 1u);

    auto* q = static_cast<PIO_ERROR_LOG_PACKET>(IoAllocateErrorLogEntry(g_log_device, sizeof(IO_ERROR_LOG_PACKET)));
    ASSERT_NE(q, nullptr);
    q->NumberOfStrings = 1;
    q->StringOffset = sizeof(IO_ERROR_LOG_PACKET) - sizeof(WCHAR);  // one WCHAR fits, no terminator
    const WCHAR x = L'x';
    std::memcpy(reinterpret_cast<unsigned char*>(q) + q->StringOffset, &x, sizeof x);
    q->DumpDataSize = 200;
    q->DumpData[0] = 1;
    EXPECT_DRIVER_BUG("InvalidParameter", IoWriteErrorLogEntry(q));
    ASSERT_EQ(sys.error_log().size(), 2u);
    std::string line = sys.error_log()[1];
    EXPECT_EQ(line.find("strings"), std::string::npos) << line;
    EXPECT_NE(line.find("dump data 00000001 00000078"), std::string::npos)
        << "cut to the entry's 8 bytes (the second holds the unterminated L'x'): " << line;
    EXPECT_EQ(error_log_pool(sys), 0u);
}

// ---- Shutdown notification (S-SHD-1..3) ------------------------------------------------

std::vector<std::string> g_shutdown_seen;
PDEVICE_OBJECT g_shd_a, g_shd_b, g_shd_c, g_shd_gone;

const char* shd_name(PDEVICE_OBJECT d) {
    return d == g_shd_a ? "a" : d == g_shd_b ? "b" : d == g_shd_c ? "c" : "?";
}
NTSTATUS ShdShutdown(PDEVICE_OBJECT device, PIRP irp) {
    g_shutdown_seen.push_back(std::string("shutdown ") + shd_name(device) +
                              (KeGetCurrentIrql() == PASSIVE_LEVEL ? " passive" : " raised") +
                              (PsIsSystemThread(PsGetCurrentThread()) ? " system" : " user"));
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}
VOID ShdUnload(PDRIVER_OBJECT driver) {
    g_shutdown_seen.push_back("unload");
    while (driver->DeviceObject) IoDeleteDevice(driver->DeviceObject);
}
NTSTATUS ShdEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    driver->MajorFunction[IRP_MJ_SHUTDOWN] = ShdShutdown;
    driver->DriverUnload = ShdUnload;
    for (PDEVICE_OBJECT* d : {&g_shd_a, &g_shd_b, &g_shd_c, &g_shd_gone}) {
        NTSTATUS s = IoCreateDevice(driver, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, d);
        if (!NT_SUCCESS(s)) return s;
        (*d)->Flags &= ~DO_DEVICE_INITIALIZING;
    }
    return STATUS_SUCCESS;
}

// S-SHD-1: when the runtime ends, each registered device gets IRP_MJ_SHUTDOWN at
// PASSIVE_LEVEL on a system thread before any driver unloads: newest registration
// first, the last-chance list after the ordinary one. S-SHD-2: a deleted device was
// unregistered (IoDeleteDevice), as was one unregistered explicitly.
TEST(Shutdown, S_SHD_1_RegisteredDevicesGetShutdownBeforeUnloadNewestFirst) {
    g_shutdown_seen.clear();
    {
        ntio::System sys(ntio::testing::DriverTest::verified_options());
        ASSERT_EQ(sys.load_driver("shd", &ShdEntry), STATUS_SUCCESS);
        ASSERT_EQ(IoRegisterLastChanceShutdownNotification(g_shd_c), STATUS_SUCCESS);
        ASSERT_EQ(IoRegisterShutdownNotification(g_shd_a), STATUS_SUCCESS);
        ASSERT_EQ(IoRegisterShutdownNotification(g_shd_b), STATUS_SUCCESS);
        EXPECT_TRUE(g_shd_a->Flags & DO_SHUTDOWN_REGISTERED);
        ASSERT_EQ(IoRegisterShutdownNotification(g_shd_gone), STATUS_SUCCESS);
        IoDeleteDevice(g_shd_gone);  // S-SHD-2: unregisters it
        PDEVICE_OBJECT extra = nullptr;
        ASSERT_EQ(IoCreateDevice(g_shd_a->DriverObject, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &extra),
                  STATUS_SUCCESS);
        ASSERT_EQ(IoRegisterShutdownNotification(extra), STATUS_SUCCESS);
        IoUnregisterShutdownNotification(extra);
        EXPECT_FALSE(extra->Flags & DO_SHUTDOWN_REGISTERED);
        EXPECT_TRUE(g_shutdown_seen.empty()) << "nothing before the runtime ends";
    }
    EXPECT_EQ(g_shutdown_seen, (std::vector<std::string>{"shutdown b passive system", "shutdown a passive system",
                                                          "shutdown c passive system", "unload"}));
}

// S-SHD-3: System::unload_driver is no shutdown: a driver unloaded alone gets no
// IRP_MJ_SHUTDOWN, and its deleted devices' registrations go with them.
TEST(Shutdown, S_SHD_3_UnloadingOneDriverSendsNoShutdown) {
    g_shutdown_seen.clear();
    {
        ntio::System sys(ntio::testing::DriverTest::verified_options());
        ASSERT_EQ(sys.load_driver("shd", &ShdEntry), STATUS_SUCCESS);
        ASSERT_EQ(IoRegisterShutdownNotification(g_shd_a), STATUS_SUCCESS);
        EXPECT_TRUE(sys.unload_driver("shd"));
        EXPECT_EQ(sys.leak_report(), "");
    }
    EXPECT_EQ(g_shutdown_seen, (std::vector<std::string>{"unload"}));
}
