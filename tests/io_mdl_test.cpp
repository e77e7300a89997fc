// MDL routines beyond the buffer methods' own (S-MDL-1..4, docs/design.md): mapping and
// unmapping (MmMapLockedPages, MmUnmapLockedPages), partial MDLs (IoBuildPartialMdl,
// MmPrepareMdlForReuse), MDLs in a driver's own storage (MmInitializeMdl), and the
// verifier's reports for their misuse.
#include <cstring>

#include "ntio/gtest.hpp"
#include "wdm.h"

namespace {

class Mdls : public ntio::testing::DriverTest {
protected:
    alignas(4096) char buffer[3 * PAGE_SIZE];
    PMDL locked() {
        PMDL mdl = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
        EXPECT_NE(mdl, nullptr);
        MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
        return mdl;
    }
    static void release(PMDL mdl) {
        MmUnlockPages(mdl);
        IoFreeMdl(mdl);
    }
};

// S-MDL-1: a kernel mapping is recorded in the MDL and ended by MmUnmapLockedPages; the
// address is the buffer itself (one address space).
TEST_F(Mdls, S_MDL_1_MapAndUnmapAKernelView) {
    PMDL mdl = locked();
    PVOID va = MmMapLockedPages(mdl, KernelMode);
    EXPECT_EQ(va, buffer);
    EXPECT_TRUE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), va) << "the mapping is reused";
    MmUnmapLockedPages(va, mdl);
    EXPECT_FALSE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    EXPECT_EQ(MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, nullptr, FALSE, HighPagePriority), buffer);
    EXPECT_TRUE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) << "mapped again after the unmap";
    release(mdl);
}

// S-MDL-1: a user-mode view leaves the MDL as it was (Windows keeps it outside the MDL).
TEST_F(Mdls, S_MDL_1_AUserViewChangesNothingInTheMdl) {
    PMDL mdl = locked();
    CSHORT flags = mdl->MdlFlags;
    PVOID user = MmMapLockedPagesSpecifyCache(mdl, UserMode, MmCached, nullptr, FALSE, NormalPagePriority);
    EXPECT_EQ(user, buffer);
    EXPECT_EQ(mdl->MdlFlags, flags);
    MmUnmapLockedPages(user, mdl);
    EXPECT_EQ(mdl->MdlFlags, flags);
    release(mdl);
}

TEST_F(Mdls, MdlMisuse_S_MDL_1_UnmappingAnAddressThatIsNotTheMdlsMapping) {
    PMDL mdl = locked();
    PVOID va = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    auto bad = verifier.expect("MdlMisuse");
    MmUnmapLockedPages(buffer + 16, mdl);
    ASSERT_EQ(bad.reports().size(), 1u);
    EXPECT_NE(bad.reports()[0].message.find("the address is not a mapping of this MDL"), std::string::npos)
        << bad.reports()[0].text;
    EXPECT_TRUE(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) << "the real mapping is untouched";
    MmUnmapLockedPages(va, mdl);
    release(mdl);
}

TEST_F(Mdls, MdlMisuse_S_MDL_1_MappingPagesThatAreNotLocked) {
    PMDL mdl = IoAllocateMdl(buffer, 100, FALSE, FALSE, nullptr);
    EXPECT_DRIVER_BUG("MdlMisuse", MmMapLockedPages(mdl, KernelMode));
    EXPECT_DRIVER_BUG("MdlMisuse", MmMapLockedPagesSpecifyCache(mdl, UserMode, MmCached, nullptr, FALSE, 16));
    MmUnmapLockedPages(buffer, mdl);
    IoFreeMdl(mdl);
}

// S-MDL-2: a partial MDL describes the sub-range; Length 0 runs to the source's end.
TEST_F(Mdls, S_MDL_2_APartialMdlDescribesTheSubRange) {
    PMDL source = locked();
    PMDL part = IoAllocateMdl(buffer + 100, 10, FALSE, FALSE, nullptr);
    IoBuildPartialMdl(source, part, buffer + PAGE_SIZE + 8, 200);
    EXPECT_EQ(MmGetMdlVirtualAddress(part), buffer + PAGE_SIZE + 8);
    EXPECT_EQ(MmGetMdlByteCount(part), 200u);
    EXPECT_EQ(MmGetMdlByteOffset(part), 8u);
    EXPECT_EQ(part->StartVa, buffer + PAGE_SIZE);
    EXPECT_TRUE(part->MdlFlags & MDL_PARTIAL);
    EXPECT_FALSE(part->MdlFlags & MDL_PAGES_LOCKED) << "the pages are the source's";
    EXPECT_EQ(part->Process, source->Process);

    IoBuildPartialMdl(source, part, buffer + 5000, 0);
    EXPECT_EQ(MmGetMdlVirtualAddress(part), buffer + 5000);
    EXPECT_EQ(MmGetMdlByteCount(part), sizeof buffer - 5000) << "Length 0: the rest of the source";
    IoFreeMdl(part);
    release(source);
}

// S-MDL-2: the partial MDL shares a source's system mapping, and MmPrepareMdlForReuse
// has nothing to end.
TEST_F(Mdls, S_MDL_2_APartialMdlSharesItsSourcesMapping) {
    PMDL source = locked();
    char* system = static_cast<char*>(MmGetSystemAddressForMdlSafe(source, NormalPagePriority));
    PMDL part = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
    IoBuildPartialMdl(source, part, buffer + 300, 64);
    EXPECT_TRUE(part->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    EXPECT_FALSE(part->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED);
    EXPECT_EQ(MmGetSystemAddressForMdlSafe(part, NormalPagePriority), system + 300);
    MmPrepareMdlForReuse(part);
    EXPECT_TRUE(part->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) << "the source's mapping is not the partial's to end";

    // Nonpaged pool is mapped by nature: its partial MDLs share that too.
    char pool[256];
    PMDL np = IoAllocateMdl(pool, sizeof pool, FALSE, FALSE, nullptr);
    MmBuildMdlForNonPagedPool(np);
    IoBuildPartialMdl(np, part, pool + 16, 32);
    EXPECT_EQ(MmGetSystemAddressForMdlSafe(part, NormalPagePriority), pool + 16);
    EXPECT_FALSE(part->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED);
    IoFreeMdl(np);
    IoFreeMdl(part);
    release(source);
}

// S-MDL-2: without a source mapping the partial MDL gets its own, which
// MmPrepareMdlForReuse ends before the MDL is built again.
TEST_F(Mdls, S_MDL_2_APartialMdlsOwnMappingEndsAtMmPrepareMdlForReuse) {
    PMDL source = locked();
    PMDL part = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
    for (int chunk = 0; chunk < 3; ++chunk) {
        char* at = buffer + chunk * PAGE_SIZE;
        IoBuildPartialMdl(source, part, at, PAGE_SIZE);
        EXPECT_FALSE(part->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
        auto* system = static_cast<char*>(MmGetSystemAddressForMdlSafe(part, NormalPagePriority));
        EXPECT_EQ(system, at);
        EXPECT_TRUE(part->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED);
        std::memset(system, 'a' + chunk, PAGE_SIZE);
        MmPrepareMdlForReuse(part);
        EXPECT_FALSE(part->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED));
    }
    EXPECT_EQ(buffer[0], 'a');
    EXPECT_EQ(buffer[PAGE_SIZE], 'b');
    EXPECT_EQ(buffer[sizeof buffer - 1], 'c');
    // IoFreeMdl ends a mapping still there (no report).
    IoBuildPartialMdl(source, part, buffer, 10);
    MmGetSystemAddressForMdlSafe(part, NormalPagePriority);
    IoFreeMdl(part);
    release(source);
}

// S-MDL-3: the verifier's reports for partial MDLs.
TEST_F(Mdls, MdlMisuse_S_MDL_3_ReusingAMappedPartialMdlWithoutPreparingIt) {
    PMDL source = locked();
    PMDL part = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
    IoBuildPartialMdl(source, part, buffer, 100);
    MmGetSystemAddressForMdlSafe(part, NormalPagePriority);
    auto bad = verifier.expect("MdlMisuse");
    IoBuildPartialMdl(source, part, buffer + 100, 100);
    ASSERT_EQ(bad.reports().size(), 1u);
    EXPECT_NE(bad.reports()[0].message.find("call MmPrepareMdlForReuse first"), std::string::npos)
        << bad.reports()[0].text;
    EXPECT_EQ(MmGetMdlVirtualAddress(part), buffer + 100) << "still built, as Windows builds it";
    IoFreeMdl(part);
    release(source);
}

TEST_F(Mdls, MdlMisuse_S_MDL_3_ARangeOutsideTheSourceLeavesTheTargetAlone) {
    PMDL source = locked();
    PMDL part = IoAllocateMdl(buffer, 10, FALSE, FALSE, nullptr);
    auto bad = verifier.expect("MdlMisuse");
    IoBuildPartialMdl(source, part, buffer + sizeof buffer - 10, 11);  // one byte past the end
    IoBuildPartialMdl(source, part, buffer - 1, 4);                    // starts before it
    IoBuildPartialMdl(source, part, buffer + sizeof buffer + 1, 0);    // starts past it
    ASSERT_EQ(bad.reports().size(), 3u);
    EXPECT_NE(bad.reports()[0].message.find("the range is not inside the source MDL's buffer"), std::string::npos)
        << bad.reports()[0].text;
    EXPECT_EQ(MmGetMdlVirtualAddress(part), buffer);
    EXPECT_EQ(MmGetMdlByteCount(part), 10u);
    EXPECT_FALSE(part->MdlFlags & MDL_PARTIAL);
    IoBuildPartialMdl(source, part, buffer + sizeof buffer - 10, 10);  // the last bytes exactly: fine
    EXPECT_EQ(MmGetMdlByteCount(part), 10u);
    EXPECT_EQ(bad.reports().size(), 3u);
    IoFreeMdl(part);
    release(source);
}

TEST_F(Mdls, MdlMisuse_S_MDL_3_ASourceWhosePagesAreNotLocked) {
    PMDL source = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
    PMDL part = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
    EXPECT_DRIVER_BUG("MdlMisuse", IoBuildPartialMdl(source, part, buffer, 10));
    IoFreeMdl(part);
    IoFreeMdl(source);
}

// S-MDL-4: an MDL in the driver's own storage, as MmInitializeMdl fills it.
TEST_F(Mdls, S_MDL_4_MmInitializeMdlInTheCallersStorage) {
    char* va = buffer + 100;
    SIZE_T size = MmSizeOfMdl(va, 2 * PAGE_SIZE);
    ASSERT_EQ(size, sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
    alignas(MDL) unsigned char storage[sizeof(MDL) + 3 * sizeof(PFN_NUMBER)];
    std::memset(storage, 0xCC, sizeof storage);
    auto* mdl = reinterpret_cast<PMDL>(storage);
    MmInitializeMdl(mdl, va, 2 * PAGE_SIZE);
    EXPECT_EQ(mdl->Next, nullptr);
    EXPECT_EQ(SIZE_T(mdl->Size), size);
    EXPECT_EQ(mdl->MdlFlags, 0);
    EXPECT_EQ(mdl->StartVa, buffer);
    EXPECT_EQ(mdl->ByteOffset, 100u);
    EXPECT_EQ(mdl->ByteCount, ULONG(2 * PAGE_SIZE));
    MmBuildMdlForNonPagedPool(mdl);
    EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), va);
    if (true) MmInitializeMdl(mdl, buffer, 1);  // a statement, even unbraced
    else MmPrepareMdlForReuse(mdl);
    EXPECT_EQ(mdl->ByteCount, 1u);
}

}  // namespace
