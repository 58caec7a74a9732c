#include "hearth/server/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace hearth::server {

TokenBucket::TokenBucket(RateLimit limit, SteadyTime now)
    : limit_(limit), tokens_(limit.burst), at_(now) {}

double TokenBucket::available(SteadyTime now) {
  if (now > at_) {
    double elapsed = std::chrono::duration<double>(now - at_).count();
    tokens_ = std::min(limit_.burst, tokens_ + elapsed * limit_.per_second);
    at_ = now;
  }
  return tokens_;
}

std::chrono::nanoseconds TokenBucket::untilOne() const {
  if (tokens_ >= 1) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(
      static_cast<int64_t>(std::ceil((1 - tokens_) / limit_.per_second * 1e9)));
}

bool TokenBucket::fullAt(SteadyTime now) const {
  double elapsed = now > at_ ? std::chrono::duration<double>(now - at_).count() : 0;
  return tokens_ + elapsed * limit_.per_second >= limit_.burst;
}

RateLimiter::RateLimiter(RateLimit global, RateLimit per_address, size_t max_addresses)
    : per_address_(per_address),
      max_addresses_(std::max<size_t>(1, max_addresses)),
      global_(global, SteadyTime{}) {}

RateLimiter::Decision RateLimiter::admit(const std::string& address, SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_address_.find(address);
  if (it != by_address_.end()) {
    recent_.splice(recent_.end(), recent_, it->second.recent);
  } else {
    if (by_address_.size() >= max_addresses_) {
      for (auto i = by_address_.begin(); i != by_address_.end();) {
        if (i->second.bucket.fullAt(now)) {
          recent_.erase(i->second.recent);
          i = by_address_.erase(i);
        } else {
          ++i;
        }
      }
      while (by_address_.size() >= max_addresses_) {
        by_address_.erase(recent_.front());
        recent_.pop_front();
      }
    }
    auto place = recent_.insert(recent_.end(), address);
    it = by_address_.emplace(address, Tracked{TokenBucket(per_address_, now), place}).first;
  }
  TokenBucket& mine = it->second.bucket;
  bool address_ok = mine.available(now) >= 1;
  bool global_ok = global_.available(now) >= 1;
  if (address_ok && global_ok) {
    mine.take();
    global_.take();
    return {};
  }
  std::chrono::nanoseconds wait = std::max(mine.untilOne(), global_.untilOne());
  Decision d;
  d.allowed = false;
  d.retry_after_seconds =
      std::max(1, static_cast<int>(std::ceil(std::chrono::duration<double>(wait).count())));
  d.scope = address_ok ? "server" : "address";
  return d;
}

size_t RateLimiter::trackedAddresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_address_.size();
}

}  // namespace hearth::server
