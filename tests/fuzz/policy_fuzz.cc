// Fuzzes policy validation: any input either parses into a policy within the documented ranges or
// is refused with a message that names the source.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "disk_encryption/disk_encryption.h"
#include "hearth/policy.h"
#include "os_patches/os_patches.h"
#include "screen_lock/screen_lock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = hearth::ParsePolicy(text, "fuzz.json");
  if (!p.ok()) {
    if (!p.status().message().starts_with("fuzz.json: ")) std::abort();
    return 0;
  }
  if (p->version < 1 || p->level.empty()) std::abort();
  using hearth::checks::OsPatchesSettings;
  using hearth::checks::ScreenLockSettings;
  if (const auto* s = p->settings<ScreenLockSettings>(hearth::checks::kScreenLockCheckId);
      s != nullptr && (s->max_idle_seconds < 1 || s->max_idle_seconds > 86400)) {
    std::abort();
  }
  if (const auto* s = p->settings<OsPatchesSettings>(hearth::checks::kOsPatchesCheckId);
      s != nullptr && (s->max_update_age_days < 0 || s->max_package_list_age_days < 1)) {
    std::abort();
  }
  // Every enabled check has the settings its section holds (all but disk_encryption have some).
  for (const auto& c : p->checks) {
    if (c.id != hearth::checks::kDiskEncryptionCheckId && c.settings == nullptr) std::abort();
  }
  return 0;
}
