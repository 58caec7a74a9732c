// The enrolment rate limiter when more addresses knock than it tracks (issue 12, defect 9): it
// evicts the least recently used buckets instead of forgetting every address, so a noisy address
// cannot reset its own limit by spreading requests from many other addresses.
#include <string>

#include <gtest/gtest.h>

#include "hearth/server/rate_limit.h"

namespace hearth::server {
namespace {

const SteadyTime kStart = SteadyTime{} + std::chrono::hours(1);

TEST(RateLimiterEvictionTest, AFullTableEvictsTheOldestBucketsNotAllOfThem) {
  RateLimiter limiter({.per_second = 1e6, .burst = 1e6}, {.per_second = 1, .burst = 2}, 100);
  // The noisy address uses up its bucket.
  EXPECT_TRUE(limiter.admit("noisy", kStart).allowed);
  EXPECT_TRUE(limiter.admit("noisy", kStart).allowed);
  EXPECT_FALSE(limiter.admit("noisy", kStart).allowed);
  // A thousand other addresses arrive (each leaves a bucket that is not full), while the noisy
  // one keeps knocking: it stays among the recently used, and stays refused.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.admit("spray-" + std::to_string(i), kStart).allowed);
    if (i % 10 == 9) {
      EXPECT_FALSE(limiter.admit("noisy", kStart).allowed) << "forgotten after " << i;
    }
    EXPECT_LE(limiter.trackedAddresses(), 100u);
  }
  // The table stays full: only the oldest went, one at a time.
  EXPECT_EQ(limiter.trackedAddresses(), 100u);
  // The most recent sprayed address kept its bucket (one token left, then refused).
  EXPECT_TRUE(limiter.admit("spray-999", kStart).allowed);
  EXPECT_FALSE(limiter.admit("spray-999", kStart).allowed);
}

}  // namespace
}  // namespace hearth::server
