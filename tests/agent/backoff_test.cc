// Delivery retry timing: full jitter within the exponential ceiling, the cap, reset on success,
// the server's Retry-After, and the security floor after TLS or authentication failures.
#include "hearth/agent/backoff.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <gtest/gtest.h>

namespace hearth::agent {
namespace {

using std::chrono::milliseconds;
using Kind = PostResult::Kind;

PostResult failure(Kind kind, long retry_after = -1) {
  PostResult r;
  r.kind = kind;
  r.retry_after_seconds = retry_after;
  return r;
}

BackoffOptions small() {
  BackoffOptions o;
  o.base = milliseconds(1000);
  o.cap = milliseconds(60000);
  o.security_floor = milliseconds(30000);
  return o;
}

TEST(BackoffTest, WaitsAreUniformBelowTheDoublingCeiling) {
  // Over many draws, the n-th failure waits within [0, base * 2^(n-1)] and uses the whole range.
  for (int n = 1; n <= 5; ++n) {
    const milliseconds ceiling = milliseconds(1000) * (1 << (n - 1));
    milliseconds lo = ceiling, hi{0};
    double sum = 0;
    const int draws = 2000;
    for (int i = 0; i < draws; ++i) {
      Backoff b(small(), static_cast<uint64_t>(i) * 7919 + static_cast<uint64_t>(n));
      milliseconds w{0};
      for (int k = 0; k < n; ++k) w = b.onFailure(failure(Kind::kNetwork));
      EXPECT_GE(w, milliseconds(0));
      EXPECT_LE(w, ceiling);
      lo = std::min(lo, w);
      hi = std::max(hi, w);
      sum += static_cast<double>(w.count());
    }
    // Full jitter: the draws reach near both ends, and average about half the ceiling.
    EXPECT_LT(lo, ceiling / 20) << "n=" << n;
    EXPECT_GT(hi, ceiling * 19 / 20) << "n=" << n;
    double mean = sum / draws / static_cast<double>(ceiling.count());
    EXPECT_NEAR(mean, 0.5, 0.05) << "n=" << n;
  }
}

TEST(BackoffTest, NeverWaitsLongerThanTheCap) {
  Backoff b(small(), 42);
  milliseconds hi{0};
  for (int i = 0; i < 500; ++i) {
    milliseconds w = b.onFailure(failure(Kind::kNetwork));
    EXPECT_LE(w, milliseconds(60000));
    if (i > 100) hi = std::max(hi, w);
  }
  EXPECT_GT(hi, milliseconds(55000));  // the cap is reached, not just respected
  EXPECT_EQ(b.failures(), 500);
}

TEST(BackoffTest, TheDefaultCapIsFifteenMinutes) {
  Backoff b(BackoffOptions{}, 1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_LE(b.onFailure(failure(Kind::kRetryLater)), milliseconds(15 * 60 * 1000));
  }
}

TEST(BackoffTest, SuccessStartsOverFromTheBase) {
  Backoff b(small(), 7);
  for (int i = 0; i < 10; ++i) (void)b.onFailure(failure(Kind::kNetwork));
  b.onSuccess();
  EXPECT_EQ(b.failures(), 0);
  for (int i = 0; i < 200; ++i) {
    Backoff fresh(small(), static_cast<uint64_t>(i));
    for (int k = 0; k < 10; ++k) (void)fresh.onFailure(failure(Kind::kNetwork));
    fresh.onSuccess();
    EXPECT_LE(fresh.onFailure(failure(Kind::kNetwork)), milliseconds(1000));
  }
  // An accepted result counts as a success.
  (void)b.onFailure(failure(Kind::kNetwork));
  EXPECT_EQ(b.onFailure(failure(Kind::kAccepted)), milliseconds(0));
  EXPECT_EQ(b.failures(), 0);
}

TEST(BackoffTest, RetryAfterIsHonouredAndClamped) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Backoff b(small(), seed);
    milliseconds w = b.onFailure(failure(Kind::kRetryLater, 20));
    EXPECT_GE(w, milliseconds(20000));  // never earlier than the server asked
    EXPECT_LE(w, milliseconds(25000));  // a little spread, no more
    Backoff zero(small(), seed);
    EXPECT_GE(zero.onFailure(failure(Kind::kRetryLater, 0)), milliseconds(1000));  // at least 1 s
    Backoff huge(small(), seed);
    EXPECT_EQ(huge.onFailure(failure(Kind::kRetryLater, 3600)), milliseconds(60000));  // the cap
  }
}

// The server's backlog-sized Retry-After goes up to 600 s (server-api/retry_after.h): with the
// daemon's defaults (a 15-minute ceiling) the agent waits all of it, plus at most a quarter.
TEST(BackoffTest, TheServersLongestReturnSlotIsHonouredWithTheDefaults) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Backoff b(hearth::agent::BackoffOptions{}, seed);
    milliseconds w = b.onFailure(failure(Kind::kRetryLater, 600));
    EXPECT_GE(w, milliseconds(600000));
    EXPECT_LE(w, milliseconds(750000));
  }
}

TEST(BackoffTest, TlsAndAuthFailuresNeverRetryBelowTheSecurityFloor) {
  for (Kind kind : {Kind::kTlsFailure, Kind::kAuthFailed}) {
    for (uint64_t seed = 0; seed < 500; ++seed) {
      Backoff b(small(), seed);
      // The first failure of all, where a network error could retry almost at once.
      milliseconds w = b.onFailure(failure(kind));
      EXPECT_GE(w, milliseconds(30000)) << PostKindName(kind);
      EXPECT_LE(w, milliseconds(60000));
    }
  }
  // With the defaults: 5 minutes, even on the first failure.
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Backoff b(BackoffOptions{}, seed);
    EXPECT_GE(b.onFailure(failure(Kind::kTlsFailure)), milliseconds(5 * 60 * 1000));
  }
}

TEST(BackoffTest, TheFloorWinsOverAShorterCap) {
  BackoffOptions o = small();
  o.cap = milliseconds(10000);
  Backoff b(o, 3);
  EXPECT_GE(b.onFailure(failure(Kind::kTlsFailure)), milliseconds(30000));
}

TEST(BackoffTest, SameSeedSameWaitsDifferentSeedsSpread) {
  Backoff a(small(), 99), b(small(), 99);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(a.onFailure(failure(Kind::kNetwork)), b.onFailure(failure(Kind::kNetwork)));
  }
  // A fleet that failed together does not retry together.
  std::set<int64_t> firsts;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Backoff c(small(), seed);
    for (int i = 0; i < 5; ++i) (void)c.onFailure(failure(Kind::kNetwork));
    firsts.insert(c.onFailure(failure(Kind::kNetwork)).count());
  }
  EXPECT_GT(firsts.size(), 45u);
}

TEST(BackoffTest, RetiredWaitsTheLongest) {
  Backoff b(small(), 5);
  EXPECT_EQ(b.onFailure(failure(Kind::kRetired)), milliseconds(60000));
}

}  // namespace
}  // namespace hearth::agent
