// The sample catalog behind `ntio samples` and `ntio demo`: each installed sample's
// drivers and app, and what it shows.
#pragma once
#include <string>
#include <vector>

namespace ntio::cli {

struct SampleDriver {
    const char* module;  // file name in the samples directory
    int instances = 1;   // PnP instances (--instances)
};

struct Sample {
    const char* name;
    const char* summary;                 // one line, for `ntio samples`
    const char* shows;                   // the paragraph `ntio demo` prints first
    std::vector<SampleDriver> drivers;   // loaded in this order
    const char* app;
};

const std::vector<Sample>& samples();
const Sample* find_sample(const std::string& name);

// Where the installed samples are: $NTIO_SAMPLES_DIR, else PREFIX/libexec/ntio/samples
// beside this ntio, else the build tree's samples/ (ntio run from a build directory).
// Empty when none has them.
std::string samples_dir(const char* argv0);

}  // namespace ntio::cli
