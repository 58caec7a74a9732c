// A large fleet with a year of history in an SQLite store, made fast for benchmarks (issue 14:
// the period report and `device list --failing-for` at 100,000 devices). The store is made by
// OpenStore (so its schema is the server's, migrated to the latest), then filled with direct
// batched inserts through the sqlite3 API in one transaction, not through ingest (a year of
// reports for 100,000 devices through ingest would take hours). What it writes is what ingest
// and markStale would have left, for the rows the compliance workflow reads:
//   - devices: enrolled before the year (a few during it; some retired), owner, level, status,
//     last_seen, the latest checks summary, failing_since (since when a device not compliant
//     has had a required check failing or unknown, as schema 9 keeps it);
//   - check_state: each check's current verdict, since when it holds, and whether it is
//     required;
//   - events: every check's first verdict at enrolment and each verdict change afterwards
//     (verdict_changed, from/to), and `stale` events for the device's silences;
//   - reports: the report that ended each silence and each device's latest report (the report
//     reads reports only to find a silence's end), not the daily reports in between.
// Seeded: the same options give the same store.
#pragma once

#include <cstdint>
#include <string>

namespace hearth::bench {

struct FleetOptions {
  int devices = 100000;
  int64_t year_start = 0;  // seconds since the epoch; the history spans 365 days from here
  uint64_t seed = 14;
  // On average per check and year: incidents (a fail lasting 1 hour to 10 days) and unknown
  // spells (a few hours); per device and year: silences long enough to go stale.
  double incidents_per_check = 3;
  double unknowns_per_check = 1;
  double silences_per_device = 2;
};

struct FleetSummary {
  int64_t devices = 0;
  int64_t events = 0;
  int64_t stale_events = 0;
  int64_t reports = 0;
  double seconds = 0;  // how long building took
};

// Builds the store at `sqlite_path` (which must not exist yet). Returns false, saying why on
// stderr, when it cannot.
bool BuildFleetHistory(const std::string& sqlite_path, const FleetOptions& options,
                       FleetSummary* summary);

}  // namespace hearth::bench
