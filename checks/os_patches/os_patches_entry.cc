// os_patches's agent entry (check_registry.h): its policy part, factory and what
// of its evidence may leave the PC.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace {

// Counts, ages and the names and candidate versions of pending security updates: which other
// software is installed or pending, and which versions are installed, stays on the PC.
void privacyFilter(json::Value& evidence, PersonLabels& /*people*/) {
  if (!evidence.isObject()) return;
  for (auto& [k, v] : evidence.asObject()) {
    if (k == "pending" && v.isArray()) {
      json::Value only = json::Value::array();
      for (const auto& p : v.asArray()) {
        const json::Value* sec = p.find("security");
        if (sec == nullptr || !sec->isBool() || !sec->asBool()) continue;
        json::Value e = json::Value::object();
        // The candidate version lets the server date the update across the fleet (docs/
        // privacy.md); the installed version stays here.
        for (const char* key : {"name", "candidate", "security", "first_seen",
                                "security_first_seen", "age_from", "age_counts_from"}) {
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
