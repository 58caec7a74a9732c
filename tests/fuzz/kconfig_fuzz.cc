// Fuzzes the KConfig reader (KDE's kscreenlockerrc cascade, checks/screen_lock/kconfig.cc): every
// entry has a group and a trimmed key; an immutable file or group ([$i]) cannot be overridden by a
// later file of the cascade; the KDE LockConfig keeps the assessment's contract.
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "fuzz_assert.h"
#include "hearth/text.h"
#include "screen_lock/screen_lock.h"
#include "screen_lock_contract.h"

using namespace hearth::checks::screen_lock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = hearth::fuzz::AsText(data, size);
  KConfigFile file = parseKConfig(text);
  for (const auto& e : file.entries) {
    // (A "[]" header names the group "": KConfig's own reading of it differs by version, and
    // none of the keys we read lives there.)
    FUZZ_ASSERT(!e.key.empty());
    FUZZ_ASSERT(e.key == hearth::text::trim(e.key) && e.value == hearth::text::trim(e.value));
  }
  // The fuzzed file first (an administrator's), then a user's file setting every key again.
  KConfigCascade cascade;
  cascade.merge(file, "admin");
  KConfigFile user;
  for (const auto& e : file.entries) user.entries.push_back({e.group, e.key, "user value", false});
  cascade.merge(user, "user");
  std::set<std::pair<std::string, std::string>> fixed;  // keys some entry marks [$i]
  for (const auto& e : file.entries) {
    if (e.immutable) fixed.insert({e.group, e.key});
  }
  for (const auto& e : file.entries) {
    const auto* v = cascade.find(e.group, e.key);
    FUZZ_ASSERT(v != nullptr);
    if (file.file_immutable || fixed.count({e.group, e.key}) > 0 ||
        file.immutable_groups.count(e.group) > 0) {
      FUZZ_ASSERT(v->source == "admin");
    } else {
      FUZZ_ASSERT(v->source == "user");
    }
  }
  KConfigCascade alone;
  alone.merge(file, "file");
  for (bool on_resume : {false, true}) {
    LockConfig c = kdeConfig(alone, on_resume);
    FUZZ_ASSERT(c.lock_delay_seconds >= 0 && c.lock_delay_seconds <= 300);
    hearth::fuzz::CheckAssessment(c);
  }
  return 0;
}
