// GoogleTest support for driver tests: a fresh ntio runtime per test, on the virtual
// clock, with every verifier check on, where any verifier report the test did not ask
// for fails the test with the report's text. Header-only; include it after
// <gtest/gtest.h> is available (link GTest::gtest and ntio).
//
//   #include <ntio/gtest.hpp>
//
//   class MyDriverTest : public ntio::testing::DriverTest {};
//
//   TEST_F(MyDriverTest, CompletesEveryRead) {
//       ASSERT_EQ(sys.load_driver("mydrv", &DriverEntry), STATUS_SUCCESS);
//       ...                                   // any DRIVER BUG fails the test
//   }
//
//   TEST_F(MyDriverTest, DoubleCompletionIsCaught) {
//       EXPECT_DRIVER_BUG("MULTIPLE_IRP_COMPLETE_REQUESTS", DeviceIoControl(h, ...));
//   }
//
//   TEST_F(MyDriverTest, StalledQueueIsCaughtLater) {
//       auto stalled = verifier.expect("StartIoStalled");   // claims reports until it goes
//       ...
//       sys.run_until_idle();
//       ASSERT_EQ(stalled.reports().size(), 1u);
//       EXPECT_EQ(stalled.reports()[0].device, "\\Device\\Mine");
//   }
//
// Fault injection (Options::faults or NTIO_FAULTS) prints its seed; a report made while
// it is on carries the NTIO_FAULTS value that replays the run, so a failure says how to
// reproduce it.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ntio/ntio.hpp"

namespace ntio::testing {

// Receives the verifier's reports while it lives. A report that an active expectation
// claims is kept for the test to inspect; any other fails the running test.
class VerifierGuard {
    struct Claim {
        std::string check, contains;
        bool active;
        std::vector<VerifierReport> claimed;
    };
    // Shared with the handler, which may outlive a moved-from guard's scope.
    struct State {
        std::mutex lock;
        std::vector<std::shared_ptr<Claim>> claims;
        std::vector<VerifierReport> all;
        bool on_report(const VerifierReport& r) {
            {
                std::lock_guard g(lock);
                all.push_back(r);
                for (auto& c : claims)
                    if (c->active && c->check == r.check &&
                        (c->contains.empty() || r.text.find(c->contains) != std::string::npos)) {
                        c->claimed.push_back(r);
                        return true;
                    }
            }
            // GoogleTest records failures from any thread of the test.
            ADD_FAILURE() << "verifier " << (r.warning ? "warning " : "report ") << r.check
                          << " that the test did not expect:\n"
                          << r.text;
            return true;
        }
    };

public:
    // Claims reports while it lives; see VerifierGuard::expect.
    class Expectation {
    public:
        Expectation(Expectation&&) = default;
        Expectation& operator=(Expectation&&) = default;
        ~Expectation() {
            if (!m_state) return;
            std::lock_guard g(m_state->lock);
            m_claim->active = false;
        }
        // The reports claimed so far.
        std::vector<VerifierReport> reports() const {
            std::lock_guard g(m_state->lock);
            return m_claim->claimed;
        }
        bool seen() const { return !reports().empty(); }

    private:
        friend class VerifierGuard;
        Expectation(std::shared_ptr<State> state, std::shared_ptr<Claim> claim)
            : m_state(std::move(state)), m_claim(std::move(claim)) {}
        std::shared_ptr<State> m_state;
        std::shared_ptr<Claim> m_claim;
    };

    VerifierGuard() : m_state(std::make_shared<State>()) {
        std::shared_ptr<State> state = m_state;
        set_verifier_report_handler([state](const VerifierReport& r) { return state->on_report(r); });
    }
    ~VerifierGuard() { set_verifier_report_handler({}); }
    VerifierGuard(const VerifierGuard&) = delete;
    VerifierGuard& operator=(const VerifierGuard&) = delete;

    // Claims the reports of `check` (and, when `contains` is not empty, only those whose
    // text contains it) until the returned object is destroyed.
    [[nodiscard]] Expectation expect(const std::string& check, const std::string& contains = {}) {
        std::lock_guard g(m_state->lock);
        m_state->claims.push_back(std::make_shared<Claim>(Claim{check, contains, true, {}}));
        return Expectation(m_state, m_state->claims.back());
    }

    // Every report so far, claimed or not.
    std::vector<VerifierReport> reports() const {
        std::lock_guard g(m_state->lock);
        return m_state->all;
    }

private:
    std::shared_ptr<State> m_state;
};

// A fresh runtime per test: virtual clock, every verifier check on, reports failing the
// test unless expected. Derive from it; pass other Options to the constructor when a
// test needs them (checks off, faults, the real clock).
class DriverTest : public ::testing::Test {
public:
    // The Options it uses: a base for tests that change one thing (faults, a check).
    static Options verified_options() {
        Options o;
        o.clock = Clock::virtual_time;
        o.verifier = "report";  // the guard decides what a report does: fail the test
        o.verifier_checks = "all";
        return o;
    }

protected:
    DriverTest() : DriverTest(verified_options()) {}
    explicit DriverTest(const Options& options) : sys(options) {}

    void TearDown() override {
        std::string faults = fault_injection_settings();
        if (HasFailure() && !faults.empty())
            std::fprintf(stderr, "ntio: this test ran with fault injection; NTIO_FAULTS=%s replays it\n",
                         faults.c_str());
    }

    // Milliseconds of virtual time since the runtime started.
    int64_t now_ms() const { return std::chrono::duration_cast<std::chrono::milliseconds>(sys.now()).count(); }

    VerifierGuard verifier;  // first: it outlives the runtime, whose teardown reports leaks
    System sys;
};

}  // namespace ntio::testing

// Expects `statement` to make at least one verifier report of `check` (a check name:
// "MULTIPLE_IRP_COMPLETE_REQUESTS"); such reports do not fail the test. Needs a
// `verifier` (ntio::testing::VerifierGuard) in scope, as DriverTest has.
#define EXPECT_DRIVER_BUG(check, statement)                                                            \
    do {                                                                                               \
        auto ntio_expected_report_ = verifier.expect(check);                                          \
        statement;                                                                                     \
        EXPECT_TRUE(ntio_expected_report_.seen()) << "expected a verifier report " << (check)         \
                                                  << " from: " #statement;                             \
    } while (0)
// The same for a tolerated mistake (a check of kind warning).
#define EXPECT_DRIVER_WARNING(check, statement) EXPECT_DRIVER_BUG(check, statement)
