// The Check interface: one compliance question, answered from a SystemView under a policy.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/policy.h"
#include "hearth/result.h"
#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth {

struct CheckParams {
  // The validated policy; each check reads its own settings (policy.settings<T>(id)).
  const Policy& policy;
  // Where checks keep state between runs (first-seen dates, caches). Empty: no persistent state
  // (ages then count from now, and nothing is cached).
  std::string state_dir;
  // The state is read but never written: `hearth-agent check` run by a person without root reads
  // the daemon's dates (so its verdicts are the daemon's) and may not change them.
  bool state_read_only = false;
};

class Check {
 public:
  virtual ~Check() = default;
  // The key used in policies and reports, e.g. disk_encryption.
  virtual std::string_view id() const = 0;
  // Never fails for "the machine is not compliant": that is an OK result with Verdict::kFail.
  // A non-OK Status means the check could not tell; the runner reports it as kUnknown with the
  // reason. The runner fills in id, required and duration_ms.
  virtual StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const = 0;
};

}  // namespace hearth
