// base/time: the range of times a time_point holds, shared by the RFC 3339 parser, the
// certificate reader and the agent's stored certificate times.
#include "hearth/time.h"

#include <limits>

#include <gtest/gtest.h>

namespace hearth {
namespace {

using std::chrono::system_clock;

TEST(TimeTest, SecondsFromOutsideAreClampedToWhatATimePointHolds) {
  EXPECT_EQ(timePointFromSeconds(0), system_clock::time_point{});
  EXPECT_EQ(timePointFromSeconds(1764151200), *parseRfc3339("2025-11-26T10:00:00Z"));
  auto top = timePointFromSeconds(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(top.time_since_epoch()).count(),
            kMaxTimePointSeconds);
  auto bottom = timePointFromSeconds(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(bottom.time_since_epoch()).count(),
            -kMaxTimePointSeconds);
  EXPECT_LT(bottom, top);
}

TEST(TimeTest, Rfc3339TimesBeyondATimePointAreRefused) {
  EXPECT_TRUE(parseRfc3339("2262-01-01T00:00:00Z").ok());
  EXPECT_FALSE(parseRfc3339("2263-01-01T00:00:00Z").ok());
  EXPECT_FALSE(parseRfc3339("9999-12-31T23:59:59Z").ok());
  EXPECT_TRUE(parseRfc3339("1678-01-01T00:00:00Z").ok());
  EXPECT_FALSE(parseRfc3339("1677-01-01T00:00:00Z").ok());
}

}  // namespace
}  // namespace hearth
