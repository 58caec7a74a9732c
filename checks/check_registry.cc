#include "hearth/check_registry.h"

#include "fixed_registry.h"

namespace hearth {

namespace {

internal::FixedAfterFirstRead<CheckRegistry>& processRegistry() {
  // never destroyed: detached check threads may read it
  static auto* p = new internal::FixedAfterFirstRead<CheckRegistry>(BuiltinChecks());
  return *p;
}

}  // namespace

Status CheckRegistry::add(CheckEntry entry) {
  if (!entry.make) return InvalidArgumentError("check " + entry.spec.id + ": no factory");
  HEARTH_RETURN_IF_ERROR(specs_.add(entry.spec));
  entries_.push_back(std::move(entry));
  return OkStatus();
}

const CheckEntry* CheckRegistry::find(std::string_view id) const {
  for (const auto& e : entries_) {
    if (e.spec.id == id) return &e;
  }
  return nullptr;
}

std::vector<std::unique_ptr<Check>> CheckRegistry::makeChecks() const {
  std::vector<std::unique_ptr<Check>> checks;
  checks.reserve(entries_.size());
  for (const auto& e : entries_) checks.push_back(e.make());
  return checks;
}

std::set<std::string> CheckRegistry::rerunOnNetworkChange(const Policy& policy) const {
  std::set<std::string> ids;
  for (const auto& e : entries_) {
    if (e.rerun_on_network_change && policy.enabled(e.spec.id)) ids.insert(e.spec.id);
  }
  return ids;
}

const CheckRegistry& Checks() { return processRegistry().read(); }

Status AddCheck(CheckEntry entry) {
  std::string id = entry.spec.id;
  return processRegistry().change(id, [&entry](CheckRegistry& registry) -> Status {
    // What this registry refuses (no factory, an id taken) is added to neither; PolicyChecks()
    // refuses a bad id, or any spec once read.
    if (!entry.make || registry.find(entry.spec.id) != nullptr) {
      return registry.add(std::move(entry));
    }
    HEARTH_RETURN_IF_ERROR(AddPolicyCheck(entry.spec));
    return registry.add(std::move(entry));
  });
}

}  // namespace hearth
