// Fuzzes os_patches' dnf readers (checks/os_patches/os_patches.cc) with one input read as each of
// dnf's outputs: `dnf check-update` (every update has a name, an architecture, a version starting
// with a digit and a repository), the metadata age (never negative), dnf4 `updateinfo list
// --security` and dnf5 `advisory list --json` (every package splits into name, version and arch
// that put together give the NEVRA back).
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "os_patches/os_patches.h"

using namespace hearth::checks::os_patches;

namespace {

void checkAdvisoryPackage(const DnfAdvisoryPackage& p) {
  FUZZ_ASSERT(!p.name.empty() && !p.version.empty());
  std::string name, version, arch;
  FUZZ_ASSERT(splitNevra(p.name + "-" + p.version + "." + p.arch, &name, &version, &arch));
  FUZZ_ASSERT(name == p.name && version == p.version && arch == p.arch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  for (const auto& u : parseDnfCheckUpdate(text)) {
    FUZZ_ASSERT(!u.name.empty() && !u.arch.empty() && !u.repo.empty());
    FUZZ_ASSERT(!u.version.empty() && u.version[0] >= '0' && u.version[0] <= '9');
  }
  if (auto age = parseDnfMetadataAge(text)) FUZZ_ASSERT(age->count() >= 0);
  for (const auto& p : parseDnf4UpdateinfoSecurity(text)) checkAdvisoryPackage(p);
  auto dnf5 = parseDnf5AdvisoryJson(text);
  if (dnf5.ok()) {
    for (const auto& p : *dnf5) checkAdvisoryPackage(p);
  } else {
    FUZZ_ASSERT(!dnf5.status().message().empty());
  }
  return 0;
}
