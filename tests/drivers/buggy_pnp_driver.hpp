// A PnP function driver that is wrong on purpose, for the verifier's acceptance tests
// (tests/verifier_test.cpp): the mistakes buggy_driver.hpp cannot make because they
// need AddDevice, IRP_MN_REMOVE_DEVICE or a driver without DriverStartIo. Each Config
// flag plants one mistake; with none set the driver is correct, except that it has no
// DriverStartIo and still queues IOCTL_START_PACKET with IoStartPacket.
//
// One device: ROOT\BUGGYPNP\0000, its FDO \Device\BuggyPnp. Load with
// System::load_driver("buggypnp", buggy_pnp::DriverEntry, 1) after setting config().
#pragma once
#include "wdm.h"

namespace buggy_pnp {

constexpr const char* kInstance = "ROOT\\BUGGYPNP\\0000";
constexpr const wchar_t* kFdoName = L"\\Device\\BuggyPnp";
// Queued with IoStartPacket though the driver has no StartIo routine; the dispatch
// routine then finds it still current and completes it itself.
constexpr ULONG IOCTL_START_PACKET = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x980, METHOD_NEITHER, FILE_ANY_ACCESS);

struct Config {
    bool no_fdo = false;              // AddDevice succeeds without creating or attaching a device
    bool leave_initializing = false;  // AddDevice returns with DO_DEVICE_INITIALIZING still set
    bool interface_on_fdo = false;    // AddDevice registers its interface on its own FDO instead of the PDO
    bool remove_forgets_fdo = false;  // IRP_MN_REMOVE_DEVICE goes down, but the FDO is neither detached nor
                                      // deleted there (DriverUnload deletes it)
};
Config& config();
void reset();

// The FDO AddDevice created (nullptr before, after its deletion, or with no_fdo).
PDEVICE_OBJECT fdo();
bool unloaded();

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

}  // namespace buggy_pnp
