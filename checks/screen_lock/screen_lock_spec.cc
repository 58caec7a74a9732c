// screen_lock's policy part (check_spec.h): its id, wording and policy settings.
#include "hearth/i18n.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks {

namespace {

Status readSettings(const json::ObjectReader& section, ScreenLockSettings& s) {
  HEARTH_RETURN_IF_ERROR(section.readInt("max_idle_seconds", 1, 86400, s.max_idle_seconds));
  return section.readBool("require_lock_on_resume", s.require_lock_on_resume);
}

}  // namespace

CheckSpec ScreenLockCheckEntry(PolicyPart) {
  return {.id = kScreenLockCheckId,
          .wording = {N_("Screen lock"), N_("Screen lock needs attention")},
          .settings = SettingsOf({"max_idle_seconds", "require_lock_on_resume"}, readSettings)};
}

}  // namespace hearth::checks
