// What every screen_lock desktop reader promises its LockConfig, whatever the settings files said:
// an idle-to-lock time, when there is one, is positive; pass only within the policy's limit; the
// reason is never empty. Shared by kconfig_fuzz, xfconf_fuzz and gsettings_fuzz.
#pragma once

#include "fuzz_assert.h"
#include "screen_lock/screen_lock.h"

namespace hearth::fuzz {

inline void CheckAssessment(const checks::screen_lock::LockConfig& config) {
  checks::ScreenLockSettings policy;
  for (int limit : {1, 300, 86400}) {
    policy.max_idle_seconds = limit;
    auto a = checks::screen_lock::assess(config, policy);
    FUZZ_ASSERT(!a.reason.empty());
    if (a.idle_to_lock_seconds) FUZZ_ASSERT(*a.idle_to_lock_seconds > 0);
    if (a.verdict == Verdict::kPass) {
      FUZZ_ASSERT(a.idle_to_lock_seconds && *a.idle_to_lock_seconds <= limit);
      FUZZ_ASSERT(config.disabled_by.empty());
    }
  }
}

}  // namespace hearth::fuzz
