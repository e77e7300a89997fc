// An outside project's driver test written with the installed <ntio/gtest.hpp>: a driver
// that completes its IRP twice, caught by the verifier inside an ordinary GoogleTest.
#include <ntio/gtest.hpp>

#include <wdm.h>
#include <windows.h>

namespace {

NTSTATUS Dispatch(PDEVICE_OBJECT, PIRP Irp) {
    UCHAR major = IoGetCurrentIrpStackLocation(Irp)->MajorFunction;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    if (major == IRP_MJ_DEVICE_CONTROL) IoCompleteRequest(Irp, IO_NO_INCREMENT);  // the bug
    return STATUS_SUCCESS;
}

VOID Unload(PDRIVER_OBJECT DriverObject) {
    UNICODE_STRING link;
    RtlInitUnicodeString(&link, L"\\DosDevices\\Consumer");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS Entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    UNICODE_STRING name, link;
    RtlInitUnicodeString(&name, L"\\Device\\Consumer");
    RtlInitUnicodeString(&link, L"\\DosDevices\\Consumer");
    PDEVICE_OBJECT device;
    for (auto& f : DriverObject->MajorFunction) f = Dispatch;
    DriverObject->DriverUnload = Unload;
    NTSTATUS s = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (NT_SUCCESS(s)) s = IoCreateSymbolicLink(&link, &name);
    return s;
}

class ConsumerDriver : public ntio::testing::DriverTest {};

TEST_F(ConsumerDriver, DoubleCompletionIsCaught) {
    ASSERT_EQ(sys.load_driver("consumer", reinterpret_cast<ntio::System::DriverEntryFunction>(&Entry)), 0);
    HANDLE h = CreateFileA("\\\\.\\Consumer", GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    DWORD n = 0;
    auto twice = verifier.expect("MULTIPLE_IRP_COMPLETE_REQUESTS");
    DeviceIoControl(h, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS), nullptr, 0, nullptr, 0,
                    &n, nullptr);
    ASSERT_EQ(twice.reports().size(), 1u);
    EXPECT_EQ(twice.reports()[0].device, "\\Device\\Consumer");
    EXPECT_EQ(twice.reports()[0].driver, "\\Driver\\consumer");
    CloseHandle(h);
}

}  // namespace
