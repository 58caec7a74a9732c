// What the IT console's overview, feed and device history read (issue 15): failures per check,
// the daily status counts behind the trend chart, the fleet's alerts, a device's events and the
// newest feed events.
#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hearth/json.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

// The columns of a feed event with its device's hostname and owner (feedEventRow reads them).
constexpr const char* kFeedColumns =
    "SELECT e.cursor, e.at, e.device_id, e.type, e.check_id, e.from_verdict, e.to_verdict, "
    "e.detail, d.hostname, d.owner FROM events e LEFT JOIN devices d ON d.device_id = "
    "e.device_id ";

std::string utcDay(TimePoint t) { return fmt(t).substr(0, 10); }

// The feed's newest entries, IT's most frequent query (the console's feed page and every feed
// poller's first page): a hot statement on each reader (PostgreSQL: one round trip instead of
// four, a prepared statement kept instead of one made, described and deallocated per request).
struct FeedNewestRead final : ReaderStatements {
  explicit FeedNewestRead(const Prepare& prepare)
      : select(prepare(std::string(kFeedColumns) +
                       "WHERE e.cursor IN (SELECT cursor FROM events ORDER BY cursor DESC "
                       "LIMIT ?) ORDER BY e.cursor")) {
    select->use(limit).into(cursor).into(at).into(device_id).into(type).into(check).into(from).into(
        to);
    select->into(detail).into(hostname).into(owner);
  }
  void clear() {
    cursor.clear();
    for (auto* v : {&at, &device_id, &type}) v->clear();
    for (auto* v : {&check, &from, &to, &detail, &hostname, &owner}) v->clear();
  }
  Poco::Int64 limit = 0;
  std::vector<Poco::Int64> cursor;
  std::vector<std::string> at, device_id, type;
  std::vector<Poco::Nullable<std::string>> check, from, to, detail, hostname, owner;
  std::unique_ptr<HotStatement> select;
};

std::optional<std::string> opt(const Poco::Nullable<std::string>& v) {
  if (v.isNull()) return std::nullopt;
  return v.value();
}

}  // namespace

StatusOr<std::vector<std::pair<std::string, int64_t>>> SqlStore::failingChecks() {
  // The device list's `check` filter counted: active devices (pending and stale ones too) whose
  // latest verdict of the check is fail. Every failing verdict (check_state_failing answers)
  // less those of retired devices (few: retention deletes them after a month), so that no
  // active device's row is read.
  return db_.readRows(
      "count failing checks",
      "SELECT id, SUM(n) AS n FROM (SELECT check_id AS id, COUNT(*) AS n FROM check_state WHERE "
      "verdict = 'fail' GROUP BY check_id UNION ALL SELECT c.check_id AS id, -COUNT(*) AS n "
      "FROM check_state c WHERE c.verdict = 'fail' AND c.device_id IN (SELECT device_id FROM "
      "devices WHERE retired_at IS NOT NULL) GROUP BY c.check_id) t GROUP BY id HAVING SUM(n) > "
      "0 ORDER BY SUM(n) DESC, id",
      [](RecordSet& rs) { return std::make_pair(str(rs, "id"), integer(rs, "n")); });
}

Status SqlStore::recordDailyStatus(TimePoint now_time, std::chrono::seconds stale_after) {
  auto counts = deviceCounts(now_time, stale_after);
  if (!counts.ok()) return counts.status();
  json::Value o = json::Value::object();
  for (const auto& [status, n] : *counts) o.set(status, n);
  std::string day = utcDay(now_time), text = json::write(o), at = fmt(now_time);
  // A day's figures are its last count; two servers on one database write the same row.
  return db_.write("record the daily status counts", [&]() -> Status {
    db_.exec(
        "INSERT INTO status_daily(day, counts, recorded_at) VALUES (?, ?, ?) "
        "ON CONFLICT (day) DO UPDATE SET counts = excluded.counts, recorded_at = "
        "excluded.recorded_at",
        [&](Statement& st) { st, use(day), use(text), use(at); });
    return OkStatus();
  });
}

StatusOr<std::vector<DailyStatus>> SqlStore::dailyStatus(const std::string& from_day) {
  std::string from = from_day;
  return db_.readRows(
      "read the daily status counts",
      "SELECT day, counts FROM status_daily WHERE day >= ? ORDER BY day",
      [](RecordSet& rs) {
        DailyStatus d;
        d.day = str(rs, "day");
        auto counts = json::parse(str(rs, "counts"));
        if (counts.ok() && counts->isObject()) {
          for (const auto& [status, n] : counts->asObject()) {
            if (n.isInt()) d.counts.emplace_back(status, n.asInt());
          }
        }
        return d;
      },
      from);
}

StatusOr<std::vector<FeedEvent>> SqlStore::fleetAlerts(TimePoint since, int limit) {
  std::string from = fmt(since);
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  // The type list is written out as migration 17's partial index has it, so the index answers.
  return db_.readRows("read the fleet's alerts",
                      std::string(kFeedColumns) +
                          "WHERE e.type IN ('enrolment_spike', 'duplicate_machine_id') AND e.at "
                          ">= ? ORDER BY e.at DESC, e.cursor DESC LIMIT ?",
                      feedEventRow, from, lim);
}

StatusOr<std::vector<FeedEvent>> SqlStore::deviceEvents(const std::string& device_id,
                                                        int64_t before, int limit) {
  std::string id = device_id;
  Poco::Int64 b = before > 0 ? before : std::numeric_limits<Poco::Int64>::max();
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  return db_.readRows("read a device's events",
                      std::string(kFeedColumns) +
                          "WHERE e.device_id = ? AND e.cursor < ? ORDER BY e.cursor DESC LIMIT ?",
                      feedEventRow, id, b, lim);
}

StatusOr<std::vector<FeedEvent>> SqlStore::feedNewest(int limit) {
  std::vector<FeedEvent> out;
  Status s =
      db_.readHot<FeedNewestRead>("read the newest feed events", [&](FeedNewestRead& r) -> Status {
        r.clear();
        r.limit = std::max(1, std::min(limit, 1000));
        HEARTH_ASSIGN_OR_RETURN(size_t n, r.select->execute());
        (void)n;
        const size_t rows = r.cursor.size();
        for (const auto* v : {&r.at, &r.device_id, &r.type}) {
          if (v->size() != rows) return InternalError("the newest feed events: uneven columns");
        }
        for (const auto* v : {&r.check, &r.from, &r.to, &r.detail, &r.hostname, &r.owner}) {
          if (v->size() != rows) return InternalError("the newest feed events: uneven columns");
        }
        out.reserve(rows);
        for (size_t i = 0; i < rows; ++i) {
          FeedEvent e;
          e.cursor = r.cursor[i];
          e.at = parseTime(r.at[i]);
          e.device_id = std::move(r.device_id[i]);
          e.type = std::move(r.type[i]);
          e.check = opt(r.check[i]);
          e.from = opt(r.from[i]);
          e.to = opt(r.to[i]);
          e.detail = opt(r.detail[i]);
          e.hostname = opt(r.hostname[i]);
          e.owner = opt(r.owner[i]);
          out.push_back(std::move(e));
        }
        r.clear();
        return OkStatus();
      });
  if (!s.ok()) return s;
  return out;
}

StatusOr<LevelStanding> SqlStore::levelStanding(const std::string& level,
                                                const std::vector<std::string>& checks) {
  LevelStanding out;
  std::string l = level;
  const char* active = "d.level = ? AND d.retired_at IS NULL AND d.pending = 0";
  Status s = db_.read("a level's standing", [&](Session& db) -> Status {
    Poco::Int64 devices = 0;
    db_.execOn(db, std::string("SELECT COUNT(*) FROM devices d WHERE ") + active,
               [&](Statement& st) { st, use(l), into(devices); });
    out.devices = devices;
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (!checks.empty()) {
    std::string marks;
    for (size_t i = 0; i < checks.size(); ++i) marks += i == 0 ? "?" : ", ?";
    std::vector<std::string> ids = checks;
    auto failing = db_.readRowsBound(
        "a level's failing devices",
        std::string("SELECT COUNT(*) AS n FROM devices d WHERE ") + active +
            " AND EXISTS (SELECT 1 FROM check_state c WHERE c.device_id = d.device_id AND "
            "c.verdict IN ('fail', 'unknown') AND c.check_id IN (" +
            marks + "))",
        [&](Statement& st) {
          st, use(l);
          for (auto& id : ids) st, use(id);
        },
        [](RecordSet& rs) { return integer(rs, "n"); });
    if (!failing.ok()) return failing.status();
    out.failing = failing->empty() ? 0 : failing->front();
  }
  auto per_check = db_.readRows(
      "a level's verdicts per check",
      std::string("SELECT c.check_id AS id, SUM(CASE WHEN c.verdict = 'fail' THEN 1 ELSE 0 END) "
                  "AS f, SUM(CASE WHEN c.verdict = 'unknown' THEN 1 ELSE 0 END) AS u FROM "
                  "check_state c JOIN devices d ON d.device_id = c.device_id WHERE ") +
          active + " GROUP BY c.check_id ORDER BY c.check_id",
      [](RecordSet& rs) {
        return std::make_pair(str(rs, "id"), std::make_pair(integer(rs, "f"), integer(rs, "u")));
      },
      l);
  if (!per_check.ok()) return per_check.status();
  out.per_check = std::move(per_check).value();
  return out;
}

}  // namespace hearth::server::sql
