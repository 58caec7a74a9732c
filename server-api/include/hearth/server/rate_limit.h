// Token buckets that shape request storms (enrolment): one bucket for the whole server and one per
// source address. Time is passed in, so tests drive the buckets with a fake clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hearth::server {

using SteadyTime = std::chrono::steady_clock::time_point;

struct RateLimit {
  double per_second = 1;  // sustained rate, > 0
  double burst = 1;       // bucket size: how many may come at once, >= 1
};

// A bucket that holds up to `burst` tokens and gains `per_second` tokens per second; it starts
// full. Not thread-safe (RateLimiter locks).
class TokenBucket {
 public:
  TokenBucket(RateLimit limit, SteadyTime now);

  // The tokens available at `now` (refills first; time never runs backwards here).
  double available(SteadyTime now);
  // Takes one token; REQUIRES: available(now) >= 1.
  void take() { tokens_ -= 1; }
  // How long from the last available() until one token is there (zero when one is).
  std::chrono::nanoseconds untilOne() const;
  // True when the bucket is full at `now` (forgetting it changes nothing).
  bool fullAt(SteadyTime now) const;

 private:
  RateLimit limit_;
  double tokens_;
  SteadyTime at_;
};

// Admits a request when both the global bucket and the bucket of its source address have a
// token, and then takes one from each (a refused request costs nothing). Thread-safe.
// At most `max_addresses` per-address buckets are kept: full ones are forgotten first (a new
// bucket would be full too); if every bucket is in use (a storm from more addresses than that),
// the least recently used ones are evicted, so an address that keeps knocking keeps its bucket
// (spreading requests over many addresses does not reset everyone's limit).
class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;  // when refused: whole seconds until a token is there (>= 1)
    const char* scope = "";       // when refused: "server" or "address"
  };

  RateLimiter(RateLimit global, RateLimit per_address, size_t max_addresses = 10000);

  Decision admit(const std::string& address, SteadyTime now);
  size_t trackedAddresses() const;

 private:
  mutable std::mutex mu_;
  RateLimit per_address_;
  size_t max_addresses_;
  TokenBucket global_;
  struct Tracked {
    TokenBucket bucket;
    std::list<std::string>::iterator recent;  // its place in recent_
  };
  std::unordered_map<std::string, Tracked> by_address_;
  std::list<std::string> recent_;  // tracked addresses, least recently used first
};

}  // namespace hearth::server
