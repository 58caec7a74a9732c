// os_patches's policy part (check_spec.h): its id, wording and policy settings.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace {

Status readSettings(const json::ObjectReader& section, OsPatchesSettings& s) {
  HEARTH_RETURN_IF_ERROR(
      section.readInt("max_security_update_age_days", 0, 3650, s.max_security_update_age_days));
  HEARTH_RETURN_IF_ERROR(section.readInt("max_update_age_days", 0, 3650, s.max_update_age_days));
  HEARTH_RETURN_IF_ERROR(
      section.readInt("max_package_list_age_days", 1, 3650, s.max_package_list_age_days));
  return section.readInt("reboot_grace_days", 0, 3650, s.reboot_grace_days);
}

}  // namespace

CheckSpec OsPatchesCheckEntry(PolicyPart) {
  return {.id = kOsPatchesCheckId,
          .wording = {"System updates", "System updates need attention"},
          .settings = SettingsOf({"max_security_update_age_days", "max_update_age_days",
                                  "max_package_list_age_days", "reboot_grace_days"},
                                 readSettings)};
}

}  // namespace hearth::checks
