// os_patches: parsers on captured outputs, fixture trees through --root, first-seen persistence,
// age judging on a fake clock, the apt cache and its invalidation, the durable state write.
#include "os_patches/os_patches.h"

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/files.h"
#include "hearth/result.h"
#include "hearth/system_view.h"
#include "hearth/time.h"
#include "support/temp_dir.h"

namespace hearth::checks::os_patches {
namespace {

using std::chrono::hours;
using testing::FakeSystemView;
using testing::TempDir;

const std::string kFixtures = std::string(HEARTH_FIXTURES_DIR) + "/linux/os_patches/";

std::string readFixture(const std::string& rel) {
  std::ifstream f(kFixtures + rel, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TimePoint at(const char* rfc3339) { return *parseRfc3339(rfc3339); }

const TimePoint kNow = at("2026-11-26T12:00:00Z");

Policy policyWith(OsPatchesSettings s) {
  Policy p;
  p.level = "standard";
  p.version = 1;
  p.enable(kOsPatchesCheckId, std::make_shared<OsPatchesSettings>(s));
  return p;
}

const json::Value* ev(const CheckResult& r, const char* key) { return r.evidence.find(key); }
int64_t evInt(const CheckResult& r, const char* key) {
  const json::Value* v = ev(r, key);
  return v != nullptr && v->isInt() ? v->asInt() : -1;
}

// ---- versions --------------------------------------------------------------------------------

TEST(OsPatchesVersionTest, DpkgOrdering) {
  struct Case {
    const char* a;
    const char* b;
    int want;
  } cases[] = {
      {"1.0", "1.0", 0},
      {"1.0-1", "1.0-2", -1},
      {"1:1.0", "2.0", 1},
      {"1.0~rc1", "1.0", -1},
      {"1.0", "1.0+deb12u1", -1},
      {"12.4+deb12u11", "12.4+deb12u15", -1},
      {"1:9.2p1-2+deb12u9", "1:9.2p1-2+deb12u10", -1},
      {"3.0.13-0ubuntu3.4", "3.0.13-0ubuntu3.5", -1},
      {"2024b-0ubuntu0.24.04.1", "2024a-3ubuntu1.1", 1},
      {"6.1.0-28-amd64", "6.1.0-18-amd64", 1},
      {"5.2.15-2+b8", "5.2.15-2+b13", -1},
      {"1.0a", "1.0", 1},
      {"1.0~", "1.0~~", 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(compareDebianVersions(c.a, c.b), c.want) << c.a << " vs " << c.b;
    EXPECT_EQ(compareDebianVersions(c.b, c.a), -c.want) << c.b << " vs " << c.a;
  }
}

// ---- apt parsers ------------------------------------------------------------------------------

TEST(OsPatchesAptTest, DebianInstLinesWithOldstableSecurity) {
  auto sim =
      parseAptSimulation(readFixture("debian12_security/.hearth/apt-get-s-dist-upgrade.txt"));
  ASSERT_TRUE(sim.ok()) << sim.status().toString();
  ASSERT_EQ(sim->installs.size(), 9u);
  int security = 0;
  for (const auto& i : sim->installs) security += i.security_origin ? 1 : 0;
  EXPECT_EQ(security, 5);
  const AptInstall& gcrypt = sim->installs[5];
  EXPECT_EQ(gcrypt.name, "libgcrypt20");
  EXPECT_EQ(gcrypt.installed, "1.10.1-3");
  EXPECT_EQ(gcrypt.candidate, "1.10.1-3+deb12u1");
  EXPECT_EQ(gcrypt.suites, (std::vector<std::string>{"oldstable", "oldstable-security"}));
  EXPECT_TRUE(gcrypt.security_origin);
  EXPECT_EQ(sim->installs[2].installed, "1:4.13+dfsg1-1+deb12u1");  // epoch kept
  EXPECT_EQ(sim->installs[3].name, "libperl5.36");  // trailing "[perl:amd64 ]" ignored
  EXPECT_TRUE(sim->installs[3].security_origin);
}

TEST(OsPatchesAptTest, NewInstallsRemovalsForeignArchAndLocalRepos) {
  const char* text =
      "Inst linux-image-6.1.0-28-amd64 (6.1.119-1 Debian-Security:12/oldstable-security [amd64])\n"
      "Inst libc6:i386 [2.36-9+deb12u4] (2.36-9+deb12u9 Debian:12.15/oldstable [i386]) []\n"
      "Inst hearth-test-pkg [1.0] (2.0 localhost [all])\n"
      "Inst foo [1.0] (1.1 Ubuntu:24.04/noble-updates, UbuntuESM:24.04/noble-infra-security "
      "[amd64])\n"
      "Remv linux-image-6.1.0-18-amd64 [6.1.76-1]\n"
      "Conf libc6:i386 (2.36-9+deb12u9 Debian:12.15/oldstable [i386])\n";
  auto sim = parseAptSimulation(text);
  ASSERT_TRUE(sim.ok()) << sim.status().toString();
  ASSERT_EQ(sim->installs.size(), 4u);
  EXPECT_EQ(sim->installs[0].installed, "");
  EXPECT_EQ(sim->installs[0].candidate, "6.1.119-1");
  EXPECT_TRUE(sim->installs[0].security_origin);
  EXPECT_EQ(sim->installs[1].name, "libc6:i386");
  EXPECT_FALSE(sim->installs[1].security_origin);
  EXPECT_EQ(sim->installs[2].suites, std::vector<std::string>{"localhost"});
  EXPECT_TRUE(sim->installs[3].security_origin);  // ESM infra
  EXPECT_EQ(sim->removals, std::vector<std::string>{"linux-image-6.1.0-18-amd64"});
}

TEST(OsPatchesAptTest, MalformedInstLineIsAnErrorNotAnUndercount) {
  EXPECT_FALSE(parseAptSimulation("Inst broken-line-without-candidate\n").ok());
  EXPECT_FALSE(parseAptSimulation("Inst foo [1.0 (2.0 x)\n").ok());
}

TEST(OsPatchesAptTest, PhasingDeferredAndKeptBackAreNotPending) {
  auto sim = parseAptSimulation(
      readFixture("ubuntu2404_phasing_deferred/.hearth/apt-get-s-dist-upgrade.txt"));
  ASSERT_TRUE(sim.ok());
  EXPECT_TRUE(sim->installs.empty());
  EXPECT_EQ(sim->phasing_deferred, (std::vector<std::string>{"gnome-shell", "gnome-shell-common",
                                                             "gnome-shell-extension-prefs"}));
  auto kept = parseAptSimulation(
      "The following packages have been kept back:\n  linux-image-amd64 zfs-dkms\n"
      "0 upgraded, 0 newly installed, 0 to remove and 2 not upgraded.\n");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->kept_back, (std::vector<std::string>{"linux-image-amd64", "zfs-dkms"}));
  EXPECT_TRUE(kept->installs.empty());
}

TEST(OsPatchesAptTest, CachePolicyFindsSecurityFixMaskedByNewerVersion) {
  auto pol = parseAptCachePolicy(readFixture("debian12_security/.hearth/apt-cache-policy.txt"));
  ASSERT_EQ(pol.count("openssh-client"), 1u);
  const auto& ssh = pol["openssh-client"];
  EXPECT_EQ(ssh.installed, "1:9.2p1-2+deb12u6");
  EXPECT_EQ(ssh.candidate, "1:9.2p1-2+deb12u10");
  ASSERT_EQ(ssh.versions.size(), 4u);
  EXPECT_EQ(ssh.versions[1].dists, std::vector<std::string>{"bookworm-security"});
  EXPECT_TRUE(hasSecurityVersion(ssh, ssh.installed, ssh.candidate));
  EXPECT_FALSE(hasSecurityVersion(pol["base-files"], "12.4+deb12u11", "12.4+deb12u15"));
  // Not installed: "(none)".
  EXPECT_EQ(pol["unattended-upgrades"].installed, "");

  auto ubuntu =
      parseAptCachePolicy(readFixture("ubuntu2404_masked_security/.hearth/apt-cache-policy.txt"));
  EXPECT_TRUE(hasSecurityVersion(ubuntu["libssl3t64"], "3.0.13-0ubuntu3.1", "3.0.13-0ubuntu3.5"));
  // The security version is the installed one: nothing newer from -security.
  EXPECT_FALSE(
      hasSecurityVersion(ubuntu["vim-common"], "2:9.1.0016-1ubuntu7.3", "2:9.1.0016-1ubuntu7.5"));
  // A security version above the candidate does not count.
  EXPECT_FALSE(hasSecurityVersion(ubuntu["libssl3t64"], "3.0.13-0ubuntu3.1", "3.0.13-0ubuntu3.2"));
  EXPECT_EQ(ubuntu["unattended-upgrades"].installed, "2.9.1+nmu4ubuntu1");
}

TEST(OsPatchesAptTest, ConfigPathsResolveLikeApt) {
  auto cfg = parseAptConfigDump(readFixture("debian12_security/.hearth/apt-config-dump.txt"));
  EXPECT_EQ(aptConfigPath(cfg, "Dir::State::lists", "x", true), "/var/lib/apt/lists/");
  EXPECT_EQ(aptConfigPath(cfg, "Dir::State::status", "x", false), "/var/lib/dpkg/status");
  EXPECT_EQ(aptConfigPath(cfg, "Dir::Etc::sourceparts", "x", true), "/etc/apt/sources.list.d/");
  EXPECT_EQ(aptConfigPath(cfg, "Dir::Etc::main", "x", false), "/etc/apt/apt.conf");
  auto moved = parseAptConfigDump(
      "Dir \"/tmp/t/\";\nDir::State \"var/lib/apt\";\nDir::State::lists \"lists/\";\n"
      "Dir::Etc \"/tmp/t/etc\";\nDir::Etc::parts \"apt.conf.d\";\nRootDir \"/chroot\";\n");
  EXPECT_EQ(aptConfigPath(moved, "Dir::State::lists", "x", true),
            "/chroot/tmp/t/var/lib/apt/lists/");
  EXPECT_EQ(aptConfigPath(moved, "Dir::Etc::parts", "x", true), "/chroot/tmp/t/etc/apt.conf.d/");
  EXPECT_EQ(aptConfigPath({}, "Dir::State::lists", "/var/lib/apt/lists/", true),
            "/var/lib/apt/lists/");
}

TEST(OsPatchesAptTest, ReleaseDate) {
  EXPECT_EQ(parseReleaseDate("Origin: Debian\nDate: Wed, 25 Nov 2026 02:22:30 UTC\n"),
            at("2026-11-25T02:22:30Z"));
  EXPECT_EQ(parseReleaseDate("Date: 1 Feb 2025 10:00:00 +0100\n"), at("2025-02-01T09:00:00Z"));
  EXPECT_EQ(parseReleaseDate("Origin: x\n\nDate: Wed, 25 Nov 2026 02:22:30 UTC\n"), std::nullopt);
  EXPECT_EQ(parseReleaseDate("Date: garbage\n"), std::nullopt);
}

// ---- dnf parsers -------------------------------------------------------------------------------

TEST(OsPatchesDnfTest, CheckUpdateWithWrappedNameAndObsoletes) {
  std::string out = readFixture("fedora40_dnf4/.hearth/dnf-check-update.txt");
  auto ups = parseDnfCheckUpdate(out);
  ASSERT_EQ(ups.size(), 6u);
  EXPECT_EQ(ups[0].name, "curl");
  EXPECT_EQ(ups[0].arch, "x86_64");
  EXPECT_EQ(ups[0].version, "8.6.0-10.fc40");
  EXPECT_EQ(ups[5].name, "texlive-collection-latexrecommended");
  EXPECT_EQ(ups[5].arch, "noarch");
  EXPECT_EQ(ups[5].version, "11:svn65512-73.fc40");
  EXPECT_EQ(parseDnfMetadataAge(out), std::chrono::seconds(3731));
  EXPECT_EQ(parseDnfMetadataAge("Last metadata expiration check: 2 days, 0:00:05 ago on x."),
            std::chrono::seconds(2 * 86400 + 5));
  EXPECT_EQ(parseDnfCheckUpdate(readFixture("fedora41_dnf5/.hearth/dnf5-check-update.txt")).size(),
            3u);
}

TEST(OsPatchesDnfTest, Dnf4UpdateinfoSeverities) {
  auto adv =
      parseDnf4UpdateinfoSecurity(readFixture("fedora40_dnf4/.hearth/dnf-updateinfo-security.txt") +
                                  "FEDORA-2024-0000000001 security openssl-3.2.2-5.fc40.x86_64\n"
                                  "FEDORA-2024-0000000002 bugfix   vim-9.1-1.fc40.x86_64\n");
  ASSERT_EQ(adv.size(), 4u);
  EXPECT_EQ(adv[0].severity, "Important");
  EXPECT_EQ(adv[0].name, "firefox");
  EXPECT_EQ(adv[0].version, "132.0.2-1.fc40");
  EXPECT_EQ(adv[1].severity, "Moderate");
  EXPECT_EQ(adv[3].name, "openssl");
}

TEST(OsPatchesDnfTest, Dnf5AdvisoryJsonSkipsDebuginfo) {
  auto adv =
      parseDnf5AdvisoryJson(readFixture("fedora41_dnf5/.hearth/dnf5-advisory-security.json"));
  ASSERT_TRUE(adv.ok()) << adv.status().toString();
  ASSERT_EQ(adv->size(), 2u);
  EXPECT_EQ((*adv)[1].name, "firefox-langpacks");
  EXPECT_EQ((*adv)[1].severity, "Important");
  EXPECT_TRUE(parseDnf5AdvisoryJson("").ok());
  EXPECT_FALSE(parseDnf5AdvisoryJson("{not json").ok());
}

// ---- kernels --------------------------------------------------------------------------------

TEST(OsPatchesKernelTest, BootEntryNames) {
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-6.1.0-28-amd64"), "6.1.0-28-amd64");
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-6.11.9-200.fc40.x86_64"), "6.11.9-200.fc40.x86_64");
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-6.8.0-45-generic.efi.signed"), "6.8.0-45-generic");
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-0-rescue-4b5a4c5d6e7f48a9b0c1d2e3f4a5b6c7"),
            std::nullopt);
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-linux"), std::nullopt);
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz"), std::nullopt);
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-6.1.0-28-amd64.dpkg-bak"), std::nullopt);
  EXPECT_EQ(kernelReleaseFromBootEntry("vmlinuz-6.1.0-28-amd64.old"), std::nullopt);
  EXPECT_EQ(kernelReleaseFromBootEntry(".vmlinuz-6.11.9-200.fc40.x86_64.hmac"), std::nullopt);
  EXPECT_EQ(kernelReleaseFromBootEntry("initrd.img-6.1.0-28-amd64"), std::nullopt);
}

TEST(OsPatchesKernelTest, NewerKernelComparesWithinFlavour) {
  EXPECT_EQ(newerKernel("6.1.0-18-amd64", {"6.1.0-18-amd64", "6.1.0-28-amd64"}), "6.1.0-28-amd64");
  EXPECT_EQ(newerKernel("6.1.0-28-amd64", {"6.1.0-18-amd64", "6.1.0-28-amd64"}), std::nullopt);
  // A newer cloud kernel does not replace the running generic flavour.
  EXPECT_EQ(newerKernel("6.1.0-28-amd64", {"6.1.0-28-amd64", "6.1.0-30-cloud-amd64"}),
            std::nullopt);
  // The running kernel's package was removed after the upgrade.
  EXPECT_EQ(newerKernel("6.8.0-45-generic", {"6.8.0-49-generic"}), "6.8.0-49-generic");
  EXPECT_EQ(newerKernel("5.14.0-427.13.1.el9_4.x86_64", {"5.14.0-503.11.1.el9_5.x86_64"}),
            "5.14.0-503.11.1.el9_5.x86_64");
  EXPECT_EQ(newerKernel("6.18.44-fc-v657", {}), std::nullopt);
}

// ---- fixture trees through --root --------------------------------------------------------------

StatusOr<CheckResult> runTree(const std::string& root, const OsPatchesSettings& settings,
                              const std::string& state_dir, TimePoint now = kNow) {
  auto sys = NewRootedSystemView(root, now);
  if (!sys.ok()) return sys.status();
  Policy policy = policyWith(settings);
  auto check = checks::NewOsPatchesCheck();
  return check->run(**sys, CheckParams{policy, state_dir});
}

TEST(OsPatchesFixtureTest, Debian12SecurityCountsIncludeMaskedFix) {
  TempDir state;
  auto r = runTree(kFixtures + "debian12_security", {}, state.path());
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kPass) << r->summary;  // first seen now: within 7 days
  EXPECT_EQ(evInt(*r, "pending_count"), 9);
  EXPECT_EQ(evInt(*r, "security_count"), 6);
  const json::Value* pending = ev(*r, "pending");
  ASSERT_NE(pending, nullptr);
  bool ssh_security = false;
  for (const auto& p : pending->asArray()) {
    if (p.find("name")->asString() == "openssh-client") ssh_security = p.find("security")->asBool();
  }
  EXPECT_TRUE(ssh_security);
  EXPECT_FALSE(ev(*r, "automatic_updates")->find("enabled")->asBool());
  EXPECT_EQ(ev(*r, "package_lists")->find("age_days")->asInt(), 1);
  EXPECT_FALSE(ev(*r, "reboot")->find("pending")->asBool());

  // Eight days later (same package state) the security updates are overdue; lists are still
  // judged and would be stale, so allow older lists for this step.
  OsPatchesSettings s;
  s.max_package_list_age_days = 30;
  auto later = runTree(kFixtures + "debian12_security", s, state.path(), kNow + hours(24 * 8));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->verdict, Verdict::kFail);
  EXPECT_EQ(later->summary, "6 security updates pending for 8 days (limit 7)");
  EXPECT_NE(later->remediation.find("sudo apt update && sudo apt full-upgrade"), std::string::npos);
}

TEST(OsPatchesFixtureTest, UbuntuSecurityFixMaskedByUpdatesIsCounted) {
  auto r = runTree(kFixtures + "ubuntu2404_masked_security", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(evInt(*r, "pending_count"), 5);
  EXPECT_EQ(evInt(*r, "security_count"), 4);
  EXPECT_TRUE(ev(*r, "automatic_updates")->find("enabled")->asBool());
  EXPECT_NE(ev(*r, "ages_counted_from")->asString().find("no state directory"), std::string::npos);
  // No state: ages count from now, so nothing is overdue yet...
  EXPECT_EQ(r->verdict, Verdict::kPass);
  // ...unless the policy allows none at all.
  OsPatchesSettings strict;
  strict.max_security_update_age_days = 0;
  auto s = runTree(kFixtures + "ubuntu2404_masked_security", strict, "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, Verdict::kFail);
  EXPECT_EQ(s->summary,
            "4 security updates pending for less than a day (limit: none may be pending)");
}

TEST(OsPatchesFixtureTest, PhasingDeferredOnlyPasses) {
  auto r = runTree(kFixtures + "ubuntu2404_phasing_deferred", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kPass) << r->summary;
  EXPECT_EQ(evInt(*r, "pending_count"), 0);
  ASSERT_NE(ev(*r, "phasing_deferred"), nullptr);
  EXPECT_EQ(ev(*r, "phasing_deferred")->size(), 3u);
  EXPECT_EQ(r->summary, "All updates are installed");
}

TEST(OsPatchesFixtureTest, StaleListsAreUnknown) {
  auto r = runTree(kFixtures + "debian12_stale_lists", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kUnknown);
  EXPECT_EQ(r->summary,
            "Package lists are 25 days old (limit 7): cannot tell which updates are pending");
  EXPECT_NE(r->remediation.find("sudo apt update"), std::string::npos);
  EXPECT_NE(ev(*r, "apt_config"), nullptr);  // defaults assumed, and said
}

// Copies a fixture tree so that modification times can be set.
std::string copyTree(const std::string& fixture, const TempDir& dir) {
  std::filesystem::copy(kFixtures + fixture, dir.path() + "/root",
                        std::filesystem::copy_options::recursive);
  return dir.path() + "/root";
}

void setMtime(const std::string& path, TimePoint t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(ns / 1000000000);
  times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(ns % 1000000000);
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

TEST(OsPatchesFixtureTest, RebootRequiredWithPkgsBeyondGraceFails) {
  TempDir dir;
  std::string root = copyTree("ubuntu2404_reboot_required", dir);
  setMtime(root + "/run/reboot-required", kNow - hours(24 * 5));
  auto r = runTree(root, {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kFail);
  EXPECT_EQ(r->summary, "Restart pending for 5 days (grace 3 days)");
  EXPECT_NE(r->remediation.find("2. Restart the computer"), std::string::npos);
  const json::Value* reboot = ev(*r, "reboot");
  EXPECT_TRUE(reboot->find("pending")->asBool());
  ASSERT_NE(reboot->find("packages"), nullptr);
  EXPECT_EQ(reboot->find("packages")->size(), 2u);  // duplicates removed

  setMtime(root + "/run/reboot-required", kNow - hours(24));
  auto within = runTree(root, {}, "");
  ASSERT_TRUE(within.ok());
  EXPECT_EQ(within->verdict, Verdict::kPass);
  EXPECT_EQ(within->summary,
            "All updates are installed; a restart is pending for 1 day (grace 3 days)");
}

TEST(OsPatchesFixtureTest, KernelMismatchWithoutFlagIsRebootPending) {
  TempDir dir;
  std::string root = copyTree("debian12_kernel_mismatch", dir);
  setMtime(root + "/var/lib/dpkg/info/linux-image-6.1.0-28-amd64.list", kNow - hours(24 * 4));
  auto r = runTree(root, {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kFail) << r->summary;
  EXPECT_EQ(r->summary, "Restart pending for 4 days (grace 3 days)");
  const json::Value* reboot = ev(*r, "reboot");
  EXPECT_EQ(reboot->find("newest_kernel")->asString(), "6.1.0-28-amd64");
  EXPECT_EQ(reboot->find("running_kernel")->asString(), "6.1.0-18-amd64");
}

TEST(OsPatchesFixtureTest, Dnf4ExitHundredImportantSecAndNeedsRestarting) {
  auto r = runTree(kFixtures + "fedora40_dnf4", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(evInt(*r, "pending_count"), 6);
  EXPECT_EQ(evInt(*r, "security_count"), 3);
  EXPECT_EQ(ev(*r, "package_manager")->asString(), "dnf");
  EXPECT_EQ(ev(*r, "package_lists")->find("age_days")->asInt(), 0);
  const json::Value* reboot = ev(*r, "reboot");
  EXPECT_TRUE(reboot->find("pending")->asBool());
  EXPECT_EQ(reboot->find("newest_kernel")->asString(), "6.11.9-200.fc40.x86_64");
  EXPECT_FALSE(ev(*r, "automatic_updates")->find("enabled")->asBool());
  // Reboot since now (no state): within grace.
  EXPECT_EQ(r->verdict, Verdict::kPass);
  EXPECT_NE(r->summary.find("a restart is pending"), std::string::npos);
}

TEST(OsPatchesFixtureTest, Dnf5JsonAdvisories) {
  auto r = runTree(kFixtures + "fedora41_dnf5", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(evInt(*r, "pending_count"), 3);
  EXPECT_EQ(evInt(*r, "security_count"), 2);
  EXPECT_FALSE(ev(*r, "reboot")->find("pending")->asBool());
  EXPECT_TRUE(ev(*r, "automatic_updates")->find("enabled")->asBool());
  EXPECT_EQ(r->verdict, Verdict::kPass);
}

TEST(OsPatchesFixtureTest, NeedsRestartingAbsentIsUnknownNotRebootNeeded) {
  auto r = runTree(kFixtures + "fedora40_no_needs_restarting", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kUnknown);
  EXPECT_EQ(ev(*r, "reboot")->find("pending")->asString(), "unknown");
  EXPECT_NE(r->summary.find("needs-restarting is not available"), std::string::npos);
}

TEST(OsPatchesFixtureTest, DnfAbsentIsAnError) {
  auto r = runTree(kFixtures + "fedora40_dnf_absent", {}, "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

// ---- first seen, ages, cache, state ---------------------------------------------------------

const char* kDump =
    "Dir \"/\";\nDir::State \"var/lib/apt\";\nDir::State::lists \"lists/\";\n"
    "Dir::State::status \"/var/lib/dpkg/status\";\nDir::Etc \"etc/apt\";\n"
    "Dir::Etc::sourcelist \"sources.list\";\nDir::Etc::sourceparts \"sources.list.d\";\n"
    "Dir::Etc::main \"apt.conf\";\nDir::Etc::parts \"apt.conf.d\";\n"
    "Dir::Etc::preferences \"preferences\";\nDir::Etc::preferencesparts \"preferences.d\";\n";

const char* kSim =
    "Inst libexpat1 [2.5.0-1+deb12u1] (2.5.0-1+deb12u2 Debian-Security:12/oldstable-security "
    "[amd64])\n"
    "Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])\n";
const char* kPolicy =
    "bash:\n  Installed: 5.2.15-2+b8\n  Candidate: 5.2.15-2+b13\n  Version table:\n"
    "     5.2.15-2+b13 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
    " *** 5.2.15-2+b8 100\n        100 /var/lib/dpkg/status\n";

// apt-config dump without its call to dpkg for the architectures (os_patches_linux.cc).
const std::vector<std::string> kDumpArgv = {"/usr/bin/apt-config", "-o",
                                            "APT::Architectures::=unused-by-hearth", "dump"};
const std::vector<std::string> kSimArgv = {"/usr/bin/apt-get", "-s", "-o", "Debug::NoLocking=1",
                                           "dist-upgrade"};
const std::vector<std::string> kPolicyArgv = {"/usr/bin/apt-cache", "policy", "bash",
                                              "unattended-upgrades"};

const TimePoint kT0 = at("2026-11-01T08:00:00Z");

// The files of the cache key, with fixed metadata so that only deliberate changes change them.
const std::vector<std::string> kKeyFiles = {
    "/var/lib/dpkg/status",
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d/debian.sources",
    "/etc/apt/preferences",
    "/etc/apt/preferences.d/pin",
    "/etc/apt/apt.conf",
    "/etc/apt/apt.conf.d/70debconf",
    "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
    "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
};

void putFile(FakeSystemView& v, const std::string& path, const std::string& content,
             TimePoint mtime) {
  v.addFile(path, content);
  FileInfo fi;
  fi.type = FileType::kRegular;
  fi.size = content.size();
  fi.mode = 0644;
  fi.mtime = mtime;
  v.setFileInfo(path, fi);
}

void aptMachine(FakeSystemView& v, const std::string& dump = kDump) {
  v.addFile("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  for (const auto& f : kKeyFiles) {
    std::string content = "x\n";
    if (f.find("InRelease") != std::string::npos) {
      content = "Origin: Debian\nDate: Sun, 01 Nov 2026 07:00:00 UTC\n";
    }
    putFile(v, f, content, kT0 - hours(1));
  }
  v.addFile("/proc/sys/kernel/osrelease", "6.1.0-28-amd64\n");
  v.addCommand(kDumpArgv, CommandResult{0, 0, dump, "", false, false});
  v.addCommand(kSimArgv, CommandResult{0, 0, kSim, "", false, false});
  v.addCommand(kPolicyArgv, CommandResult{0, 0, kPolicy, "", false, false});
}

int aptGetRuns(const FakeSystemView& v) {
  int n = 0;
  for (const auto& c : v.commandsRun()) n += c.argv[0] == "/usr/bin/apt-get" ? 1 : 0;
  return n;
}

StatusOr<CheckResult> runFake(const FakeSystemView& v, const std::string& state_dir,
                              OsPatchesSettings s = {}, bool read_only = false) {
  s.max_package_list_age_days = 60;
  Policy policy = policyWith(s);
  auto check = NewOsPatchesCheck(CheckOptions{.private_apt_cache = false});
  return check->run(v, CheckParams{policy, state_dir, read_only});
}

TEST(OsPatchesStateTest, FirstSeenPersistsAndAgesAreJudgedOnAFakeClock) {
  TempDir state;
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0);
  auto r0 = runFake(v, state.path());
  ASSERT_TRUE(r0.ok()) << r0.status().toString();
  EXPECT_EQ(r0->verdict, Verdict::kPass);
  EXPECT_EQ(evInt(*r0, "security_count"), 1);
  EXPECT_EQ(ev(*r0, "pending")->asArray()[0].find("first_seen")->asString(),
            "2026-11-01T08:00:00Z");

  v.setNow(kT0 + hours(24 * 3));
  auto r3 = runFake(v, state.path());
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->verdict, Verdict::kPass);
  EXPECT_EQ(evInt(*r3, "oldest_security_days"), 3);

  v.setNow(kT0 + hours(24 * 9));
  auto r9 = runFake(v, state.path());
  ASSERT_TRUE(r9.ok());
  EXPECT_EQ(r9->verdict, Verdict::kFail);
  EXPECT_EQ(r9->summary, "1 security update pending for 9 days (limit 7)");
  EXPECT_EQ(ev(*r9, "pending")->asArray()[0].find("first_seen")->asString(),
            "2026-11-01T08:00:00Z");

  v.setNow(kT0 + hours(24 * 31));
  auto r31 = runFake(v, state.path());
  ASSERT_TRUE(r31.ok());
  EXPECT_EQ(r31->summary,
            "1 security update pending for 31 days (limit 7); 2 updates pending for 31 days "
            "(limit 30)");
  // All of this came from one simulation: the package state never changed.
  EXPECT_EQ(aptGetRuns(v), 1);
}

TEST(OsPatchesStateTest, WithoutStateDirAgesCountFromNow) {
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0 + hours(24 * 9));
  auto r = runFake(v, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kPass);
  EXPECT_EQ(evInt(*r, "oldest_security_days"), 0);
  EXPECT_NE(ev(*r, "ages_counted_from")->asString().find("no state directory"), std::string::npos);
}

TEST(OsPatchesStateTest, NewCandidateKeepsTheDateWhileInstalledIsUnchanged) {
  std::vector<SeenEntry> seen = {{"bash", "5.2-1", "5.2-2", kT0, std::nullopt},
                                 {"perl", "5.36-1", "5.36-2", kT0, kT0 + hours(1)}};
  std::vector<PendingUpdate> pending(3);
  pending[0].name = "bash";  // new candidate, same installed → keeps kT0
  pending[0].installed = "5.2-1";
  pending[0].candidate = "5.2-3";
  pending[1].name = "perl";  // installed moved on → the update is new
  pending[1].installed = "5.36-2";
  pending[1].candidate = "5.36-3";
  pending[1].security = true;
  pending[2].name = "zsh";
  pending[2].candidate = "5.9-1";
  pending[2].security = true;
  TimePoint now = kT0 + hours(48);
  auto out = applyFirstSeen(seen, pending, now);
  EXPECT_EQ(pending[0].first_seen, kT0);
  EXPECT_EQ(pending[1].first_seen, now);
  EXPECT_EQ(pending[1].security_since, now);
  EXPECT_EQ(pending[2].first_seen, now);
  ASSERT_EQ(out.size(), 3u);  // exactly the pending updates: old entries are dropped
  EXPECT_EQ(out[0].candidate, "5.2-3");
}

TEST(OsPatchesStateTest, WarmRunReusesTheCacheAndStillJudgesTheClock) {
  TempDir state;
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0);
  ASSERT_TRUE(runFake(v, state.path()).ok());
  EXPECT_EQ(aptGetRuns(v), 1);
  v.setNow(kT0 + hours(1));
  auto warm = runFake(v, state.path());
  ASSERT_TRUE(warm.ok());
  EXPECT_TRUE(ev(*warm, "cached")->asBool());
  EXPECT_EQ(aptGetRuns(v), 1);
  EXPECT_EQ(ev(*warm, "package_lists")->find("age_days")->asInt(), 0);
  v.setNow(kT0 + hours(24 * 2 + 1));
  auto later = runFake(v, state.path());
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(ev(*later, "package_lists")->find("age_days")->asInt(), 2);  // re-judged
  EXPECT_EQ(aptGetRuns(v), 1);
}

TEST(OsPatchesStateTest, CacheIsInvalidatedWhenAnyKeyInputChanges) {
  for (const auto& changed : kKeyFiles) {
    for (int how = 0; how < 2; ++how) {  // 0: new mtime, 1: new size (same mtime)
      TempDir state;
      FakeSystemView v;
      aptMachine(v);
      v.setNow(kT0);
      ASSERT_TRUE(runFake(v, state.path()).ok());
      ASSERT_TRUE(runFake(v, state.path()).ok());
      ASSERT_EQ(aptGetRuns(v), 1) << changed;
      std::string content = changed.find("InRelease") != std::string::npos
                                ? "Origin: Debian\nDate: Sun, 01 Nov 2026 07:00:00 UTC\n"
                                : "x\n";
      if (how == 1) content += "more\n";
      putFile(v, changed, content,
              how == 0 ? kT0 - hours(1) + std::chrono::nanoseconds(1) : kT0 - hours(1));
      ASSERT_TRUE(runFake(v, state.path()).ok());
      EXPECT_EQ(aptGetRuns(v), 2) << "not invalidated by a change of " << changed << " (" << how
                                  << ")";
    }
  }
}

TEST(OsPatchesStateTest, CacheIsInvalidatedByNewFilesAndByConfiguration) {
  for (const std::string added :
       {"/etc/apt/sources.list.d/extra.list", "/etc/apt/preferences.d/pin2",
        "/etc/apt/apt.conf.d/99local", "/var/lib/apt/lists/x_dists_y_InRelease",
        // `dpkg --add-architecture i386` (the dump no longer asks dpkg for its architectures).
        "/var/lib/dpkg/arch"}) {
    TempDir state;
    FakeSystemView v;
    aptMachine(v);
    v.setNow(kT0);
    ASSERT_TRUE(runFake(v, state.path()).ok());
    putFile(v, added, "Date: Sun, 01 Nov 2026 07:00:00 UTC\n", kT0 - hours(1));
    ASSERT_TRUE(runFake(v, state.path()).ok());
    EXPECT_EQ(aptGetRuns(v), 2) << added;
  }
  // Same files, different apt configuration (e.g. APT_CONFIG or a changed option).
  TempDir state;
  {
    FakeSystemView v;
    aptMachine(v);
    v.setNow(kT0);
    ASSERT_TRUE(runFake(v, state.path()).ok());
  }
  FakeSystemView v2;
  aptMachine(v2, std::string(kDump) + "APT::Default-Release \"bookworm-backports\";\n");
  v2.setNow(kT0);
  ASSERT_TRUE(runFake(v2, state.path()).ok());
  EXPECT_EQ(aptGetRuns(v2), 1);
}

TEST(OsPatchesStateTest, StateIsWrittenDurablyAndReadBack) {
  TempDir state;
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0);
  ASSERT_TRUE(runFake(v, state.path()).ok());
  std::string path = state.path() + "/os_patches.json";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // Nothing but the state file is left behind (the temporary file was renamed).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(state.path())) {
    ++files;
    EXPECT_EQ(e.path().filename(), "os_patches.json");
  }
  EXPECT_EQ(files, 1);
  auto loaded = loadState(state.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status().toString();
  ASSERT_EQ(loaded->seen.size(), 2u);
  EXPECT_EQ(loaded->seen[0].name, "libexpat1");
  EXPECT_EQ(loaded->seen[0].security_since, kT0);
  ASSERT_TRUE(loaded->apt_cache.has_value());
  EXPECT_EQ(loaded->apt_cache->packages.size(), 2u);
  // Round trip.
  auto again = stateFromJson(stateToJson(*loaded));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(json::write(stateToJson(*again)), json::write(stateToJson(*loaded)));
}

// `hearth-agent check` without root: the daemon's first-seen dates count (the same verdict as the
// daemon's), and neither they nor anything else in the state dir change.
TEST(OsPatchesStateTest, ReadOnlyStateGivesTheDaemonsAgesAndWritesNothing) {
  TempDir state;
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0);
  ASSERT_TRUE(runFake(v, state.path()).ok());
  const std::string path = state.path() + "/os_patches.json";
  const std::string before = *ReadFileBounded(path, 1 << 20);
  v.setNow(kT0 + hours(24 * 9));
  auto r = runFake(v, state.path(), {}, /*read_only=*/true);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(evInt(*r, "oldest_security_days"), 9);
  EXPECT_EQ(*ReadFileBounded(path, 1 << 20), before);

  TempDir empty;
  ASSERT_TRUE(runFake(v, empty.path(), {}, /*read_only=*/true).ok());
  EXPECT_TRUE(std::filesystem::is_empty(empty.path()));
}

TEST(OsPatchesStateTest, CorruptStateStartsAfreshAndSaysSo) {
  TempDir state;
  state.write("os_patches.json", "{\"version\": 1, \"seen\": [");
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0);
  auto r = runFake(v, state.path());
  ASSERT_TRUE(r.ok());
  ASSERT_NE(ev(*r, "state"), nullptr);
  EXPECT_NE(ev(*r, "state")->find("state_error")->asString().find("DATA_LOSS"), std::string::npos);
  EXPECT_TRUE(loadState(state.path()).ok());  // rewritten
}

TEST(OsPatchesStateTest, FreshStateTakesTheFleetDateAndUnknownAgeFailsTheRest) {
  // Enrolled on day 10; the fleet first saw libexpat1's candidate pending on day 0.
  TempDir state;
  state.write("fleet.json",
              R"({"os_patches":{"first_seen":[{"name":"libexpat1","candidate":"2.5.0-1+deb12u2",)"
              R"("first_seen":"2026-11-01T08:00:00Z"}]}})");
  FakeSystemView v;
  aptMachine(v);
  v.setNow(kT0 + hours(24 * 10));
  auto r = runFake(v, state.path());
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->verdict, Verdict::kFail);
  EXPECT_EQ(evInt(*r, "oldest_security_days"), 10);
  const json::Value& e = ev(*r, "pending")->asArray()[0];
  EXPECT_EQ(e.find("name")->asString(), "libexpat1");
  EXPECT_EQ(e.find("age_counts_from")->asString(), "fleet first seen 2026-11-01");
  // The first check started watching: kept in the state.
  auto st = loadState(state.path());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->watching_since, kT0 + hours(24 * 10));

  // Without the fleet's date, unknown_age decides: grace passes, fail fails at once.
  TempDir fresh;
  OsPatchesSettings fail;
  fail.unknown_age = OsPatchesSettings::UnknownAge::kFail;
  auto f = runFake(v, fresh.path(), fail);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->verdict, Verdict::kFail);
  TempDir fresh2;
  auto g = runFake(v, fresh2.path());
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->verdict, Verdict::kPass);
}

TEST(OsPatchesStateTest, AptFailureIsAnErrorNotAPass) {
  FakeSystemView v;
  aptMachine(v);
  FakeSystemView broken;
  broken.addFile("/etc/os-release", "ID=debian\n");
  broken.addCommand(kDumpArgv, CommandResult{0, 0, kDump, "", false, false});
  broken.addCommand(kSimArgv, CommandResult{100, 0, "",
                                            "E: The package lists or status file could not be "
                                            "parsed or opened.\n",
                                            false, false});
  auto r = runFake(broken, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("could not be parsed"), std::string::npos);
  FakeSystemView missing;
  missing.addFile("/etc/os-release", "ID=debian\n");
  EXPECT_FALSE(runFake(missing, "").ok());  // apt-config not found
}

}  // namespace
}  // namespace hearth::checks::os_patches
