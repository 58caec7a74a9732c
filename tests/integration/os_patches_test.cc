// os_patches against real apt: a hermetic `file:` repository built in a temp dir (dpkg-deb,
// apt-ftparchive, apt-get update through APT_CONFIG), and this machine itself. No network: apt only
// ever sees the file: repository, and the host's /etc/apt and /var/lib/dpkg are only read (by the
// host test, through apt's own simulation).
#include "os_patches/os_patches.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "hearth/check.h"
#include "hearth/system_view.h"
#include "hearth/text.h"
#include "integration/apt_repo.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::checks::os_patches {
namespace {

using testing::AptRepo;
using testing::haveAptTools;
using testing::runIn;
using testing::TempDir;

using testing::Exists;
using testing::WriteFile;

// Independent expectation: Inst lines of the simulation, and which of them are security updates (an
// Inst origin ending in -security, or a -security version in apt-cache policy between the installed
// version and the candidate), by simple text matching.
struct Expected {
  int pending = 0;
  int security = 0;
};

Expected expectFrom(const SystemView& sys, const std::vector<std::string>& apt_get_prefix,
                    const std::vector<std::string>& apt_cache_prefix, const std::string& tmp) {
  Expected e;
  std::vector<std::string> argv = apt_get_prefix;
  argv.insert(argv.end(), {"-s", "-o", "Debug::NoLocking=1", "dist-upgrade"});
  auto sim = runIn(sys, argv, tmp);
  EXPECT_TRUE(sim.ok() && sim->exit_code == 0);
  if (!sim.ok()) return e;
  std::regex inst(R"(^Inst (\S+) (\[(\S+)\] )?\((\S+) (.*)\)( \[.*\])?$)");
  std::vector<std::string> ask;
  std::map<std::string, std::pair<std::string, std::string>> versions;
  for (const auto& line : text::splitLines(sim->out)) {
    std::smatch m;
    if (!std::regex_match(line, m, inst)) continue;
    ++e.pending;
    if (std::regex_search(m[5].str(), std::regex(R"(-security[ ,\]])"))) {
      ++e.security;
    } else {
      ask.push_back(m[1]);
      versions[m[1]] = {m[3], m[4]};
    }
  }
  if (ask.empty()) return e;
  argv = apt_cache_prefix;
  argv.push_back("policy");
  argv.insert(argv.end(), ask.begin(), ask.end());
  auto pol = runIn(sys, argv, tmp);
  EXPECT_TRUE(pol.ok() && pol->exit_code == 0);
  if (!pol.ok()) return e;
  std::string pkg, ver;
  std::set<std::string> secure;
  for (const auto& line : text::splitLines(pol->out)) {
    if (!line.empty() && line[0] != ' ') {
      pkg = line.substr(0, line.size() - 1);
      continue;
    }
    auto parts = text::splitWhitespace(line);
    if (parts.size() == 2 || (parts.size() == 3 && parts[0] == "***")) {
      ver = parts[0] == "***" ? parts[1] : parts[0];
    } else if (parts.size() >= 4 && std::regex_search(parts[2], std::regex("-security(/|$)"))) {
      const auto& [installed, candidate] = versions[pkg];
      if ((installed.empty() || compareDebianVersions(ver, installed) > 0) &&
          compareDebianVersions(ver, candidate) <= 0) {
        secure.insert(pkg);
      }
    }
  }
  e.security += static_cast<int>(secure.size());
  return e;
}

Policy patchesPolicy() {
  Policy p;
  p.level = "standard";
  p.version = 1;
  p.enable(kOsPatchesCheckId, std::make_shared<OsPatchesSettings>());
  return p;
}

TEST(OsPatchesIntegrationTest, HermeticFileRepositoryWithSecuritySuite) {
  if (!haveAptTools()) GTEST_SKIP() << "apt-get, apt-ftparchive or dpkg-deb missing";
  TempDir dir;
  AptRepo repo(dir);
  ASSERT_NO_FATAL_FAILURE(repo.build());
  auto sys = NewLiveSystemView(LiveOptions{.command_env = {{"APT_CONFIG", repo.conf()}}});

  Expected want = expectFrom(*sys, {"/usr/bin/apt-get"}, {"/usr/bin/apt-cache"}, repo.tmp());
  EXPECT_EQ(want.pending, 3);
  EXPECT_EQ(want.security, 2);

  TempDir state;
  Policy policy = patchesPolicy();
  auto check = checks::NewOsPatchesCheck();
  auto r = check->run(*sys, CheckParams{policy, state.path()});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->evidence.find("pending_count")->asInt(), want.pending);
  EXPECT_EQ(r->evidence.find("security_count")->asInt(), want.security);
  EXPECT_EQ(r->verdict, Verdict::kPass) << r->summary;  // first seen now
  EXPECT_FALSE(r->evidence.find("cached")->asBool());
  std::map<std::string, bool> security;
  for (const auto& p : r->evidence.find("pending")->asArray()) {
    security[p.find("name")->asString()] = p.find("security")->asBool();
  }
  EXPECT_TRUE(security["hearth-test-pkg"]);
  EXPECT_TRUE(security["hearth-test-masked"]);
  EXPECT_FALSE(security["hearth-test-other"]);
  // The lists that apt-get update just wrote are fresh, and found through apt's configuration.
  EXPECT_EQ(r->evidence.find("package_lists")->find("age_days")->asInt(), 0);
  EXPECT_NE(r->evidence.find("package_lists")->find("source")->asString().find(dir.path()),
            std::string::npos);

  // Warm: same answer, from the cache.
  auto warm = check->run(*sys, CheckParams{policy, state.path()});
  ASSERT_TRUE(warm.ok());
  EXPECT_TRUE(warm->evidence.find("cached")->asBool());
  EXPECT_EQ(warm->evidence.find("security_count")->asInt(), want.security);

  // "Install" the security update: the dpkg status changes, the cache is invalidated.
  repo.writeStatus(
      {{"hearth-test-pkg", "2.0"}, {"hearth-test-other", "1.0"}, {"hearth-test-masked", "1.0"}});
  auto after = check->run(*sys, CheckParams{policy, state.path()});
  ASSERT_TRUE(after.ok()) << after.status().toString();
  EXPECT_FALSE(after->evidence.find("cached")->asBool());
  EXPECT_EQ(after->evidence.find("pending_count")->asInt(), 2);
  EXPECT_EQ(after->evidence.find("security_count")->asInt(), 1);
}

TEST(OsPatchesIntegrationTest, UsesAptsOwnPackageCacheWhenItHasOne) {
  if (!haveAptTools()) GTEST_SKIP() << "apt-get, apt-ftparchive or dpkg-deb missing";
  TempDir dir;
  AptRepo repo(dir);
  ASSERT_NO_FATAL_FAILURE(repo.build());
  // A stock apt configuration: a package cache in Dir::Cache that we may write.
  std::ifstream in(repo.conf());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string conf = std::regex_replace(ss.str(), std::regex("Dir::Cache::pkgcache \"\";"),
                                        "Dir::Cache::pkgcache \"pkgcache.bin\";");
  WriteFile(repo.conf(), conf);
  auto sys = NewLiveSystemView(LiveOptions{.command_env = {{"APT_CONFIG", repo.conf()}}});
  Expected want = expectFrom(*sys, {"/usr/bin/apt-get"}, {"/usr/bin/apt-cache"}, repo.tmp());
  Policy policy = patchesPolicy();
  auto r = checks::NewOsPatchesCheck()->run(*sys, CheckParams{policy, ""});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->evidence.find("pending_count")->asInt(), want.pending);
  EXPECT_EQ(r->evidence.find("security_count")->asInt(), want.security);
  EXPECT_TRUE(Exists(dir.path() + "/cache/pkgcache.bin"));
}

TEST(OsPatchesIntegrationTest, ThisMachineMatchesItsOwnAptSimulation) {
  if (!Exists("/usr/bin/apt-get")) GTEST_SKIP() << "not an apt system";
  TempDir tmp;
  auto sys = NewLiveSystemView();
  Expected want = expectFrom(*sys, {"/usr/bin/apt-get"}, {"/usr/bin/apt-cache"}, tmp.path());
  Policy policy = patchesPolicy();
  auto check = checks::NewOsPatchesCheck();
  auto r = check->run(*sys, CheckParams{policy, ""});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->evidence.find("pending_count")->asInt(), want.pending);
  EXPECT_EQ(r->evidence.find("security_count")->asInt(), want.security);
  std::cout << "this machine: " << want.pending << " pending, " << want.security
            << " security; verdict " << verdictName(r->verdict) << ": " << r->summary << "\n";
}

}  // namespace
}  // namespace hearth::checks::os_patches
