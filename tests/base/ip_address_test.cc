#include "hearth/ip_address.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(IpAddressTest, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddress::parse("10.20.0.1");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->toString(), "10.20.0.1");
  auto v6 = IpAddress::parse("fd00:20:0:0::1");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->toString(), "fd00:20::1");
  EXPECT_FALSE(IpAddress::parse("10.20.0.1/24").ok());
  EXPECT_FALSE(IpAddress::parse("host.example").ok());
  EXPECT_FALSE(IpAddress::parse("").ok());
}

}  // namespace
}  // namespace hearth
