#!/usr/bin/env bash
# Builds and runs an outside program against an installed ntio (contract.md):
# pkg-config for an app and a driver module, then find_package(ntio) with CMake.
set -euo pipefail
prefix=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch 2>/dev/null)/pkgconfig:${PKG_CONFIG_PATH:-}"
samples=$(cd "$here/../../samples" && pwd)
# Issue 2's acceptance program: an app file and a driver-style file, installed headers only.
cc -std=c11 -Wall -Wextra -Werror -pedantic "$samples/clock_demo/app.c" "$samples/clock_demo/ticker.c" \
   $(pkg-config --cflags --libs ntio) -o "$work/clock_demo"
out=$("$prefix/bin/ntio" run --virtual-time -- "$work/clock_demo")
echo "$out"
grep -q "chain of 5 sleeps: 15000 ms" <<<"$out"
grep -q "system thread ticks in 5500 ms: 5" <<<"$out"
cc -Wall -Wextra -Werror "$here/app.c" "$here/driver.c" $(pkg-config --cflags --libs ntio) -o "$work/app"
cc -Wall -Wextra -Werror -shared -fPIC "$here/driver.c" $(pkg-config --cflags --libs ntio) -o "$work/driver.so"
out=$("$prefix/bin/ntio" run --virtual-time -- "$work/app")
echo "$out"
grep -q "wait: 258 after 3000 ms; driver side: 4" <<<"$out"
# A C++ driver with its own global operator new/delete on the pool and a vendor IOCTL in a
# switch, and a C app with <strsafe.h> and Windows printf formats. Without -Bsymbolic-functions in
# pkg-config's flags the driver's delete would reach libstdc++'s and free() pool memory.
c++ -std=c++17 -Wall -Wextra -Werror -shared -fPIC "$here/cxx_driver.cpp" \
    $(pkg-config --cflags --libs ntio) -o "$work/cxx_driver.so"
cc -std=c11 -Wall -Wextra -Werror -pedantic "$here/cxx_app.c" $(pkg-config --cflags --libs ntio) -o "$work/cxx_app"
out=$("$prefix/bin/ntio" run --verifier fail --driver "$work/cxx_driver.so" -- "$work/cxx_app" 2>&1)
echo "$out"
grep -q 'opening \\\\.\\CxxDriver' <<<"$out"
grep -q "doubled: 42, objects live in the call: 2, bytes 8" <<<"$out"
grep -q "cxx driver: unloaded with 0 live objects" <<<"$out"
# The StartIo article (issue 4) as an outside driver module + app, run with --driver.
cc -Wall -Wextra -Werror -shared -fPIC "$samples/startio/driver.c" $(pkg-config --cflags --libs ntio) \
   -o "$work/startio_driver.so"
cc -Wall -Wextra -Werror "$samples/startio/app.c" $(pkg-config --cflags --libs ntio) -o "$work/startio_app"
out=$("$prefix/bin/ntio" run --virtual-time --driver "$work/startio_driver.so" -- "$work/startio_app" 2>&1)
echo "$out"
grep -q "thread 0: DeviceIoControl returned 0, error 997, at +15000 ms" <<<"$out"
grep -q "every XOR check passed" <<<"$out"
# The article 002 sample (two drivers) from installed headers, and `ntio demo` from the
# installed tree (issue 6: the samples are installed with ntio).
for drv in blockdev relay; do
  cc -Wall -Wextra -Werror -shared -fPIC "$samples/driver_irps/$drv.c" \
     $(pkg-config --cflags --libs ntio) -o "$work/$drv.so"
done
cc -Wall -Wextra -Werror "$samples/driver_irps/app.c" $(pkg-config --cflags --libs ntio) -o "$work/driver_irps_app"
out=$("$prefix/bin/ntio" run --virtual-time --verifier fail --driver "$work/blockdev.so" --driver "$work/relay.so" \
      -- "$work/driver_irps_app" 2>&1)
echo "$out"
grep -q "all checks passed" <<<"$out"
out=$(cd "$work" && "$prefix/bin/ntio" demo startio 2>&1)
echo "$out" | tail -5
grep -q "peak depth 4" <<<"$out"
test -s "$work/startio-trace.json" && test -s "$work/startio-trace.svg" && test -s "$work/startio-trace.txt"
# A PnP driver with two device instances (issue 5), found by the app through <cfgmgr32.h>.
cc -Wall -Wextra -Werror -shared -fPIC "$here/../c/pnp_driver.c" $(pkg-config --cflags --libs ntio) -o "$work/pnpc.so"
cc -Wall -Wextra -Werror "$here/../c/pnp_app.c" $(pkg-config --cflags --libs ntio) -o "$work/pnp_app"
out=$("$prefix/bin/ntio" run --driver "$work/pnpc.so" --instances 2 -- "$work/pnp_app" 2>&1)
echo "$out"
grep -q "interface 1: .*ROOT#PNPC#0001#" <<<"$out"
grep -q "2 device(s) found and answered in order" <<<"$out"
# The same devices found through the installed <setupapi.h> (S-SDI), as older samples do.
cc -std=c11 -Wall -Wextra -Werror -pedantic "$here/../c/setupapi_app.c" $(pkg-config --cflags --libs ntio) \
   -o "$work/setupapi_app"
out=$("$prefix/bin/ntio" run --driver "$work/pnpc.so" --instances 2 -- "$work/setupapi_app" 2>&1)
echo "$out" | grep setupapi
grep -q "setupapi: 2 device(s) found and answered in order; [0-9]* checks, 0 failed" <<<"$out"
# The Echo sample (issue 5's acceptance) as the contract spells it: echo.so, two instances.
cc -Wall -Wextra -Werror -shared -fPIC "$samples/echo/driver.c" $(pkg-config --cflags --libs ntio) \
   -o "$work/echo.so"
cc -Wall -Wextra -Werror "$samples/echo/app.c" $(pkg-config --cflags --libs ntio) -o "$work/echoapp"
out=$("$prefix/bin/ntio" run --driver "$work/echo.so" --instances 2 -- "$work/echoapp" 2>&1)
echo "$out" | tail -4
grep -q "Warning: More than one device interface instance found" <<<"$out"
grep -q 'ROOT#ECHO#0000#' <<<"$out"
grep -q "all checks passed" <<<"$out"
out=$("$prefix/bin/ntio" run --driver "$work/echo.so" -- "$work/echoapp" 2>&1)
! grep -q "Warning" <<<"$out"
grep -q "all checks passed" <<<"$out"
# Structured exceptions from installed headers: a METHOD_NEITHER driver that probes its
# user buffers inside __try, and an app handing it bad buffers.
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC "$here/../c/neither_driver.c" \
   $(pkg-config --cflags --libs ntio) -o "$work/neitherseh.so"
cc -std=c11 -Wall -Wextra -Werror "$here/../c/neither_app.c" $(pkg-config --cflags --libs ntio) -o "$work/neither_app"
out=$("$prefix/bin/ntio" run --driver "$work/neitherseh.so" -- "$work/neither_app" 2>&1)
echo "$out" | tail -3
grep -q "read-only output: DeviceIoControl=FALSE error=998" <<<"$out"
grep -q "all checks passed" <<<"$out"
# A program that calls nothing of ntio's still loads it, and so the drivers ntio run
# names: pkg-config's Libs keep -lntio against the default --as-needed.
printf 'int main(void) { return 3; }\n' > "$work/bare.c"
cc -Wall "$work/bare.c" $(pkg-config --cflags --libs ntio) -o "$work/bare"
printf '#include <wdm.h>\nDRIVER_INITIALIZE DriverEntry;\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) {\n    UNREFERENCED_PARAMETER(d);\n    UNREFERENCED_PARAMETER(r);\n    DbgPrint("bare host: DriverEntry ran\\n");\n    return STATUS_SUCCESS;\n}\n' > "$work/hello.c"
cc -Wall -Wextra -Werror -shared -fPIC "$work/hello.c" $(pkg-config --cflags --libs ntio) -o "$work/hello.so"
set +e
out=$("$prefix/bin/ntio" run --driver "$work/hello.so" -- "$work/bare" 2>&1)
rc=$?
set -e
echo "$out"
test "$rc" = 3
grep -q "bare host: DriverEntry ran" <<<"$out"
# A program whose entry is wmain: pkg-config's Libs end with libntio_wmain.a, whose main
# widens the arguments (and is not pulled into the programs above, which have their own).
cc -std=c11 -Wall -Wextra -Werror -pedantic "$here/../c/wmain_app.c" $(pkg-config --cflags --libs ntio) -o "$work/wmain_app"
out=$(NTIO_WMAIN_TEST=été "$prefix/bin/ntio" run -- "$work/wmain_app" "héllo" 2>&1)
echo "$out"
grep -q "arg 1: \[héllo\] 5 characters" <<<"$out"
grep -q "environment: widened" <<<"$out"
cmake -S "$here" -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$work/cmake" > /dev/null
NTIO_CLOCK=virtual "$work/cmake/consumer_cmake" | grep -q "driver side: 4"
test -f "$work/cmake/consumer_driver.so"
if [ -x "$work/cmake/consumer_gtest" ]; then
  "$work/cmake/consumer_gtest" | tail -3
fi
echo "consumer: pkg-config and CMake builds against $prefix work"
rm -rf "$work"
