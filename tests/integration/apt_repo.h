// A hermetic apt world for integration tests: a `file:` repository built in a temp dir (dpkg-deb,
// apt-ftparchive), its own dpkg status, lists, cache and configuration (APT_CONFIG, or the
// `apt.conf` of a directory bound over /etc/apt), `apt-get update` already run. Used by
// os_patches_test.cc and fleet_first_seen_test.cc.
#pragma once

#include <filesystem>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/system_view.h"
#include "hearth/text.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::testing {

inline StatusOr<CommandResult> runIn(const SystemView& sys, std::vector<std::string> argv,
                                     const std::string& tmp) {
  Command c;
  c.argv = std::move(argv);
  c.env["TMPDIR"] = tmp;
  c.timeout = std::chrono::minutes(2);
  return sys.run(c);
}

inline void mustRun(const SystemView& sys, std::vector<std::string> argv, const std::string& tmp,
                    std::string* out = nullptr) {
  std::string what = text::join(argv, " ");
  auto r = runIn(sys, std::move(argv), tmp);
  ASSERT_TRUE(r.ok()) << what << ": " << r.status().toString();
  ASSERT_EQ(r->exit_code, 0) << what << "\n" << r->out << r->err;
  if (out != nullptr) *out = r->out;
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

inline bool haveAptTools() {
  return Exists("/usr/bin/apt-get") && Exists("/usr/bin/apt-ftparchive") &&
         Exists("/usr/bin/dpkg-deb");
}

}  // namespace hearth::testing
