#include "hearth/agent/privacy.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/i18n.h"
#include "hearth/result.h"

namespace hearth::agent {
namespace {

json::Value sample() {
  auto v = json::parse(R"j({"compliant":false,"level":"standard","checks":[
    {"id":"screen_lock","verdict":"fail","summary":"alice: screen locks after 900 s (limit 300 s)",
     "remediation":"alice, open Settings","evidence":{"people":[
       {"person":"person 1","user":"alice","uid":1000,"source":"/home/alice/.config/dconf/user"},
       {"person":"person 2","user":"bob","uid":1001,"reason":"bob has no session"}],
      "not_inspected":[{"user":"carol","reason":"cannot look into /home/carol"}]}},
    {"id":"os_patches","verdict":"fail","summary":"2 updates","evidence":{
      "pending":[{"name":"openssl","installed":"1","candidate":"2","security":true,
                  "first_seen":"2026-11-20T00:00:00Z"},
                 {"name":"private-tool","installed":"1","candidate":"2","security":false,
                  "first_seen":"2026-11-20T00:00:00Z"}],
      "pending_count":2,"security_count":1,"kept_back":["a","b"],
      "reboot":{"pending":true,"packages":["linux-image-amd64"]}}}]})j");
  return *v;
}

TEST(PrivacyFilterTest, UsernamesBecomePeopleEverywhere) {
  std::string out = json::write(ApplyPrivacyFilter(sample()));
  for (const char* name : {"alice", "bob", "carol", "\"uid\""}) {
    EXPECT_EQ(out.find(name), std::string::npos) << name << " leaked: " << out;
  }
  EXPECT_NE(out.find("person 1: screen locks after 900 s"), std::string::npos) << out;
  EXPECT_NE(out.find("/home/person 1/.config"), std::string::npos);
  EXPECT_NE(out.find("person 3"), std::string::npos);  // carol, not inspected, still pseudonymous
}

TEST(PrivacyFilterTest, PatchesSendOnlySecurityNamesCountsAndAges) {
  json::Value out = ApplyPrivacyFilter(sample());
  const json::Value& ev = *out.find("checks")->asArray()[1].find("evidence");
  ASSERT_EQ(ev.find("pending")->size(), 1u);
  const json::Value& p = ev.find("pending")->asArray()[0];
  EXPECT_EQ(p.find("name")->asString(), "openssl");
  EXPECT_EQ(p.find("installed"), nullptr);
  EXPECT_NE(p.find("first_seen"), nullptr);
  EXPECT_EQ(ev.find("pending_count")->asInt(), 2);
  EXPECT_EQ(ev.find("kept_back")->asInt(), 2);  // how many, not which
  EXPECT_EQ(ev.find("reboot")->find("packages"), nullptr);
  EXPECT_EQ(json::write(out).find("private-tool"), std::string::npos);
}

TEST(PrivacyFilterTest, PatchesSendTheCandidateAndWhereAnAgeCountsFromAndNothingElse) {
  auto v = json::parse(R"j({"checks":[{"id":"os_patches","verdict":"fail","summary":"s",
    "evidence":{"pending":[{"name":"openssl","installed":"3.0.11-1~deb12u2",
      "candidate":"3.0.15-1~deb12u1","security":true,"first_seen":"2026-11-12T09:00:00Z",
      "age_from":"2026-11-02T09:00:00Z","age_counts_from":"fleet first seen 2026-11-02",
      "origin":"bookworm-security","unexpected":"x"},
      {"name":"private-tool","installed":"1.0","candidate":"7.7.7","security":false,
       "first_seen":"2026-11-12T09:00:00Z","age_from":"2026-11-12T09:00:00Z"}]}}]})j");
  json::Value out = ApplyPrivacyFilter(*v);
  const json::Value& pending = *out.find("checks")->asArray()[0].find("evidence")->find("pending");
  ASSERT_EQ(pending.size(), 1u);
  std::vector<std::string> keys;
  for (const auto& [k, value] : pending.asArray()[0].asObject()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"age_counts_from", "age_from", "candidate",
                                            "first_seen", "name", "security"}));
  EXPECT_EQ(pending.asArray()[0].find("candidate")->asString(), "3.0.15-1~deb12u1");
  std::string text = json::write(out);
  for (const char* secret : {"3.0.11", "private-tool", "7.7.7", "bookworm-security"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " left the PC: " << text;
  }
}

// Issue 16: what leaves the PC is English with the advice's code; the messages kept for showing
// the person their language stay local, and names in the English are still replaced.
TEST(PrivacyFilterTest, ReportsKeepTheEnglishAndTheAdviceCodesOnly) {
  CheckResult c;
  c.id = "screen_lock";
  c.verdict = Verdict::kFail;
  c.setSummary(
      i18n::Joined({i18n::Lit("alice"), i18n::Msg("the screen never locks on its own")}, ": "));
  Advice a;
  a.code = "screen_lock.turn_on_auto_lock";
  a.variant = "gnome-46";
  a.heading = i18n::Msg("For {1}:", {i18n::Lit("alice")});
  a.steps.push_back(i18n::Msg("Turn on Automatic Screen Lock."));
  c.addAdvice(std::move(a));
  Report r;
  r.level = "standard";
  r.checks.push_back(c);
  json::Value local = r.toJson();
  ASSERT_NE(local.find("checks")->asArray()[0].find("text"), nullptr);
  json::Value sent = ApplyPrivacyFilter(local, {"alice"});
  const json::Value& check = sent.find("checks")->asArray()[0];
  EXPECT_EQ(check.find("text"), nullptr);
  EXPECT_EQ(check.find("summary")->asString(), "person 1: the screen never locks on its own");
  EXPECT_EQ(check.find("remediation")->asString(),
            "For person 1:\n1. Turn on Automatic Screen Lock.");
  const json::Value& advice = check.find("advice")->asArray()[0];
  EXPECT_EQ(advice.find("code")->asString(), "screen_lock.turn_on_auto_lock");
  EXPECT_EQ(advice.find("variant")->asString(), "gnome-46");
  EXPECT_EQ(advice.find("steps")->asArray()[0].asString(), "Turn on Automatic Screen Lock.");
  EXPECT_EQ(json::write(sent).find("alice"), std::string::npos);
}

// The policy's words for people (helpdesk, description, help pages) came from the server: the
// report does not carry them back.
TEST(PrivacyFilterTest, TheCompanysWordsStayOnThePc) {
  CheckResult c;
  c.id = "vpn";
  c.verdict = Verdict::kFail;
  c.setSummary(i18n::Msg("the VPN is not connected"));
  c.help_url = i18n::Local({{"en", "https://help.example.dk/vpn"}});
  Report r;
  r.level = "standard";
  r.checks.push_back(c);
  r.helpdesk = i18n::Msg("Questions? Contact {1}", {i18n::Lit("IT support")});
  r.description = i18n::Local({{"en", "For home workers"}, {"da", "For hjemmearbejdere"}});
  json::Value local = r.toJson();
  ASSERT_NE(local.find("help"), nullptr);
  json::Value sent = ApplyPrivacyFilter(local, {});
  EXPECT_EQ(sent.find("help"), nullptr);
  std::string text = json::write(sent);
  EXPECT_EQ(text.find("help.example.dk"), std::string::npos) << text;
  EXPECT_EQ(text.find("home workers"), std::string::npos) << text;
}

TEST(PrivacyFilterTest, WholeWordsOnly) {
  auto v = json::parse(R"j({"checks":[{"id":"screen_lock","summary":"al and alice and malice",
    "evidence":{"people":[{"person":"person 1","user":"al"}]}}]})j");
  std::string out = json::write(ApplyPrivacyFilter(*v));
  EXPECT_NE(out.find("person 1 and alice and malice"), std::string::npos) << out;
}

TEST(PrivacyFilterTest, LocalAccountsInAnyEvidenceArePseudonymous) {
  auto v = json::parse(R"j({"checks":[{"id":"disk_encryption","summary":"/home/dave is plain",
    "evidence":{"encrypted_homes":[{"path":"/home/dave"}]}}]})j");
  std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
      "dave:x:1000:1000:Dave,,,:/home/dave:/bin/bash\nbroken\n";
  auto users = LocalUsersFromPasswd(passwd);
  EXPECT_EQ(users, std::vector<std::string>{"dave"});
  std::string out = json::write(ApplyPrivacyFilter(*v, users));
  EXPECT_EQ(out.find("dave"), std::string::npos) << out;
  EXPECT_NE(out.find("/home/person 1"), std::string::npos) << out;
}

TEST(PrivacyFilterTest, LocalAccountsAreThoseInTheLoginDefsUidRange) {
  std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "erin:x:500:500::/home/erin:/bin/bash\n"
      "frank:x:1200:1200::/home/frank:/usr/sbin/nologin\n"
      "# comment\n"
      "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n";
  // Any shell: a name in a path is a name, whether or not the account logs in.
  EXPECT_EQ(LocalUsersFromPasswd(passwd), std::vector<std::string>{"frank"});
  accounts::UidRange older{500, 60000};  // UID_MIN 500, as on older systems
  EXPECT_EQ(LocalUsersFromPasswd(passwd, older), (std::vector<std::string>{"erin", "frank"}));
}

}  // namespace
}  // namespace hearth::agent
