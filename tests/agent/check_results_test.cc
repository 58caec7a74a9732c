// Results of check runs: merging a vpn-only run into the last full one, and the fingerprint that
// tells a changed result from a re-timed one.
#include "hearth/agent/check_results.h"

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/result_json.h"

namespace hearth::agent {
namespace {

using testing::CheckById;

TEST(CheckProcessTest, MergeKeepsOtherChecksAndRecomputesCompliance) {
  auto full =
      json::parse(R"({"compliant":true,"evaluated_at":"2026-11-26T10:00:00Z","checks":[)"
                  R"({"id":"disk_encryption","verdict":"pass","required":true,"summary":"ok"},)"
                  R"({"id":"vpn","verdict":"pass","required":true,"summary":"through tun0"}]})");
  auto vpn = json::parse(R"({"compliant":false,"evaluated_at":"2026-11-26T10:05:00Z","checks":[)"
                         R"({"id":"vpn","verdict":"fail","required":true,"summary":"via eth0"}]})");
  json::Value m = MergeCheckResults(*full, *vpn);
  ASSERT_EQ(m.find("checks")->size(), 2u);
  EXPECT_EQ(CheckById(m, "disk_encryption").find("verdict")->asString(), "pass");
  EXPECT_EQ(CheckById(m, "vpn").find("verdict")->asString(), "fail");
  EXPECT_FALSE(m.find("compliant")->asBool());
  EXPECT_EQ(m.find("evaluated_at")->asString(), "2026-11-26T10:05:00Z");
}

TEST(CheckProcessTest, FingerprintIgnoresTimingButNotVerdicts) {
  auto a = json::parse(
      R"({"level":"standard","policy_version":1,"compliant":false,"evaluated_at":"A","checks":[)"
      R"({"id":"vpn","verdict":"fail","required":true,"summary":"via eth0","duration_ms":3}]})");
  auto b = json::parse(
      R"({"level":"standard","policy_version":1,"compliant":false,"evaluated_at":"B","checks":[)"
      R"({"id":"vpn","verdict":"fail","required":true,"summary":"via eth0","duration_ms":9}]})");
  auto c = json::parse(
      R"({"level":"standard","policy_version":1,"compliant":true,"evaluated_at":"B","checks":[)"
      R"({"id":"vpn","verdict":"pass","required":true,"summary":"through tun0"}]})");
  EXPECT_EQ(ResultFingerprint(*a), ResultFingerprint(*b));
  EXPECT_NE(ResultFingerprint(*a), ResultFingerprint(*c));
}

}  // namespace
}  // namespace hearth::agent
