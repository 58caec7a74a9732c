// screen_lock pure parsers and decision, table-tested on captured shapes (no SystemView).
#include <gtest/gtest.h>

#include "screen_lock/screen_lock.h"

namespace hearth::checks::screen_lock {
namespace {

// `gsettings list-recursively` on Debian 12 (gsettings-desktop-schemas 43), trimmed.
constexpr char kGnomeDefaults[] =
    "org.gnome.desktop.session idle-delay uint32 300\n"
    "org.gnome.desktop.session session-name 'gnome'\n"
    "org.gnome.desktop.screensaver idle-activation-enabled true\n"
    "org.gnome.desktop.screensaver lock-delay uint32 0\n"
    "org.gnome.desktop.screensaver lock-enabled true\n"
    "org.gnome.desktop.screensaver picture-uri "
    "'file:///usr/share/backgrounds/gnome/adwaita-timed.xml'\n"
    "org.gnome.desktop.lockdown disable-lock-screen false\n"
    "org.gnome.desktop.lockdown disable-log-out false\n";

TEST(ScreenLockParsersTest, LogindSessionFile) {
  // /run/systemd/sessions/2 on a Debian 12 GNOME desktop (systemd 252).
  auto s = parseLogindSession("2",
                              "# This is private data. Do not parse.\n"
                              "UID=1000\nUSER=alice\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\n"
                              "REMOTE=0\nTYPE=wayland\nORIGINAL_TYPE=wayland\nCLASS=user\n"
                              "SCOPE=session-2.scope\nFIFO=/run/systemd/sessions/2.ref\n"
                              "SEAT=seat0\nDESKTOP=gnome\nSERVICE=gdm-password\nLEADER=1234\n");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->uid, 1000u);
  EXPECT_EQ(s->user, "alice");
  EXPECT_TRUE(s->active);
  EXPECT_FALSE(s->remote);
  EXPECT_EQ(s->desktop, "gnome");
  EXPECT_EQ(s->leader, 1234);
  EXPECT_TRUE(isLiveGraphicalSession(*s));

  auto greeter = parseLogindSession("c1",
                                    "UID=116\nUSER=Debian-gdm\nTYPE=wayland\nCLASS=greeter\n"
                                    "STATE=online\nDESKTOP=gnome-shell\n");
  ASSERT_TRUE(greeter.has_value());
  EXPECT_FALSE(isLiveGraphicalSession(*greeter));
  auto tty = parseLogindSession("5", "UID=1000\nTYPE=tty\nCLASS=user\nSTATE=active\n");
  EXPECT_FALSE(isLiveGraphicalSession(*tty));
  auto closing = parseLogindSession("6", "UID=1000\nTYPE=x11\nCLASS=user\nSTATE=closing\n");
  EXPECT_FALSE(isLiveGraphicalSession(*closing));
  EXPECT_FALSE(parseLogindSession("7", "USER=nobody\nTYPE=x11\n").has_value());
}

TEST(ScreenLockParsersTest, PasswdGroupAndLoginDefs) {
  auto pw = parsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "# comment\n"
      "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
      "svc:x:1001:1001::/var/lib/svc:/usr/sbin/nologin\n"
      "broken:x:abc:1:::/bin/sh\n"
      "+@netgroup::::::\n");
  ASSERT_EQ(pw.size(), 3u);
  EXPECT_EQ(pw[1].name, "alice");
  EXPECT_EQ(pw[1].home, "/home/alice");
  EXPECT_TRUE(isLoginShell(pw[1].shell));
  EXPECT_FALSE(isLoginShell(pw[2].shell));
  EXPECT_FALSE(isLoginShell("/bin/false"));
  EXPECT_TRUE(isLoginShell(""));

  auto r = parseLoginDefs("# UID_MIN 5\nMAIL_DIR /var/mail\nUID_MIN\t\t\t 2000\nUID_MAX  3000\n");
  EXPECT_EQ(r.min, 2000u);
  EXPECT_EQ(r.max, 3000u);
  auto d = parseLoginDefs("");
  EXPECT_EQ(d.min, 1000u);
  EXPECT_EQ(d.max, 60000u);

  auto groups =
      parseGroup("alice:x:1000:\nsudo:x:27:alice,bob\naudio:x:29:bob\nusers:x:100:alice\n");
  EXPECT_EQ(groupsOf(groups, "alice", 1000), (std::vector<gid_t>{1000, 27, 100}));
  EXPECT_EQ(groupsOf(groups, "carol", 1002), (std::vector<gid_t>{1002}));
}

TEST(ScreenLockParsersTest, ClassifiesDesktopNames) {
  EXPECT_EQ(classifyDesktop("gnome"), Desktop::kGnome);
  EXPECT_EQ(classifyDesktop("ubuntu:GNOME"), Desktop::kGnome);
  EXPECT_EQ(classifyDesktop("gnome-xorg"), Desktop::kGnome);
  EXPECT_EQ(classifyDesktop("Budgie:GNOME"), Desktop::kGnome);
  EXPECT_EQ(classifyDesktop("pop"), Desktop::kGnome);
  EXPECT_EQ(classifyDesktop("X-Cinnamon"), Desktop::kCinnamon);
  EXPECT_EQ(classifyDesktop("cinnamon2d"), Desktop::kCinnamon);
  EXPECT_EQ(classifyDesktop("KDE"), Desktop::kKde);
  EXPECT_EQ(classifyDesktop("plasmawayland"), Desktop::kKde);
  EXPECT_EQ(classifyDesktop("XFCE"), Desktop::kXfce);
  EXPECT_EQ(classifyDesktop("sway"), Desktop::kUnsupported);
  EXPECT_EQ(classifyDesktop("Hyprland"), Desktop::kUnsupported);
  EXPECT_EQ(classifyDesktop(""), Desktop::kNone);
}

TEST(ScreenLockParsersTest, GSettingsListRecursivelyAndValues) {
  auto v = parseGSettingsList(kGnomeDefaults);
  EXPECT_EQ(v["org.gnome.desktop.session"]["idle-delay"], "uint32 300");
  EXPECT_EQ(v["org.gnome.desktop.screensaver"]["picture-uri"],
            "'file:///usr/share/backgrounds/gnome/adwaita-timed.xml'");
  EXPECT_EQ(parseGVariantInt("uint32 900"), 900);
  EXPECT_EQ(parseGVariantInt("0"), 0);
  EXPECT_EQ(parseGVariantInt("int32 -1"), -1);
  EXPECT_FALSE(parseGVariantInt("'x'").has_value());
  EXPECT_FALSE(parseGVariantInt("double 1.5").has_value());
  EXPECT_EQ(parseGVariantBool("true\n"), true);
  EXPECT_EQ(parseGVariantBool("false"), false);
  EXPECT_FALSE(parseGVariantBool("1").has_value());
}

TEST(ScreenLockParsersTest, GSettingsBackendProblemsOnStderr) {
  EXPECT_NE(gsettingsBackendProblem(
                "(process:12): GLib-GIO-WARNING **: 10:00:00.000: Using the 'memory' GSettings "
                "backend.  Your settings will not be saved or shared with other applications.\n"),
            "");
  // Only writing is affected (read-only runtime directory under the agent's sandbox): the values
  // gsettings prints are still the real ones.
  EXPECT_EQ(gsettingsBackendProblem("(gsettings:9): dconf-WARNING **: unable to create directory "
                                    "'/run/user/1000/dconf': Read-only file system.  dconf will "
                                    "not work properly.\n"),
            "");
  EXPECT_EQ(gsettingsBackendProblem(""), "");
  EXPECT_EQ(gsettingsBackendProblem("No such schema \"org.cinnamon.desktop.session\"\n"), "");
}

TEST(ScreenLockParsersTest, GnomeDefaultsPassAtFiveMinutes) {
  auto c = gnomeConfig(parseGSettingsList(kGnomeDefaults), false);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->label, "gnome");
  ScreenLockSettings policy;
  auto a = assess(*c, policy);
  EXPECT_EQ(a.verdict, Verdict::kPass) << a.reason.english();
  EXPECT_EQ(a.idle_to_lock_seconds, 300);
  EXPECT_EQ(a.reason.english(), "screen locks after 300 s of inactivity (limit 300 s)");
  EXPECT_EQ(gnomeRelevantKeys(parseGSettingsList(kGnomeDefaults)).size(), 5u);
}

TEST(ScreenLockParsersTest, GnomeDecisionTable) {
  struct Case {
    const char* name;
    std::string extra;  // lines appended after the defaults (later lines win)
    Verdict verdict;
    std::optional<int64_t> seconds;
  };
  const Case cases[] = {
      {"idle 900", "org.gnome.desktop.session idle-delay uint32 900\n", Verdict::kFail, 900},
      {"idle never", "org.gnome.desktop.session idle-delay uint32 0\n", Verdict::kFail,
       std::nullopt},
      {"lock off", "org.gnome.desktop.screensaver lock-enabled false\n", Verdict::kFail,
       std::nullopt},
      {"lockdown", "org.gnome.desktop.lockdown disable-lock-screen true\n", Verdict::kFail,
       std::nullopt},
      {"idle activation off", "org.gnome.desktop.screensaver idle-activation-enabled false\n",
       Verdict::kFail, std::nullopt},
      {"lock delay pushes over", "org.gnome.desktop.screensaver lock-delay uint32 30\n",
       Verdict::kFail, 330},
      {"short with delay",
       "org.gnome.desktop.session idle-delay uint32 120\n"
       "org.gnome.desktop.screensaver lock-delay uint32 60\n",
       Verdict::kPass, 180},
      {"ubuntu no suspend lock", "org.gnome.desktop.screensaver ubuntu-lock-on-suspend false\n",
       Verdict::kFail, 300},
      {"ubuntu suspend lock", "org.gnome.desktop.screensaver ubuntu-lock-on-suspend true\n",
       Verdict::kPass, 300},
  };
  for (const auto& c : cases) {
    auto cfg = gnomeConfig(parseGSettingsList(std::string(kGnomeDefaults) + c.extra), false);
    ASSERT_TRUE(cfg.ok()) << c.name;
    auto a = assess(*cfg, ScreenLockSettings{});
    EXPECT_EQ(a.verdict, c.verdict) << c.name << ": " << a.reason.english();
    EXPECT_EQ(a.idle_to_lock_seconds, c.seconds) << c.name;
  }
  // Without the lock-on-resume requirement, Ubuntu's suspend key does not matter.
  auto cfg = gnomeConfig(
      parseGSettingsList(std::string(kGnomeDefaults) +
                         "org.gnome.desktop.screensaver ubuntu-lock-on-suspend false\n"),
      false);
  ScreenLockSettings lenient;
  lenient.require_lock_on_resume = false;
  EXPECT_EQ(assess(*cfg, lenient).verdict, Verdict::kPass);
  EXPECT_EQ(cfg->label, "ubuntu");
}

TEST(ScreenLockParsersTest, GnomeSchemasMissingIsNotFound) {
  auto c = gnomeConfig(parseGSettingsList("org.gnome.system.proxy mode 'none'\n"), false);
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  auto bad = gnomeConfig(parseGSettingsList(std::string(kGnomeDefaults) +
                                            "org.gnome.desktop.screensaver lock-enabled 'yes'\n"),
                         false);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(ScreenLockParsersTest, CinnamonDefaultsAndLockOnSuspend) {
  // Debian 12 cinnamon-desktop-data 5.6 defaults; the power plugin schema comes from
  // cinnamon-settings-daemon.
  std::string base =
      "org.cinnamon.desktop.session idle-delay uint32 900\n"
      "org.cinnamon.desktop.screensaver lock-delay uint32 0\n"
      "org.cinnamon.desktop.screensaver lock-enabled true\n"
      "org.cinnamon.desktop.lockdown disable-lock-screen false\n";
  ScreenLockSettings policy;
  policy.max_idle_seconds = 900;
  auto c = cinnamonConfig(parseGSettingsList(base), false);
  ASSERT_TRUE(c.ok());
  auto a = assess(*c, policy);
  EXPECT_EQ(a.verdict, Verdict::kUnknown) << "lock on suspend cannot be told without its schema";
  auto with_power = cinnamonConfig(
      parseGSettingsList(base +
                         "org.cinnamon.settings-daemon.plugins.power lock-on-suspend true\n"),
      false);
  EXPECT_EQ(assess(*with_power, policy).verdict, Verdict::kPass);
  EXPECT_EQ(assess(*with_power, ScreenLockSettings{}).verdict, Verdict::kFail);  // 900 > 300
  auto never = cinnamonConfig(
      parseGSettingsList(base + "org.cinnamon.desktop.session idle-delay uint32 0\n"), false);
  EXPECT_EQ(assess(*never, policy).verdict, Verdict::kFail);
}

TEST(ScreenLockParsersTest, KConfigGroupsKeysImmutabilityAndComments) {
  auto f = parseKConfig(
      "# written by System Settings\n"
      "[$i]\n"
      "[Daemon]\n"
      "Autolock=false\n"
      "Timeout[$i]=10\n"
      "Timeout[de]=99\n"
      "  LockGrace = 30  \n"
      "[Greeter][$i]\n"
      "Theme=x\n"
      "[Daemon][Sub]\n"
      "Key=v\n"
      "garbage line\n");
  EXPECT_TRUE(f.file_immutable);
  EXPECT_EQ(f.immutable_groups.count("Greeter"), 1u);
  ASSERT_EQ(f.entries.size(), 5u);
  EXPECT_EQ(f.entries[0].key, "Autolock");
  EXPECT_FALSE(f.entries[0].immutable);
  EXPECT_EQ(f.entries[1].key, "Timeout");
  EXPECT_EQ(f.entries[1].value, "10");
  EXPECT_TRUE(f.entries[1].immutable);
  EXPECT_EQ(f.entries[2].key, "LockGrace");
  EXPECT_EQ(f.entries[2].value, "30");
  EXPECT_TRUE(f.entries[3].immutable);  // in [Greeter][$i]
  EXPECT_EQ(f.entries[4].group, "Daemon][Sub");
  EXPECT_EQ(parseKConfigBool("False"), false);
  EXPECT_EQ(parseKConfigBool("off"), false);
  EXPECT_EQ(parseKConfigBool("yes"), true);
  EXPECT_FALSE(parseKConfigBool("").has_value());
}

TEST(ScreenLockParsersTest, KConfigCascadeHonoursImmutability) {
  // Least important first: vendor default, then /etc/xdg, then the user's file.
  KConfigCascade c;
  c.merge(parseKConfig("[Daemon]\nTimeout=15\nLockGrace=60\n"), "/usr/share/kde-settings/xdg");
  c.merge(parseKConfig("[Daemon]\nTimeout[$i]=3\n"), "/etc/xdg/kscreenlockerrc");
  c.merge(parseKConfig("[Daemon]\nTimeout=30\nLockGrace=0\nAutolock=false\n"), "~/.config/k");
  ASSERT_NE(c.find("Daemon", "Timeout"), nullptr);
  EXPECT_EQ(c.find("Daemon", "Timeout")->value, "3");
  EXPECT_TRUE(c.find("Daemon", "Timeout")->immutable);
  EXPECT_EQ(c.find("Daemon", "LockGrace")->value, "0");
  EXPECT_EQ(c.find("Daemon", "Autolock")->value, "false");

  KConfigCascade g;
  g.merge(parseKConfig("[Daemon][$i]\nAutolock=true\nTimeout=4\n"), "/etc/xdg/kscreenlockerrc");
  g.merge(parseKConfig("[Daemon]\nAutolock=false\nTimeout=60\n"), "~/.config/kscreenlockerrc");
  EXPECT_EQ(g.find("Daemon", "Autolock")->value, "true");
  EXPECT_TRUE(g.groupImmutable("Daemon"));
  auto cfg = kdeConfig(g, true);
  EXPECT_TRUE(cfg.enforced);
  auto a = assess(cfg, ScreenLockSettings{});
  EXPECT_EQ(a.verdict, Verdict::kPass);
  EXPECT_EQ(a.idle_to_lock_seconds, 4 * 60 + 5);
}

TEST(ScreenLockParsersTest, KdeDefaultsAre305SecondsAndFailAFiveMinuteLimit) {
  KConfigCascade none;
  auto cfg = kdeConfig(none, true);
  EXPECT_FALSE(cfg.enforced);
  auto strict = assess(cfg, ScreenLockSettings{});
  EXPECT_EQ(strict.verdict, Verdict::kFail);
  EXPECT_EQ(strict.idle_to_lock_seconds, 305);
  ScreenLockSettings six;
  six.max_idle_seconds = 360;
  EXPECT_EQ(assess(cfg, six).verdict, Verdict::kPass);
}

TEST(ScreenLockParsersTest, KdeSwitchesAndFractionalTimeout) {
  KConfigCascade c;
  c.merge(parseKConfig("[Daemon]\nTimeout=2.5\nLockGrace=0\nLockOnResume=false\n"), "u");
  auto cfg = kdeConfig(c, true);
  auto a = assess(cfg, ScreenLockSettings{});
  EXPECT_EQ(a.idle_to_lock_seconds, 150);
  EXPECT_EQ(a.verdict, Verdict::kFail);  // no lock on resume
  ScreenLockSettings lenient;
  lenient.require_lock_on_resume = false;
  EXPECT_EQ(assess(cfg, lenient).verdict, Verdict::kPass);

  KConfigCascade off;
  off.merge(parseKConfig("[Daemon]\nAutolock=false\n"), "u");
  EXPECT_EQ(assess(kdeConfig(off, true), ScreenLockSettings{}).verdict, Verdict::kFail);
}

constexpr char kXfceUser[] = R"(<?xml version="1.0" encoding="UTF-8"?>

<channel name="xfce4-screensaver" version="1.0">
  <property name="saver" type="empty">
    <property name="mode" type="int" value="0"/>
    <property name="idle-activation" type="empty">
      <property name="delay" type="int" value="3"/>
    </property>
  </property>
  <!-- comment with <property name="x"> inside -->
  <property name="lock" type="empty">
    <property name="saver-activation" type="empty">
      <property name="delay" type="int" value="1"/>
    </property>
    <property name="enabled" type="bool" value="true"/>
  </property>
  <property name="themes" type="array">
    <value type="string" value="screensavers-xfce-floaters"/>
  </property>
</channel>
)";

TEST(ScreenLockParsersTest, XfconfXmlNestedProperties) {
  auto f = parseXfconfXml(kXfceUser);
  ASSERT_TRUE(f.ok()) << f.status().toString();
  EXPECT_EQ(f->channel, "xfce4-screensaver");
  std::map<std::string, std::string> got;
  for (const auto& p : f->properties) got[p.path] = p.type + ":" + p.value;
  EXPECT_EQ(got["/saver/idle-activation/delay"], "int:3");
  EXPECT_EQ(got["/lock/saver-activation/delay"], "int:1");
  EXPECT_EQ(got["/lock/enabled"], "bool:true");
  EXPECT_EQ(got["/themes"], "array:");
  EXPECT_FALSE(parseXfconfXml("<channel name=\"x\"><property name=\"a\" type=\"int\">").ok());
  EXPECT_FALSE(parseXfconfXml("<channel name=\"x\"><bogus/></channel>").ok());
  EXPECT_FALSE(parseXfconfXml("").ok());
  auto esc = parseXfconfXml(
      "<channel name=\"c&amp;d\"><property name=\"p\" type=\"string\" "
      "value=\"a&lt;b\"/></channel>");
  ASSERT_TRUE(esc.ok());
  EXPECT_EQ(esc->channel, "c&d");
  EXPECT_EQ(esc->properties[0].value, "a<b");
}

TEST(ScreenLockParsersTest, XfceUserOverridesSystemDefaultUnlessLocked) {
  auto system = parseXfconfXml(R"(<channel name="xfce4-screensaver" version="1.0">
  <property name="saver" type="empty">
    <property name="idle-activation" type="empty">
      <property name="delay" type="int" value="10"/>
    </property>
  </property>
  <property name="lock" type="empty">
    <property name="enabled" type="bool" value="true" locked="*"/>
  </property>
</channel>)");
  auto user = parseXfconfXml(kXfceUser);
  auto user_off = parseXfconfXml(R"(<channel name="xfce4-screensaver" version="1.0">
  <property name="lock" type="empty"><property name="enabled" type="bool" value="false"/></property>
</channel>)");
  ASSERT_TRUE(system.ok() && user.ok() && user_off.ok());
  XfconfChannel saver, power;
  saver.merge(*system, true, "/etc/xdg/x.xml", "alice", {"alice"});
  saver.merge(*user, false, "~/x.xml", "alice", {"alice"});
  saver.merge(*user_off, false, "~/x.xml", "alice", {"alice"});
  EXPECT_EQ(saver.find("/saver/idle-activation/delay")->value, "3");  // the user's value wins
  EXPECT_EQ(saver.find("/lock/enabled")->value, "true");              // locked by the admin
  EXPECT_TRUE(saver.find("/lock/enabled")->locked);
  auto cfg = xfceConfig(saver, power, true);
  auto a = assess(cfg, ScreenLockSettings{});
  EXPECT_EQ(a.verdict, Verdict::kPass) << a.reason.english();
  EXPECT_EQ(a.idle_to_lock_seconds, 3 * 60 + 60);
  EXPECT_FALSE(cfg.enforced);
}

TEST(ScreenLockParsersTest, XfceLockedChannelIgnoresUserFileAndIsEnforced) {
  auto system = parseXfconfXml(R"(<channel name="xfce4-screensaver" version="1.0" locked="@staff">
  <property name="saver" type="empty">
    <property name="idle-activation" type="empty">
      <property name="delay" type="int" value="4"/>
    </property>
  </property>
</channel>)");
  auto power_sys = parseXfconfXml(R"(<channel name="xfce4-power-manager" version="1.0" locked="*">
  <property name="xfce4-power-manager" type="empty">
    <property name="lock-screen-suspend-hibernate" type="bool" value="true"/>
  </property>
</channel>)");
  auto user = parseXfconfXml(R"(<channel name="xfce4-screensaver" version="1.0">
  <property name="saver" type="empty"><property name="enabled" type="bool" value="false"/></property>
</channel>)");
  XfconfChannel saver, power;
  saver.merge(*system, true, "s", "alice", {"alice", "staff"});
  saver.merge(*user, false, "u", "alice", {"alice", "staff"});
  power.merge(*power_sys, true, "p", "alice", {"alice", "staff"});
  auto cfg = xfceConfig(saver, power, true);
  EXPECT_TRUE(cfg.enforced);
  EXPECT_EQ(assess(cfg, ScreenLockSettings{}).verdict, Verdict::kPass);
  EXPECT_TRUE(xfconfUserInList("bob, @staff", "alice", {"staff"}));
  EXPECT_FALSE(xfconfUserInList("bob,@wheel", "alice", {"staff"}));
}

TEST(ScreenLockParsersTest, XfceDefaultsAndClamping) {
  XfconfChannel none, power;
  auto cfg = xfceConfig(none, power, true);
  auto a = assess(cfg, ScreenLockSettings{});
  EXPECT_EQ(a.verdict, Verdict::kPass);
  EXPECT_EQ(a.idle_to_lock_seconds, 300);
  auto zero = parseXfconfXml(R"(<channel name="xfce4-screensaver" version="1.0">
  <property name="saver" type="empty"><property name="idle-activation" type="empty">
    <property name="delay" type="int" value="0"/></property></property></channel>)");
  XfconfChannel z;
  z.merge(*zero, false, "u", "a", {});
  // xfce4-screensaver treats a delay below 1 minute as 10 minutes.
  EXPECT_EQ(assess(xfceConfig(z, power, true), ScreenLockSettings{}).idle_to_lock_seconds, 600);
}

// The English of every step, one per line.
std::string adviceText(const Advice& a) {
  std::string out;
  for (const auto& s : a.steps) out += s.english() + "\n";
  return out;
}

TEST(ScreenLockParsersTest, RemediationNamesTheDesktopsOwnSettings) {
  ScreenLockSettings p;
  EXPECT_NE(adviceText(remediationFor(Desktop::kGnome, 45, "gnome", p, 0))
                .find("Go to Privacy, then Screen.\nSet Blank Screen Delay to 5 minutes or less."),
            std::string::npos);
  EXPECT_NE(adviceText(remediationFor(Desktop::kKde, 5, "kde", p, 5)).find("Screen Locking"),
            std::string::npos);
  EXPECT_NE(adviceText(remediationFor(Desktop::kKde, 5, "kde", p, 5)).find("4 minutes or less"),
            std::string::npos);
  EXPECT_NE(adviceText(remediationFor(Desktop::kXfce, 0, "xfce", p, 0)).find("Xfce Screensaver"),
            std::string::npos);
  EXPECT_NE(adviceText(remediationFor(Desktop::kCinnamon, 0, "cinnamon", p, 0))
                .find("Open System Settings, then Screensaver."),
            std::string::npos);
  EXPECT_NE(adviceText(remediationFor(Desktop::kUnsupported, 0, "sway", p, 0)).find("sway"),
            std::string::npos);
  // One minute left: the singular.
  p.max_idle_seconds = 60;
  EXPECT_NE(
      adviceText(remediationFor(Desktop::kGnome, 46, "gnome", p, 0)).find("1 minute or less."),
      std::string::npos);
}

}  // namespace
}  // namespace hearth::checks::screen_lock
