// The Windows parts of the checks that run anywhere: screen_lock's registry values and decision,
// BitLocker's volumes, the vpn interface classification, and what the Windows collectors do when
// an API fails. Built into hearth_checks_tests on Linux and into hearth_windows_unit_tests (mingw,
// run under Wine). Fixtures: tests/fixtures/windows (written from Microsoft's documentation, see
// their READMEs).
#include <string>

#include <gtest/gtest.h>

#include "disk_encryption/bitlocker.h"
#include "fakes/fake_system_view.h"
#include "fakes/reg_export.h"
#include "hearth/files.h"
#include "screen_lock/windows_settings.h"
#include "vpn/vpn.h"

namespace hearth::checks {
namespace {

using screen_lock::windows::JudgeWindowsScreenLock;
using screen_lock::windows::LockValues;
using screen_lock::windows::ReadLockValues;
using testing::FakeSystemView;

const std::string kFixtures = std::string(HEARTH_FIXTURES_DIR) + "/windows";

std::string fixture(const std::string& rel) {
  auto text = ReadFileBounded(kFixtures + "/" + rel, 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status().toString();
  return text.ok() ? *text : "";
}

ScreenLockSettings policy(int max_idle, bool resume) {
  ScreenLockSettings s;
  s.max_idle_seconds = max_idle;
  s.require_lock_on_resume = resume;
  return s;
}

PowerSettings lockOnWake(bool on) {
  PowerSettings p;
  p.lock_on_wake_ac = on;
  p.lock_on_wake_dc = on;
  p.display_off_ac_seconds = 600;
  return p;
}

// A machine with the registry export `name` and the given power settings, judged for "alice".
CheckResult judgeFixture(const std::string& name, const ScreenLockSettings& settings,
                         StatusOr<PowerSettings> power) {
  FakeSystemView view;
  Status loaded = testing::LoadRegExport(view, fixture("screen_lock/" + name + "/settings.reg"));
  EXPECT_TRUE(loaded.ok()) << loaded.toString();
  view.setPowerSettings(std::move(power));
  LockValues values = ReadLockValues(view, RegistryRoot::kCurrentUser, "");
  return JudgeWindowsScreenLock(values, "alice", settings);
}

const json::Value& person(const CheckResult& r) {
  return r.evidence.find("people")->asArray().at(0);
}

TEST(WindowsRegExport, ParsesStringsDwordsAndKeys) {
  auto values = testing::ParseRegExport(
      "Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\S-1-5-21-1\\Control Panel\\Desktop]\n"
      "\"SCRNSAVE.EXE\"=\"C:\\\\Windows\\\\a \\\"b\\\".scr\"\n\"X\"=dword:0000012c\n"
      "\"Bin\"=hex:01,02\n");
  ASSERT_TRUE(values.ok()) << values.status().toString();
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].root, RegistryRoot::kUsers);
  EXPECT_EQ((*values)[0].key, "S-1-5-21-1\\Control Panel\\Desktop");
  EXPECT_EQ((*values)[0].value.text, "C:\\Windows\\a \"b\".scr");
  EXPECT_EQ((*values)[1].value.number, 300u);
  EXPECT_FALSE(testing::ParseRegExport("REGEDIT4\n").ok());
  EXPECT_FALSE(testing::ParseRegExport("Windows Registry Editor Version 5.00\n\"A\"=\"b\"\n").ok());
}

TEST(WindowsScreenLock, PolicyValuesWinOverThePersonsOwn) {
  CheckResult r = judgeFixture("policy_screensaver_600", policy(900, true), lockOnWake(true));
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(person(r).find("idle_to_lock_seconds")->asInt(), 600);
  EXPECT_TRUE(person(r).find("enforced_by_administrator")->asBool());
  EXPECT_EQ(person(r).find("user")->asString(), "alice");

  r = judgeFixture("policy_screensaver_600", policy(300, true), lockOnWake(true));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("600 s"), std::string::npos) << r.summary;
  EXPECT_NE(r.remediation.find("screen saver"), std::string::npos) << r.remediation;
}

TEST(WindowsScreenLock, NoScreenSaverChosenNeverLocks) {
  CheckResult r = judgeFixture("user_no_screensaver", policy(900, false), lockOnWake(true));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("SCRNSAVE.EXE"), std::string::npos) << r.summary;
  EXPECT_EQ(person(r).find("idle_to_lock_seconds"), nullptr);
}

TEST(WindowsScreenLock, ScreenSaverWithoutPasswordDoesNotLock) {
  CheckResult r = judgeFixture("user_screensaver_not_secure", policy(900, false), lockOnWake(true));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("ScreenSaverIsSecure"), std::string::npos) << r.summary;
}

TEST(WindowsScreenLock, MachineInactivityLimitLocksOnItsOwn) {
  CheckResult r = judgeFixture("inactivity_limit_900", policy(900, true), lockOnWake(true));
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(person(r).find("idle_to_lock_seconds")->asInt(), 900);
  EXPECT_TRUE(person(r).find("enforced_by_administrator")->asBool());
  r = judgeFixture("inactivity_limit_900", policy(300, true), lockOnWake(true));
  EXPECT_EQ(r.verdict, Verdict::kFail);
}

TEST(WindowsScreenLock, PowerSettingsUnreadableIsUnknownNotPass) {
  CheckResult r =
      judgeFixture("policy_screensaver_600", policy(900, true),
                   UnavailableError("PowerGetActiveScheme: not implemented (error 120)"));
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("waking from sleep"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("error 120"), std::string::npos) << r.summary;
  // Lock on resume not required: the screen saver alone decides.
  r = judgeFixture("policy_screensaver_600", policy(900, false),
                   UnavailableError("PowerGetActiveScheme: not implemented (error 120)"));
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
}

TEST(WindowsScreenLock, NoSignInOnWakeFails) {
  CheckResult r = judgeFixture("policy_screensaver_600", policy(900, true), lockOnWake(false));
  EXPECT_EQ(r.verdict, Verdict::kFail);
}

TEST(WindowsScreenLock, UnreadableRegistryIsUnknownNotPass) {
  FakeSystemView view;
  ASSERT_TRUE(
      testing::LoadRegExport(view, fixture("screen_lock/policy_screensaver_600/settings.reg"))
          .ok());
  view.failRegistryKey(RegistryRoot::kLocalMachine, screen_lock::windows::kSystemPolicyKey,
                       PermissionDeniedError("HKLM\\...\\System: access denied"));
  view.setPowerSettings(lockOnWake(true));
  CheckResult r = JudgeWindowsScreenLock(ReadLockValues(view, RegistryRoot::kCurrentUser, ""),
                                         "alice", policy(900, true));
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("access denied"), std::string::npos) << r.summary;
}

TEST(WindowsScreenLock, ReadsAnotherPersonsHiveUnderHku) {
  FakeSystemView view;
  const std::string sid = "S-1-5-21-0-0-0-1000";
  view.addRegistryValue(RegistryRoot::kUsers, sid + "\\Control Panel\\Desktop", "ScreenSaveTimeOut",
                        {.type = RegistryValue::Type::kText, .text = "300"});
  LockValues v = ReadLockValues(view, RegistryRoot::kUsers, sid + "\\");
  ASSERT_TRUE(v.timeout.user.has_value());
  EXPECT_EQ(*v.timeout.user, "300");
  EXPECT_FALSE(v.timeout.policy.has_value());
}

// The service (LocalSystem) judges every person with a loaded hive. Hive names and the
// ProfileList layout are from Microsoft's documentation of HKEY_USERS and ProfileList.
void addPerson(FakeSystemView& view, const std::string& sid, const std::string& folder,
               const char* timeout, const char* secure) {
  const std::string desktop = sid + "\\Control Panel\\Desktop";
  view.addRegistryValue(RegistryRoot::kUsers, desktop, "ScreenSaveActive",
                        {.type = RegistryValue::Type::kText, .text = "1"});
  view.addRegistryValue(
      RegistryRoot::kUsers, desktop, "SCRNSAVE.EXE",
      {.type = RegistryValue::Type::kText, .text = "C:\\Windows\\system32\\scrnsave.scr"});
  view.addRegistryValue(RegistryRoot::kUsers, desktop, "ScreenSaveTimeOut",
                        {.type = RegistryValue::Type::kText, .text = timeout});
  view.addRegistryValue(RegistryRoot::kUsers, desktop, "ScreenSaverIsSecure",
                        {.type = RegistryValue::Type::kText, .text = secure});
  view.addRegistryValue(
      RegistryRoot::kLocalMachine, std::string(screen_lock::windows::kProfileListKey) + "\\" + sid,
      "ProfileImagePath", {.type = RegistryValue::Type::kText, .text = "C:\\Users\\" + folder});
}

TEST(WindowsScreenLockService, EveryPersonWithALoadedHiveIsJudgedAndTheWorstDecides) {
  FakeSystemView view;
  view.setPowerSettings(lockOnWake(true));
  addPerson(view, "S-1-5-21-1004336348-1177238915-682003330-1001", "alice", "300", "1");
  addPerson(view, "S-1-12-1-3524174594-1256157035-1234567890-987654321", "bob", "300", "0");
  // Not people: the system's accounts, the default hive, a person's classes hive.
  for (const char* hive : {".DEFAULT", "S-1-5-18", "S-1-5-19", "S-1-5-20",
                           "S-1-5-21-1004336348-1177238915-682003330-1001_Classes"}) {
    view.addRegistryKey(RegistryRoot::kUsers, hive);
  }
  auto people = screen_lock::windows::LoadedPeople(view);
  ASSERT_TRUE(people.ok()) << people.status().toString();
  ASSERT_EQ(people->size(), 2u);
  CheckResult r = screen_lock::windows::JudgeWindowsPeople(view, policy(600, true));
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.summary;
  // bob's screen saver asks for no password; bob comes first, alice is named too.
  EXPECT_TRUE(r.summary.starts_with("bob: ")) << r.summary;
  EXPECT_NE(r.summary.find("alice: "), std::string::npos) << r.summary;
  // Listed in HKU's (sorted) order: "S-1-12-..." before "S-1-5-...".
  const auto& listed = r.evidence.find("people")->asArray();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].find("user")->asString(), "bob");
  EXPECT_EQ(listed[0].find("verdict")->asString(), "fail");
  EXPECT_EQ(listed[1].find("user")->asString(), "alice");
  EXPECT_EQ(listed[1].find("verdict")->asString(), "pass");
  EXPECT_EQ(listed[1].find("sid")->asString(), "S-1-5-21-1004336348-1177238915-682003330-1001");
  ASSERT_EQ(r.advice.size(), 1u);  // for bob only
  EXPECT_EQ(r.advice[0].heading.english(), "For bob:");
}

TEST(WindowsScreenLockService, NobodySignedInIsNotApplicableAndAnUnlistableHkuIsUnknown) {
  FakeSystemView nobody;
  nobody.addRegistryKey(RegistryRoot::kUsers, "S-1-5-18");
  CheckResult none = screen_lock::windows::JudgeWindowsPeople(nobody, policy(600, false));
  EXPECT_EQ(none.verdict, Verdict::kNotApplicable) << none.summary;

  FakeSystemView denied;
  denied.failRegistryKey(RegistryRoot::kUsers, "", PermissionDeniedError("access denied (5)"));
  CheckResult r = screen_lock::windows::JudgeWindowsPeople(denied, policy(600, false));
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("access denied"), std::string::npos) << r.summary;
}

TEST(WindowsScreenLockService, APersonWithoutAProfileEntryIsNamedByTheirSid) {
  FakeSystemView view;
  view.setPowerSettings(lockOnWake(true));
  const std::string sid = "S-1-5-21-1-2-3-1002";
  view.addRegistryValue(RegistryRoot::kUsers, sid + "\\Control Panel\\Desktop", "ScreenSaveTimeOut",
                        {.type = RegistryValue::Type::kText, .text = "300"});
  CheckResult r = screen_lock::windows::JudgeWindowsPeople(view, policy(600, false));
  EXPECT_EQ(r.evidence.find("people")->asArray().at(0).find("user")->asString(), sid);
}

TEST(WindowsBitLocker, OsVolumeEncryptedPasses) {
  auto rows = bitlocker::ParseCimJson(fixture("disk_encryption/bitlocker_os_encrypted.json"));
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  CheckResult r = bitlocker::JudgeVolumes(*rows);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(r.evidence.find("volumes")->asArray().at(0).find("method")->asString(), "XTS-AES-128");
}

TEST(WindowsBitLocker, SuspendedDataVolumeFailsAndRemovableIsNotJudged) {
  auto rows =
      bitlocker::ParseCimJson(fixture("disk_encryption/bitlocker_os_on_data_suspended.json"));
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  ASSERT_EQ(rows->size(), 3u);
  CheckResult r = bitlocker::JudgeVolumes(*rows);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("D:"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("suspended"), std::string::npos) << r.summary;
  EXPECT_EQ(r.summary.find("E:"), std::string::npos) << r.summary;
}

TEST(WindowsBitLocker, NoRowsIsUnknownNeverNothingToEncrypt) {
  CheckResult r = bitlocker::JudgeVolumes({});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  WmiRow partly{{"DriveLetter", "C:"},
                {"VolumeType", "0"},
                {"ProtectionStatus", "0"},
                {"ConversionStatus", "2"},
                {"EncryptionMethod", "7"}};
  r = bitlocker::JudgeVolumes({partly});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("encryption in progress"), std::string::npos) << r.summary;
}

TEST(WindowsVpnInterface, ClassifiesByTypeAndDescription) {
  RouteInfo route;
  route.destination = "10.20.0.1";
  route.interface = "Company VPN";
  route.interface_type = 23;
  route.interface_up = true;
  auto s = vpn::ClassifyWindowsInterface(route);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->tunnel);
  EXPECT_TRUE(s->up);

  route.interface_type = 53;
  route.interface_description = "WireGuard Tunnel";
  s = vpn::ClassifyWindowsInterface(route);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->tunnel);
  EXPECT_EQ(s->label, "WireGuard");

  route.interface_type = 131;
  route.interface_description = "Teredo Tunneling Pseudo-Interface";
  s = vpn::ClassifyWindowsInterface(route);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->tunnel);

  route.interface_type = 6;
  route.interface_description = "Intel(R) Ethernet Connection I219-V";
  route.interface_up = false;
  s = vpn::ClassifyWindowsInterface(route);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->tunnel);
  EXPECT_FALSE(s->up);

  route.interface_type = 0;
  EXPECT_FALSE(vpn::ClassifyWindowsInterface(route).ok());
}

TEST(WindowsVpn, RouteLookupNotSupportedIsUnknownWithTheReason) {
  vpn::AddressFinding f;
  f.address = "10.20.0.1";
  f.route_status = UnavailableError("GetBestRoute2(10.20.0.1): not supported (error 50)");
  CheckResult r = vpn::Decide({f});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("error 50"), std::string::npos) << r.summary;
}

#ifdef _WIN32  // the Windows collector (vpn_windows.cc); this file also runs in the Linux unit run
// The company's VPN app (policy checks.vpn.app_name) is named in the Windows advice as on Linux
// (it was dropped when the Windows collector and the company words were written side by side).
TEST(WindowsVpn, TheAdviceNamesTheCompanysVpnApp) {
  FakeSystemView view;
  RouteInfo route;
  route.destination = "10.20.0.1";
  route.type = "unicast";
  route.interface = "Ethernet";
  route.interface_type = 6;  // IF_TYPE_ETHERNET_CSMACD: not a tunnel
  route.interface_up = true;
  view.addRoute("10.20.0.1", route);
  Policy p;
  p.level = "standard";
  p.version = 1;
  auto settings = std::make_shared<VpnSettings>();
  settings->company_addresses = {"10.20.0.1"};
  settings->app_name = CompanyText{{"en", "Cisco Secure Client"}};
  p.enable(kVpnCheckId, settings);
  auto r = NewVpnCheck()->run(view, CheckParams{p, ""});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kFail);
  std::string steps;
  for (const auto& a : r->advice) {
    for (const auto& st : a.steps) steps += st.english() + "\n";
  }
  EXPECT_NE(steps.find("Cisco Secure Client"), std::string::npos) << steps;
}
#endif  // _WIN32

}  // namespace
}  // namespace hearth::checks
