// screen_lock scenarios (research checks.md §7.3 "Screen lock") on a FakeSystemView, plus fixture
// trees under tests/fixtures/linux/screen_lock/ read through --root.
#include <filesystem>
#include <set>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/system_view.h"
#include "screen_lock/screen_lock.h"
#include "support/temp_dir.h"

namespace hearth::checks {
namespace {

using testing::FakeSystemView;

constexpr char kGsettings[] = "/usr/bin/gsettings";

// Captured from `gsettings list-recursively` on Debian 12 (trimmed to the schemas that matter).
constexpr char kGnomeDefaults[] =
    "org.gnome.desktop.lockdown disable-lock-screen false\n"
    "org.gnome.desktop.lockdown disable-log-out false\n"
    "org.gnome.desktop.screensaver idle-activation-enabled true\n"
    "org.gnome.desktop.screensaver lock-delay uint32 0\n"
    "org.gnome.desktop.screensaver lock-enabled true\n"
    "org.gnome.desktop.session idle-delay uint32 300\n"
    "org.gnome.desktop.session session-name 'gnome'\n"
    "org.gnome.system.proxy mode 'none'\n";
constexpr char kCinnamonDefaults[] =
    "org.cinnamon.desktop.lockdown disable-lock-screen false\n"
    "org.cinnamon.desktop.screensaver lock-delay uint32 0\n"
    "org.cinnamon.desktop.screensaver lock-enabled true\n"
    "org.cinnamon.desktop.session idle-delay uint32 900\n"
    "org.cinnamon.settings-daemon.plugins.power lock-on-suspend true\n";

// A machine being assembled: users, sessions, recorded gsettings outputs.
class Machine {
 public:
  explicit Machine(bool with_xfce4_screensaver = true) {
    if (with_xfce4_screensaver) fs_.addFile("/usr/bin/xfce4-screensaver", "");
    passwd_ = "root:x:0:0:root:/root:/bin/bash\nDebian-gdm:x:116:123::/var/lib/gdm3:/bin/false\n";
    group_ = "root:x:0:\nsudo:x:27:\n";
    fs_.addFile("/etc/login.defs", "UID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n");
  }
  Machine& user(const std::string& name, uint32_t uid, const std::string& shell = "/bin/bash") {
    passwd_ += name + ":x:" + std::to_string(uid) + ":" + std::to_string(uid) + "::/home/" + name +
               ":" + shell + "\n";
    group_ += name + ":x:" + std::to_string(uid) + ":\n";
    fs_.addDir("/home/" + name + "/.config");
    return *this;
  }
  Machine& groups(const std::string& text) {
    group_ = text;
    return *this;
  }
  Machine& session(const std::string& id, uint32_t uid, const std::string& user,
                   const std::string& type, const std::string& desktop,
                   const std::string& klass = "user") {
    fs_.addFile("/run/systemd/sessions/" + id,
                "# This is private data. Do not parse.\nUID=" + std::to_string(uid) +
                    "\nUSER=" + user + "\nACTIVE=1\nSTATE=active\nREMOTE=0\nTYPE=" + type +
                    "\nCLASS=" + klass + "\nSEAT=seat0\nDESKTOP=" + desktop + "\n");
    fs_.addFifo("/run/systemd/sessions/" + id + ".ref");
    return *this;
  }
  Machine& file(uint32_t uid, const std::string& path, const std::string& content) {
    fs_.addUserFile(uid, path, content);
    return *this;
  }
  // A file of the system (root's), e.g. a desktop's version file.
  Machine& systemFile(const std::string& path, const std::string& content) {
    fs_.addFile(path, content);
    return *this;
  }
  Machine& dconf(uint32_t uid, const std::string& user) {
    return file(uid, "/home/" + user + "/.config/dconf/user", "GVariant\0binary");
  }
  // Records `gsettings list-recursively SCHEMA` for every schema the check may ask about: the
  // lines of `out` for that schema, or exit 1 "No such schema" when `out` has none.
  Machine& gsettings(std::optional<uint32_t> uid, const std::string& out,
                     const std::string& err = "", int exit_code = 0) {
    for (const char* schema : {"org.gnome.desktop.session", "org.gnome.desktop.screensaver",
                               "org.gnome.desktop.lockdown", "org.cinnamon.desktop.session",
                               "org.cinnamon.desktop.screensaver", "org.cinnamon.desktop.lockdown",
                               "org.cinnamon.settings-daemon.plugins.power"}) {
      std::string lines;
      std::string prefix = std::string(schema) + " ";
      size_t pos = 0;
      while (pos < out.size()) {
        size_t nl = out.find('\n', pos);
        if (nl == std::string::npos) nl = out.size();
        std::string line = out.substr(pos, nl - pos);
        if (line.starts_with(prefix)) lines += line + "\n";
        pos = nl + 1;
      }
      CommandResult r;
      if (lines.empty() && exit_code == 0) {
        r.exit_code = 1;
        r.err = std::string("No such schema \xe2\x80\x9c") + schema + "\xe2\x80\x9d\n";
      } else {
        r.out = lines;
        r.err = err;
        r.exit_code = exit_code;
      }
      fs_.addCommand({kGsettings, "list-recursively", schema}, r, uid);
    }
    return *this;
  }
  Machine& writable(uint32_t uid, const std::string& schema, const std::string& key, bool w) {
    CommandResult r;
    r.out = w ? "true\n" : "false\n";
    r.exit_code = 0;
    fs_.addCommand({kGsettings, "writable", schema, key}, r, uid);
    return *this;
  }
  FakeSystemView& fs() {
    fs_.addFile("/etc/passwd", passwd_);
    fs_.addFile("/etc/group", group_);
    return fs_;
  }

 private:
  FakeSystemView fs_;
  std::string passwd_;
  std::string group_;
};

CheckResult RunCheck(const SystemView& system, int max_idle = 300, bool on_resume = true,
                     uid_t agent_uid = 0) {
  Policy policy;
  policy.level = "standard";
  auto s = std::make_shared<ScreenLockSettings>();
  s->max_idle_seconds = max_idle;
  s->require_lock_on_resume = on_resume;
  policy.enable(kScreenLockCheckId, s);
  auto r = NewScreenLockCheck(agent_uid)->run(system, CheckParams{policy, ""});
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return r.ok() ? *r : CheckResult{};
}

const json::Value& Person(const CheckResult& r, size_t i) {
  static const json::Value kNull;
  const json::Value* people = r.evidence.find("people");
  if (people == nullptr || people->size() <= i) return kNull;
  return people->asArray()[i];
}

std::string Str(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  return f != nullptr && f->isString() ? f->asString() : "<missing>";
}
std::optional<int64_t> Int(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  if (f == nullptr || !f->isInt()) return std::nullopt;
  return f->asInt();
}
std::optional<bool> Bool(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  if (f == nullptr || !f->isBool()) return std::nullopt;
  return f->asBool();
}

void GnomeAlice(Machine& m, const std::string& extra = "") {
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.gsettings(1000, std::string(kGnomeDefaults) + extra);
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
}

// --- GNOME ------------------------------------------------------------------------------------

TEST(ScreenLockScenarioTest, GnomeAdviceFollowsTheInstalledVersion) {
  // GNOME 46 moved the screen lock to Settings → Privacy & Security → Screen Lock.
  Machine m;
  GnomeAlice(m, "org.gnome.desktop.session idle-delay uint32 0\n");
  m.systemFile("/usr/share/gnome/gnome-version.xml",
               "<?xml version=\"1.0\"?>\n<gnome-version>\n  <platform>46</platform>\n"
               "  <minor>0</minor>\n</gnome-version>\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  ASSERT_EQ(r.advice.size(), 1u);
  EXPECT_EQ(r.advice[0].variant, "gnome-46");
  EXPECT_NE(r.remediation.find("2. Go to Privacy & Security, then Screen Lock."), std::string::npos)
      << r.remediation;
  // The summary and the steps are kept apart from their language for the person's display.
  EXPECT_EQ(r.summary_text.english(), r.summary);
  json::Value j = r.toJson();
  ASSERT_NE(j.find("text"), nullptr);
  EXPECT_EQ(j.find("advice")->asArray()[0].find("code")->asString(),
            "screen_lock.turn_on_auto_lock");
}

TEST(ScreenLockScenarioTest, GnomeDefaultsPassAtThreeHundredSeconds) {
  Machine m;
  GnomeAlice(m);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(r.summary, "alice: screen locks after 300 s of inactivity (limit 300 s)");
  const json::Value& p = Person(r, 0);
  EXPECT_EQ(Str(p, "person"), "person 1");
  EXPECT_EQ(Str(p, "user"), "alice");
  EXPECT_EQ(Str(p, "desktop"), "gnome");
  EXPECT_EQ(Int(p, "idle_to_lock_seconds"), 300);
  EXPECT_EQ(Bool(p, "lock_on_resume"), true);
  EXPECT_EQ(Bool(p, "enforced_by_administrator"), false);
  EXPECT_EQ(json::write(*p.find("source")), "[\"gsettings\"]");
  EXPECT_TRUE(r.remediation.empty());
  // One listing per GNOME schema and one writability probe: the first writable key settles
  // "not enforced".
  auto cmds = m.fs().commandsRun();
  ASSERT_EQ(cmds.size(), 4u);
  EXPECT_EQ(cmds[0].argv, (std::vector<std::string>{kGsettings, "list-recursively",
                                                    "org.gnome.desktop.session"}));
  ASSERT_TRUE(cmds[0].as_user.has_value());
  EXPECT_EQ(cmds[0].as_user->uid, 1000u);
  EXPECT_EQ(cmds[0].as_user->gid, 1000u);
  EXPECT_EQ(cmds[0].as_user->home, "/home/alice");
  EXPECT_EQ(cmds[0].as_user->name, "alice");
  EXPECT_EQ(cmds[0].env.count("XDG_RUNTIME_DIR"), 0u) << "no /run/user/1000 on this fake";
}

TEST(ScreenLockScenarioTest, CommandsGetRuntimeDirOnlyWhenItExists) {
  Machine m;
  GnomeAlice(m);
  m.fs().addDir("/run/user/1000");
  // Not a socket (FakeSystemView cannot model sockets): no bus address is made up.
  m.fs().addFile("/run/user/1000/bus", "");
  RunCheck(m.fs());
  auto cmds = m.fs().commandsRun();
  ASSERT_FALSE(cmds.empty());
  EXPECT_EQ(cmds[0].env["XDG_RUNTIME_DIR"], "/run/user/1000");
  EXPECT_EQ(cmds[0].env.count("DBUS_SESSION_BUS_ADDRESS"), 0u);
}

TEST(ScreenLockScenarioTest, SupplementaryGroupsComeFromEtcGroup) {
  Machine m;
  GnomeAlice(m);
  m.groups("alice:x:1000:\nsudo:x:27:alice\naudio:x:29:alice,bob\n");
  RunCheck(m.fs());
  auto cmds = m.fs().commandsRun();
  ASSERT_FALSE(cmds.empty());
  EXPECT_EQ(cmds[0].as_user->groups, (std::vector<gid_t>{1000, 27, 29}));
}

TEST(ScreenLockScenarioTest, GnomeIdleDelayZeroFails) {
  Machine m;
  GnomeAlice(m, "org.gnome.desktop.session idle-delay uint32 0\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_TRUE(Person(r, 0).find("idle_to_lock_seconds")->isNull());
  EXPECT_NE(r.summary.find("never locks"), std::string::npos) << r.summary;
  // Numbered steps in GNOME 42-45's menus (no gnome-version.xml says otherwise).
  EXPECT_NE(r.remediation.find("2. Go to Privacy, then Screen.\n3. Set Blank Screen Delay to 5 "
                               "minutes or less."),
            std::string::npos)
      << r.remediation;
  ASSERT_EQ(r.advice.size(), 1u);
  EXPECT_EQ(r.advice[0].code, "screen_lock.turn_on_auto_lock");
  EXPECT_EQ(r.advice[0].variant, "gnome-42");
}

TEST(ScreenLockScenarioTest, GnomeIdleDelayTooLongFailsWithSecondsInSummary) {
  Machine m;
  GnomeAlice(m, "org.gnome.desktop.session idle-delay uint32 900\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary, "alice: screen locks after 900 s of inactivity (limit 300 s)");
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 900);
}

TEST(ScreenLockScenarioTest, GnomeLockDisabledFails) {
  Machine m;
  GnomeAlice(m, "org.gnome.desktop.screensaver lock-enabled false\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("lock-enabled is false"), std::string::npos) << r.summary;
  EXPECT_EQ(Bool(Person(r, 0), "lock_on_resume"), false);
}

TEST(ScreenLockScenarioTest, GnomeDisableLockScreenFails) {
  Machine m;
  GnomeAlice(m, "org.gnome.desktop.lockdown disable-lock-screen true\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("disable-lock-screen is true"), std::string::npos) << r.summary;
}

TEST(ScreenLockScenarioTest, UbuntuLockOnSuspendFalseFails) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "ubuntu");
  m.gsettings(1000, std::string(kGnomeDefaults) +
                        "org.gnome.desktop.screensaver ubuntu-lock-on-suspend false\n");
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Str(Person(r, 0), "desktop"), "ubuntu");
  EXPECT_NE(r.summary.find("not when waking from sleep"), std::string::npos) << r.summary;
  EXPECT_EQ(RunCheck(m.fs(), 300, /*on_resume=*/false).verdict, Verdict::kPass);
}

TEST(ScreenLockScenarioTest, AdminLockedValuesPassAndAreEnforced) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "x11", "gnome");
  m.gsettings(1000,
              std::string(kGnomeDefaults) + "org.gnome.desktop.session idle-delay uint32 240\n");
  for (auto [schema, key] : std::vector<std::pair<std::string, std::string>>{
           {"org.gnome.desktop.session", "idle-delay"},
           {"org.gnome.desktop.screensaver", "lock-enabled"},
           {"org.gnome.desktop.screensaver", "lock-delay"},
           {"org.gnome.desktop.lockdown", "disable-lock-screen"},
           {"org.gnome.desktop.screensaver", "idle-activation-enabled"}}) {
    m.writable(1000, schema, key, false);
  }
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 240);
  EXPECT_EQ(Bool(Person(r, 0), "enforced_by_administrator"), true);
}

TEST(ScreenLockScenarioTest, PartlyLockedIsNotEnforced) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "x11", "gnome");
  m.gsettings(1000, kGnomeDefaults);
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", false);
  m.writable(1000, "org.gnome.desktop.screensaver", "lock-enabled", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(Bool(Person(r, 0), "enforced_by_administrator"), false);
  EXPECT_EQ(m.fs().commandsRun().size(), 5u);
}

TEST(ScreenLockScenarioTest, MemoryBackendIsUnknown) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.gsettings(1000, kGnomeDefaults,
              "GLib-GIO-Message: 10:00:00.000: Using the 'memory' GSettings backend.  Your "
              "settings will not be saved or shared with other applications.\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("memory backend"), std::string::npos) << r.summary;
  EXPECT_FALSE(r.remediation.empty());
}

TEST(ScreenLockScenarioTest, GsettingsMissingOrFailingIsUnknown) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  CheckResult r = RunCheck(m.fs());  // no gsettings registered: NotFound
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("not installed"), std::string::npos) << r.summary;

  Machine f;
  f.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  f.gsettings(1000, "", "Segmentation fault\n", 139);
  CheckResult rf = RunCheck(f.fs());
  EXPECT_EQ(rf.verdict, Verdict::kUnknown);
  EXPECT_NE(rf.summary.find("exited with code 139"), std::string::npos) << rf.summary;
}

TEST(ScreenLockScenarioTest, GnomeSessionWithoutSchemasIsUnknown) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.gsettings(1000, "org.gnome.system.proxy mode 'none'\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.summary.find("not installed"), std::string::npos) << r.summary;
}

TEST(ScreenLockScenarioTest, DconfDatabaseMakesAPersonWithoutASession) {
  Machine m;
  m.user("alice", 1000).dconf(1000, "alice");
  m.gsettings(1000,
              std::string(kGnomeDefaults) + "org.gnome.desktop.session idle-delay uint32 600\n");
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 600);
  EXPECT_EQ(json::write(*Person(r, 0).find("found_by")), "[\"~/.config/dconf/user\"]");
}

TEST(ScreenLockScenarioTest, DconfOnAMachineWithOnlyPlasmaInstalledIsNotGnome) {
  Machine m;
  m.user("alice", 1000).dconf(1000, "alice");
  m.fs().addFile("/usr/share/xsessions/plasma.desktop", "[Desktop Entry]\n");
  m.gsettings(1000, kGnomeDefaults);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kNotApplicable) << r.summary;
  EXPECT_TRUE(m.fs().commandsRun().empty());
}

TEST(ScreenLockScenarioTest, DconfWithBothGnomeAndCinnamonInstalledJudgesBoth) {
  Machine m;
  m.user("alice", 1000).dconf(1000, "alice");
  m.fs().addFile("/usr/share/xsessions/cinnamon.desktop", "");
  m.fs().addFile("/usr/share/wayland-sessions/gnome.desktop", "");
  m.gsettings(1000, std::string(kGnomeDefaults) + kCinnamonDefaults);
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
  m.writable(1000, "org.cinnamon.desktop.session", "idle-delay", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);  // Cinnamon's default 900 s
  EXPECT_EQ(Str(Person(r, 0), "desktop"), "cinnamon");
  EXPECT_EQ(Person(r, 0).find("desktops")->size(), 2u);
  // Each schema is listed once.
  std::set<std::vector<std::string>> listed;
  for (const auto& c : m.fs().commandsRun()) {
    if (c.argv[1] == "list-recursively") {
      EXPECT_TRUE(listed.insert(c.argv).second);
    }
  }
  EXPECT_EQ(listed.size(), 7u);
}

TEST(ScreenLockScenarioTest, SchemasInstalledButNoPersonIsNotApplicable) {
  Machine m;
  m.user("alice", 1000);  // a login user with an empty ~/.config
  m.fs().addFile("/usr/share/glib-2.0/schemas/org.gnome.desktop.session.gschema.xml", "<x/>");
  m.fs().addFile("/usr/share/wayland-sessions/gnome.desktop", "");
  m.gsettings(1000, kGnomeDefaults);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kNotApplicable);
  EXPECT_EQ(r.summary,
            "No one on this computer has a graphical desktop session or desktop settings");
  EXPECT_TRUE(m.fs().commandsRun().empty());
}

TEST(ScreenLockScenarioTest, NoSessionAndNoSettingsIsNotApplicable) {
  Machine m;
  m.user("alice", 1000).session("3", 1000, "alice", "tty", "");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kNotApplicable);
  EXPECT_TRUE(r.remediation.empty());
}

TEST(ScreenLockScenarioTest, SystemAccountsAndNologinUsersAreNotPeople) {
  Machine m;
  m.user("svc", 999).dconf(999, "svc");
  m.user("kiosk", 1005, "/usr/sbin/nologin").dconf(1005, "kiosk");
  m.user("big", 70000).dconf(70000, "big");
  m.gsettings(999, kGnomeDefaults).gsettings(1005, kGnomeDefaults).gsettings(70000, kGnomeDefaults);
  EXPECT_EQ(RunCheck(m.fs()).verdict, Verdict::kNotApplicable);
}

TEST(ScreenLockScenarioTest, GreeterSessionsAreIgnored) {
  Machine m;
  m.session("c1", 116, "Debian-gdm", "wayland", "gnome-shell", "greeter");
  m.gsettings(116, kGnomeDefaults);
  EXPECT_EQ(RunCheck(m.fs()).verdict, Verdict::kNotApplicable);
  EXPECT_TRUE(m.fs().commandsRun().empty());
}

TEST(ScreenLockScenarioTest, RefFifoIsNeverOpened) {
  Machine m;
  GnomeAlice(m);
  // Any read of the FIFO would fail loudly in the fake; a real one would block.
  m.fs().failPath("/run/systemd/sessions/2.ref", InternalError("opened a FIFO"));
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_EQ(r.evidence.find("notes"), nullptr);
}

// --- several people ---------------------------------------------------------------------------

TEST(ScreenLockScenarioTest, TwoUsersEachEvaluatedWorstReported) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.user("bob", 1001).session("5", 1001, "bob", "x11", "gnome");
  m.gsettings(1000, kGnomeDefaults);
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
  m.gsettings(1001,
              std::string(kGnomeDefaults) + "org.gnome.desktop.session idle-delay uint32 1800\n");
  m.writable(1001, "org.gnome.desktop.session", "idle-delay", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Str(Person(r, 0), "user"), "alice");
  EXPECT_EQ(Str(Person(r, 0), "verdict"), "pass");
  EXPECT_EQ(Str(Person(r, 1), "person"), "person 2");
  EXPECT_EQ(Str(Person(r, 1), "user"), "bob");
  EXPECT_EQ(Int(Person(r, 1), "idle_to_lock_seconds"), 1800);
  EXPECT_EQ(r.summary,
            "bob: screen locks after 1800 s of inactivity (limit 300 s); alice: screen locks "
            "after 300 s of inactivity (limit 300 s)");
  // Only bob must act, and the advice says it is for bob's account.
  EXPECT_TRUE(r.remediation.starts_with("For bob:\n1. ")) << r.remediation;
  EXPECT_EQ(r.remediation.find("alice"), std::string::npos) << r.remediation;
}

TEST(ScreenLockScenarioTest, UnknownBeatsPassButFailBeatsUnknown) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.user("sam", 1001).session("4", 1001, "sam", "wayland", "sway");
  m.gsettings(1000, kGnomeDefaults);
  m.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.remediation.find("sway"), std::string::npos);

  Machine f;
  f.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  f.user("sam", 1001).session("4", 1001, "sam", "wayland", "sway");
  f.gsettings(1000,
              std::string(kGnomeDefaults) + "org.gnome.desktop.session idle-delay uint32 0\n");
  f.writable(1000, "org.gnome.desktop.session", "idle-delay", true);
  EXPECT_EQ(RunCheck(f.fs()).verdict, Verdict::kFail);
}

TEST(ScreenLockScenarioTest, SwaySessionIsUnknown) {
  Machine m;
  m.user("sam", 1001).session("4", 1001, "sam", "wayland", "sway");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_EQ(Str(Person(r, 0), "desktop"), "sway");
  EXPECT_NE(r.summary.find("cannot read the screen-lock settings of sway"), std::string::npos)
      << r.summary;
}

// --- KDE ----------------------------------------------------------------------------------------

TEST(ScreenLockScenarioTest, KdeMissingFileUsesDefaults305Seconds) {
  Machine m;
  m.user("kate", 1000).session("3", 1000, "kate", "wayland", "KDE");
  CheckResult strict = RunCheck(m.fs(), 300);
  // Plasma's defaults lock after 5 minutes plus a 5 s grace: 305 s is over a 300 s limit.
  EXPECT_EQ(strict.verdict, Verdict::kFail);
  EXPECT_EQ(Int(Person(strict, 0), "idle_to_lock_seconds"), 305);
  EXPECT_NE(strict.remediation.find("Screen Locking"), std::string::npos);
  EXPECT_NE(strict.remediation.find("4 minutes or less"), std::string::npos) << strict.remediation;
  CheckResult lenient = RunCheck(m.fs(), 305);
  EXPECT_EQ(lenient.verdict, Verdict::kPass);
  EXPECT_EQ(json::write(*Person(lenient, 0).find("source")), "[\"defaults (no kscreenlockerrc)\"]");
}

TEST(ScreenLockScenarioTest, KdeAutolockFalseFails) {
  Machine m;
  m.user("kate", 1000).session("3", 1000, "kate", "x11", "plasma");
  m.file(1000, "/home/kate/.config/kscreenlockerrc", "[Daemon]\nAutolock=false\nTimeout=1\n");
  CheckResult r = RunCheck(m.fs(), 600);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.summary.find("Autolock is false"), std::string::npos) << r.summary;
}

TEST(ScreenLockScenarioTest, KdeImmutableAdminSettingsAreEnforced) {
  Machine m;
  m.user("kate", 1000).session("3", 1000, "kate", "x11", "KDE");
  m.fs().addFile("/etc/xdg/kscreenlockerrc",
                 "[Daemon][$i]\nAutolock=true\nTimeout=4\nLockGrace=0\nLockOnResume=true\n");
  m.file(1000, "/home/kate/.config/kscreenlockerrc", "[Daemon]\nAutolock=false\nTimeout=60\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 240);
  EXPECT_EQ(Bool(Person(r, 0), "enforced_by_administrator"), true);
  EXPECT_EQ(json::write(*Person(r, 0).find("source")), "[\"/etc/xdg/kscreenlockerrc\"]");
}

TEST(ScreenLockScenarioTest, KioskMarksInAUserOwnedConfigDirAreNotEnforcement) {
  Machine m;
  m.user("kate", 1000).session("3", 1000, "kate", "x11", "KDE");
  m.fs().addFile("/etc/xdg/kscreenlockerrc", "[Daemon][$i]\nTimeout=2\nLockGrace=0\n");
  FileInfo mine;
  mine.type = FileType::kRegular;
  mine.uid = 1000;
  mine.mode = 0644;
  m.fs().setFileInfo("/etc/xdg/kscreenlockerrc", mine);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 120);
  EXPECT_EQ(Bool(Person(r, 0), "enforced_by_administrator"), false);
}

TEST(ScreenLockScenarioTest, SessionEnvironmentGivesDesktopAndConfigDirs) {
  using namespace std::string_literals;
  // DESKTOP= is empty (a session started without XDG_SESSION_DESKTOP); the desktop and
  // XDG_CONFIG_DIRS come from the environment of a process of that session owned by the user.
  Machine m;
  m.user("kate", 1000);
  m.fs().addFile("/run/systemd/sessions/8",
                 "UID=1000\nUSER=kate\nACTIVE=1\nSTATE=active\nTYPE=wayland\nCLASS=user\n"
                 "LEADER=4321\n");
  m.fs().addFile("/run/systemd/sessions/8.ref", "");
  m.fs().addDir("/proc/4321");
  FileInfo owner;
  owner.type = FileType::kDirectory;
  owner.uid = 1000;
  m.fs().setFileInfo("/proc/4321", owner);
  m.fs().addFile("/proc/4321/environ",
                 "HOME=/home/kate\0XDG_SESSION_ID=8\0XDG_CURRENT_DESKTOP=KDE\0"
                 "XDG_CONFIG_DIRS=/opt/corp/xdg:/etc/xdg\0"s);
  m.fs().addFile("/opt/corp/xdg/kscreenlockerrc", "[Daemon]\nTimeout=2\nLockGrace=0\n");
  m.fs().addFile("/etc/xdg/kscreenlockerrc", "[Daemon]\nTimeout=9\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Str(Person(r, 0), "desktop"), "kde");
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 120);
}

TEST(ScreenLockScenarioTest, SessionOfUnknownDesktopIsUnknown) {
  Machine m;
  m.user("kate", 1000);
  m.fs().addFile("/run/systemd/sessions/8",
                 "UID=1000\nUSER=kate\nACTIVE=1\nSTATE=active\nTYPE=x11\nCLASS=user\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
}

TEST(ScreenLockScenarioTest, KdeUserFileIsReadAsTheUser) {
  Machine m;
  m.user("kate", 1000).session("3", 1000, "kate", "x11", "KDE");
  m.file(1000, "/home/kate/.config/kscreenlockerrc", "[Daemon]\nTimeout=2\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 125);
  // A file only another uid may read stays unreadable: unknown, not defaults.
  Machine other;
  other.user("kate", 1000).session("3", 1000, "kate", "x11", "KDE");
  other.file(4242, "/home/kate/.config/kscreenlockerrc", "[Daemon]\nTimeout=2\n");
  CheckResult ro = RunCheck(other.fs());
  EXPECT_EQ(ro.verdict, Verdict::kUnknown) << ro.summary;
  EXPECT_NE(ro.summary.find("cannot read ~/.config/kscreenlockerrc"), std::string::npos)
      << ro.summary;
}

TEST(ScreenLockScenarioTest, KdeFileWithoutSessionMakesAPerson) {
  Machine m;
  m.user("kate", 1000)
      .file(1000, "/home/kate/.config/kscreenlockerrc", "[Daemon]\nTimeout=3\nLockGrace=0\n");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 180);
}

// --- XFCE and Cinnamon -------------------------------------------------------------------------

TEST(ScreenLockScenarioTest, XfceUserXmlOverridesSystemDefault) {
  Machine m;
  m.user("xena", 1000).session("7", 1000, "xena", "x11", "xfce");
  m.fs().addFile("/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml",
                 R"(<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-screensaver" version="1.0">
  <property name="saver" type="empty">
    <property name="idle-activation" type="empty">
      <property name="delay" type="int" value="3"/>
    </property>
  </property>
</channel>
)");
  m.file(1000, "/home/xena/.config/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml",
         R"(<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-screensaver" version="1.0">
  <property name="saver" type="empty">
    <property name="idle-activation" type="empty">
      <property name="delay" type="int" value="20"/>
    </property>
  </property>
</channel>
)");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 1200);
  EXPECT_NE(r.remediation.find("Xfce Screensaver"), std::string::npos);
}

TEST(ScreenLockScenarioTest, XfceWithoutXfce4ScreensaverIsUnknownNotItsDefaults) {
  Machine m(/*with_xfce4_screensaver=*/false);  // light-locker does the locking
  m.user("xena", 1000).session("7", 1000, "xena", "x11", "xfce");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
  EXPECT_NE(r.summary.find("xfce4-screensaver is not installed"), std::string::npos) << r.summary;
}

TEST(ScreenLockScenarioTest, XfcePowerManagerLockOnSleepOff) {
  Machine m;
  m.user("xena", 1000).session("7", 1000, "xena", "x11", "XFCE");
  m.file(1000, "/home/xena/.config/xfce4/xfconf/xfce-perchannel-xml/xfce4-power-manager.xml",
         R"(<channel name="xfce4-power-manager" version="1.0">
  <property name="xfce4-power-manager" type="empty">
    <property name="lock-screen-suspend-hibernate" type="bool" value="false"/>
  </property>
</channel>)");
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Bool(Person(r, 0), "lock_on_resume"), false);
}

TEST(ScreenLockScenarioTest, CinnamonIdleDelayZeroFails) {
  Machine m;
  m.user("mint", 1000).session("9", 1000, "mint", "x11", "cinnamon");
  m.gsettings(
      1000, std::string(kCinnamonDefaults) + "org.cinnamon.desktop.session idle-delay uint32 0\n");
  m.writable(1000, "org.cinnamon.desktop.session", "idle-delay", true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(Str(Person(r, 0), "desktop"), "cinnamon");
  EXPECT_NE(r.remediation.find("Open System Settings, then Screensaver."), std::string::npos);
}

TEST(ScreenLockScenarioTest, CinnamonShortDelayPasses) {
  Machine m;
  m.user("mint", 1000).session("9", 1000, "mint", "x11", "X-Cinnamon");
  m.gsettings(1000, std::string(kCinnamonDefaults) +
                        "org.cinnamon.desktop.session idle-delay uint32 180\n");
  m.writable(1000, "org.cinnamon.desktop.session", "idle-delay", true);
  EXPECT_EQ(RunCheck(m.fs()).verdict, Verdict::kPass);
}

// --- privileges, --root -------------------------------------------------------------------------

TEST(ScreenLockScenarioTest, UninspectableHomeIsUnknownNotApplicable) {
  Machine m;
  m.user("nfs", 1000);
  m.fs().failPath("/home/nfs/.config", PermissionDeniedError("stat /home/nfs/.config: denied"));
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  ASSERT_NE(r.evidence.find("not_inspected"), nullptr);
  EXPECT_NE(r.summary.find("nfs: could not look"), std::string::npos) << r.summary;
}

TEST(ScreenLockScenarioTest, UnprivilegedAgentReadsOnlyItsOwnSettings) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.user("bob", 1001).session("5", 1001, "bob", "wayland", "gnome");
  m.gsettings(std::nullopt, kGnomeDefaults);
  CommandResult w;
  w.out = "true\n";
  w.exit_code = 0;
  m.fs().addCommand({kGsettings, "writable", "org.gnome.desktop.session", "idle-delay"}, w);
  CheckResult r = RunCheck(m.fs(), 300, true, /*agent_uid=*/1000);
  EXPECT_EQ(Str(Person(r, 0), "verdict"), "pass");
  EXPECT_EQ(Str(Person(r, 1), "verdict"), "unknown");
  EXPECT_NE(Str(Person(r, 1), "reason").find("run it as root"), std::string::npos);
  for (const auto& c : m.fs().commandsRun()) {
    EXPECT_FALSE(c.as_user.has_value());
    EXPECT_EQ(c.env.at("HOME"), "/home/alice");
  }
}

TEST(ScreenLockScenarioTest, UnderRootGnomeIsUnknownAndKdeIsJudgedFromFiles) {
  Machine m;
  m.user("alice", 1000).session("2", 1000, "alice", "wayland", "gnome");
  m.user("kate", 1001)
      .file(1001, "/home/kate/.config/kscreenlockerrc", "[Daemon]\nTimeout=2\nLockGrace=0\n");
  m.fs().setRooted(true);
  CheckResult r = RunCheck(m.fs());
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_EQ(Str(Person(r, 0), "reason"),
            "GNOME settings need gsettings; not available under --root");
  EXPECT_EQ(Str(Person(r, 1), "verdict"), "pass");
  EXPECT_TRUE(m.fs().commandsRun().empty());
}

// --- fixture trees (--root) ---------------------------------------------------------------------

std::string Fixture(const std::string& name) {
  return std::string(HEARTH_FIXTURES_DIR) + "/linux/screen_lock/" + name;
}

CheckResult RunRooted(const std::string& root, int max_idle = 300) {
  auto view = NewRootedSystemView(root);
  EXPECT_TRUE(view.ok()) << view.status().toString();
  if (!view.ok()) return {};
  return RunCheck(**view, max_idle);
}

TEST(ScreenLockFixtureTest, KdeKioskImmutable) {
  CheckResult r = RunRooted(Fixture("kde_kiosk_immutable"));
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 180);
  EXPECT_EQ(Bool(Person(r, 0), "enforced_by_administrator"), true);
}

TEST(ScreenLockFixtureTest, KdeFedoraProfileDefaults) {
  CheckResult r = RunRooted(Fixture("kde_fedora_profile"));
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.summary;
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 600);
  EXPECT_EQ(Bool(Person(r, 0), "enforced_by_administrator"), false);
}

TEST(ScreenLockFixtureTest, XfceUserOverride) {
  CheckResult r = RunRooted(Fixture("xfce_user_override"));
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
  EXPECT_EQ(Int(Person(r, 0), "idle_to_lock_seconds"), 120);
}

TEST(ScreenLockFixtureTest, GnomeUnderRootIsUnknown) {
  CheckResult r = RunRooted(Fixture("gnome_session"));
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
  EXPECT_NE(r.summary.find("not available under --root"), std::string::npos);
}

TEST(ScreenLockFixtureTest, SwaySessionIsUnknown) {
  CheckResult r = RunRooted(Fixture("sway_session"));
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
}

TEST(ScreenLockFixtureTest, ServerWithoutDesktopIsNotApplicable) {
  CheckResult r = RunRooted(Fixture("no_desktop"));
  EXPECT_EQ(r.verdict, Verdict::kNotApplicable) << r.summary;
}

TEST(ScreenLockFixtureTest, RealRefFifoDoesNotBlock) {
  // A copy of a fixture with a real FIFO beside the session file (git cannot hold FIFOs).
  testing::TempDir dir;
  std::filesystem::copy(Fixture("kde_kiosk_immutable"), dir.path(),
                        std::filesystem::copy_options::recursive);
  std::string fifo = dir.path() + "/run/systemd/sessions/3.ref";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((dir.path() + "/run/systemd/sessions/7").c_str(), 0600), 0);
  CheckResult r = RunRooted(dir.path());
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.summary;
}

}  // namespace
}  // namespace hearth::checks
