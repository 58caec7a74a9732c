// Fuzzes policy validation: any input either parses into a policy within the documented ranges or
// is refused with a message that names the source.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hearth/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = hearth::ParsePolicy(text, "fuzz.json");
  if (!p.ok()) {
    if (p.status().message().rfind("fuzz.json: ", 0) != 0) std::abort();
    return 0;
  }
  if (p->version < 1 || p->level.empty()) std::abort();
  if (p->screen_lock &&
      (p->screen_lock->max_idle_seconds < 1 || p->screen_lock->max_idle_seconds > 86400)) {
    std::abort();
  }
  if (p->os_patches &&
      (p->os_patches->max_update_age_days < 0 || p->os_patches->max_package_list_age_days < 1)) {
    std::abort();
  }
  return 0;
}
