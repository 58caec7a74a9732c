// The SQL store's reads for the period report (compliance_history.h): a page of devices, their
// checks' verdict at the period's start and changes within it, and their stale spans, all on one
// reader session. A check's verdict at the start is read backwards from what is stored after it:
// the `from_verdict` of its first change within the period, else of its first change after the
// period, else its current verdict (check_state). So a period needs no event from before it:
// only its own and, for checks that did not change in it, one per check after it. Whether a check
// was required and the device's level are read the same way from history_changes (schema 13)
// and their current values; the exemptions in force come from the exemptions table.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compliance_report.h"
#include "hearth/time.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

int64_t seconds(const std::string& text) { return ReportTimeSeconds(text); }

std::optional<std::string> verdict(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

// A device of the page while its rows are gathered: its checks by id.
struct Gathering {
  DeviceHistory device;
  std::string it_owner;  // the owner when IT set it, else "": what an owner's exemption matches
  std::map<std::string, CheckHistory> checks;

  CheckHistory& check(const std::string& id) {
    auto [it, added] = checks.try_emplace(id);
    if (added) it->second.check_id = id;
    return it->second;
  }
};

// The rows of history_changes of one kind after the period's start, by device, check and time:
// the first gives the value at the start (its from_value), those before the period's end are the
// changes within it.
struct ChangeRows {
  std::vector<std::string> dev, check, at, from, to;
};

}  // namespace

StatusOr<std::vector<DeviceHistory>> SqlStore::reportHistory(const ReportPageQuery& query) {
  std::vector<DeviceHistory> out;
  Status s = db_.read("read the report's history", [&](Session& db) -> Status {
    std::string after = query.after;
    std::string from =
        fmt(std::chrono::system_clock::time_point(std::chrono::seconds(query.period.from)));
    std::string to =
        fmt(std::chrono::system_clock::time_point(std::chrono::seconds(query.period.to)));
    Poco::Int64 limit = std::max(1, std::min(query.limit, 10000));
    std::vector<std::string> ids, hosts, owners, it_owners, levels, enrolled, retired;
    // it_owners: the owner only when IT set it (kItOwnerSources): an owner's exemption covers
    // only those devices, as it does in the device's standing (store_exemptions.cc).
    db_.execOn(db,
               std::string("SELECT device_id, hostname, COALESCE(owner, ''), CASE WHEN "
                           "owner_source IN ") +
                   kItOwnerSources +
                   " THEN COALESCE(owner, '') ELSE '' END, level, enrolled_at, "
                   "COALESCE(retired_at, '') FROM devices "
                   "WHERE device_id > ? AND pending = 0 AND enrolled_at < ? "
                   "AND (retired_at IS NULL OR retired_at > ?) ORDER BY device_id LIMIT ?",
               [&](Statement& st) {
                 st, use(after), use(to), use(from), use(limit), into(ids), into(hosts),
                     into(owners), into(it_owners), into(levels), into(enrolled), into(retired);
               });
    if (ids.empty()) return OkStatus();
    std::vector<Gathering> page(ids.size());
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < ids.size(); ++i) {
      DeviceHistory& d = page[i].device;
      d.device_id = ids[i];
      d.hostname = hosts[i];
      if (!owners[i].empty()) d.owner = owners[i];
      page[i].it_owner = it_owners[i];
      d.level = levels[i];
      d.enrolled_at = seconds(enrolled[i]);
      if (!retired[i].empty()) d.retired_at = seconds(retired[i]);
      index.emplace(ids[i], i);
    }
    // Rows of devices between the first and the last of the page that the page left out (not
    // observed in the period) are read too, and skipped here.
    std::string first = ids.front(), last = ids.back();
    auto gathering = [&](const std::string& id) -> Gathering* {
      auto it = index.find(id);
      return it == index.end() ? nullptr : &page[it->second];
    };

    // Each query reads one type of event of the page's devices within a time range: SQLite's
    // planner, without statistics, would take events_at (the whole fleet's events of the
    // period) over events_device_type_at; PostgreSQL's has statistics.
    const std::string hint =
        db_.dialect() == Dialect::kSqlite ? " INDEXED BY events_device_type_at" : "";
    // SQLite: the page's devices one by one (a `device_id IN` list from the devices' primary
    // key), so that events_device_type_at is searched on all three of its columns for each
    // device; a range of device_id uses only its first column there and reads every event of the
    // page's devices (a year of them for a 90-day report). PostgreSQL applies the other two
    // columns within the range's index scan, and its planner reads the list through another
    // index of devices, slower (EXPLAIN ANALYZE at 100,000 devices): the range there.
    const std::string page_devices =
        db_.dialect() == Dialect::kSqlite
            ? "device_id IN (SELECT device_id FROM devices WHERE device_id >= ? AND device_id "
              "<= ?)"
            : "device_id >= ? AND device_id <= ?";
    // Sets the verdict at the start of each check in the rows (device_id, check_id, verdict) of
    // `sql`, bound with the page's first and last device (and `since`, when given).
    std::vector<std::string> dev, check, v1, v2, at;
    auto atStart = [&](const std::string& sql, std::string* since) {
      dev.clear(), check.clear(), v1.clear();
      db_.execOn(db, sql, [&](Statement& st) {
        st, use(first), use(last);
        if (since != nullptr) st, use(*since);
        st, into(dev), into(check), into(v1);
      });
      for (size_t i = 0; i < dev.size(); ++i) {
        if (Gathering* g = gathering(dev[i])) g->check(check[i]).verdict_at_start = verdict(v1[i]);
      }
    };
    // 1. The current verdict of every check, and whether it is required now.
    {
      std::vector<Poco::Int64> required;
      dev.clear(), check.clear(), v1.clear();
      db_.execOn(db,
                 "SELECT device_id, check_id, verdict, required FROM check_state "
                 "WHERE device_id >= ? AND device_id <= ?",
                 [&](Statement& st) {
                   st, use(first), use(last), into(dev), into(check), into(v1), into(required);
                 });
      for (size_t i = 0; i < dev.size(); ++i) {
        if (Gathering* g = gathering(dev[i])) {
          CheckHistory& c = g->check(check[i]);
          c.verdict_at_start = verdict(v1[i]);
          c.required = required[i] != 0;
        }
      }
    }
    // 2. A check that changed after the period: its verdict before its first change there.
    atStart(
        "SELECT device_id, check_id, COALESCE(from_verdict, '') FROM events WHERE cursor "
        "IN (SELECT MIN(cursor) FROM events" +
            hint + " WHERE type = 'verdict_changed' AND " + page_devices +
            " AND at >= ? GROUP BY device_id, check_id)",
        &to);
    // The rows of a query with their cursors, in the order they were stored: sorted here, not by
    // the database (ORDER BY cursor sorted the page's rows in SQLite's sorter: half of the
    // changes' query).
    std::vector<Poco::Int64> cursors;
    std::vector<size_t> stored;
    auto inStoredOrder = [&]() -> const std::vector<size_t>& {
      stored.resize(cursors.size());
      for (size_t i = 0; i < stored.size(); ++i) stored[i] = i;
      std::sort(stored.begin(), stored.end(),
                [&](size_t a, size_t b) { return cursors[a] < cursors[b]; });
      return stored;
    };
    // 3. The changes within the period, in the order they were stored.
    dev.clear(), check.clear(), v1.clear(), cursors.clear();
    db_.execOn(db,
               "SELECT cursor, device_id, check_id, at, COALESCE(from_verdict, ''), "
               "COALESCE(to_verdict, '') FROM events" +
                   hint + " WHERE type = 'verdict_changed' AND " + page_devices +
                   " AND at >= ? AND at < ?",
               [&](Statement& st) {
                 st, use(first), use(last), use(from), use(to), into(cursors), into(dev),
                     into(check), into(at), into(v1), into(v2);
               });
    for (size_t i : inStoredOrder()) {
      Gathering* g = gathering(dev[i]);
      if (g == nullptr) continue;
      CheckHistory& c = g->check(check[i]);
      if (c.changes.empty()) c.verdict_at_start = verdict(v1[i]);
      c.changes.push_back({seconds(at[i]), v2[i]});
    }
    // 4. What held at each time: required flags and levels as recorded (schema 13).
    auto changes = [&](const char* kind) {
      ChangeRows rows;
      std::string k = kind;
      db_.execOn(db,
                 "SELECT device_id, check_id, at, COALESCE(from_value, ''), to_value FROM "
                 "history_changes WHERE device_id >= ? AND device_id <= ? AND kind = ? AND "
                 "at >= ? ORDER BY device_id, check_id, at",
                 [&](Statement& st) {
                   st, use(first), use(last), use(k), use(from), into(rows.dev), into(rows.check),
                       into(rows.at), into(rows.from), into(rows.to);
                 });
      return rows;
    };
    ChangeRows req = changes("required");
    for (size_t i = 0; i < req.dev.size(); ++i) {
      Gathering* g = gathering(req.dev[i]);
      if (g == nullptr) continue;
      auto c = g->checks.find(req.check[i]);
      if (c == g->checks.end()) continue;
      bool first_of_check =
          i == 0 || req.dev[i - 1] != req.dev[i] || req.check[i - 1] != req.check[i];
      if (first_of_check) c->second.required = req.from[i] == "1";
      int64_t when = seconds(req.at[i]);
      if (when < query.period.to) c->second.required_changes.push_back({when, req.to[i] == "1"});
    }
    ChangeRows lvl = changes("level");
    for (size_t i = 0; i < lvl.dev.size(); ++i) {
      Gathering* g = gathering(lvl.dev[i]);
      if (g == nullptr) continue;
      if (i == 0 || lvl.dev[i - 1] != lvl.dev[i]) g->device.level = lvl.from[i];
      int64_t when = seconds(lvl.at[i]);
      if (when < query.period.to) g->device.level_changes.push_back({when, lvl.to[i]});
    }
    // 5. The exemptions in force at some time of the period (of a device, or of its owner as
    // the device's owner is now), for the checks the device has.
    {
      std::vector<Poco::Int64> eids;
      std::vector<std::string> edev, eowner, echeck, ecreated, euntil, erevoked, ereason, eby;
      db_.execOn(db,
                 "SELECT id, COALESCE(device_id, ''), COALESCE(owner, ''), check_id, created_at, "
                 "until_at, COALESCE(revoked_at, ''), reason, created_by FROM exemptions "
                 "WHERE created_at < ? AND until_at > ? AND (revoked_at IS NULL OR revoked_at > ?) "
                 "ORDER BY created_at, id",
                 [&](Statement& st) {
                   st, use(to), use(from), use(from), into(eids), into(edev), into(eowner),
                       into(echeck), into(ecreated), into(euntil), into(erevoked), into(ereason),
                       into(eby);
                 });
      for (size_t i = 0; i < eids.size(); ++i) {
        ExemptSpan span{seconds(ecreated[i]), seconds(euntil[i]), eids[i], ereason[i], eby[i]};
        if (!erevoked[i].empty()) span.end = std::min(span.end, seconds(erevoked[i]));
        if (span.end <= span.start) continue;
        auto attach = [&](Gathering& g) {
          auto c = g.checks.find(echeck[i]);
          if (c != g.checks.end()) c->second.exempt.push_back(span);
        };
        if (!edev[i].empty()) {
          if (Gathering* g = gathering(edev[i])) attach(*g);
        } else if (!eowner[i].empty()) {
          for (auto& g : page) {
            if (g.it_owner == eowner[i]) attach(g);
          }
        }
      }
    }
    // 6. Stale spans that reach into the period: each `stale` event before its end, until the
    // device's next report.
    dev.clear(), at.clear(), v1.clear(), cursors.clear();
    db_.execOn(db,
               "SELECT e.cursor, e.device_id, e.at, COALESCE((SELECT MIN(r.received_at) FROM "
               "reports r WHERE r.device_id = e.device_id AND r.received_at > e.at), '') FROM "
               "events e" +
                   hint + " WHERE e.type = 'stale' AND e." + page_devices + " AND e.at < ?",
               [&](Statement& st) {
                 st, use(first), use(last), use(to), into(cursors), into(dev), into(at), into(v1);
               });
    for (size_t i : inStoredOrder()) {
      Gathering* g = gathering(dev[i]);
      if (g == nullptr) continue;
      StaleSpan span{seconds(at[i]), std::nullopt};
      if (!v1[i].empty()) span.end = seconds(v1[i]);
      if (span.end && *span.end <= query.period.from) continue;
      g->device.stale.push_back(span);
    }
    out.reserve(page.size());
    for (auto& g : page) {
      for (auto& [unused, c] : g.checks) g.device.checks.push_back(std::move(c));
      std::stable_sort(g.device.stale.begin(), g.device.stale.end(),
                       [](const StaleSpan& a, const StaleSpan& b) { return a.start < b.start; });
      out.push_back(std::move(g.device));
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

void SqlStore::noteHistoryChange(const std::string& device_id, const std::string& at,
                                 const std::string& kind, const std::string& check_id,
                                 const std::string& from, const std::string& to) {
  std::string dev = device_id, when = at, k = kind, check = check_id, was = from, now = to;
  db_.exec(
      "INSERT INTO history_changes(device_id, at, kind, check_id, from_value, to_value) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      [&](Statement& st) { st, use(dev), use(when), use(k), use(check), use(was), use(now); });
}

}  // namespace hearth::server::sql
