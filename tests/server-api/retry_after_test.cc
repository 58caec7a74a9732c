// The backlog-sized Retry-After of the overload answer (retry_after.h): return slots handed out
// at the rate the server finishes connections, between the floor and the cap.
#include "hearth/server/retry_after.h"

#include <chrono>

#include <gtest/gtest.h>

namespace hearth::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = RetryAfterSizer::Clock;

TEST(RetryAfterTest, ASlotAheadIsRoundedUpAndKeptBetweenFloorAndCap) {
  RetryAfterOptions o;  // 5 s .. 600 s
  EXPECT_EQ(RetryAfterFor(seconds(0), o), 5);
  EXPECT_EQ(RetryAfterFor(std::chrono::duration<double>(5.1), o), 6);
  EXPECT_EQ(RetryAfterFor(seconds(120), o), 120);
  EXPECT_EQ(RetryAfterFor(seconds(100000), o), 600);
}

TEST(RetryAfterTest, AFewAgentsTurnedAwayAreToldTheFloor) {
  const Clock::time_point t0{};
  RetryAfterSizer sizer({}, t0);
  // 40 connections served a second for 10 s.
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 40; ++i) sizer.served(t0 + seconds(s) + milliseconds(i * 25));
  }
  EXPECT_NEAR(sizer.servedRate(t0 + seconds(10) - milliseconds(1)), 40, 0.01);
  // Ten turned away now need a quarter of a second of the server: told 5 s, the floor.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sizer.refuse(t0 + seconds(10)), 5);
}

TEST(RetryAfterTest, ABacklogIsSpreadAtTheServedRate) {
  const Clock::time_point t0{};
  RetryAfterSizer sizer({}, t0);
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 40; ++i) sizer.served(t0 + seconds(s) + milliseconds(i * 25));
  }
  // 2,000 agents turned away in the same second: the k-th is told about k / 40 s, so they come
  // back spread over 50 s instead of all after 5 s.
  const Clock::time_point now = t0 + seconds(10) - milliseconds(1);
  int64_t first = sizer.refuse(now), last = first;
  int64_t at_1000 = 0;
  for (int k = 2; k <= 2000; ++k) {
    last = sizer.refuse(now);
    if (k == 1000) at_1000 = last;
  }
  EXPECT_EQ(first, 5);
  EXPECT_EQ(at_1000, 25);
  EXPECT_EQ(last, 50);
  // Once those slots have passed, a newcomer is told the floor again.
  EXPECT_EQ(sizer.refuse(now + seconds(60)), 5);
}

TEST(RetryAfterTest, NothingServedYetMeansTheAssumedRateAndNeverBeyondTheCap) {
  const Clock::time_point t0{};
  RetryAfterOptions o;
  o.min_rate = 8;
  o.cap = seconds(600);
  RetryAfterSizer sizer(o, t0);
  EXPECT_DOUBLE_EQ(sizer.servedRate(t0 + milliseconds(500)), 8);
  int64_t last = 0;
  for (int k = 1; k <= 800; ++k) last = sizer.refuse(t0 + milliseconds(500));
  EXPECT_EQ(last, 100);  // 800 at 8 a second
  for (int k = 1; k <= 10000; ++k) last = sizer.refuse(t0 + milliseconds(500));
  EXPECT_EQ(last, 600);
  // The cap holds the slots too: the next second's newcomer is not sent beyond it either.
  EXPECT_LE(sizer.refuse(t0 + seconds(2)), 600);
}

TEST(RetryAfterTest, OnlyTheLastWindowCounts) {
  const Clock::time_point t0{};
  RetryAfterSizer sizer({}, t0);
  for (int i = 0; i < 1000; ++i) sizer.served(t0 + seconds(1));
  EXPECT_DOUBLE_EQ(sizer.servedRate(t0 + seconds(5)), 200);  // 1,000 in the 5 s since start
  EXPECT_DOUBLE_EQ(sizer.servedRate(t0 + seconds(30)), 8);   // none in the last 10 s
}

}  // namespace
}  // namespace hearth::server
