// Power: what a WDM driver's power code calls. ntio sends no power IRPs (no sleep, no
// idle; docs/compat.md), but a driver's IRP_MJ_POWER routine still has to link and,
// when a test or another driver sends it a power IRP, behave as on Windows since Vista:
// PoCallDriver is IoCallDriver, PoStartNextPowerIrp has nothing left to do (power IRPs
// are no longer serialized per device), and PoSetPowerState records the state the
// driver reports and returns the one it replaces (S-PO-1..3, docs/design.md).
#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "verifier/report.hpp"

#undef PoCallDriver

extern "C" {

NTSTATUS PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) { return IofCallDriver(DeviceObject, Irp); }

VOID PoStartNextPowerIrp(PIRP Irp) { (void)Irp; }

POWER_STATE PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type, POWER_STATE State) {
    using namespace ntio;
    bool device_state = Type == DevicePowerState;
    // S-PO-3: APC_LEVEL at most, DISPATCH_LEVEL when the device enters D0.
    verifier::check_irql_at_most(device_state && State.DeviceState == PowerDeviceD0 ? DISPATCH_LEVEL : APC_LEVEL,
                                 "PoSetPowerState");
    io::DeviceRuntime& rt = io::runtime(DeviceObject);
    POWER_STATE previous{};
    bool valid = device_state ? State.DeviceState > PowerDeviceUnspecified && State.DeviceState < PowerDeviceMaximum
                              : Type == SystemPowerState && State.SystemState > PowerSystemUnspecified &&
                                    State.SystemState < PowerSystemMaximum;
    if (!valid) {
        verifier::report(verifier::Check::InvalidParameter,
                         fmt::format("PoSetPowerState({}, {}, {}): not a {} power state; nothing recorded",
                                     static_cast<void*>(DeviceObject), int(Type), int(State.DeviceState),
                                     device_state ? "device" : Type == SystemPowerState ? "system" : "known"));
        if (device_state) previous.DeviceState = DEVICE_POWER_STATE(rt.device_power.load());
        else previous.SystemState = SYSTEM_POWER_STATE(rt.system_power.load());
        return previous;
    }
    if (device_state) previous.DeviceState = DEVICE_POWER_STATE(rt.device_power.exchange(uint8_t(State.DeviceState)));
    else previous.SystemState = SYSTEM_POWER_STATE(rt.system_power.exchange(uint8_t(State.SystemState)));
    return previous;
}

}  // extern "C"
