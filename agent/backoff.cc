// Full-jitter exponential backoff for delivery (see backoff.h).
#include "hearth/agent/backoff.h"

#include <algorithm>

namespace hearth::agent {

namespace {

using std::chrono::milliseconds;

// Uniform in [lo, hi] (hi < lo is treated as hi == lo).
milliseconds uniform(std::mt19937_64& rng, milliseconds lo, milliseconds hi) {
  if (hi <= lo) return lo;
  std::uniform_int_distribution<int64_t> d(lo.count(), hi.count());
  return milliseconds(d(rng));
}

}  // namespace

Backoff::Backoff(BackoffOptions options, uint64_t seed) : options_(options), rng_(seed) {
  // Nonsense options must not produce a zero cap (a tight loop) or a negative wait.
  options_.base = std::max(options_.base, milliseconds(1));
  options_.cap = std::max(options_.cap, options_.base);
  options_.security_floor = std::max(options_.security_floor, milliseconds(0));
}

std::chrono::milliseconds Backoff::onFailure(const PostResult& result) {
  using Kind = PostResult::Kind;
  if (result.kind == Kind::kAccepted) {
    onSuccess();
    return milliseconds(0);
  }
  if (failures_ < 1 << 20) ++failures_;
  // The ceiling after n failures is base * 2^(n-1), capped: base, 2 base, 4 base, ... cap.
  milliseconds ceiling = options_.base;
  for (int i = 1; i < failures_ && ceiling < options_.cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options_.cap);
  milliseconds wait = uniform(rng_, milliseconds(0), ceiling);

  switch (result.kind) {
    case Kind::kRetryLater:
      if (result.retry_after_seconds >= 0) {
        // Never earlier than the server asked (clamped to [1 s, cap]); up to a quarter more so a
        // fleet told the same number does not come back in step.
        milliseconds asked =
            std::clamp(milliseconds(static_cast<int64_t>(result.retry_after_seconds) * 1000),
                       std::min(milliseconds(1000), options_.cap), options_.cap);
        milliseconds spread = uniform(rng_, asked, std::min(options_.cap, asked + asked / 4));
        wait = std::max(wait, spread);
      }
      break;
    case Kind::kTlsFailure:
    case Kind::kAuthFailed: {
      // A security event: never a tight loop, whatever the count; spread above the floor.
      const milliseconds floor = options_.security_floor;
      milliseconds upper = std::max(options_.cap, floor);
      milliseconds secure = uniform(rng_, floor, std::min(upper, floor + floor / 4));
      wait = std::min(upper, std::max(wait, secure));
      break;
    }
    case Kind::kRetired:
      // Nothing will be accepted again until someone enrols anew: wait as long as allowed.
      wait = std::max(options_.cap, options_.security_floor);
      break;
    default:
      break;
  }
  return wait;
}

void Backoff::onSuccess() { failures_ = 0; }

}  // namespace hearth::agent
