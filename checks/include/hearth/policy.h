// The agreed security level: a policy document for one named level, parsed and validated
// strictly. Unknown keys, wrong types and out-of-range values are errors that name the file, the
// key and what was expected (a typo must never weaken a policy).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct DiskEncryptionSettings {
  bool required = true;
};

struct VpnSettings {
  bool required = true;
  // Addresses inside the company network, validated as IPv4/IPv6 literals. Empty: unknown.
  std::vector<std::string> company_addresses;
};

struct OsPatchesSettings {
  bool required = true;
  int max_security_update_age_days = 7;
  int max_update_age_days = 30;
  int max_package_list_age_days = 7;
  int reboot_grace_days = 3;
};

struct ScreenLockSettings {
  bool required = true;
  int max_idle_seconds = 300;
  bool require_lock_on_resume = true;
};

struct Policy {
  std::string level;
  int64_t version = 0;
  // A check absent from the policy is not evaluated.
  std::optional<DiskEncryptionSettings> disk_encryption;
  std::optional<VpnSettings> vpn;
  std::optional<OsPatchesSettings> os_patches;
  std::optional<ScreenLockSettings> screen_lock;

  bool enabled(std::string_view check_id) const;
  bool required(std::string_view check_id) const;  // false when not enabled
};

// Parses and validates a policy document. `source` names it in errors ("/etc/hearth/policy.json").
// Errors are InvalidArgument: "<source>: <key path>: expected ..., got ..." or, for malformed JSON,
// "<source>: line L, column C: ...".
StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view source);

// Reads (at most 1 MiB) and parses the policy file at `path`.
StatusOr<Policy> LoadPolicyFile(const std::string& path);

}  // namespace hearth
