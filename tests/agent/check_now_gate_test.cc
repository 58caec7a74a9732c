// The rule for "check now" requests that the Linux daemon's control socket and the Windows
// service's control pipe both apply (check_now.h, CheckNowGate).
#include <chrono>

#include <gtest/gtest.h>

#include "hearth/agent/check_now.h"

namespace hearth::agent {
namespace {

using std::chrono::seconds;

TEST(CheckNowGateTest, OnePersonIsHeardOnceAMinuteAndToldWhenToTryAgain) {
  CheckNowGate gate;
  const auto t0 = std::chrono::steady_clock::time_point(seconds(1000));
  auto first = gate.ask("1000", t0);
  EXPECT_TRUE(first.start);
  EXPECT_EQ(first.line, "ok: checking now; see `hearth-agent status` in a moment\n");
  auto again = gate.ask("1000", t0 + seconds(12));
  EXPECT_FALSE(again.start);
  EXPECT_EQ(again.line, "busy: a check was requested less than a minute ago; try again in 48 s\n");
  EXPECT_TRUE(gate.ask("1000", t0 + seconds(kCheckNowMinSeconds)).start);
}

TEST(CheckNowGateTest, AnotherPersonIsNotStarvedButChecksStartAtMostEveryFiveSeconds) {
  CheckNowGate gate;
  const auto t0 = std::chrono::steady_clock::time_point(seconds(1000));
  EXPECT_TRUE(gate.ask("S-1-5-21-1-1001", t0).start);
  auto soon = gate.ask("S-1-5-21-1-1002", t0 + seconds(2));
  EXPECT_FALSE(soon.start);
  EXPECT_EQ(soon.line, "busy: a check is starting now; see `hearth-agent status` in a moment\n");
  // Refused for the 5 s limit, not counted against that person's minute.
  EXPECT_TRUE(gate.ask("S-1-5-21-1-1002", t0 + seconds(5)).start);
}

}  // namespace
}  // namespace hearth::agent
