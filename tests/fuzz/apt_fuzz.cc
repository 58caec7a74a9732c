// Fuzzes os_patches' apt readers (checks/os_patches/os_patches.cc) with one input read as each of
// apt's outputs: `apt-get -s dist-upgrade` (a malformed Inst line is refused, never skipped: an
// undercount must not look like good news; every install has a name and a candidate, and is a
// security update exactly when one of its suites is), `apt-cache policy`, `apt-config dump`, and a
// Release file's Date:. Its first two lines are compared as Debian versions: the order is
// antisymmetric and a version equals itself.
#include <algorithm>
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "hearth/text.h"
#include "os_patches/os_patches.h"

using namespace hearth::checks::os_patches;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  auto sim = parseAptSimulation(text);
  if (!sim.ok()) {
    FUZZ_ASSERT(sim.status().code() == hearth::StatusCode::kInvalidArgument);
    FUZZ_ASSERT(hearth::fuzz::StartsWith(sim.status().message(), "malformed apt simulation line"));
  } else {
    for (const auto& inst : sim->installs) {
      FUZZ_ASSERT(!inst.name.empty() && !inst.candidate.empty());
      bool security = std::any_of(inst.suites.begin(), inst.suites.end(),
                                  [](const std::string& s) { return isSecuritySuite(s); });
      FUZZ_ASSERT(security == inst.security_origin);
    }
    for (const auto& r : sim->removals) FUZZ_ASSERT(!r.empty());
  }
  auto policy = parseAptCachePolicy(text);
  for (const auto& [name, pkg] : policy) {
    for (const auto& v : pkg.versions) FUZZ_ASSERT(!v.version.empty());
    // A security version must lie above the installed one and not above the candidate.
    if (hasSecurityVersion(pkg, pkg.installed, pkg.candidate) && !pkg.installed.empty()) {
      FUZZ_ASSERT(compareDebianVersions(pkg.candidate, pkg.installed) > 0);
    }
  }
  auto config = parseAptConfigDump(text);
  for (const auto& [key, value] : config) FUZZ_ASSERT(!key.empty());
  std::string lists = aptConfigPath(config, "Dir::State::lists", "/var/lib/apt/lists/", true);
  FUZZ_ASSERT(!lists.empty() && lists.back() == '/');
  (void)parseReleaseDate(text);

  auto lines = hearth::text::splitLines(text);
  if (lines.size() >= 2) {
    int ab = compareDebianVersions(lines[0], lines[1]);
    int ba = compareDebianVersions(lines[1], lines[0]);
    FUZZ_ASSERT(ab >= -1 && ab <= 1 && ab == -ba);
    FUZZ_ASSERT(compareDebianVersions(lines[0], lines[0]) == 0);
  }
  return 0;
}
