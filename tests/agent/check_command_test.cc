#include "check_command.h"

#include <sstream>

#include <gtest/gtest.h>

#include "hearth/agent/cli.h"
#include "hearth/json.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

struct CliRun {
  int rc;
  std::string out;
  std::string err;
};

CliRun runCli(std::vector<std::string> args, std::string default_policy = "/nonexistent/p.json") {
  std::ostringstream out, err;
  CliEnvironment env{out, err, false, default_policy, "/nonexistent/state"};
  int rc = RunAgentCli(args, env);
  return {rc, out.str(), err.str()};
}

TEST(AgentCliTest, HelpAndVersion) {
  auto h = runCli({"--help"});
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("Usage: hearth-agent"), std::string::npos);
  auto v = runCli({"--version"});
  EXPECT_EQ(v.rc, 0);
  EXPECT_TRUE(v.out.starts_with("hearth-agent "));
  auto ch = runCli({"check", "--help"});
  EXPECT_EQ(ch.rc, 0);
  EXPECT_NE(ch.out.find("--root DIR"), std::string::npos);
}

TEST(AgentCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(runCli({}).rc, 2);
  auto u = runCli({"frobnicate"});
  EXPECT_EQ(u.rc, 2);
  EXPECT_NE(u.err.find("unknown command \"frobnicate\""), std::string::npos);
  auto o = runCli({"check", "--polcy", "x"});
  EXPECT_EQ(o.rc, 2);
  EXPECT_NE(o.err.find("unknown option \"--polcy\""), std::string::npos);
  auto m = runCli({"check", "--policy"});
  EXPECT_EQ(m.rc, 2);
  EXPECT_NE(m.err.find("--policy needs a value"), std::string::npos);
}

TEST(AgentCliTest, NoPolicyAnywhereSaysSo) {
  auto r = runCli({"check"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("/nonexistent/p.json does not exist"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--policy FILE"), std::string::npos);
}

TEST(AgentCliTest, BrokenPolicyNamesTheKey) {
  testing::TempDir dir;
  std::string p = dir.write(
      "p.json",
      R"({"level":"standard","version":1,"checks":{"screen_lock":{"max_idle_seconds":"300"}}})");
  auto r = runCli({"check", "--policy", p});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find(p + ": checks.screen_lock.max_idle_seconds: expected a whole number"),
            std::string::npos)
      << r.err;
  std::string bad = dir.write("bad.json", "{\"level\": ");
  r = runCli({"check", "--policy=" + bad});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find(bad + ": line 1"), std::string::npos) << r.err;
}

TEST(AgentCliTest, EmptyPolicyOnATreeIsCompliantJson) {
  testing::TempDir root;
  root.write("etc/os-release", "PRETTY_NAME=\"Test OS\"\n");
  testing::TempDir dir;
  std::string p = dir.write("p.json", R"({"level":"minimal","version":4,"checks":{}})");
  auto r = runCli({"check", "--json", "--policy", p, "--root", root.path()});
  EXPECT_EQ(r.rc, 0) << r.err;
  auto doc = json::parse(r.out);
  ASSERT_TRUE(doc.ok()) << r.out;
  EXPECT_TRUE(doc->find("compliant")->asBool());
  EXPECT_EQ(doc->find("level")->asString(), "minimal");
  EXPECT_EQ(doc->find("policy_version")->asInt(), 4);
  EXPECT_EQ(doc->find("host")->find("os")->asString(), "Test OS");
  EXPECT_EQ(doc->find("checks")->size(), 0u);
}

TEST(AgentCliTest, MissingRootOrStateDirIsAUsageError) {
  testing::TempDir dir;
  std::string p = dir.write("p.json", R"({"level":"minimal","version":1,"checks":{}})");
  auto r = runCli({"check", "--policy", p, "--root", "/nonexistent/root"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("/nonexistent/root"), std::string::npos);
  r = runCli({"check", "--policy", p, "--state-dir", "/nonexistent/state"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--state-dir /nonexistent/state is not a directory"), std::string::npos);
}

TEST(ReportTextTest, TableShowsVerdictsAdviceAndNeutralisesControlCharacters) {
  Report r;
  r.level = "standard";
  r.policy_version = 3;
  r.host.hostname = "pc\x1b[31m1";
  CheckResult fail;
  fail.id = "disk_encryption";
  fail.verdict = Verdict::kFail;
  fail.summary = "Root filesystem / is not encrypted";
  fail.remediation = "Reinstall with encryption.";
  CheckResult na;
  na.id = "screen_lock";
  na.verdict = Verdict::kNotApplicable;
  na.summary = "No desktop";
  CheckResult opt;
  opt.id = "vpn";
  opt.verdict = Verdict::kUnknown;
  opt.required = false;
  opt.summary = "No company address";
  opt.remediation = "Ask IT.";
  r.checks = {fail, na, opt};
  r.compliant = false;
  std::string text = FormatReportText(r, false);
  // The check's name and the verdict in words (issue 16: no internal ids, no "N/A"), in columns.
  EXPECT_NE(text.find("CHECK            RESULT          SUMMARY\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Disk encryption  FAIL            Root filesystem"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Screen lock      NOT APPLICABLE  No desktop"), std::string::npos) << text;
  EXPECT_NE(text.find("VPN              UNKNOWN         No company address (informational: not "
                      "required)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("What to do:\n  Disk encryption:\n    Reinstall with encryption.\n"),
            std::string::npos);
  EXPECT_NE(text.find("does not meet the agreed security level"), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);  // no escape from data, no colour off a tty
  EXPECT_NE(FormatReportText(r, true).find("\x1b[31mFAIL"), std::string::npos);
}

}  // namespace
}  // namespace hearth::agent
