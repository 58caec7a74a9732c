// The SQL store's retention (Store::prune): old reports and feed events, and long-retired
// devices with all their rows, deleted in batches of one transaction each so that ingest goes on
// in between; or only counted (dry run).
#include <algorithm>
#include <string>
#include <vector>

#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

StatusOr<PruneResult> SqlStore::prune(const PruneOptions& o) {
  PruneResult result;
  std::string history_cutoff = fmt(o.now - o.history_window);
  std::string retired_cutoff = fmt(o.now - o.retired_window);
  Poco::Int64 batch = std::max(1, o.batch);
  // Old reports of devices that are kept; never a device's latest (highest sequence) report.
  const std::string old_reports =
      "FROM reports WHERE received_at < ? AND sequence < (SELECT d.last_sequence FROM devices d "
      "WHERE d.device_id = reports.device_id AND d.retired_at IS NULL)";
  const std::string old_events =
      "FROM events WHERE at < ? AND device_id NOT IN (SELECT device_id FROM devices WHERE "
      "retired_at IS NOT NULL)";
  // Retired devices whose window has passed.
  std::vector<std::string> gone;
  Status s = db_.write("find retired devices", [&]() -> Status {
    std::string cutoff = retired_cutoff;
    db_.exec(
        "SELECT device_id FROM devices WHERE retired_at IS NOT NULL AND retired_at < ? "
        "ORDER BY device_id",
        [&](Statement& st) { st, use(cutoff), into(gone); });
    return OkStatus();
  });
  if (!s.ok()) return s;
  result.retired_devices = gone;
  if (o.dry_run) {
    s = db_.write("count what retention removes", [&]() -> Status {
      Poco::Int64 n = 0;
      std::string cutoff = history_cutoff;
      db_.exec("SELECT COUNT(*) " + old_reports, [&](Statement& st) { st, use(cutoff), into(n); });
      result.reports = n;
      db_.exec("SELECT COUNT(*) " + old_events, [&](Statement& st) { st, use(cutoff), into(n); });
      result.events = n;
      db_.exec("SELECT COUNT(*) FROM fleet_pending WHERE last_seen < ?",
               [&](Statement& st) { st, use(cutoff), into(n); });
      result.fleet_pending = n;
      db_.exec("SELECT COUNT(*) FROM history_changes WHERE at < ?",
               [&](Statement& st) { st, use(cutoff), into(n); });
      result.history_changes = n;
      for (const auto& id : gone) {
        std::string dev = id;
        db_.exec("SELECT COUNT(*) FROM reports WHERE device_id = ?",
                 [&](Statement& st) { st, use(dev), into(n); });
        result.retired_reports += n;
        db_.exec("SELECT COUNT(*) FROM events WHERE device_id = ?",
                 [&](Statement& st) { st, use(dev), into(n); });
        result.retired_events += n;
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return result;
  }
  // Asked before each batch (PruneOptions::should_stop); once true, the rest is left for later.
  auto stop = [&] {
    if (!result.stopped && o.should_stop && o.should_stop()) result.stopped = true;
    return result.stopped;
  };
  // One batch per transaction, the writer lock taken per batch.
  auto inBatches = [&](const std::string& del, const std::string& param, int64_t& count,
                       const char* what) -> Status {
    while (!stop()) {
      size_t n = 0;
      Status bs = db_.transaction(what, [&]() -> Status {
        std::string p = param;
        Poco::Int64 lim = batch;
        n = db_.exec(del, [&](Statement& st) { st, use(p), use(lim); });
        return OkStatus();
      });
      if (!bs.ok()) return bs;
      count += static_cast<int64_t>(n);
      if (n < static_cast<size_t>(batch)) return OkStatus();
    }
    return OkStatus();
  };
  s = inBatches(
      "DELETE FROM reports WHERE report_id IN (SELECT report_id " + old_reports + " LIMIT ?)",
      history_cutoff, result.reports, "delete old reports");
  if (!s.ok()) return s;
  s = inBatches("DELETE FROM events WHERE cursor IN (SELECT cursor " + old_events + " LIMIT ?)",
                history_cutoff, result.events, "delete old feed events");
  if (!s.ok()) return s;
  // An update no device reported pending within the window: its date goes with the reports that
  // named it (one still pending somewhere keeps its date, however old).
  s = inBatches(
      "DELETE FROM fleet_pending WHERE (package, candidate) IN (SELECT package, candidate FROM "
      "fleet_pending WHERE last_seen < ? LIMIT ?)",
      history_cutoff, result.fleet_pending, "delete fleet dates no device reports");
  if (!s.ok()) return s;
  // Few rows (a change of a required flag or a level), so one statement: a period after the
  // cutoff reads its start values from the first change after its start, which is kept.
  if (!stop())
    s = db_.transaction("delete old history changes", [&]() -> Status {
      std::string cutoff = history_cutoff;
      result.history_changes = static_cast<int64_t>(db_.exec(
          "DELETE FROM history_changes WHERE at < ?", [&](Statement& st) { st, use(cutoff); }));
      return OkStatus();
    });
  if (!s.ok()) return s;
  size_t removed = 0;  // retired devices deleted (all of `gone` unless stopped)
  for (const auto& id : gone) {
    if (stop()) break;
    s = inBatches(
        "DELETE FROM reports WHERE report_id IN (SELECT report_id FROM reports "
        "WHERE device_id = ? LIMIT ?)",
        id, result.retired_reports, "delete a retired device's reports");
    if (!s.ok()) return s;
    s = inBatches(
        "DELETE FROM events WHERE cursor IN (SELECT cursor FROM events "
        "WHERE device_id = ? LIMIT ?)",
        id, result.retired_events, "delete a retired device's events");
    if (!s.ok()) return s;
    s = db_.transaction("delete a retired device", [&]() -> Status {
      std::string dev = id;
      db_.exec("DELETE FROM check_state WHERE device_id = ?", [&](Statement& st) { st, use(dev); });
      // Once more, in the same transaction as the device row: nothing of it is left behind.
      db_.exec("DELETE FROM reports WHERE device_id = ?", [&](Statement& st) { st, use(dev); });
      db_.exec("DELETE FROM events WHERE device_id = ?", [&](Statement& st) { st, use(dev); });
      db_.exec("DELETE FROM history_changes WHERE device_id = ?",
               [&](Statement& st) { st, use(dev); });
      db_.exec("DELETE FROM devices WHERE device_id = ? AND retired_at IS NOT NULL",
               [&](Statement& st) { st, use(dev); });
      return OkStatus();
    });
    if (!s.ok()) return s;
    ++removed;
  }
  result.retired_devices.resize(removed);
  // Periods before what was deleted are no longer covered by stored history: the period report
  // says so (Store::reportCoverage).
  std::string horizon;
  if (result.reports + result.events + result.history_changes > 0) horizon = history_cutoff;
  if (removed > 0) horizon = std::max(horizon, retired_cutoff);
  if (!horizon.empty()) {
    s = db_.transaction("record the retention horizon", [&]() -> Status {
      std::string h = horizon, again = horizon;
      db_.exec(
          "UPDATE retention_horizon SET pruned_before = ? WHERE id = 1 AND "
          "(pruned_before IS NULL OR pruned_before < ?)",
          [&](Statement& st) { st, use(h), use(again); });
      return OkStatus();
    });
    if (!s.ok()) return s;
  }
  return result;
}

}  // namespace hearth::server::sql
