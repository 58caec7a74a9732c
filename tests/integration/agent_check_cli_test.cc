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

// Issue 16 item 2: the help and the usage errors of the person's commands in their language.
TEST(AgentBinaryTest, HelpAndUsageErrorsSpeakThePersonsLanguage) {
  auto agent = [&](const std::string& lang, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-i",
                                  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HEARTH_LOCALEDIR=" + testing::BuiltLocaleDir(),
                                  "LANG=" + lang,
                                  hearth::testing::AgentProgram()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  };
  auto help = agent("da_DK.UTF-8", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(
      help.out.starts_with("Brug: hearth-agent KOMMANDO [TILVALG]\n\nTjekker denne pc mod "
                           "det sikkerhedsniveau"))
      << help.out;
  EXPECT_NE(help.out.find("\n  -h, --help          vis denne hjælp"), std::string::npos);
  auto english = agent("C.UTF-8", {"--help"});
  EXPECT_TRUE(english.out.starts_with("Usage: hearth-agent COMMAND [OPTIONS]\n")) << english.out;

  auto unknown = agent("da_DK.UTF-8", {"tjek"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(unknown.err.starts_with("hearth-agent: ukendt kommando \"tjek\"\n\nBrug: "))
      << unknown.err;

  auto check = agent("da_DK.UTF-8", {"check", "--jsn"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_TRUE(
      check.err.starts_with("hearth-agent check: ukendt tilvalg \"--jsn\"\n\nBrug: "
                            "hearth-agent check [--policy FIL]"))
      << check.err;
  auto no_value = agent("da_DK.UTF-8", {"check", "--policy"});
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_EQ(no_value.err, "hearth-agent check: --policy skal have en værdi\n");

  for (const char* cmd : {"status", "show-report", "check-now"}) {
    auto h = agent("da_DK.UTF-8", {cmd, "--help"});
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_TRUE(h.out.starts_with(std::string("Brug: hearth-agent ") + cmd + " [")) << h.out;
    auto bad = agent("da_DK.UTF-8", {cmd, "--bogus"});
    EXPECT_EQ(bad.exit_code, 2) << cmd;
    EXPECT_TRUE(bad.err.starts_with(std::string("hearth-agent ") + cmd +
                                    ": ukendt tilvalg \"--bogus\"\n\nBrug: hearth-agent " + cmd))
        << bad.err;
    auto en = agent("C.UTF-8", {cmd, "--help"});
    EXPECT_TRUE(en.out.starts_with(std::string("Usage: hearth-agent ") + cmd + " [")) << en.out;
  }
  auto json_value = agent("da_DK.UTF-8", {"status", "--json=yes"});
  EXPECT_EQ(json_value.exit_code, 2);
  EXPECT_EQ(json_value.err, "hearth-agent status: --json skal ikke have en værdi\n");
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

// The checks' own words in Danish (issue 16, item 2): the summary and the numbered steps of a
// failing check, in `check` and in `status`; what is sent stays English with its advice code.
TEST(AgentBinaryTest, CheckAndStatusSayWhatToDoInDanish) {
  testing::TempDir dir;
  std::string p = dir.write("policy.json", R"({"level":"standard","version":1,"checks":)"
                                           R"({"disk_encryption":{"required":true}}})");
  const std::string tree = std::string(HEARTH_FIXTURES_DIR) + "/linux/disk_encryption/plain_ext4";
  auto agent = [&](const std::string& lang, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-i",
                                  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HEARTH_LOCALEDIR=" + testing::BuiltLocaleDir(),
                                  "LANG=" + lang,
                                  "TZ=CET-1",  // the PC's zone: UTC+1, no summer time
                                  hearth::testing::AgentProgram()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  };
  auto da = agent("da_DK.UTF-8", {"check", "--policy", p, "--root", tree});
  ASSERT_EQ(da.exit_code, 1) << da.out << da.err;
  EXPECT_NE(da.out.find("Rodfilsystemet / på vda er ikke krypteret"), std::string::npos) << da.out;
  EXPECT_NE(da.out.find("Det skal du gøre:\n  Diskkryptering:\n"), std::string::npos) << da.out;
  EXPECT_NE(da.out.find("    1. Kontakt din IT-support, hvis du er i tvivl eller har brug for "
                        "hjælp.\n"),
            std::string::npos)
      << da.out;
  EXPECT_NE(da.out.find("    2. Tag en sikkerhedskopi af dine filer"), std::string::npos) << da.out;
  EXPECT_EQ(da.out.find("is not encrypted"), std::string::npos) << da.out;

  auto en = agent("C.UTF-8", {"check", "--policy", p, "--root", tree});
  EXPECT_NE(en.out.find("Root filesystem / on vda is not encrypted"), std::string::npos) << en.out;
  EXPECT_NE(en.out.find("    2. Back up your files (external disk or cloud).\n"), std::string::npos)
      << en.out;

  // --json is what the agent would send: English, with the advice's stable code.
  auto js = agent("da_DK.UTF-8", {"check", "--policy", p, "--root", tree, "--json"});
  auto doc = json::parse(js.out);
  ASSERT_TRUE(doc.ok()) << js.out;
  const json::Value& check = doc->find("checks")->asArray().at(0);
  EXPECT_EQ(check.find("summary")->asString(), "Root filesystem / on vda is not encrypted");
  EXPECT_EQ(check.find("advice")->asArray().at(0).find("code")->asString(),
            "disk_encryption.reinstall_encrypted");
  EXPECT_EQ(js.out.find("krypteret"), std::string::npos);

  // `status` shows the daemon's last result in the reader's language.
  json::Value status = json::Value::object();
  status.set("server", "https://hearth.example:8443");
  status.set("device_id", "d-1");
  status.set("level", "standard");
  status.set("policy_version", 1);
  status.set("last_check", "2026-12-07T10:00:00Z");
  status.set("compliant", false);
  status.set("checks", *doc->find("checks"));
  status.set("spool_depth", 0);
  status.set("server_view", *json::parse(R"({"device_status":"at_risk","checks":[{"id":)"
                                         R"("disk_encryption","fix_by":"2026-12-11T13:03:00Z",)"
                                         R"("exempt_until":null}]})"));
  dir.write("state/status.json", json::write(status));
  auto st = agent("da_DK.UTF-8", {"status", "--state-dir", dir.path() + "/state"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("Tilmeldt https://hearth.example:8443 som enhed d-1\n"), std::string::npos)
      << st.out;
  EXPECT_NE(st.out.find("  Diskkryptering: FEJL - Rodfilsystemet / på vda er ikke krypteret\n"),
            std::string::npos)
      << st.out;
  EXPECT_NE(st.out.find("        1. Kontakt din IT-support"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("Rapporter, der venter på at blive sendt: 0\n"), std::string::npos)
      << st.out;
  // Times as the person reads them, in the PC's zone (the year only in another year than now).
  EXPECT_NE(st.out.find("Seneste tjek: mandag 7. december "), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("11:00 - "), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("  Diskkryptering: ret det senest fredag 11. december "), std::string::npos)
      << st.out;
  EXPECT_EQ(st.out.find("2026-12-07T10:00:00Z"), std::string::npos) << st.out;
  auto st_en = agent("C.UTF-8", {"status", "--state-dir", dir.path() + "/state"});
  EXPECT_NE(st_en.out.find("Last check: Monday 7 December "), std::string::npos) << st_en.out;
  EXPECT_NE(st_en.out.find("  Disk encryption: fix by Friday 11 December "), std::string::npos)
      << st_en.out;
  auto st_js = agent("da_DK.UTF-8", {"status", "--json", "--state-dir", dir.path() + "/state"});
  EXPECT_NE(st_js.out.find("\"last_check\":\"2026-12-07T10:00:00Z\""), std::string::npos)
      << st_js.out;
  EXPECT_NE(st_en.out.find("  Disk encryption: FAIL - Root filesystem / on vda is not encrypted"),
            std::string::npos)
      << st_en.out;
}

// Issue 16 item 3: the policy's helpdesk and help page are named with the advice, in the
// person's language; they stay on the PC (not in what is sent).
TEST(AgentBinaryTest, CheckNamesTheCompanysHelpdesk) {
  testing::TempDir dir;
  std::string p = dir.write("policy.json", R"({"level":"standard","version":1,
    "description": {"en": "For everyone working from home", "da": "For alle, der arbejder hjemme"},
    "helpdesk": {"name": {"en": "IT support", "da": "IT-support"}, "phone": "70 20 30 40",
                 "email": "it@example.dk"},
    "checks": {"disk_encryption": {"required": true,
                                   "help_url": "https://help.example.dk/encryption"}}})");
  const std::string tree = std::string(HEARTH_FIXTURES_DIR) + "/linux/disk_encryption/plain_ext4";
  auto agent = [&](const std::string& lang, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-i",
                                  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HEARTH_LOCALEDIR=" + testing::BuiltLocaleDir(),
                                  "LANG=" + lang,
                                  hearth::testing::AgentProgram()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  };
  auto da = agent("da_DK.UTF-8", {"check", "--policy", p, "--root", tree});
  ASSERT_EQ(da.exit_code, 1) << da.out << da.err;
  EXPECT_NE(da.out.find("Om dette niveau: For alle, der arbejder hjemme\n"), std::string::npos)
      << da.out;
  EXPECT_NE(da.out.find("    Mere hjælp: https://help.example.dk/encryption\n"), std::string::npos)
      << da.out;
  EXPECT_NE(da.out.find("\nSpørgsmål? Kontakt IT-support, tlf. 70 20 30 40, it@example.dk\n"),
            std::string::npos)
      << da.out;

  auto en = agent("C.UTF-8", {"check", "--policy", p, "--root", tree});
  EXPECT_NE(en.out.find("\nQuestions? Contact IT support, phone 70 20 30 40, it@example.dk\n"),
            std::string::npos)
      << en.out;

  // --json keeps them for `status` ("help", the check's "text"); the report filter drops both.
  auto js = agent("da_DK.UTF-8", {"check", "--policy", p, "--root", tree, "--json"});
  auto doc = json::parse(js.out);
  ASSERT_TRUE(doc.ok()) << js.out;
  ASSERT_NE(doc->find("help"), nullptr) << js.out;

  // `status` names them too, from the daemon's stored result.
  json::Value status = json::Value::object();
  status.set("server", "https://hearth.example:8443");
  status.set("device_id", "d-1");
  status.set("level", "standard");
  status.set("policy_version", 1);
  status.set("compliant", false);
  status.set("checks", *doc->find("checks"));
  status.set("help", *doc->find("help"));
  dir.write("state/status.json", json::write(status));
  auto st = agent("da_DK.UTF-8", {"status", "--state-dir", dir.path() + "/state"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("        Mere hjælp: https://help.example.dk/encryption\n"),
            std::string::npos)
      << st.out;
  EXPECT_NE(st.out.find("Spørgsmål? Kontakt IT-support, tlf. 70 20 30 40, it@example.dk\n"),
            std::string::npos)
      << st.out;
  EXPECT_NE(st.out.find("Om dette niveau: For alle, der arbejder hjemme\n"), std::string::npos)
      << st.out;
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
