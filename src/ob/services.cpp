// Ob* and the handle services: ObReferenceObjectByHandle (S-KE-23), ZwClose
// (S-KE-24), NtDuplicateObject, and directory objects.
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

NTSTATUS reference_by_handle(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode, ACCESS_MASK desired,
                             void** body, ACCESS_MASK* granted) {
    if (handle == NtCurrentProcess() || handle == NtCurrentThread()) {
        void* obj = handle == NtCurrentProcess() ? static_cast<void*>(ps::current_process())
                                                 : static_cast<void*>(ps::current_thread());
        if (type && type_of(obj) != type) return STATUS_OBJECT_TYPE_MISMATCH;
        reference(obj);
        *body = obj;
        if (granted) *granted = type_of(obj)->all_access;
        return STATUS_SUCCESS;
    }
    return sys().handles.reference(handle, type, mode, desired, body, granted);
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
    NTSTATUS s = sys().handles.insert(target, map_generic(type, access), kernel, handle);
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
    NTSTATUS s = sys().handles.insert(obj, map_generic(type, access), kernel, handle);
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
    NTSTATUS s = ob::reference_by_handle(Handle, ObjectType, AccessMode, DesiredAccess, Object, &granted);
    if (NT_SUCCESS(s) && HandleInformation) {
        HandleInformation->GrantedAccess = granted;
        HandleInformation->HandleAttributes = 0;
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
    return sys().handles.close(Handle, ntio::ps::previous_mode());
}

NTSTATUS ZwClose(HANDLE Handle) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "ZwClose");
    ntio::ps::KernelModeScope kernel;
    return NtClose(Handle);
}

NTSTATUS NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                           PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options) {
    (void)HandleAttributes;
    if (SourceProcessHandle != NtCurrentProcess() || TargetProcessHandle != NtCurrentProcess())
        return STATUS_INVALID_HANDLE;  // one process: only the current-process pseudo handle names it
    void* body = nullptr;
    ACCESS_MASK granted = 0;
    NTSTATUS s = ob::reference_by_handle(SourceHandle, nullptr, KernelMode, 0, &body, &granted);
    if (!NT_SUCCESS(s)) return s;
    ACCESS_MASK access = (Options & 2 /* DUPLICATE_SAME_ACCESS */) ? granted : ob::map_generic(*ob::type_of(body), DesiredAccess);
    s = TargetHandle ? sys().handles.insert(body, access, false, TargetHandle) : STATUS_SUCCESS;
    ob::dereference(body);
    if (NT_SUCCESS(s) && (Options & 1 /* DUPLICATE_CLOSE_SOURCE */)) NtClose(SourceHandle);
    return s;
}

NTSTATUS ZwCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes) {
    if (!DirectoryHandle) return STATUS_ACCESS_VIOLATION;
    ntio::ps::KernelModeScope kernel;
    auto* d = ob::create<ob::Directory>(ob::g_directory_type);
    return ob::insert_new_object(d, ObjectAttributes, DesiredAccess, DirectoryHandle);
}

}  // extern "C"
