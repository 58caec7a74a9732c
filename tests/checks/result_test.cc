#include "hearth/result.h"

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/check.h"
#include "hearth/runner.h"
#include "hearth/time.h"

namespace hearth {
namespace {

CheckResult make(Verdict v, bool required) {
  CheckResult r;
  r.verdict = v;
  r.required = required;
  return r;
}

TEST(ResultTest, CompliantOnlyWhenEveryRequiredCheckPassesOrDoesNotApply) {
  EXPECT_TRUE(isCompliant({make(Verdict::kPass, true), make(Verdict::kNotApplicable, true)}));
  EXPECT_FALSE(isCompliant({make(Verdict::kPass, true), make(Verdict::kFail, true)}));
  EXPECT_FALSE(isCompliant({make(Verdict::kUnknown, true)}));  // unknown is never a pass
  EXPECT_TRUE(isCompliant({make(Verdict::kFail, false), make(Verdict::kUnknown, false)}));
  EXPECT_TRUE(isCompliant({}));
}

TEST(ResultTest, VerdictNamesRoundTrip) {
  for (Verdict v : {Verdict::kPass, Verdict::kFail, Verdict::kUnknown, Verdict::kNotApplicable}) {
    auto back = parseVerdict(verdictName(v));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, v);
  }
  EXPECT_EQ(verdictName(Verdict::kNotApplicable), "not_applicable");
  EXPECT_FALSE(parseVerdict("ok").ok());
}

TEST(ResultTest, ReportJsonHasTheArchitectureShape) {
  Report r;
  r.compliant = false;
  r.level = "standard";
  r.policy_version = 3;
  r.evaluated_at = std::chrono::system_clock::from_time_t(1795687200);
  r.host = {"pc1", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64"};
  CheckResult c;
  c.id = "disk_encryption";
  c.verdict = Verdict::kFail;
  c.summary = "Root filesystem / is not encrypted";
  c.evidence.set("chain", "/ ← vda");
  c.remediation = "Encrypt";
  c.duration_ms = 3;
  r.checks.push_back(c);
  EXPECT_EQ(json::write(r.toJson()),
            R"j({"compliant":false,"level":"standard","policy_version":3,)j"
            R"j("evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc1",)j"
            R"j("os":"Debian GNU/Linux 12 (bookworm)","kernel":"6.1.0-18-amd64"},)j"
            R"j("checks":[{"id":"disk_encryption","verdict":"fail","required":true,)j"
            R"j("summary":"Root filesystem / is not encrypted","evidence":{"chain":"/ ← vda"},)j"
            R"j("remediation":"Encrypt","duration_ms":3}]})j");
}

TEST(ResultTest, Rfc3339RoundTripAndOffsets) {
  auto t = parseRfc3339("2026-11-26T10:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(formatRfc3339(*t), "2026-11-26T10:00:00Z");
  auto off = parseRfc3339("2026-11-26T12:30:00.123+02:30");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(formatRfc3339(*off), "2026-11-26T10:00:00Z");
  EXPECT_FALSE(parseRfc3339("2026-11-26 10:00").ok());
  EXPECT_FALSE(parseRfc3339("2026-13-26T10:00:00Z").ok());
}

// Found by report_fuzz (tests/fuzz/corpus/report/crash-sent-at-year-4550.json): a time beyond what
// a time_point holds overflowed into another date instead of being refused.
TEST(ResultTest, Rfc3339RefusesTimesATimePointCannotHold) {
  auto last = parseRfc3339("2262-01-01T00:00:00Z");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(formatRfc3339(*last), "2262-01-01T00:00:00Z");
  EXPECT_FALSE(parseRfc3339("4550-12-01T10:00:01+01:00").ok());
  EXPECT_FALSE(parseRfc3339("9999-12-31T23:59:59Z").ok());
  EXPECT_FALSE(parseRfc3339("0001-01-01T00:00:00Z").ok());
}

class ErrorCheck final : public Check {
 public:
  std::string_view id() const override { return "vpn"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    return PermissionDeniedError("cannot read /sys/class/net");
  }
};

class PassCheck final : public Check {
 public:
  std::string_view id() const override { return "disk_encryption"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    CheckResult r;
    r.verdict = Verdict::kPass;
    r.summary = "ok";
    return r;
  }
};

class NeverRunCheck final : public Check {
 public:
  std::string_view id() const override { return "screen_lock"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    ADD_FAILURE() << "a check absent from the policy must not run";
    return CheckResult{};
  }
};

TEST(RunnerTest, ErrorsBecomeUnknownWithReasonAndAbsentChecksDoNotRun) {
  testing::FakeSystemView sys;
  sys.addFile("/proc/sys/kernel/hostname", "pc1\n");
  sys.addFile("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
  sys.addFile("/etc/os-release",
              "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
  auto policy = ParsePolicy(
      R"({"level":"standard","version":2,"checks":{"disk_encryption":{},"vpn":{"company_addresses":["10.0.0.1"]}}})",
      "p");
  ASSERT_TRUE(policy.ok());
  std::vector<std::unique_ptr<Check>> checks;
  checks.push_back(std::make_unique<PassCheck>());
  checks.push_back(std::make_unique<ErrorCheck>());
  checks.push_back(std::make_unique<NeverRunCheck>());
  Report r = RunChecks(sys, *policy, checks, {});
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].id, "disk_encryption");
  EXPECT_EQ(r.checks[0].verdict, Verdict::kPass);
  EXPECT_EQ(r.checks[1].id, "vpn");
  EXPECT_EQ(r.checks[1].verdict, Verdict::kUnknown);
  EXPECT_NE(r.checks[1].summary.find("cannot read /sys/class/net"), std::string::npos);
  EXPECT_FALSE(r.checks[1].remediation.empty());
  EXPECT_FALSE(r.compliant);
  EXPECT_EQ(r.host.hostname, "pc1");
  EXPECT_EQ(r.host.os, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(r.host.kernel, "6.1.0-18-amd64");
  EXPECT_EQ(r.policy_version, 2);
  EXPECT_EQ(formatRfc3339(r.evaluated_at), "2026-11-26T10:00:00Z");
}

}  // namespace
}  // namespace hearth
