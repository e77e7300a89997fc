// The device's DPC (IoInitializeDpcRequest, IoRequestDpc) and I/O timer
// (IoInitializeTimer, IoStartTimer, IoStopTimer): S-IOT-1..3 (docs/design.md).
#include <atomic>
#include <vector>

#include "test_support.hpp"

namespace {

using ntio::testing::relative_ms;
using ntio::testing::VirtualTimeTest;

constexpr ULONG IOCTL_VIA_DPC = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS);

// What the driver's routines saw, for the test to check.
struct Seen {
    PDEVICE_OBJECT device = nullptr;
    std::atomic<int> dpc_calls{0};
    KIRQL dpc_irql = 0xff;
    PDEVICE_OBJECT dpc_device = nullptr;
    PIRP dpc_irp = nullptr, sent_irp = nullptr;
    PVOID dpc_context = nullptr;
    std::atomic<int> timer_calls{0};
    std::vector<int64_t> timer_at_ms;
    KIRQL timer_irql = 0xff;
    PDEVICE_OBJECT timer_device = nullptr;
    PVOID timer_context = nullptr;
    ntio::System* sys = nullptr;
};
Seen g_seen;

int64_t virtual_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(g_seen.sys->now()).count();
}

VOID DpcForIsr(PKDPC, PDEVICE_OBJECT device, PIRP irp, PVOID context) {
    g_seen.dpc_irql = KeGetCurrentIrql();
    g_seen.dpc_device = device;
    g_seen.dpc_irp = irp;
    g_seen.dpc_context = context;
    ++g_seen.dpc_calls;
    *static_cast<ULONG*>(irp->AssociatedIrp.SystemBuffer) = 0xD9C;
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = sizeof(ULONG);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

VOID Tick(PDEVICE_OBJECT device, PVOID context) {
    g_seen.timer_irql = KeGetCurrentIrql();
    g_seen.timer_device = device;
    g_seen.timer_context = context;
    g_seen.timer_at_ms.push_back(virtual_ms());
    ++g_seen.timer_calls;
}

NTSTATUS Dispatch(PDEVICE_OBJECT device, PIRP irp) {
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    if (sp->MajorFunction == IRP_MJ_DEVICE_CONTROL && sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_VIA_DPC) {
        // As an interrupt service routine would: the rest of the work in the DpcForIsr.
        IoMarkIrpPending(irp);
        g_seen.sent_irp = irp;
        IoRequestDpc(device, irp, &g_seen);
        return STATUS_PENDING;
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

NTSTATUS Entry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\IoTimerDpc");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\IoTimerDpc");
    PDEVICE_OBJECT dev;
    NTSTATUS s = IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
    if (!NT_SUCCESS(s)) return s;
    dev->Flags |= DO_BUFFERED_IO;
    IoInitializeDpcRequest(dev, DpcForIsr);
    s = IoInitializeTimer(dev, Tick, &g_seen.timer_calls);
    if (!NT_SUCCESS(s)) return s;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; ++i) driver->MajorFunction[i] = Dispatch;
    driver->DriverUnload = [](PDRIVER_OBJECT d) {
        UNICODE_STRING l = RTL_CONSTANT_STRING(L"\\DosDevices\\IoTimerDpc");
        IoDeleteSymbolicLink(&l);
        if (d->DeviceObject) IoDeleteDevice(d->DeviceObject);
    };
    g_seen.device = dev;
    return IoCreateSymbolicLink(&link, &name);
}

class IoTimerDpc : public VirtualTimeTest {
protected:
    void SetUp() override {
        g_seen.~Seen();
        new (&g_seen) Seen;
        g_seen.sys = &sys;
        ASSERT_EQ(sys.load_driver("iotimerdpc", Entry), STATUS_SUCCESS);
        bugs_before = ntio::driver_bug_count();
    }
    void sleep_ms(LONGLONG ms) {
        LARGE_INTEGER d = relative_ms(ms);
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
    uint64_t bugs_before = 0;
};

TEST_F(IoTimerDpc, S_IOT_1_IoRequestDpcRunsTheDevicesDpcWithTheIrpAndContext) {
    HANDLE h = CreateFileA("\\\\.\\IoTimerDpc", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    ULONG out = 0;
    DWORD got = 0;
    ASSERT_TRUE(DeviceIoControl(h, IOCTL_VIA_DPC, nullptr, 0, &out, sizeof out, &got, nullptr));
    EXPECT_EQ(out, 0xD9Cu);
    EXPECT_EQ(got, sizeof(ULONG));
    EXPECT_EQ(g_seen.dpc_calls, 1);
    EXPECT_EQ(g_seen.dpc_irql, DISPATCH_LEVEL);
    EXPECT_EQ(g_seen.dpc_device, g_seen.device);
    EXPECT_EQ(g_seen.dpc_irp, g_seen.sent_irp);
    EXPECT_EQ(g_seen.dpc_context, &g_seen);
    EXPECT_EQ(g_seen.device->Dpc.DeferredContext, g_seen.device) << "the device is the DPC's context";
    CloseHandle(h);
    EXPECT_EQ(sys.live_irps(), 0);
}

TEST_F(IoTimerDpc, S_IOT_2_TheTimerCallsItsRoutineOnceASecondAtDispatchLevelWhileStarted) {
    sleep_ms(5000);
    EXPECT_EQ(g_seen.timer_calls, 0) << "not before IoStartTimer";
    int64_t t0 = now_ms();
    IoStartTimer(g_seen.device);
    IoStartTimer(g_seen.device);  // started already: no second timer, no faster ticks
    sleep_ms(3500);
    ASSERT_EQ(g_seen.timer_calls, 3);
    EXPECT_EQ(g_seen.timer_at_ms[0] - t0, 1000);
    EXPECT_EQ(g_seen.timer_at_ms[1] - t0, 2000);
    EXPECT_EQ(g_seen.timer_at_ms[2] - t0, 3000);
    EXPECT_EQ(g_seen.timer_irql, DISPATCH_LEVEL);
    EXPECT_EQ(g_seen.timer_device, g_seen.device);
    EXPECT_EQ(g_seen.timer_context, &g_seen.timer_calls);

    IoStopTimer(g_seen.device);
    IoStopTimer(g_seen.device);  // stopped already: nothing
    sleep_ms(4000);
    EXPECT_EQ(g_seen.timer_calls, 3) << "no call after IoStopTimer";
    EXPECT_EQ(sys.run_until_idle(), 0u) << "a stopped timer leaves nothing due on the clock";

    // Started again: a call a second later, and on.
    int64_t t1 = now_ms();
    IoStartTimer(g_seen.device);
    sleep_ms(2500);  // between ticks: a wake at a tick's own instant races with its DPC
    ASSERT_EQ(g_seen.timer_calls, 5);
    EXPECT_EQ(g_seen.timer_at_ms[3] - t1, 1000);
    EXPECT_EQ(g_seen.timer_at_ms[4] - t1, 2000);
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before);
}

// IoStartTimer from DISPATCH_LEVEL (a DPC or under a spin lock) is allowed.
TEST_F(IoTimerDpc, S_IOT_2_StartAndStopAreAllowedAtDispatchLevel) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoStartTimer(g_seen.device);
    KeLowerIrql(old);
    sleep_ms(1500);
    EXPECT_EQ(g_seen.timer_calls, 1);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoStopTimer(g_seen.device);
    KeLowerIrql(old);
    sleep_ms(3000);
    EXPECT_EQ(g_seen.timer_calls, 1);
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before);
}

TEST_F(IoTimerDpc, S_IOT_3_DeletingTheDeviceStopsItsRunningTimer) {
    IoStartTimer(g_seen.device);
    sleep_ms(1500);
    EXPECT_EQ(g_seen.timer_calls, 1);
    EXPECT_TRUE(sys.unload_driver("iotimerdpc"));  // IoDeleteDevice with the timer started
    sleep_ms(5000);
    EXPECT_EQ(g_seen.timer_calls, 1) << "no call after IoDeleteDevice";
    EXPECT_EQ(sys.run_until_idle(), 0u);
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before);
}

TEST_F(IoTimerDpc, S_IOT_3_ATimerOnADeviceWithoutOneIsReported) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\NoTimer");
    PDEVICE_OBJECT bare;
    ASSERT_EQ(IoCreateDevice(g_seen.device->DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &bare),
              STATUS_SUCCESS);
    IoStartTimer(bare);
    IoStopTimer(bare);
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before + 2);
    EXPECT_EQ(IoInitializeTimer(bare, nullptr, nullptr), STATUS_INVALID_PARAMETER);
    EXPECT_EQ(ntio::driver_bug_count(), bugs_before + 3);
    EXPECT_EQ(bare->Timer, nullptr);
    IoDeleteDevice(bare);
}

}  // namespace
