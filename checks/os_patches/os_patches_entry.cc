// os_patches's registry entry (check_registry.h): its policy settings, names, factory and what of
// its evidence may leave the PC.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace {

StatusOr<std::shared_ptr<const CheckSettings>> parseSettings(const json::ObjectReader& section) {
  auto s = std::make_shared<OsPatchesSettings>();
  HEARTH_RETURN_IF_ERROR(
      section.readInt("max_security_update_age_days", 0, 3650, s->max_security_update_age_days));
  HEARTH_RETURN_IF_ERROR(section.readInt("max_update_age_days", 0, 3650, s->max_update_age_days));
  HEARTH_RETURN_IF_ERROR(
      section.readInt("max_package_list_age_days", 1, 3650, s->max_package_list_age_days));
  HEARTH_RETURN_IF_ERROR(section.readInt("reboot_grace_days", 0, 3650, s->reboot_grace_days));
  return std::shared_ptr<const CheckSettings>(std::move(s));
}

// Counts, ages and the names of pending security updates: which other software is installed or
// pending stays on the PC.
void privacyFilter(json::Value& evidence, PersonLabels& /*people*/) {
  if (!evidence.isObject()) return;
  for (auto& [k, v] : evidence.asObject()) {
    if (k == "pending" && v.isArray()) {
      json::Value only = json::Value::array();
      for (const auto& p : v.asArray()) {
        const json::Value* sec = p.find("security");
        if (sec == nullptr || !sec->isBool() || !sec->asBool()) continue;
        json::Value e = json::Value::object();
        for (const char* key : {"name", "security", "first_seen", "security_first_seen"}) {
          if (const json::Value* f = p.find(key)) e.set(key, *f);
        }
        only.push(std::move(e));
      }
      v = std::move(only);
    } else if ((k == "kept_back" || k == "removals" || k == "phasing_deferred") && v.isArray()) {
      v = json::Value(static_cast<int64_t>(v.size()));  // how many, not which
    } else if (k == "reboot") {
      v.erase("packages");
    }
  }
}

}  // namespace

CheckEntry OsPatchesCheckEntry() {
  CheckEntry e;
  e.id = kOsPatchesCheckId;
  e.name = "System updates";
  e.notification_title = "System updates need attention";
  e.make = [] { return NewOsPatchesCheck(); };
  e.settings_keys = {"max_security_update_age_days", "max_update_age_days",
                     "max_package_list_age_days", "reboot_grace_days"};
  e.parse_settings = parseSettings;
  e.privacy_filter = privacyFilter;
  return e;
}

}  // namespace hearth::checks
