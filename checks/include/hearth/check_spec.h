// What policy validation knows of a check: its id, how it reads its own policy settings, and the
// names the person at the PC reads. hearth_policy holds these parts (the server validates a
// policy before it signs it); the code that runs a check, its factory and privacy filter, is in
// its agent-side entry (check_registry.h, hearth_checks), which the server does not link.
//
// The built-in checks are listed once (builtin_checks.h), one line each; a main() may add parts
// of its own (AddPolicyCheck; an agent adds whole entries with AddCheck) before anything reads
// PolicyChecks(). See checks/README.md, "Adding a check".
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json_reader.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth {

// What the person at the PC reads about a check: plain English strings, kept in one place and
// translated where they are shown.
struct CheckWording {
  std::string name;                // "Screen lock"
  std::string notification_title;  // "Screen lock needs attention" (shown after "Hearth: ")
};

// A check's own part of its policy section.
struct CheckSettingsSpec {
  // The keys of `checks.<id>` the check reads itself, in the order errors list them (after the
  // keys every check has, which policy.cc reads: "required").
  std::vector<std::string> keys;
  // Reads them from the section (a reader of `checks.<id>`: its errors name the document and the
  // key path). Null: the check has no settings of its own (PolicyCheck holds null).
  std::function<StatusOr<std::shared_ptr<const CheckSettings>>(const json::ObjectReader& section)>
      parse;
};

// The spec of settings type T: `keys`, read by `read` into a T that starts with T's defaults.
template <typename T>
CheckSettingsSpec SettingsOf(std::vector<std::string> keys,
                             Status (*read)(const json::ObjectReader& section, T& settings)) {
  return {
      std::move(keys),
      [read](const json::ObjectReader& section) -> StatusOr<std::shared_ptr<const CheckSettings>> {
        auto settings = std::make_shared<T>();
        HEARTH_RETURN_IF_ERROR(read(section, *settings));
        return std::shared_ptr<const CheckSettings>(std::move(settings));
      }};
}

// A check's policy part.
struct CheckSpec {
  // The key in policies and reports: [a-z][a-z0-9_]*, at most 64 bytes (e.g. screen_lock).
  std::string id;
  CheckWording wording;
  CheckSettingsSpec settings{};
};

// Selects the policy part of a check in the built-in list (builtin_checks.h): each check's
// `<Id>CheckEntry(kPolicyPart)` returns its CheckSpec.
struct PolicyPart {};
inline constexpr PolicyPart kPolicyPart{};

// An ordered set of specs (the order of reports). Not thread-safe while specs are added.
class CheckSpecRegistry {
 public:
  // Adds `spec` after the others. InvalidArgument: an id that is not [a-z][a-z0-9_]* of at most
  // 64 bytes, or an id already taken.
  Status add(CheckSpec spec);

  const std::vector<CheckSpec>& entries() const { return entries_; }
  const CheckSpec* find(std::string_view id) const;  // null when unknown

 private:
  std::vector<CheckSpec> entries_;
};

// The built-in checks' specs, in report order.
CheckSpecRegistry BuiltinCheckSpecs();

// This process's specs: the built-in ones, then those main() added (AddPolicyCheck, or AddCheck
// in the agent). The first read fixes them: from then on they never change and may be read from
// any thread (and in forked children). ParsePolicy(text, source) validates against them.
const CheckSpecRegistry& PolicyChecks();
// Adds `spec` to PolicyChecks(). For main(), before anything reads PolicyChecks():
// FailedPrecondition after that; otherwise as CheckSpecRegistry::add.
Status AddPolicyCheck(CheckSpec spec);

}  // namespace hearth
