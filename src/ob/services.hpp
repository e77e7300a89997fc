#pragma once
#include <string>

#include "ob/object.hpp"

namespace ntio::ob {
// Like the handle table's reference, plus the current-process/-thread pseudo handles.
NTSTATUS reference_by_handle(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode, ACCESS_MASK desired,
                             void** body, ACCESS_MASK* granted);
// The same, with the handle's flags in *flags (kHandleAttr*; none for a pseudo handle).
// Not a parameter of the above: see services.cpp.
NTSTATUS reference_by_handle_with_flags(HANDLE handle, const ObjectType* type, KPROCESSOR_MODE mode,
                                        ACCESS_MASK desired, void** body, ACCESS_MASK* granted, uint32_t* flags);
ACCESS_MASK map_generic(const ObjectType& type, ACCESS_MASK access);
std::wstring object_path(const OBJECT_ATTRIBUTES* attributes);
// Names (OBJ_OPENIF honoured) and inserts a handle for a freshly created object,
// consuming the creation reference. May return STATUS_OBJECT_NAME_EXISTS (success).
NTSTATUS insert_new_object(void* body, const OBJECT_ATTRIBUTES* attributes, ACCESS_MASK access, HANDLE* handle);
NTSTATUS open_named_object(const OBJECT_ATTRIBUTES* attributes, const ObjectType& type, ACCESS_MASK access,
                           HANDLE* handle);
}  // namespace ntio::ob
