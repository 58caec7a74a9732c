// The enrolment rate limiter with a fake clock: a rollout within the burst goes through, a storm
// is shaped to the sustained rate, one noisy address cannot use up the server's budget, and the
// per-address state stays bounded.
#include "hearth/server/rate_limit.h"

#include <gtest/gtest.h>

namespace hearth::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SteadyTime kStart = SteadyTime{} + std::chrono::hours(1);

TEST(TokenBucketTest, StartsFullAndRefillsAtTheRateUpToTheBurst) {
  TokenBucket b({.per_second = 2, .burst = 3}, kStart);
  EXPECT_DOUBLE_EQ(b.available(kStart), 3);
  for (int i = 0; i < 3; ++i) b.take();
  EXPECT_DOUBLE_EQ(b.available(kStart), 0);
  EXPECT_EQ(b.untilOne(), milliseconds(500));
  EXPECT_DOUBLE_EQ(b.available(kStart + milliseconds(250)), 0.5);
  EXPECT_DOUBLE_EQ(b.available(kStart + seconds(60)), 3);  // never more than the burst
  EXPECT_TRUE(b.fullAt(kStart + seconds(60)));
}

TEST(RateLimiterTest, ARolloutWithinTheBurstGoesThroughAndAStormIsShaped) {
  RateLimiter limiter({.per_second = 10, .burst = 50}, {.per_second = 1000, .burst = 1000});
  int admitted = 0;
  for (int i = 0; i < 500; ++i) {
    admitted += limiter.admit("10.0.0." + std::to_string(i % 250), kStart).allowed ? 1 : 0;
  }
  EXPECT_EQ(admitted, 50);  // the burst at once
  auto refused = limiter.admit("10.0.1.1", kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  EXPECT_STREQ(refused.scope, "server");
  // Then 10 per second.
  admitted = 0;
  for (int i = 0; i < 100; ++i) {
    admitted += limiter.admit("10.0.2." + std::to_string(i), kStart + seconds(1)).allowed ? 1 : 0;
  }
  EXPECT_EQ(admitted, 10);
}

TEST(RateLimiterTest, OneAddressCannotUseUpTheServersBudget) {
  RateLimiter limiter({.per_second = 10, .burst = 50}, {.per_second = 0.5, .burst = 5});
  int admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += limiter.admit("203.0.113.7", kStart).allowed ? 1 : 0;
  EXPECT_EQ(admitted, 5);
  auto refused = limiter.admit("203.0.113.7", kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_STREQ(refused.scope, "address");
  EXPECT_EQ(refused.retry_after_seconds, 2);  // one token every 2 s
  // Others still get in: the refused requests took nothing from the server's bucket.
  EXPECT_TRUE(limiter.admit("198.51.100.1", kStart).allowed);
  // The noisy address gets one again once its bucket refilled one token.
  EXPECT_FALSE(limiter.admit("203.0.113.7", kStart + milliseconds(1900)).allowed);
  EXPECT_TRUE(limiter.admit("203.0.113.7", kStart + milliseconds(2100)).allowed);
}

TEST(RateLimiterTest, RetryAfterIsTheLongerOfBothWaitsRoundedUp) {
  RateLimiter limiter({.per_second = 0.25, .burst = 1}, {.per_second = 100, .burst = 100});
  EXPECT_TRUE(limiter.admit("a", kStart).allowed);
  auto r = limiter.admit("b", kStart + milliseconds(100));
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.retry_after_seconds, 4);  // 3.9 s until the server's bucket has a token
}

TEST(RateLimiterTest, PerAddressStateIsBounded) {
  RateLimiter limiter({.per_second = 1e6, .burst = 1e6}, {.per_second = 1, .burst = 2}, 100);
  for (int i = 0; i < 1000; ++i) limiter.admit("addr-" + std::to_string(i), kStart);
  EXPECT_LE(limiter.trackedAddresses(), 100u);
  // Full buckets are forgotten first: after they refilled, the map is swept, not cleared.
  for (int i = 0; i < 100; ++i) limiter.admit("later-" + std::to_string(i), kStart + seconds(10));
  EXPECT_LE(limiter.trackedAddresses(), 100u);
  EXPECT_GE(limiter.trackedAddresses(), 1u);
}

}  // namespace
}  // namespace hearth::server
