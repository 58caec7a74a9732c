// os_patches's agent entry (check_registry.h): its policy part, factory and what
// of its evidence may leave the PC.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace {

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

CheckEntry OsPatchesCheckEntry(AgentPart) {
  return {.spec = OsPatchesCheckEntry(kPolicyPart),
          .make = [] { return NewOsPatchesCheck(); },
          .privacy_filter = privacyFilter};
}

}  // namespace hearth::checks
