// The Retry-After of the overload answer (503 overloaded), sized to the server's backlog (issue
// 18, docs/scaling.md "Agents after an outage"). A fixed "5 s" sends every agent turned away
// back together; after a short outage thousands come back in the same seconds and are turned
// away again. Instead each agent turned away is given the next free *return slot*: the server
// measures how many connections its workers finish a second (the agents it serves), and hands
// out return times one after the other at that rate, so the k-th agent turned away is told to
// come back after about k / rate seconds (at least `floor`, at most `cap`). The agent adds up to
// a quarter more at random (agent/backoff.cc), which spreads those told the same second.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace hearth::server {

struct RetryAfterOptions {
  std::chrono::seconds floor{5};    // never less (the answer of the fixed form)
  std::chrono::seconds cap{600};    // never more (the agent's own ceiling is 15 minutes)
  std::chrono::seconds window{10};  // the served rate is measured over this long
  // Connections served a second assumed before any has finished in the window: the listener's
  // threads plus queue over the request deadline (each at most that long per request).
  double min_rate = 8;
};

// Whole seconds for a return slot `ahead` from now: ceil(ahead), clamped to [floor, cap].
int64_t RetryAfterFor(std::chrono::duration<double> ahead, const RetryAfterOptions& options);

// Thread-safe; time is passed in (steady clock), so that tests and the return-spread bench drive
// it with a clock of their own.
class RetryAfterSizer {
 public:
  using Clock = std::chrono::steady_clock;
  RetryAfterSizer(RetryAfterOptions options, Clock::time_point start);

  // A connection served by a worker has ended (the device listener's watchdog calls it).
  void served(Clock::time_point now);
  // A connection is turned away now: the Retry-After (seconds) it is told.
  int64_t refuse(Clock::time_point now);
  // Connections served a second, measured over the last window (min_rate when none finished).
  double servedRate(Clock::time_point now);

 private:
  double rateLocked(Clock::time_point now);
  void advanceLocked(int64_t second);

  const RetryAfterOptions options_;
  const Clock::time_point start_;
  std::mutex mu_;
  std::vector<int64_t> buckets_;  // served per second, a ring of window seconds
  int64_t bucket_second_ = 0;     // the second (since start) of the newest bucket
  Clock::time_point next_slot_;   // the last return slot handed out
};

}  // namespace hearth::server
