// The checks a program knows: one entry per check, holding everything about it that code outside
// the check's folder needs (its id, policy settings, names for the person at the PC, factory and
// privacy filter). Policy parsing, the check runs, notifications and the privacy filter iterate a
// registry; no other file names a check. See checks/README.md, "Adding a check".
//
// The built-in entries are listed explicitly, one line each (builtin_checks.cc); there is no
// static self-registration. A main() may add entries of its own before anything reads Checks().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/check.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth {

// Names of people found in a result, each with the label that replaces it wherever it appears in
// what leaves the PC ("alice" → "person 1").
using PersonLabels = std::map<std::string, std::string>;

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

struct CheckEntry {
  // The key in policies and reports: [a-z][a-z0-9_]*, at most 64 bytes (e.g. screen_lock).
  std::string id;
  CheckWording wording;
  // A new instance of the check. Required.
  std::function<std::unique_ptr<Check>()> make;
  CheckSettingsSpec settings{};
  // What of the check's evidence may leave the PC: edits `evidence` in place, and adds the
  // people it names to `people` (their names are then replaced everywhere in the report). Null:
  // all of it may (the PC's account names are still replaced). See agent/privacy.h.
  std::function<void(json::Value& evidence, PersonLabels& people)> privacy_filter{};
  // Re-run when the network changes (links, addresses, routes), not only on the schedule.
  bool rerun_on_network_change = false;
};

// An ordered set of entries (the order of reports). Not thread-safe while entries are added.
class CheckRegistry {
 public:
  // Adds `entry` after the others. InvalidArgument: an id that is not [a-z][a-z0-9_]* of at most
  // 64 bytes, an id already taken, or no factory.
  Status add(CheckEntry entry);

  const std::vector<CheckEntry>& entries() const { return entries_; }
  const CheckEntry* find(std::string_view id) const;  // null when unknown
  // A new instance of every check, in order.
  std::vector<std::unique_ptr<Check>> makeChecks() const;
  // The ids `policy` enables whose entries re-run when the network changes.
  std::set<std::string> rerunOnNetworkChange(const Policy& policy) const;

 private:
  std::vector<CheckEntry> entries_;
};

// The built-in checks, in report order (builtin_checks.cc: one line each).
CheckRegistry BuiltinChecks();

// This process's registry: the built-in checks, then the entries main() added with AddCheck().
// The first read fixes it: from then on it never changes and may be read from any thread (and
// in forked children).
const CheckRegistry& Checks();
// Adds `entry` to Checks(). For main(), before anything reads Checks(): FailedPrecondition after
// that; otherwise as CheckRegistry::add.
Status AddCheck(CheckEntry entry);

}  // namespace hearth
