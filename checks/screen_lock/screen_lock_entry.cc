// screen_lock's agent entry (check_registry.h): its policy part, factory and what
// of its evidence may leave the PC.
#include "screen_lock/screen_lock.h"

namespace hearth::checks {

namespace {

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

CheckEntry ScreenLockCheckEntry(AgentPart) {
  return {.spec = ScreenLockCheckEntry(kPolicyPart),
          .make = [] { return NewScreenLockCheck(); },
          .privacy_filter = privacyFilter};
}

}  // namespace hearth::checks
