// The vpn check and the rtnetlink lookup on this machine itself (no namespace, no root needed):
// our netlink answers must agree with iproute2's, and a company address that leaves through the
// machine's ordinary network interface must fail, naming that interface. Only lookups: no packet.
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/check.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/system_view.h"
#include "support/temp_dir.h"
#include "system/netlink_route.h"
#include "vpn/vpn.h"

namespace hearth {
namespace {

// A documentation address (RFC 5737 TEST-NET-3): follows the default route; never contacted.
constexpr const char* kFarAddress = "203.0.113.7";

std::string IpBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

TEST(VpnLiveTest, LoopbackIsALocalRoute) {
  auto r = internal::NetlinkRouteLookup(*IpAddress::parse("127.0.0.1"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->type, "local");
  EXPECT_EQ(r->interface, "lo");
  // Until policy rules are added the kernel keeps local and main merged, and answers "main".
  EXPECT_TRUE(r->table == 254u || r->table == 255u) << r->table;
  EXPECT_TRUE(r->matched_prefix == "127.0.0.1/32" || r->matched_prefix == "127.0.0.0/8")
      << r->matched_prefix;
  auto v6 = internal::NetlinkRouteLookup(*IpAddress::parse("::1"));
  if (v6.ok()) {  // IPv6 may be disabled on the machine
    EXPECT_EQ(v6->type, "local");
    EXPECT_EQ(v6->interface, "lo");
  }
}

TEST(VpnLiveTest, AgreesWithIproute2) {
  if (IpBinary().empty()) GTEST_SKIP() << "needs iproute2 (ip)";
  for (const char* address : {kFarAddress, "127.0.0.1"}) {
    auto ours = internal::NetlinkRouteLookup(*IpAddress::parse(address));
    ASSERT_TRUE(ours.ok()) << ours.status().toString();
    auto out = testing::RunProcess({IpBinary(), "-j", "route", "get", address});
    if (out.exit_code != 0) {
      EXPECT_EQ(ours->type, "unreachable") << out.err;
      continue;
    }
    auto doc = json::parse(out.out);
    ASSERT_TRUE(doc.ok() && doc->isArray() && doc->size() == 1) << out.out;
    const json::Value& e = doc->asArray()[0];
    EXPECT_EQ(e.find("dev")->asString(), ours->interface) << address;
    const json::Value* gw = e.find("gateway");
    EXPECT_EQ(gw != nullptr ? gw->asString() : "", ours->gateway) << address;
    const json::Value* src = e.find("prefsrc");
    EXPECT_EQ(src != nullptr ? src->asString() : "", ours->source) << address;
  }
}

TEST(VpnLiveTest, AddressViaThisMachinesNetworkFailsNamingTheInterface) {
  auto route = internal::NetlinkRouteLookup(*IpAddress::parse(kFarAddress));
  ASSERT_TRUE(route.ok()) << route.status().toString();
  if (route->type != "unicast" || route->interface.empty()) {
    GTEST_SKIP() << "this machine has no default route (" << route->type << ")";
  }
  Policy p;
  p.level = "standard";
  p.version = 1;
  auto settings = std::make_shared<checks::VpnSettings>();
  settings->company_addresses = {kFarAddress};
  p.enable(checks::kVpnCheckId, settings);
  CheckParams params{p, ""};
  auto view = NewLiveSystemView();
  auto r = checks::NewVpnCheck()->run(*view, params);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  const json::Value& a = r->evidence.find("addresses")->asArray()[0];
  const json::Value* iface = a.find("interface");
  ASSERT_NE(iface, nullptr) << json::write(r->evidence);
  if (iface->find("tunnel")->asBool()) {
    GTEST_SKIP() << "this machine's default route goes through a VPN (" << route->interface << ")";
  }
  EXPECT_EQ(r->verdict, Verdict::kFail);
  EXPECT_EQ(r->summary, std::string(kFarAddress) + " is routed via " + route->interface + " (" +
                            iface->find("kind")->asString() + "), not through a VPN");
  EXPECT_FALSE(r->remediation.empty());
}

}  // namespace
}  // namespace hearth
