// How a sandbox's end is classified, as a pure function of what resin observed: every reason but
// "exited" and "signaled" needs resin's own evidence, never the signal number alone.
#include "sandbox/exit_classification.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

namespace resin::sandbox {
namespace {

struct Row {
    std::string name;
    EndingFacts facts;
    ExitReason expected;
};

EndingFacts killed_by(int signal) {
    EndingFacts facts;
    facts.signal = signal;
    return facts;
}

template <typename Change>
EndingFacts with(EndingFacts facts, Change change) {
    change(facts);
    return facts;
}

TEST(ExitClassification, EachReasonNeedsItsEvidence) {
    const Row rows[] = {
        {"exit", EndingFacts{}, ExitReason::exited},
        {"exit_after_resin_asked_to_stop",
         with(EndingFacts{}, [](auto& f) { f.end_cause = EndCause::killed; }), ExitReason::exited},
        {"a_signal_nobody_asked_for", killed_by(SIGSEGV), ExitReason::signaled},
        {"sigkill_alone_is_signaled", killed_by(SIGKILL), ExitReason::signaled},
        {"requested_signal", with(killed_by(SIGTERM), [](auto& f) { f.signal_requested = true; }),
         ExitReason::killed},
        {"wall_time",
         with(killed_by(SIGKILL), [](auto& f) { f.end_cause = EndCause::wall_time_limit; }),
         ExitReason::wall_time_limit},
        {"cpu_time_polled",
         with(killed_by(SIGKILL), [](auto& f) { f.end_cause = EndCause::cpu_time_limit; }),
         ExitReason::cpu_time_limit},
        {"memory_event",
         with(killed_by(SIGKILL), [](auto& f) { f.end_cause = EndCause::memory_limit; }),
         ExitReason::memory_limit},
        {"resins_cause_wins_over_a_denial",
         with(killed_by(SIGKILL),
              [](auto& f) {
                  f.end_cause = EndCause::wall_time_limit;
                  f.killed_for_denial = true;
              }),
         ExitReason::wall_time_limit},
        {"denial", with(killed_by(SIGKILL), [](auto& f) { f.killed_for_denial = true; }),
         ExitReason::seccomp},
        {"denial_but_died_of_its_own_signal",
         with(killed_by(SIGABRT), [](auto& f) { f.killed_for_denial = true; }),
         ExitReason::signaled},
        {"denial_before_oom",
         with(killed_by(SIGKILL),
              [](auto& f) {
                  f.killed_for_denial = true;
                  f.oom_killed = true;
              }),
         ExitReason::seccomp},
        {"oom", with(killed_by(SIGKILL), [](auto& f) { f.oom_killed = true; }),
         ExitReason::memory_limit},
        {"oom_count_but_another_signal",
         with(killed_by(SIGTERM), [](auto& f) { f.oom_killed = true; }), ExitReason::signaled},
        {"rlimit_cpu_reached",
         with(killed_by(SIGKILL),
              [](auto& f) {
                  f.rlimit_cpu_ns = 2000000000u;
                  f.command_cpu_ns = 2000000000u;
              }),
         ExitReason::cpu_time_limit},
        {"rlimit_cpu_not_reached",
         with(killed_by(SIGKILL),
              [](auto& f) {
                  f.rlimit_cpu_ns = 2000000000u;
                  f.command_cpu_ns = 1999999999u;
              }),
         ExitReason::signaled},
        {"cpu_time_without_rlimit",
         with(killed_by(SIGKILL), [](auto& f) { f.command_cpu_ns = 5000000000u; }),
         ExitReason::signaled},
        {"requested_sigkill", with(killed_by(SIGKILL), [](auto& f) { f.signal_requested = true; }),
         ExitReason::killed},
        {"oom_before_a_request",
         with(killed_by(SIGKILL),
              [](auto& f) {
                  f.oom_killed = true;
                  f.signal_requested = true;
              }),
         ExitReason::memory_limit},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(row.name);
        EXPECT_STREQ(to_string(classify_ending(row.facts)), to_string(row.expected));
    }
}

TEST(ExitClassification, NamesFromTheProtocolTable) {
    EXPECT_STREQ(to_string(ExitReason::exited), "exited");
    EXPECT_STREQ(to_string(ExitReason::seccomp), "seccomp");
    EXPECT_STREQ(to_string(ExitReason::memory_limit), "memory_limit");
}

}  // namespace
}  // namespace resin::sandbox
