// screen_lock's registry entry (check_registry.h): its policy settings, names, factory and what of
// its evidence may leave the PC.
#include "screen_lock/screen_lock.h"

namespace hearth::checks {

namespace {

StatusOr<std::shared_ptr<const CheckSettings>> parseSettings(const json::ObjectReader& section) {
  auto s = std::make_shared<ScreenLockSettings>();
  HEARTH_RETURN_IF_ERROR(section.readInt("max_idle_seconds", 1, 86400, s->max_idle_seconds));
  HEARTH_RETURN_IF_ERROR(section.readBool("require_lock_on_resume", s->require_lock_on_resume));
  return std::shared_ptr<const CheckSettings>(std::move(s));
}

// The people judged (people[], not_inspected[]) keep their "person N" label; their user names go
// to `people` (replaced everywhere in the report) and their uids are removed.
void privacyFilter(json::Value& evidence, PersonLabels& people) {
  for (const char* list : {"people", "not_inspected"}) {
    json::Value* entries = evidence.find(list);
    if (entries == nullptr || !entries->isArray()) continue;
    for (auto& p : entries->asArray()) {
      const json::Value* user = p.find("user");
      if (user != nullptr && user->isString() && people.count(user->asString()) == 0) {
        const json::Value* label = p.find("person");
        people[user->asString()] = label != nullptr && label->isString()
                                       ? label->asString()
                                       : "person " + std::to_string(people.size() + 1);
      }
      p.erase("user");
      p.erase("uid");
    }
  }
}

}  // namespace

CheckEntry ScreenLockCheckEntry() {
  CheckEntry e;
  e.id = kScreenLockCheckId;
  e.name = "Screen lock";
  e.notification_title = "Screen lock needs attention";
  e.make = [] { return NewScreenLockCheck(); };
  e.settings_keys = {"max_idle_seconds", "require_lock_on_resume"};
  e.parse_settings = parseSettings;
  e.privacy_filter = privacyFilter;
  return e;
}

}  // namespace hearth::checks
