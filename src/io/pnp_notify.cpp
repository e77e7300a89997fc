// PnP notifications (S-PNPN-1..6): IoRegisterPlugPlayNotification for device interface
// changes, and IoUnregisterPlugPlayNotification(Ex).
//
// The PnP manager's IoSetDeviceInterfaceState reports each change here under its table
// lock; the change becomes an event that lists the registrations of its class alive at
// that moment (each referenced), queued in order. One executive work item at a time
// drains the queue, so every callback runs at PASSIVE_LEVEL on a system thread, one event
// after the other, as Windows's PnP event thread delivers them. A registration that asks
// for the interfaces already enabled gets them as arrivals on the registering thread
// before IoRegisterPlugPlayNotification returns; it is listed (under the PnP manager's
// lock, so no change slips between the list of enabled interfaces and the registration)
// with that thread as its caller, so the worker's first event for it waits until those
// arrivals are done.
//
// Registration lifetime: one reference for being registered, one per queued event that
// targets it, one for a caller between finding it and calling it. Unregistering unlists
// it, releases the driver object and drops the first; the Ex form then waits until a call
// in progress on another thread has returned.
#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/iomgr.hpp"
#include "ke/objects.hpp"
#include "ob/object.hpp"
#include "ps/thread.hpp"
#include "system.hpp"
#include "verifier/drivers.hpp"
#include "verifier/report.hpp"
// libntio defines the <wdmguid.h> GUIDs, as wdmguid.lib does for Windows drivers: exported,
// though the library hides what it does not mark.
#pragma GCC visibility push(default)
#include "initguid.h"
#include "wdmguid.h"
#pragma GCC visibility pop

namespace ntio::io {

struct PnpRegistration {
    std::atomic<int> refs{1};
    GUID interface_class;
    DriverBody* driver;  // referenced until unregistered
    PDRIVER_NOTIFICATION_CALLBACK_ROUTINE routine;
    void* context;
    // Under PnpNotifications::lock.
    bool live = true;
    _KTHREAD* caller = nullptr;  // the thread running (or about to run) the routine
    KEVENT idle;                 // set while no thread is the caller
};

struct PnpNotifications {
    struct Event {
        GUID interface_class;
        std::wstring link;
        bool arrival;
        std::vector<PnpRegistration*> targets;  // referenced
    };
    std::mutex lock;
    std::vector<PnpRegistration*> registrations;  // registration order
    std::deque<Event> queue;
    bool draining = false;  // the work item is queued or running
    WORK_QUEUE_ITEM item;
};

namespace {

std::mutex g_create_lock;

PnpNotifications& notifications() {
    System::Impl& s = sys();
    if (PnpNotifications* n = s.pnp_notifications.load(std::memory_order_acquire)) return *n;
    std::lock_guard g(g_create_lock);
    if (!s.pnp_notifications.load()) s.pnp_notifications.store(new PnpNotifications, std::memory_order_release);
    return *s.pnp_notifications.load();
}

void release(PnpRegistration* r) {
    if (r->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete r;
}

// Calls the routine unless the registration has gone; waits while another thread calls it,
// so one registration never runs on two threads at once.
void deliver(PnpNotifications& n, PnpRegistration* r, const GUID& event, const GUID& cls, const std::wstring& link) {
    _KTHREAD* self = ps::current_thread();
    bool held = false;  // the registering thread, between its existing arrivals: it keeps the hold
    {
        std::unique_lock g(n.lock);
        for (;;) {
            if (!r->live) return;
            held = r->caller == self;
            if (!r->caller || held) break;
            g.unlock();
            KeWaitForSingleObject(&r->idle, Executive, KernelMode, FALSE, nullptr);
            g.lock();
        }
        r->caller = self;
        KeClearEvent(&r->idle);
    }
    std::wstring text = link;  // the routine's own copy: it may write into the buffer
    UNICODE_STRING name{static_cast<USHORT>(text.size() * sizeof(WCHAR)),
                        static_cast<USHORT>(text.size() * sizeof(WCHAR)), text.data()};
    DEVICE_INTERFACE_CHANGE_NOTIFICATION note{1, sizeof(DEVICE_INTERFACE_CHANGE_NOTIFICATION), event, cls, &name};
    {
        verifier::drivers::Scope scope(r->driver->verifier_id);
        r->routine(&note, r->context);
    }
    if (held) return;
    std::lock_guard g(n.lock);
    r->caller = nullptr;
    KeSetEvent(&r->idle, IO_NO_INCREMENT, FALSE);
}

// The work item: the queued events, oldest first, until none is left.
void drain(PVOID) {
    PnpNotifications& n = notifications();
    for (;;) {
        PnpNotifications::Event e;
        {
            std::lock_guard g(n.lock);
            if (n.queue.empty()) {
                n.draining = false;
                return;
            }
            e = std::move(n.queue.front());
            n.queue.pop_front();
        }
        const GUID& what = e.arrival ? GUID_DEVICE_INTERFACE_ARRIVAL : GUID_DEVICE_INTERFACE_REMOVAL;
        for (PnpRegistration* r : e.targets) {
            deliver(n, r, what, e.interface_class, e.link);
            release(r);
        }
    }
}

// Ends a registration; false when `entry` is not a live one. Ex: waits for a call in
// progress on another thread.
bool unregister(void* entry, bool wait) {
    PnpNotifications* n = sys().pnp_notifications.load(std::memory_order_acquire);
    if (!n || !entry) return false;
    auto* r = static_cast<PnpRegistration*>(entry);
    {
        std::unique_lock g(n->lock);
        auto it = std::find(n->registrations.begin(), n->registrations.end(), r);
        if (it == n->registrations.end()) return false;  // never registered, or unregistered already
        n->registrations.erase(it);
        r->live = false;
        _KTHREAD* self = ps::current_thread();
        while (wait && r->caller && r->caller != self) {
            g.unlock();
            KeWaitForSingleObject(&r->idle, Executive, KernelMode, FALSE, nullptr);
            g.lock();
        }
    }
    ob::dereference(r->driver);
    release(r);
    return true;
}

}  // namespace

namespace pnp {

void interface_state_changed(const GUID& interface_class, const std::wstring& link, bool enabled) {
    PnpNotifications* n = sys().pnp_notifications.load(std::memory_order_acquire);
    if (!n) return;
    PnpNotifications::Event e{interface_class, link, enabled, {}};
    std::lock_guard g(n->lock);
    for (PnpRegistration* r : n->registrations)
        if (IsEqualGUID(r->interface_class, interface_class)) {
            r->refs.fetch_add(1, std::memory_order_relaxed);
            e.targets.push_back(r);
        }
    if (e.targets.empty()) return;
    n->queue.push_back(std::move(e));
    if (n->draining) return;
    n->draining = true;
    ExInitializeWorkItem(&n->item, drain, nullptr);
    sys().work_items.queue(&n->item);
}

std::vector<std::string> unregister_left_by(DriverBody* d) {
    std::vector<void*> left;
    std::vector<std::string> names;
    if (PnpNotifications* n = sys().pnp_notifications.load(std::memory_order_acquire)) {
        std::lock_guard g(n->lock);
        for (PnpRegistration* r : n->registrations)
            if (r->driver == d) {
                left.push_back(r);
                const GUID& c = r->interface_class;
                names.push_back(fmt::format(
                    "the PnP notification {} (EventCategoryDeviceInterfaceChange for "
                    "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}, callback {})",
                    static_cast<void*>(r), c.Data1, c.Data2, c.Data3, c.Data4[0], c.Data4[1], c.Data4[2],
                    c.Data4[3], c.Data4[4], c.Data4[5], c.Data4[6], c.Data4[7], reinterpret_cast<void*>(r->routine)));
            }
    }
    for (void* r : left) unregister(r, true);
    return names;
}

void destroy_notifications(PnpNotifications* n) {
    if (!n) return;
    // Every runtime thread has ended: what is left was never unregistered (a driver that
    // has no DriverUnload) or never delivered.
    for (auto& e : n->queue)
        for (PnpRegistration* r : e.targets) release(r);
    for (PnpRegistration* r : n->registrations) {
        ob::dereference(r->driver);
        release(r);
    }
    delete n;
}

}  // namespace pnp
}  // namespace ntio::io

using namespace ntio;

extern "C" {

NTSTATUS IoRegisterPlugPlayNotification(IO_NOTIFICATION_EVENT_CATEGORY EventCategory, ULONG EventCategoryFlags,
                                        PVOID EventCategoryData, PDRIVER_OBJECT DriverObject,
                                        PDRIVER_NOTIFICATION_CALLBACK_ROUTINE CallbackRoutine, PVOID Context,
                                        PVOID* NotificationEntry) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoRegisterPlugPlayNotification");
    if (EventCategory == EventCategoryTargetDeviceChange || EventCategory == EventCategoryHardwareProfileChange ||
        EventCategory == EventCategoryKernelSoftRestart) {
        std::fprintf(stderr,
                     "ntio: IoRegisterPlugPlayNotification: only EventCategoryDeviceInterfaceChange is implemented "
                     "(category %d asked); STATUS_NOT_SUPPORTED (docs/compat.md, Plug and Play)\n",
                     static_cast<int>(EventCategory));
        return STATUS_NOT_SUPPORTED;
    }
    if (EventCategory != EventCategoryDeviceInterfaceChange || !EventCategoryData || !DriverObject ||
        !CallbackRoutine || !NotificationEntry ||
        (EventCategoryFlags & ~ULONG{PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES}))
        return STATUS_INVALID_PARAMETER;
    io::PnpNotifications& n = io::notifications();
    auto* r = new io::PnpRegistration;
    r->interface_class = *static_cast<const GUID*>(EventCategoryData);
    r->driver = reinterpret_cast<io::DriverBody*>(DriverObject);
    r->routine = CallbackRoutine;
    r->context = Context;
    KeInitializeEvent(&r->idle, NotificationEvent, TRUE);
    ob::reference(r->driver);
    bool existing = EventCategoryFlags & PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES;
    std::vector<std::wstring> enabled;
    r->refs.fetch_add(1, std::memory_order_relaxed);  // ours until the existing arrivals are out
    io::pnp::with_enabled_interfaces(r->interface_class, [&](std::vector<std::wstring> links) {
        std::lock_guard g(n.lock);
        n.registrations.push_back(r);
        if (existing && !links.empty()) {
            enabled = std::move(links);
            r->caller = ps::current_thread();
            KeClearEvent(&r->idle);
        }
    });
    if (!enabled.empty()) {
        for (const std::wstring& link : enabled)
            io::deliver(n, r, GUID_DEVICE_INTERFACE_ARRIVAL, r->interface_class, link);
        std::lock_guard g(n.lock);
        r->caller = nullptr;
        KeSetEvent(&r->idle, IO_NO_INCREMENT, FALSE);
    }
    io::release(r);
    *NotificationEntry = r;
    return STATUS_SUCCESS;
}

NTSTATUS IoUnregisterPlugPlayNotification(PVOID NotificationEntry) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoUnregisterPlugPlayNotification");
    return io::unregister(NotificationEntry, false) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

NTSTATUS IoUnregisterPlugPlayNotificationEx(PVOID NotificationEntry) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoUnregisterPlugPlayNotificationEx");
    return io::unregister(NotificationEntry, true) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

}  // extern "C"
