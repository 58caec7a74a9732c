#include "hearth/policy.h"

#include <fstream>

#include <gtest/gtest.h>

#include "os_patches/os_patches.h"
#include "screen_lock/screen_lock.h"
#include "support/temp_dir.h"
#include "vpn/vpn.h"

namespace hearth {
namespace {

constexpr const char* kExample = R"({
  "level": "standard",
  "version": 3,
  "checks": {
    "disk_encryption": {"required": true},
    "vpn":            {"required": true, "company_addresses": ["10.20.0.1", "fd00:20::1"]},
    "os_patches":     {"required": true, "max_security_update_age_days": 7,
                       "max_update_age_days": 30, "max_package_list_age_days": 7,
                       "reboot_grace_days": 3},
    "screen_lock":    {"required": true, "max_idle_seconds": 300, "require_lock_on_resume": true}
  }
})";

TEST(PolicyTest, ParsesTheArchitectureExample) {
  auto p = ParsePolicy(kExample, "policy.json");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->level, "standard");
  EXPECT_EQ(p->version, 3);
  const auto* vpn = p->settings<checks::VpnSettings>("vpn");
  ASSERT_NE(vpn, nullptr);
  EXPECT_EQ(vpn->company_addresses.size(), 2u);
  const auto* patches = p->settings<checks::OsPatchesSettings>("os_patches");
  ASSERT_NE(patches, nullptr);
  EXPECT_EQ(patches->max_update_age_days, 30);
  const auto* lock = p->settings<checks::ScreenLockSettings>("screen_lock");
  ASSERT_NE(lock, nullptr);
  EXPECT_EQ(lock->max_idle_seconds, 300);
  EXPECT_TRUE(p->required("disk_encryption"));
  EXPECT_EQ(p->settings<checks::VpnSettings>("disk_encryption"), nullptr);  // it has none
  EXPECT_EQ(p->settings<checks::ScreenLockSettings>("vpn"), nullptr);       // another type
}

TEST(PolicyTest, AbsentCheckIsNotEvaluatedAndOptionalIsNotRequired) {
  auto p = ParsePolicy(
      R"({"level":"basic","version":1,"checks":{"disk_encryption":{"required":false}}})", "p");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_TRUE(p->enabled("disk_encryption"));
  EXPECT_FALSE(p->required("disk_encryption"));
  EXPECT_FALSE(p->enabled("vpn"));
  EXPECT_FALSE(p->required("vpn"));
}

TEST(PolicyTest, DefaultsApplyToOmittedSettings) {
  auto p =
      ParsePolicy(R"({"level":"l","version":1,"checks":{"os_patches":{},"screen_lock":{}}})", "p");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->required("os_patches"));
  const auto* patches = p->settings<checks::OsPatchesSettings>("os_patches");
  const auto* lock = p->settings<checks::ScreenLockSettings>("screen_lock");
  ASSERT_NE(patches, nullptr);
  ASSERT_NE(lock, nullptr);
  EXPECT_EQ(patches->max_security_update_age_days, 7);
  EXPECT_EQ(lock->max_idle_seconds, 300);
  EXPECT_TRUE(lock->require_lock_on_resume);
}

// Issue 16 item 3: the company's words for its people, in one or both languages.
TEST(PolicyTest, ReadsTheCompanysWordsForPeople) {
  auto p = ParsePolicy(R"({"level":"standard","version":4,
    "description": {"en": "For everyone working from home", "da": "For alle, der arbejder hjemme"},
    "helpdesk": {"name": {"en": "IT support", "da": "IT-support"}, "phone": "+45 70 20 30 40",
                 "email": "it@example.dk", "url": "https://help.example.dk"},
    "checks": {"vpn": {"company_addresses": ["10.20.0.1"], "app_name": "Cisco Secure Client",
                       "help_url": {"en": "https://help.example.dk/vpn",
                                    "da": "https://hjaelp.example.dk/vpn"}},
               "disk_encryption": {}}})",
                       "policy.json");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->description.at("da"), "For alle, der arbejder hjemme");
  EXPECT_EQ(p->helpdesk.name.at("da"), "IT-support");
  EXPECT_EQ(p->helpdesk.phone, "+45 70 20 30 40");
  EXPECT_EQ(p->helpdesk.email, "it@example.dk");
  EXPECT_EQ(p->helpdesk.url, "https://help.example.dk");
  const auto* vpn = p->settings<checks::VpnSettings>("vpn");
  ASSERT_NE(vpn, nullptr);
  // A plain string is the English, shown in every language.
  EXPECT_EQ(vpn->app_name, (CompanyText{{"en", "Cisco Secure Client"}}));
  EXPECT_EQ(p->find("vpn")->help_url.at("da"), "https://hjaelp.example.dk/vpn");
  EXPECT_TRUE(p->find("disk_encryption")->help_url.empty());
  EXPECT_TRUE(ParsePolicy(kExample, "policy.json")->helpdesk.empty());
}

TEST(PolicyTest, QuietHoursDefaultToTheEveningAndNightAndThePolicyMayMoveThem) {
  auto standard = ParsePolicy(kExample, "policy.json");
  ASSERT_TRUE(standard.ok());
  EXPECT_EQ(standard->notifications.quiet_from, 20 * 60);
  EXPECT_EQ(standard->notifications.quiet_to, 8 * 60);
  auto shifts = ParsePolicy(R"({"level":"shifts","version":1,"checks":{},
      "notifications":{"quiet_hours":{"from":"23:30","to":"06:00"}}})",
                            "policy.json");
  ASSERT_TRUE(shifts.ok()) << shifts.status().toString();
  EXPECT_EQ(shifts->notifications.quiet_from, 23 * 60 + 30);
  EXPECT_EQ(shifts->notifications.quiet_to, 6 * 60);
}

struct BadCase {
  const char* name;
  const char* text;
  const char* expected;  // substring of the error message
};

class PolicyErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(PolicyErrorTest, NamesFileKeyAndExpectation) {
  auto p = ParsePolicy(GetParam().text, "/etc/hearth/policy.json");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("/etc/hearth/policy.json: "), std::string::npos)
      << p.status().message();
  EXPECT_NE(p.status().message().find(GetParam().expected), std::string::npos)
      << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Errors, PolicyErrorTest,
    ::testing::Values(
        BadCase{"UnknownTopKey", R"({"level":"l","version":1,"checks":{},"lvl":2})",
                "lvl: unknown key"},
        BadCase{"UnknownCheck", R"({"level":"l","version":1,"checks":{"firewal":{}}})",
                "checks.firewal: unknown key"},
        BadCase{"TypoInSetting", R"({"level":"l","version":1,"checks":{"vpn":{"requird":true}}})",
                "checks.vpn.requird: unknown key"},
        BadCase{"WrongTypeBool", R"({"level":"l","version":1,"checks":{"vpn":{"required":"yes"}}})",
                "checks.vpn.required: expected true or false, got string \"yes\""},
        BadCase{"WrongTypeNumber",
                R"({"level":"l","version":1,"checks":{"os_patches":{"max_update_age_days":"30"}}})",
                "checks.os_patches.max_update_age_days: expected a whole number from 0 to 3650"},
        BadCase{"FractionalNumber",
                R"({"level":"l","version":1,"checks":{"screen_lock":{"max_idle_seconds":1.5}}})",
                "checks.screen_lock.max_idle_seconds: expected a whole number from 1 to 86400"},
        BadCase{"OutOfRange",
                R"({"level":"l","version":1,"checks":{"screen_lock":{"max_idle_seconds":0}}})",
                "got integer 0"},
        BadCase{"NegativeAge",
                R"({"level":"l","version":1,"checks":{"os_patches":{"reboot_grace_days":-1}}})",
                "checks.os_patches.reboot_grace_days"},
        BadCase{
            "BadAddress",
            R"({"level":"l","version":1,"checks":{"vpn":{"company_addresses":["10.0.0.300"]}}})",
            "checks.vpn.company_addresses[0]: expected an IPv4 or IPv6 address"},
        BadCase{"AddressesNotArray",
                R"({"level":"l","version":1,"checks":{"vpn":{"company_addresses":"10.0.0.1"}}})",
                "checks.vpn.company_addresses: expected an array"},
        BadCase{"CheckNotObject", R"({"level":"l","version":1,"checks":{"vpn":true}})",
                "checks.vpn: expected an object"},
        BadCase{"MissingLevel", R"({"version":1,"checks":{}})", "level: expected"},
        BadCase{"BadLevelName", R"({"level":"Standard Level","version":1,"checks":{}})",
                "level: expected a name"},
        BadCase{"MissingVersion", R"({"level":"l","checks":{}})", "version: expected"},
        BadCase{"ZeroVersion", R"({"level":"l","version":0,"checks":{}})", "version: expected"},
        BadCase{"MissingChecks", R"({"level":"l","version":1})", "checks: expected"},
        BadCase{"NotAnObject", R"([1,2])", "expected a JSON object"},
        BadCase{"BadJson", "{\"level\": \"l\",\n \"version\": 1,,}",
                "line 2, column 15: expected a string key"},
        BadCase{"HelpdeskPhoneWithLetters",
                R"({"level":"l","version":1,"checks":{},"helpdesk":{"phone":"call us"}})",
                "helpdesk.phone: expected a phone number such as \"70 20 30 40\""},
        BadCase{"HelpdeskBadEmail",
                R"({"level":"l","version":1,"checks":{},"helpdesk":{"email":"it.example.dk"}})",
                "helpdesk.email: expected an e-mail address"},
        BadCase{"HelpdeskUnknownKey",
                R"({"level":"l","version":1,"checks":{},"helpdesk":{"fax":"1"}})",
                "helpdesk.fax: unknown key (expected one of name, phone, email, url)"},
        BadCase{"HelpdeskNameInUnknownLanguage",
                R"({"level":"l","version":1,"checks":{},"helpdesk":{"name":{"de":"IT"}}})",
                "helpdesk.name.de: expected a language the agent speaks: en or da"},
        BadCase{"DescriptionNumber", R"({"level":"l","version":1,"checks":{},"description":3})",
                "description: expected a text of 1 to 2000 bytes without control characters, or "
                "{\"en\": ..., \"da\": ...}"},
        BadCase{"HelpUrlNotWeb",
                R"({"level":"l","version":1,"checks":{"vpn":{"help_url":"file:///etc/passwd"}}})",
                "checks.vpn.help_url: expected a web address starting with https://"},
        BadCase{"VpnAppNameEmpty",
                R"({"level":"l","version":1,"checks":{"vpn":{"app_name":{"da":""}}}})",
                "checks.vpn.app_name.da: expected a text of 1 to 100 bytes"},
        BadCase{"QuietHoursNotATime",
                R"({"level":"l","version":1,"checks":{},)"
                R"("notifications":{"quiet_hours":{"from":"8pm","to":"08:00"}}})",
                "notifications.quiet_hours.from: expected a time of day from \"00:00\" to "
                "\"23:59\", got string \"8pm\""},
        BadCase{"QuietHoursHalf",
                R"({"level":"l","version":1,"checks":{},)"
                R"("notifications":{"quiet_hours":{"from":"22:00"}}})",
                "notifications.quiet_hours.to: expected a time of day"},
        BadCase{"DuplicateKey",
                R"({"level":"l","version":1,"checks":{"vpn":{"required":true,"required":false}}})",
                "duplicate key \"required\""}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return p.param.name; });

TEST(PolicyTest, LoadPolicyFileReportsMissingFile) {
  auto p = LoadPolicyFile("/nonexistent/hearth/policy.json");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("/nonexistent/hearth/policy.json"), std::string::npos);
}

TEST(PolicyTest, LoadPolicyFileRefusesDirectoriesAndHugeFiles) {
  testing::TempDir dir;
  auto p = LoadPolicyFile(dir.path());
  ASSERT_FALSE(p.ok());
  std::string big = dir.write("big.json", std::string(2 << 20, ' '));
  auto q = LoadPolicyFile(big);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("larger than 1 MiB"), std::string::npos);
}

TEST(PolicyTest, ShippedExamplePolicyIsValid) {
  auto p = LoadPolicyFile(std::string(HEARTH_SOURCE_DIR) + "/packaging/policy.example.json");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->level, "standard");
  EXPECT_TRUE(p->enabled("disk_encryption") && p->enabled("vpn") && p->enabled("os_patches") &&
              p->enabled("screen_lock"));
}

}  // namespace
}  // namespace hearth
