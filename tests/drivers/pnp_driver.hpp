// A WDM function driver for the PnP tests: AddDevice creates an FDO, attaches it to the
// PDO, registers device interfaces and clears DO_DEVICE_INITIALIZING; IRP_MN_START_DEVICE
// enables the interfaces once the PDO has started; surprise removal and removal fail
// queued reads and disable the interfaces; REMOVE detaches and deletes the FDO. Config
// plants the mistakes and failures the tests look for. Everything the driver sees is
// recorded in State. Linked into the test program and loaded with
// System::load_driver("pnptest", pnpdrv::DriverEntry, instances).
#pragma once
#include <mutex>
#include <string>
#include <vector>

#include "ntio/ntio.hpp"
#include "wdm.h"

namespace pnpdrv {

// {6a3e0f9b-2c41-4d8e-9b1f-5c7a2e8d4f10}: registered for every device (no reference string)
constexpr GUID kInterface = {0x6a3e0f9b, 0x2c41, 0x4d8e, {0x9b, 0x1f, 0x5c, 0x7a, 0x2e, 0x8d, 0x4f, 0x10}};
// {0b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e}: registered with the reference strings of Config
constexpr GUID kRefInterface = {0x0b8c7d6e, 0x5f4a, 0x4b3c, {0x8d, 0x2e, 0x1f, 0x0a, 0x9b, 0x8c, 0x7d, 0x6e}};

struct Config {
    bool leave_initializing = false;              // AddDevice forgets DO_DEVICE_INITIALIZING (S-W32-12)
    NTSTATUS add_device_status = STATUS_SUCCESS;  // AddDevice fails (after cleaning up)
    NTSTATUS start_status = STATUS_SUCCESS;       // START fails after the PDO started
    bool pend_start = false;                      // START finishes later on a system thread
    NTSTATUS query_remove_status = STATUS_SUCCESS;  // QUERY_REMOVE veto
    bool disable_interfaces = true;               // at surprise removal / removal (S-PNP-2)
    std::vector<std::wstring> reference_strings;  // kRefInterface registrations, enabled at START
};

// One IRP_MJ_PNP as the driver saw it on arrival.
struct PnpIrp {
    int device;  // AddDevice order
    UCHAR minor;
    NTSTATUS status_on_arrival;
    KIRQL irql;
    bool system_thread;
};

struct Device {
    PDEVICE_OBJECT pdo = nullptr, fdo = nullptr;
    std::vector<std::wstring> links;  // what IoRegisterDeviceInterface returned
};

struct State {
    std::mutex lock;
    Config config;
    PDRIVER_OBJECT driver = nullptr;
    std::vector<std::string> events;  // "AddDevice 0", "START 0", "REMOVE 1", "Unload", ... in order
    std::vector<PnpIrp> pnp;
    std::vector<Device> devices;
    KIRQL add_irql = 0xff;
    bool add_on_system_thread = false;
    std::vector<std::wstring> create_names;  // FileObject->FileName at IRP_MJ_CREATE
    std::vector<PIRP> reads;                 // pended reads
};

State& state();
void reset(const Config& config = {});
std::vector<std::string> events();
size_t pending_reads();
// Device `n` (AddDevice order), copied under the state's lock.
Device device(size_t n);
// reset(config), then the driver loaded into `sys` as "pnptest" with `instances` devices.
NTSTATUS load(ntio::System& sys, int instances, const Config& config = {});

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

}  // namespace pnpdrv
