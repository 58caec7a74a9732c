// A process-wide registry that main() may add to until its first read, and that never changes
// after it (PolicyChecks() and Checks() hold one each).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

#include "hearth/status.h"

namespace hearth::internal {

// Filled under the mutex until the first read, read-only after it (the flag lets readers,
// including forked children, skip the mutex). Allocate it once and never destroy it: detached
// check threads may read it.
template <typename Registry>
class FixedAfterFirstRead {
 public:
  explicit FixedAfterFirstRead(Registry initial) : registry_(std::move(initial)) {}

  const Registry& read() {
    if (!fixed_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mu_);
      fixed_.store(true, std::memory_order_release);
    }
    return registry_;
  }

  // Runs `change(registry)` under the mutex and returns its Status. FailedPrecondition, naming
  // check `id`, once the registry was read.
  template <typename Change>
  Status change(const std::string& id, Change change) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fixed_.load(std::memory_order_acquire)) {
      return FailedPreconditionError("check " + id +
                                     " added after the checks were first used; add it in main()");
    }
    return change(registry_);
  }

 private:
  std::mutex mu_;
  std::atomic<bool> fixed_{false};
  Registry registry_;
};

}  // namespace hearth::internal
