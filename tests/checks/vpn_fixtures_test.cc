// The vpn check on recorded machines: every tree under tests/fixtures/linux/vpn/<case>/ is run
// through the real NewRootedSystemView (sysfs files from the tree, routes from
// .hearth/routes.json) with the case's policy.json, and must give expected.json's verdict and
// summary (exact, or "summary_starts_with" where the rest is another component's wording).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/system_view.h"
#include "vpn/vpn.h"

namespace hearth::checks::vpn {
namespace {

const std::string kVpnFixtures = std::string(HEARTH_FIXTURES_DIR) + "/linux/vpn";

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kVpnFixtures, ec)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class VpnFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VpnFixtureTest, GivesTheExpectedVerdictAndSummary) {
  const std::string root = kVpnFixtures + "/" + GetParam();
  auto policy = LoadPolicyFile(root + "/policy.json");
  ASSERT_TRUE(policy.ok()) << policy.status().toString();
  auto expected = json::parse(ReadText(root + "/expected.json"));
  ASSERT_TRUE(expected.ok()) << expected.status().toString();
  ASSERT_TRUE(std::filesystem::exists(root + "/README.md")) << "each fixture says what it is";

  auto view = NewRootedSystemView(root);
  ASSERT_TRUE(view.ok()) << view.status().toString();
  CheckParams params{*policy, ""};
  auto result = NewVpnCheck()->run(**view, params);
  ASSERT_TRUE(result.ok()) << result.status().toString();

  EXPECT_EQ(verdictName(result->verdict), expected->find("verdict")->asString()) << result->summary;
  if (const json::Value* exact = expected->find("summary")) {
    EXPECT_EQ(result->summary, exact->asString());
  } else {
    const json::Value* prefix = expected->find("summary_starts_with");
    ASSERT_NE(prefix, nullptr) << "expected.json needs summary or summary_starts_with";
    EXPECT_TRUE(result->summary.starts_with(prefix->asString())) << result->summary;
  }
  if (result->verdict != Verdict::kPass) {
    EXPECT_FALSE(result->remediation.empty());
  }
  // Every configured address appears in the evidence.
  const json::Value* list = result->evidence.find("addresses");
  ASSERT_NE(list, nullptr);
  const auto* settings = policy->settings<VpnSettings>(kVpnCheckId);
  ASSERT_NE(settings, nullptr);
  EXPECT_EQ(list->size(), settings->company_addresses.size());
}

INSTANTIATE_TEST_SUITE_P(Trees, VpnFixtureTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(VpnFixtureSetTest, CoversTheResearchScenarios) {
  std::vector<std::string> names = Cases();
  for (const char* needed :
       {"openconnect-split-tunnel-tun", "wg-quick-full-tunnel-table-51820",
        "openvpn-persist-tun-disconnected", "tailscale-company-not-routed", "zscaler-internet-only",
        "kernel-wireguard-mullvad", "openfortivpn-ppp", "proton-leak-guard-dummy",
        "ipv6-leak-v4-only-tunnel", "company-range-unreachable", "route-not-recorded",
        "strongswan-policy-based-ipsec", "strongswan-policy-without-sa"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), needed), names.end()) << needed;
  }
}

}  // namespace
}  // namespace hearth::checks::vpn
