// The benchmarks' driver: \Device\BenchEcho. IOCTL_BENCH_COPY copies the input
// to the output and completes at once; IOCTL_BENCH_PEND marks the request pending
// and hands it to the driver's worker thread, which completes it.
#pragma once
#include "ntio/ntio.hpp"
#include "wdm.h"
#include "windows.h"

namespace bench {

constexpr ULONG IOCTL_BENCH_COPY = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS);
constexpr ULONG IOCTL_BENCH_PEND = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS);

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

inline void load(ntio::System& sys) {
    sys.load_driver("benchecho", reinterpret_cast<ntio::System::DriverEntryFunction>(&DriverEntry));
}

}  // namespace bench
