// Ob* and the handle services: ObReferenceObjectByHandle (S-KE-23), ZwClose
// (S-KE-24), NtDuplicateObject, the handles' flags (S-OBH), and directory objects.
#include "ob/services.hpp"

#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using ntio::sys;

namespace ntio::ob {

struct Directory {
    int unused = 0;
};
ObjectType g_directory_type{"Directory", -1, DIRECTORY_ALL_ACCESS, destroy_body<Directory>, nullptr};
ObjectType g_symlink_type{"SymbolicLink", -1, STANDARD_RIGHTS_REQUIRED | 1, destroy_body<SymbolicLink>, nullptr};

namespace {
// The current-process/-thread pseudo handles, referenced (with all access), or nullptr.
void* reference_pseudo(HANDLE handle, const ObjectType* type, void** body, ACCESS_MASK* granted, NTSTATUS* status) {
    if (handle != NtCurrentProcess() && handle != NtCurrentThread()) return nullptr;
    void* obj = handle == NtCurrentProcess() ? static_cast<void*>(ps::current_process())
                                             : static_cast<void*>(ps::current_thread());
    if (type && type_of(obj) != type) {
        *status = STATUS_OBJECT_TYPE_MISMATCH;
        return obj;
    }
    reference(obj);
    *body = obj;
    if (granted) *granted = type_of(obj)->all_access;
    *status = STATUS_SUCCESS;
    return obj;
}
}  // namespace

// Two bodies rather than one calling the other: the request path's fallback calls this
// one, and a seventh (stack) argument there, as the link-time inliner left it, cost every
// DeviceIoControl 11 instructions of frame set-up (callgrind).
NTSTATUS reference_by_handle(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode, ACCESS_MASK desired,
                             void** body, ACCESS_MASK* granted) {
    NTSTATUS status;
    if (reference_pseudo(handle, type, body, granted, &status)) return status;
    return sys().handles.reference(handle, type, mode, desired, body, granted);
}

NTSTATUS reference_by_handle_with_flags(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode,
                                        ACCESS_MASK desired, void** body, ACCESS_MASK* granted, uint32_t* flags) {
    NTSTATUS status;
    *flags = 0;  // a pseudo handle has none
    if (reference_pseudo(handle, type, body, granted, &status)) return status;
    return sys().handles.reference(handle, type, mode, desired, body, granted, flags);
}

ACCESS_MASK map_generic(const ObjectType& type, ACCESS_MASK access) {
    if (access & (GENERIC_ALL | MAXIMUM_ALLOWED)) return type.all_access;
    ACCESS_MASK specific = access & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE);
    if (access & (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE)) specific |= type.all_access;
    return specific;
}

std::wstring object_path(const OBJECT_ATTRIBUTES* attributes) {
    if (!attributes || !attributes->ObjectName || !attributes->ObjectName->Buffer) return {};
    return std::wstring(attributes->ObjectName->Buffer, attributes->ObjectName->Length / sizeof(WCHAR));
}

NTSTATUS insert_new_object(void* body, const OBJECT_ATTRIBUTES* attributes, ACCESS_MASK access, HANDLE* handle) {
    const ObjectType& type = *type_of(body);
    bool kernel = attributes && (attributes->Attributes & OBJ_KERNEL_HANDLE);
    std::wstring path = object_path(attributes);
    NTSTATUS result = STATUS_SUCCESS;
    void* target = body;
    if (!path.empty()) {
        if (path[0] != L'\\') {
            dereference(body);
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        }
        void* existing = nullptr;
        NTSTATUS inserted = sys().names.insert(path, body, &existing);
        if (inserted != STATUS_SUCCESS && inserted != STATUS_OBJECT_NAME_COLLISION) {
            dereference(body);
            return inserted;
        }
        if (inserted == STATUS_OBJECT_NAME_COLLISION) {
            dereference(body);
            if (type_of(existing) != &type) {
                dereference(existing);
                return STATUS_OBJECT_TYPE_MISMATCH;
            }
            if (!(attributes->Attributes & OBJ_OPENIF)) {
                dereference(existing);
                return STATUS_OBJECT_NAME_COLLISION;
            }
            target = existing;
            result = STATUS_OBJECT_NAME_EXISTS;
        }
    }
    NTSTATUS s = sys().handles.insert(target, map_generic(type, access), kernel, handle,
                                      attributes ? handle_flags_from_obj(attributes->Attributes & OBJ_INHERIT) : 0);
    dereference(target);  // the handle holds the object now
    return NT_SUCCESS(s) ? result : s;
}

NTSTATUS open_named_object(const OBJECT_ATTRIBUTES* attributes, const ObjectType& type, ACCESS_MASK access,
                           HANDLE* handle) {
    std::wstring path = object_path(attributes);
    if (path.empty()) return STATUS_OBJECT_NAME_INVALID;
    void* obj = sys().names.lookup_referenced(path);
    if (!obj) return STATUS_OBJECT_NAME_NOT_FOUND;
    if (type_of(obj) != &type) {
        dereference(obj);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    bool kernel = attributes->Attributes & OBJ_KERNEL_HANDLE;
    NTSTATUS s = sys().handles.insert(obj, map_generic(type, access), kernel, handle,
                                      handle_flags_from_obj(attributes->Attributes & OBJ_INHERIT));
    dereference(obj);
    return s;
}

}  // namespace ntio::ob

namespace ob = ntio::ob;

extern "C" {

NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                   KPROCESSOR_MODE AccessMode, PVOID* Object,
                                   POBJECT_HANDLE_INFORMATION HandleInformation) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "ObReferenceObjectByHandle");
    if (!Object) return STATUS_INVALID_PARAMETER;
    ACCESS_MASK granted = 0;
    uint32_t flags = 0;
    NTSTATUS s = ob::reference_by_handle_with_flags(Handle, ObjectType, AccessMode, DesiredAccess, Object, &granted, &flags);
    if (NT_SUCCESS(s) && HandleInformation) {
        HandleInformation->GrantedAccess = granted;
        HandleInformation->HandleAttributes = ob::obj_from_handle_flags(flags);  // S-OBH-7
    }
    return s;
}

NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                    KPROCESSOR_MODE AccessMode) {
    (void)DesiredAccess;
    (void)AccessMode;
    if (ObjectType && ob::type_of(Object) != ObjectType) return STATUS_OBJECT_TYPE_MISMATCH;
    ob::reference(Object);
    return STATUS_SUCCESS;
}

LONG_PTR ObfReferenceObject(PVOID Object) {
    return ob::ObjectHeader::of(Object)->refs.fetch_add(1, std::memory_order_relaxed) + 1;
}

LONG_PTR ObfDereferenceObject(PVOID Object) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "ObDereferenceObject");
    LONG_PTR left = ob::ObjectHeader::of(Object)->refs.load(std::memory_order_relaxed) - 1;
    ob::dereference(Object);
    return left;
}

NTSTATUS NtClose(HANDLE Handle) {
    if (Handle == NtCurrentProcess() || Handle == NtCurrentThread()) return STATUS_SUCCESS;
    KPROCESSOR_MODE mode = ntio::ps::previous_mode();
    NTSTATUS s = sys().handles.close(Handle, mode);
    // S-OBH-3: Windows stops the system here (INVALID_KERNEL_HANDLE, parameter 2 zero);
    // ntio reports it and leaves the handle open, as a user-mode close would.
    if (s == STATUS_HANDLE_NOT_CLOSABLE && mode == KernelMode)
        ntio::verifier::report(ntio::verifier::Check::INVALID_KERNEL_HANDLE,
                               fmt::format("kernel-mode code closed handle {} which is protected from close "
                                           "(OBJ_PROTECT_CLOSE / HANDLE_FLAG_PROTECT_FROM_CLOSE); Windows stops with "
                                           "INVALID_KERNEL_HANDLE (0x93, {}, 0). The handle stays open: clear its "
                                           "protection (ObSetHandleAttributes) before ZwClose",
                                           Handle, Handle));
    return s;
}

NTSTATUS ZwClose(HANDLE Handle) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "ZwClose");
    ntio::ps::KernelModeScope kernel;
    return NtClose(Handle);
}

// S-OBH-4: the new handle's flags are the call's (OBJ_INHERIT, OBJ_PROTECT_CLOSE in
// HandleAttributes) or, with DUPLICATE_SAME_ATTRIBUTES, the source's; DUPLICATE_CLOSE_SOURCE
// closes the source once it was found, whether the duplicate was made or not, and the
// source's own close failing (a protected source, which then stays open) is not the call's.
NTSTATUS NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                           PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options) {
    if (SourceProcessHandle != NtCurrentProcess()) return STATUS_INVALID_HANDLE;  // one process: only its pseudo handle names it
    void* body = nullptr;
    ACCESS_MASK granted = 0;
    uint32_t source_flags = 0;
    NTSTATUS s = ob::reference_by_handle_with_flags(SourceHandle, nullptr, KernelMode, 0, &body, &granted, &source_flags);
    if (!NT_SUCCESS(s)) return s;
    if (!TargetProcessHandle) {
        // No target: the call only closes the source (ObDuplicateObject in ReactOS).
        s = (Options & DUPLICATE_CLOSE_SOURCE) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    } else if (TargetProcessHandle != NtCurrentProcess()) {
        s = STATUS_INVALID_HANDLE;
    } else {
        ACCESS_MASK access =
            (Options & DUPLICATE_SAME_ACCESS) ? granted : ob::map_generic(*ob::type_of(body), DesiredAccess);
        uint32_t flags = (Options & DUPLICATE_SAME_ATTRIBUTES) ? source_flags : ob::handle_flags_from_obj(HandleAttributes);
        s = TargetHandle ? sys().handles.insert(body, access, false, TargetHandle, flags) : STATUS_SUCCESS;
    }
    ob::dereference(body);
    if (Options & DUPLICATE_CLOSE_SOURCE) (void)NtClose(SourceHandle);
    return s;
}

NTSTATUS ZwDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                           PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options) {
    ntio::ps::KernelModeScope kernel;
    return NtDuplicateObject(SourceProcessHandle, SourceHandle, TargetProcessHandle, TargetHandle, DesiredAccess,
                             HandleAttributes, Options);
}

// S-OBH-5: the flags of one handle. A pseudo handle names no entry: it has no flags to
// report and none can be set (STATUS_ACCESS_DENIED, as Wine's server answers).
NTSTATUS ObSetHandleAttributes(HANDLE Handle, POBJECT_HANDLE_FLAG_INFORMATION HandleFlags,
                               KPROCESSOR_MODE PreviousMode) {
    if (!HandleFlags) return STATUS_INVALID_PARAMETER;
    if (Handle == NtCurrentProcess() || Handle == NtCurrentThread()) return STATUS_ACCESS_DENIED;
    uint32_t flags = (HandleFlags->Inherit ? ob::kHandleAttrInherit : 0) |
                     (HandleFlags->ProtectFromClose ? ob::kHandleAttrProtect : 0);
    return sys().handles.set_flags(Handle, PreviousMode, ob::kHandleFlags, flags);
}

NTSTATUS NtQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass, PVOID ObjectInformation,
                       ULONG ObjectInformationLength, PULONG ReturnLength) {
    if (ObjectInformationClass != ObjectHandleFlagInformation) {
        // The other classes exist on Windows but not here: say so rather than answer wrongly.
        return ObjectInformationClass <= ObjectSessionObjectInformation ? STATUS_NOT_IMPLEMENTED
                                                                        : STATUS_INVALID_INFO_CLASS;
    }
    if (ObjectInformationLength != sizeof(OBJECT_HANDLE_FLAG_INFORMATION)) return STATUS_INFO_LENGTH_MISMATCH;
    if (!ObjectInformation) return STATUS_ACCESS_VIOLATION;
    void* body = nullptr;
    uint32_t flags = 0;
    NTSTATUS s = ob::reference_by_handle_with_flags(Handle, nullptr, ntio::ps::previous_mode(), 0, &body, nullptr, &flags);
    if (!NT_SUCCESS(s)) return s;
    ob::dereference(body);
    auto* info = static_cast<POBJECT_HANDLE_FLAG_INFORMATION>(ObjectInformation);
    info->Inherit = (flags & ob::kHandleAttrInherit) ? TRUE : FALSE;
    info->ProtectFromClose = (flags & ob::kHandleAttrProtect) ? TRUE : FALSE;
    if (ReturnLength) *ReturnLength = sizeof(OBJECT_HANDLE_FLAG_INFORMATION);
    return STATUS_SUCCESS;
}

NTSTATUS ZwQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass, PVOID ObjectInformation,
                       ULONG ObjectInformationLength, PULONG ReturnLength) {
    ntio::ps::KernelModeScope kernel;
    return NtQueryObject(Handle, ObjectInformationClass, ObjectInformation, ObjectInformationLength, ReturnLength);
}

NTSTATUS NtSetInformationObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                PVOID ObjectInformation, ULONG ObjectInformationLength) {
    if (ObjectInformationClass != ObjectHandleFlagInformation) {
        // Basic, name and type information cannot be set; the session classes are not here.
        return ObjectInformationClass == ObjectSessionInformation ||
                       ObjectInformationClass == ObjectSessionObjectInformation
                   ? STATUS_NOT_IMPLEMENTED
                   : STATUS_INVALID_INFO_CLASS;
    }
    if (ObjectInformationLength != sizeof(OBJECT_HANDLE_FLAG_INFORMATION)) return STATUS_INFO_LENGTH_MISMATCH;
    if (!ObjectInformation) return STATUS_ACCESS_VIOLATION;
    return ObSetHandleAttributes(Handle, static_cast<POBJECT_HANDLE_FLAG_INFORMATION>(ObjectInformation),
                                 ntio::ps::previous_mode());
}

NTSTATUS ZwSetInformationObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                PVOID ObjectInformation, ULONG ObjectInformationLength) {
    ntio::ps::KernelModeScope kernel;
    return NtSetInformationObject(Handle, ObjectInformationClass, ObjectInformation, ObjectInformationLength);
}

NTSTATUS ZwCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes) {
    if (!DirectoryHandle) return STATUS_ACCESS_VIOLATION;
    ntio::ps::KernelModeScope kernel;
    auto* d = ob::create<ob::Directory>(ob::g_directory_type);
    return ob::insert_new_object(d, ObjectAttributes, DesiredAccess, DirectoryHandle);
}

}  // extern "C"
