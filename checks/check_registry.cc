#include "hearth/check_registry.h"

#include <atomic>
#include <mutex>

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

// Checks() and AddCheck(): filled under the mutex until the first read, read-only after it (the
// flag lets readers, including forked children, skip the mutex).
struct ProcessRegistry {
  std::mutex mu;
  std::atomic<bool> fixed{false};
  CheckRegistry registry = BuiltinChecks();
};

ProcessRegistry& processRegistry() {
  static auto* p = new ProcessRegistry();  // never destroyed: detached check threads may read it
  return *p;
}

}  // namespace

Status CheckRegistry::add(CheckEntry entry) {
  if (!validId(entry.id)) {
    return InvalidArgumentError("check id \"" + entry.id +
                                "\": expected [a-z][a-z0-9_]* of at most 64 bytes");
  }
  if (!entry.make) return InvalidArgumentError("check " + entry.id + ": no factory");
  if (find(entry.id) != nullptr) {
    return InvalidArgumentError("check " + entry.id + " is already registered");
  }
  entries_.push_back(std::move(entry));
  return OkStatus();
}

const CheckEntry* CheckRegistry::find(std::string_view id) const {
  for (const auto& e : entries_) {
    if (e.id == id) return &e;
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
    if (e.rerun_on_network_change && policy.enabled(e.id)) ids.insert(e.id);
  }
  return ids;
}

const CheckRegistry& Checks() {
  ProcessRegistry& p = processRegistry();
  if (!p.fixed.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(p.mu);
    p.fixed.store(true, std::memory_order_release);
  }
  return p.registry;
}

Status AddCheck(CheckEntry entry) {
  ProcessRegistry& p = processRegistry();
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.fixed.load(std::memory_order_acquire)) {
    return FailedPreconditionError("check " + entry.id +
                                   " added after the checks were first used; add it in main()");
  }
  return p.registry.add(std::move(entry));
}

}  // namespace hearth
