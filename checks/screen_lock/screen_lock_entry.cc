// screen_lock's registry entry (check_registry.h): its wording, factory, policy settings and what
// of its evidence may leave the PC.
#include "screen_lock/screen_lock.h"

namespace hearth::checks {

namespace {

Status readSettings(const json::ObjectReader& section, ScreenLockSettings& s) {
  HEARTH_RETURN_IF_ERROR(section.readInt("max_idle_seconds", 1, 86400, s.max_idle_seconds));
  return section.readBool("require_lock_on_resume", s.require_lock_on_resume);
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
  return {.id = kScreenLockCheckId,
          .wording = {"Screen lock", "Screen lock needs attention"},
          .make = [] { return NewScreenLockCheck(); },
          .settings = SettingsOf({"max_idle_seconds", "require_lock_on_resume"}, readSettings),
          .privacy_filter = privacyFilter};
}

}  // namespace hearth::checks
