// The SQL store's reads for the period report (compliance_history.h): a page of devices, their
// checks' verdict at the period's start and changes within it, and their stale spans, all on one
// reader session. A check's verdict at the start is read backwards from what is stored after it:
// the `from_verdict` of its first change within the period, else of its first change after the
// period, else its current verdict (check_state). So a period needs no event from before it:
// only its own and, for checks that did not change in it, one per check after it.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hearth/time.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

int64_t seconds(const std::string& text) {
  auto t = parseRfc3339(text);
  if (!t.ok()) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

std::optional<std::string> verdict(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

// A device of the page while its rows are gathered: its checks by id.
struct Gathering {
  DeviceHistory device;
  std::map<std::string, CheckHistory> checks;
  std::map<std::string, bool> required;  // from the latest report's checks summary

  CheckHistory& check(const std::string& id) {
    auto [it, added] = checks.try_emplace(id);
    if (added) {
      it->second.check_id = id;
      auto r = required.find(id);
      it->second.required = r != required.end() && r->second;
    }
    return it->second;
  }
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
    std::vector<std::string> ids, hosts, owners, levels, enrolled, retired, summaries;
    db_.execOn(db,
               "SELECT device_id, hostname, COALESCE(owner, ''), level, enrolled_at, "
               "COALESCE(retired_at, ''), COALESCE(checks_summary, '') FROM devices "
               "WHERE device_id > ? AND pending = 0 AND enrolled_at < ? "
               "AND (retired_at IS NULL OR retired_at > ?) ORDER BY device_id LIMIT ?",
               [&](Statement& st) {
                 st, use(after), use(to), use(from), use(limit), into(ids), into(hosts),
                     into(owners), into(levels), into(enrolled), into(retired), into(summaries);
               });
    if (ids.empty()) return OkStatus();
    std::vector<Gathering> page(ids.size());
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < ids.size(); ++i) {
      DeviceHistory& d = page[i].device;
      d.device_id = ids[i];
      d.hostname = hosts[i];
      if (!owners[i].empty()) d.owner = owners[i];
      d.level = levels[i];
      d.enrolled_at = seconds(enrolled[i]);
      if (!retired[i].empty()) d.retired_at = seconds(retired[i]);
      json::Value summary = ParseChecksSummary(summaries[i]);
      for (const auto& c : summary.asArray()) {
        const json::Value* id = c.find("id");
        const json::Value* req = c.find("required");
        if (id != nullptr && id->isString()) {
          page[i].required[id->asString()] = req != nullptr && req->isBool() && req->asBool();
        }
      }
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
    // 1. The current verdict of every check.
    atStart(
        "SELECT device_id, check_id, verdict FROM check_state "
        "WHERE device_id >= ? AND device_id <= ?",
        nullptr);
    // 2. A check that changed after the period: its verdict before its first change there.
    atStart(
        "SELECT device_id, check_id, COALESCE(from_verdict, '') FROM events WHERE cursor "
        "IN (SELECT MIN(cursor) FROM events" +
            hint +
            " WHERE type = 'verdict_changed' AND "
            "device_id >= ? AND device_id <= ? AND at >= ? GROUP BY device_id, check_id)",
        &to);
    // 3. The changes within the period, in the order they were stored.
    dev.clear(), check.clear(), v1.clear();
    db_.execOn(db,
               "SELECT device_id, check_id, at, COALESCE(from_verdict, ''), "
               "COALESCE(to_verdict, '') FROM events" +
                   hint +
                   " WHERE type = 'verdict_changed' AND "
                   "device_id >= ? AND device_id <= ? AND at >= ? AND at < ? ORDER BY cursor",
               [&](Statement& st) {
                 st, use(first), use(last), use(from), use(to), into(dev), into(check), into(at),
                     into(v1), into(v2);
               });
    for (size_t i = 0; i < dev.size(); ++i) {
      Gathering* g = gathering(dev[i]);
      if (g == nullptr) continue;
      CheckHistory& c = g->check(check[i]);
      if (c.changes.empty()) c.verdict_at_start = verdict(v1[i]);
      c.changes.push_back({seconds(at[i]), v2[i]});
    }
    // 4. Stale spans that reach into the period: each `stale` event before its end, until the
    // device's next report.
    dev.clear(), at.clear(), v1.clear();
    db_.execOn(
        db,
        "SELECT e.device_id, e.at, COALESCE((SELECT MIN(r.received_at) FROM reports r "
        "WHERE r.device_id = e.device_id AND r.received_at > e.at), '') FROM events e" +
            hint +
            " WHERE e.type = 'stale' AND e.device_id >= ? AND e.device_id <= ? AND e.at < ? "
            "ORDER BY e.cursor",
        [&](Statement& st) { st, use(first), use(last), use(to), into(dev), into(at), into(v1); });
    for (size_t i = 0; i < dev.size(); ++i) {
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

}  // namespace hearth::server::sql
