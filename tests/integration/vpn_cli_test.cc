// The real hearth-agent binary judging VPN fixture trees through --root (no privileges needed):
// verdict, exit code and the evidence shape that IT sees.
#include <string>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/programs.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kVpnFixtures = std::string(HEARTH_FIXTURES_DIR) + "/linux/vpn";

json::Value VpnResult(const testing::ProcessOutput& o) {
  auto doc = json::parse(o.out);
  EXPECT_TRUE(doc.ok()) << o.out << o.err;
  if (!doc.ok()) return {};
  const json::Value* checks = doc->find("checks");
  EXPECT_TRUE(checks != nullptr && checks->size() == 1) << o.out;
  if (checks == nullptr || checks->size() != 1) return {};
  return checks->asArray()[0];
}

TEST(VpnCliTest, WgQuickTreePassesWithTheTableInTheEvidence) {
  testing::TempDir state;
  std::string root = kVpnFixtures + "/wg-quick-full-tunnel-table-51820";
  auto o = RunProcess({hearth::testing::AgentProgram(), "check", "--json", "--root", root,
                       "--policy", root + "/policy.json", "--state-dir", state.path()});
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json::Value vpn = VpnResult(o);
  ASSERT_TRUE(vpn.isObject());
  EXPECT_EQ(vpn.find("id")->asString(), "vpn");
  EXPECT_EQ(vpn.find("verdict")->asString(), "pass");
  const json::Value& first = vpn.find("evidence")->find("addresses")->asArray()[0];
  EXPECT_EQ(first.find("route")->find("table")->asInt(), 51820);
  EXPECT_EQ(first.find("route")->find("matched_prefix")->asString(), "default");
  EXPECT_EQ(first.find("interface")->find("kind")->asString(), "tun");
  EXPECT_TRUE(first.find("interface")->find("up")->asBool());
}

TEST(VpnCliTest, Ipv6LeakTreeFailsWithRemediation) {
  testing::TempDir state;
  std::string root = kVpnFixtures + "/ipv6-leak-v4-only-tunnel";
  auto o = RunProcess({hearth::testing::AgentProgram(), "check", "--json", "--root", root,
                       "--policy", root + "/policy.json", "--state-dir", state.path()});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json::Value vpn = VpnResult(o);
  ASSERT_TRUE(vpn.isObject());
  EXPECT_EQ(vpn.find("verdict")->asString(), "fail");
  EXPECT_EQ(vpn.find("summary")->asString(),
            "fd00:20::1 is routed via eth0 (physical), not through a VPN");
  EXPECT_FALSE(vpn.find("remediation")->asString().empty());
}

}  // namespace
}  // namespace hearth
