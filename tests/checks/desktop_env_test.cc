// Advice that fits the desktop (issue 16, item 4): which desktop, version, distribution and update
// tool each recorded installation under tests/fixtures/linux/desktops gives, and the numbered
// steps the screen_lock and os_patches advice then names.
#include "hearth/desktop_env.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/system_view.h"
#include "os_patches/os_patches.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks {
namespace {

const std::string kTrees = std::string(HEARTH_FIXTURES_DIR) + "/linux/desktops/";

DesktopEnv detect(const std::string& tree, std::string_view session = {}) {
  auto view = NewRootedSystemView(kTrees + tree);
  EXPECT_TRUE(view.ok()) << view.status().toString();
  if (!view.ok()) return {};
  return DetectDesktopEnv(**view, session);
}

// All the steps of `a` in English, one per line.
std::string steps(const Advice& a) {
  std::string out;
  for (const auto& s : a.steps) out += s.english() + "\n";
  return out;
}

screen_lock::Desktop lockDesktop(DesktopKind k) {
  switch (k) {
    case DesktopKind::kGnome:
      return screen_lock::Desktop::kGnome;
    case DesktopKind::kKde:
      return screen_lock::Desktop::kKde;
    case DesktopKind::kXfce:
      return screen_lock::Desktop::kXfce;
    case DesktopKind::kCinnamon:
      return screen_lock::Desktop::kCinnamon;
    case DesktopKind::kUnknown:
      break;
  }
  return screen_lock::Desktop::kUnsupported;
}

Advice lockAdvice(const DesktopEnv& env) {
  ScreenLockSettings policy;
  policy.max_idle_seconds = 300;
  policy.require_lock_on_resume = true;
  return screen_lock::remediationFor(lockDesktop(env.kind), env.major, env.label(), policy, 0);
}

Advice updates(const DesktopEnv& env, const std::string& manager, std::string_view action) {
  os_patches::PatchFacts facts;
  facts.manager = manager;
  facts.desktop = env;
  return os_patches::updateAdvice(facts, action);
}

TEST(DesktopEnvTest, Gnome45KeepsThePrivacyScreenMenu) {
  DesktopEnv env = detect("gnome45_fedora39");
  EXPECT_EQ(env.kind, DesktopKind::kGnome);
  EXPECT_EQ(env.major, 45);
  EXPECT_EQ(env.label(), "gnome-42");
  Advice a = lockAdvice(env);
  EXPECT_EQ(a.code, "screen_lock.turn_on_auto_lock");
  EXPECT_EQ(a.variant, "gnome-42");
  EXPECT_NE(steps(a).find("Go to Privacy, then Screen."), std::string::npos) << steps(a);
  EXPECT_EQ(steps(a).find("Privacy & Security"), std::string::npos) << steps(a);
  EXPECT_NE(steps(a).find("Set Blank Screen Delay to 5 minutes or less."), std::string::npos);
  EXPECT_NE(steps(a).find("Lock Screen on Suspend"), std::string::npos);
}

TEST(DesktopEnvTest, Gnome46NamesPrivacyAndSecurity) {
  DesktopEnv env = detect("gnome46_fedora40");
  EXPECT_EQ(env.kind, DesktopKind::kGnome);
  EXPECT_EQ(env.major, 46);
  Advice a = lockAdvice(env);
  EXPECT_EQ(a.variant, "gnome-46");
  EXPECT_NE(steps(a).find("Go to Privacy & Security, then Screen Lock."), std::string::npos)
      << steps(a);
  // Numbered short steps, not one paragraph.
  EXPECT_GE(a.steps.size(), 5u);
  for (const auto& s : a.steps) EXPECT_LT(s.english().size(), 120u) << s.english();
}

TEST(DesktopEnvTest, Plasma5UsesWorkspaceBehavior) {
  DesktopEnv env = detect("plasma5_kubuntu2204");
  EXPECT_EQ(env.kind, DesktopKind::kKde);
  EXPECT_EQ(env.major, 5);
  Advice a = lockAdvice(env);
  EXPECT_EQ(a.variant, "plasma-5");
  EXPECT_NE(steps(a).find("Go to Workspace Behavior, then Screen Locking."), std::string::npos)
      << steps(a);
  EXPECT_NE(steps(a).find("Allow unlocking without password"), std::string::npos);
  // Kubuntu updates in Discover (with the Ubuntu command beside it).
  Advice u = updates(env, "apt", "install");
  EXPECT_EQ(u.variant, "kde-discover+apt");
  EXPECT_NE(steps(u).find("Open Discover"), std::string::npos) << steps(u);
  EXPECT_NE(steps(u).find("sudo apt update && sudo apt upgrade"), std::string::npos);
}

TEST(DesktopEnvTest, Plasma6UsesSecurityAndPrivacy) {
  DesktopEnv env = detect("plasma6_fedora40");
  EXPECT_EQ(env.kind, DesktopKind::kKde);
  EXPECT_EQ(env.major, 6);
  Advice a = lockAdvice(env);
  EXPECT_EQ(a.variant, "plasma-6");
  EXPECT_NE(steps(a).find("Go to Security & Privacy, then Screen Locking."), std::string::npos)
      << steps(a);
  EXPECT_NE(steps(a).find("Delay before password required"), std::string::npos);
  EXPECT_EQ(steps(a).find("Workspace Behavior"), std::string::npos);
  Advice u = updates(env, "dnf", "install");
  EXPECT_EQ(u.variant, "kde-discover+dnf");
  EXPECT_NE(steps(u).find("sudo dnf upgrade --refresh"), std::string::npos);
}

TEST(DesktopEnvTest, XfceGetsTheScreensaverTabsAndTheAptCommand) {
  DesktopEnv env = detect("xfce_debian12");
  EXPECT_EQ(env.kind, DesktopKind::kXfce);
  EXPECT_EQ(env.distro, "debian");
  Advice a = lockAdvice(env);
  EXPECT_EQ(a.variant, "xfce");
  EXPECT_NE(steps(a).find("Xfce Screensaver"), std::string::npos) << steps(a);
  EXPECT_NE(steps(a).find("Lock Screen tab"), std::string::npos);
  // No graphical update tool in Debian's Xfce task: the command is the way.
  Advice u = updates(env, "apt", "install");
  EXPECT_EQ(u.variant, "apt");
  EXPECT_NE(steps(u).find("Open a terminal and run: sudo apt update && sudo apt full-upgrade"),
            std::string::npos)
      << steps(u);
}

TEST(DesktopEnvTest, CinnamonOnMintUsesItsScreensaverAndUpdateManager) {
  DesktopEnv env = detect("cinnamon_mint213");
  EXPECT_EQ(env.kind, DesktopKind::kCinnamon);
  EXPECT_TRUE(env.isLike("ubuntu"));
  Advice a = lockAdvice(env);
  EXPECT_EQ(a.variant, "cinnamon");
  EXPECT_NE(steps(a).find("Open System Settings, then Screensaver."), std::string::npos)
      << steps(a);
  Advice u = updates(env, "apt", "install");
  EXPECT_EQ(u.variant, "mint-update-manager+apt");
  EXPECT_NE(steps(u).find("Open Update Manager"), std::string::npos) << steps(u);
  EXPECT_NE(steps(u).find("sudo apt update && sudo apt upgrade"), std::string::npos);
}

TEST(DesktopEnvTest, UbuntuUsesSoftwareUpdater) {
  DesktopEnv env = detect("ubuntu2404_gnome46");
  EXPECT_EQ(env.kind, DesktopKind::kGnome);
  EXPECT_EQ(env.major, 46);
  EXPECT_EQ(env.distro, "ubuntu");
  EXPECT_TRUE(env.software_updater);
  Advice u = updates(env, "apt", "install");
  EXPECT_EQ(u.code, "os_patches.install_updates");
  EXPECT_EQ(u.variant, "ubuntu-software-updater+apt");
  EXPECT_NE(steps(u).find("Open Software Updater"), std::string::npos) << steps(u);
  EXPECT_NE(steps(u).find("Click Install Now"), std::string::npos);
  EXPECT_NE(steps(u).find("sudo apt update && sudo apt upgrade"), std::string::npos);
  EXPECT_EQ(steps(u).find("full-upgrade"), std::string::npos);
  Advice r = updates(env, "apt", "refresh");
  EXPECT_EQ(r.code, "os_patches.refresh_package_lists");
  EXPECT_NE(steps(r).find("Connect to the internet."), std::string::npos);
  EXPECT_NE(steps(r).find("sudo apt update\n"), std::string::npos) << steps(r);
}

TEST(DesktopEnvTest, FedoraUsesGnomeSoftwareAndDnf) {
  DesktopEnv env = detect("gnome46_fedora40");
  EXPECT_EQ(env.distro, "fedora");
  Advice u = updates(env, "dnf", "install");
  EXPECT_EQ(u.variant, "gnome-software+dnf");
  EXPECT_NE(steps(u).find("Open Software"), std::string::npos) << steps(u);
  EXPECT_NE(steps(u).find("Updates tab"), std::string::npos);
  EXPECT_NE(steps(u).find("sudo dnf upgrade --refresh"), std::string::npos);
  Advice r = updates(env, "dnf", "refresh");
  EXPECT_NE(steps(r).find("sudo dnf makecache --refresh"), std::string::npos) << steps(r);
}

TEST(DesktopEnvTest, DebianGnomeUsesGnomeSoftwareAndFullUpgrade) {
  DesktopEnv env = detect("gnome43_debian12");
  EXPECT_EQ(env.major, 43);
  EXPECT_EQ(lockAdvice(env).variant, "gnome-42");
  Advice u = updates(env, "apt", "install");
  EXPECT_EQ(u.variant, "gnome-software+apt");
  EXPECT_NE(steps(u).find("sudo apt update && sudo apt full-upgrade"), std::string::npos);
}

TEST(DesktopEnvTest, TheSessionDecidesOverWhatIsInstalled) {
  // A Kubuntu PC on which the person logs into an Xfce session reads Xfce's advice.
  DesktopEnv env = detect("plasma5_kubuntu2204", "XFCE");
  EXPECT_EQ(env.kind, DesktopKind::kXfce);
  EXPECT_EQ(detect("ubuntu2404_gnome46", "ubuntu:GNOME").kind, DesktopKind::kGnome);
}

TEST(DesktopEnvTest, VersionsFromTheFilesThemselves) {
  EXPECT_EQ(parseGnomeVersionXml("<gnome-version>\n  <platform>46</platform>\n"), 46);
  EXPECT_EQ(parseGnomeVersionXml("<gnome-version><platform>3</platform><minor>38</minor>"), 3);
  EXPECT_EQ(parseGnomeVersionXml("garbage"), 0);
  const std::string status =
      "Package: gnome-shell\nStatus: install ok installed\nVersion: 46.0-0ubuntu6\n\n"
      "Package: plasma-workspace\nStatus: deinstall ok config-files\nVersion: 4:5.27.5-2\n";
  EXPECT_EQ(dpkgMajorVersion(status, "gnome-shell"), 46);
  EXPECT_EQ(dpkgMajorVersion(status, "plasma-workspace"), 0);  // not installed
  // Without the XML, Ubuntu 24.04's own GNOME (46).
  DesktopFiles f;
  f.os_release = "ID=ubuntu\nVERSION_ID=\"24.04\"\n";
  f.wayland_sessions = {"ubuntu.desktop"};
  EXPECT_EQ(parseDesktopEnv(f).major, 46);
  f.os_release = "ID=ubuntu\nVERSION_ID=\"22.04\"\n";
  EXPECT_EQ(parseDesktopEnv(f).label(), "gnome-42");
}

}  // namespace
}  // namespace hearth::checks
