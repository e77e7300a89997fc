#include "drivers/test_driver.hpp"

#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <cwchar>

namespace testdrv {
namespace {

State* g_state = new State();

struct LaterWork {
    PIRP irp;
    Script script;
};

struct DpcWork {
    KTIMER timer;
    KDPC dpc;
    PIRP irp;
    Script script;
};

ULONG method_of(ULONG code) { return code & 3; }

// Writes the script's bytes where the request's output lives.
void fill_output(PIRP irp, const Observation& o, const Script& s) {
    if (!s.fill_length) return;
    PVOID out = nullptr;
    if (o.major == IRP_MJ_DEVICE_CONTROL || o.major == IRP_MJ_FILE_SYSTEM_CONTROL) {
        switch (method_of(o.code)) {
        case METHOD_BUFFERED: out = irp->AssociatedIrp.SystemBuffer; break;
        case METHOD_IN_DIRECT:
        case METHOD_OUT_DIRECT: out = irp->MdlAddress ? MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority) : nullptr; break;
        default: out = irp->UserBuffer; break;
        }
    } else if (irp->AssociatedIrp.SystemBuffer) {
        out = irp->AssociatedIrp.SystemBuffer;
    } else if (irp->MdlAddress) {
        out = MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
    } else {
        out = irp->UserBuffer;
    }
    if (out) std::memset(out, s.fill, s.fill_length);
}

void finish(PIRP irp, const Script& s) {
    irp->IoStatus.Status = s.status;
    irp->IoStatus.Information = s.information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

VOID LaterThread(PVOID ctx) {
    auto* w = static_cast<LaterWork*>(ctx);
    if (w->script.delay_ms) {
        LARGE_INTEGER d;
        d.QuadPart = -10000LL * w->script.delay_ms;
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
    finish(w->irp, w->script);
    delete w;
}

VOID DpcFinish(PKDPC, PVOID ctx, PVOID, PVOID) {
    auto* w = static_cast<DpcWork*>(ctx);
    finish(w->irp, w->script);
    delete w;  // the timer fired once and the DPC is no longer queued
}

// Where a read's or write's data lives, whatever the device's buffering.
PVOID data_buffer(PIRP irp) {
    if (irp->AssociatedIrp.SystemBuffer) return irp->AssociatedIrp.SystemBuffer;
    if (irp->MdlAddress) return MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
    return irp->UserBuffer;
}

// Script::pattern for reads and writes: produce or check the bytes of the offset. Like
// a file system, the driver moves a synchronous file's position past what it
// transferred (the I/O manager does not, S-DSP-5).
void apply_pattern(PIRP irp, const Observation& o, Script* s) {
    auto* data = static_cast<UCHAR*>(data_buffer(irp));
    ULONG length = o.output_length;
    s->status = STATUS_SUCCESS;
    s->information = length;
    s->fill_length = 0;
    for (ULONG i = 0; i < length && data; ++i) {
        UCHAR expected = pattern_byte(o.byte_offset.QuadPart + i);
        if (o.major == IRP_MJ_READ) {
            data[i] = expected;
        } else if (data[i] != expected) {
            s->status = STATUS_DATA_ERROR;
            break;
        }
    }
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(irp)->FileObject;
    if (NT_SUCCESS(s->status) && file && (file->Flags & FO_SYNCHRONOUS_IO))
        file->CurrentByteOffset.QuadPart = o.byte_offset.QuadPart + length;
}

Observation observe(PDEVICE_OBJECT dev, PIRP irp) {
    (void)dev;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    Observation o;
    o.major = sp->MajorFunction;
    o.minor = sp->MinorFunction;
    o.flags = irp->Flags;
    o.system_buffer = irp->AssociatedIrp.SystemBuffer;
    o.user_buffer = irp->UserBuffer;
    o.mdl = irp->MdlAddress;
    if (o.mdl) {
        o.mdl_va = MmGetMdlVirtualAddress(o.mdl);
        o.mdl_bytes = MmGetMdlByteCount(o.mdl);
    }
    o.irql = KeGetCurrentIrql();
    o.at = KeQueryInterruptTime();
    o.thread = PsGetCurrentThread();
    o.requestor_mode = irp->RequestorMode;
    o.file = sp->FileObject;
    o.original_file = irp->Tail.Overlay.OriginalFileObject;
    o.on_thread_list = irp->ThreadListEntry.Flink != &irp->ThreadListEntry &&
                       irp->Tail.Overlay.Thread == PsGetCurrentThread();
    o.current_location = irp->CurrentLocation;
    o.stack_count = irp->StackCount;
    if (sp->FileObject) {
        o.file_flags = sp->FileObject->Flags;
        if (sp->FileObject->FileName.Buffer)
            o.file_name.assign(sp->FileObject->FileName.Buffer, sp->FileObject->FileName.Length / sizeof(WCHAR));
    }
    if (o.major == IRP_MJ_DEVICE_CONTROL || o.major == IRP_MJ_FILE_SYSTEM_CONTROL) {
        o.code = sp->Parameters.DeviceIoControl.IoControlCode;
        o.input_length = sp->Parameters.DeviceIoControl.InputBufferLength;
        o.output_length = sp->Parameters.DeviceIoControl.OutputBufferLength;
        o.type3 = sp->Parameters.DeviceIoControl.Type3InputBuffer;
        if (o.system_buffer) {
            ULONG n = o.input_length > o.output_length ? o.input_length : o.output_length;
            if (method_of(o.code) != METHOD_BUFFERED) n = o.input_length;
            std::memcpy(o.system_buffer_head, o.system_buffer, n < 16 ? n : 16);
            ULONG zeros = 0;
            for (ULONG i = o.input_length; i < n && static_cast<unsigned char*>(o.system_buffer)[i] == 0; ++i) ++zeros;
            o.system_buffer_zero_tail = zeros;
        }
    } else if (o.major == IRP_MJ_READ || o.major == IRP_MJ_WRITE) {
        o.output_length = sp->Parameters.Read.Length;
        o.byte_offset = sp->Parameters.Read.ByteOffset;
        if (o.system_buffer && o.major == IRP_MJ_WRITE)
            std::memcpy(o.system_buffer_head, o.system_buffer, o.output_length < 16 ? o.output_length : 16);
    } else if (o.major == IRP_MJ_QUERY_INFORMATION || o.major == IRP_MJ_SET_INFORMATION ||
               o.major == IRP_MJ_QUERY_VOLUME_INFORMATION) {
        o.info_length = sp->Parameters.QueryFile.Length;
        o.info_class = static_cast<ULONG>(sp->Parameters.QueryFile.FileInformationClass);
        o.output_length = o.info_length;
        if (o.system_buffer && o.major == IRP_MJ_SET_INFORMATION)
            std::memcpy(o.system_buffer_head, o.system_buffer, o.info_length < 16 ? o.info_length : 16);
    } else if (o.major == IRP_MJ_CREATE) {
        o.share_access = sp->Parameters.Create.ShareAccess;
        o.create_access = sp->Parameters.Create.SecurityContext ? sp->Parameters.Create.SecurityContext->DesiredAccess : 0;
    }
    return o;
}

NTSTATUS run_script(PIRP irp, const Script& script, const Observation& o) {
    Script s = script;
    if (s.pattern && (o.major == IRP_MJ_READ || o.major == IRP_MJ_WRITE)) apply_pattern(irp, o, &s);
    if (s.finish == Finish::now) {
        fill_output(irp, o, s);
        if (s.protect_user_buffer && irp->UserBuffer && o.output_length) {
            auto first = reinterpret_cast<uintptr_t>(irp->UserBuffer) & ~uintptr_t(4095);
            auto end = reinterpret_cast<uintptr_t>(irp->UserBuffer) + o.output_length;
            mprotect(reinterpret_cast<void*>(first), end - first, PROT_READ);
        }
        if (s.mark_pending) IoMarkIrpPending(irp);
        NTSTATUS ret = s.override_return ? s.dispatch_return : s.status;
        finish(irp, s);
        return s.mark_pending && !s.override_return ? STATUS_PENDING : ret;
    }
    fill_output(irp, o, s);
    IoMarkIrpPending(irp);
    if (s.finish == Finish::held) {
        std::lock_guard g(g_state->lock);
        g_state->held.push_back(irp);
        return STATUS_PENDING;
    }
    if (s.finish == Finish::dpc) {
        auto* w = new DpcWork{{}, {}, irp, s};
        KeInitializeTimer(&w->timer);
        KeInitializeDpc(&w->dpc, DpcFinish, w);
        ULONG n = static_cast<ULONG>(g_state->dispatched.load());
        LARGE_INTEGER due;
        due.QuadPart = -10000LL * (s.delay_ms + (s.delay_spread ? n % s.delay_spread : 0));
        KeSetTimer(&w->timer, due, &w->dpc);
        return STATUS_PENDING;
    }
    HANDLE h;
    auto* w = new LaterWork{irp, s};
    if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, LaterThread, w))) {
        delete w;
        finish(irp, Script{.status = STATUS_INSUFFICIENT_RESOURCES});
        return STATUS_PENDING;
    }
    ZwClose(h);
    return STATUS_PENDING;
}

// The information requests, as a device with a size would answer them: the standard,
// basic, name, attribute-tag and all-information classes, the volume's serial, the end of
// file, allocation, attributes and delete disposition and, on an asynchronous file object
// (the I/O manager keeps a synchronous one's), the position. The script says how they finish;
// an error status in it replaces the answer.
Script answer_information(PIRP irp, const Observation& o) {
    Script s = g_state->next_info;
    if (!NT_SUCCESS(s.status)) return s;
    s.fill_length = 0;
    s.information = 0;
    void* buffer = irp->AssociatedIrp.SystemBuffer;
    if (o.major == IRP_MJ_FLUSH_BUFFERS) return s;
    auto standard = [](FILE_STANDARD_INFORMATION* info) {
        info->EndOfFile.QuadPart = g_state->end_of_file;
        info->AllocationSize.QuadPart =
            g_state->allocation_size ? g_state->allocation_size : (g_state->end_of_file + 511) & ~511LL;
        info->NumberOfLinks = 1;
        info->DeletePending = g_state->delete_pending;
        info->Directory = FALSE;
    };
    auto basic = [](FILE_BASIC_INFORMATION* info) {
        std::memset(info, 0, sizeof(*info));
        info->CreationTime.QuadPart = 0x01D0000000000001LL;
        info->LastWriteTime.QuadPart = 0x01D0000000000002LL;
        info->FileAttributes = g_state->file_attributes;
    };
    // A name in a FILE_NAME_INFORMATION of `room` bytes: the whole length always, as much
    // of the name as fits, and STATUS_BUFFER_OVERFLOW when not all of it did.
    auto name = [&s](FILE_NAME_INFORMATION* info, ULONG room) {
        ULONG bytes = static_cast<ULONG>(std::wcslen(kFileName) * sizeof(WCHAR));
        ULONG fits = room - offsetof(FILE_NAME_INFORMATION, FileName);
        info->FileNameLength = bytes;
        std::memcpy(info->FileName, kFileName, bytes < fits ? bytes : fits);
        if (bytes > fits) s.status = STATUS_BUFFER_OVERFLOW;
        return bytes < fits ? bytes : fits;
    };
    if (o.major == IRP_MJ_QUERY_INFORMATION && o.info_class == FileStandardInformation) {
        standard(static_cast<FILE_STANDARD_INFORMATION*>(buffer));
        s.information = sizeof(FILE_STANDARD_INFORMATION);
    } else if (o.major == IRP_MJ_QUERY_INFORMATION && o.info_class == FileBasicInformation) {
        basic(static_cast<FILE_BASIC_INFORMATION*>(buffer));
        s.information = sizeof(FILE_BASIC_INFORMATION);
    } else if (o.major == IRP_MJ_QUERY_INFORMATION && o.info_class == FileNameInformation) {
        s.information = offsetof(FILE_NAME_INFORMATION, FileName) +
                        name(static_cast<FILE_NAME_INFORMATION*>(buffer), o.info_length);
    } else if (o.major == IRP_MJ_QUERY_INFORMATION && o.info_class == FileAttributeTagInformation) {
        auto* info = static_cast<FILE_ATTRIBUTE_TAG_INFORMATION*>(buffer);
        info->FileAttributes = g_state->file_attributes;
        info->ReparseTag = 0;
        s.information = sizeof(*info);
    } else if (o.major == IRP_MJ_QUERY_INFORMATION && o.info_class == FileAllInformation) {
        auto* info = static_cast<FILE_ALL_INFORMATION*>(buffer);
        std::memset(info, 0, sizeof(*info));
        basic(&info->BasicInformation);
        standard(&info->StandardInformation);
        info->InternalInformation.IndexNumber.QuadPart = static_cast<LONGLONG>(kFileIndex);
        info->AccessInformation.AccessFlags = FILE_READ_DATA;
        s.information = offsetof(FILE_ALL_INFORMATION, NameInformation) +
                        offsetof(FILE_NAME_INFORMATION, FileName) +
                        name(&info->NameInformation, o.info_length - offsetof(FILE_ALL_INFORMATION, NameInformation));
    } else if (o.major == IRP_MJ_QUERY_VOLUME_INFORMATION && o.info_class == FileFsVolumeInformation) {
        auto* info = static_cast<FILE_FS_VOLUME_INFORMATION*>(buffer);
        std::memset(info, 0, sizeof(*info));
        info->VolumeSerialNumber = kVolumeSerial;
        s.information = offsetof(FILE_FS_VOLUME_INFORMATION, VolumeLabel);  // no label
    } else if (o.major == IRP_MJ_SET_INFORMATION && o.info_class == FileEndOfFileInformation) {
        g_state->end_of_file = static_cast<FILE_END_OF_FILE_INFORMATION*>(buffer)->EndOfFile.QuadPart;
    } else if (o.major == IRP_MJ_SET_INFORMATION && o.info_class == FileBasicInformation) {
        ULONG attributes = static_cast<FILE_BASIC_INFORMATION*>(buffer)->FileAttributes;
        if (attributes) g_state->file_attributes = attributes;  // 0: unchanged, as file systems take it
    } else if (o.major == IRP_MJ_SET_INFORMATION && o.info_class == FileAllocationInformation) {
        g_state->allocation_size = static_cast<FILE_ALLOCATION_INFORMATION*>(buffer)->AllocationSize.QuadPart;
    } else if (o.major == IRP_MJ_SET_INFORMATION && o.info_class == FileDispositionInformation) {
        g_state->delete_pending = static_cast<FILE_DISPOSITION_INFORMATION*>(buffer)->DeleteFile != FALSE;
    } else if (o.info_class == FilePositionInformation) {
        auto* info = static_cast<FILE_POSITION_INFORMATION*>(buffer);
        PFILE_OBJECT file = IoGetCurrentIrpStackLocation(irp)->FileObject;
        if (o.major == IRP_MJ_SET_INFORMATION) {
            file->CurrentByteOffset = info->CurrentByteOffset;
        } else {
            info->CurrentByteOffset = file->CurrentByteOffset;
            s.information = sizeof(*info);
        }
    } else {
        s.status = STATUS_INVALID_PARAMETER;
    }
    return s;
}

NTSTATUS Dispatch(PDEVICE_OBJECT dev, PIRP irp) {
    Observation o = observe(dev, irp);
    {
        std::lock_guard g(g_state->lock);
        g_state->log.push_back(o);
    }
    g_state->dispatched++;
    switch (o.major) {
    case IRP_MJ_CREATE: {
        g_state->creates++;
        NTSTATUS status = g_state->fail_create;
        if (NT_SUCCESS(status) && g_state->check_share_access) {
            PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
            std::lock_guard g(g_state->lock);
            status = IoCheckShareAccess(o.create_access, sp->Parameters.Create.ShareAccess, sp->FileObject,
                                        &g_state->share, TRUE);
        }
        return run_script(irp, Script{.status = status}, o);
    }
    case IRP_MJ_CLEANUP: {
        g_state->cleanups++;
        g_state->held_at_cleanup = static_cast<int>(held_count());
        if (g_state->check_share_access) {
            std::lock_guard g(g_state->lock);
            IoRemoveShareAccess(IoGetCurrentIrpStackLocation(irp)->FileObject, &g_state->share);
        }
        return run_script(irp, Script{}, o);
    }
    case IRP_MJ_CLOSE:
        g_state->closes++;
        return run_script(irp, Script{}, o);
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
        return run_script(irp, g_state->next_read_write, o);
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_FILE_SYSTEM_CONTROL: {
        Script s;
        bool have = false;
        if (o.code == IOCTL_UNKNOWN) return run_script(irp, Script{.status = STATUS_INVALID_DEVICE_REQUEST}, o);
        if (method_of(o.code) == METHOD_NEITHER) {
            if (o.type3 && o.input_length >= sizeof(Script)) {
                std::memcpy(&s, o.type3, sizeof(Script));
                have = true;
            }
        } else if (irp->AssociatedIrp.SystemBuffer && o.input_length >= sizeof(Script)) {
            std::memcpy(&s, irp->AssociatedIrp.SystemBuffer, sizeof(Script));
            have = true;
        }
        if (!have) s = Script{};
        return run_script(irp, s, o);
    }
    case IRP_MJ_QUERY_INFORMATION:
    case IRP_MJ_SET_INFORMATION:
    case IRP_MJ_QUERY_VOLUME_INFORMATION:
    case IRP_MJ_FLUSH_BUFFERS:
        return run_script(irp, answer_information(irp, o), o);
    default:
        return run_script(irp, Script{.status = STATUS_INVALID_DEVICE_REQUEST}, o);
    }
}

VOID Unload(PDRIVER_OBJECT driver) {
    for (const wchar_t* name : {kBuffered, kDirect, kNeither, kExclusive, L"TestUninitialized"}) {
        std::wstring link = std::wstring(L"\\DosDevices\\") + name;
        UNICODE_STRING us{static_cast<USHORT>(link.size() * sizeof(WCHAR)), static_cast<USHORT>(link.size() * sizeof(WCHAR)),
                          link.data()};
        IoDeleteSymbolicLink(&us);
    }
    while (driver->DeviceObject) IoDeleteDevice(driver->DeviceObject);
    g_state->unloaded = true;
}

NTSTATUS make_device(PDRIVER_OBJECT driver, const wchar_t* name, ULONG flags, BOOLEAN exclusive, PDEVICE_OBJECT* out) {
    std::wstring nt = std::wstring(L"\\Device\\") + name, dos = std::wstring(L"\\DosDevices\\") + name;
    UNICODE_STRING ntu{static_cast<USHORT>(nt.size() * sizeof(WCHAR)), static_cast<USHORT>(nt.size() * sizeof(WCHAR)), nt.data()};
    UNICODE_STRING dosu{static_cast<USHORT>(dos.size() * sizeof(WCHAR)), static_cast<USHORT>(dos.size() * sizeof(WCHAR)),
                        dos.data()};
    PDEVICE_OBJECT dev;
    NTSTATUS s = IoCreateDevice(driver, 16, &ntu, FILE_DEVICE_UNKNOWN, 0, exclusive, &dev);
    if (!NT_SUCCESS(s)) return s;
    dev->Flags |= flags;
    s = IoCreateSymbolicLink(&dosu, &ntu);
    if (out) *out = dev;
    return s;
}

}  // namespace

State& state() { return *g_state; }

void reset() {
    std::lock_guard g(g_state->lock);
    g_state->log.clear();
    g_state->held.clear();
    g_state->creates = g_state->cleanups = g_state->closes = g_state->dispatched = 0;
    g_state->held_at_cleanup = -1;
    g_state->fail_create = STATUS_SUCCESS;
    g_state->check_share_access = false;
    g_state->share = SHARE_ACCESS{};
    g_state->next_read_write = Script{};
    g_state->next_info = Script{};
    g_state->end_of_file = 0;
    g_state->file_attributes = FILE_ATTRIBUTE_NORMAL;
    g_state->allocation_size = 0;
    g_state->delete_pending = false;
    g_state->unloaded = false;
}

Observation last() {
    std::lock_guard g(g_state->lock);
    return g_state->log.empty() ? Observation{} : g_state->log.back();
}

std::vector<Observation> observations(UCHAR major) {
    std::lock_guard g(g_state->lock);
    std::vector<Observation> out;
    for (auto& o : g_state->log)
        if (o.major == major) out.push_back(o);
    return out;
}

size_t held_count() {
    std::lock_guard g(g_state->lock);
    return g_state->held.size();
}

bool complete_held(NTSTATUS status, ULONG information, ULONG fill_length, UCHAR fill) {
    PIRP irp;
    {
        std::lock_guard g(g_state->lock);
        if (g_state->held.empty()) return false;
        irp = g_state->held.front();
        g_state->held.erase(g_state->held.begin());
    }
    if (fill_length) {
        PVOID out = irp->AssociatedIrp.SystemBuffer;
        if (!out && irp->MdlAddress) out = MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
        if (!out) out = irp->UserBuffer;
        if (out) std::memset(out, fill, fill_length);
    }
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return true;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    g_state->driver = DriverObject;
    g_state->registry_path.assign(RegistryPath->Buffer, RegistryPath->Length / sizeof(WCHAR));
    g_state->driver_name.assign(DriverObject->DriverName.Buffer, DriverObject->DriverName.Length / sizeof(WCHAR));
    g_state->entry_irql = KeGetCurrentIrql();
    g_state->entry_on_system_thread = PsIsSystemThread(PsGetCurrentThread());
    for (auto& f : DriverObject->MajorFunction) f = Dispatch;
    DriverObject->DriverUnload = Unload;
    NTSTATUS s = make_device(DriverObject, kBuffered, DO_BUFFERED_IO, FALSE, nullptr);
    if (NT_SUCCESS(s)) s = make_device(DriverObject, kDirect, DO_DIRECT_IO, FALSE, nullptr);
    if (NT_SUCCESS(s)) s = make_device(DriverObject, kNeither, 0, FALSE, nullptr);
    if (NT_SUCCESS(s)) s = make_device(DriverObject, kExclusive, DO_BUFFERED_IO, TRUE, nullptr);
    return s;
}

void delete_device(const wchar_t* name) {
    std::wstring nt = std::wstring(L"\\Device\\") + name;
    std::wstring dos = std::wstring(L"\\DosDevices\\") + name;
    UNICODE_STRING dosu{static_cast<USHORT>(dos.size() * sizeof(WCHAR)), static_cast<USHORT>(dos.size() * sizeof(WCHAR)),
                        dos.data()};
    UNICODE_STRING ntu{static_cast<USHORT>(nt.size() * sizeof(WCHAR)), static_cast<USHORT>(nt.size() * sizeof(WCHAR)),
                       nt.data()};
    HANDLE h;
    IO_STATUS_BLOCK iosb;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &ntu, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    if (!NT_SUCCESS(ZwCreateFile(&h, 0, &oa, &iosb, nullptr, 0, 0, FILE_OPEN, 0, nullptr, 0))) return;
    PFILE_OBJECT fo;
    ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, reinterpret_cast<PVOID*>(&fo), nullptr);
    PDEVICE_OBJECT dev = fo->DeviceObject;
    ObDereferenceObject(fo);
    ZwClose(h);
    IoDeleteSymbolicLink(&dosu);
    IoDeleteDevice(dev);
}

PDEVICE_OBJECT create_uninitialized_device(const wchar_t* name) {
    PDEVICE_OBJECT dev = nullptr;
    make_device(g_state->driver, name, DO_BUFFERED_IO, FALSE, &dev);
    return dev;
}

}  // namespace testdrv
