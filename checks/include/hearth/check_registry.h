// The checks an agent runs: one entry per check, its policy part (check_spec.h: id, settings,
// names for the person at the PC) with what runs it (factory, privacy filter). The check runs,
// notifications and the privacy filter iterate a registry; no other file names a check. See
// checks/README.md, "Adding a check".
//
// The built-in entries are listed once, one line each (builtin_checks.h); there is no static
// self-registration. A main() may add entries of its own before anything reads Checks().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/check.h"
#include "hearth/check_spec.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth {

// Names of people found in a result, each with the label that replaces it wherever it appears in
// what leaves the PC ("alice" → "person 1").
using PersonLabels = std::map<std::string, std::string>;

struct CheckEntry {
  CheckSpec spec;  // id, wording, policy settings
  // A new instance of the check. Required.
  std::function<std::unique_ptr<Check>()> make;
  // What of the check's evidence may leave the PC: edits `evidence` in place, and adds the
  // people it names to `people` (their names are then replaced everywhere in the report). Null:
  // all of it may (the PC's account names are still replaced). See agent/privacy.h.
  std::function<void(json::Value& evidence, PersonLabels& people)> privacy_filter{};
  // Re-run when the network changes (links, addresses, routes), not only on the schedule.
  bool rerun_on_network_change = false;
};

// Selects the agent's entry of a check in the built-in list (builtin_checks.h): each check's
// `<Id>CheckEntry(kAgentPart)` returns its CheckEntry.
struct AgentPart {};
inline constexpr AgentPart kAgentPart{};

// An ordered set of entries (the order of reports). Not thread-safe while entries are added.
class CheckRegistry {
 public:
  // Adds `entry` after the others. InvalidArgument: no factory, or as CheckSpecRegistry::add.
  Status add(CheckEntry entry);

  const std::vector<CheckEntry>& entries() const { return entries_; }
  // Their specs, in the same order (what ParsePolicy validates against).
  const CheckSpecRegistry& specs() const { return specs_; }
  const CheckEntry* find(std::string_view id) const;  // null when unknown
  // A new instance of every check, in order.
  std::vector<std::unique_ptr<Check>> makeChecks() const;
  // The ids `policy` enables whose entries re-run when the network changes.
  std::set<std::string> rerunOnNetworkChange(const Policy& policy) const;

 private:
  CheckSpecRegistry specs_;
  std::vector<CheckEntry> entries_;
};

// The built-in checks, in report order.
CheckRegistry BuiltinChecks();

// This process's registry: the built-in checks, then the entries main() added with AddCheck().
// The first read fixes it: from then on it never changes and may be read from any thread (and
// in forked children). Its specs are those of PolicyChecks().
const CheckRegistry& Checks();
// Adds `entry` to Checks() and its spec to PolicyChecks(). For main(), before anything reads
// either: FailedPrecondition after that; otherwise as CheckRegistry::add.
Status AddCheck(CheckEntry entry);

}  // namespace hearth
