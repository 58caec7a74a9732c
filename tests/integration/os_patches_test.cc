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
#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::checks::os_patches {
namespace {

using testing::TempDir;

using testing::Exists;
using testing::WriteFile;

StatusOr<CommandResult> runIn(const SystemView& sys, std::vector<std::string> argv,
                              const std::string& tmp) {
  Command c;
  c.argv = std::move(argv);
  c.env["TMPDIR"] = tmp;
  c.timeout = std::chrono::minutes(2);
  return sys.run(c);
}

void mustRun(const SystemView& sys, std::vector<std::string> argv, const std::string& tmp,
             std::string* out = nullptr) {
  std::string what = text::join(argv, " ");
  auto r = runIn(sys, std::move(argv), tmp);
  ASSERT_TRUE(r.ok()) << what << ": " << r.status().toString();
  ASSERT_EQ(r->exit_code, 0) << what << "\n" << r->out << r->err;
  if (out != nullptr) *out = r->out;
}

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

// A local apt world in a temp dir: repository, sources, dpkg status, lists, cache, config.
class AptRepo {
 public:
  explicit AptRepo(const TempDir& dir) : t_(dir.path()) {}
  std::string conf() const { return t_ + "/apt.conf"; }
  std::string status() const { return t_ + "/dpkg/status"; }
  std::string tmp() const { return t_ + "/tmp"; }

  void build() {
    std::filesystem::create_directories(tmp());
    auto sys = NewLiveSystemView();
    struct Deb {
      std::string name, version, suite;
    };
    std::vector<Deb> debs = {
        {"hearth-test-pkg", "2.0", "bookworm-security"},
        {"hearth-test-other", "1.1", "bookworm-updates"},
        // A security fix (1.1) superseded by a newer -updates version (1.2): the Inst line shows
        // only bookworm-updates.
        {"hearth-test-masked", "1.1", "bookworm-security"},
        {"hearth-test-masked", "1.2", "bookworm-updates"},
    };
    for (const auto& d : debs) {
      std::string pkgdir = t_ + "/build/" + d.name + "-" + d.version;
      WriteFile(pkgdir + "/DEBIAN/control", "Package: " + d.name + "\nVersion: " + d.version +
                                                "\nArchitecture: all\nMaintainer: Hearth Tests "
                                                "<tests@example.invalid>\nDescription: test\n");
      std::string pool = t_ + "/repo/pool/" + d.suite;
      std::filesystem::create_directories(pool);
      mustRun(*sys,
              {"/usr/bin/dpkg-deb", "--root-owner-group", "-Zgzip", "--build", pkgdir,
               pool + "/" + d.name + "_" + d.version + "_all.deb"},
              tmp());
    }
    for (const auto& [suite, label] : std::vector<std::pair<std::string, std::string>>{
             {"bookworm-security", "Debian-Security"}, {"bookworm-updates", "Debian"}}) {
      std::string dist = t_ + "/repo/dists/" + suite;
      std::string packages;
      // Paths in Packages are relative to the repository root: run from there via a prefix.
      mustRun(*sys, {"/usr/bin/apt-ftparchive", "packages", t_ + "/repo/pool/" + suite}, tmp(),
              &packages);
      packages =
          std::regex_replace(packages, std::regex("Filename: " + t_ + "/repo/"), "Filename: ");
      WriteFile(dist + "/main/binary-amd64/Packages", packages);
      std::string release;
      mustRun(*sys,
              {"/usr/bin/apt-ftparchive", "-o", "APT::FTPArchive::Release::Origin=Debian", "-o",
               "APT::FTPArchive::Release::Label=" + label, "-o",
               "APT::FTPArchive::Release::Suite=" + suite, "-o",
               "APT::FTPArchive::Release::Codename=" + suite, "-o",
               "APT::FTPArchive::Release::Architectures=amd64", "-o",
               "APT::FTPArchive::Release::Components=main", "release", dist},
              tmp(), &release);
      WriteFile(dist + "/Release", release);
    }
    WriteFile(t_ + "/etc/sources.list",
              "deb [trusted=yes] file:" + t_ + "/repo bookworm-security main\n" +
                  "deb [trusted=yes] file:" + t_ + "/repo bookworm-updates main\n");
    std::filesystem::create_directories(t_ + "/etc/sources.list.d");
    std::filesystem::create_directories(t_ + "/etc/preferences.d");
    std::filesystem::create_directories(t_ + "/etc/apt.conf.d");
    std::filesystem::create_directories(t_ + "/state/lists/partial");
    std::filesystem::create_directories(t_ + "/cache/archives/partial");
    std::filesystem::create_directories(t_ + "/log");
    writeStatus(
        {{"hearth-test-pkg", "1.0"}, {"hearth-test-other", "1.0"}, {"hearth-test-masked", "1.0"}});
    WriteFile(conf(),
              "Dir::State \"" + t_ + "/state/\";\n" +  //
                  "Dir::State::lists \"" + t_ + "/state/lists/\";\n" + "Dir::State::status \"" +
                  status() + "\";\n" + "Dir::State::extended_states \"" + t_ +
                  "/state/extended_states\";\n" + "Dir::Cache \"" + t_ + "/cache/\";\n" +
                  "Dir::Cache::archives \"" + t_ + "/cache/archives/\";\n" +
                  "Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n" + "Dir::Etc \"" +
                  t_ + "/etc/\";\n" + "Dir::Etc::sourcelist \"" + t_ + "/etc/sources.list\";\n" +
                  "Dir::Etc::sourceparts \"" + t_ + "/etc/sources.list.d/\";\n" +
                  "Dir::Etc::preferences \"" + t_ + "/etc/preferences\";\n" +
                  "Dir::Etc::preferencesparts \"" + t_ + "/etc/preferences.d/\";\n" +
                  "Dir::Etc::main \"" + t_ + "/etc/apt.conf\";\n" + "Dir::Etc::parts \"" + t_ +
                  "/etc/apt.conf.d/\";\n" + "Dir::Etc::trusted \"" + t_ + "/etc/trusted.gpg\";\n" +
                  "Dir::Etc::trustedparts \"" + t_ + "/etc/trusted.gpg.d/\";\n" + "Dir::Log \"" +
                  t_ + "/log/\";\n" +
                  "APT::Architecture \"amd64\";\nAPT::Architectures { \"amd64\"; "
                  "};\n" +
                  "APT::Get::List-Cleanup \"false\";\nAcquire::Languages "
                  "\"none\";\n" +
                  "APT::Sandbox::User \"root\";\nDebug::NoLocking \"true\";\n");
    auto apt = NewLiveSystemView(LiveOptions{.command_env = {{"APT_CONFIG", conf()}}});
    mustRun(*apt, {"/usr/bin/apt-get", "update"}, tmp());
  }

  void writeStatus(const std::vector<std::pair<std::string, std::string>>& installed) const {
    std::string s;
    for (const auto& [name, version] : installed) {
      s += "Package: " + name + "\nStatus: install ok installed\nPriority: optional\n" +
           "Architecture: all\nMaintainer: Hearth Tests "
           "<tests@example.invalid>\nVersion: " +
           version + "\nDescription: test\n\n";
    }
    WriteFile(status(), s);
  }

 private:
  std::string t_;
};

Policy patchesPolicy() {
  Policy p;
  p.level = "standard";
  p.version = 1;
  p.enable(kOsPatchesCheckId, std::make_shared<OsPatchesSettings>());
  return p;
}

bool haveAptTools() {
  return Exists("/usr/bin/apt-get") && Exists("/usr/bin/apt-ftparchive") &&
         Exists("/usr/bin/dpkg-deb");
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
