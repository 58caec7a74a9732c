#include "hearth/check_spec.h"

#include "fixed_registry.h"

namespace hearth {

namespace {

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] < 'a' || id[0] > 'z') return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

internal::FixedAfterFirstRead<CheckSpecRegistry>& processSpecs() {
  // never destroyed: detached check threads may read it
  static auto* p = new internal::FixedAfterFirstRead<CheckSpecRegistry>(BuiltinCheckSpecs());
  return *p;
}

}  // namespace

Status CheckSpecRegistry::add(CheckSpec spec) {
  if (!validId(spec.id)) {
    return InvalidArgumentError("check id \"" + spec.id +
                                "\": expected [a-z][a-z0-9_]* of at most 64 bytes");
  }
  if (find(spec.id) != nullptr) {
    return InvalidArgumentError("check " + spec.id + " is already registered");
  }
  entries_.push_back(std::move(spec));
  return OkStatus();
}

const CheckSpec* CheckSpecRegistry::find(std::string_view id) const {
  for (const auto& e : entries_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const CheckSpecRegistry& PolicyChecks() { return processSpecs().read(); }

Status AddPolicyCheck(CheckSpec spec) {
  std::string id = spec.id;
  return processSpecs().change(
      id, [&spec](CheckSpecRegistry& registry) { return registry.add(std::move(spec)); });
}

}  // namespace hearth
