// The agreed security level: a policy document for one named level, parsed and validated
// strictly. Unknown keys, wrong types and out-of-range values are errors that name the file, the
// key and what was expected (a typo must never weaken a policy).
//
// Which checks a policy may name, and how each reads its own settings, comes from the checks'
// policy parts (check_spec.h); the keys every check has (`required`) are read here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

namespace json {
class ObjectReader;
}

class CheckSpecRegistry;

// Words the company wrote for its people: language code ("en", "da") → text. A policy gives
// either a plain string (read as English, shown in every language) or {"en": ..., "da": ...};
// a reader sees their language, else English, else the first given. Empty: not set.
using CompanyText = std::map<std::string, std::string>;

// Whom the person at the PC asks (policy `helpdesk`); each part optional.
struct Helpdesk {
  CompanyText name;   // "IT-support"
  std::string phone;  // "70 20 30 40"
  std::string email;  // "it@example.dk"
  std::string url;    // "https://help.example.dk"
  bool empty() const { return name.empty() && phone.empty() && email.empty() && url.empty(); }
};

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
  // The company's help page for this check (`checks.<id>.help_url`), shown with its advice.
  CompanyText help_url;
  // The check's own settings; null for a check that has none.
  std::shared_ptr<const CheckSettings> settings;
};

// When the agent may show desktop notifications (policy `notifications`).
struct NotificationPolicy {
  // Quiet hours in minutes after local midnight: nothing is shown from `quiet_from` until
  // `quiet_to` (across midnight when from > to). Equal: no quiet hours. Default 20:00-08:00.
  int quiet_from = 20 * 60;
  int quiet_to = 8 * 60;
};

struct Policy {
  std::string level;
  int64_t version = 0;
  // The policy's default grace period (top-level `grace_days`, default 0), for checks without
  // their own.
  int64_t grace_days = 0;
  // For people only (never judged): `description` and `helpdesk`.
  CompanyText description;
  Helpdesk helpdesk;
  NotificationPolicy notifications;
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

// Reads `key` of `r` as the company's words: a string, or an object whose keys are languages
// ("en", "da") and whose values are strings; each text non-empty, at most `max_chars` bytes,
// without control characters. Absent: `out` is left empty. Errors name the key and what was
// expected ("helpdesk.name: expected a text or {\"en\": ..., \"da\": ...}, got number 3").
Status ReadCompanyText(const json::ObjectReader& r, std::string_view key, size_t max_chars,
                       CompanyText& out);
// The same for a web address: "https://" or "http://" then at least one character, no spaces or
// control characters, at most 500 bytes; per language like any company text.
Status ReadCompanyUrl(const json::ObjectReader& r, std::string_view key, CompanyText& out);

// Reads (at most 1 MiB) and parses the policy file at `path`.
StatusOr<Policy> LoadPolicyFile(const std::string& path);

}  // namespace hearth
