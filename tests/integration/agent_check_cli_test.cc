// The real hearth-agent binary, run as a process: exit codes, streams and JSON output.
#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/programs.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

TEST(AgentBinaryTest, VersionAndHelp) {
  auto v = RunProcess({hearth::testing::AgentProgram(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_TRUE(v.out.starts_with("hearth-agent 0.")) << v.out;
  auto h = RunProcess({hearth::testing::AgentProgram(), "check", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("Exit codes: 0 compliant, 1 not compliant, 2"), std::string::npos);
}

TEST(AgentBinaryTest, BrokenPolicyExitsTwoNamingTheKeyOnStderr) {
  testing::TempDir dir;
  std::string p = dir.write("policy.json",
                            R"({"level":"standard","version":1,"checks":{"vpn":{"adresses":[]}}})");
  auto r = RunProcess({hearth::testing::AgentProgram(), "check", "--json", "--policy", p});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("checks.vpn.adresses: unknown key"), std::string::npos) << r.err;
}

// Issue 16 item 2, the first texts: `check` speaks the person's language (gettext, po/da.po):
// Danish for LANG=da_DK.UTF-8 even where glibc has no such locale generated (as here), English
// for any other; the JSON (what a report holds) stays language-neutral.
TEST(AgentBinaryTest, CheckSpeaksThePersonsLanguage) {
  testing::TempDir dir;
  std::string p =
      dir.write("policy.json", R"({"level":"standard","version":1,"checks":{"disk_encryption":)"
                               R"({"required":true},"screen_lock":{"required":false}}})");
  auto run = [&](const std::string& lang, bool as_json = false) {
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-i",
                                  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HEARTH_LOCALEDIR=" + testing::BuiltLocaleDir(),
                                  "LANG=" + lang,
                                  hearth::testing::AgentProgram(),
                                  "check",
                                  "--policy",
                                  p};
    if (as_json) argv.push_back("--json");
    return RunProcess(argv);
  };
  auto da = run("da_DK.UTF-8");
  ASSERT_TRUE(da.exit_code == 0 || da.exit_code == 1) << da.err;
  EXPECT_NE(da.out.find("Hearth-tjek af sikkerhedsniveauet for niveau \"standard\" (politik "
                        "version 1)\n"),
            std::string::npos)
      << da.out;
  EXPECT_NE(da.out.find("\nTJEK            RESULTAT"), std::string::npos) << da.out;
  EXPECT_NE(da.out.find("\nDiskkryptering  "), std::string::npos) << da.out;
  EXPECT_NE(da.out.find("\nSkærmlås        "), std::string::npos) << da.out;
  EXPECT_NE(da.out.find(" (til orientering: ikke et krav)\n"), std::string::npos) << da.out;
  EXPECT_NE(da.out.find("aftalte sikkerhedsniveau.\n"), std::string::npos) << da.out;

  auto en = run("en_GB.UTF-8");
  EXPECT_NE(en.out.find("Hearth compliance check for level \"standard\" (policy version 1)\n"),
            std::string::npos)
      << en.out;
  EXPECT_NE(en.out.find("\nDisk encryption  "), std::string::npos) << en.out;

  auto js = run("da_DK.UTF-8", true);
  auto doc = json::parse(js.out);
  ASSERT_TRUE(doc.ok()) << js.out;
  for (const auto& c : doc->find("checks")->asArray()) {
    std::string verdict = c.find("verdict")->asString();
    EXPECT_TRUE(verdict == "pass" || verdict == "fail" || verdict == "unknown" ||
                verdict == "not_applicable")
        << verdict;
  }
  EXPECT_EQ(js.out.find("Diskkryptering"), std::string::npos);
}

TEST(AgentBinaryTest, JsonOutputOnThisMachineHasEveryCheck) {
  auto r = RunProcess({hearth::testing::AgentProgram(), "check", "--json", "--policy",
                       std::string(HEARTH_SOURCE_DIR) + "/packaging/policy.example.json"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  auto doc = json::parse(r.out);
  ASSERT_TRUE(doc.ok()) << doc.status().toString() << "\n" << r.out;
  const json::Value* checks = doc->find("checks");
  ASSERT_NE(checks, nullptr);
  std::vector<std::string> ids;
  for (const auto& c : checks->asArray()) {
    ids.push_back(c.find("id")->asString());
    std::string verdict = c.find("verdict")->asString();
    EXPECT_TRUE(verdict == "pass" || verdict == "fail" || verdict == "unknown" ||
                verdict == "not_applicable");
    EXPECT_FALSE(c.find("summary")->asString().empty());
    if (verdict == "fail" || verdict == "unknown") {
      EXPECT_FALSE(c.find("remediation")->asString().empty()) << c.find("id")->asString();
    }
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"disk_encryption", "vpn", "os_patches", "screen_lock"}));
  EXPECT_EQ(doc->find("compliant")->asBool(), r.exit_code == 0);
}

}  // namespace
}  // namespace hearth
