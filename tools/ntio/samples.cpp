#include "samples.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace ntio::cli {

const std::vector<Sample>& samples() {
    static const std::vector<Sample> all = {
        {"startio", "StartIo serialization: five threads, completions at 3, 6, 9, 12 and 15 s (article 001)",
         "Five application threads, 100 ms apart, each send one METHOD_IN_DIRECT IOCTL to a WDM driver that\n"
         "serializes them with IoStartPacket / StartIo / IoStartNextPacket and spends 3 s on each. Threads 1-4\n"
         "get FALSE + ERROR_IO_PENDING (997) at once; thread 0 stays inside DeviceIoControl for 15 s, because its\n"
         "IoStartPacket runs every queued request by recursion. The verifier points out the article's own bugs.",
         {{"startio_driver.so"}},
         "startio_app"},
        {"startio_fixed", "the same StartIo scenario with the article's wait at DISPATCH_LEVEL fixed (a timer + DPC)",
         "The article's application against its driver with the one DRIVER BUG fixed: StartIo sets a 3 s timer\n"
         "and returns; the timer's DPC completes the request and calls IoStartNextPacket. The requests complete\n"
         "at the same 3, 6, 9, 12 and 15 s, the verifier has nothing to say, and thread 0 is no longer held\n"
         "15 s inside DeviceIoControl (no StartIo recursion).",
         {{"startio_fixed_driver.so"}},
         "startio_app"},
        {"pending_ioctl", "an IOCTL pended and completed 5 s later by a system thread (articles 000, 003)",
         "An overlapped DeviceIoControl: answered inside dispatch it returns TRUE (the first article's surprise);\n"
         "pended with IoMarkIrpPending and finished 5 s later by a PsCreateSystemThread worker it returns FALSE +\n"
         "997, and WaitForSingleObject / GetOverlappedResult collect it at exactly +5000 ms.",
         {{"pending_ioctl_driver.so"}},
         "pending_ioctl_app"},
        {"systhread", "a system thread ticking every second, started and stopped by IOCTLs (article 003)",
         "A driver's system thread waits on a KEVENT with a 1 s timeout and counts ticks; one IOCTL starts it,\n"
         "another stops it by setting the event and waiting on the thread object; DriverUnload waits for it too.",
         {{"systhread_driver.so"}},
         "systhread_app"},
        {"driver_irps", "a filter building IRPs for the device below it (article 002)",
         "A relay filter over a RAM block device builds IRPs of its own: IoAllocateIrp and\n"
         "IoBuildAsynchronousFsdRequest with a completion routine that frees them and returns\n"
         "STATUS_MORE_PROCESSING_REQUIRED, and IoBuildDeviceIoControlRequest, freed by the I/O manager;\n"
         "a remove lock covers each. Every block read or write takes 1 s.",
         {{"blockdev.so"}, {"relay.so"}},
         "driver_irps_app"},
        {"echo", "the Echo client: a PnP driver found by interface GUID, completion ports (article 004)",
         "A WDM Echo driver with two device instances (ROOT\\ECHO_DRIVER\\0000 and 0001), each with a device\n"
         "interface. The client finds them with CM_Get_Device_Interface_List (and warns that there are two), does a\n"
         "synchronous write/read round trip, then puts 64 reads and 64 writes in flight from two threads on\n"
         "completion ports and checks every byte of every chunk that comes back.",
         {{"echo_driver.so", 2}},
         "echo_app"},
        {"clock_demo", "the virtual clock: five threads sleeping 3 s in turn, a ticking kernel thread",
         "No driver: application threads and a kernel thread sleeping and ticking, to show that under\n"
         "--virtual-time a 15 s chain of sleeps takes milliseconds and every time difference is exact.",
         {},
         "clock_demo"},
    };
    return all;
}

const Sample* find_sample(const std::string& name) {
    for (const Sample& s : samples())
        if (name == s.name) return &s;
    return nullptr;
}

std::string samples_dir(const char* argv0) {
    namespace fs = std::filesystem;
    auto has_samples = [](const fs::path& dir) {
        std::error_code ec;
        return fs::exists(dir / "startio_app", ec);
    };
    if (const char* env = std::getenv("NTIO_SAMPLES_DIR"); env && *env) return has_samples(env) ? env : "";
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    fs::path exe = n > 0 ? fs::path(std::string(self, static_cast<size_t>(n))) : fs::path(argv0);
    fs::path bin = exe.parent_path();
    for (const fs::path& candidate : {bin / ".." / "libexec" / "ntio" / "samples", bin / ".." / ".." / "samples"}) {
        if (has_samples(candidate)) return fs::weakly_canonical(candidate).string();
    }
    return "";
}

}  // namespace ntio::cli
