// One record of the debug output (DbgPrint's channel: stderr or NTIO_DBGPRINT_FILE, with
// its sequence number and runtime-clock timestamp, and a line in the IRP trace), for the
// runtime's own records that belong beside the driver's (the error log's entries).
#pragma once
#include <cstddef>

namespace ntio::rtl {
void debug_record(const char* text, size_t length);
}
