// The agreed security level: a policy document for one named level, parsed and validated
// strictly. Unknown keys, wrong types and out-of-range values are errors that name the file, the
// key and what was expected (a typo must never weaken a policy).
//
// Which checks a policy may name, and how each reads its own settings, comes from the checks'
// policy parts (check_spec.h); the keys every check has (`required`) are read here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

class CheckSpecRegistry;

// A check's own settings: the keys of `checks.<id>` besides the ones every check has. Each check
// defines its type in its folder (vpn/vpn.h: VpnSettings); immutable once parsed.
struct CheckSettings {
  virtual ~CheckSettings() = default;
};

// One check the policy enables.
struct PolicyCheck {
  std::string id;
  bool required = true;  // false: reported without affecting compliance
  // Days a failing required check is given before the device counts as non-compliant (the
  // server's deadline, `fix_by`): `checks.<id>.grace_days`, else the policy's `grace_days`, else 0.
  int64_t grace_days = 0;
  // The check's own settings; null for a check that has none.
  std::shared_ptr<const CheckSettings> settings;
};

struct Policy {
  std::string level;
  int64_t version = 0;
  // The policy's default grace period (top-level `grace_days`, default 0), for checks without
  // their own.
  int64_t grace_days = 0;
  // The checks this policy enables, in registry order (the order of reports). A check absent
  // from the policy is not evaluated.
  std::vector<PolicyCheck> checks;

  const PolicyCheck* find(std::string_view check_id) const;  // null when not enabled
  bool enabled(std::string_view check_id) const;
  bool required(std::string_view check_id) const;  // false when not enabled
  // The settings of `check_id` as a T: null when the check is not enabled, has no settings, or
  // they are of another type.
  template <typename T>
  const T* settings(std::string_view check_id) const {
    const PolicyCheck* c = find(check_id);
    return c == nullptr ? nullptr : dynamic_cast<const T*>(c->settings.get());
  }
  // The settings of `check_id` as a T, or a T with its defaults when there are none.
  template <typename T>
  T settingsOr(std::string_view check_id) const {
    const T* s = settings<T>(check_id);
    return s == nullptr ? T{} : *s;
  }
  // Enables `check_id` after the others (or replaces it where it is): for code that builds a
  // policy itself rather than parsing one (tests, tools).
  Policy& enable(std::string check_id, std::shared_ptr<const CheckSettings> settings = nullptr,
                 bool required = true);
};

// Parses and validates a policy document against the checks of `registry` (default:
// PolicyChecks(), this process's). `source` names it in errors ("/etc/hearth/policy.json"). Errors
// are InvalidArgument: "<source>: <key path>: expected ..., got ..." or, for malformed JSON,
// "<source>: line L, column C: ...".
StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view source);
StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view source,
                             const CheckSpecRegistry& registry);

// Reads (at most 1 MiB) and parses the policy file at `path`.
StatusOr<Policy> LoadPolicyFile(const std::string& path);

}  // namespace hearth
