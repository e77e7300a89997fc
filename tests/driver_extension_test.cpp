// Driver object extensions and reinitialization routines (docs/design.md, "Driver object
// extensions and reinitialization", S-DRVX-1..5).
#include <cstring>
#include <string>
#include <vector>

#include "ntio/gtest.hpp"
#include "ntddk.h"

namespace {

class DriverExtensions : public ntio::testing::DriverTest {};

// Client identification addresses: any unique address, as a class driver uses its own
// routine's or a static's.
char g_client_a, g_client_b;
PDRIVER_OBJECT g_drv_a, g_drv_b;

NTSTATUS KeepA(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    g_drv_a = driver;
    return STATUS_SUCCESS;
}
NTSTATUS KeepB(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    g_drv_b = driver;
    return STATUS_SUCCESS;
}

// S-DRVX-1: one zeroed area per (driver, client address), found again by the address;
// a second one for the same pair is STATUS_OBJECT_NAME_COLLISION with a NULL out.
TEST_F(DriverExtensions, S_DRVX_1_OneZeroedAreaPerDriverAndClient) {
    ASSERT_EQ(sys.load_driver("dxa", &KeepA), STATUS_SUCCESS);
    ASSERT_EQ(sys.load_driver("dxb", &KeepB), STATUS_SUCCESS);
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_a, &g_client_a), nullptr) << "none allocated yet";

    PVOID a = nullptr, a2 = reinterpret_cast<PVOID>(1), b = nullptr, other = nullptr;
    ASSERT_EQ(IoAllocateDriverObjectExtension(g_drv_a, &g_client_a, 64, &a), STATUS_SUCCESS);
    ASSERT_NE(a, nullptr);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(static_cast<unsigned char*>(a)[i], 0) << "byte " << i;
    std::memset(a, 0x5a, 64);  // the whole size is the caller's
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_a, &g_client_a), a);

    EXPECT_EQ(IoAllocateDriverObjectExtension(g_drv_a, &g_client_a, 8, &a2), STATUS_OBJECT_NAME_COLLISION);
    EXPECT_EQ(a2, nullptr);
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_a, &g_client_a), a) << "the first area stays";

    // Another client of the same driver, and the same client of another driver: their own.
    ASSERT_EQ(IoAllocateDriverObjectExtension(g_drv_a, &g_client_b, 0, &other), STATUS_SUCCESS);
    EXPECT_NE(other, nullptr) << "a size of 0 still gives an area to find";
    ASSERT_EQ(IoAllocateDriverObjectExtension(g_drv_b, &g_client_a, 16, &b), STATUS_SUCCESS);
    EXPECT_NE(b, a);
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_b, &g_client_a), b);
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_b, &g_client_b), nullptr);
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_a, &g_client_b), other);

    // At DISPATCH_LEVEL too (the WDK's IRQL <= DISPATCH_LEVEL).
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_a, &g_client_a), a);
    KeLowerIrql(old);
}

// S-DRVX-2: the areas go with the driver object, not as the driver's pool: a driver that
// allocates one in DriverEntry and unloads leaves nothing behind (no PoolLeftAtUnload,
// no leak report), and another object under the same name starts without them.
PVOID g_entry_area;
VOID NoteUnload(PDRIVER_OBJECT) {}
NTSTATUS AllocatingEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    driver->DriverUnload = NoteUnload;
    g_drv_a = driver;
    return IoAllocateDriverObjectExtension(driver, &g_client_a, 4096, &g_entry_area);
}
TEST_F(DriverExtensions, S_DRVX_2_AreasAreFreedWithTheDriverObject) {
    ASSERT_EQ(sys.load_driver("dxfree", &AllocatingEntry), STATUS_SUCCESS);
    ASSERT_NE(g_entry_area, nullptr);
    EXPECT_TRUE(sys.unload_driver("dxfree"));
    EXPECT_EQ(sys.leak_report(), "");
    ASSERT_EQ(sys.load_driver("dxfree", &AllocatingEntry), STATUS_SUCCESS) << "no collision with the old object's";
    EXPECT_EQ(IoGetDriverObjectExtension(g_drv_a, &g_client_a), g_entry_area);
}

// S-DRVX-2: what is no driver object is reported and refused.
TEST_F(DriverExtensions, S_DRVX_2_NotADriverObjectIsRefused) {
    ASSERT_EQ(sys.load_driver("dxa", &KeepA), STATUS_SUCCESS);
    PDEVICE_OBJECT device = nullptr;
    ASSERT_EQ(IoCreateDevice(g_drv_a, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
    PVOID area = reinterpret_cast<PVOID>(1);
    EXPECT_DRIVER_BUG("InvalidParameter",
                      EXPECT_EQ(IoAllocateDriverObjectExtension(reinterpret_cast<PDRIVER_OBJECT>(device), &g_client_a,
                                                                8, &area),
                                STATUS_INVALID_PARAMETER));
    EXPECT_EQ(area, nullptr);
    EXPECT_DRIVER_BUG("InvalidParameter", EXPECT_EQ(IoGetDriverObjectExtension(nullptr, &g_client_a), nullptr));
    IoDeleteDevice(device);
}

// ---- Reinitialization ------------------------------------------------------------------

std::vector<std::string> g_reinit_log;

struct ReinitPlan {
    const char* name;
    ULONG times;  // how many calls the routine asks for, registering itself again
};
ReinitPlan g_plan_a{"a", 3}, g_plan_b{"b", 1};

VOID Reinit(PDRIVER_OBJECT driver, PVOID context, ULONG count) {
    auto* plan = static_cast<ReinitPlan*>(context);
    g_reinit_log.push_back(std::string("reinit ") + plan->name + " " + std::to_string(count) +
                           (KeGetCurrentIrql() == PASSIVE_LEVEL ? " passive" : " raised") +
                           (PsIsSystemThread(PsGetCurrentThread()) ? " system" : " user"));
    if (count < plan->times) IoRegisterDriverReinitialization(driver, Reinit, plan);
}
VOID BootReinit(PDRIVER_OBJECT, PVOID context, ULONG count) {
    g_reinit_log.push_back(std::string("boot ") + static_cast<ReinitPlan*>(context)->name + " " +
                           std::to_string(count));
}
NTSTATUS ReinitEntryA(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    g_reinit_log.push_back("entry a");
    IoRegisterDriverReinitialization(driver, Reinit, &g_plan_a);
    IoRegisterBootDriverReinitialization(driver, BootReinit, &g_plan_a);
    return STATUS_SUCCESS;
}
NTSTATUS ReinitEntryB(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    g_reinit_log.push_back("entry b");
    IoRegisterDriverReinitialization(driver, Reinit, &g_plan_b);
    return STATUS_SUCCESS;
}
NTSTATUS FailingReinitEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    IoRegisterDriverReinitialization(driver, Reinit, &g_plan_b);
    return STATUS_UNSUCCESSFUL;
}

// S-DRVX-3: a driver loaded alone (System::load_driver) has its routines called when its
// DriverEntry returned, before load_driver does, at PASSIVE_LEVEL on a system thread;
// S-DRVX-4: Count counts the calls, and a routine that registers itself again runs again
// in the same pass; the boot driver routine runs after the ordinary ones, and counts in
// the same DRIVER_EXTENSION.Count. The second driver's routines run at its own load.
TEST_F(DriverExtensions, S_DRVX_3_RoutinesRunWhenTheDriverHasLoaded) {
    g_reinit_log.clear();
    ASSERT_EQ(sys.load_driver("rea", &ReinitEntryA), STATUS_SUCCESS);
    EXPECT_EQ(g_reinit_log, (std::vector<std::string>{"entry a", "reinit a 1 passive system",
                                                      "reinit a 2 passive system", "reinit a 3 passive system",
                                                      "boot a 4"}));
    g_reinit_log.clear();
    ASSERT_EQ(sys.load_driver("reb", &ReinitEntryB), STATUS_SUCCESS);
    EXPECT_EQ(g_reinit_log, (std::vector<std::string>{"entry b", "reinit b 1 passive system"}));
}

// S-DRVX-5: a DriverEntry that fails has no routine called; a driver unloaded before its
// routines ran has none called either, and cannot register more.
TEST_F(DriverExtensions, S_DRVX_5_FailedDriverHasNoRoutineCalled) {
    g_reinit_log.clear();
    EXPECT_EQ(sys.load_driver("refail", &FailingReinitEntry), STATUS_UNSUCCESSFUL);
    EXPECT_TRUE(g_reinit_log.empty());
    EXPECT_DRIVER_BUG("InvalidParameter", IoRegisterDriverReinitialization(nullptr, Reinit, nullptr));
    ASSERT_EQ(sys.load_driver("rea", &KeepA), STATUS_SUCCESS);
    EXPECT_DRIVER_BUG("InvalidParameter", IoRegisterDriverReinitialization(g_drv_a, nullptr, nullptr));
    // Registered outside DriverEntry: it waits for the next load to end, as on Windows
    // the list is walked when a driver has loaded; unloading the driver drops it.
    IoRegisterDriverReinitialization(g_drv_a, Reinit, &g_plan_b);
    ObReferenceObject(g_drv_a);  // kept past its unload, to register once more
    EXPECT_TRUE(sys.unload_driver("rea"));
    EXPECT_DRIVER_BUG("InvalidParameter", IoRegisterDriverReinitialization(g_drv_a, Reinit, &g_plan_b));
    ObDereferenceObject(g_drv_a);
    ASSERT_EQ(sys.load_driver("reb", &ReinitEntryB), STATUS_SUCCESS);
    EXPECT_EQ(g_reinit_log, (std::vector<std::string>{"entry b", "reinit b 1 passive system"}));
}

}  // namespace
