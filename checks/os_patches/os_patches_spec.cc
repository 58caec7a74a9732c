// os_patches's policy part (check_spec.h): its id, wording and policy settings.
#include "hearth/i18n.h"
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace {

Status readSettings(const json::ObjectReader& section, OsPatchesSettings& s) {
  HEARTH_RETURN_IF_ERROR(
      section.readInt("max_security_update_age_days", 0, 3650, s.max_security_update_age_days));
  HEARTH_RETURN_IF_ERROR(section.readInt("max_update_age_days", 0, 3650, s.max_update_age_days));
  HEARTH_RETURN_IF_ERROR(
      section.readInt("max_package_list_age_days", 1, 3650, s.max_package_list_age_days));
  HEARTH_RETURN_IF_ERROR(section.readInt("reboot_grace_days", 0, 3650, s.reboot_grace_days));
  std::string unknown_age = "grace";
  HEARTH_RETURN_IF_ERROR(section.readString("unknown_age", unknown_age));
  if (unknown_age == "grace") {
    s.unknown_age = OsPatchesSettings::UnknownAge::kGrace;
  } else if (unknown_age == "fail") {
    s.unknown_age = OsPatchesSettings::UnknownAge::kFail;
  } else {
    json::Value got(unknown_age);
    return section.invalid("unknown_age", "\"grace\" or \"fail\"", &got);
  }
  return OkStatus();
}

}  // namespace

CheckSpec OsPatchesCheckEntry(PolicyPart) {
  return {.id = kOsPatchesCheckId,
          .wording = {N_("System updates"), N_("System updates need attention")},
          .settings = SettingsOf({"max_security_update_age_days", "max_update_age_days",
                                  "max_package_list_age_days", "reboot_grace_days", "unknown_age"},
                                 readSettings)};
}

}  // namespace hearth::checks
