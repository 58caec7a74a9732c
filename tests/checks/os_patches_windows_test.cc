// os_patches on Windows: the facts read through SystemView (Windows Update's offline search, its
// last successful search, the restart markers in the registry, the automatic-update policy) and
// the decision on them, with first-seen dates kept in a state directory across runs on a fake
// clock. Built into hearth_checks_tests on Linux and into hearth_windows_unit_tests (mingw, run
// under Wine). The update titles, KB numbers, categories and registry keys are written from
// Microsoft's documentation (Windows Update Agent API: IUpdate, IAutomaticUpdatesResults; the
// RebootRequired and RebootPending keys; the AU policy values), not captured from a machine.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/policy.h"
#include "hearth/time.h"
#include "os_patches/os_patches.h"

namespace hearth::checks::os_patches {
namespace {

using testing::FakeSystemView;

constexpr char kAutoUpdate[] =
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update";

TimePoint at(const char* rfc3339) { return *parseRfc3339(rfc3339); }

const TimePoint kDay0 = at("2026-12-01T09:00:00Z");

TimePoint day(int n) { return kDay0 + std::chrono::hours(24) * n; }

// A fresh directory under the system's temporary directory, removed at the end of the test.
class StateDir {
 public:
  StateDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("hearth-os-patches-windows-" + std::to_string(counter++) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~StateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

WindowsUpdate cumulative(const char* month, const char* kb) {
  WindowsUpdate u;
  u.title = std::string(month) +
            " Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB" + kb + ")";
  u.update_id = std::string("c1d2e3f4-0000-4000-8000-") + kb + "0000000";
  u.kb_ids = {kb};
  u.msrc_severity = "Critical";
  u.categories = {"Security Updates", "Windows 11"};
  return u;
}

WindowsUpdate defender() {
  WindowsUpdate u;
  u.title =
      "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version "
      "1.421.1234.0)";
  u.update_id = "e0f1a2b3-0000-4000-8000-000000000001";
  u.kb_ids = {"2267602"};
  u.categories = {"Definition Updates", "Microsoft Defender Antivirus"};
  return u;
}

WindowsUpdate driver() {
  WindowsUpdate u;
  u.title = "Intel Corporation - Display - 31.0.101.4502";
  u.update_id = "a9b8c7d6-0000-4000-8000-000000000002";
  u.categories = {"Drivers"};
  return u;
}

// Windows 11 as Windows Update left it: `updates` pending, last searched `searched`.
// (FakeSystemView is neither copied nor moved: it holds a mutex.)
std::unique_ptr<FakeSystemView> machine(std::vector<WindowsUpdate> updates,
                                        std::optional<TimePoint> searched) {
  auto m = std::make_unique<FakeSystemView>();
  FakeSystemView& v = *m;
  v.setWindowsUpdates(std::move(updates));
  WindowsUpdateHistory h;
  h.last_search_success = searched;
  h.last_installation_success = at("2026-11-12T03:10:00Z");
  v.setWindowsUpdateHistory(h);
  v.addRegistryKey(RegistryRoot::kLocalMachine, kAutoUpdate);
  v.addRegistryKey(RegistryRoot::kLocalMachine,
                   "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing");
  return m;
}

StatusOr<CheckResult> run(const FakeSystemView& v, const std::string& state_dir,
                          OsPatchesSettings settings = {}) {
  Policy p;
  p.level = "standard";
  p.version = 1;
  p.enable(kOsPatchesCheckId, std::make_shared<OsPatchesSettings>(settings));
  return runWithState(v, CheckParams{p, state_dir}, [&](PatchState& state, TimePoint now) {
    return collectWindowsPatches(v, state, now);
  });
}

const json::Value& evidence(const CheckResult& r, const char* key) {
  static const json::Value kNone;
  const json::Value* v = r.evidence.find(key);
  return v != nullptr ? *v : kNone;
}

TEST(OsPatchesWindowsTest, AnUpdatesLineDropsItsMonthKbAndVersion) {
  EXPECT_EQ(windowsUpdateLine(cumulative("2026-01", "5034123").title),
            "Cumulative Update for Windows 11 Version 23H2 for x64-based Systems");
  EXPECT_EQ(windowsUpdateLine(defender().title),
            "Security Intelligence Update for Microsoft Defender Antivirus");
  EXPECT_EQ(windowsUpdateLine(driver().title), "Intel Corporation - Display - 31.0.101.4502");
  EXPECT_EQ(windowsUpdateLine("(KB5034123)"), "(KB5034123)");  // nothing left: the title itself
  EXPECT_LE(windowsUpdateLine(std::string(5000, 'x')).size(), 200u);
}

TEST(OsPatchesWindowsTest, SecurityIsBySeverityOrCategory) {
  EXPECT_TRUE(isWindowsSecurityUpdate(cumulative("2026-01", "5034123")));
  EXPECT_FALSE(isWindowsSecurityUpdate(defender()));
  EXPECT_FALSE(isWindowsSecurityUpdate(driver()));
  WindowsUpdate critical = driver();
  critical.categories = {"Critical Updates"};
  EXPECT_TRUE(isWindowsSecurityUpdate(critical));
}

TEST(OsPatchesWindowsTest, ASecurityUpdateFailsOnceItIsPendingLongerThanTheLimit) {
  StateDir state;
  // Day 0: this PC's first check finds nothing pending.
  auto v = machine({}, day(0));
  v->setNow(day(0));
  auto r0 = run(*v, state.path());
  ASSERT_TRUE(r0.ok()) << r0.status().toString();
  EXPECT_EQ(r0->verdict, Verdict::kPass) << r0->summary;
  EXPECT_EQ(evidence(*r0, "package_manager").asString(), "windows_update");

  // Day 1: the January cumulative update appears.
  auto v1 = machine({cumulative("2026-01", "5034123"), driver()}, day(1));
  v1->setNow(day(1));
  auto r1 = run(*v1, state.path());
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->verdict, Verdict::kPass) << r1->summary;
  EXPECT_EQ(evidence(*r1, "security_count").asInt(), 1);

  // Day 9: still pending, 8 days against a limit of 7: fail, with Windows Update's steps.
  auto v9 = machine({cumulative("2026-01", "5034123"), driver()}, day(9));
  v9->setNow(day(9));
  auto r9 = run(*v9, state.path());
  ASSERT_TRUE(r9.ok());
  EXPECT_EQ(r9->verdict, Verdict::kFail) << r9->summary;
  EXPECT_NE(r9->summary.find("1 security update pending for 8 days"), std::string::npos)
      << r9->summary;
  ASSERT_FALSE(r9->advice.empty());
  EXPECT_EQ(r9->advice[0].code, "os_patches.install_updates");
  EXPECT_EQ(r9->advice[0].variant, "windows-settings");
  const json::Value& pending = evidence(*r9, "pending");
  ASSERT_TRUE(pending.isArray());
  bool found = false;
  for (const auto& e : pending.asArray()) {
    if (e.find("candidate")->asString() != "KB5034123") continue;
    found = true;
    EXPECT_EQ(e.find("name")->asString(),
              "Cumulative Update for Windows 11 Version 23H2 for x64-based Systems");
    EXPECT_EQ(e.find("age_from")->asString(), formatRfc3339(day(1)));
  }
  EXPECT_TRUE(found);
}

TEST(OsPatchesWindowsTest, NextMonthsCumulativeUpdateKeepsTheAgeOfTheOneItReplaced) {
  StateDir state;
  auto v0 = machine({}, day(0));
  v0->setNow(day(0));
  ASSERT_TRUE(run(*v0, state.path()).ok());
  auto v1 = machine({cumulative("2026-01", "5034123")}, day(1));
  v1->setNow(day(1));
  ASSERT_TRUE(run(*v1, state.path()).ok());
  // Day 6: February's update replaced January's in Windows Update's list; the PC installed
  // neither, so it has been behind since day 1 (the fail on day 9 is not postponed to day 13).
  auto v6 = machine({cumulative("2026-02", "5036893")}, day(6));
  v6->setNow(day(6));
  ASSERT_TRUE(run(*v6, state.path()).ok());
  auto v9 = machine({cumulative("2026-02", "5036893")}, day(9));
  v9->setNow(day(9));
  auto r9 = run(*v9, state.path());
  ASSERT_TRUE(r9.ok());
  EXPECT_EQ(r9->verdict, Verdict::kFail) << r9->summary;
  EXPECT_EQ(evidence(*r9, "oldest_security_days").asInt(), 8);
}

TEST(OsPatchesWindowsTest, AStaleOrMissingSearchIsUnknownNeverAPass) {
  StateDir state;
  auto stale = machine({}, day(0) - std::chrono::hours(24) * 10);
  stale->setNow(day(0));
  auto r = run(*stale, state.path());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kUnknown);
  EXPECT_NE(r->summary.find("Windows Update last searched for updates 10 days ago (limit 7)"),
            std::string::npos)
      << r->summary;
  ASSERT_FALSE(r->advice.empty());
  EXPECT_EQ(r->advice[0].code, "os_patches.refresh_package_lists");
  EXPECT_EQ(r->advice[0].variant, "windows-settings");

  auto never = machine({}, std::nullopt);
  never->setNow(day(0));
  auto n = run(*never, state.path());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->verdict, Verdict::kUnknown);
  EXPECT_NE(n->summary.find("no successful search"), std::string::npos) << n->summary;

  // The history cannot be read (Wine: not implemented): unknown, and the evidence says why.
  auto failing = machine({}, day(0));
  failing->setWindowsUpdateHistory(
      UnavailableError("Windows Update results (IAutomaticUpdates2): 0x80004001 (E_NOTIMPL)"));
  failing->setNow(day(0));
  auto f = run(*failing, state.path());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->verdict, Verdict::kUnknown);
  EXPECT_NE(evidence(*f, "package_lists").find("source")->asString().find("E_NOTIMPL"),
            std::string::npos);
}

TEST(OsPatchesWindowsTest, AFailedSearchIsAnErrorWithTheReason) {
  StateDir state;
  auto v = machine({}, day(0));
  v->setWindowsUpdates(UnavailableError("Windows Update search: 0x8024001E"));
  v->setNow(day(0));
  auto r = run(*v, state.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("could not ask Windows Update"), std::string::npos);
  EXPECT_NE(r.status().message().find("0x8024001E"), std::string::npos);
}

TEST(OsPatchesWindowsTest, APendingRestartCountsFromItsFirstSightAndFailsAfterTheGrace) {
  StateDir state;
  auto pendingRestart = [](TimePoint now) {
    auto v = machine({}, now);
    v->addRegistryKey(RegistryRoot::kLocalMachine, std::string(kAutoUpdate) + "\\RebootRequired");
    v->setNow(now);
    return v;
  };
  auto r0 = run(*pendingRestart(day(0)), state.path());
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0->verdict, Verdict::kPass) << r0->summary;
  const json::Value& reboot = evidence(*r0, "reboot");
  EXPECT_TRUE(reboot.find("pending")->asBool());
  EXPECT_EQ(reboot.find("reasons")->asArray().at(0).asString(), "Windows Update: restart required");
  ASSERT_FALSE(r0->advice.empty());
  EXPECT_EQ(r0->advice[0].code, "os_patches.restart");

  auto r4 = run(*pendingRestart(day(4)), state.path());
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(r4->verdict, Verdict::kFail) << r4->summary;
  EXPECT_NE(r4->summary.find("Restart pending for 4 days (grace 3 days)"), std::string::npos)
      << r4->summary;

  // Restarted: the marker is gone, and so is the clock.
  auto after = machine({}, day(5));
  after->setNow(day(5));
  auto r5 = run(*after, state.path());
  ASSERT_TRUE(r5.ok());
  EXPECT_EQ(r5->verdict, Verdict::kPass) << r5->summary;
  EXPECT_FALSE(evidence(*r5, "reboot").find("pending")->asBool());
}

TEST(OsPatchesWindowsTest, AnInstallersPendingFileRenamesAlsoAskForARestart) {
  StateDir state;
  auto v = machine({}, day(0));
  RegistryValue multi;  // REG_MULTI_SZ: its data is not read, its presence is the fact
  v->addRegistryValue(RegistryRoot::kLocalMachine,
                      "SYSTEM\\CurrentControlSet\\Control\\Session Manager",
                      "PendingFileRenameOperations", multi);
  v->setNow(day(0));
  auto r = run(*v, state.path());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(evidence(*r, "reboot").find("pending")->asBool());
}

TEST(OsPatchesWindowsTest, AnUnreadableRestartMarkerIsUnknownNotAPass) {
  StateDir state;
  auto v = machine({}, day(0));
  v->failRegistryKey(RegistryRoot::kLocalMachine, std::string(kAutoUpdate) + "\\RebootRequired",
                     PermissionDeniedError("access denied (5)"));
  v->setNow(day(0));
  auto r = run(*v, state.path());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kUnknown) << r->summary;
  EXPECT_NE(r->summary.find("access denied"), std::string::npos) << r->summary;
}

TEST(OsPatchesWindowsTest, TheAutomaticUpdatePolicyIsReported) {
  StateDir state;
  const char* kPolicy = "SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU";
  auto none = machine({}, day(0));
  none->setNow(day(0));
  auto r = run(*none, state.path());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(evidence(*r, "automatic_updates").find("enabled")->asBool());

  auto off = machine({}, day(0));
  RegistryValue one;
  one.type = RegistryValue::Type::kNumber;
  one.number = 1;
  off->addRegistryValue(RegistryRoot::kLocalMachine, kPolicy, "NoAutoUpdate", one);
  off->setNow(day(0));
  auto o = run(*off, state.path());
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(evidence(*o, "automatic_updates").find("enabled")->asBool());
  EXPECT_TRUE(evidence(*o, "automatic_updates").find("no_auto_update")->asBool());

  auto notify = machine({}, day(0));
  RegistryValue two = one;
  two.number = 2;  // notify only
  notify->addRegistryValue(RegistryRoot::kLocalMachine, kPolicy, "AUOptions", two);
  notify->setNow(day(0));
  auto n = run(*notify, state.path());
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(evidence(*n, "automatic_updates").find("enabled")->asBool());
}

TEST(OsPatchesWindowsTest, FakeRegistryListsSubkeysAndTellsAMissingKey) {
  FakeSystemView v;
  v.addRegistryKey(RegistryRoot::kLocalMachine, "SOFTWARE\\A\\B");
  v.addRegistryValue(RegistryRoot::kLocalMachine, "SOFTWARE\\A\\C\\D", "x", RegistryValue{});
  auto a = v.listRegistrySubkeys(RegistryRoot::kLocalMachine, "software\\a");
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(*a, (std::vector<std::string>{"B", "C"}));
  auto missing = v.listRegistrySubkeys(RegistryRoot::kLocalMachine, "SOFTWARE\\Z");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace hearth::checks::os_patches
