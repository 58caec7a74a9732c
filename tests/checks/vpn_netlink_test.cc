// The pure half of the rtnetlink route lookup: the request bytes, and decoding of answers
// (including short, hostile and unrelated datagrams, which must never read out of bounds).
#include <cerrno>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "system/netlink_route.h"

namespace hearth::internal {
namespace {

constexpr uint32_t kSeq = 77;
constexpr uint32_t kPort = 4242;

IpAddress Ip(const std::string& s) {
  auto a = IpAddress::parse(s);
  EXPECT_TRUE(a.ok()) << s;
  return a.ok() ? *a : IpAddress{};
}

// Builds netlink datagrams the way the kernel lays them out.
class Datagram {
 public:
  // Starts a message; finish() fills in its length.
  Datagram& begin(uint16_t type, uint16_t flags = 0, uint32_t seq = kSeq, uint32_t pid = kPort) {
    start_ = bytes_.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    h.nlmsg_pid = pid;
    append(&h, sizeof h);
    return *this;
  }
  Datagram& route(uint8_t family, uint8_t dst_len, uint8_t type, uint8_t table = RT_TABLE_MAIN) {
    rtmsg r{};
    r.rtm_family = family;
    r.rtm_dst_len = dst_len;
    r.rtm_type = type;
    r.rtm_table = table;
    append(&r, sizeof r);
    return *this;
  }
  Datagram& attr(uint16_t type, const void* p, size_t n) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(n));
    a.rta_type = type;
    append(&a, sizeof a);
    append(p, n);
    pad();
    return *this;
  }
  Datagram& u32(uint16_t type, uint32_t v) { return attr(type, &v, sizeof v); }
  Datagram& addr(uint16_t type, const std::string& ip) {
    IpAddress a = Ip(ip);
    return attr(type, a.bytes.data(), a.family == AF_INET ? 4 : 16);
  }
  Datagram& raw(const void* p, size_t n) {
    append(p, n);
    return *this;
  }
  Datagram& finish() {
    uint32_t len = static_cast<uint32_t>(bytes_.size() - start_);
    std::memcpy(bytes_.data() + start_, &len, sizeof len);
    pad();
    return *this;
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  void append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  void pad() {
    while (bytes_.size() % 4 != 0) bytes_.push_back(0);
  }
  std::vector<uint8_t> bytes_;
  size_t start_ = 0;
};

StatusOr<std::optional<RouteMessage>> Parse(std::vector<uint8_t>& b) {
  return ParseRouteReply(b.data(), b.size(), kSeq, kPort);
}

TEST(VpnNetlinkTest, Ipv4RequestAsksForTheLookupTableWithoutAMark) {
  std::vector<uint8_t> req = BuildRouteRequest(Ip("10.20.0.1"), 9, false);
  ASSERT_EQ(req.size(), NLMSG_LENGTH(sizeof(rtmsg)) + RTA_SPACE(4));
  nlmsghdr h{};
  std::memcpy(&h, req.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_len, req.size());
  EXPECT_EQ(h.nlmsg_type, RTM_GETROUTE);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST);
  EXPECT_EQ(h.nlmsg_seq, 9u);
  rtmsg r{};
  std::memcpy(&r, req.data() + NLMSG_HDRLEN, sizeof r);
  EXPECT_EQ(r.rtm_family, AF_INET);
  EXPECT_EQ(r.rtm_dst_len, 32);
  EXPECT_EQ(r.rtm_flags, RTM_F_LOOKUP_TABLE);
  EXPECT_EQ(r.rtm_table, 0);
  rtattr a{};
  size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtmsg));
  std::memcpy(&a, req.data() + at, sizeof a);
  EXPECT_EQ(a.rta_type, RTA_DST);  // the only attribute: no RTA_MARK, no RTA_OIF
  EXPECT_EQ(a.rta_len, RTA_LENGTH(4));
  EXPECT_EQ(std::memcmp(req.data() + at + RTA_LENGTH(0), Ip("10.20.0.1").bytes.data(), 4), 0);
}

TEST(VpnNetlinkTest, Ipv6FibMatchRequest) {
  std::vector<uint8_t> req = BuildRouteRequest(Ip("fd00:20::1"), 10, true);
  ASSERT_EQ(req.size(), NLMSG_LENGTH(sizeof(rtmsg)) + RTA_SPACE(16));
  rtmsg r{};
  std::memcpy(&r, req.data() + NLMSG_HDRLEN, sizeof r);
  EXPECT_EQ(r.rtm_family, AF_INET6);
  EXPECT_EQ(r.rtm_dst_len, 128);
  EXPECT_EQ(r.rtm_flags, RTM_F_FIB_MATCH);  // IPv6 rejects RTM_F_LOOKUP_TABLE under strict checks
}

TEST(VpnNetlinkTest, DecodesARouteAnswer) {
  Datagram d;
  d.begin(RTM_NEWROUTE)
      .route(AF_INET, 32, RTN_UNICAST)
      .u32(RTA_TABLE, 51820)
      .addr(RTA_DST, "10.20.0.1")
      .u32(RTA_OIF, 7)
      .addr(RTA_PREFSRC, "10.99.0.2")
      .addr(RTA_GATEWAY, "10.99.0.1")
      .finish();
  auto m = Parse(d.bytes());
  ASSERT_TRUE(m.ok()) << m.status().toString();
  ASSERT_TRUE(m->has_value());
  const RouteMessage& r = **m;
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.type, RTN_UNICAST);
  EXPECT_EQ(r.table, 51820u);
  EXPECT_EQ(r.oif, 7);
  EXPECT_EQ(r.dst_len, 32);
  ASSERT_TRUE(r.dst && r.prefsrc && r.gateway);
  EXPECT_EQ(r.dst->toString(), "10.20.0.1");
  EXPECT_EQ(r.prefsrc->toString(), "10.99.0.2");
  EXPECT_EQ(r.gateway->toString(), "10.99.0.1");
}

TEST(VpnNetlinkTest, TableFallsBackToTheHeaderAndViaGivesAnIpv6Gateway) {
  Datagram d;
  uint8_t via[18] = {};
  uint16_t fam = AF_INET6;
  std::memcpy(via, &fam, sizeof fam);
  IpAddress gw = Ip("fe80::1");
  std::memcpy(via + 2, gw.bytes.data(), 16);
  d.begin(RTM_NEWROUTE).route(AF_INET, 0, RTN_UNICAST, 200).attr(RTA_VIA, via, sizeof via).finish();
  auto m = Parse(d.bytes());
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->table, 200u);
  ASSERT_TRUE((*m)->gateway);
  EXPECT_EQ((*m)->gateway->toString(), "fe80::1");
}

TEST(VpnNetlinkTest, SkipsMessagesForOtherRequests) {
  Datagram d;
  d.begin(RTM_NEWROUTE, 0, kSeq + 1).route(AF_INET, 32, RTN_UNICAST).finish();
  d.begin(RTM_NEWROUTE, 0, kSeq, kPort + 1).route(AF_INET, 32, RTN_UNICAST).finish();
  d.begin(NLMSG_NOOP).finish();
  auto none = Parse(d.bytes());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  d.begin(RTM_NEWROUTE).route(AF_INET6, 128, RTN_UNICAST).u32(RTA_OIF, 3).finish();
  auto mine = Parse(d.bytes());
  ASSERT_TRUE(mine.ok() && mine->has_value());
  EXPECT_EQ((*mine)->oif, 3);
}

TEST(VpnNetlinkTest, DecodesAnErrorWithTheKernelsMessage) {
  Datagram d;
  nlmsgerr e{};
  e.error = -EINVAL;
  e.msg.nlmsg_len = 36;
  e.msg.nlmsg_type = RTM_GETROUTE;
  const char text[] = "ipv6: Invalid flags for get route request";
  d.begin(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS)
      .raw(&e, sizeof e)
      .attr(NLMSGERR_ATTR_MSG, text, sizeof text)
      .finish();
  auto m = Parse(d.bytes());
  ASSERT_TRUE(m.ok() && m->has_value()) << m.status().toString();
  EXPECT_EQ((*m)->error, EINVAL);
  EXPECT_EQ((*m)->error_message, "ipv6: Invalid flags for get route request");
}

TEST(VpnNetlinkTest, ErrorWithEchoedRequestStillFindsTheMessage) {
  std::vector<uint8_t> req = BuildRouteRequest(Ip("10.20.0.1"), kSeq, false);
  nlmsgerr e{};
  e.error = -ENETUNREACH;
  std::memcpy(&e.msg, req.data(), sizeof e.msg);
  Datagram d;
  const char text[] = "no route";
  d.begin(NLMSG_ERROR, NLM_F_ACK_TLVS)
      .raw(&e, sizeof e)
      .raw(req.data() + NLMSG_HDRLEN, req.size() - NLMSG_HDRLEN)
      .attr(NLMSGERR_ATTR_MSG, text, sizeof text)
      .finish();
  auto m = Parse(d.bytes());
  ASSERT_TRUE(m.ok() && m->has_value()) << m.status().toString();
  EXPECT_EQ((*m)->error, ENETUNREACH);
  EXPECT_EQ((*m)->error_message, "no route");
}

TEST(VpnNetlinkTest, MalformedLengthsAreDataLoss) {
  {
    Datagram d;
    d.begin(RTM_NEWROUTE).route(AF_INET, 32, RTN_UNICAST).finish();
    uint32_t too_long = 4096;
    std::memcpy(d.bytes().data(), &too_long, sizeof too_long);
    auto m = Parse(d.bytes());
    EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
  }
  {
    Datagram d;
    d.begin(RTM_NEWROUTE).route(AF_INET, 32, RTN_UNICAST).finish();
    uint32_t too_short = 8;
    std::memcpy(d.bytes().data(), &too_short, sizeof too_short);
    EXPECT_EQ(Parse(d.bytes()).status().code(), StatusCode::kDataLoss);
  }
  {
    Datagram d;
    rtattr bad{};
    bad.rta_len = 200;  // claims more than the message holds
    bad.rta_type = RTA_OIF;
    d.begin(RTM_NEWROUTE).route(AF_INET, 32, RTN_UNICAST).raw(&bad, sizeof bad).finish();
    EXPECT_EQ(Parse(d.bytes()).status().code(), StatusCode::kDataLoss);
  }
  {
    Datagram d;
    d.begin(RTM_NEWROUTE).raw("\x02\x20", 2).finish();  // shorter than struct rtmsg
    EXPECT_EQ(Parse(d.bytes()).status().code(), StatusCode::kDataLoss);
  }
}

TEST(VpnNetlinkTest, WrongSizedAttributesAreIgnored) {
  Datagram d;
  uint16_t short_oif = 5;
  d.begin(RTM_NEWROUTE)
      .route(AF_INET, 32, RTN_UNICAST)
      .attr(RTA_OIF, &short_oif, sizeof short_oif)
      .addr(RTA_GATEWAY, "fd00::1")  // 16 bytes in an IPv4 answer
      .finish();
  auto m = Parse(d.bytes());
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->oif, 0);
  EXPECT_FALSE((*m)->gateway);
}

TEST(VpnNetlinkTest, TruncatedAndMutatedDatagramsNeverCrash) {
  Datagram d;
  d.begin(RTM_NEWROUTE)
      .route(AF_INET6, 128, RTN_UNICAST)
      .u32(RTA_TABLE, 254)
      .addr(RTA_DST, "fd00:20::1")
      .u32(RTA_OIF, 2)
      .addr(RTA_GATEWAY, "fe80::1")
      .finish();
  const std::vector<uint8_t> good = d.bytes();
  for (size_t n = 0; n <= good.size(); ++n) {
    std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    (void)ParseRouteReply(b.data(), b.size(), kSeq, kPort);
  }
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> b = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    auto m = ParseRouteReply(b.data(), b.size(), kSeq, kPort);
    if (m.ok() && m->has_value() && (*m)->dst) {
      EXPECT_TRUE((*m)->dst->family == AF_INET || (*m)->dst->family == AF_INET6);
    }
  }
}

TEST(VpnNetlinkTest, RouteTypeNames) {
  EXPECT_EQ(RouteTypeName(RTN_UNICAST), "unicast");
  EXPECT_EQ(RouteTypeName(RTN_BLACKHOLE), "blackhole");
  EXPECT_EQ(RouteTypeName(RTN_UNREACHABLE), "unreachable");
  EXPECT_EQ(RouteTypeName(RTN_PROHIBIT), "prohibit");
  EXPECT_EQ(RouteTypeName(200), "type 200");
}

}  // namespace
}  // namespace hearth::internal
