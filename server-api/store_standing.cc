// The SQL store's standing of a device after it moved to another level (issue 14, review of the
// standing, findings 1 and 5): its stored checks count as the new level's policy says, each
// check that becomes required while failing gets its whole grace period from the move, and the
// device is decided again at once, in the move's transaction (not at its next report).
#include <string>
#include <utility>
#include <vector>

#include "hearth/policy.h"
#include "hearth/server/standing.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

void SqlStore::restandForLevel(const std::string& device_id, const std::string& level,
                               TimePoint at) {
  std::string id = device_id, l = level;
  Nullable<std::string> summary;
  db_.exec("SELECT checks_summary FROM devices WHERE device_id = ?" + rowLock("devices"),
           [&](Statement& st) { st, use(id), into(summary); });
  if (summary.isNull()) return;  // no report yet: its first report decides it
  std::vector<std::string> bodies;
  db_.exec("SELECT body FROM policies WHERE level = ? ORDER BY version DESC LIMIT 1",
           [&](Statement& st) { st, use(l), into(bodies); });
  // Stored policies were validated by `policy set`; one that no longer parses changes nothing.
  auto policy = bodies.empty() ? StatusOr<Policy>(NotFoundError("no policy"))
                               : ParsePolicy(bodies[0], "policy " + level);
  if (!policy.ok()) {
    redecideDevice(device_id, at);
    return;
  }
  std::vector<std::string> state_ids, state_clocks;
  db_.exec("SELECT check_id, COALESCE(grace_from, '') FROM check_state WHERE device_id = ?",
           [&](Statement& st) { st, use(id), into(state_ids), into(state_clocks); });
  json::Value stored = ParseChecksSummary(summary.value());
  std::vector<CheckStanding> checks = StandingFromSummary(stored);
  json::Value entries = json::Value::array();
  for (auto entry : stored.asArray()) {
    const json::Value* cid = entry.find("id");
    if (cid != nullptr && cid->isString()) entry.set("required", policy->required(cid->asString()));
    entries.push(std::move(entry));
  }
  for (auto& c : checks) {
    std::optional<TimePoint> previous;
    for (size_t i = 0; i < state_ids.size(); ++i) {
      if (state_ids[i] == c.id && !state_clocks[i].empty()) previous = parseTime(state_clocks[i]);
    }
    // A check the new policy does not enable is not evaluated: it counts no more.
    const PolicyCheck* spec = policy->find(c.id);
    c.required = spec != nullptr && spec->required;
    c.grace_from = GraceFrom(c, previous, at);
    c.fix_by = FixBy(c, spec != nullptr ? spec->grace_days : 0);
    std::string check = c.id;
    Poco::Int64 required = c.required ? 1 : 0;
    Nullable<std::string> clock = nullableTime(c.grace_from), fix_by = nullableTime(c.fix_by);
    db_.exec(
        "UPDATE check_state SET required = ?, grace_from = ?, fix_by = ? WHERE device_id = ? AND "
        "check_id = ?",
        [&](Statement& st) { st, use(required), use(clock), use(fix_by), use(id), use(check); });
  }
  std::string text = json::write(SummaryWithStanding(entries, checks));
  db_.exec("UPDATE devices SET checks_summary = ? WHERE device_id = ?",
           [&](Statement& st) { st, use(text), use(id); });
  redecideDevice(device_id, at);
}

}  // namespace hearth::server::sql
