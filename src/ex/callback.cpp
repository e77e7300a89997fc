// Callback objects (S-CB-1..5): ExCreateCallback, ExRegisterCallback, ExUnregisterCallback,
// ExNotifyCallback. A callback object is an object-manager object of type "Callback",
// named in \Callback like Windows's; it lives while referenced (the creator's reference,
// each opener's, each registration's) and its name goes with it.
//
// Registrations are called without the object's lock held (a routine may register or
// unregister, and runs at the notifier's IRQL, which may be PASSIVE_LEVEL), so each counts
// the calls in progress: ExUnregisterCallback unlinks the registration and waits for that
// count to fall to zero, unless the caller is that routine itself, in which case the last
// call to return frees it.
#include "ex/callback.hpp"

#include <algorithm>
#include <atomic>
#include <vector>

#include <fmt/format.h>

#include "ke/spin.hpp"
#include "ob/services.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

namespace ob = ntio::ob;

struct CallbackRegistration;

// What PCALLBACK_OBJECT points at (the object body).
struct _CALLBACK_OBJECT {
    explicit _CALLBACK_OBJECT(bool multiple) : allow_multiple(multiple) {}
    const bool allow_multiple;
    ntio::ke::SpinLock lock;
    std::vector<CallbackRegistration*> registrations;  // oldest first, under lock
};

struct CallbackRegistration {
    _CALLBACK_OBJECT* object;
    PCALLBACK_FUNCTION function;
    void* context;
    // Under object->lock: calls in progress; unlinked (no new call starts); the unregistering
    // thread waits on `idle` for busy to reach 0; or, unregistered from inside its own
    // routine, the last call to end frees the registration.
    int busy = 0;
    bool unregistered = false;
    bool waiter = false;
    bool free_when_idle = false;
    KEVENT idle;
};

namespace {

ob::ObjectType g_callback_type{"Callback", -1, STANDARD_RIGHTS_REQUIRED | 0x1, ob::destroy_body<_CALLBACK_OBJECT>,
                               nullptr};

// The registrations whose routine this thread is running, innermost last: unregistering
// one of them from inside it cannot wait for it.
thread_local std::vector<CallbackRegistration*> t_running;

bool running_here(CallbackRegistration* r) {
    for (CallbackRegistration* x : t_running)
        if (x == r) return true;
    return false;
}

// The runtime's list of live registrations: in it from ExRegisterCallback until one
// unregistering takes it out, so that of two calls to end it (a driver's and its unload's)
// only one goes on to free it.
void list_registration(CallbackRegistration* r) {
    ntio::System::Impl& s = ntio::sys();
    s.callbacks_lock.lock();
    s.callback_registrations.push_back(r);
    s.callbacks_lock.unlock();
}

bool unlist_registration(CallbackRegistration* r) {
    ntio::System::Impl& s = ntio::sys();
    s.callbacks_lock.lock();
    auto& v = s.callback_registrations;
    auto it = std::find(v.begin(), v.end(), r);
    bool listed = it != v.end();
    if (listed) v.erase(it);
    s.callbacks_lock.unlock();
    return listed;
}

void free_registration(CallbackRegistration* r) {
    _CALLBACK_OBJECT* object = r->object;
    delete r;
    ob::dereference(object);  // the registration's reference
}

// Opens (or, with `create`, makes) the object and returns it referenced, as Windows does:
// through a handle that is closed at once.
NTSTATUS open_or_create(POBJECT_ATTRIBUTES attributes, bool create, bool multiple, _CALLBACK_OBJECT** out) {
    ntio::ps::KernelModeScope kernel;
    OBJECT_ATTRIBUTES oa = *attributes;
    oa.Attributes |= OBJ_KERNEL_HANDLE;
    oa.Attributes &= ~OBJ_OPENIF;  // an existing object is opened on the first path below
    bool named = !ob::object_path(&oa).empty();
    HANDLE h = nullptr;
    NTSTATUS s = named ? ob::open_named_object(&oa, g_callback_type, STANDARD_RIGHTS_REQUIRED | 0x1, &h)
                       : STATUS_UNSUCCESSFUL;
    // A missing name (or no name) is created when asked; any other failure stands (a name
    // held by another kind of object, a missing directory).
    if (create && (s == STATUS_OBJECT_NAME_NOT_FOUND || s == STATUS_UNSUCCESSFUL)) {
        auto* body = ob::create<_CALLBACK_OBJECT>(g_callback_type, multiple);
        s = ob::insert_new_object(body, &oa, STANDARD_RIGHTS_REQUIRED | 0x1, &h);
        // Another thread made it between our open and our create: open that one.
        if (s == STATUS_OBJECT_NAME_COLLISION)
            s = ob::open_named_object(&oa, g_callback_type, STANDARD_RIGHTS_REQUIRED | 0x1, &h);
    }
    if (s == STATUS_OBJECT_NAME_NOT_FOUND && !create) {
        // Windows tells a missing directory from a missing name; the namespace's walk does.
        void* found = nullptr;
        std::wstring rest;
        NTSTATUS walk = ntio::sys().names.resolve(ob::object_path(&oa), &found, &rest);
        if (NT_SUCCESS(walk)) ob::dereference(found);
        else s = walk;
    }
    if (!NT_SUCCESS(s)) return s;
    void* object = nullptr;
    s = ob::reference_by_handle(h, &g_callback_type, KernelMode, 0, &object, nullptr);
    ZwClose(h);
    if (NT_SUCCESS(s)) *out = static_cast<_CALLBACK_OBJECT*>(object);
    return s;
}

// ExUnregisterCallback's work, for a registration taken off the runtime's list.
void unregister(CallbackRegistration* r) {
    _CALLBACK_OBJECT* object = r->object;
    object->lock.lock();
    auto& list = object->registrations;
    for (auto it = list.begin(); it != list.end(); ++it)
        if (*it == r) {
            list.erase(it);
            break;
        }
    r->unregistered = true;
    bool wait = r->busy > 0 && !running_here(r);
    bool later = r->busy > 0 && !wait;  // from inside its own routine: the last call frees it
    r->waiter = wait;
    r->free_when_idle = later;
    object->lock.unlock();
    if (later) return;
    if (wait) {
        KeWaitForSingleObject(&r->idle, Executive, KernelMode, FALSE, nullptr);
        // The notifier set the event under the object's lock and touches the registration
        // no more once it lets go of it (TSan saw the free race its last read).
        object->lock.lock();
        object->lock.unlock();
    }
    free_registration(r);
}

}  // namespace

namespace ntio::ex {

std::vector<std::string> unregister_callbacks_in(uintptr_t begin, uintptr_t end) {
    std::vector<CallbackRegistration*> left;
    System::Impl& s = sys();
    s.callbacks_lock.lock();
    auto& v = s.callback_registrations;
    for (auto it = v.begin(); it != v.end();) {
        auto* r = static_cast<CallbackRegistration*>(*it);
        auto a = reinterpret_cast<uintptr_t>(r->function);
        if (a >= begin && a < end) {
            left.push_back(r);
            it = v.erase(it);
        } else {
            ++it;
        }
    }
    s.callbacks_lock.unlock();
    std::vector<std::string> names;
    for (CallbackRegistration* r : left) {
        const std::wstring& wide = ob::ObjectHeader::of(r->object)->name;
        std::string name(wide.begin(), wide.end());  // object names here are ASCII
        names.push_back(fmt::format("the registration {} of routine {} (context {}) on the callback object {}",
                                    static_cast<void*>(r), reinterpret_cast<void*>(r->function), r->context,
                                    name.empty() ? fmt::format("at {}", static_cast<void*>(r->object)) : name));
        unregister(r);
    }
    return names;
}

}  // namespace ntio::ex

extern "C" {

NTSTATUS ExCreateCallback(PCALLBACK_OBJECT* CallbackObject, POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN Create,
                          BOOLEAN AllowMultipleCallbacks) {
    ntio::verifier::check_irql_at_most(PASSIVE_LEVEL, "ExCreateCallback");
    if (!CallbackObject || !ObjectAttributes) return STATUS_INVALID_PARAMETER;
    _CALLBACK_OBJECT* object = nullptr;
    NTSTATUS s = open_or_create(ObjectAttributes, Create != FALSE, AllowMultipleCallbacks != FALSE, &object);
    if (NT_SUCCESS(s)) *CallbackObject = object;
    return s;
}

PVOID ExRegisterCallback(PCALLBACK_OBJECT CallbackObject, PCALLBACK_FUNCTION CallbackFunction,
                         PVOID CallbackContext) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "ExRegisterCallback");
    if (!CallbackObject || !CallbackFunction) return nullptr;
    auto* r = new CallbackRegistration;
    r->object = CallbackObject;
    r->function = CallbackFunction;
    r->context = CallbackContext;
    KeInitializeEvent(&r->idle, NotificationEvent, FALSE);
    ob::reference(CallbackObject);
    list_registration(r);  // before any thread can see it on the object
    CallbackObject->lock.lock();
    bool refused = !CallbackObject->allow_multiple && !CallbackObject->registrations.empty();
    if (!refused) CallbackObject->registrations.push_back(r);
    CallbackObject->lock.unlock();
    if (refused) {
        unlist_registration(r);
        free_registration(r);
        return nullptr;
    }
    return r;
}

VOID ExUnregisterCallback(PVOID CallbackRegistration) {
    ntio::verifier::check_irql_at_most(APC_LEVEL, "ExUnregisterCallback");
    auto* r = static_cast<struct CallbackRegistration*>(CallbackRegistration);
    if (!r) return;
    if (!unlist_registration(r)) {
        // Freed already: reading it would be a use after free, as on Windows (which would
        // corrupt the object's list or fault).
        ntio::verifier::report(ntio::verifier::Check::InvalidParameter,
                               fmt::format("ExUnregisterCallback({}): not a registration ExRegisterCallback "
                                           "returned, or one already unregistered; nothing was done",
                                           CallbackRegistration));
        return;
    }
    unregister(r);
}

VOID ExNotifyCallback(PVOID CallbackObject, PVOID Argument1, PVOID Argument2) {
    ntio::verifier::check_irql_at_most(DISPATCH_LEVEL, "ExNotifyCallback");
    auto* object = static_cast<_CALLBACK_OBJECT*>(CallbackObject);
    if (!object) return;
    // Each registration is taken (busy) under the lock and called outside it, so that the
    // routine may register or unregister; a registration added meanwhile is called too if
    // it lands after the one just called, as on Windows where the walk follows the list.
    object->lock.lock();
    for (size_t i = 0; i < object->registrations.size(); ++i) {
        CallbackRegistration* r = object->registrations[i];
        ++r->busy;
        object->lock.unlock();
        t_running.push_back(r);
        r->function(r->context, Argument1, Argument2);
        t_running.pop_back();
        object->lock.lock();
        bool free_now = false;
        if (--r->busy == 0) {
            // Read before the waiter is woken: it frees the registration once it has the lock.
            free_now = r->free_when_idle;
            if (r->waiter) KeSetEvent(&r->idle, IO_NO_INCREMENT, FALSE);
        }
        // The registration may have left the list (unregistered by its routine or by
        // another thread): continue after the position it had.
        size_t at = object->registrations.size();
        for (size_t k = 0; k < object->registrations.size(); ++k)
            if (object->registrations[k] == r) at = k;
        if (at == object->registrations.size()) i = i == 0 ? SIZE_MAX : i - 1;  // ++i revisits the slot
        else i = at;
        if (free_now) {
            object->lock.unlock();
            free_registration(r);  // the object stays: the caller holds a reference to it
            object->lock.lock();
        }
    }
    object->lock.unlock();
}

}  // extern "C"
