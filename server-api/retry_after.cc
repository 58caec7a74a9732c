// The backlog-sized Retry-After (retry_after.h): return slots handed out at the served rate.
#include "hearth/server/retry_after.h"

#include <algorithm>
#include <cmath>

namespace hearth::server {

int64_t RetryAfterFor(std::chrono::duration<double> ahead, const RetryAfterOptions& options) {
  double s = std::ceil(std::max(0.0, ahead.count()));
  s = std::clamp(s, static_cast<double>(options.floor.count()),
                 static_cast<double>(std::max(options.floor, options.cap).count()));
  return static_cast<int64_t>(s);
}

RetryAfterSizer::RetryAfterSizer(RetryAfterOptions options, Clock::time_point start)
    : options_(options),
      start_(start),
      buckets_(static_cast<size_t>(std::max<int64_t>(1, options.window.count())), 0),
      next_slot_(start) {}

void RetryAfterSizer::advanceLocked(int64_t second) {
  // Empties the buckets of the seconds between the newest one and `second`.
  int64_t n = static_cast<int64_t>(buckets_.size());
  for (int64_t s = bucket_second_ + 1; s <= second && s <= bucket_second_ + n; ++s) {
    buckets_[static_cast<size_t>(s % n)] = 0;
  }
  bucket_second_ = std::max(bucket_second_, second);
}

void RetryAfterSizer::served(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t second = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
  if (second < 0) return;
  advanceLocked(second);
  if (second + static_cast<int64_t>(buckets_.size()) <= bucket_second_) return;  // too old
  ++buckets_[static_cast<size_t>(second % static_cast<int64_t>(buckets_.size()))];
}

double RetryAfterSizer::rateLocked(Clock::time_point now) {
  int64_t second = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
  advanceLocked(std::max<int64_t>(0, second));
  int64_t sum = 0;
  for (int64_t b : buckets_) sum += b;
  if (sum == 0) return options_.min_rate;
  // Over the window, or the time since start when shorter (a server back after an outage).
  double span = std::min(static_cast<double>(buckets_.size()),
                         std::max(1.0, std::chrono::duration<double>(now - start_).count()));
  return std::max(options_.min_rate, static_cast<double>(sum) / span);
}

double RetryAfterSizer::servedRate(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  return rateLocked(now);
}

int64_t RetryAfterSizer::refuse(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  double rate = rateLocked(now);
  // The next slot after the last one handed out (or after now, when those have passed).
  auto step =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  next_slot_ = std::max(next_slot_, now) + step;
  // Never promise beyond the cap: the slots beyond it would only pile up.
  next_slot_ =
      std::min(next_slot_, now + std::chrono::duration_cast<Clock::duration>(options_.cap));
  return RetryAfterFor(next_slot_ - now, options_);
}

}  // namespace hearth::server
