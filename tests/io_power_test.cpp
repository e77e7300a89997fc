// What a WDM driver's power and housekeeping code calls (S-PO-1..3, S-IOH-1..2 in
// docs/design.md): a power IRP passed down a two-device stack with PoStartNextPowerIrp
// and PoCallDriver, PoSetPowerState's record of the device's state, KeGetPreviousMode,
// the stack-size queries, IoIsErrorUserInduced and RtlInitEmptyUnicodeString.
#include <cstring>

#include "ntio/gtest.hpp"
#include "windows.h"
#include "wdm.h"

namespace {

constexpr ULONG IOCTL_PROBE = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS);

// What the driver saw, for the test to check.
struct Seen {
    PDEVICE_OBJECT lower = nullptr, upper = nullptr;
    int power_irps_at_lower = 0;
    UCHAR minor = 0xff;
    POWER_STATE_TYPE type = POWER_STATE_TYPE(-1);
    POWER_STATE state{};
    POWER_STATE previous{};
    KPROCESSOR_MODE previous_mode = KPROCESSOR_MODE(-1), requestor_mode = KPROCESSOR_MODE(-1);
    ULONG_PTR low = 0, high = 0, remaining = 0, local = 0;
};
Seen g_seen;

NTSTATUS complete(PIRP irp, NTSTATUS status) {
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS Power(PDEVICE_OBJECT device, PIRP irp) {
    if (device == g_seen.upper) {  // a filter's whole power routine
        PoStartNextPowerIrp(irp);
        IoSkipCurrentIrpStackLocation(irp);
        return PoCallDriver(g_seen.lower, irp);
    }
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    ++g_seen.power_irps_at_lower;
    g_seen.minor = sl->MinorFunction;
    g_seen.type = sl->Parameters.Power.Type;
    g_seen.state = sl->Parameters.Power.State;
    if (sl->MinorFunction == IRP_MN_SET_POWER && sl->Parameters.Power.Type == DevicePowerState)
        g_seen.previous = PoSetPowerState(device, DevicePowerState, sl->Parameters.Power.State);
    PoStartNextPowerIrp(irp);
    return complete(irp, STATUS_SUCCESS);
}

NTSTATUS Control(PDEVICE_OBJECT, PIRP irp) {
    volatile char local = 0;
    g_seen.previous_mode = KeGetPreviousMode();
    g_seen.requestor_mode = irp->RequestorMode;
    IoGetStackLimits(&g_seen.low, &g_seen.high);
    g_seen.remaining = IoGetRemainingStackSize();
    g_seen.local = reinterpret_cast<ULONG_PTR>(&local);
    return complete(irp, STATUS_SUCCESS);
}

NTSTATUS CreateClose(PDEVICE_OBJECT, PIRP irp) { return complete(irp, STATUS_SUCCESS); }

VOID Unload(PDRIVER_OBJECT) {
    IoDetachDevice(g_seen.lower);
    IoDeleteDevice(g_seen.upper);
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\PowerLower");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(g_seen.lower);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    driver->MajorFunction[IRP_MJ_POWER] = Power;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Control;
    driver->MajorFunction[IRP_MJ_CREATE] = CreateClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = CreateClose;
    driver->DriverUnload = Unload;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\PowerLower");
    UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\PowerLower");
    NTSTATUS s = IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_seen.lower);
    if (!NT_SUCCESS(s)) return s;
    s = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(s)) return s;
    g_seen.lower->Flags &= ~DO_DEVICE_INITIALIZING;  // before anything attaches to it
    s = IoCreateDevice(driver, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_seen.upper);
    if (!NT_SUCCESS(s)) return s;
    if (IoAttachDeviceToDeviceStack(g_seen.upper, g_seen.lower) != g_seen.lower) return STATUS_UNSUCCESSFUL;
    g_seen.upper->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

NTSTATUS signal_and_keep(PDEVICE_OBJECT, PIRP, PVOID context) {
    KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

class PowerAndHousekeeping : public ntio::testing::DriverTest {
protected:
    void SetUp() override {
        g_seen = Seen{};
        ASSERT_EQ(sys.load_driver("powertest", reinterpret_cast<ntio::System::DriverEntryFunction>(&DriverEntry)),
                  STATUS_SUCCESS);
    }
    // Sends a power IRP to the top of the stack as the power manager would, and returns
    // the status it completed with.
    NTSTATUS send_power(UCHAR minor, POWER_STATE_TYPE type, POWER_STATE state) {
        PIRP irp = IoAllocateIrp(g_seen.upper->StackSize, FALSE);
        EXPECT_NE(irp, nullptr);
        irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
        PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
        next->MajorFunction = IRP_MJ_POWER;
        next->MinorFunction = minor;
        next->Parameters.Power.Type = type;
        next->Parameters.Power.State = state;
        KEVENT done;
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoSetCompletionRoutine(irp, signal_and_keep, &done, TRUE, TRUE, TRUE);
        NTSTATUS returned = IoCallDriver(g_seen.upper, irp);
        EXPECT_EQ(KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
        NTSTATUS status = irp->IoStatus.Status;
        EXPECT_EQ(returned, status);
        IoFreeIrp(irp);
        return status;
    }
};

POWER_STATE device_state(DEVICE_POWER_STATE s) {
    POWER_STATE p;
    p.DeviceState = s;
    return p;
}

// S-PO-1, S-PO-2: the filter's PoStartNextPowerIrp + PoCallDriver hand the IRP, with
// its parameters, to the device below, as IoCallDriver would.
TEST_F(PowerAndHousekeeping, S_PO_1_AFilterPassesAPowerIrpDownWithPoCallDriver) {
    EXPECT_EQ(send_power(IRP_MN_SET_POWER, DevicePowerState, device_state(PowerDeviceD3)), STATUS_SUCCESS);
    EXPECT_EQ(g_seen.power_irps_at_lower, 1);
    EXPECT_EQ(g_seen.minor, IRP_MN_SET_POWER);
    EXPECT_EQ(g_seen.type, DevicePowerState);
    EXPECT_EQ(g_seen.state.DeviceState, PowerDeviceD3);
    EXPECT_EQ(g_seen.previous.DeviceState, PowerDeviceUnspecified) << "nothing recorded before";
    POWER_STATE query;
    query.SystemState = PowerSystemSleeping3;
    EXPECT_EQ(send_power(IRP_MN_QUERY_POWER, SystemPowerState, query), STATUS_SUCCESS);
    EXPECT_EQ(g_seen.power_irps_at_lower, 2);
    EXPECT_EQ(g_seen.minor, IRP_MN_QUERY_POWER);
    EXPECT_EQ(g_seen.state.SystemState, PowerSystemSleeping3);
    EXPECT_EQ(PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD0)).DeviceState,
              PowerDeviceD3)
        << "the state the power IRP recorded";
}

// S-PO-3: PoSetPowerState returns the state it replaces, per device and per type.
TEST_F(PowerAndHousekeeping, S_PO_3_PoSetPowerStateReturnsThePreviousState) {
    EXPECT_EQ(PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD0)).DeviceState,
              PowerDeviceUnspecified);
    EXPECT_EQ(PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD2)).DeviceState, PowerDeviceD0);
    EXPECT_EQ(PoSetPowerState(g_seen.upper, DevicePowerState, device_state(PowerDeviceD1)).DeviceState,
              PowerDeviceUnspecified)
        << "each device has its own";
    POWER_STATE working;
    working.SystemState = PowerSystemWorking;
    EXPECT_EQ(PoSetPowerState(g_seen.lower, SystemPowerState, working).SystemState, PowerSystemUnspecified);
    EXPECT_EQ(PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD3)).DeviceState, PowerDeviceD2)
        << "the system state is kept apart";
}

TEST_F(PowerAndHousekeeping, InvalidParameter_S_PO_3_AStateThatIsNotOne) {
    PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD1));
    POWER_STATE previous{};
    EXPECT_DRIVER_BUG("InvalidParameter",
                      previous = PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceMaximum)));
    EXPECT_EQ(previous.DeviceState, PowerDeviceD1);
    EXPECT_DRIVER_BUG("InvalidParameter",
                      PoSetPowerState(g_seen.lower, POWER_STATE_TYPE(7), device_state(PowerDeviceD2)));
    EXPECT_EQ(PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD0)).DeviceState, PowerDeviceD1)
        << "nothing was recorded by the bad calls";
}

// S-PO-3: D0 may be set up to DISPATCH_LEVEL, other states only up to APC_LEVEL.
TEST_F(PowerAndHousekeeping, IRQL_NOT_LESS_OR_EQUAL_S_PO_3_LeavingD0AtDispatchLevel) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD0));  // allowed
    EXPECT_DRIVER_BUG("IRQL_NOT_LESS_OR_EQUAL",
                      PoSetPowerState(g_seen.lower, DevicePowerState, device_state(PowerDeviceD3)));
    KeLowerIrql(old);
}

// S-IOH-1: KeGetPreviousMode is the mode of the request's issuer: UserMode for an
// application's DeviceIoControl, KernelMode for a system thread's own IRP.
TEST_F(PowerAndHousekeeping, S_IOH_1_KeGetPreviousModeIsTheIssuersMode) {
    HANDLE h = CreateFileA("\\\\.\\PowerLower", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    DWORD n;
    ASSERT_TRUE(DeviceIoControl(h, IOCTL_PROBE, nullptr, 0, nullptr, 0, &n, nullptr));
    EXPECT_EQ(g_seen.previous_mode, UserMode);
    EXPECT_EQ(g_seen.requestor_mode, UserMode);
    CloseHandle(h);

    HANDLE thread;
    ASSERT_EQ(PsCreateSystemThread(
                  &thread, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
                  [](PVOID) {
                      KEVENT done;
                      KeInitializeEvent(&done, NotificationEvent, FALSE);
                      IO_STATUS_BLOCK iosb;
                      PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_PROBE, g_seen.lower, nullptr, 0, nullptr, 0,
                                                               FALSE, &done, &iosb);
                      if (IoCallDriver(g_seen.lower, irp) == STATUS_PENDING)
                          KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
                      PsTerminateSystemThread(STATUS_SUCCESS);
                  },
                  nullptr),
              STATUS_SUCCESS);
    PVOID object;
    ASSERT_EQ(ObReferenceObjectByHandle(thread, SYNCHRONIZE, nullptr, KernelMode, &object, nullptr), STATUS_SUCCESS);
    KeWaitForSingleObject(object, Executive, KernelMode, FALSE, nullptr);
    ObDereferenceObject(object);
    ZwClose(thread);
    EXPECT_EQ(g_seen.previous_mode, KernelMode);
    EXPECT_EQ(g_seen.requestor_mode, KernelMode);
}

// S-IOH-2: the stack bounds are the calling thread's, and what remains is what lies
// below the caller's frame.
TEST_F(PowerAndHousekeeping, S_IOH_2_StackLimitsAndRemainingSize) {
    HANDLE h = CreateFileA("\\\\.\\PowerLower", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    DWORD n;
    ASSERT_TRUE(DeviceIoControl(h, IOCTL_PROBE, nullptr, 0, nullptr, 0, &n, nullptr));
    CloseHandle(h);
    EXPECT_LT(g_seen.low, g_seen.local);
    EXPECT_LT(g_seen.local, g_seen.high);
    EXPECT_GT(g_seen.remaining, 16u * 1024) << "a thread's stack has room";
    EXPECT_LE(g_seen.remaining, g_seen.local - g_seen.low + 4096) << "about the room below the driver's frame";
    EXPECT_GE(g_seen.remaining + 4096, g_seen.local - g_seen.low);
    ULONG_PTR low, high;
    IoGetStackLimits(&low, &high);
    EXPECT_EQ(low, g_seen.low) << "the same thread: the app's DeviceIoControl ran the driver on it";
    EXPECT_EQ(high, g_seen.high);
}

// S-KE-25: a thread's priority is recorded and returned; out of range, nothing changes.
TEST_F(PowerAndHousekeeping, S_KE_25_KeSetPriorityThreadReturnsThePreviousPriority) {
    PKTHREAD self = KeGetCurrentThread();
    EXPECT_EQ(KeQueryPriorityThread(self), 8) << "a thread starts at 8";
    EXPECT_EQ(KeSetPriorityThread(self, LOW_REALTIME_PRIORITY), 8);
    EXPECT_EQ(KeQueryPriorityThread(self), LOW_REALTIME_PRIORITY);
    EXPECT_EQ(KeSetPriorityThread(self, HIGH_PRIORITY), LOW_REALTIME_PRIORITY);
    KPRIORITY previous = -1;
    EXPECT_DRIVER_BUG("InvalidParameter", previous = KeSetPriorityThread(self, LOW_PRIORITY));
    EXPECT_EQ(previous, HIGH_PRIORITY);
    EXPECT_DRIVER_BUG("InvalidParameter", KeSetPriorityThread(self, MAXIMUM_PRIORITY));
    EXPECT_EQ(KeQueryPriorityThread(self), HIGH_PRIORITY);
}

TEST(Housekeeping, S_IOH_3_IoIsErrorUserInducedListsTheUsersFailures) {
    for (NTSTATUS s : {STATUS_DEVICE_NOT_READY, STATUS_IO_TIMEOUT, STATUS_MEDIA_WRITE_PROTECTED,
                       STATUS_NO_MEDIA_IN_DEVICE, STATUS_UNRECOGNIZED_MEDIA, STATUS_VERIFY_REQUIRED, STATUS_WRONG_VOLUME})
        EXPECT_TRUE(IoIsErrorUserInduced(s)) << std::hex << s;
    for (NTSTATUS s : {STATUS_SUCCESS, STATUS_INVALID_PARAMETER, STATUS_CANCELLED, STATUS_MEDIA_CHANGED})
        EXPECT_FALSE(IoIsErrorUserInduced(s)) << std::hex << s;
    EXPECT_EQ(RtlNtStatusToDosError(STATUS_WRONG_VOLUME), ULONG(ERROR_WRONG_DISK));
    EXPECT_EQ(RtlNtStatusToDosError(STATUS_UNRECOGNIZED_MEDIA), ULONG(ERROR_UNRECOGNIZED_MEDIA));
    EXPECT_EQ(RtlNtStatusToDosError(STATUS_VERIFY_REQUIRED), ULONG(ERROR_MEDIA_CHANGED));
}

TEST(Housekeeping, RtlInitEmptyStringsOverTheCallersBuffer) {
    WCHAR wide[16];
    UNICODE_STRING us;
    RtlInitEmptyUnicodeString(&us, wide, sizeof wide);
    EXPECT_EQ(us.Length, 0);
    EXPECT_EQ(us.MaximumLength, sizeof wide);
    EXPECT_EQ(us.Buffer, wide);
    EXPECT_EQ(RtlAppendUnicodeToString(&us, L"abc"), STATUS_SUCCESS);
    EXPECT_EQ(us.Length, 3 * sizeof(WCHAR));
    CHAR narrow[8];
    ANSI_STRING as;
    RtlInitEmptyAnsiString(&as, narrow, sizeof narrow);
    EXPECT_EQ(as.Length, 0);
    EXPECT_EQ(as.MaximumLength, sizeof narrow);
    EXPECT_EQ(as.Buffer, narrow);
}

}  // namespace
