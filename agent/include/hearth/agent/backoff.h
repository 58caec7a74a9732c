// Retry timing for delivery: exponential backoff with full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"): after the n-th consecutive failure (n >= 1) the wait is
// uniform in [0, min(cap, base * 2^(n-1))]. A server's Retry-After is honoured: never earlier
// than asked (clamped to [1 s, cap]), plus up to a quarter more at random so a fleet told the same
// number spreads out. A TLS, pin or authentication failure never waits less than `security_floor`
// (no tight loop on a security event; the floor wins over a shorter cap). kRetired waits
// max(cap, floor). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "hearth/agent/transport.h"

namespace hearth::agent {

struct BackoffOptions {
  std::chrono::milliseconds base{2000};
  std::chrono::milliseconds cap{15 * 60 * 1000};
  std::chrono::milliseconds security_floor{5 * 60 * 1000};
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options = {}, uint64_t seed = std::random_device{}());
  // The wait before the next attempt after a failed post (counts one more failure).
  std::chrono::milliseconds onFailure(const PostResult& result);
  // A success: the next failure starts from `base` again.
  void onSuccess();
  int failures() const { return failures_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  int failures_ = 0;
};

}  // namespace hearth::agent
